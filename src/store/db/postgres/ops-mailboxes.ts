/**
 * The db port's mailbox, subscription, message-read and change-log-read operations on PostgreSQL
 * (db/port-mailboxes.ts says what each promises; db/sqlite/ops-mailboxes.ts is the SQLite twin).
 * Modseqs are read exactly (int8 as text → bigint).
 */
import type { MessageStates } from "../../api/model.ts";
import {
  ACCOUNT_TOTALS_SQL,
  beforeRow,
  collapseCond,
  countRows,
  dateOrder,
  distinct,
  TOTALS_SQL,
  unreadSql,
  VISIBLE,
} from "../jmap-sql.ts";
import type {
  AccountMessageRow,
  BlobsParsedWrite,
  BlobsRead,
  ChangesWrite,
  ExpungesRead,
  FlagTextRow,
  MailboxContents,
  MailboxesWrite,
  MailboxRow,
  MessageMetaRow,
  MessageReads,
  Peeker,
  SubscriptionsWrite,
  UsageWrite,
} from "../port-mailboxes.ts";
import { type AccountGuard, big, type Exec, num, quotaRead, strOrNull, unique, writeLater } from "./pg.ts";

/** a deleted mailbox waiting for the background purge is renamed with this prefix (no client name starts with "*") */
const RETIRED_PREFIX = "*deleting*";
const LIVE = "left(name, 1) <> '*'";

const MAILBOX_SELECT = `SELECT m.id, m.account_id, m.name, m.uidvalidity, m.uidnext, m.special_use,
  m.highestmodseq,
  EXISTS (SELECT 1 FROM subscription s WHERE s.account_id = m.account_id AND s.name = m.name) AS sub
  FROM mailbox m`;

function toMailboxRow(r: unknown[]): MailboxRow {
  return {
    id: num(r[0]),
    accountId: num(r[1]),
    name: String(r[2]),
    uidValidity: num(r[3]),
    uidNext: num(r[4]),
    specialUse: strOrNull(r[5]),
    highestModseq: big(r[6]),
    subscribed: r[7] === true,
  };
}

const toFlagRow = (r: unknown[]): FlagTextRow => ({ uid: num(r[0]), flags: String(r[1]), modseq: big(r[2]) });

export interface PgMailOps {
  mailboxes: MailboxesWrite;
  subscriptions: SubscriptionsWrite;
  messageReads: MessageReads;
  expunges: ExpungesRead;
  blobsParsed: BlobsRead & BlobsParsedWrite;
  changes: ChangesWrite;
  usage: UsageWrite;
}

