/** Server-wide state shared by sessions: options, capability strings, connection registry. */
import type { ImapServerOptions } from "./index.ts";
import type { Session } from "./session.ts";

export class ServerContext {
  readonly opts: ImapServerOptions;
  readonly sessions = new Set<Session>();
  private readonly perIp = new Map<string, number>();
  private readonly perUser = new Map<number, number>();
  private readonly userOf = new WeakMap<Session, number>();

  constructor(opts: ImapServerOptions) {
    this.opts = opts;
  }

  /** RFC 9051 §7.2.2 capability list for the session's state */
  capabilities(s: Session): string {
    const caps = ["IMAP4rev1", "IMAP4rev2", "LITERAL+", "SASL-IR", "ID", "ENABLE"];
    if (s.state === "notauth") {
      if (!s.tls && this.opts.tls) caps.push("STARTTLS");
      // RFC 9051 §6.2.3 / §7.2.2: LOGINDISABLED when plaintext login is refused
      if (s.plaintextAuthAllowed) caps.push("AUTH=PLAIN");
      else caps.push("LOGINDISABLED");
      return caps.join(" ");
    }
    caps.push(
      "IDLE",
      "NAMESPACE",
      "UIDPLUS",
      "MOVE",
      "UNSELECT",
      "CHILDREN",
      "SPECIAL-USE",
      "CREATE-SPECIAL-USE",
      "LIST-EXTENDED",
      "LIST-STATUS",
      "ESEARCH",
      "SORT",
      "SORT=DISPLAY",
      "SEARCHRES",
      "WITHIN",
      "STATUS=SIZE",
      "BINARY",
      `APPENDLIMIT=${this.opts.limits.maxLiteralSize}`,
      "MULTIAPPEND",
      "CONDSTORE",
      "QRESYNC",
      "OBJECTID",
      "SAVEDATE",
      "QUOTA",
      "QUOTA=RES-STORAGE",
      "QUOTA=RES-MESSAGE",
      "UTF8=ACCEPT",
    );
    return caps.join(" ");
  }

  /** registers a new connection; false when the per-IP limit is reached */
  addConnection(s: Session): boolean {
    const ip = s.remoteAddress;
    const n = this.perIp.get(ip) ?? 0;
    if (this.opts.limits.maxConnectionsPerIp > 0 && n >= this.opts.limits.maxConnectionsPerIp) return false;
    this.perIp.set(ip, n + 1);
    this.sessions.add(s);
    return true;
  }

  /** counts a login against the per-user limit; false when reached */
  addUser(s: Session, accountId: number): boolean {
    const n = this.perUser.get(accountId) ?? 0;
    if (this.opts.limits.maxConnectionsPerUser > 0 && n >= this.opts.limits.maxConnectionsPerUser)
      return false;
    this.perUser.set(accountId, n + 1);
    this.userOf.set(s, accountId);
    return true;
  }

  sessionClosed(s: Session): void {
    if (!this.sessions.delete(s)) return;
    const ip = s.remoteAddress;
    const n = (this.perIp.get(ip) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(ip);
    else this.perIp.set(ip, n);
    const uid = this.userOf.get(s);
    if (uid !== undefined) {
      const m = (this.perUser.get(uid) ?? 1) - 1;
      if (m <= 0) this.perUser.delete(uid);
      else this.perUser.set(uid, m);
    }
  }
}
