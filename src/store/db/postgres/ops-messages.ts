/**
 * The message-write operations of the db port on PostgreSQL (db/port-messages.ts; the SQLite twin
 * is db/sqlite/ops-messages.ts), bound to one write transaction.
 *
 * Blob content and GC: `blobs.ensure` upserts the blob row (`ON CONFLICT … DO UPDATE SET
 * gc_pending = false`), which locks it until commit; the sweeper (jobs.ts) deletes a row only
 * `WHERE gc_pending` and only while no message references it (the foreign key from message makes a
 * delete of a referenced row fail), and removes its content before its own commit. So an append
 * that dedupes to a blob either finds the row unmarked and its content present, or waits for the
 * sweep's commit, re-inserts the row and rewrites the content (content.ensure).
 */
import type { SearchText } from "../../search/port.ts";
import type {
  AccountsMsgWrite,
  BlobsMsgWrite,
  ChangeRowsWrite,
  ExpungesWrite,
  MailboxesMsgWrite,
  MessageFlagRow,
  MessageRefRow,
  MessagesMsgWrite,
  ThreadsWrite,
} from "../port-messages.ts";
import { type AccountGuard, big, type Exec, num, numOrNull, quotaReused, writeLater } from "./pg.ts";

/**
 * Where message content lives (the blob port) and where search texts go (the search port), both
 * written with the statements of the transaction at hand (`x`): content and text commit, or roll
 * back, with the rows that reference them (store/postgres.ts wires PgBlobStore.writeIn/deleteIn and
 * PgSearch.indexIn/removeIn).
 */
export interface PgContent {
  /** stores the content under sha if it is not there */
  ensure(x: Exec, sha: string, raw: Uint8Array): Promise<void>;
  /** removes content (a blob id or a JMAP upload's name) that no row references */
  drop(x: Exec, id: string): Promise<void>;
  /** indexes a new blob's search text */
  index(x: Exec, blobRef: number, text: SearchText): Promise<void>;
  /** removes a swept blob's search text */
  unindex(x: Exec, blobRef: number): Promise<void>;
}

/** advisory-lock key space of content hashes: (CONTENT_LOCK, hashtext(sha)) */
const CONTENT_LOCK = 0x706b_6263;

/** Serialises, per content hash, ensuring content against dropping content without a row. */
async function contentLock(x: Exec, sha: string): Promise<void> {
  await x("SELECT pg_advisory_xact_lock($1::int4, hashtext($2))", [CONTENT_LOCK, sha]);
}

export interface PgMessageOps {
  mailboxes: MailboxesMsgWrite;
  accounts: AccountsMsgWrite;
  messages: MessagesMsgWrite;
  expunges: ExpungesWrite;
  threads: ThreadsWrite;
  blobs: BlobsMsgWrite;
  changes: ChangeRowsWrite;
}

