/**
 * The db port's mailbox, subscription, message-read and change-log-read operations on SQLite
 * (db/port-mailboxes.ts says what each promises). Hot paths read raw arrays from cached prepared
 * statements and modseqs as plain numbers, re-reading exactly (safe integers) only when a value
 * is beyond 2^53.
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
import { DbConflict } from "../port.ts";
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
import type { SqliteHandle } from "./sqlite.ts";

/**
 * A deleted mailbox whose messages the background purge still removes is renamed to
 * `*deleting*<id>`: no client name can start with `*` (names.ts refuses it), so the name is free
 * at once and no lookup by name finds it; lookups by id and lists skip names starting with `*`.
 */
const RETIRED_PREFIX = "*deleting*";
const LIVE = "substr(name, 1, 1) <> '*'";

/** uid lists up to this size are looked up one by one; larger ones by one range scan */
const POINT_LOOKUP_MAX = 64;
/** ids per IN (…) list of the lookups by email / thread id (below SQLite's bound-parameter limit) */
const ID_CHUNK = 500;

const MAILBOX_SELECT = `SELECT m.id, m.account_id, m.name, m.uidvalidity, m.uidnext, m.special_use,
  m.highestmodseq,
  EXISTS (SELECT 1 FROM subscription s WHERE s.account_id = m.account_id AND s.name = m.name) AS sub
  FROM mailbox m`;

function toMailboxRow(r: unknown[]): MailboxRow {
  return {
    id: Number(r[0]),
    accountId: Number(r[1]),
    name: String(r[2]),
    uidValidity: Number(r[3]),
    uidNext: Number(r[4]),
    specialUse: r[5] === null ? null : String(r[5]),
    highestModseq: r[6] as bigint,
    subscribed: Number(r[7]) !== 0,
  };
}

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

export interface SqliteMailOps {
  mailboxes: MailboxesWrite;
  subscriptions: SubscriptionsWrite;
  messageReads: MessageReads;
  expunges: ExpungesRead;
  blobsParsed: BlobsRead & BlobsParsedWrite;
  changes: ChangesWrite;
  usage: UsageWrite;
}

