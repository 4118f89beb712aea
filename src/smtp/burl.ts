/**
 * BURL (RFC 4468) on submission: the message (or a part of it) comes from an IMAP URL the server
 * resolves itself, so a client sends a draft that is already in its mailbox without uploading it.
 *
 * - Only URLs of this server: the host must be our hostname (or one of the config's `url_hosts`), and the URL is resolved from the
 *   store (no network). A URL of another host gets 554 5.7.8 "URL resolution requires trust
 *   relationship" (RFC 4468 §6); so does a URL without URLAUTH (we resolve nothing on the user's
 *   bare say-so). The URL must be URLAUTH-authorized (RFC 4467) for this submission: access
 *   `submit+<AUTH user>` (or the wider `authuser` / `anonymous`), a valid INTERNAL token, not
 *   expired; any failure of that is 554 5.6.6 "IMAP URL resolution failed".
 * - `BURL url` appends the URL's octets to the message and answers 250 2.5.0; `BURL url LAST`
 *   appends and ends it: the message then takes exactly the DATA path (bare CR/LF refusal,
 *   submission policy and fix-ups, local delivery and queueing). We offer no CHUNKING (smtp-server
 *   has no BDAT), so BURL mixes only with BURL; DATA after a BURL is 503 5.5.1 (as
 *   RFC 3030 forbids DATA within a BDAT transaction). A failed BURL ends the transaction (as a
 *   failed BDAT does in RFC 3030): the parts are dropped and the envelope reset.
 * - EHLO lists `BURL imap` once the session is authenticated and a bare `BURL` before (RFC 4468:
 *   the keyword's arguments name the URL schemes the server resolves for this session, and
 *   before AUTH it resolves none); MX never offers it.
 *
 * smtp-server has no hook for extra commands. It finds a command's handler by name on its
 * SMTPConnection (`handler_<NAME>`), so BURL is added there once (as server.ts already adapts
 * `send`), and acts only for servers registered here; the MX server lists BURL among its
 * disabledCommands so that smtp-server itself answers it as an unknown command there.
 */
import type { SMTPServer, SMTPServerSession } from "smtp-server";
import { resolveAuthorizedUrl } from "../imap/server/urlauth.ts";
import type { Store } from "../store/types.ts";
import { SMTPConnection } from "./smtp-server-lib.ts";

export interface BurlReply {
  code: number;
  /** text starting with the RFC 3463 enhanced code */
  text: string;
}

export interface BurlOptions {
  store: Store;
  /** our host names (imap/server/urlauth.ts urlHosts): the only IMAP hosts whose URLs are resolved */
  hosts: readonly string[];
  maxMessageSize: number;
  /** the authenticated user of the session, null before AUTH */
  user(session: SMTPServerSession): { address: string } | null;
  /** runs the assembled message through the DATA path; resolves to the 250 text, or throws an smtpError */
  accept(session: SMTPServerSession, raw: Buffer): Promise<string>;
  /** logs a refusal (server.ts logRejection) */
  rejected(session: SMTPServerSession, err: Error & { responseCode: number }): void;
}

interface Handler {
  options: BurlOptions;
}

interface Parts {
  chunks: Buffer[];
  size: number;
}

/** the BURL servers (submission, submissions) */
const handlers = new WeakMap<object, Handler>();
/** collected parts per transaction: smtp-server gives each transaction a new envelope object */
const parts = new WeakMap<object, Parts>();

function reply(code: number, enhanced: string, text: string): BurlReply {
  return { code, text: `${enhanced} ${text}` };
}

/** `BURL SP absolute-URI [SP "LAST"]` (RFC 4468 burl-cmd); null on bad syntax */
export function parseBurlArgs(line: string): { url: string; last: boolean } | null {
  if (line.length < 6 || line[4] !== " ") return null;
  const args = line.slice(5).split(" ");
  if (args.length > 2 || args[0] === "") return null;
  if (args.length === 2 && args[1]!.toUpperCase() !== "LAST") return null;
  return { url: args[0]!, last: args.length === 2 };
}

