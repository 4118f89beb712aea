/**
 * The one submission pipeline: a complete message from an authenticated user, with its envelope,
 * becomes local deliveries and an outbound queue entry. Used by SMTP DATA and BURL (server.ts)
 * and by JMAP EmailSubmission/set (src/jmap/submission/), so that every path runs the same
 * checks in the same order:
 *
 *   bare CR/LF refused → own Authentication-Results renamed → From/Sender owned by the user →
 *   missing Date / Message-ID added → queue size limits → sending limits → local delivery
 *   (Received + Delivered-To per recipient) → outbound queue (Received prefixed) → Sent copy
 *   (only when asked: SMTP with the account's save-sent setting).
 *
 * Refusals are thrown as smtpError (reply code + RFC 3463 enhanced code), which SMTP sends as is
 * and JMAP maps to RFC 8621 §7.5 SetErrors.
 */
import { randomBytes } from "node:crypto";
import { domainToASCII } from "node:url";
import type { Account, Id, QueueRecipient, Store } from "../store/types.ts";
import { StoreError } from "../store/types.ts";
import { deliveredToHeader, findBareLineEnding, receivedHeader, renameOwnAuthResults } from "./data.ts";
import { DeliveryError, deliverAll, type LocalDelivery } from "./deliver.ts";
import {
  addMissingFields,
  addressStringKey,
  checkOriginatorFields,
  messageIdDomain,
} from "./submission-policy.ts";
import type { AutoReplyContext } from "./vacation.ts";

export type SmtpError = Error & { responseCode: number; log?: Record<string, unknown> };

/** An error smtp-server turns into a reply: `code enhanced text`; `log` adds fields to the rejection log line. */
export function smtpError(
  code: number,
  enhanced: string,
  text: string,
  log?: Record<string, unknown>,
): SmtpError {
  const e = new Error(`${enhanced} ${text}`) as SmtpError;
  e.responseCode = code;
  if (log) e.log = log;
  return e;
}

/** "Local@Exämple.org" → { local: "Local", domain: "xn--exmple-cua.org" } (RFC 5890 A-label). */
export function splitAddress(address: string): { local: string; domain: string } | null {
  const at = address.lastIndexOf("@");
  if (at <= 0 || at === address.length - 1) return null;
  const domain = domainToASCII(address.slice(at + 1).toLowerCase());
  if (!domain) return null;
  return { local: address.slice(0, at), domain };
}

/** RFC 6409 §6.1 / §8: the addresses the user may send as — the account's own and its aliases */
export async function sendAsKeys(store: Store, accountId: Id): Promise<Set<string>> {
  const keys = new Set<string>();
  for (const a of await store.addressesOf(accountId)) {
    const k = addressStringKey(a);
    if (k) keys.add(k);
  }
  return keys;
}

/** Where a recipient goes: a hosted address (its accounts), a remote one, or nowhere. */
export type RecipientClass =
  | { kind: "syntax" }
  | { kind: "remote" }
  | { kind: "unknown" }
  | { kind: "local"; accounts: Account[] };

export async function classifyRecipient(store: Store, address: string): Promise<RecipientClass> {
  const split = splitAddress(address);
  if (!split) return { kind: "syntax" };
  const hosted = await store.getDomain(split.domain).catch(() => null);
  if (!hosted) return { kind: "remote" };
  const accounts = await store.resolveRecipient(`${split.local}@${split.domain}`);
  return accounts.length === 0 ? { kind: "unknown" } : { kind: "local", accounts };
}

export interface SubmitRecipient {
  address: string;
  /** local accounts it resolves to; empty for a remote recipient */
  accounts: Account[];
  dsn: QueueRecipient;
}

export interface SubmitLimits {
  /** per authenticated user, sliding hour; 0 = unlimited */
  messagesPerHour: number;
  recipientsPerHour: number;
  domainMessagesPerHour?: number;
  domainRecipientsPerHour?: number;
  /** outbound queue entries overall / per user; absent/0 = unlimited */
  maxQueued?: number;
  maxQueuedPerUser?: number;
}

export interface SubmitLogger {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
}

export interface SubmitDeps {
  store: Store;
  logger: SubmitLogger;
  /** our host name: Received "by", the authserv-id, the Message-ID fallback domain */
  hostname: string;
  limits: SubmitLimits;
}

