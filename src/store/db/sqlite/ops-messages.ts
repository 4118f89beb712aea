/**
 * The message-write operations of the db port on SQLite (db/port-messages.ts). Plain SQL prepared
 * once per connection, run inside Db.write (the connection's mutex is held, the write lock taken).
 *
 * Blob content: `blobs.ensure` and `blobs.dropContentWithoutRow` touch the blob files
 * synchronously while the write lock is held. That is this adapter's GC protocol (sql/jobs.ts):
 * the sweeper unlinks files under the same lock, so an append that dedupes to a blob either sees
 * its file (and the sweeper then sees the reference) or rewrites it.
 */
import type { FsBlobStore } from "../../blob/fs.ts";
import { type Fts5Search, unparkSync } from "../../search/fts.ts";
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
import { IN_LIST, listParam, type SqliteHandle } from "./sqlite.ts";

/** uid lists up to this size are looked up one by one; larger ones by one range scan */
const POINT_LOOKUP_MAX = 64;

export interface SqliteMessageOps {
  mailboxes: MailboxesMsgWrite;
  accounts: AccountsMsgWrite;
  messages: MessagesMsgWrite;
  expunges: ExpungesWrite;
  threads: ThreadsWrite;
  blobs: BlobsMsgWrite;
  changes: ChangeRowsWrite;
}

