/**
 * Outbound delivery: the persistent queue's runner, MX delivery, retries, bounces.
 *
 * Implementation notes
 * - Queue (store): one outbound_queue row per accepted message with per-recipient state in its
 *   recipients JSON (pending → delivered | deferred | failed, attempts, last reply, remote MTA).
 *   Rows survive restarts and kill -9 (SQLite WAL, the row is committed before submission's 250).
 *   A row is deleted when no recipient is pending or deferred any more.
 * - Exactly-once claiming: a runner claims due rows by writing its owner id and a lease end in one
 *   write transaction (BEGIN IMMEDIATE; FOR UPDATE SKIP LOCKED on PostgreSQL), and records the
 *   attempt only while it still holds the lease. A runner that died loses its rows when the lease
 *   ends, or at once when the next runner on the same host sees its pid is gone. A message whose
 *   250 arrived in the instant of a kill may be sent twice; no message is lost.
 * - The runner runs in the server's primary process (single-process mode: that process).
 * - Delivery (client.ts, RFC 5321 §5.1): MX by preference, implicit MX, null MX (RFC 7505), IPv4
 *   then IPv6 addresses, IDNA A-labels (RFC 5890). One connection per destination domain carries
 *   all of its recipients; one transaction per distinct set of DSN parameters. Opportunistic
 *   STARTTLS (RFC 3207, RFC 7435) without certificate checks. SMTPUTF8 (RFC 6531) and 8BITMIME
 *   (RFC 6152) are required when the message needs them; we never downgrade: 5.6.7 / 5.6.3.
 *   DSN parameters RET/ENVID/NOTIFY/ORCPT are passed on when the peer offers DSN (RFC 3461 §5.2).
 * - Retries: 4xx replies and connection failures → deferred, next attempt after
 *   retry_base·2^attempts (capped at retry_max); after `lifetime` the recipient fails with 4.4.7.
 * - Bounces (bounce.ts, RFC 3464): one DSN per attempt listing the recipients that failed in it,
 *   delivered into the sender's mailbox when the sender is local, else queued with the null
 *   sender to the sender's address; none for a null sender (RFC 5321 §4.5.5) or NOTIFY=NEVER.
 * - DKIM (../dkim): each attempt signs with the From domain's ed25519 and rsa-sha256 keys.
 * - MTA-STS (mta-sts.ts, RFC 8461): policies fetched over HTTPS, cached in memory for max_age;
 *   mode enforce restricts the MX hosts to the policy's and requires STARTTLS with a certificate
 *   valid for the MX name (else deferred, 4.7.5); testing only logs.
 * - Delay DSNs: one per recipient still deferred after outbound.delay_warning (Action: delayed).
 * - REQUIRETLS (RFC 8689): the flag travels per recipient in the entry; delivery then requires
 *   STARTTLS with a certificate valid for the MX name (system CAs + outbound.tls_ca) and the
 *   REQUIRETLS EHLO keyword, sends MAIL FROM … REQUIRETLS, else tries the next MX and finally
 *   bounces with 5.7.10 (headers only, RFC 8689 §5; a queued bounce carries REQUIRETLS too).
 *   No DNSSEC / MTA-STS requirement on the MX lookup itself; `TLS-Required: No` is not honoured.
 * - Lease renewal: while an entry is being delivered its lease is extended every lease/3, so a
 *   slow delivery is never claimed and resent by another runner; a lost lease stops further domains.
 * - Connection reuse (client.ts ConnectionCache, RFC 5321 §3.3): after a 250 the session stays idle
 *   for outbound.reuse_idle and carries the next message to the same domain (same TLS needs).
 * - Abuse limits live at submission (../server.ts): queue size overall/per user (452 4.3.1) and
 *   per-user and per-domain sliding-hour rate limits (451 4.7.0).
 * - Not done: DANE, success DSNs, MTA-STS policy cache persisted across restarts, batching several
 *   queue entries into one transaction.
 */
export { buildDsn, type DsnInput, type DsnRecipient, wantsNotify } from "./bounce.ts";
export {
  asciiDomainAddress,
  type ClientOptions,
  type DomainAttempt,
  deliverDomain,
  eightBit,
  type RecipientOutcome,
} from "./client.ts";
export { createMtaSts, type MtaSts, type MtaStsPolicy, mxMatches, parsePolicy } from "./mta-sts.ts";
export { lookupMx, type MxHost, type MxResult } from "./mx.ts";
export {
  createResolver,
  type DnsFixture,
  fixtureResolver,
  type MxRecord,
  type OutboundResolver,
} from "./resolver.ts";
export { backoff, createQueueRunner, type QueueRunner, type QueueRunnerOptions } from "./runner.ts";
