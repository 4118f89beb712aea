/**
 * SMTP policy on top of the smtp-server package: MX (inbound for hosted domains), submission
 * (587, STARTTLS) and submissions (465, implicit TLS). See index.ts for the implementation notes.
 */
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type {
  SMTPServerAddress,
  SMTPServerAuthentication,
  SMTPServerDataStream,
  SMTPServerOptions,
  SMTPServerSession,
} from "smtp-server";
import type { Authenticator } from "../auth/index.ts";
import { urlHosts } from "../imap/server/urlauth.ts";
import { isLoopback } from "../net/address.ts";
import { type ConnectionSlots, ipKey, localSlots } from "../net/conn-limits.ts";
import { type DnsLookup, reverseName, withBudget } from "../net/dns/index.ts";
import type { ProtocolLogger, StartTlsSource } from "../net/index.ts";
import { admitConnection } from "../net/line-session.ts";
import { count } from "../net/metrics.ts";
import type { QueueRecipient, Store } from "../store/types.ts";
import { type AuthnVerdict, checkSender, type DNSResolver, loadSenderChecks } from "./authn.ts";
import { enableBurl } from "./burl.ts";
import { collectStream, findBareLineEnding } from "./data.ts";
import { deliverAll, quotaVerdict } from "./deliver.ts";
import { SMTPConnection, SMTPServer } from "./smtp-server-lib.ts";
import { addressStringKey } from "./submission-policy.ts";
import {
  classifyRecipient,
  deliveryRefusal,
  localDeliveries,
  newSubmissionId,
  type SubmitDeps,
  type SubmitRecipient,
  type SubmitTrace,
  sanitizeAuthResults,
  sendAsKeys,
  smtpError,
  submitMessage,
} from "./submit.ts";

import type { AutoReplyContext } from "./vacation.ts";

export { smtpError, splitAddress } from "./submit.ts";

export type SmtpMode = "mx" | "submission" | "submissions";

/** the sender checks' outcome as log fields */
function authnLog(v: AuthnVerdict) {
  return { spf: v.spf, dkim: v.dkim, dmarc: v.dmarc, policy: v.dmarcPolicy, action: v.action };
}

export type SmtpLogger = ProtocolLogger;

export interface SmtpLimits {
  /** octets; announced as SIZE (RFC 1870) */
  maxMessageSize: number;
  /** RCPT commands per transaction (RFC 5321 §4.5.3.1.8 asks for at least 100) */
  maxRecipients: number;
  /** per authenticated user, sliding hour; 0 = unlimited */
  messagesPerHour: number;
  recipientsPerHour: number;
  /** the same over all accounts of the sender's domain (abuse limits); absent/0 = unlimited */
  domainMessagesPerHour?: number;
  domainRecipientsPerHour?: number;
  /** outbound queue entries overall / per user before submission answers 452 4.3.1; absent/0 = unlimited */
  maxQueued?: number;
  maxQueuedPerUser?: number;
  /** idle timeout of a session, ms (RFC 5321 §4.5.3.2: at least 5 minutes server side) */
  idleTimeoutMs: number;
  /** concurrent connections from one remote IP over all SMTP listeners (whole server, counted
   *  through `slots`); 0 = unlimited */
  maxConnectionsPerIp: number;
}

export interface SmtpServerOptions {
  store: Store;
  auth: Authenticator;
  /** certificate source for STARTTLS; null = STARTTLS not offered */
  tls: StartTlsSource | null;
  logger: SmtpLogger;
  hostname: string;
  /** host names accepted in BURL's IMAP URLs; empty/absent = [hostname] (imap/server/urlauth.ts) */
  urlHosts?: string[];
  limits: SmtpLimits;
  /** AUTH before TLS on submission (any client, loopback included) */
  allowPlaintextAuth: boolean;
  /** SPF/DKIM/DMARC/ARC on MX */
  /**
   * Inbound sender authentication; `budgetMs` bounds the DNS time of one message (default 5 s):
   * lookups still open then fail, and mailauth records temperror (RFC 8601 §2.7).
   */
  authn: { enabled: boolean; resolver?: DnsLookup; budgetMs?: number };
  /** skip the reverse DNS lookup of clients (tests) */
  disableReverseLookup?: boolean;
  /** the reverse lookup (PTR) of clients through this resolver; absent = node:dns */
  reverseResolver?: DnsLookup;
  /**
   * How long the MX holds its greeting to catch clients that talk first (RFC 5321 §4.3.1: the
   * client waits for the greeting). Never on submission nor for loopback clients. Default 0.
   */
  greetingDelayMs?: number;
  /** where the per-IP connection limit is counted; absent = in this process */
  slots?: ConnectionSlots;
  /** vacation responses: at most one per sender within this time (RFC 3834 §2). Default 7 days */
  vacationReplyIntervalMs?: number;
}

