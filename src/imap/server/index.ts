/**
 * IMAP server: session state machine and command handlers.
 *
 * Implementation notes
 * - Protocols: IMAP4rev2 (RFC 9051) and IMAP4rev1 (RFC 3501) on one server; ENABLE IMAP4rev2
 *   switches response forms (no RECENT, ESEARCH-form SEARCH, UTF-8 mailbox names). Extensions:
 *   IDLE, UIDPLUS, MOVE, REPLACE, PREVIEW, LITERAL+, SASL-IR, AUTH=PLAIN, ID, NAMESPACE, UNSELECT, CHILDREN,
 *   SPECIAL-USE, CREATE-SPECIAL-USE, LIST-EXTENDED, LIST-STATUS, ESEARCH, SEARCHRES, WITHIN,
 *   STATUS=SIZE, BINARY, APPENDLIMIT, MULTIAPPEND, CATENATE, ENABLE, CONDSTORE, QRESYNC, OBJECTID,
 *   SAVEDATE, QUOTA, UTF8=ACCEPT, STARTTLS, SORT (+SORT=DISPLAY), THREAD (ORDEREDSUBJECT,
 *   REFERENCES, REFS), ESORT, CONTEXT=SEARCH, CONTEXT=SORT, PARTIAL (SEARCH/SORT results, UID FETCH),
 *   COMPRESS=DEFLATE, METADATA, METADATA-SERVER.
 * - State: Session.state is a discriminated union (notAuthenticated | authenticated with the
 *   account | selected with the account and the mailbox view | logout); dispatch.ts names each
 *   command's allowed states and hands the handler that state, narrowed. Commands run strictly one at a time per connection (pipelined input waits
 *   in the reader; the socket is paused when too much is buffered).
 * - Selected mailbox: selected-mailbox.ts keeps the client's sequence ↔ UID map (Uint32Array)
 *   and pending changes pulled from store.changesSince(). Untagged EXPUNGE/VANISHED go out only
 *   where RFC 9051 §7.5.1 allows: never during FETCH/STORE/SEARCH (non-UID forms), never between
 *   commands (except in IDLE); until then the expunged message keeps its sequence number.
 * - Keywords: the view remembers the keywords announced by FLAGS (case-insensitive); any response
 *   that would show a new keyword is preceded by a fresh `* FLAGS` + PERMANENTFLAGS (RFC 9051
 *   §7.3.5). STORE/APPEND refuse unknown `\` system flags (RFC 9051 §9 flag-extension is reserved).
 * - FETCH of a message expunged by another session mid-command leaves it out (EXPUNGEISSUED).
 * - \Recent (RFC 3501 §2.3.2, IMAP4rev1 sessions only; RFC 9051 dropped it): the store keeps a
 *   per-mailbox first unclaimed uid; a read-write SELECT and each refresh that brings new messages
 *   claim [first unclaimed, UIDNEXT) atomically (Store.claimNewMessages), so a message is \Recent in
 *   exactly one session. EXAMINE only looks (RFC 3501 §6.3.2). The view keeps claimed uid ranges,
 *   not per-message state. STATUS RECENT counts the unclaimed messages (Store.countUnclaimed).
 * - Bulk flags (`UID FETCH 1:* (UID FLAGS)`): Store.listMessageStates parallel arrays walked in step
 *   with the view; the rows SELECT read are reused by the next command if HIGHESTMODSEQ is unchanged.
 * - Change feed: each authenticated session subscribes to its account's beacons; a beacon for the
 *   selected mailbox marks the view dirty, and in IDLE pushes the delta at once (no polling).
 * - Errors: handlers throw ImapError/StoreError; Session.execute maps them in one place
 *   (errors.ts mapError): BAD, NO [CODE], BYE; anything else is NO [SERVERBUG] plus a log line.
 * - Limits: line length, literal sizes (lower before login), bad commands before BYE, autologout
 *   timers, connections per IP (at connect) and per user (at login) — all from options; the
 *   connection counts go through opts.slots (one count for all worker processes).
 * - Output: Session.write awaits 'drain' when the socket buffer is full, so large FETCH
 *   responses stream with backpressure; message bytes are never decoded to strings.
 */