/** How the message reached us, for the Received fields (RFC 5321 §4.4) */
export interface SubmitTrace {
  /** session id for the logs */
  session: string;
  helo: string;
  clientHostname: string | null;
  remoteAddress: string;
  /** RFC 3848 "with" keyword (ESMTPSA, HTTP …) */
  protocol: string;
  tls: string | null;
}

export interface SubmitInput {
  user: { accountId: Id; address: string };
  /** MAIL FROM (already checked against sendAsKeys by the caller's envelope rules) */
  mailFrom: string;
  rcpts: SubmitRecipient[];
  raw: Buffer;
  trace: SubmitTrace;
  dsn?: { envid?: string | null; ret?: string | null } | null;
  /** RFC 8689 §4.1: REQUIRETLS travels with the message to every later hop */
  requireTls?: boolean;
  /** copy into Sent when the account's save-sent setting is on (SMTP; JMAP clients move their own) */
  saveSentCopy: boolean;
  /** the vacation responder's context for local recipients (vacation.ts), given the message id */
  autoReply?: (id: string) => AutoReplyContext;
}

export interface SubmitResult {
  id: string;
  /** the message as stored and queued (after the fix-ups) */
  raw: Buffer;
  localAccounts: Account[];
  remote: string[];
  queueId: Id | null;
}

export function newSubmissionId(): string {
  return randomBytes(9).toString("base64url");
}

/** The delivery-time translation of store refusals to SMTP replies (MX uses it too). */
export function deliveryRefusal(e: unknown): never {
  if (e instanceof DeliveryError) {
    if (e.code === "QUOTA_NEVER") throw smtpError(552, "5.2.2", `Mailbox full: ${e.message}`);
    if (e.code === "OVERQUOTA") throw smtpError(452, "4.2.2", `Mailbox full: ${e.message}`);
    if (e.code === "TOOBIG") throw smtpError(552, "5.3.4", e.message);
    if (e.code === "NOUSER") throw smtpError(450, "4.1.1", "Recipient vanished; try again");
  }
  if (e instanceof StoreError && e.code === "OVERQUOTA") throw smtpError(452, "4.2.2", "Mailbox full");
  throw e;
}

/** one LocalDelivery per distinct account, with its trace headers */
export function localDeliveries(
  hostname: string,
  trace: SubmitTrace,
  rcpts: SubmitRecipient[],
  id: string,
  extra: string,
  mailbox: string | undefined,
): LocalDelivery[] {
  const seen = new Set<number>();
  const out: LocalDelivery[] = [];
  const now = new Date();
  for (const r of rcpts) {
    for (const acc of r.accounts) {
      if (seen.has(acc.id)) continue;
      seen.add(acc.id);
      const received = receivedHeader({
        helo: trace.helo,
        clientHostname: trace.clientHostname,
        remoteAddress: trace.remoteAddress,
        hostname,
        protocol: trace.protocol,
        id,
        recipient: r.address,
        date: now,
        tls: trace.tls,
      });
      out.push({
        account: acc,
        deliveryHeaders: Buffer.from(deliveredToHeader(acc.address) + extra + received, "utf8"),
        ...(mailbox ? { mailbox } : {}),
      });
    }
  }
  return out;
}

/** RFC 8601 §5: rename Authentication-Results fields that claim our authserv-id (data.ts). */
export function sanitizeAuthResults(d: SubmitDeps, session: string, id: string, raw: Buffer): Buffer {
  const r = renameOwnAuthResults(raw, d.hostname);
  if (r.renamed > 0)
    d.logger.info(
      { session, id, fields: r.renamed },
      "smtp renamed Authentication-Results claiming our authserv-id",
    );
  return r.data;
}