/** One BURL command; `ended` when the transaction is over (LAST, or failed). */
async function burl(
  h: Handler,
  session: SMTPServerSession,
  line: string,
): Promise<BurlReply & { ended: boolean }> {
  const o = h.options;
  /** a refusal, logged once; `ended` drops the transaction */
  const refuse = (r: BurlReply, ended: boolean) => {
    o.rejected(session, Object.assign(new Error(r.text), { responseCode: r.code }));
    return { ...r, ended };
  };
  const fail = (r: BurlReply) => refuse(r, true);
  const user = o.user(session);
  if (!user) return refuse(reply(530, "5.7.0", "Authentication required"), false);
  const args = parseBurlArgs(line);
  if (!args) return refuse(reply(501, "5.5.4", "Syntax: BURL absolute-URI [LAST]"), false);
  // RFC 4468 §6
  if (!session.envelope.mailFrom)
    return refuse(reply(503, "5.5.0", "Valid RCPT TO required before BURL"), false);
  if (session.envelope.rcptTo.length === 0)
    return refuse(reply(554, "5.5.0", "No recipients have been specified"), false);
  const scheme = args.url.slice(0, 7).toLowerCase();
  if (scheme !== "imap://") return fail(reply(554, "5.7.8", "URL resolution requires trust relationship"));
  const env = session.envelope as object;
  const p = parts.get(env) ?? { chunks: [], size: 0 };
  const who = { kind: "submit", address: user.address } as const;
  const r = await resolveAuthorizedUrl(o.store, o.hosts, args.url, who, o.maxMessageSize - p.size);
  if ("failure" in r) {
    if (r.failure === "too-big") return fail(reply(554, "5.3.4", "Message too big for system"));
    if (r.failure === "other-host" || r.failure === "not-authorized-url")
      return fail(reply(554, "5.7.8", "URL resolution requires trust relationship"));
    return fail(reply(554, "5.6.6", "IMAP URL resolution failed"));
  }
  p.chunks.push(Buffer.from(r.data));
  p.size += r.data.length;
  parts.set(env, p);
  if (p.size > o.maxMessageSize) return fail(reply(554, "5.3.4", "Message too big for system"));
  if (!args.last) return { ...reply(250, "2.5.0", "Waiting for additional BURL commands"), ended: false };
  const raw = Buffer.concat(p.chunks, p.size);
  try {
    const text = await o.accept(session, raw);
    return { code: 250, text, ended: true };
  } catch (e) {
    // accept() has logged its own refusals (the DATA path)
    const err = e as Error & { responseCode?: number };
    return { code: err.responseCode ?? 451, text: err.message, ended: true };
  }
}

interface Conn {
  _server: object;
  session: SMTPServerSession;
  _transactionCounter: number;
  _resetSession(): void;
  send(code: number, data?: unknown, context?: unknown): void;
}

let installed = false;

/** adds BURL to smtp-server's connection (once per process) */
function install(): void {
  if (installed) return;
  installed = true;
  const proto = SMTPConnection.prototype as unknown as Record<string, unknown>;
  proto.handler_BURL = function (this: Conn, command: Buffer | string, callback: () => void) {
    const h = handlers.get(this._server);
    if (!h) {
      this.send(500, "Error: command not recognized");
      return callback();
    }
    burl(h, this.session, command.toString()).then(
      (r) => {
        this.send(r.code, r.text);
        if (r.ended) {
          this._transactionCounter++;
          this._resetSession(); // a new envelope: the collected parts go with the old one
        }
        callback();
      },
      (e: unknown) => {
        h.options.rejected(
          this.session,
          Object.assign(new Error(`4.3.0 Temporary server error: ${String(e)}`), { responseCode: 451 }),
        );
        this.send(451, "4.3.0 Temporary server error");
        this._resetSession();
        callback();
      },
    );
  };
  const data = proto.handler_DATA as (this: Conn, command: unknown, callback: () => void) => void;
  proto.handler_DATA = function (this: Conn, command: unknown, callback: () => void) {
    if (handlers.has(this._server) && parts.has(this.session.envelope as object)) {
      this.send(503, "5.5.1 DATA not allowed after BURL; end the message with BURL … LAST or send RSET");
      return callback();
    }
    return data.call(this, command, callback);
  };
  const ehlo = proto.handler_EHLO as (this: Conn, command: unknown, callback: () => void) => void;
  proto.handler_EHLO = function (this: Conn, command: unknown, callback: () => void) {
    if (!handlers.has(this._server)) return ehlo.call(this, command, callback);
    // add the keyword to the one multi-line 250 the (synchronous) EHLO handler sends
    const send = this.send;
    const conn = this as unknown as { send?: Conn["send"] };
    conn.send = function (this: Conn, code: number, data?: unknown, context?: unknown) {
      if (code === 250 && Array.isArray(data)) data = [...data, this.session.user ? "BURL imap" : "BURL"];
      return send.call(this, code, data, context);
    };
    try {
      ehlo.call(this, command, callback);
    } finally {
      delete conn.send; // the prototype's send again
    }
  };
}

/** BURL on this (submission) server */
export function enableBurl(server: SMTPServer, options: BurlOptions): void {
  install();
  handlers.set(server, { options });
}
