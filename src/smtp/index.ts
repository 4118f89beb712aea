/**
 * SMTP: inbound MX, submission (587 STARTTLS) and submissions (465 implicit TLS), on the
 * smtp-server package behind our own policy code (server.ts).
 *
 * Implementation notes
 * - Extensions (EHLO): PIPELINING (RFC 2920), SIZE (RFC 1870), 8BITMIME (RFC 6152), SMTPUTF8
 *   (RFC 6531), ENHANCEDSTATUSCODES (RFC 2034 / RFC 3463 codes), STARTTLS (RFC 3207), DSN
 *   (RFC 3461), AUTH PLAIN LOGIN (RFC 4954, submission only), BURL imap (RFC 4468, submission
 *   only; burl.ts). No CHUNKING/BDAT yet.
 * - One listener socket → one SMTPServer instance per mode (smtp-server's `connect(socket)`);
 *   our net/ listeners own the ports and implicit TLS; STARTTLS uses the TLS provider's current
 *   context (SNICallback and the default context refreshed per connection).
 * - MX never relays: RCPT for a domain we do not host → 550 5.7.1 (RFC 5321 §3.6.2), unknown local
 *   part → 550 5.1.1. Recipients resolve through store aliases and the optional per-domain
 *   catch-all ("@domain"). AUTH is not offered on MX.
 * - Submission requires AUTH (530 5.7.0), AUTH only over TLS unless smtp.allow_plaintext_auth
 *   (538 5.7.11; there is no loopback exception on SMTP). MAIL FROM, every From: mailbox and the
 *   Sender must be the user's address or one of its aliases (550 5.7.1); one From, at most one
 *   Sender, and missing Date / Message-ID added (submission-policy.ts). Local recipients are
 *   delivered at once, remote ones go into the persistent outbound queue (store.enqueueOutbound;
 *   `postkontor queue list`). Per-user and per-domain (all accounts of the user's domain)
 *   sliding-hour limits on messages and recipients → 451 4.7.0; outbound queue size limits (entries
 *   overall / per user) → 452 4.3.1 before anything is stored or counted.
 * - One submission pipeline (submit.ts submitMessage) for DATA, BURL and JMAP EmailSubmission:
 *   the From/Sender check, fix-ups, limits, local delivery and queueing below run there.
 * - REQUIRETLS (RFC 8689 §4.1): advertised and accepted only on a TLS session (smtp-server); on
 *   submission the flag is stored with the queue entry, on MX (final delivery) it is logged.
 *   Optional per-account copy into Sent (`user set --save-sent on`).
 * - Bare CR / bare LF (SMTP smuggling): smtp-server ends DATA only at <CRLF>.<CRLF>. We REFUSE any
 *   message that still contains a CR not followed by LF or an LF not preceded by CR with
 *   550 5.6.0 (RFC 5321 §2.3.8) instead of normalising it: a smuggling probe such as
 *   "<LF>.<CRLF>MAIL FROM…" is then stored nowhere, and honest clients send CRLF anyway.
 * - Quota: at RCPT with the declared SIZE (452 4.2.2 mailbox full, 552 5.2.2 when the message can
 *   never fit) and again at end of DATA for every recipient before anything is stored
 *   (deliver.ts: all-or-nothing, copies are taken back if a late append fails).
 * - Local delivery (deliver.ts, shared with `postkontor deliver`): one transaction per recipient
 *   account, one blob; Delivered-To, Authentication-Results / Received-SPF (MX) and Received are
 *   per-recipient deliveryHeaders beside the blob. 250 is sent only after every append committed.
 * - Inbound sender authentication (authn.ts, mailauth): DMARC p=reject fail → 550 5.7.1,
 *   p=quarantine fail → Junk. The resolver is injectable (tests use fixtures).
 * - Changes to the message bytes: (1) on submission, a missing Date / Message-ID is inserted at
 *   the end of the header section (RFC 6409 §8.2, §8.3); (2) RFC 8601 §5: header fields
 *   "Authentication-Results" whose authserv-id is our hostname (case-insensitive, trailing dot
 *   ignored) are renamed to "X-Original-Authentication-Results" before the blob is written — on
 *   MX after DKIM/ARC have verified the bytes as received, and on submission too (a user must not
 *   forge our verdict for another local user). Every other byte is stored as received.
 *   Fields of other authserv-ids and ARC-Authentication-Results are untouched.
 * - Connections: at most smtp.limits.max_connections_per_ip concurrent connections per remote IP
 *   over all three listeners and all worker processes (options.slots); one more gets
 *   "421 <host> Too many connections" as its greeting and is closed (RFC 5321 §3.1; no enhanced
 *   code before EHLO, RFC 2034 §3).
 * - DSN parameters (RET, ENVID, NOTIFY, ORCPT) are stored with queue entries; for local delivery
 *   they are logged only (no success DSNs are generated yet).
 * - Our replies carry their own enhanced status code; server.ts stops smtp-server from prefixing
 *   a generic one in front of it.
 * - Every refusal our policy code sends is logged once ("smtp rejected": session, remoteAddress,
 *   user, mode, command, code, reason; x.7.x at warn, the rest at info).
 */
export type { AuthnVerdict, DNSResolver } from "./authn.ts";
export { checkSender } from "./authn.ts";
export {
  authservId,
  deliveredToHeader,
  findBareLineEnding,
  receivedHeader,
  renameOwnAuthResults,
  rfc5322Date,
} from "./data.ts";
export { DeliveryError, deliverAll, deliverLocal, type LocalDelivery, quotaVerdict } from "./deliver.ts";
export {
  createSmtpServer,
  type SmtpLimits,
  type SmtpLogger,
  type SmtpMode,
  type SmtpServer,
  type SmtpServerOptions,
  smtpError,
  splitAddress,
} from "./server.ts";
