/**
 * The db port's data operations on SQLite (see db/port.ts for what each one promises). Plain SQL
 * prepared once per connection (SqliteHandle.stmt). Every function here runs inside Db.read / Db.write, i.e. while the connection's
 * mutex is held, and returns plain values (better-sqlite3 is synchronous).
 */

import { parkQueuedSync } from "../../search/fts.ts";
import {
  type AccountRow,
  type AccountsWrite,
  type AliasesWrite,
  type AliasRow,
  type BlobsWrite,
  DbConflict,
  DbNotFound,
  type DomainRow,
  type DomainsWrite,
  type MessageRefs,
  type QueueRow,
  type QueueWrite,
  type SendingWrite,
} from "../port.ts";
import { IN_LIST, listParam, type SqliteHandle } from "./sqlite.ts";

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

/** runs an insert, turning a unique-key violation into DbConflict */
export function unique<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (isUniqueViolation(err)) throw new DbConflict(String((err as Error).message));
    throw err;
  }
}

const ACCOUNT_COLS = `id, domain_id, address, password_hash, quota_bytes, quota_messages, used_bytes,
  used_messages, settings, credentials_version, created_at`;

const ACCOUNT_COLS_A = `a.id, a.domain_id, a.address, a.password_hash, a.quota_bytes, a.quota_messages,
  a.used_bytes, a.used_messages, a.settings, a.credentials_version, a.created_at`;

const QUEUE_COLS =
  "id, account_id, mail_from, recipients, envid, ret, size, status, attempts, next_attempt_at, last_error, created_at, held, lease_owner, lease_until";

function toAccountRow(r: unknown[]): AccountRow {
  return {
    id: Number(r[0]),
    domainId: Number(r[1]),
    address: String(r[2]),
    passwordHash: String(r[3]),
    quotaBytes: Number(r[4]),
    quotaMessages: Number(r[5]),
    usedBytes: Number(r[6]),
    usedMessages: Number(r[7]),
    settings: String(r[8]),
    credentialsVersion: Number(r[9]),
    createdAt: Number(r[10]),
  };
}

function toDomainRow(r: unknown[]): DomainRow {
  return { id: Number(r[0]), name: String(r[1]), createdAt: Number(r[2]) };
}

function toQueueRow(r: unknown[]): QueueRow {
  return {
    id: Number(r[0]),
    accountId: r[1] === null ? null : Number(r[1]),
    mailFrom: String(r[2]),
    recipients: String(r[3]),
    envid: r[4] === null ? null : String(r[4]),
    ret: r[5] === null ? null : String(r[5]),
    size: Number(r[6]),
    status: String(r[7]),
    attempts: Number(r[8]),
    nextAttemptAt: Number(r[9]),
    lastError: r[10] === null ? null : String(r[10]),
    createdAt: Number(r[11]),
    held: Number(r[12] ?? 0) !== 0,
    leaseOwner: r[13] === null || r[13] === undefined ? null : String(r[13]),
    leaseUntil: r[14] === null || r[14] === undefined ? null : Number(r[14]),
  };
}

/** The operations of the port, bound to one connection. Stateless: shared by every transaction. */
export interface SqliteOps {
  domains: DomainsWrite;
  accounts: AccountsWrite;
  aliases: AliasesWrite;
  messages: { refsOfAccount(accountId: number): MessageRefs };
  blobs: Omit<BlobsWrite, "parsed" | "setParsed">;
  queue: QueueWrite;
  sending: SendingWrite;
}

