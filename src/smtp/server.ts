/**
 * SMTP policy on top of the smtp-server package: MX (inbound for hosted domains), submission
 * (587, STARTTLS) and submissions (465, implicit TLS). See index.ts for the implementation notes.
 */
import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { domainToASCII } from "node:url";
import {
  SMTPServer,
  type SMTPServerAddress,
  type SMTPServerAuthentication,
  type SMTPServerDataStream,
  type SMTPServerOptions,
  type SMTPServerSession,
} from "smtp-server";
import { SMTPConnection } from "smtp-server/lib/smtp-connection.js";
import type { Authenticator } from "../auth/index.ts";
import { urlHosts } from "../imap/server/urlauth.ts";
import { isLoopback } from "../net/address.ts";
import { type ConnectionSlots, ipKey, localSlots } from "../net/conn-limits.ts";
import { type DnsLookup, reverseName, withBudget } from "../net/dns/index.ts";
import type { ProtocolLogger, StartTlsSource } from "../net/index.ts";
import { admitConnection } from "../net/line-session.ts";
import { count } from "../net/metrics.ts";
import type { Account, QueueRecipient, Store } from "../store/types.ts";
import { StoreError } from "../store/types.ts";
import { type AuthnVerdict, checkSender, type DNSResolver } from "./authn.ts";
import { enableBurl } from "./burl.ts";
import {
  collectStream,
  deliveredToHeader,
  findBareLineEnding,
  receivedHeader,
  renameOwnAuthResults,
} from "./data.ts";
import { DeliveryError, deliverAll, type LocalDelivery, quotaVerdict } from "./deliver.ts";
import {
  addMissingFields,
  addressStringKey,
  checkOriginatorFields,
  messageIdDomain,
} from "./submission-policy.ts";
import type { AutoReplyContext } from "./vacation.ts";

export type SmtpMode = "mx" | "submission" | "submissions";

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