export function pgMessageOps(x: Exec, g: AccountGuard, content: PgContent): PgMessageOps {
  const all = async (text: string, values?: unknown[]) => (await x(text, values)).rows;
  const one = async (text: string, values?: unknown[]) => (await x(text, values)).rows[0];

  const rowsForUids = async (mailboxId: number, uids: readonly number[], columns: string) => {
    if (uids.length === 0) return [];
    await g.mailbox(mailboxId);
    return all(
      `SELECT ${columns} FROM message m WHERE m.mailbox_id = $1 AND m.uid = ANY($2::bigint[]) ORDER BY m.uid`,
      [mailboxId, uids],
    );
  };

  const mailboxes: MailboxesMsgWrite = {
    core: async (id) => {
      await g.mailbox(id);
      const r = await one("SELECT account_id, uidvalidity, uidnext FROM mailbox WHERE id = $1", [id]);
      return r ? { accountId: num(r[0]), uidValidity: num(r[1]), uidNext: num(r[2]) } : null;
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
  };

  const accounts: AccountsMsgWrite = {
    quota: async (id) => {
      await g.account(id);
      const seen = quotaReused(x, id);
      if (seen) return seen;
      const r = await one(
        "SELECT quota_bytes, quota_messages, used_bytes, used_messages FROM account WHERE id = $1",
        [id],
      );
      return r
        ? { quotaBytes: num(r[0]), quotaMessages: num(r[1]), usedBytes: num(r[2]), usedMessages: num(r[3]) }
        : null;
    },
    addUsage: async (id, bytes, messages) => {
      await g.account(id);
      await writeLater(
        x,
        "account",
        `UPDATE account SET used_bytes = GREATEST(used_bytes + $1, 0),
           used_messages = GREATEST(used_messages + $2, 0) WHERE id = $3`,
        [bytes, messages, id],
      );
    },
  };

  const messages: MessagesMsgWrite = {
    refRows: async (mailboxId, uids) =>
      (
        await rowsForUids(mailboxId, uids, "m.uid, m.size, m.blob_id, m.prefix_id, m.email_id, m.thread_id")
      ).map(
        (r): MessageRefRow => ({
          uid: num(r[0]),
          size: num(r[1]),
          blobId: num(r[2]),
          prefixId: numOrNull(r[3]),
          emailId: String(r[4]),
          threadId: String(r[5]),
        }),
      ),
    flagRowsOf: async (mailboxId, uids) =>
      (await rowsForUids(mailboxId, uids, "m.uid, m.flags, m.modseq, m.email_id")).map(
        (r): MessageFlagRow => ({
          uid: num(r[0]),
          flags: String(r[1]),
          modseq: big(r[2]),
          emailId: String(r[3]),
        }),
      ),
    insert: async (m) => {
      await g.account(m.accountId);
      await writeLater(
        x,
        "message",
        `INSERT INTO message (mailbox_id, uid, account_id, email_id, thread_id, blob_id, prefix_id, size,
           internal_date, save_date, flags, flag_bits, modseq, crlf_size)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
        [
          m.mailboxId,
          m.uid,
          m.accountId,
          m.emailId,
          m.threadId,
          m.blobId,
          m.prefixId,
          m.size,
          m.internalDate,
          m.saveDate,
          m.flags,
          m.flagBits,
          m.modseq,
          m.crlfSize,
        ],
      );
    },
    setFlags: async (mailboxId, uid, flags, bits, modseq) => {
      await g.mailbox(mailboxId);
      await x(
        "UPDATE message SET flags = $1, flag_bits = $2, modseq = $3 WHERE mailbox_id = $4 AND uid = $5",
        [flags, bits, modseq, mailboxId, uid],
      );
    },
    delete: async (mailboxId, uids) => {
      if (uids.length === 0) return;
      await g.mailbox(mailboxId);
      await x("DELETE FROM message WHERE mailbox_id = $1 AND uid = ANY($2::bigint[])", [mailboxId, uids]);
    },
    copy: async (srcMailboxId, uids, dst, saveDate, modseq) => {
      if (uids.length === 0) return;
      await g.mailbox(srcMailboxId);
      await g.account(dst.accountId);
      // one statement and one round trip for the set
      await x(
        `INSERT INTO message (mailbox_id, uid, account_id, email_id, thread_id, blob_id, prefix_id, size,
           internal_date, save_date, flags, flag_bits, modseq, crlf_size)
         SELECT $1, j.dst, $2, m.email_id, m.thread_id, m.blob_id, m.prefix_id, m.size, m.internal_date, $3,
                m.flags, m.flag_bits, $4, m.crlf_size
           FROM unnest($5::bigint[], $6::bigint[]) AS j(src, dst)
           JOIN message m ON m.mailbox_id = $7 AND m.uid = j.src`,
        [
          dst.mailboxId,
          dst.accountId,
          saveDate,
          modseq,
          uids.map((u) => u[0]),
          uids.map((u) => u[1]),
          srcMailboxId,
        ],
      );
    },
    holds: async (accountId, kind, id) => {
      await g.account(accountId);
      const col = kind === "email" ? "email_id" : "thread_id";
      return (
        (await one(`SELECT 1 FROM message WHERE account_id = $1 AND ${col} = $2 LIMIT 1`, [
          accountId,
          id,
        ])) !== undefined
      );
    },
  };

  const expunges: ExpungesWrite = {
    add: async (mailboxId, uids, modseq) => {
      if (uids.length === 0) return;
      await g.mailbox(mailboxId);
      await x(
        `INSERT INTO expunged (mailbox_id, uid, modseq) SELECT $1, u, $3 FROM unnest($2::bigint[]) AS u
         ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = excluded.modseq`,
        [mailboxId, uids, modseq],
      );
    },
  };

  const threads: ThreadsWrite = {
    find: async (accountId, msgids) => {
      if (msgids.length === 0) return null;
      await g.account(accountId);
      const rows = await all(
        "SELECT msgid, thread_id FROM thread_ref WHERE account_id = $1 AND msgid = ANY($2::text[])",
        [accountId, msgids],
      );
      const found = new Map(rows.map((r) => [String(r[0]), String(r[1])]));
      for (const id of msgids) {
        const t = found.get(id);
        if (t !== undefined) return t;
      }
      return null;
    },
    put: async (accountId, msgids, threadId) => {
      if (msgids.length === 0) return;
      await g.account(accountId);
      await writeLater(
        x,
        "thread_ref",
        `INSERT INTO thread_ref (account_id, msgid, thread_id) SELECT $1, m, $3 FROM unnest($2::text[]) AS m
         ON CONFLICT (account_id, msgid) DO NOTHING`,
        [accountId, [...new Set(msgids)], threadId],
      );
    },
  };

  const blobs: BlobsMsgWrite = {
    has: async (sha) => (await one("SELECT 1 FROM blob WHERE sha256 = $1", [sha])) !== undefined,
    ensure: async (c) => {
      // the content lock first, then the row, in one statement (the row comes from the locking
      // SELECT): a failed append's dropContentWithoutRow (below) cannot remove content this
      // transaction is about to reference; ON CONFLICT sees the latest committed row, not the
      // statement's snapshot. xmax = 0: this statement inserted the row (did not update one)
      const r = (await one(
        `WITH l AS (SELECT pg_advisory_xact_lock($6::int4, hashtext($1)))
         INSERT INTO blob (sha256, size, parsed, parsed_version, created_at) SELECT $1, $2, $3, $4, $5 FROM l
         ON CONFLICT (sha256) DO UPDATE SET gc_pending = false
         RETURNING id, (xmax = 0) AS created`,
        [c.sha, c.raw.byteLength, c.parsed, c.parsedVersion, Date.now(), CONTENT_LOCK],
      ))!;
      const id = num(r[0]);
      const created = r[1] === true;
      // with the row locked: a sweep that removed the content has committed (rewrite it) or will
      // see our reference; content and search text commit with the message rows
      await content.ensure(x, c.sha, c.raw);
      if (created) await content.index(x, id, c.text());
      return { id, created };
    },
    insertPrefix: async (data) => {
      const text = "INSERT INTO delivery_prefix (data) VALUES ($1) RETURNING id";
      // the content writes queued just before go in the same statement
      const r = await (x.along ? x.along([], text, [data]) : x(text, [data]));
      return num(r.rows[0]![0]);
    },
    dropContentWithoutRow: async (shas) => {
      for (const sha of new Set(shas)) {
        // under the content lock: an ensure of the same content has committed (its row is seen)
        // or waits for us and rewrites the content
        await contentLock(x, sha);
        if ((await one("SELECT 1 FROM blob WHERE sha256 = $1", [sha])) === undefined)
          await content.drop(x, sha);
      }
    },
  };

  const changes: ChangeRowsWrite = {
    exists: async (accountId, kind, id) => {
      if (kind === "mailbox")
        return (await one("SELECT 1 FROM mailbox WHERE id = $1", [Number(id)])) !== undefined;
      return messages.holds(accountId, kind, id);
    },
    insert: async (rows, at) => {
      if (rows.length === 0) return;
      // one row per (account, kind, modseq, id): a repeat within the list keeps the last change
      const last = new Map<string, (typeof rows)[number]>();
      for (const r of rows) last.set(`${r.accountId}\u0000${r.kind}\u0000${r.modseq}\u0000${r.id}`, r);
      const list = [...last.values()];
      await writeLater(
        x,
        "change_log",
        `INSERT INTO change_log (account_id, kind, modseq, obj_id, change, at)
         SELECT * , $6::bigint FROM unnest($1::bigint[], $2::smallint[], $3::bigint[], $4::text[], $5::smallint[])
         ON CONFLICT (account_id, kind, modseq, obj_id) DO UPDATE SET change = excluded.change`,
        [
          list.map((r) => r.accountId),
          list.map((r) => r.kind),
          list.map((r) => r.modseq.toString()),
          list.map((r) => r.id),
          list.map((r) => r.change),
          at,
        ],
      );
    },
  };

  return { mailboxes, accounts, messages, expunges, threads, blobs, changes };
}