export function sqliteMessageOps(h: SqliteHandle, files: FsBlobStore, search: Fts5Search): SqliteMessageOps {
  const run = (text: string, ...args: unknown[]) => h.stmt(text).run(...args);
  const get = (text: string, ...args: unknown[]): unknown[] | undefined =>
    h
      .stmt(text)
      .raw(true)
      .get(...args) as unknown[] | undefined;

  /** rows for sorted unique uids of one mailbox, in uid order */
  const rowsForUids = (mailboxId: number, uids: readonly number[], columns: string, safe: boolean) => {
    if (uids.length === 0) return [];
    if (uids.length <= POINT_LOOKUP_MAX) {
      const st = h
        .stmt(`SELECT ${columns} FROM message m WHERE m.mailbox_id = ? AND m.uid = ?`, safe)
        .raw(true);
      const out: unknown[][] = [];
      for (const u of uids) {
        const r = st.get(mailboxId, u) as unknown[] | undefined;
        if (r) out.push(r);
      }
      return out;
    }
    const want = new Set(uids);
    const rows = h
      .stmt(
        `SELECT ${columns} FROM message m WHERE m.mailbox_id = ? AND m.uid BETWEEN ? AND ? ORDER BY m.uid`,
        safe,
      )
      .raw(true)
      .all(mailboxId, uids[0], uids[uids.length - 1]) as unknown[][];
    return rows.filter((r) => want.has(Number(r[0])));
  };

  const mailboxes: MailboxesMsgWrite = {
    core: (id) => {
      // a deleted mailbox still being purged (ops-mailboxes.ts RETIRED_PREFIX) is absent
      const r = get(
        "SELECT account_id, uidvalidity, uidnext FROM mailbox WHERE id = ? AND substr(name, 1, 1) <> '*'",
        id,
      );
      return r ? { accountId: Number(r[0]), uidValidity: Number(r[1]), uidNext: Number(r[2]) } : null;
    },
    touch: (id, modseq, uidNext) => {
      if (uidNext === undefined) run("UPDATE mailbox SET highestmodseq = ? WHERE id = ?", modseq, id);
      else run("UPDATE mailbox SET highestmodseq = ?, uidnext = ? WHERE id = ?", modseq, uidNext, id);
    },
  };

  const accounts: AccountsMsgWrite = {
    quota: (id) => {
      const r = get(
        "SELECT quota_bytes, quota_messages, used_bytes, used_messages FROM account WHERE id = ?",
        id,
      );
      return r
        ? {
            quotaBytes: Number(r[0]),
            quotaMessages: Number(r[1]),
            usedBytes: Number(r[2]),
            usedMessages: Number(r[3]),
          }
        : null;
    },
    addUsage: (id, bytes, messages) => {
      if (bytes >= 0 && messages >= 0) {
        run(
          "UPDATE account SET used_bytes = used_bytes + ?, used_messages = used_messages + ? WHERE id = ?",
          bytes,
          messages,
          id,
        );
        return;
      }
      const b = -bytes;
      const m = -messages;
      run(
        `UPDATE account SET used_bytes = CASE WHEN used_bytes > ? THEN used_bytes - ? ELSE 0 END,
           used_messages = CASE WHEN used_messages > ? THEN used_messages - ? ELSE 0 END WHERE id = ?`,
        b,
        b,
        m,
        m,
        id,
      );
    },
  };

  const messages: MessagesMsgWrite = {
    refRows: (mailboxId, uids) =>
      rowsForUids(
        mailboxId,
        uids,
        "m.uid, m.size, m.blob_id, m.prefix_id, m.email_id, m.thread_id",
        false,
      ).map(
        (r): MessageRefRow => ({
          uid: Number(r[0]),
          size: Number(r[1]),
          blobId: Number(r[2]),
          prefixId: r[3] === null ? null : Number(r[3]),
          emailId: String(r[4]),
          threadId: String(r[5]),
        }),
      ),
    flagRowsOf: (mailboxId, uids) =>
      rowsForUids(mailboxId, uids, "m.uid, m.flags, m.modseq, m.email_id", true).map(
        (r): MessageFlagRow => ({
          uid: Number(r[0]),
          flags: r[1] as string,
          modseq: r[2] as bigint,
          emailId: String(r[3]),
        }),
      ),
    insert: (m) => {
      run(
        `INSERT INTO message (mailbox_id, uid, account_id, email_id, thread_id, blob_id, prefix_id, size,
           internal_date, save_date, flags, flag_bits, modseq, crlf_size)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
      );
    },
    setFlags: (mailboxId, uid, flags, bits, modseq) => {
      run(
        "UPDATE message SET flags = ?, flag_bits = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?",
        flags,
        bits,
        modseq,
        mailboxId,
        uid,
      );
    },
    delete: (mailboxId, uids) => {
      if (uids.length > 0)
        run(`DELETE FROM message WHERE mailbox_id = ? AND uid ${IN_LIST}`, mailboxId, listParam(uids));
    },
    copy: (srcMailboxId, uids, dst, saveDate, modseq) => {
      if (uids.length === 0) return;
      // one statement for the set (sqlite.ts IN_LIST): an INSERT … SELECT from the table it
      // inserts into stages its rows in a temporary table, per run. CROSS JOIN keeps the list as
      // the outer loop (a primary-key lookup per pair); the planner would otherwise scan the
      // source mailbox and the list once per row of it
      run(
        `INSERT INTO message (mailbox_id, uid, account_id, email_id, thread_id, blob_id, prefix_id, size,
           internal_date, save_date, flags, flag_bits, modseq, crlf_size)
         SELECT ?, j.value->>1, ?, m.email_id, m.thread_id, m.blob_id, m.prefix_id, m.size, m.internal_date, ?,
                m.flags, m.flag_bits, ?, m.crlf_size
           FROM json_each(?) j CROSS JOIN message m ON m.mailbox_id = ? AND m.uid = j.value->>0`,
        dst.mailboxId,
        dst.accountId,
        saveDate,
        modseq,
        JSON.stringify(uids),
        srcMailboxId,
      );
    },
    holds: (accountId, kind, id) =>
      kind === "email"
        ? get("SELECT 1 FROM message WHERE account_id = ? AND email_id = ? LIMIT 1", accountId, id) !==
          undefined
        : get("SELECT 1 FROM message WHERE account_id = ? AND thread_id = ? LIMIT 1", accountId, id) !==
          undefined,
  };

  const expunges: ExpungesWrite = {
    add: (mailboxId, uids, modseq) => {
      if (uids.length === 0) return;
      // WHERE true: the upsert's ON CONFLICT must not be read as a join constraint (SQLite's rule)
      run(
        `INSERT INTO expunged (mailbox_id, uid, modseq) SELECT ?, value, ? FROM json_each(?) WHERE true
         ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = excluded.modseq`,
        mailboxId,
        modseq,
        listParam(uids),
      );
    },
  };

  const threads: ThreadsWrite = {
    find: (accountId, msgids) => {
      const st = h.stmt("SELECT thread_id FROM thread_ref WHERE account_id = ? AND msgid = ?").raw(true);
      for (const id of msgids) {
        const r = st.get(accountId, id) as [string] | undefined;
        if (r) return r[0];
      }
      return null;
    },
    put: (accountId, msgids, threadId) => {
      const st = h.stmt(
        "INSERT INTO thread_ref (account_id, msgid, thread_id) VALUES (?, ?, ?) ON CONFLICT (account_id, msgid) DO NOTHING",
      );
      for (const id of msgids) st.run(accountId, id, threadId);
    },
  };

  const blobs: BlobsMsgWrite = {
    has: (sha) => get("SELECT 1 FROM blob WHERE sha256 = ?", sha) !== undefined,
    ensure: (c) => {
      const ins = h
        .stmt(
          `INSERT INTO blob (sha256, size, parsed, parsed_version, created_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (sha256) DO NOTHING RETURNING id`,
        )
        .raw(true)
        .get(c.sha, c.raw.byteLength, c.parsed, c.parsedVersion, Date.now()) as [number] | undefined;
      let id: number;
      let created = false;
      if (ins) {
        id = Number(ins[0]);
        // the text now; the trigram index entry later (sql/jobs.ts indexer): it is over half of an
        // append's WAL pages, and searches scan queued rows meanwhile
        search.indexSync(id, c.text());
        created = true;
      } else {
        id = Number(get("SELECT id FROM blob WHERE sha256 = ?", c.sha)![0]);
        // a blob awaiting the sweeper is referenced again: unmark it under the write lock (and
        // queue its text again if marking parked it)
        if (run("UPDATE blob SET gc_pending = 0 WHERE id = ? AND gc_pending <> 0", id).changes > 0)
          unparkSync(h.stmt, id);
      }
      // under the write lock: a sweep that unlinked the file has committed or will see our reference
      if (!files.exists(c.sha)) files.writeSync(c.sha, c.raw);
      return { id, created };
    },
    insertPrefix: (data) =>
      Number(run("INSERT INTO delivery_prefix (data) VALUES (?)", data).lastInsertRowid),
    dropContentWithoutRow: (shas) => {
      files.deleteManySync(
        [...new Set(shas)].filter((sha) => get("SELECT 1 FROM blob WHERE sha256 = ?", sha) === undefined),
      );
    },
  };

  const changes: ChangeRowsWrite = {
    exists: (accountId, kind, id) => {
      if (kind === "mailbox")
        return (
          get("SELECT 1 FROM mailbox WHERE id = ? AND substr(name, 1, 1) <> '*'", Number(id)) !== undefined
        );
      return messages.holds(accountId, kind, id) as boolean;
    },
    insert: (rows, at) => {
      if (rows.length === 0) return;
      // one statement for the set (sqlite.ts IN_LIST): an expunge of n messages writes 2n rows.
      // The modseq travels as text: JSON numbers stop being exact at 2^53
      const list = rows.map((r) => [r.accountId, r.kind, String(r.modseq), r.id, r.change]);
      run(
        `INSERT INTO change_log (account_id, kind, modseq, obj_id, change, at)
         SELECT value->>0, value->>1, CAST(value->>2 AS INTEGER), value->>3, value->>4, ?
           FROM json_each(?) WHERE true
         ON CONFLICT (account_id, kind, modseq, obj_id) DO UPDATE SET change = excluded.change`,
        at,
        JSON.stringify(list),
      );
    },
  };

  return { mailboxes, accounts, messages, expunges, threads, blobs, changes };
}
