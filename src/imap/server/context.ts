/**
 * Server-wide state shared by sessions: options, capability strings, connection registry, the
 * autologout sweep, and objects every session would otherwise copy (reader limits, the account).
 */
import { type ConnectionSlots, ipKey, localSlots, type SlotLease } from "../../net/conn-limits.ts";
import type { Account } from "../../store/types.ts";
import type { ReaderLimits } from "../protocol/reader.ts";
import type { ImapServerOptions } from "./index.ts";
import type { Session } from "./session.ts";
import { urlHosts } from "./urlauth.ts";

export class ServerContext {
  readonly opts: ImapServerOptions;
  readonly sessions = new Set<Session>();
  /** connection limits (per IP at connect, per user at login), counted for the whole server */
  private readonly slots: ConnectionSlots;
  /** slots a session holds: [per-IP lease, per-user lease] */
  private readonly leases = new WeakMap<Session, [SlotLease, SlotLease | null]>();
  /** logged-in sessions of this process per account, and the account object they share */
  private readonly perUser = new Map<number, { n: number; account: Account }>();
  private readonly userOf = new WeakMap<Session, number>();
  /** command reader limits before and after login (shared by all sessions; never mutated) */
  readonly readerLimitsUnauth: ReaderLimits;
  readonly readerLimitsAuth: ReaderLimits;
  /** one autologout sweep for all sessions instead of a timer per connection; runs while any exist */
  private sweeper: NodeJS.Timeout | null = null;
  private readonly sweepMs: number;
  /** host names IMAP URLs of this server carry (CATENATE, URLAUTH; RFC 5092, RFC 4467) */
  readonly urlHosts: readonly string[];

  constructor(opts: ImapServerOptions) {
    this.opts = opts;
    this.urlHosts = urlHosts(opts.hostname, opts.urlHosts);
    this.slots = opts.slots ?? localSlots();
    const l = opts.limits;
    this.readerLimitsUnauth = Object.freeze({
      maxLineLength: l.maxLineLength,
      maxLiteralSize: l.maxLiteralSizeUnauth,
      maxCommandSize: l.maxLiteralSizeUnauth,
    });
    this.readerLimitsAuth = Object.freeze({
      maxLineLength: l.maxLineLength,
      maxLiteralSize: l.maxLiteralSize,
      maxCommandSize: l.maxLiteralSize * 4,
    });
    // autologout fires within a tenth of the shortest timeout (at most 1 s) after it is due
    const shortest = Math.min(l.unauthTimeoutMs, l.idleTimeoutMs);
    this.sweepMs = Math.max(10, Math.min(1000, Math.floor(shortest / 10)));
  }

  /** RFC 9051 §5.4 autologout: each session compares its last input with its state's timeout */
  private sweep(): void {
    const now = Date.now();
    // bounded by the number of sessions; a session closed by checkIdle leaves the set later
    for (const s of this.sessions) s.checkIdle(now);
  }

  /** RFC 9051 §7.2.2 capability list for the session's state */
  capabilities(s: Session): string {
    const caps = ["IMAP4rev1", "IMAP4rev2", "LITERAL+", "SASL-IR", "ID", "ENABLE"];
    if (s.state.kind === "notAuthenticated") {
      if (!s.tls && this.opts.tls) caps.push("STARTTLS");
      // RFC 9051 §6.2.3 / §7.2.2: LOGINDISABLED when plaintext login is refused
      if (s.plaintextAuthAllowed) caps.push("AUTH=PLAIN");
      else caps.push("LOGINDISABLED");
      return caps.join(" ");
    }
    if (this.opts.compress !== false) caps.push("COMPRESS=DEFLATE");
    caps.push(
      "IDLE",
      "NAMESPACE",
      "UIDPLUS",
      "MOVE",
      "REPLACE",
      "PREVIEW",
      "UNSELECT",
      "CHILDREN",
      "SPECIAL-USE",
      "CREATE-SPECIAL-USE",
      "LIST-EXTENDED",
      "LIST-STATUS",
      "ESEARCH",
      "SORT",
      "SORT=DISPLAY",
      "ESORT", // RFC 5267 §3
      "CONTEXT=SEARCH", // RFC 5267 §4 (RETURN (UPDATE), CANCELUPDATE)
      "CONTEXT=SORT",
      "METADATA", // RFC 5464 §1 (mailbox entries)
      "METADATA-SERVER", // RFC 5464 §1 (server entries)
      "NOTIFY", // RFC 5465
      "ACL", // RFC 4314 §6
      "RIGHTS=texk", // RFC 4314 §2.1.1: t, e, x, k kept apart ("c", "d" are their groups)
      "PARTIAL", // RFC 9394 (SEARCH and SORT results, UID FETCH)
      "THREAD=ORDEREDSUBJECT",
      "THREAD=REFERENCES",
      "THREAD=REFS", // draft-ietf-morg-inthread §4
      "SEARCHRES",
      "WITHIN",
      "STATUS=SIZE",
      "BINARY",
      `APPENDLIMIT=${this.opts.limits.maxLiteralSize}`,
      "MULTIAPPEND",
      "CATENATE", // RFC 4469
      "URLAUTH", // RFC 4467
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

  /**
   * Takes a per-IP slot for a new connection (false when the limit is reached) and registers the
   * session. A connection that went away while the slot was asked for gives it back at once.
   */
  async addConnection(s: Session, socket: { destroyed: boolean }): Promise<boolean> {
    const lease = await this.slots.acquire([
      { key: `imap ip ${ipKey(s.remoteAddress)}`, limit: this.opts.limits.maxConnectionsPerIp },
    ]);
    if (!lease) return false;
    if (socket.destroyed) {
      lease.release();
      return true;
    }
    this.leases.set(s, [lease, null]);
    this.sessions.add(s);
    if (!this.sweeper) {
      this.sweeper = setInterval(() => this.sweep(), this.sweepMs);
      this.sweeper.unref();
    }
    return true;
  }

  /**
   * Counts a login against the per-user limit: null when reached, else the account object the
   * session keeps. Sessions of one account in this process share one object (after login a
   * session uses only its id and address; quota and settings are read from the store when needed).
   */
  async addUser(s: Session, account: Account): Promise<Account | null> {
    const lease = await this.slots.acquire([
      { key: `imap user ${account.id}`, limit: this.opts.limits.maxConnectionsPerUser },
    ]);
    if (!lease) return null;
    const held = this.leases.get(s);
    if (!held || s.isClosed) {
      lease.release(); // closed while waiting
      return null;
    }
    held[1]?.release();
    held[1] = lease;
    const u = this.perUser.get(account.id);
    if (u) u.n++;
    else this.perUser.set(account.id, { n: 1, account });
    this.userOf.set(s, account.id);
    return u?.account ?? account;
  }

  sessionClosed(s: Session): void {
    if (!this.sessions.delete(s)) return;
    const held = this.leases.get(s);
    this.leases.delete(s);
    held?.[0].release();
    held?.[1]?.release();
    const uid = this.userOf.get(s);
    if (uid !== undefined) {
      const u = this.perUser.get(uid);
      if (u && --u.n <= 0) this.perUser.delete(uid);
    }
    if (this.sessions.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }
}