export function pgMailOps(x: Exec, g: AccountGuard): PgMailOps {
  const all = async (text: string, values?: unknown[]) => (await x(text, values)).rows;
  const one = async (text: string, values?: unknown[]) => (await x(text, values)).rows[0];

  const mailboxes: MailboxesWrite = {
    list: async (accountId) => {
      await g.account(accountId);
      return (
        await all(
          `${MAILBOX_SELECT} WHERE m.account_id = $1 AND left(m.name, 1) <> '*' ORDER BY CASE WHEN m.name = 'INBOX' THEN 0 ELSE 1 END, m.name`,
          [accountId],
        )
      ).map(toMailboxRow);
    },
    byName: async (accountId, name) => {
      await g.account(accountId);
      const r = await one(`${MAILBOX_SELECT} WHERE m.account_id = $1 AND m.name = $2`, [accountId, name]);
      return r ? toMailboxRow(r) : null;
    },
    byId: async (id) => {
      await g.mailbox(id);
      const r = await one(`${MAILBOX_SELECT} WHERE m.id = $1 AND left(m.name, 1) <> '*'`, [id]);
      return r ? toMailboxRow(r) : null;
    },
    core: async (id) => {
      await g.mailbox(id);
      // the account's quota row comes along: a write that reads it next (an append) reuses it
      const r = await one(
        `SELECT m.account_id, m.uidvalidity, m.uidnext,
           a.quota_bytes, a.quota_messages, a.used_bytes, a.used_messages
         FROM mailbox m JOIN account a ON a.id = m.account_id WHERE m.id = $1 AND left(m.name, 1) <> '*'`,
        [id],
      );
      if (!r) return null;
      const accountId = num(r[0]);
      quotaRead(x, accountId, {
        quotaBytes: num(r[3]),
        quotaMessages: num(r[4]),
        usedBytes: num(r[5]),
        usedMessages: num(r[6]),
      });
      return { accountId, uidValidity: num(r[1]), uidNext: num(r[2]) };
    },
    syncState: async (id) => {
      await g.mailbox(id);
      const r = await one(
        `SELECT uidnext, highestmodseq, expunge_floor FROM mailbox WHERE id = $1 AND ${LIVE}`,
        [id],
      );
      return r ? { uidNext: num(r[0]), highestModseq: big(r[1]), expungeFloor: big(r[2]) } : null;
    },
    withPrefix: async (accountId, prefix) => {
      await g.account(accountId);
      // left() on COLLATE "C" text: a byte-wise prefix test without LIKE wildcards
      return (
        await all("SELECT id, name FROM mailbox WHERE account_id = $1 AND left(name, $2) = $3", [
          accountId,
          prefix.length,
          prefix,
        ])
      ).map((r) => ({ id: num(r[0]), name: String(r[1]) }));
    },
    counts: async (id) => {
      await g.mailbox(id);
      // kept by the message_counters trigger (migration 12): no scan of the mailbox's rows
      const r = await one(
        `SELECT n_messages, total_size, n_unseen, n_deleted FROM mailbox WHERE id = $1 AND ${LIVE}`,
        [id],
      );
      return r ? { messages: num(r[0]), size: num(r[1]), unseen: num(r[2]), deleted: num(r[3]) } : null;
    },
    firstNewUid: async (id) => {
      await g.mailbox(id);
      const r = await one(`SELECT first_recent_uid FROM mailbox WHERE id = $1 AND ${LIVE}`, [id]);
      return r ? num(r[0]) : null;
    },
    newCount: async (id) => {
      await g.mailbox(id);
      return num(
        (await one(
          `SELECT COUNT(*) FROM message
            WHERE mailbox_id = $1 AND uid >= (SELECT first_recent_uid FROM mailbox WHERE id = $1)`,
          [id],
        ))![0],
      );
    },
    contents: async (id): Promise<MailboxContents> => {
      await g.mailbox(id);
      const sums = (await one("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM message WHERE mailbox_id = $1", [
        id,
      ]))!;
      return {
        messages: num(sums[0]),
        bytes: num(sums[1]),
        blobIds: (await all("SELECT DISTINCT blob_id FROM message WHERE mailbox_id = $1", [id])).map((r) =>
          num(r[0]),
        ),
        prefixIds: (
          await all(
            "SELECT DISTINCT prefix_id FROM message WHERE mailbox_id = $1 AND prefix_id IS NOT NULL",
            [id],
          )
        ).map((r) => num(r[0])),
        emails: (
          await all("SELECT DISTINCT email_id, thread_id FROM message WHERE mailbox_id = $1", [id])
        ).map((r): [string, string] => [String(r[0]), String(r[1])]),
      };
    },
    insert: async (m) => {
      await g.account(m.accountId);
      return unique(async () =>
        num(
          (await one(
            `INSERT INTO mailbox (account_id, name, uidvalidity, uidnext, highestmodseq, special_use, created_at)
             VALUES ($1, $2, $3, 1, $4, $5, $6) RETURNING id`,
            [m.accountId, m.name, m.uidValidity, m.highestModseq, m.specialUse, m.createdAt],
          ))![0],
        ),
      );
    },
    delete: async (id) => {
      await g.mailbox(id);
      await x("DELETE FROM mailbox WHERE id = $1", [id]);
    },
    retired: async (limit) =>
      (await all("SELECT id, account_id FROM mailbox WHERE left(name, 1) = '*' LIMIT $1", [limit])).map(
        (r): [number, number] => [num(r[0]), num(r[1])],
      ),
    retire: async (id) => {
      await g.mailbox(id);
      await x("UPDATE mailbox SET name = $1 WHERE id = $2", [RETIRED_PREFIX + String(id), id]);
      // rights and annotations end with the mailbox (a new one of the same name starts without)
      await x("DELETE FROM acl WHERE mailbox_id = $1", [id]);
      await x("DELETE FROM metadata WHERE mailbox_id = $1", [id]);
    },
    takeMessages: async (id, limit) => {
      await g.mailbox(id);
      const rows = await all(
        "SELECT uid, blob_id, prefix_id, email_id, thread_id, size FROM message WHERE mailbox_id = $1 ORDER BY uid LIMIT $2",
        [id, limit],
      );
      const blobs = new Set<number>();
      const prefixes = new Set<number>();
      const emails = new Map<string, string>();
      let bytes = 0;
      for (const r of rows) {
        blobs.add(num(r[1]));
        if (r[2] !== null) prefixes.add(num(r[2]));
        emails.set(String(r[3]), String(r[4]));
        bytes += num(r[5]);
      }
      if (rows.length > 0) {
        await x("DELETE FROM message WHERE mailbox_id = $1 AND uid <= $2", [
          id,
          num(rows[rows.length - 1]![0]),
        ]);
      }
      return {
        messages: rows.length,
        bytes,
        blobIds: [...blobs],
        prefixIds: [...prefixes],
        emails: [...emails],
      };
    },
    rename: async (id, name, highestModseq) => {
      await g.mailbox(id);
      await unique(() =>
        x("UPDATE mailbox SET name = $1, highestmodseq = $2 WHERE id = $3", [name, highestModseq, id]),
      );
    },
    setFirstNewUid: async (id, uid) => {
      await g.mailbox(id);
      await x("UPDATE mailbox SET first_recent_uid = $1 WHERE id = $2 AND first_recent_uid < $1", [uid, id]);
    },
    touch: async (id, modseq, uidNext) => {
      await g.mailbox(id);
      if (uidNext === undefined)
        await writeLater(x, "mailbox", "UPDATE mailbox SET highestmodseq = $1 WHERE id = $2", [modseq, id]);
      else
        await writeLater(x, "mailbox", "UPDATE mailbox SET highestmodseq = $1, uidnext = $2 WHERE id = $3", [
          modseq,
          uidNext,
          id,
        ]);
    },
    moveAll: async (srcId, dstId, modseq, now) => {
      await g.mailbox(srcId);
      await g.mailbox(dstId);
      const dst = await one(`SELECT account_id, uidnext FROM mailbox WHERE id = $1 AND ${LIVE}`, [dstId]);
      if (!dst) return [];
      const first = num(dst[1]);
      // renumbered from dst's UIDNEXT in uid order, in three set statements
      const moved = await all(
        `WITH src AS (
           SELECT uid, row_number() OVER (ORDER BY uid) - 1 AS n FROM message WHERE mailbox_id = $1
         )
         INSERT INTO message (mailbox_id, uid, account_id, email_id, thread_id, blob_id, prefix_id, size,
           internal_date, save_date, flags, flag_bits, modseq, crlf_size)
         SELECT $2, $3 + s.n, $4, m.email_id, m.thread_id, m.blob_id, m.prefix_id, m.size, m.internal_date, $5,
           m.flags, m.flag_bits, $6, m.crlf_size
         FROM src s JOIN message m ON m.mailbox_id = $1 AND m.uid = s.uid
         RETURNING uid, email_id, thread_id`,
        [srcId, dstId, first, dst[0], now, modseq],
      );
      await x(
        `INSERT INTO expunged (mailbox_id, uid, modseq) SELECT $1, uid, $2 FROM message WHERE mailbox_id = $1
         ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = excluded.modseq`,
        [srcId, modseq],
      );
      await x("DELETE FROM message WHERE mailbox_id = $1", [srcId]);
      await x("UPDATE mailbox SET uidnext = $1 WHERE id = $2", [first + moved.length, dstId]);
      moved.sort((a, b) => num(a[0]) - num(b[0]));
      return moved.map((r): [string, string] => [String(r[1]), String(r[2])]);
    },
  };

  const subscriptions: SubscriptionsWrite = {
    list: async (accountId) => {
      await g.account(accountId);
      return (
        await all("SELECT name FROM subscription WHERE account_id = $1 ORDER BY name", [accountId])
      ).map((r) => String(r[0]));
    },
    add: async (accountId, name) => {
      await g.account(accountId);
      await x("INSERT INTO subscription (account_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING", [
        accountId,
        name,
      ]);
    },
    remove: async (accountId, name) => {
      await g.account(accountId);
      return (
        (await x("DELETE FROM subscription WHERE account_id = $1 AND name = $2", [accountId, name]))
          .rowCount > 0
      );
    },
  };

  const META_COLS = `SELECT m.uid, m.email_id, m.thread_id, b.sha256, m.size, m.internal_date, m.save_date, m.flags,
    m.modseq, m.crlf_size FROM message m JOIN blob b ON b.id = m.blob_id`;
  /** META_COLS and the mailbox id (column 10) */
  const META_ACCOUNT_COLS = `SELECT m.uid, m.email_id, m.thread_id, b.sha256, m.size, m.internal_date, m.save_date,
    m.flags, m.modseq, m.crlf_size, m.mailbox_id FROM message m JOIN blob b ON b.id = m.blob_id`;
  /** meta's uid, blob and modseq alone */
  const BLOB_COLS = "SELECT m.uid, b.sha256, m.modseq FROM message m JOIN blob b ON b.id = m.blob_id";
  const rowsOfUids = async (cols: string, mailboxId: number, list: readonly number[]) => {
    if (list.length === 0) return [];
    await g.mailbox(mailboxId);
    return all(`${cols} WHERE m.mailbox_id = $1 AND m.uid = ANY($2::bigint[]) ORDER BY m.uid`, [
      mailboxId,
      list,
    ]);
  };
  const toMeta = (r: unknown[]): MessageMetaRow => ({
    uid: num(r[0]),
    emailId: String(r[1]),
    threadId: String(r[2]),
    sha256: String(r[3]),
    size: num(r[4]),
    internalDate: num(r[5]),
    saveDate: num(r[6]),
    flags: String(r[7]),
    modseq: big(r[8]),
    lineEndingFixups: r[9] === null || r[9] === undefined ? null : num(r[9]) - num(r[4]),
  });

  /** rows of the account by email_id / thread_id (index message_email / message_thread) */
  const byIds = async (
    col: "email_id" | "thread_id",
    accountId: number,
    ids: readonly string[],
  ): Promise<AccountMessageRow[]> => {
    if (ids.length === 0) return [];
    await g.account(accountId);
    const rows = await all(
      `${META_ACCOUNT_COLS} WHERE m.account_id = $1 AND m.${col} = ANY($2::text[]) ORDER BY m.mailbox_id, m.uid`,
      [accountId, [...new Set(ids)]],
    );
    return rows.map((r) => ({ ...toMeta(r), mailboxId: num(r[10]) }));
  };

  const messageReads: MessageReads = {
    flagRows: async (mailboxId) => {
      await g.mailbox(mailboxId);
      return (
        await all("SELECT uid, flags, modseq FROM message WHERE mailbox_id = $1 ORDER BY uid", [mailboxId])
      ).map(toFlagRow);
    },
    states: async (mailboxId): Promise<MessageStates | null> => {
      await g.mailbox(mailboxId);
      const hm = await one("SELECT highestmodseq FROM mailbox WHERE id = $1", [mailboxId]);
      if (!hm) return null;
      const rows = await all("SELECT uid, flags, modseq FROM message WHERE mailbox_id = $1 ORDER BY uid", [
        mailboxId,
      ]);
      const n = rows.length;
      const uids = new Uint32Array(n);
      const flags: string[] = new Array(n);
      const modseqs = new BigUint64Array(n);
      for (let i = 0; i < n; i++) {
        const r = rows[i]!;
        uids[i] = num(r[0]);
        flags[i] = String(r[1]);
        modseqs[i] = big(r[2]);
      }
      return { uids, flags, modseqs, highestModseq: big(hm[0]) };
    },
    changedSince: async (mailboxId, since) => {
      await g.mailbox(mailboxId);
      return (
        await all(
          "SELECT uid, flags, modseq FROM message WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid",
          [mailboxId, since],
        )
      ).map(toFlagRow);
    },
    uids: async (mailboxId) => {
      await g.mailbox(mailboxId);
      return (await all("SELECT uid FROM message WHERE mailbox_id = $1 ORDER BY uid", [mailboxId])).map((r) =>
        num(r[0]),
      );
    },
    byEmailIds: (accountId, ids) => byIds("email_id", accountId, ids),
    byThreadIds: (accountId, ids) => byIds("thread_id", accountId, ids),
    emailIdsByDate: async (mailboxId, offset, limit, collapse, asc) => {
      await g.mailbox(mailboxId);
      return (
        await all(
          `SELECT ${distinct(await one("SELECT n_dup_emails FROM mailbox WHERE id = $1", [mailboxId]))}m.internal_date, m.email_id FROM message m
           WHERE m.mailbox_id = $1 AND ${VISIBLE}${collapse ? collapseCond(asc) : ""}
           ORDER BY ${dateOrder(asc)} LIMIT $2 OFFSET $3`,
          [mailboxId, limit, offset],
        )
      ).map((r) => String(r[1]));
    },
    emailIndexByDate: async (mailboxId, emailId, collapse, asc) => {
      await g.mailbox(mailboxId);
      const c = collapse ? collapseCond(asc) : "";
      const row = await one(
        `SELECT m.internal_date, b.n_dup_emails FROM message m JOIN mailbox b ON b.id = m.mailbox_id
         WHERE m.account_id = b.account_id AND m.email_id = $1 AND m.mailbox_id = $2 AND ${VISIBLE}${c} LIMIT 1`,
        [emailId, mailboxId],
      );
      if (!row) return null;
      // rows before it, each Email once (copies in this mailbox share date and id)
      const n = num(row[1]) > 0 ? "COUNT(DISTINCT m.email_id)" : "COUNT(*)";
      const r = await one(
        `SELECT ${n} FROM message m WHERE m.mailbox_id = $1 AND ${VISIBLE}${c} AND ${beforeRow(asc, "$2", "$2", "$3")}`,
        [mailboxId, row[0], emailId],
      );
      return r ? num(r[0]) : 0;
    },
    jmapTotals: async (mailboxId) => {
      await g.mailbox(mailboxId);
      const r = await one(TOTALS_SQL("$1"), [mailboxId]);
      return r ? { emails: num(r[0]), threads: num(r[1]) } : null;
    },
    jmapCounts: async (accountId) => {
      await g.account(accountId);
      return countRows(
        await all(ACCOUNT_TOTALS_SQL("$1"), [accountId]),
        await all(unreadSql("$1", "$1"), [accountId]),
      );
    },
    meta: async (mailboxId, list) => (await rowsOfUids(META_COLS, mailboxId, list)).map(toMeta),
    blobRows: async (mailboxId, list) =>
      (await rowsOfUids(BLOB_COLS, mailboxId, list)).map((r) => ({
        uid: num(r[0]),
        sha256: String(r[1]),
        modseq: big(r[2]),
      })),
  };

  const expunges: ExpungesRead = {
    since: async (mailboxId, since) => {
      await g.mailbox(mailboxId);
      return (
        await all("SELECT uid FROM expunged WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid", [
          mailboxId,
          since,
        ])
      ).map((r) => num(r[0]));
    },
  };

  const blobsParsed: BlobsRead & BlobsParsedWrite = {
    parsed: async (sha256) => {
      const r = await one("SELECT parsed, parsed_version FROM blob WHERE sha256 = $1", [sha256]);
      return r ? { parsed: strOrNull(r[0]), version: num(r[1]) } : null;
    },
    setParsed: async (sha256, parsed, version) => {
      await x("UPDATE blob SET parsed = $1, parsed_version = $2 WHERE sha256 = $3", [
        parsed,
        version,
        sha256,
      ]);
    },
  };

  const changes: ChangesWrite = {
    accountState: async (accountId) => {
      await g.account(accountId);
      const r = await one("SELECT modseq, change_floor FROM account WHERE id = $1", [accountId]);
      return r ? { modseq: big(r[0]), floor: big(r[1]) } : null;
    },
    page: async (accountId, kind, after, upto, limit) => {
      await g.account(accountId);
      return (
        await all(
          `SELECT modseq, obj_id, change FROM change_log
            WHERE account_id = $1 AND kind = $2 AND (modseq, obj_id) > ($3::bigint, $4::text COLLATE "C")
              AND modseq <= $5
            ORDER BY modseq, obj_id LIMIT $6`,
          [accountId, kind, after.modseq, after.id, upto, limit],
        )
      ).map((r): [bigint, string, number] => [big(r[0]), String(r[1]), num(r[2])]);
    },
  };

  const usage: UsageWrite = {
    subtract: async (accountId, bytes, messages) => {
      await g.account(accountId);
      await x(
        `UPDATE account SET used_bytes = GREATEST(used_bytes - $1, 0),
           used_messages = GREATEST(used_messages - $2, 0) WHERE id = $3`,
        [bytes, messages, accountId],
      );
    },
  };

  return { mailboxes, subscriptions, messageReads, expunges, blobsParsed, changes, usage };
}

/** Db.peek: one statement on the pool, its own snapshot, not behind any transaction. */
export function pgPeeker(x: Exec): Peeker {
  return {
    location: async (mailboxId, uid) => {
      const r = (
        await x(
          `SELECT b.sha256, b.size, p.data FROM message m JOIN blob b ON b.id = m.blob_id
           LEFT JOIN delivery_prefix p ON p.id = m.prefix_id
           WHERE m.mailbox_id = $1 AND m.uid = $2`,
          [mailboxId, uid],
        )
      ).rows[0];
      return r
        ? {
            sha256: String(r[0]),
            blobSize: num(r[1]),
            prefix: r[2] === null ? null : new Uint8Array(r[2] as Buffer),
          }
        : null;
    },
  };
}