export function sqliteOps(h: SqliteHandle): SqliteOps {
  /** raw rows (arrays) */
  const all = (text: string, ...args: unknown[]): unknown[][] =>
    h
      .stmt(text)
      .raw(true)
      .all(...args) as unknown[][];
  const get = (text: string, ...args: unknown[]): unknown[] | undefined =>
    h
      .stmt(text)
      .raw(true)
      .get(...args) as unknown[] | undefined;
  const run = (text: string, ...args: unknown[]) => h.stmt(text).run(...args);

  const domains: DomainsWrite = {
    byName: (name) => {
      const r = get("SELECT id, name, created_at FROM domain WHERE name = ?", name);
      return r ? toDomainRow(r) : null;
    },
    list: () => all("SELECT id, name, created_at FROM domain ORDER BY name").map(toDomainRow),
    insert: (name, createdAt) =>
      unique(() =>
        Number(run("INSERT INTO domain (name, created_at) VALUES (?, ?)", name, createdAt).lastInsertRowid),
      ),
    delete: (id) => {
      run("DELETE FROM domain WHERE id = ?", id);
    },
  };

  const accounts: AccountsWrite = {
    byId: (id) => {
      const r = get(`SELECT ${ACCOUNT_COLS} FROM account WHERE id = ?`, id);
      return r ? toAccountRow(r) : null;
    },
    byAddress: (address) => {
      const r = get(`SELECT ${ACCOUNT_COLS} FROM account WHERE address = ?`, address);
      return r ? toAccountRow(r) : null;
    },
    list: (domainName) =>
      (domainName === undefined
        ? all(`SELECT ${ACCOUNT_COLS} FROM account ORDER BY address`)
        : all(
            `SELECT ${ACCOUNT_COLS_A} FROM account a JOIN domain d ON d.id = a.domain_id
             WHERE d.name = ? ORDER BY a.address`,
            domainName,
          )
      ).map(toAccountRow),
    idsOfDomain: (domainId) =>
      all("SELECT id FROM account WHERE domain_id = ?", domainId).map((r) => Number(r[0])),
    insert: (a) =>
      unique(() =>
        Number(
          run(
            "INSERT INTO account (domain_id, address, password_hash, settings, created_at) VALUES (?, ?, ?, ?, ?)",
            a.domainId,
            a.address,
            a.passwordHash,
            a.settings,
            a.createdAt,
          ).lastInsertRowid,
        ),
      ),
    setPassword: (address, passwordHash) =>
      run(
        "UPDATE account SET password_hash = ?, credentials_version = credentials_version + 1 WHERE address = ?",
        passwordHash,
        address,
      ).changes > 0,
    update: (id, p) => {
      run(
        "UPDATE account SET quota_bytes = ?, quota_messages = ?, settings = ? WHERE id = ?",
        p.quotaBytes,
        p.quotaMessages,
        p.settings,
        id,
      );
    },
    delete: (id) => {
      run("DELETE FROM account WHERE id = ?", id);
    },
    nextModseq: (accountId) => {
      // safe integers: the counter may pass 2^53
      const row = h
        .stmt("UPDATE account SET modseq = modseq + 1 WHERE id = ? RETURNING modseq", true)
        .raw(true)
        .get(accountId) as [bigint] | undefined;
      if (!row) throw new DbNotFound("no such account");
      return row[0];
    },
    takeUidValidity: (accountId, atLeast) => {
      const row = get("SELECT last_uidvalidity FROM account WHERE id = ?", accountId);
      if (!row) throw new DbNotFound("no such account");
      const v = Math.max(atLeast, Number(row[0]) + 1);
      run("UPDATE account SET last_uidvalidity = ? WHERE id = ?", v, accountId);
      return v;
    },
  };

  const aliases: AliasesWrite = {
    list: (domainName) =>
      (domainName === undefined
        ? all("SELECT source, target, created_at FROM alias ORDER BY source, target")
        : all(
            `SELECT a.source, a.target, a.created_at FROM alias a JOIN domain d ON d.id = a.domain_id
             WHERE d.name = ? ORDER BY a.source, a.target`,
            domainName,
          )
      ).map((r): AliasRow => ({ source: String(r[0]), target: String(r[1]), createdAt: Number(r[2]) })),
    targetAccountIds: (source) =>
      all(
        "SELECT ac.id FROM alias al JOIN account ac ON ac.address = al.target WHERE al.source = ? ORDER BY ac.id",
        source,
      ).map((r) => Number(r[0])),
    sourcesFor: (target) =>
      all("SELECT source FROM alias WHERE target = ? AND source NOT LIKE '@%' ORDER BY source", target).map(
        (r) => String(r[0]),
      ),
    insert: (a) => {
      unique(() =>
        run(
          "INSERT INTO alias (source, target, domain_id, created_at) VALUES (?, ?, ?, ?)",
          a.source,
          a.target,
          a.domainId,
          a.createdAt,
        ),
      );
    },
    delete: (source, target) =>
      (target === null
        ? run("DELETE FROM alias WHERE source = ?", source)
        : run("DELETE FROM alias WHERE source = ? AND target = ?", source, target)
      ).changes,
  };

  const messages: { refsOfAccount(accountId: number): MessageRefs } = {
    refsOfAccount: (accountId) => ({
      blobIds: all("SELECT DISTINCT blob_id FROM message WHERE account_id = ?", accountId).map((r) =>
        Number(r[0]),
      ),
      prefixIds: all(
        "SELECT DISTINCT prefix_id FROM message WHERE account_id = ? AND prefix_id IS NOT NULL",
        accountId,
      ).map((r) => Number(r[0])),
    }),
  };

  const blobs: SqliteOps["blobs"] = {
    markUnreferenced: (blobIds) => {
      const ids = [...blobIds];
      if (ids.length === 0) return 0;
      // a blob an expunged message of the undelete window still holds is left unmarked: removing
      // that row marks it (trigger deleted_message_release, migration 15)
      const marked = h
        .stmt(
          `UPDATE blob SET gc_pending = 1 WHERE id ${IN_LIST} AND gc_pending = 0
             AND NOT EXISTS (SELECT 1 FROM message WHERE blob_id = blob.id)
             AND NOT EXISTS (SELECT 1 FROM deleted_message WHERE blob_id = blob.id) RETURNING id`,
        )
        .raw(true)
        .all(listParam(ids)) as unknown[][];
      // a text still waiting for the indexer is not indexed for the sweeper to delete
      for (const r of marked) parkQueuedSync(h.stmt, Number(r[0]));
      return marked.length;
    },
    dropUnreferencedPrefixes: (prefixIds) => {
      const st = h.stmt(
        "DELETE FROM delivery_prefix WHERE id = ? AND NOT EXISTS (SELECT 1 FROM message WHERE prefix_id = ?)",
      );
      for (const id of prefixIds) st.run(id, id);
    },
  };

  const queue: QueueWrite = {
    list: () => all(`SELECT ${QUEUE_COLS} FROM outbound_queue ORDER BY id`).map(toQueueRow),
    get: (id) => {
      const r = get(`SELECT ${QUEUE_COLS} FROM outbound_queue WHERE id = ?`, id);
      return r ? toQueueRow(r) : null;
    },
    message: (id) => {
      const r = get("SELECT message FROM outbound_queue WHERE id = ?", id);
      return r ? (r[0] as Uint8Array) : null;
    },
    count: (accountId) => {
      const r = get(
        "SELECT COUNT(*), SUM(CASE WHEN account_id = ? THEN 1 ELSE 0 END) FROM outbound_queue",
        accountId ?? -1,
      );
      return { total: Number(r?.[0] ?? 0), account: Number(r?.[1] ?? 0) };
    },
    insert: (e) =>
      Number(
        run(
          `INSERT INTO outbound_queue (account_id, mail_from, recipients, envid, ret, message, size, status,
             attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?)`,
          e.accountId,
          e.mailFrom,
          JSON.stringify(e.recipients),
          e.envid,
          e.ret,
          e.message,
          e.message.byteLength,
          e.now,
          e.now,
        ).lastInsertRowid,
      ),
    due: (now, limit) =>
      all(
        `SELECT ${QUEUE_COLS}, message FROM outbound_queue
          WHERE status = 'queued' AND held = 0 AND next_attempt_at <= ?
            AND (lease_until IS NULL OR lease_until <= ?)
          ORDER BY next_attempt_at, id LIMIT ?`,
        now,
        now,
        limit,
      ).map((r) => ({ row: toQueueRow(r), message: r[15] as Uint8Array })),
    lease: (id, owner, until) => {
      run("UPDATE outbound_queue SET lease_owner = ?, lease_until = ? WHERE id = ?", owner, until, id);
    },
    renewLease: (id, owner, until) =>
      run("UPDATE outbound_queue SET lease_until = ? WHERE id = ? AND lease_owner = ?", until, id, owner)
        .changes > 0,
    releaseLease: (id, owner) => {
      run(
        "UPDATE outbound_queue SET lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?",
        id,
        owner,
      );
    },
    recordAttempt: (id, a) => {
      run(
        `UPDATE outbound_queue SET recipients = ?, attempts = attempts + 1, next_attempt_at = ?,
           last_error = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?`,
        JSON.stringify(a.recipients),
        a.nextAttemptAt,
        a.lastError,
        id,
      );
    },
    set: (id, p) => {
      if (p.held !== undefined && p.nextAttemptAt !== undefined)
        return (
          run(
            "UPDATE outbound_queue SET held = ?, next_attempt_at = ? WHERE id = ?",
            p.held ? 1 : 0,
            p.nextAttemptAt,
            id,
          ).changes > 0
        );
      if (p.held !== undefined)
        return run("UPDATE outbound_queue SET held = ? WHERE id = ?", p.held ? 1 : 0, id).changes > 0;
      if (p.nextAttemptAt !== undefined)
        return (
          run("UPDATE outbound_queue SET next_attempt_at = ? WHERE id = ?", p.nextAttemptAt, id).changes > 0
        );
      return get("SELECT 1 FROM outbound_queue WHERE id = ?", id) !== undefined;
    },
    delete: (id) => run("DELETE FROM outbound_queue WHERE id = ?", id).changes > 0,
  };

  const sending: SendingWrite = {
    prune: (accountId, before) => {
      run("DELETE FROM send_log WHERE account_id = ? AND at <= ?", accountId, before);
    },
    usage: (accountId, since) => {
      const r = get(
        "SELECT COUNT(*), SUM(recipients) FROM send_log WHERE account_id = ? AND at > ?",
        accountId,
        since,
      );
      return { messages: Number(r?.[0] ?? 0), recipients: Number(r?.[1] ?? 0) };
    },
    domainUsage: (accountId, since) => {
      const r = get(
        `SELECT COUNT(*), SUM(l.recipients) FROM send_log l
           WHERE l.at > ? AND l.account_id IN
             (SELECT id FROM account WHERE domain_id = (SELECT domain_id FROM account WHERE id = ?))`,
        since,
        accountId,
      );
      return { messages: Number(r?.[0] ?? 0), recipients: Number(r?.[1] ?? 0) };
    },
    record: (accountId, at, recipients) => {
      run("INSERT INTO send_log (account_id, at, recipients) VALUES (?, ?, ?)", accountId, at, recipients);
    },
  };

  return { domains, accounts, aliases, messages, blobs, queue, sending };
}