import type { Socket } from "node:net";
import type { Authenticator } from "../../auth/index.ts";
import type { ConnectionSlots } from "../../net/conn-limits.ts";
import type { ProtocolLogger, StartTlsSource } from "../../net/index.ts";
import { admitConnection } from "../../net/line-session.ts";
import type { Store } from "../../store/types.ts";
import { ServerContext } from "./context.ts";
import { Session } from "./session.ts";

export interface ImapServerOptions {
  store: Store;
  auth: Authenticator;
  /** for STARTTLS; null = no STARTTLS */
  tls: StartTlsSource | null;
  logger: ProtocolLogger;
  hostname: string;
  limits: {
    maxLineLength: number;
    /** after login; also APPENDLIMIT */
    maxLiteralSize: number;
    maxLiteralSizeUnauth: number;
    maxBadCommands: number;
    /** authenticated, ≥30 min default */
    idleTimeoutMs: number;
    unauthTimeoutMs: number;
    /** logged-in sessions per account, whole server (counted through `slots`); 0 = unlimited */
    maxConnectionsPerUser: number;
    /** connections per remote IP, whole server (counted through `slots`); 0 = unlimited */
    maxConnectionsPerIp: number;
    /** RFC 5464: largest METADATA value in octets; default 65536 */
    maxMetadataSize?: number;
    /** RFC 5464: METADATA entries per mailbox and for the server, per account; default 100 */
    maxMetadataEntries?: number;
    /** RFC 5465: changes waiting to be reported per connection before NOTIFICATIONOVERFLOW; default 1000 */
    maxNotifyQueue?: number;
    /** RFC 5267 §4.3.1: live search contexts (RETURN (UPDATE)) per session; default 10 */
    maxSearchContexts?: number;
    /** RFC 4467: URLs per GENURLAUTH / URLFETCH command (each costs a store lookup); default 100 */
    maxUrls?: number;
  };
  /** where connection limits are counted; absent = in this process */
  slots?: ConnectionSlots;
  /** plaintext LOGIN/AUTH on non-TLS non-loopback connections */
  allowPlaintextAuth: boolean;
  /** offer COMPRESS=DEFLATE (RFC 4978); default true */
  compress?: boolean;
  /** host names accepted in IMAP URLs (CATENATE, URLAUTH); empty/absent = [hostname] */
  urlHosts?: string[];
}

export interface ImapServer {
  handleConnection(socket: Socket, opts: { implicitTls: boolean }): void;
  closeAll(reason?: string): Promise<void>;
  connectionCount(): number;
}

export function createImapServer(o: ImapServerOptions): ImapServer {
  const ctx = new ServerContext(o);
  return {
    handleConnection(socket, opts) {
      const s = new Session(ctx, socket, opts.implicitTls);
      admitConnection(socket, {
        // RFC 9051 §7.1.5 BYE at greeting; UNAVAILABLE (RFC 5530)
        refusal: "* BYE [UNAVAILABLE] Too many connections from your address\r\n",
        destroyAfterMs: 2000,
        acquire: () => ctx.addConnection(s, socket),
        start: () => s.start(),
        onRefused: () =>
          o.logger.warn({ remoteAddress: socket.remoteAddress }, "imap connection refused: per-IP limit"),
        onFailed: (e) =>
          o.logger.error(
            { err: String(e), remoteAddress: socket.remoteAddress },
            "imap connection setup failed",
          ),
      });
    },
    async closeAll(reason = "Server shutting down") {
      const all = [...ctx.sessions];
      await Promise.all(all.map((s) => s.byeAndClose(`[UNAVAILABLE] ${reason}`)));
    },
    connectionCount() {
      return ctx.sessions.size;
    },
  };
}
