/**
 * SQL fragments of the JMAP mailbox reads (db/port-mailboxes.ts MessageReads: emailIdsByDate,
 * emailIndexByDate, jmapTotals, jmapUnread), the same text for the SQLite and PostgreSQL adapters: they name
 * no parameters, so each adapter puts them into its own statements. `m` is the message row asked
 * about. flag_bits: 1 = \Seen, 8 = \Deleted, 16 = \Draft (store/flags.ts).
 */

/** the mailbox's rows visible to JMAP: without \Deleted (RFC 8621 §4.1.1) */
export const VISIBLE = "(m.flag_bits & 8) = 0";

/**
 * the order of a page: receivedAt (internal date), ties by email id ascending (byte order); the
 * copies of one Email in one mailbox share both, so SELECT DISTINCT of the two names it once
 */
export function dateOrder(asc: boolean): string {
  return asc ? "m.internal_date, m.email_id" : "m.internal_date DESC, m.email_id";
}

/** rows of the mailbox that come before `m` in dateOrder (for the collapse below) */
function before(o: string, asc: boolean): string {
  return `(${o}.internal_date ${asc ? "<" : ">"} m.internal_date OR (${o}.internal_date = m.internal_date AND ${o}.email_id < m.email_id))`;
}

/**
 * collapseThreads (RFC 8621 §4.4): `m` is its thread's first visible row of the mailbox in
 * dateOrder — no other one comes before it (index message_mailbox_thread, migration 23)
 */
export function collapseCond(asc: boolean): string {
  return ` AND NOT EXISTS (SELECT 1 FROM message o WHERE o.mailbox_id = m.mailbox_id AND o.thread_id = m.thread_id
           AND (o.flag_bits & 8) = 0 AND ${before("o", asc)})`;
}

/**
 * rows that come before the row (date, email id) given as the two parameters `d`, `d`, `e`
 * (the adapter supplies the placeholders), in dateOrder
 */
export function beforeRow(asc: boolean, d1: string, d2: string, e: string): string {
  return `(m.internal_date ${asc ? "<" : ">"} ${d1} OR (m.internal_date = ${d2} AND m.email_id < ${e}))`;
}

/**
 * An Email is unread when no visible copy of it anywhere in the account has \Seen or \Draft
 * (RFC 8621 §2 counts; an Email's keywords are the union over its visible copies). `u` is a row
 * with neither (the partial index message_unread); this says no other copy has one.
 */
const NOT_READ_ELSEWHERE = `NOT EXISTS (SELECT 1 FROM message o WHERE o.account_id = u.account_id
  AND o.email_id = u.email_id AND (o.flag_bits & 8) = 0 AND (o.flag_bits & 17) <> 0)`;

/** the mailbox's visible Emails and Threads: [emails, threads] from migration 23's counters */
export const TOTALS_SQL = (p: string) =>
  `SELECT n_messages - n_deleted - n_dup_emails, n_threads, n_dup_emails FROM mailbox WHERE id = ${p}`;

/** the mailbox's unread Emails and Threads (the mailbox id is the one parameter `p` in each) */
export function unreadSql(p: string): { unreadEmails: string; unreadThreads: string } {
  return {
    unreadEmails: `SELECT COUNT(DISTINCT u.email_id) FROM message u
      WHERE u.mailbox_id = ${p} AND (u.flag_bits & 25) = 0 AND ${NOT_READ_ELSEWHERE}`,
    // RFC 8621 §2 unreadThreads: a thread with a visible row here and an unread Email anywhere
    // in the account (not necessarily here): the account's unread rows, over every mailbox
    unreadThreads: `SELECT COUNT(DISTINCT m.thread_id) FROM message m WHERE m.mailbox_id = ${p} AND ${VISIBLE}
      AND m.thread_id IN (SELECT u.thread_id FROM message u WHERE u.mailbox_id IN
        (SELECT b.id FROM mailbox b WHERE b.account_id = (SELECT a.account_id FROM mailbox a WHERE a.id = ${p})
          AND substr(b.name, 1, 1) <> '*')
        AND (u.flag_bits & 25) = 0 AND ${NOT_READ_ELSEWHERE})`,
  };
}