export function sqliteMailOps(h: SqliteHandle): SqliteMailOps {
  const all = (text: string, safe: boolean, ...args: unknown[]): unknown[][] =>
    h
      .stmt(text, safe)
      .raw(true)
      .all(...args) as unknown[][];
  const get = (text: string, safe: boolean, ...args: unknown[]): unknown[] | undefined =>
    h
      .stmt(text, safe)
      .raw(true)
      .get(...args) as unknown[] | undefined;
  const run = (text: string, ...args: unknown[]) => h.stmt(text).run(...args);

  /**
   * Raw rows whose column `col` is a modseq: read as numbers (fast path), converted to bigint; if
   * any is beyond 2^53 the query is re-run with safe integers, so no precision is lost.
   */
  const modseqRows = (text: string, col: number, ...args: unknown[]): unknown[][] => {
    const rows = all(text, false, ...args);
    for (const r of rows) {
      const m = r[col] as number;
      if (!Number.isSafeInteger(m)) return all(text, true, ...args);
      r[col] = BigInt(m);
    }
    return rows;
  };
  // safe-integer rows carry bigint in every integer column: numbers for the others
  const toFlagRow = (r: unknown[]): FlagTextRow => ({
    uid: Number(r[0]),
    flags: r[1] as string,
    modseq: r[2] as bigint,
  });

  const mailboxes: MailboxesWrite = {
    list: (accountId) =>
      all(
        `${MAILBOX_SELECT} WHERE m.account_id = ? AND substr(m.name, 1, 1) <> '*' ORDER BY CASE WHEN m.name = 'INBOX' THEN 0 ELSE 1 END, m.name`,
        true,
        accountId,
      ).map(toMailboxRow),
    byName: (accountId, name) => {
      const r = get(`${MAILBOX_SELECT} WHERE m.account_id = ? AND m.name = ?`, true, accountId, name);
      return r ? toMailboxRow(r) : null;
    },
    byId: (id) => {
      const r = get(`${MAILBOX_SELECT} WHERE m.id = ? AND substr(m.name, 1, 1) <> '*'`, true, id);
      return r ? toMailboxRow(r) : null;
    },
    core: (id) => {
      const r = get(
        `SELECT account_id, uidvalidity, uidnext FROM mailbox WHERE id = ? AND ${LIVE}`,
        false,
        id,
      );
      return r ? { accountId: r[0] as number, uidValidity: r[1] as number, uidNext: r[2] as number } : null;
    },
    syncState: (id) => {
      const r = get(
        `SELECT uidnext, highestmodseq, expunge_floor FROM mailbox WHERE id = ? AND ${LIVE}`,
        true,
        id,
      );
      return r
        ? { uidNext: Number(r[0]), highestModseq: r[1] as bigint, expungeFloor: r[2] as bigint }
        : null;
    },
    withPrefix: (accountId, prefix) =>
      all(
        "SELECT id, name FROM mailbox WHERE account_id = ? AND substr(name, 1, ?) = ?",
        false,
        accountId,
        prefix.length,
        prefix,
      ).map((r) => ({ id: Number(r[0]), name: String(r[1]) })),
    counts: (id) => {
      // kept by the message_counters_* triggers (migration 12): no scan of the mailbox's rows
      if (!get(`SELECT 1 FROM mailbox WHERE id = ? AND ${LIVE}`, false, id)) return null;
      const r = get(
        "SELECT n_messages, total_size, n_unseen, n_deleted FROM mailbox WHERE id = ?",
        false,
        id,
      );
      if (!r) return null;
      return { messages: Number(r[0]), size: Number(r[1]), unseen: Number(r[2]), deleted: Number(r[3]) };
    },
    firstNewUid: (id) => {
      const r = get(`SELECT first_recent_uid FROM mailbox WHERE id = ? AND ${LIVE}`, false, id);
      return r ? Number(r[0]) : null;
    },
    newCount: (id) =>
      Number(
        get(
          `SELECT COUNT(*) FROM message
            WHERE mailbox_id = ? AND uid >= (SELECT first_recent_uid FROM mailbox WHERE id = ?)`,
          false,
          id,
          id,
        )![0],
      ),
    contents: (id): MailboxContents => {
      const sums = get(
        "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM message WHERE mailbox_id = ?",
        false,
        id,
      )!;
      return {
        messages: Number(sums[0]),
        bytes: Number(sums[1]),
        blobIds: all("SELECT DISTINCT blob_id FROM message WHERE mailbox_id = ?", false, id).map((r) =>
          Number(r[0]),
        ),
        prefixIds: all(
          "SELECT DISTINCT prefix_id FROM message WHERE mailbox_id = ? AND prefix_id IS NOT NULL",
          false,
          id,
        ).map((r) => Number(r[0])),
        emails: all("SELECT DISTINCT email_id, thread_id FROM message WHERE mailbox_id = ?", false, id).map(
          (r): [string, string] => [String(r[0]), String(r[1])],
        ),
      };
    },
    insert: (m) => {
      try {
        return Number(
          run(
            `INSERT INTO mailbox (account_id, name, uidvalidity, uidnext, highestmodseq, special_use, created_at)
             VALUES (?, ?, ?, 1, ?, ?, ?)`,
            m.accountId,
            m.name,
            m.uidValidity,
            m.highestModseq,
            m.specialUse,
            m.createdAt,
          ).lastInsertRowid,
        );
      } catch (err) {
        if (isUniqueViolation(err)) throw new DbConflict(String((err as Error).message));
        throw err;
      }
    },
    delete: (id) => {
      run("DELETE FROM mailbox WHERE id = ?", id);
    },
    retire: (id) => {
      run("UPDATE mailbox SET name = ? WHERE id = ?", RETIRED_PREFIX + String(id), id);
      // rights and annotations end with the mailbox (a new one of the same name starts without)
      run("DELETE FROM acl WHERE mailbox_id = ?", id);
      run("DELETE FROM metadata WHERE mailbox_id = ?", id);
    },
    retired: (limit) =>
      all("SELECT id, account_id FROM mailbox WHERE substr(name, 1, 1) = '*' LIMIT ?", false, limit).map(
        (r): [number, number] => [Number(r[0]), Number(r[1])],
      ),
    takeMessages: (id, limit): MailboxContents => {
      const rows = all(
        "SELECT uid, blob_id, prefix_id, email_id, thread_id, size FROM message WHERE mailbox_id = ? ORDER BY uid LIMIT ?",
        false,
        id,
        limit,
      );
      const blobs = new Set<number>();
      const prefixes = new Set<number>();
      const emails = new Map<string, string>();
      let bytes = 0;
      for (const r of rows) {
        blobs.add(Number(r[1]));
        if (r[2] !== null) prefixes.add(Number(r[2]));
        emails.set(String(r[3]), String(r[4]));
        bytes += Number(r[5]);
      }
      if (rows.length > 0) {
        const last = Number(rows[rows.length - 1]![0]);
        run("DELETE FROM message WHERE mailbox_id = ? AND uid <= ?", id, last);
      }
      return {
        messages: rows.length,
        bytes,
        blobIds: [...blobs],
        prefixIds: [...prefixes],
        emails: [...emails],
      };
    },
    rename: (id, name, highestModseq) => {
      try {
        run("UPDATE mailbox SET name = ?, highestmodseq = ? WHERE id = ?", name, highestModseq, id);
      } catch (err) {
        if (isUniqueViolation(err)) throw new DbConflict(String((err as Error).message));
        throw err;
      }
    },
    setFirstNewUid: (id, uid) => {
      run("UPDATE mailbox SET first_recent_uid = ? WHERE id = ? AND first_recent_uid < ?", uid, id, uid);
    },
    touch: (id, modseq, uidNext) => {
      if (uidNext === undefined) run("UPDATE mailbox SET highestmodseq = ? WHERE id = ?", modseq, id);
      else run("UPDATE mailbox SET highestmodseq = ?, uidnext = ? WHERE id = ?", modseq, uidNext, id);
    },
    moveAll: (srcId, dstId, modseq, now) => {
      const dst = get(`SELECT account_id, uidnext FROM mailbox WHERE id = ? AND ${LIVE}`, false, dstId);
      if (!dst) return [];
      const rows = all(
        "SELECT uid, email_id, thread_id FROM message WHERE mailbox_id = ? ORDER BY uid",
        false,
        srcId,
      );
      const ins = h.stmt(
        `INSERT INTO message (mailbox_id, uid, account_id, email_id, thread_id, blob_id, prefix_id, size,
           internal_date, save_date, flags, flag_bits, modseq, crlf_size)
         SELECT ?, ?, ?, email_id, thread_id, blob_id, prefix_id, size, internal_date, ?, flags, flag_bits, ?, crlf_size
         FROM message WHERE mailbox_id = ? AND uid = ?`,
      );
      const del = h.stmt("DELETE FROM message WHERE mailbox_id = ? AND uid = ?");
      const log = h.stmt(
        "INSERT INTO expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?) ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = excluded.modseq",
      );
      let uid = Number(dst[1]);
      const out: Array<[string, string]> = [];
      for (const r of rows) {
        ins.run(dstId, uid++, dst[0], now, modseq, srcId, r[0]);
        del.run(srcId, r[0]);
        log.run(srcId, r[0], modseq);
        out.push([String(r[1]), String(r[2])]);
      }
      run("UPDATE mailbox SET uidnext = ? WHERE id = ?", uid, dstId);
      return out;
    },
  };

  const subscriptions: SubscriptionsWrite = {
    list: (accountId) =>
      all("SELECT name FROM subscription WHERE account_id = ? ORDER BY name", false, accountId).map((r) =>
        String(r[0]),
      ),
    add: (accountId, name) => {
      run(
        "INSERT INTO subscription (account_id, name) VALUES (?, ?) ON CONFLICT DO NOTHING",
        accountId,
        name,
      );
    },
    remove: (accountId, name) =>
      run("DELETE FROM subscription WHERE account_id = ? AND name = ?", accountId, name).changes > 0,
  };

  const META_COLS = `SELECT m.uid, m.email_id, m.thread_id, b.sha256, m.size, m.internal_date, m.save_date, m.flags,
    m.modseq, m.crlf_size FROM message m JOIN blob b ON b.id = m.blob_id`;
  /** META_COLS and the mailbox id (column 10) */
  const META_ACCOUNT_COLS = `SELECT m.uid, m.email_id, m.thread_id, b.sha256, m.size, m.internal_date, m.save_date,
    m.flags, m.modseq, m.crlf_size, m.mailbox_id FROM message m JOIN blob b ON b.id = m.blob_id`;
  /** meta's uid, blob and modseq alone */
  const BLOB_COLS = "SELECT m.uid, b.sha256, m.modseq FROM message m JOIN blob b ON b.id = m.blob_id";
  /**
   * Rows of `cols` (uid first, modseq at column `modseqCol`) for the given uids (unique,
   * ascending): point lookups for a few, one range scan filtered for more.
   */
  const rowsOfUids = (cols: string, modseqCol: number, mailboxId: number, list: readonly number[]) => {
    if (list.length === 0) return [];
    if (list.length <= POINT_LOOKUP_MAX) {
      const rows: unknown[][] = [];
      const text = `${cols} WHERE m.mailbox_id = ? AND m.uid = ?`;
      for (const u of list) rows.push(...modseqRows(text, modseqCol, mailboxId, u));
      return rows;
    }
    const want = new Set(list);
    return modseqRows(
      `${cols} WHERE m.mailbox_id = ? AND m.uid BETWEEN ? AND ? ORDER BY m.uid`,
      modseqCol,
      mailboxId,
      list[0],
      list[list.length - 1],
    ).filter((r) => want.has(Number(r[0])));
  };
  const toMeta = (r: unknown[]): MessageMetaRow => ({
    uid: Number(r[0]),
    emailId: r[1] as string,
    threadId: r[2] as string,
    sha256: r[3] as string,
    size: Number(r[4]),
    internalDate: Number(r[5]),
    saveDate: Number(r[6]),
    flags: r[7] as string,
    modseq: r[8] as bigint,
    // the column keeps the CRLF-form size (crlf_size); the port speaks in fix-ups
    lineEndingFixups: r[9] === null || r[9] === undefined ? null : Number(r[9]) - Number(r[4]),
  });

  /** rows of the account by email_id / thread_id (index message_email / message_thread), in chunks */
  const byIds = (col: "email_id" | "thread_id", accountId: number, ids: readonly string[]) => {
    const out: AccountMessageRow[] = [];
    const uniq = [...new Set(ids)];
    for (let i = 0; i < uniq.length; i += ID_CHUNK) {
      const part = uniq.slice(i, i + ID_CHUNK);
      const rows = modseqRows(
        `${META_ACCOUNT_COLS} WHERE m.account_id = ? AND m.${col} IN (${part.map(() => "?").join(",")})`,
        8,
        accountId,
        ...part,
      );
      for (const r of rows) out.push({ ...toMeta(r), mailboxId: Number(r[10]) });
    }
    return out.sort((a, b) => a.mailboxId - b.mailboxId || a.uid - b.uid);
  };

  const messageReads: MessageReads = {
    flagRows: (mailboxId) =>
      modseqRows(
        "SELECT uid, flags, modseq FROM message WHERE mailbox_id = ? ORDER BY uid",
        2,
        mailboxId,
      ).map(toFlagRow),
    states: (mailboxId): MessageStates | null => {
      const hm = get("SELECT highestmodseq FROM mailbox WHERE id = ?", true, mailboxId);
      if (!hm) return null;
      // raw arrays: no row objects, no flag splitting (the bulk FETCH/SELECT path)
      const rows = all(
        "SELECT uid, flags, modseq FROM message WHERE mailbox_id = ? ORDER BY uid",
        false,
        mailboxId,
      );
      const n = rows.length;
      const uids = new Uint32Array(n);
      const flags: string[] = new Array(n);
      const modseqs = new BigUint64Array(n);
      let unsafe = false;
      // a mailbox has a handful of distinct flag texts: one string object each (the result may be
      // kept by the state cache; 100k copies of "\\Seen" would be ~3 MB)
      const texts = new Map<string, string>();
      for (let i = 0; i < n; i++) {
        const r = rows[i]!;
        uids[i] = r[0] as number;
        const t = r[1] as string;
        let one = texts.get(t);
        if (one === undefined) {
          one = t;
          texts.set(t, t);
        }
        flags[i] = one;
        const m = r[2] as number;
        if (Number.isSafeInteger(m)) modseqs[i] = BigInt(m);
        else unsafe = true;
      }
      if (unsafe) {
        // a modseq beyond 2^53 (read as an inexact number): re-read them exactly, same snapshot
        const exact = all("SELECT modseq FROM message WHERE mailbox_id = ? ORDER BY uid", true, mailboxId);
        for (let i = 0; i < n && i < exact.length; i++) modseqs[i] = exact[i]![0] as bigint;
      }
      return { uids, flags, modseqs, highestModseq: hm[0] as bigint };
    },
    changedSince: (mailboxId, since) =>
      modseqRows(
        "SELECT uid, flags, modseq FROM message WHERE mailbox_id = ? AND modseq > ? ORDER BY uid",
        2,
        mailboxId,
        since,
      ).map(toFlagRow),
    uids: (mailboxId) =>
      all("SELECT uid FROM message WHERE mailbox_id = ? ORDER BY uid", false, mailboxId).map(
        (r) => r[0] as number,
      ),
    byEmailIds: (accountId, ids) => byIds("email_id", accountId, ids),
    byThreadIds: (accountId, ids) => byIds("thread_id", accountId, ids),
    emailIdsByDate: (mailboxId, offset, limit, collapse, asc) =>
      all(
        `SELECT ${distinct(get("SELECT n_dup_emails FROM mailbox WHERE id = ?", false, mailboxId))}m.internal_date, m.email_id FROM message m
         WHERE m.mailbox_id = ? AND ${VISIBLE}${collapse ? collapseCond(asc) : ""}
         ORDER BY ${dateOrder(asc)} LIMIT ? OFFSET ?`,
        false,
        mailboxId,
        limit,
        offset,
      ).map((r) => String(r[1])),
    emailIndexByDate: (mailboxId, emailId, collapse, asc) => {
      const c = collapse ? collapseCond(asc) : "";
      const row = get(
        `SELECT m.internal_date, b.n_dup_emails FROM message m JOIN mailbox b ON b.id = m.mailbox_id
         WHERE m.account_id = b.account_id AND m.email_id = ? AND m.mailbox_id = ? AND ${VISIBLE}${c} LIMIT 1`,
        false,
        emailId,
        mailboxId,
      );
      if (!row) return null;
      const d = row[0];
      // rows before it, each Email once (copies in this mailbox share date and id)
      const n = Number(row[1]) > 0 ? "COUNT(DISTINCT m.email_id)" : "COUNT(*)";
      return Number(
        get(
          `SELECT ${n} FROM message m WHERE m.mailbox_id = ? AND ${VISIBLE}${c} AND ${beforeRow(asc, "?", "?", "?")}`,
          false,
          mailboxId,
          d,
          d,
          emailId,
        )![0],
      );
    },
    jmapTotals: (mailboxId) => {
      const r = get(TOTALS_SQL("?"), false, mailboxId);
      return r ? { emails: Number(r[0]), threads: Number(r[1]) } : null;
    },
    jmapCounts: (accountId) =>
      // without statistics SQLite would read a mailbox by its primary key, not the partial index
      countRows(
        all(ACCOUNT_TOTALS_SQL("?"), false, accountId),
        all(unreadSql("?", "?", "INDEXED BY message_unread"), false, accountId, accountId),
      ),
    meta: (mailboxId, list) => rowsOfUids(META_COLS, 8, mailboxId, list).map(toMeta),
    blobRows: (mailboxId, list) =>
      rowsOfUids(BLOB_COLS, 2, mailboxId, list).map((r) => ({
        uid: Number(r[0]),
        sha256: r[1] as string,
        modseq: r[2] as bigint,
      })),
  };

  const expunges: ExpungesRead = {
    since: (mailboxId, since) =>
      all(
        "SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid",
        false,
        mailboxId,
        since,
      ).map((r) => Number(r[0])),
  };

  const blobsParsed: BlobsRead & BlobsParsedWrite = {
    parsed: (sha256: string) => {
      const r = get("SELECT parsed, parsed_version FROM blob WHERE sha256 = ?", false, sha256);
      return r ? { parsed: r[0] === null ? null : String(r[0]), version: Number(r[1]) } : null;
    },
    setParsed: (sha256: string, parsed: string, version: number) => {
      run("UPDATE blob SET parsed = ?, parsed_version = ? WHERE sha256 = ?", parsed, version, sha256);
    },
  };

  const changes: ChangesWrite = {
    accountState: (accountId) => {
      const r = get("SELECT modseq, change_floor FROM account WHERE id = ?", true, accountId);
      return r ? { modseq: r[0] as bigint, floor: r[1] as bigint } : null;
    },
    page: (accountId, kind, after, upto, limit) =>
      all(
        `SELECT modseq, obj_id, change FROM change_log
          WHERE account_id = ? AND kind = ? AND (modseq > ? OR (modseq = ? AND obj_id > ?)) AND modseq <= ?
          ORDER BY modseq, obj_id LIMIT ?`,
        true,
        accountId,
        kind,
        after.modseq,
        after.modseq,
        after.id,
        upto,
        limit,
      ).map((r): [bigint, string, number] => [r[0] as bigint, String(r[1]), Number(r[2])]),
  };

  const usage: UsageWrite = {
    subtract: (accountId, bytes, messages) => {
      run(
        `UPDATE account SET used_bytes = CASE WHEN used_bytes > ? THEN used_bytes - ? ELSE 0 END,
           used_messages = CASE WHEN used_messages > ? THEN used_messages - ? ELSE 0 END WHERE id = ?`,
        bytes,
        bytes,
        messages,
        messages,
        accountId,
      );
    },
  };

  return { mailboxes, subscriptions, messageReads, expunges, blobsParsed, changes, usage };
}

/** The snapshot reads of Db.peek on the read-only connection (SqliteHandle.readStmt). */
export function sqlitePeeker(h: SqliteHandle): Peeker {
  return {
    location: (mailboxId, uid) => {
      const r = h
        .readStmt(
          `SELECT b.sha256, b.size, p.data FROM message m JOIN blob b ON b.id = m.blob_id
           LEFT JOIN delivery_prefix p ON p.id = m.prefix_id
           WHERE m.mailbox_id = ? AND m.uid = ?`,
        )
        .raw(true)
        .get(mailboxId, uid) as [string, number, Uint8Array | null] | undefined;
      return r ? { sha256: r[0], blobSize: Number(r[1]), prefix: r[2] } : null;
    },
  };
}