export async function submitMessage(d: SubmitDeps, i: SubmitInput): Promise<SubmitResult> {
  const { store, limits, logger } = d;
  const { user, trace } = i;
  // RFC 5321 §2.3.8 / §4.1.1.4: refuse bare CR / bare LF (SMTP smuggling), see index.ts
  const bare = findBareLineEnding(i.raw);
  if (bare >= 0)
    throw smtpError(550, "5.6.0", "Message contains a bare CR or LF; lines must end in CRLF", {
      offset: bare,
    });
  const id = newSubmissionId();
  // a local user must not be able to forge our verdict for other local users either
  let raw = sanitizeAuthResults(d, trace.session, id, i.raw);
  // RFC 5322 §3.6 / RFC 6409 §8 / DMARC hygiene: one From, at most one Sender, and every
  // address in them one the user may send as (submission-policy.ts)
  const senders = checkOriginatorFields({
    raw,
    allowed: await sendAsKeys(store, user.accountId),
    user: user.address,
  });
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
  const fixed = addMissingFields({ raw, idDomain: messageIdDomain(d.hostname, senders.from, user.address) });
  raw = fixed.data;
  if (fixed.added.length > 0)
    logger.info(
      { session: trace.session, id, user: user.address, added: fixed.added },
      "smtp submission fix-up",
    );
  const local = i.rcpts.filter((r) => r.accounts.length > 0);
  const remote = i.rcpts.filter((r) => r.accounts.length === 0);
  // queue size limits, checked before anything is counted or stored. RFC 3463 4.3.1 "mail system
  // full" with 452 (RFC 5321 §4.2.2 insufficient system storage). Not atomic with the enqueue:
  // concurrent submissions may overshoot by at most their number.
  const maxQ = limits.maxQueued ?? 0;
  const maxQU = limits.maxQueuedPerUser ?? 0;
  if (remote.length > 0 && (maxQ > 0 || maxQU > 0)) {
    const q = await store.countOutbound(user.accountId);
    if ((maxQ > 0 && q.total >= maxQ) || (maxQU > 0 && q.account >= maxQU)) {
      logger.warn(
        { session: trace.session, user: user.address, queued: q.total, byUser: q.account },
        "smtp outbound queue limit reached",
      );
      throw smtpError(452, "4.3.1", "Outbound queue full; try again later");
    }
  }
  // per-user and per-domain sending limits (sliding hour), counted per accepted message;
  // RFC 3463 4.7.0 with a temporary reply so that the client retries later
  const ok = await store.recordSending(user.accountId, i.rcpts.length, {
    messagesPerHour: limits.messagesPerHour,
    recipientsPerHour: limits.recipientsPerHour,
    domainMessagesPerHour: limits.domainMessagesPerHour ?? 0,
    domainRecipientsPerHour: limits.domainRecipientsPerHour ?? 0,
  });
  if (!ok) throw smtpError(451, "4.7.0", "Sending limit exceeded; try again later");
  const deliveries = localDeliveries(d.hostname, trace, local, id, "", undefined);
  const delivered = await deliverAll(store, raw, deliveries, i.autoReply?.(id)).catch(deliveryRefusal);
  let queueId: Id | null = null;
  if (remote.length > 0) {
    const received = receivedHeader({
      helo: trace.helo,
      clientHostname: trace.clientHostname,
      remoteAddress: trace.remoteAddress,
      hostname: d.hostname,
      protocol: trace.protocol,
      id,
      recipient: remote.length === 1 ? remote[0]!.address : null,
      date: new Date(),
      tls: trace.tls,
    });
    const ret = i.dsn?.ret;
    try {
      const entry = await store.enqueueOutbound({
        accountId: user.accountId,
        mailFrom: i.mailFrom,
        recipients: remote.map((r) => (i.requireTls ? { ...r.dsn, requireTls: true } : r.dsn)),
        envid: i.dsn?.envid ?? null,
        ret: ret === "FULL" || ret === "HDRS" ? ret : null,
        message: Buffer.concat([Buffer.from(received, "utf8"), raw]),
      });
      queueId = entry.id;
    } catch (e) {
      // all or nothing: take back the local copies
      for (const r of delivered) await store.expunge(r.mailboxId, [r.uid]).catch(() => {});
      throw e;
    }
  }
  if (i.saveSentCopy) {
    const account = await store.getAccountById(user.accountId);
    if (account?.settings.saveSentCopy) {
      try {
        const sent = (await store.listMailboxes(account.id)).find((m) => m.specialUse === "\\Sent");
        if (sent) await store.append(account.id, sent.id, { raw, flags: ["\\Seen"] });
      } catch (e) {
        // the message is accepted; a missing Sent copy (e.g. over quota) is only logged
        logger.warn({ session: trace.session, id, err: String(e) }, "smtp could not save the Sent copy");
      }
    }
  }
  logger.info(
    {
      session: trace.session,
      id,
      user: user.address,
      local: deliveries.length,
      remote: remote.length,
      size: raw.byteLength,
    },
    "smtp submission accepted",
  );
  return {
    id,
    raw,
    localAccounts: deliveries.map((x) => x.account),
    remote: remote.map((r) => r.address),
    queueId,
  };
}