/** An error smtp-server turns into a reply: `code enhanced text`; `log` adds fields to the rejection log line. */
export function smtpError(
  code: number,
  enhanced: string,
  text: string,
  log?: Record<string, unknown>,
): Error & { responseCode: number; log?: Record<string, unknown> } {
  const e = new Error(`${enhanced} ${text}`) as Error & {
    responseCode: number;
    log?: Record<string, unknown>;
  };
  e.responseCode = code;
  if (log) e.log = log;
  return e;
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
  proto.send = function (this: unknown, code: number, data?: unknown, context?: unknown) {
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
}

interface UserInfo {
  accountId: number;
  address: string;
}

interface RcptInfo {
  address: string;
  /** local accounts it resolves to; empty for a remote recipient */
  accounts: Account[];
  dsn: QueueRecipient;
}

interface TxState {
  rcpts: RcptInfo[];
}

/** "Local@Exämple.org" → { local: "Local", domain: "xn--exmple-cua.org" } (RFC 5890 A-label). */
export function splitAddress(address: string): { local: string; domain: string } | null {
  const at = address.lastIndexOf("@");
  if (at <= 0 || at === address.length - 1) return null;
  const domain = domainToASCII(address.slice(at + 1).toLowerCase());
  if (!domain) return null;
  return { local: address.slice(0, at), domain };
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
  /** RFC 6409 §6.1 / §8: the addresses the user may send as — the account's own and its aliases */
  const sendAs = async (user: UserInfo): Promise<Set<string>> => {
    const keys = new Set<string>();
    for (const a of await store.addressesOf(user.accountId)) {
      const k = addressStringKey(a);
      if (k) keys.add(k);
    }
    return keys;
  };
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
        const split = splitAddress(address.address);
        if (!split) return cb(smtpError(553, "5.1.3", "Bad recipient address syntax"));
        const dsn: QueueRecipient = { address: address.address };
        if (address.dsn?.notify) dsn.notify = [...address.dsn.notify];
        if (address.dsn?.orcpt) dsn.orcpt = address.dsn.orcpt;
        const hosted = await store.getDomain(split.domain).catch(() => null);
        if (!hosted) {
          // RFC 5321 §3.6.2: no relaying for unauthenticated clients
          if (mode === "mx" || !sessionUser(session)) return cb(smtpError(550, "5.7.1", "Relaying denied"));
          t.rcpts.push({ address: address.address, accounts: [], dsn });
          return cb();
        }
        const accounts = await store.resolveRecipient(`${split.local}@${split.domain}`);
        if (accounts.length === 0)
          return cb(smtpError(550, "5.1.1", "Recipient address rejected: user unknown"));
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
        cb(null, await accept(mode, session, got.data));
      })().catch((e) => {
        if (e instanceof Error && "responseCode" in e) return cb(e);
        logger.error(
          { session: session.id, err: e instanceof Error ? (e.stack ?? e.message) : String(e) },
          "smtp DATA error",
        );
        cb(smtpError(451, "4.3.0", "Temporary server error; message not accepted"));
      });
    }) as SMTPServerOptions["onData"];

  /** a complete message (DATA, or BURL … LAST) → the reply text of its 250; throws an smtpError */
  const accept = async (mode: SmtpMode, session: SMTPServerSession, raw: Buffer): Promise<string> => {
    // RFC 5321 §2.3.8 / §4.1.1.4: refuse bare CR / bare LF (SMTP smuggling), see index.ts
    const bare = findBareLineEnding(raw);
    if (bare >= 0)
      throw smtpError(550, "5.6.0", "Message contains a bare CR or LF; lines must end in CRLF", {
        offset: bare,
      });
    return mode === "mx" ? acceptInbound(session, raw) : acceptSubmission(session, raw);
  };

  const newId = () => randomBytes(9).toString("base64url");

  const tlsNote = (session: SMTPServerSession): string | null => {
    const t = session.tlsOptions as { standardName?: string; name?: string; version?: string } | false;
    if (!t) return null;
    return `${t.version ?? "TLS"} ${t.standardName ?? t.name ?? ""}`.trim();
  };

  const protocolOf = (session: SMTPServerSession, authed: boolean): string =>
    // RFC 3848: ESMTP / ESMTPS / ESMTPA / ESMTPSA
    `${session.transmissionType?.startsWith("E") === false ? "SMTP" : "ESMTP"}${session.secure ? "S" : ""}${authed ? "A" : ""}`;

  const deliveryError = (e: unknown): never => {
    if (e instanceof DeliveryError) {
      if (e.code === "QUOTA_NEVER") throw smtpError(552, "5.2.2", `Mailbox full: ${e.message}`);
      if (e.code === "OVERQUOTA") throw smtpError(452, "4.2.2", `Mailbox full: ${e.message}`);
      if (e.code === "TOOBIG") throw smtpError(552, "5.3.4", e.message);
      if (e.code === "NOUSER") throw smtpError(450, "4.1.1", "Recipient vanished; try again");
    }
    if (e instanceof StoreError && e.code === "OVERQUOTA") throw smtpError(452, "4.2.2", "Mailbox full");
    throw e;
  };

  /** one LocalDelivery per distinct account, with its trace headers */
  const localDeliveries = (
    session: SMTPServerSession,
    rcpts: RcptInfo[],
    id: string,
    authed: boolean,
    extra: string,
    mailbox: string | undefined,
  ): LocalDelivery[] => {
    const seen = new Set<number>();
    const out: LocalDelivery[] = [];
    const now = new Date();
    for (const r of rcpts) {
      for (const acc of r.accounts) {
        if (seen.has(acc.id)) continue;
        seen.add(acc.id);
        const received = receivedHeader({
          helo: session.hostNameAppearsAs || "",
          clientHostname: session.clientHostname || null,
          remoteAddress: session.remoteAddress,
          hostname,
          protocol: protocolOf(session, authed),
          id,
          recipient: r.address,
          date: now,
          tls: tlsNote(session),
        });
        const headers = deliveredToHeader(acc.address) + extra + received;
        out.push({
          account: acc,
          deliveryHeaders: Buffer.from(headers, "utf8"),
          ...(mailbox ? { mailbox } : {}),
        });
      }
    }
    return out;
  };

  /** RFC 8601 §5: rename Authentication-Results fields that claim our authserv-id (data.ts). */
  const sanitize = (session: SMTPServerSession, id: string, raw: Buffer): Buffer => {
    const r = renameOwnAuthResults(raw, hostname);
    if (r.renamed > 0)
      logger.info(
        { session: session.id, id, fields: r.renamed },
        "smtp renamed Authentication-Results claiming our authserv-id",
      );
    return r.data;
  };

  async function acceptInbound(session: SMTPServerSession, raw: Buffer): Promise<string> {
    const t = state(session);
    const id = newId();
    let verdict: AuthnVerdict | null = null;
    if (o.authn.enabled) {
      const mf = session.envelope.mailFrom;
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
      logger.info(
        {
          session: session.id,
          id,
          spf: verdict.spf,
          dkim: verdict.dkim,
          dmarc: verdict.dmarc,
          policy: verdict.dmarcPolicy,
          action: verdict.action,
        },
        "smtp sender authentication",
      );
      if (verdict.action === "reject")
        throw smtpError(550, "5.7.1", "Message rejected by the sender domain's DMARC policy");
    }
    // after DKIM/ARC saw the bytes as signed: neutralise forged claims of our authserv-id
    const clean = sanitize(session, id, raw);
    const mailbox = verdict?.action === "junk" ? "Junk" : undefined;
    const deliveries = localDeliveries(session, t.rcpts, id, false, verdict?.headers ?? "", mailbox);
    await deliverAll(store, clean, deliveries, autoReply(session, id)).catch(deliveryError);
    const dsn = session.envelope.dsn;
    logger.info(
      {
        session: session.id,
        id,
        from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
        to: deliveries.map((d) => d.account.address),
        size: raw.byteLength,
        ...(dsn && (dsn.ret || dsn.envid) ? { dsn } : {}),
        ...(requiresTls(session) ? { requireTls: true } : {}),
      },
      "smtp delivered",
    );
    return `2.0.0 OK id=${id} delivered`;
  }

  async function acceptSubmission(session: SMTPServerSession, received: Buffer): Promise<string> {
    const t = state(session);
    const id = newId();
    // a local user must not be able to forge our verdict for other local users either
    let raw = sanitize(session, id, received);
    const user = sessionUser(session);
    if (!user) throw smtpError(530, "5.7.0", "Authentication required");
    // RFC 5322 §3.6 / RFC 6409 §8 / DMARC hygiene: one From, at most one Sender, and every
    // address in them one the user may send as (submission-policy.ts)
    const senders = checkOriginatorFields({ raw: raw, allowed: await sendAs(user), user: user.address });
    if (senders.rejection) {
      const r = senders.rejection;
      throw smtpError(r.code, r.enhanced, r.text, {
        id,
        headerFrom: senders.from,
        ...(senders.sender ? { headerSender: senders.sender } : {}),
      });
    }
    // RFC 6409 §8.2 / §8.3: add a missing Date / Message-ID before any copy is stored or queued,
    // so that local copies, the Sent copy and the DKIM-signed outbound copy carry the same fields
    const fixed = addMissingFields({
      raw,
      idDomain: messageIdDomain(hostname, senders.from, user.address),
    });
    raw = fixed.data;
    if (fixed.added.length > 0)
      logger.info(
        { session: session.id, id, user: user.address, added: fixed.added },
        "smtp submission fix-up",
      );
    const local = t.rcpts.filter((r) => r.accounts.length > 0);
    const remote = t.rcpts.filter((r) => r.accounts.length === 0);
    // queue size limits, checked before anything is counted or stored. RFC 3463 4.3.1 "mail system
    // full" with 452 (RFC 5321 §4.2.2 insufficient system storage). Not atomic with the enqueue:
    // concurrent submissions may overshoot by at most their number.
    const maxQ = limits.maxQueued ?? 0;
    const maxQU = limits.maxQueuedPerUser ?? 0;
    if (remote.length > 0 && (maxQ > 0 || maxQU > 0)) {
      const q = await store.countOutbound(user.accountId);
      if ((maxQ > 0 && q.total >= maxQ) || (maxQU > 0 && q.account >= maxQU)) {
        logger.warn(
          { session: session.id, user: user.address, queued: q.total, byUser: q.account },
          "smtp outbound queue limit reached",
        );
        throw smtpError(452, "4.3.1", "Outbound queue full; try again later");
      }
    }
    // per-user and per-domain sending limits (sliding hour), counted per accepted message;
    // RFC 3463 4.7.0 with a temporary reply so that the client retries later
    const ok = await store.recordSending(user.accountId, t.rcpts.length, {
      messagesPerHour: limits.messagesPerHour,
      recipientsPerHour: limits.recipientsPerHour,
      domainMessagesPerHour: limits.domainMessagesPerHour ?? 0,
      domainRecipientsPerHour: limits.domainRecipientsPerHour ?? 0,
    });
    if (!ok) throw smtpError(451, "4.7.0", "Sending limit exceeded; try again later");
    const deliveries = localDeliveries(session, local, id, true, "", undefined);
    const delivered = await deliverAll(store, raw, deliveries, autoReply(session, id)).catch(deliveryError);
    if (remote.length > 0) {
      const received = receivedHeader({
        helo: session.hostNameAppearsAs || "",
        clientHostname: session.clientHostname || null,
        remoteAddress: session.remoteAddress,
        hostname,
        protocol: protocolOf(session, true),
        id,
        recipient: remote.length === 1 ? remote[0]!.address : null,
        date: new Date(),
        tls: tlsNote(session),
      });
      const dsn = session.envelope.dsn;
      const mf = session.envelope.mailFrom;
      // RFC 8689 §4.1: REQUIRETLS travels with the message to every later hop
      const requireTls = requiresTls(session);
      try {
        await store.enqueueOutbound({
          accountId: user.accountId,
          mailFrom: mf ? mf.address : "",
          recipients: remote.map((r) => (requireTls ? { ...r.dsn, requireTls: true } : r.dsn)),
          envid: dsn?.envid ?? null,
          ret: dsn?.ret === "FULL" || dsn?.ret === "HDRS" ? dsn.ret : null,
          message: Buffer.concat([Buffer.from(received, "utf8"), raw]),
        });
      } catch (e) {
        // all or nothing: take back the local copies
        for (const r of delivered) await store.expunge(r.mailboxId, [r.uid]).catch(() => {});
        throw e;
      }
    }
    const account = await store.getAccountById(user.accountId);
    if (account?.settings.saveSentCopy) {
      try {
        const sent = (await store.listMailboxes(account.id)).find((m) => m.specialUse === "\\Sent");
        if (sent) await store.append(account.id, sent.id, { raw, flags: ["\\Seen"] });
      } catch (e) {
        // the message is accepted; a missing Sent copy (e.g. over quota) is only logged
        logger.warn({ session: session.id, id, err: String(e) }, "smtp could not save the Sent copy");
      }
    }
    logger.info(
      {
        session: session.id,
        id,
        user: user.address,
        local: deliveries.length,
        remote: remote.length,
        size: raw.byteLength,
      },
      "smtp submission accepted",
    );
    return `2.0.0 OK id=${id}`;
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