export interface SmtpServer {
  handleConnection(socket: Socket | TLSSocket, o: { mode: SmtpMode }): void;
  closeAll(reason?: string): Promise<void>;
}

// Our replies carry their own RFC 3463 enhanced status code; smtp-server would prefix a generic one
// derived from the reply code. When the text already starts with one, send it as is (RFC 2034 §4).
const ENHANCED_RE = /^[245]\.\d{1,3}\.\d{1,3} /;
let patched = false;
/** the greeting delay of a connection: set per server (make()), read by the patched init() */
const GREETING_DELAY = Symbol("greetingDelayMs");
interface ConnectionInternals {
  send(code: number, data?: unknown, context?: unknown): void;
  init(): void;
  connectionReady(): void;
  _setListeners(cb: () => void): void;
  _server: { options: Record<PropertyKey, unknown>; connections: Set<unknown> };
  _socket?: Socket | TLSSocket;
  remoteAddress: string;
}
function patchEnhancedCodes(): void {
  if (patched) return;
  patched = true;
  const proto = SMTPConnection.prototype as unknown as ConnectionInternals;
  // smtp-server always holds the greeting 100 ms (its early-talker check); ours is a config value
  // (smtp.greeting_delay), 0 by default. With a reverse lookup the greeting still waits for it,
  // and input before the greeting is refused (421) all the same.
  proto.init = function (this: ConnectionInternals) {
    this._setListeners(() => {
      const opts = this._server.options;
      const max = opts.maxClients as number | undefined;
      if (max && this._server.connections.size > max)
        return this.send(421, `${opts.name} Too many connected clients, try again in a moment`, false);
      const delay = (opts[GREETING_DELAY] as number | undefined) ?? 0;
      if (delay <= 0 || isLoopback(this.remoteAddress)) return this.connectionReady();
      setTimeout(() => this.connectionReady(), delay).unref();
    });
  };
  const orig = proto.send;
  const reply = function (this: unknown, code: number, data?: unknown, context?: unknown) {
    if (typeof data === "string" && ENHANCED_RE.test(data)) return orig.call(this, code, data, false);
    // RFC 4954 §6: AUTH before TLS is "538 5.7.11 Encryption required for requested authentication mechanism"
    if (code === 538)
      return orig.call(
        this,
        code,
        "5.7.11 Encryption required for requested authentication mechanism",
        false,
      );
    return orig.call(this, code, data, context);
  };
  // RFC 2920 §3.1/§4: the replies to a pipelined group (MAIL, RCPT…, DATA) go out together. A
  // 250 waits in the corked socket until this turn of the event loop ends (setImmediate); any
  // other reply — 354 ends the group, 220 precedes a TLS handshake, 221/421 a close — is written
  // at once together with what waits. One write (and one wake-up of the client) instead of three.
  proto.send = function (this: ConnectionInternals, code: number, data?: unknown, context?: unknown) {
    const sock = this._socket;
    if (code === 250 && sock && !sock.destroyed && sock.writableCorked === 0) {
      sock.cork();
      setImmediate(() => sock.uncork());
    }
    reply.call(this, code, data, context);
    if (code !== 250 && sock && sock.writableCorked > 0) sock.uncork();
  };
}

interface UserInfo {
  accountId: number;
  address: string;
}

type RcptInfo = SubmitRecipient;

interface TxState {
  rcpts: RcptInfo[];
}

