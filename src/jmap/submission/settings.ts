/**
 * What EmailSubmission needs from the SMTP configuration (the same values the SMTP submission
 * listeners run with, src/server/services.ts), and the EHLO keywords it announces.
 */
import type { Config } from "../../config/index.ts";
import type { JmapSubmission } from "../core/types.ts";

/**
 * RFC 8621 §1.3.2 submissionExtensions: the submission server's EHLO keywords that bear on the
 * envelope (smtp/server.ts announces them), with their arguments; EmailSubmission accepts the
 * matching parameters (email-submission.ts envelopeArg).
 */
export function submissionExtensions(maxMessageSize: number): Record<string, string[]> {
  return {
    SIZE: [String(maxMessageSize)], // RFC 1870
    "8BITMIME": [], // RFC 6152
    SMTPUTF8: [], // RFC 6531
    DSN: [], // RFC 3461
  };
}

/** the JMAP app's `submission` dependency from the server config */
export function submissionSettings(c: Pick<Config, "hostname" | "smtp" | "store">): JmapSubmission {
  const l = c.smtp.limits;
  return {
    hostname: c.hostname,
    limits: {
      maxMessageSize: c.store.max_message_size,
      maxRecipients: l.max_recipients,
      messagesPerHour: l.messages_per_hour,
      recipientsPerHour: l.recipients_per_hour,
      domainMessagesPerHour: l.domain_messages_per_hour,
      domainRecipientsPerHour: l.domain_recipients_per_hour,
      maxQueued: l.max_queued,
      maxQueuedPerUser: l.max_queued_per_user,
    },
    ehloKeywords: submissionExtensions(c.store.max_message_size),
    vacationReplyIntervalMs: c.smtp.vacation_reply_interval,
  };
}
