/**
 * SQL fragments of the JMAP mailbox reads (db/port-mailboxes.ts MessageReads: emailIdsByDate,
 * emailIndexByDate, jmapTotals, jmapCounts), the same text for the SQLite and PostgreSQL adapters: they name
 * no parameters, so each adapter puts them into its own statements. `m` is the message row asked
 * about. flag_bits: 1 = \Seen, 8 = \Deleted, 16 = \Draft (store/flags.ts).
 */
import type { JmapCountsRow } from "./port-mailboxes.ts";

/** the mailbox's rows visible to JMAP: without \Deleted (RFC 8621 §4.1.1) */
export const VISIBLE = "(m.flag_bits & 8) = 0";

/**
 * the order of a page: receivedAt (internal date), ties by email id ascending (byte order); the
 * copies of one Email in one mailbox share both, so SELECT DISTINCT of the two names it once
 */
export function dateOrder(asc: boolean): string {
  return asc ? "m.internal_date, m.email_id" : "m.internal_date DESC, m.email_id";
}

/**
 * "DISTINCT " when the mailbox holds two copies of one Email (its row [n_dup_emails] from the
 * mailbox table): a page then names each Email once; without, the plain scan keeps the index order
 */
export function distinct(row: unknown[] | undefined): string {
  return row && Number(row[0]) > 0 ? "DISTINCT " : "";
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
  `SELECT n_messages - n_deleted - n_dup_emails, n_threads FROM mailbox WHERE id = ${p}`;

/** the account's live mailboxes (a deleted one being purged is renamed `*deleting*…`) */
const LIVE_MAILBOXES = (p: string) =>
  `SELECT b.id FROM mailbox b WHERE b.account_id = ${p} AND substr(b.name, 1, 1) <> '*'`;

/** every live mailbox's visible Emails and Threads: rows [mailbox id, emails, threads] */
export const ACCOUNT_TOTALS_SQL = (p: string) =>
  `SELECT id, n_messages - n_deleted - n_dup_emails, n_threads FROM mailbox
   WHERE account_id = ${p} AND substr(name, 1, 1) <> '*'`;

/**
 * The account's unread Emails and Threads per mailbox, rows [mailbox id, 0 = Emails | 1 = Threads,
 * count]; the account id is the parameters `p1` and `p2`. Driven by the account's unread rows,
 * computed once (the partial index message_unread; `hint` lets SQLite be told to use it):
 * O(unread messages), not O(mailbox).
 */
export function unreadSql(p1: string, p2: string, hint = ""): string {
  return `WITH un AS MATERIALIZED (SELECT u.mailbox_id, u.email_id, u.thread_id FROM message u ${hint}
      WHERE u.mailbox_id IN (${LIVE_MAILBOXES(p1)}) AND (u.flag_bits & 25) = 0 AND ${NOT_READ_ELSEWHERE})
    SELECT un.mailbox_id, 0, COUNT(DISTINCT un.email_id) FROM un GROUP BY un.mailbox_id
    UNION ALL
    SELECT m.mailbox_id, 1, COUNT(DISTINCT m.thread_id) FROM message m
      WHERE m.account_id = ${p2} AND ${VISIBLE} AND m.thread_id IN (SELECT un.thread_id FROM un)
      GROUP BY m.mailbox_id`;
}

/**
 * the two statements' rows → one JmapCountsRow per mailbox (either adapter's raw rows). RFC 8621
 * §2 unreadThreads: a thread with a visible row in the mailbox and an unread Email anywhere in
 * the account (not necessarily there) — the second half of unreadSql.
 */
export function countRows(totals: unknown[][], unread: unknown[][]): JmapCountsRow[] {
  const ue = new Map<number, number>();
  const ut = new Map<number, number>();
  for (const r of unread) (Number(r[1]) === 0 ? ue : ut).set(Number(r[0]), Number(r[2]));
  return totals.map((r) => {
    const id = Number(r[0]);
    return {
      mailboxId: id,
      emails: Number(r[1]),
      threads: Number(r[2]),
      unreadEmails: ue.get(id) ?? 0,
      unreadThreads: ut.get(id) ?? 0,
    };
  });
}