/** RFC 8689 §4.1: MAIL FROM carried REQUIRETLS (smtp-server accepts it only over TLS) */
function requiresTls(session: SMTPServerSession): boolean {
  return (session.envelope as { requireTLS?: boolean }).requireTLS === true;
}

function sessionUser(session: SMTPServerSession): UserInfo | null {
  const u = session.user as unknown;
  if (u && typeof u === "object" && "accountId" in u) return u as UserInfo;
  return null;
}

/** smtp-server's reverse-lookup hook over our resolver (cached, bounded; src/net/dns) */
function reverseVia(lookup: DnsLookup): {
  reverse(ip: string, cb: (err: Error | null, names?: string[]) => void): void;
} {
  return {
    reverse(ip, cb) {
      const name = reverseName(ip);
      if (!name) return cb(null, []);
      lookup(name, "PTR").then(
        (r) => cb(null, r as string[]),
        (e: Error) => cb(e),
      );
    },
  };
}

export function createSmtpServer(o: SmtpServerOptions): SmtpServer {
  patchEnhancedCodes();
  const { store, logger, limits } = o;
  const sendAs = (user: UserInfo): Promise<Set<string>> => sendAsKeys(store, user.accountId);
  const hostname = o.hostname || "localhost";
  /** the vacation responder's context for a message of this session (deliver.ts, vacation.ts) */
  const autoReply = (session: SMTPServerSession, id: string): AutoReplyContext => ({
    mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
    intervalMs: o.vacationReplyIntervalMs ?? 7 * 86_400_000,
    log: (fields, msg) => logger.info({ session: session.id, id, ...fields }, msg),
  });
  const tx = new WeakMap<SMTPServerSession, TxState>();
  const state = (s: SMTPServerSession): TxState => {
    let t = tx.get(s);
    if (!t) {
      t = { rcpts: [] };
      tx.set(s, t);
    }
    return t;
  };

  /**
   * Every refusal this policy sends is logged once, with the reason: x.7.x (security/policy) at
   * warn, everything else at info. Field names as in the IMAP/POP3 loggers (session,
   * remoteAddress, user); `command` is the SMTP command refused, `code`/`reason` the reply.
   */
  const logRejection = (
    session: SMTPServerSession,
    mode: SmtpMode,
    command: string,
    err: Error,
    extra: Record<string, unknown> = {},
  ): void => {
    const e = err as Error & { responseCode?: number; log?: Record<string, unknown> };
    const reason = e.message;
    const fields = {
      session: session.id,
      remoteAddress: session.remoteAddress,
      user: sessionUser(session)?.address,
      mode,
      command,
      code: e.responseCode ?? 451,
      reason,
      ...extra,
      ...e.log,
    };
    if (command !== "AUTH") {
      // the enhanced status code (RFC 3463) is the reason label: few values, unlike the text
      const sp = reason.indexOf(" ");
      const status =
        sp > 0 && sp <= 9 && /^[245]\.\d{1,3}\.\d{1,3}$/.test(reason.slice(0, sp))
          ? reason.slice(0, sp)
          : String(fields.code);
      count("postkontor_deliveries_total", { result: "refused", command, reason: status });
    }
    if (/^[45]\.7\./.test(reason)) logger.warn(fields, "smtp rejected");
    else logger.info(fields, "smtp rejected");
  };

  const onAuth = (mode: SmtpMode) =>
    ((
      auth: SMTPServerAuthentication,
      session: SMTPServerSession,
      done: (err: Error | null | undefined, r?: { user: unknown }) => void,
    ) => {
      count("postkontor_commands_total", { protocol: "smtp", command: "AUTH" });
      const cb = (err: Error | null | undefined, r?: { user: unknown }) => {
        if (err) logRejection(session, mode, "AUTH", err, { user: (auth.username ?? "").slice(0, 100) });
        done(err, r);
      };
      void (async () => {
        if (mode === "mx") return cb(smtpError(503, "5.5.1", "AUTH not available on this port"));
        // RFC 4954 §4 / RFC 8314: credentials only over TLS unless the config allows plaintext
        if (!session.secure && !o.allowPlaintextAuth)
          return cb(smtpError(538, "5.7.11", "Encryption required for requested authentication mechanism"));
        if (auth.method !== "PLAIN" && auth.method !== "LOGIN")
          return cb(smtpError(504, "5.5.4", "Unrecognized authentication type"));
        const username = auth.username ?? "";
        const a = auth as SMTPServerAuthentication & { authzid?: string };
        // RFC 4616 §2: an authorization identity other than the user is refused
        if (a.authzid && a.authzid.toLowerCase() !== username.toLowerCase())
          return cb(smtpError(535, "5.7.8", "Authorization identity refused"));
        const account = await o.auth.verifyPassword(username, auth.password ?? "", {
          protocol: "smtp",
          remoteAddress: session.remoteAddress,
        });
        if (!account) return cb(smtpError(535, "5.7.8", "Authentication credentials invalid"));
        cb(null, { user: { accountId: account.id, address: account.address } satisfies UserInfo });
      })().catch((e) => {
        logger.error({ session: session.id, err: String(e) }, "smtp auth error");
        cb(smtpError(454, "4.7.0", "Temporary authentication failure"));
      });
    }) as SMTPServerOptions["onAuth"];

  const onMailFrom = (mode: SmtpMode) =>
    ((address: SMTPServerAddress, session: SMTPServerSession, done: (err?: Error | null) => void) => {
      count("postkontor_commands_total", { protocol: "smtp", command: "MAIL" });
      const cb = (err?: Error | null) => {
        if (err) logRejection(session, mode, "MAIL", err, { from: address.address });
        done(err);
      };
      void (async () => {
        tx.set(session, { rcpts: [] });
        const size = Number((address.args && (address.args as Record<string, string>).SIZE) || 0);
        // RFC 1870 §6.3: a declared size above the limit is refused at MAIL
        if (size > limits.maxMessageSize)
          return cb(
            smtpError(
              552,
              "5.3.4",
              `Message size exceeds fixed maximum message size ${limits.maxMessageSize}`,
            ),
          );
        if (mode === "mx") return cb();
        const user = sessionUser(session);
        if (!user) return cb(smtpError(530, "5.7.0", "Authentication required"));
        // RFC 6409 §6.1: the submission server may check the envelope sender is the user's
        if (!(await sendAs(user)).has(addressStringKey(address.address) ?? ""))
          return cb(
            smtpError(550, "5.7.1", `Sender address <${address.address}> not owned by user ${user.address}`),
          );
        cb();
      })().catch((e) => {
        logger.error({ session: session.id, err: String(e) }, "smtp MAIL error");
        cb(smtpError(451, "4.3.0", "Temporary server error"));
      });
    }) as SMTPServerOptions["onMailFrom"];

  const onRcptTo = (mode: SmtpMode) =>
    ((address: SMTPServerAddress, session: SMTPServerSession, done: (err?: Error | null) => void) => {
      count("postkontor_commands_total", { protocol: "smtp", command: "RCPT" });
      const cb = (err?: Error | null) => {
        if (err)
          logRejection(session, mode, "RCPT", err, {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
            to: address.address,
          });
        done(err);
      };
      void (async () => {
        const t = state(session);
        if (t.rcpts.length >= limits.maxRecipients) return cb(smtpError(452, "4.5.3", "Too many recipients")); // RFC 5321 §4.5.3.1.10
        const where = await classifyRecipient(store, address.address);
        if (where.kind === "syntax") return cb(smtpError(553, "5.1.3", "Bad recipient address syntax"));
        const dsn: QueueRecipient = { address: address.address };
        if (address.dsn?.notify) dsn.notify = [...address.dsn.notify];
        if (address.dsn?.orcpt) dsn.orcpt = address.dsn.orcpt;
        if (where.kind === "remote") {
          // RFC 5321 §3.6.2: no relaying for unauthenticated clients
          if (mode === "mx" || !sessionUser(session)) return cb(smtpError(550, "5.7.1", "Relaying denied"));
          t.rcpts.push({ address: address.address, accounts: [], dsn });
          return cb();
        }
        if (where.kind === "unknown")
          return cb(smtpError(550, "5.1.1", "Recipient address rejected: user unknown"));
        const accounts = where.accounts;
        const mf = session.envelope.mailFrom;
        const mfArgs = mf ? (mf.args as Record<string, string> | false) : false;
        const declared = Number(mfArgs ? (mfArgs.SIZE ?? 0) : 0);
        for (const acc of accounts) {
          const v = quotaVerdict(acc, declared);
          // RFC 3463: 4.2.2 mailbox full (may clear), 5.2.2 when this message can never fit
          if (v === "never")
            return cb(smtpError(552, "5.2.2", "Mailbox full: message exceeds the recipient's quota"));
          if (v === "full") return cb(smtpError(452, "4.2.2", "Mailbox full"));
        }
        t.rcpts.push({ address: address.address, accounts, dsn });
        cb();
      })().catch((e) => {
        logger.error({ session: session.id, err: String(e) }, "smtp RCPT error");
        cb(smtpError(451, "4.3.0", "Temporary server error"));
      });
    }) as SMTPServerOptions["onRcptTo"];

  const onData = (mode: SmtpMode) =>
    ((
      stream: SMTPServerDataStream,
      session: SMTPServerSession,
      done: (err?: Error | null, msg?: string) => void,
    ) => {
      count("postkontor_commands_total", { protocol: "smtp", command: "DATA" });
      const cb = (err?: Error | null, msg?: string) => {
        if (err)
          logRejection(session, mode, "DATA", err, {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
            to: session.envelope.rcptTo.map((r) => r.address),
          });
        done(err, msg);
      };
      // an MX delivery is announced from the start of its data (Store.expectDelivery): commits
      // that form while it arrives and is checked wait a moment (≤ a few ms) to share their
      // fsync with it — with many clients one message each, most of a message's cost is its commit
      const announced = mode === "mx" ? store.expectDelivery() : undefined;
      void (async () => {
        const got = await collectStream(stream, limits.maxMessageSize);
        if (got.oversized || stream.sizeExceeded)
          return cb(
            smtpError(
              552,
              "5.3.4",
              `Message size exceeds fixed maximum message size ${limits.maxMessageSize}`,
            ),
          );
        cb(null, await accept(mode, session, got.data, announced));
      })()
        .finally(() => announced?.())
        .catch((e) => {
          if (e instanceof Error && "responseCode" in e) return cb(e);
          logger.error(
            { session: session.id, err: e instanceof Error ? (e.stack ?? e.message) : String(e) },
            "smtp DATA error",
          );
          cb(smtpError(451, "4.3.0", "Temporary server error; message not accepted"));
        });
    }) as SMTPServerOptions["onData"];

  /** a complete message (DATA, or BURL … LAST) → the reply text of its 250; throws an smtpError */
  const accept = async (
    mode: SmtpMode,
    session: SMTPServerSession,
    raw: Buffer,
    announced?: () => void,
  ): Promise<string> => {
    // RFC 5321 §2.3.8 / §4.1.1.4: refuse bare CR / bare LF (SMTP smuggling), see index.ts
    // (submitMessage checks the same on submission)
    if (mode !== "mx") return acceptSubmission(session, raw);
    // BURL … LAST comes without an announcement: the delivery is announced from here
    const a = announced ?? store.expectDelivery();
    try {
      const bare = findBareLineEnding(raw);
      if (bare >= 0)
        throw smtpError(550, "5.6.0", "Message contains a bare CR or LF; lines must end in CRLF", {
          offset: bare,
        });
      return await acceptInbound(session, raw, a);
    } finally {
      a();
    }
  };

  const tlsNote = (session: SMTPServerSession): string | null => {
    const t = session.tlsOptions as { standardName?: string; name?: string; version?: string } | false;
    if (!t) return null;
    return `${t.version ?? "TLS"} ${t.standardName ?? t.name ?? ""}`.trim();
  };

  const protocolOf = (session: SMTPServerSession, authed: boolean): string =>
    // RFC 3848: ESMTP / ESMTPS / ESMTPA / ESMTPSA
    `${session.transmissionType?.startsWith("E") === false ? "SMTP" : "ESMTP"}${session.secure ? "S" : ""}${authed ? "A" : ""}`;

  const traceOf = (session: SMTPServerSession, authed: boolean): SubmitTrace => ({
    session: session.id,
    helo: session.hostNameAppearsAs || "",
    clientHostname: session.clientHostname || null,
    remoteAddress: session.remoteAddress,
    protocol: protocolOf(session, authed),
    tls: tlsNote(session),
  });

  const submitDeps: SubmitDeps = { store, logger, hostname, limits };

  /** `announced`: the delivery's announcement (Store.expectDelivery), handed to the store */
  async function acceptInbound(
    session: SMTPServerSession,
    raw: Buffer,
    announced: () => void,
  ): Promise<string> {
    const t = state(session);
    const id = newSubmissionId();
    let verdict: AuthnVerdict | null = null;
    if (o.authn.enabled) {
      const mf = session.envelope.mailFrom;
      // the first message of a process loads the checks; that time is not the DNS budget's
      await loadSenderChecks();
      verdict = await checkSender({
        message: raw,
        ip: session.remoteAddress,
        helo: session.hostNameAppearsAs || "",
        sender: mf ? mf.address : "",
        mta: hostname,
        ...(o.authn.resolver
          ? { resolver: withBudget(o.authn.resolver, o.authn.budgetMs ?? 5000) as DNSResolver }
          : {}),
      });
      if (verdict.action === "reject") {
        logger.info({ session: session.id, id, ...authnLog(verdict) }, "smtp sender authentication");
        throw smtpError(550, "5.7.1", "Message rejected by the sender domain's DMARC policy");
      }
    }
    // after DKIM/ARC saw the bytes as signed: neutralise forged claims of our authserv-id
    const clean = sanitizeAuthResults(submitDeps, session.id, id, raw);
    const mailbox = verdict?.action === "junk" ? "Junk" : undefined;
    const deliveries = localDeliveries(
      hostname,
      traceOf(session, false),
      t.rcpts,
      id,
      verdict?.headers ?? "",
      mailbox,
    );
    await deliverAll(store, clean, deliveries, autoReply(session, id), announced).catch(deliveryRefusal);
    const dsn = session.envelope.dsn;
    logger.info(
      {
        session: session.id,
        id,
        from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
        to: deliveries.map((d) => d.account.address),
        size: raw.byteLength,
        // the sender checks' outcome on the same line (one log line per accepted message)
        ...(verdict ? authnLog(verdict) : {}),
        ...(dsn && (dsn.ret || dsn.envid) ? { dsn } : {}),
        ...(requiresTls(session) ? { requireTls: true } : {}),
      },
      "smtp delivered",
    );
    return `2.0.0 OK id=${id} delivered`;
  }

  async function acceptSubmission(session: SMTPServerSession, raw: Buffer): Promise<string> {
    const user = sessionUser(session);
    if (!user) throw smtpError(530, "5.7.0", "Authentication required");
    const mf = session.envelope.mailFrom;
    const r = await submitMessage(submitDeps, {
      user,
      mailFrom: mf ? mf.address : "",
      rcpts: state(session).rcpts,
      raw,
      trace: traceOf(session, true),
      dsn: session.envelope.dsn ?? null,
      requireTls: requiresTls(session),
      saveSentCopy: true,
      autoReply: (id) => autoReply(session, id),
    });
    return `2.0.0 OK id=${r.id}`;
  }

  const make = (mode: SmtpMode): SMTPServer => {
    const opts: SMTPServerOptions = {
      name: hostname,
      banner: "postkontor",
      logger: false,
      size: limits.maxMessageSize,
      // RFC 2034, RFC 3461, RFC 6531, RFC 6152, RFC 2920 are announced by smtp-server unless hidden
      hideENHANCEDSTATUSCODES: false,
      hideDSN: false,
      hideSTARTTLS: o.tls === null || mode === "submissions",
      // RFC 8689 §4.1: REQUIRETLS is offered only after TLS (smtp-server lists it only on a secure
      // session and refuses the MAIL parameter without TLS); MX delivers locally (last hop)
      hideREQUIRETLS: false,
      secure: mode === "submissions",
      authMethods: ["PLAIN", "LOGIN"],
      authOptional: mode === "mx",
      allowInsecureAuth: o.allowPlaintextAuth,
      // BURL (RFC 4468) only on submission (burl.ts)
      disabledCommands: mode === "mx" ? ["AUTH", "BURL"] : [],
      socketTimeout: limits.idleTimeoutMs,
      closeTimeout: 5_000,
      disableReverseLookup: o.disableReverseLookup === true,
      ...(o.reverseResolver ? { resolver: reverseVia(o.reverseResolver) } : {}),
      onAuth: onAuth(mode),
      onMailFrom: onMailFrom(mode),
      onRcptTo: onRcptTo(mode),
      onData: onData(mode),
    };
    if (o.tls) {
      const provider = o.tls;
      opts.SNICallback = (
        _name: string,
        cb: (err: Error | null, ctx?: import("node:tls").SecureContext) => void,
      ) => {
        try {
          cb(null, provider.context());
        } catch (e) {
          cb(e as Error);
        }
      };
    }
    (opts as Record<PropertyKey, unknown>)[GREETING_DELAY] = mode === "mx" ? (o.greetingDelayMs ?? 0) : 0;
    const s = new SMTPServer(opts);
    if (mode !== "mx")
      enableBurl(s, {
        store,
        hosts: urlHosts(hostname, o.urlHosts),
        maxMessageSize: limits.maxMessageSize,
        user: sessionUser,
        accept: async (session, raw) => {
          try {
            return await accept(mode, session, raw);
          } catch (e) {
            const err =
              e instanceof Error && "responseCode" in e
                ? e
                : smtpError(451, "4.3.0", "Temporary server error; message not accepted");
            if (err === e) logRejection(session, mode, "BURL", err);
            else logger.error({ session: session.id, err: String(e) }, "smtp BURL error");
            throw err;
          }
        },
        rejected: (session, err) => logRejection(session, mode, "BURL", err),
      });
    s.on("error", (err: Error) => logger.debug?.({ mode, err: err.message }, "smtp connection error"));
    return s;
  };

  const servers: Record<SmtpMode, SMTPServer> = {
    mx: make("mx"),
    submission: make("submission"),
    submissions: make("submissions"),
  };

  // concurrent connections per remote address, over all three modes (and all workers)
  const slots = o.slots ?? localSlots();

  return {
    handleConnection(socket, { mode }) {
      const ip = ipKey(socket.remoteAddress);
      admitConnection(socket, {
        // RFC 5321 §3.1 / §4.2: a server may answer the opening with "421 <domain> …" and close;
        // the client retries later. No enhanced code in a greeting (RFC 2034 §3: only after EHLO).
        refusal: `421 ${hostname} Too many connections from your address, try again later\r\n`,
        destroyAfterMs: 5_000,
        async acquire() {
          const lease = await slots.acquire([{ key: `smtp ip ${ip}`, limit: limits.maxConnectionsPerIp }]);
          if (!lease) return false;
          if (socket.destroyed) lease.release();
          else socket.once("close", () => lease.release());
          return true;
        },
        start() {
          const s = servers[mode];
          // non-SNI STARTTLS clients get the provider's current certificate (reloaded when renewed)
          if (o.tls && mode !== "submissions") s.secureContext.set("*", o.tls.context());
          s.connect(socket);
        },
        onRefused: () =>
          logger.warn(
            { mode, remoteAddress: ip, limit: limits.maxConnectionsPerIp },
            "smtp per-IP connection limit reached",
          ),
        onFailed: (e) =>
          logger.error({ mode, remoteAddress: ip, err: String(e) }, "smtp connection setup failed"),
      });
    },
    async closeAll(reason = "Server shutting down") {
      for (const s of Object.values(servers)) {
        for (const c of s.connections) {
          const conn = c as unknown as { send(code: number, text: string): void; close(): void };
          try {
            conn.send(421, `4.3.2 ${reason}`);
            conn.close();
          } catch {
            // already gone
          }
        }
      }
      // bounded wait for the sockets to go away
      for (let i = 0; i < 50; i++) {
        if (Object.values(servers).every((s) => s.connections.size === 0)) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}
