/**
 * POP3 server (RFC 1939) for postkontor.
 *
 * Implementation notes
 * - Extensions: CAPA and RESP-CODES, AUTH-RESP-CODE, PIPELINING, TOP, UIDL, USER, EXPIRE,
 *   LOGIN-DELAY (only when configured), IMPLEMENTATION (RFC 2449, RFC 3206); STLS (RFC 2595);
 *   SASL PLAIN with initial response and "+ " continuation (RFC 5034); UTF8 with UTF-8 user names
 *   (RFC 6856; content is passed unchanged, no downgrading); implicit TLS (RFC 8314) on its own
 *   listener. APOP is not offered. Bare "AUTH" lists the mechanisms (what fetchmail/Outlook probe).
 * - Plaintext USER/PASS/AUTH only over TLS, from loopback, or when allowPlaintextAuth is set; the
 *   -ERR [AUTH] says why. A disabled account (settings.pop3Enabled false) gets
 *   "-ERR [AUTH] POP3 access is disabled for this account" (logged) — only when the password is
 *   right, so the message reveals nothing to others.
 * - Maildrop = INBOX snapshot at login (server/maildrop.ts), honouring settings.pop3Scope
 *   ("since-enabled": messages saved into INBOX at or after pop3EnabledAt, or account creation when
 *   unset). Mail arriving during the session shows at the next login; messages expunged meanwhile
 *   by IMAP answer RETR/TOP with -ERR. LIST/STAT sizes are the exact octets RETR sends (CRLF line
 *   ends, before dot-stuffing), computed on first use and cached per blob. UIDL = "<uidvalidity>.<uid>".
 * - UPDATE (RFC 1939 §6) only on QUIT: settings.pop3Delete (read fresh at QUIT) decides what DELE
 *   does — "delete" expunges through the store (IMAP sessions learn it from the change feed),
 *   "trash" moves to the \Trash mailbox, "keep-read" keeps the message in INBOX and adds \Seen
 *   (it stays in the maildrop; leave-on-server clients skip it by UIDL, like Gmail's "keep and
 *   mark as read"). Fully RETR'd messages get \Seen at UPDATE too (as Dovecot does). A dropped
 *   connection, an autologout or a shutdown deletes nothing.
 * - Concurrency: one session per maildrop across all worker processes and the CLI, by a lease
 *   "pop3/<account id>" from the store's locks port (store/locks; [IN-USE] otherwise), renewed
 *   while the session lives (server/state.ts MaildropLock). Commands of one connection run strictly in order;
 *   pipelined responses are flushed together; RETR streams with backpressure, dot-stuffing and
 *   CRLF normalisation done on the fly on bytes (protocol/message.ts).
 * - State (RFC 1939 §3): a discriminated union (server/state.ts) — the USER name in
 *   AUTHORIZATION; account, maildrop and lock in TRANSACTION; account and lock in UPDATE. The
 *   command table (server/commands.ts) has a handler per state a command is valid in and hands it
 *   the narrowed state; other states get "-ERR Not logged in" / "-ERR X is not valid in this
 *   state". TRANSACTION commands and UPDATE are in server/transaction.ts.
 * - Errors: handlers throw Pop3Error/StoreError; server/errors.ts maps them in one place; an
 *   unexpected error answers "-ERR [SYS/TEMP]" with a log line carrying the session id.
 * - Limits: line length, bad commands before closing, autologout (RFC 1939 §3: ≥ 10 minutes),
 *   connections per IP (through opts.slots: one count for all worker processes) — all from options.
 */
import type { Socket } from "node:net";
import type { Authenticator } from "../auth/index.ts";
import type { ConnectionSlots } from "../net/conn-limits.ts";
import type { ProtocolLogger, StartTlsSource } from "../net/index.ts";
import { admitConnection } from "../net/line-session.ts";
import type { LockService, Store } from "../store/types.ts";
import { err } from "./protocol/response.ts";
import { ServerContext } from "./server/context.ts";
import { Session } from "./server/session.ts";

export interface Pop3ServerOptions {
  store: Store;
  auth: Authenticator;
  /** for STLS; null = no STLS */
  tls: StartTlsSource | null;
  logger: ProtocolLogger;
  hostname: string;
  limits: {
    /** command line length in octets (RFC 2449 §4 minimum 255; SASL responses need more) */
    maxLineLength: number;
    maxBadCommands: number;
    /** RFC 1939 §3: at least 10 minutes */
    idleTimeoutMs: number;
    /** connections per remote IP, whole server (counted through `slots`); 0 = unlimited */
    maxConnectionsPerIp: number;
    /** RFC 2449 §6.5 LOGIN-DELAY, seconds; advertised and enforced (per process) only when set */
    loginDelaySeconds?: number;
    /** RFC 2449 §6.7 EXPIRE policy advertised; default "NEVER" */
    expireDays?: number | "NEVER";
  };
  /** plaintext USER/PASS/AUTH on non-TLS non-loopback connections */
  allowPlaintextAuth: boolean;
  /** where the per-IP connection limit is counted; absent = in this process */
  slots?: ConnectionSlots;
  /**
   * the maildrop locks (RFC 1939 §8): the store's locks port unless given (leases "pop3/<account
   * id>", shared by every process and node that uses the same store)
   */
  locks?: LockService;
  /** lease time of a maildrop lock; the session renews it every third of it. Default 2 min */
  lockTtlMs?: number;
}

export interface Pop3Server {
  handleConnection(socket: Socket, opts: { implicitTls: boolean }): void;
  /** closes every session without UPDATE (running commands finish first) */
  closeAll(reason?: string): Promise<void>;
  connectionCount(): number;
}

export function createPop3Server(o: Pop3ServerOptions): Pop3Server {
  const ctx = new ServerContext(o);
  return {
    handleConnection(socket, opts) {
      const s = new Session(ctx, socket, opts.implicitTls);
      admitConnection(socket, {
        refusal: err("Too many connections from your address", "SYS/TEMP"),
        destroyAfterMs: 2000,
        acquire: () => ctx.addConnection(s, socket),
        start: () => s.start(),
        onRefused: () =>
          o.logger.warn({ remoteAddress: socket.remoteAddress }, "pop3 connection refused: per-IP limit"),
        onFailed: (e) =>
          o.logger.error(
            { err: String(e), remoteAddress: socket.remoteAddress },
            "pop3 connection setup failed",
          ),
      });
    },
    async closeAll(reason = "Server shutting down") {
      const all = [...ctx.sessions];
      await Promise.race([
        Promise.all(all.map((s) => s.shutdown(reason))),
        new Promise<void>((r) => setTimeout(r, 10_000).unref()),
      ]);
    },
    connectionCount() {
      return ctx.sessions.size;
    },
  };
}
