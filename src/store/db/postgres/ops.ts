/**
 * The db port's data operations on PostgreSQL (see db/port.ts for what each one promises): the
 * same aggregates as db/sqlite/ops.ts, bound to one transaction's client (Exec) and account guard
 * (pg.ts). Operations that name an account or a mailbox call the guard first, so a write
 * transaction holds its accounts' locks before it reads what it will change.
 */
import {
  type AccountRow,
  type AccountsWrite,
  type AliasesWrite,
  type AliasRow,
  type BlobsWrite,
  DbNotFound,
  type DomainRow,
  type DomainsWrite,
  type MessageRefs,
  type QueueRow,
  type QueueWrite,
  type SendingWrite,
} from "../port.ts";
import { type AccountGuard, big, type Exec, num, numOrNull, strOrNull, unique } from "./pg.ts";

const ACCOUNT_COLS = `id, domain_id, address, password_hash, quota_bytes, quota_messages, used_bytes,
  used_messages, settings, credentials_version, created_at`;

const ACCOUNT_COLS_A = `a.id, a.domain_id, a.address, a.password_hash, a.quota_bytes, a.quota_messages,
  a.used_bytes, a.used_messages, a.settings, a.credentials_version, a.created_at`;

const QUEUE_COLS =
  "id, account_id, mail_from, recipients, envid, ret, size, status, attempts, next_attempt_at, last_error, created_at, held, lease_owner, lease_until";

function toAccountRow(r: unknown[]): AccountRow {
  return {
    id: num(r[0]),
    domainId: num(r[1]),
    address: String(r[2]),
    passwordHash: String(r[3]),
    quotaBytes: num(r[4]),
    quotaMessages: num(r[5]),
    usedBytes: num(r[6]),
    usedMessages: num(r[7]),
    settings: String(r[8]),
    credentialsVersion: num(r[9]),
    createdAt: num(r[10]),
  };
}

function toDomainRow(r: unknown[]): DomainRow {
  return { id: num(r[0]), name: String(r[1]), createdAt: num(r[2]) };
}

function toQueueRow(r: unknown[]): QueueRow {
  return {
    id: num(r[0]),
    accountId: numOrNull(r[1]),
    mailFrom: String(r[2]),
    recipients: String(r[3]),
    envid: strOrNull(r[4]),
    ret: strOrNull(r[5]),
    size: num(r[6]),
    status: String(r[7]),
    attempts: num(r[8]),
    nextAttemptAt: num(r[9]),
    lastError: strOrNull(r[10]),
    createdAt: num(r[11]),
    held: r[12] === true,
    leaseOwner: strOrNull(r[13]),
    leaseUntil: numOrNull(r[14]),
  };
}

/** The operations of db/port.ts's first block, bound to one transaction. */
export interface PgOps {
  domains: DomainsWrite;
  accounts: AccountsWrite;
  aliases: AliasesWrite;
  messages: { refsOfAccount(accountId: number): Promise<MessageRefs> };
  blobs: Pick<BlobsWrite, "markUnreferenced" | "dropUnreferencedPrefixes">;
  queue: QueueWrite;
  sending: SendingWrite;
}

const bytes = (v: unknown): Uint8Array => new Uint8Array(v as Buffer);

export function pgOps(x: Exec, g: AccountGuard): PgOps {
  const all = async (text: string, values?: unknown[]) => (await x(text, values)).rows;
  const one = async (text: string, values?: unknown[]) => (await x(text, values)).rows[0];
  const count = async (text: string, values?: unknown[]) => (await x(text, values)).rowCount;

  const domains: DomainsWrite = {
    byName: async (name) => {
      const r = await one("SELECT id, name, created_at FROM domain WHERE name = $1", [name]);
      return r ? toDomainRow(r) : null;
    },
    list: async () => (await all("SELECT id, name, created_at FROM domain ORDER BY name")).map(toDomainRow),
    insert: (name, createdAt) =>
      unique(async () =>
        num(
          (await one("INSERT INTO domain (name, created_at) VALUES ($1, $2) RETURNING id", [
            name,
            createdAt,
          ]))![0],
        ),
      ),
    delete: async (id) => {
      for (const a of await all("SELECT id FROM account WHERE domain_id = $1 ORDER BY id", [id]))
        await g.account(num(a[0]));
      await x("DELETE FROM domain WHERE id = $1", [id]);
    },
  };

  const accounts: AccountsWrite = {
    byId: async (id) => {
      await g.account(id);
      const r = await one(`SELECT ${ACCOUNT_COLS} FROM account WHERE id = $1`, [id]);
      return r ? toAccountRow(r) : null;
    },
    byAddress: async (address) => {
      const r = await one(`SELECT ${ACCOUNT_COLS} FROM account WHERE address = $1`, [address]);
      return r ? toAccountRow(r) : null;
    },
    list: async (domainName) =>
      (domainName === undefined
        ? await all(`SELECT ${ACCOUNT_COLS} FROM account ORDER BY address`)
        : await all(
            `SELECT ${ACCOUNT_COLS_A} FROM account a JOIN domain d ON d.id = a.domain_id
             WHERE d.name = $1 ORDER BY a.address`,
            [domainName],
          )
      ).map(toAccountRow),
    idsOfDomain: async (domainId) =>
      (await all("SELECT id FROM account WHERE domain_id = $1", [domainId])).map((r) => num(r[0])),
    insert: (a) =>
      unique(async () =>
        num(
          (await one(
            `INSERT INTO account (domain_id, address, password_hash, settings, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id`,
            [a.domainId, a.address, a.passwordHash, a.settings, a.createdAt],
          ))![0],
        ),
      ),
    setPassword: async (address, passwordHash) =>
      (await count(
        "UPDATE account SET password_hash = $1, credentials_version = credentials_version + 1 WHERE address = $2",
        [passwordHash, address],
      )) > 0,
    update: async (id, p) => {
      await g.account(id);
      await x("UPDATE account SET quota_bytes = $1, quota_messages = $2, settings = $3 WHERE id = $4", [
        p.quotaBytes,
        p.quotaMessages,
        p.settings,
        id,
      ]);
    },
    delete: async (id) => {
      await g.account(id);
      await x("DELETE FROM account WHERE id = $1", [id]);
    },
    nextModseq: async (accountId) => {
      await g.account(accountId);
      const r = await one("UPDATE account SET modseq = modseq + 1 WHERE id = $1 RETURNING modseq", [
        accountId,
      ]);
      if (!r) throw new DbNotFound("no such account");
      return big(r[0]);
    },
    takeUidValidity: async (accountId, atLeast) => {
      await g.account(accountId);
      const r = await one(
        `UPDATE account SET last_uidvalidity = GREATEST($2::bigint, last_uidvalidity + 1) WHERE id = $1
         RETURNING last_uidvalidity`,
        [accountId, atLeast],
      );
      if (!r) throw new DbNotFound("no such account");
      return num(r[0]);
    },
  };

  const aliases: AliasesWrite = {
    list: async (domainName) =>
      (domainName === undefined
        ? await all("SELECT source, target, created_at FROM alias ORDER BY source, target")
        : await all(
            `SELECT a.source, a.target, a.created_at FROM alias a JOIN domain d ON d.id = a.domain_id
             WHERE d.name = $1 ORDER BY a.source, a.target`,
            [domainName],
          )
      ).map((r): AliasRow => ({ source: String(r[0]), target: String(r[1]), createdAt: num(r[2]) })),
    targetAccountIds: async (source) =>
      (
        await all(
          "SELECT ac.id FROM alias al JOIN account ac ON ac.address = al.target WHERE al.source = $1 ORDER BY ac.id",
          [source],
        )
      ).map((r) => num(r[0])),
    sourcesFor: async (target) =>
      (
        await all("SELECT source FROM alias WHERE target = $1 AND source NOT LIKE '@%' ORDER BY source", [
          target,
        ])
      ).map((r) => String(r[0])),
    insert: async (a) => {
      await unique(() =>
        x("INSERT INTO alias (source, target, domain_id, created_at) VALUES ($1, $2, $3, $4)", [
          a.source,
          a.target,
          a.domainId,
          a.createdAt,
        ]),
      );
    },
    delete: async (source, target) =>
      target === null
        ? await count("DELETE FROM alias WHERE source = $1", [source])
        : await count("DELETE FROM alias WHERE source = $1 AND target = $2", [source, target]),
  };

  const messages = {
    refsOfAccount: async (accountId: number): Promise<MessageRefs> => {
      await g.account(accountId);
      return {
        blobIds: (await all("SELECT DISTINCT blob_id FROM message WHERE account_id = $1", [accountId])).map(
          (r) => num(r[0]),
        ),
        prefixIds: (
          await all(
            "SELECT DISTINCT prefix_id FROM message WHERE account_id = $1 AND prefix_id IS NOT NULL",
            [accountId],
          )
        ).map((r) => num(r[0])),
      };
    },
  };

  const blobs: PgOps["blobs"] = {
    markUnreferenced: async (blobIds) => {
      const ids = [...blobIds];
      if (ids.length === 0) return 0;
      return count(
        `UPDATE blob SET gc_pending = true WHERE id = ANY($1::bigint[]) AND NOT gc_pending
           AND NOT EXISTS (SELECT 1 FROM message WHERE blob_id = blob.id)`,
        [ids],
      );
    },
    dropUnreferencedPrefixes: async (prefixIds) => {
      const ids = [...prefixIds];
      if (ids.length === 0) return;
      await x(
        `DELETE FROM delivery_prefix WHERE id = ANY($1::bigint[])
           AND NOT EXISTS (SELECT 1 FROM message WHERE prefix_id = delivery_prefix.id)`,
        [ids],
      );
    },
  };

  const queue: QueueWrite = {
    list: async () => (await all(`SELECT ${QUEUE_COLS} FROM outbound_queue ORDER BY id`)).map(toQueueRow),
    get: async (id) => {
      const r = await one(`SELECT ${QUEUE_COLS} FROM outbound_queue WHERE id = $1`, [id]);
      return r ? toQueueRow(r) : null;
    },
    message: async (id) => {
      const r = await one("SELECT message FROM outbound_queue WHERE id = $1", [id]);
      return r ? bytes(r[0]) : null;
    },
    count: async (accountId) => {
      const r = await one(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN account_id = $1 THEN 1 ELSE 0 END), 0) FROM outbound_queue",
        [accountId ?? -1],
      );
      return { total: num(r?.[0] ?? 0), account: num(r?.[1] ?? 0) };
    },
    insert: async (e) =>
      num(
        (await one(
          `INSERT INTO outbound_queue (account_id, mail_from, recipients, envid, ret, message, size, status,
             attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', 0, $8, $9)
           RETURNING id`,
          [
            e.accountId,
            e.mailFrom,
            JSON.stringify(e.recipients),
            e.envid,
            e.ret,
            e.message,
            e.message.byteLength,
            e.now,
            e.now,
          ],
        ))![0],
      ),
    // FOR UPDATE SKIP LOCKED: two nodes claiming at once take disjoint entries (the caller leases
    // them in this transaction); an entry another runner is leasing right now is skipped, not waited for
    due: async (now, limit) =>
      (
        await all(
          `SELECT ${QUEUE_COLS}, message FROM outbound_queue
            WHERE status = 'queued' AND NOT held AND next_attempt_at <= $1
              AND (lease_until IS NULL OR lease_until <= $1)
            ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`,
          [now, limit],
        )
      ).map((r) => ({ row: toQueueRow(r), message: bytes(r[15]) })),
    lease: async (id, owner, until) => {
      await x("UPDATE outbound_queue SET lease_owner = $1, lease_until = $2 WHERE id = $3", [
        owner,
        until,
        id,
      ]);
    },
    renewLease: async (id, owner, until) =>
      (await count("UPDATE outbound_queue SET lease_until = $1 WHERE id = $2 AND lease_owner = $3", [
        until,
        id,
        owner,
      ])) > 0,
    releaseLease: async (id, owner) => {
      await x(
        "UPDATE outbound_queue SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2",
        [id, owner],
      );
    },
    recordAttempt: async (id, a) => {
      await x(
        `UPDATE outbound_queue SET recipients = $1, attempts = attempts + 1, next_attempt_at = $2,
           last_error = $3, lease_owner = NULL, lease_until = NULL WHERE id = $4`,
        [JSON.stringify(a.recipients), a.nextAttemptAt, a.lastError, id],
      );
    },
    set: async (id, p) => {
      if (p.held === undefined && p.nextAttemptAt === undefined)
        return (await one("SELECT 1 FROM outbound_queue WHERE id = $1", [id])) !== undefined;
      return (
        (await count(
          `UPDATE outbound_queue SET held = COALESCE($1::boolean, held),
             next_attempt_at = COALESCE($2::bigint, next_attempt_at) WHERE id = $3`,
          [p.held ?? null, p.nextAttemptAt ?? null, id],
        )) > 0
      );
    },
    delete: async (id) => (await count("DELETE FROM outbound_queue WHERE id = $1", [id])) > 0,
  };

  const sending: SendingWrite = {
    prune: async (accountId, before) => {
      await g.account(accountId);
      await x("DELETE FROM send_log WHERE account_id = $1 AND at <= $2", [accountId, before]);
    },
    usage: async (accountId, since) => {
      await g.account(accountId);
      const r = await one(
        "SELECT COUNT(*), SUM(recipients) FROM send_log WHERE account_id = $1 AND at > $2",
        [accountId, since],
      );
      return { messages: num(r?.[0] ?? 0), recipients: num(r?.[1] ?? 0) };
    },
    domainUsage: async (accountId, since) => {
      const r = await one(
        `SELECT COUNT(*), SUM(l.recipients) FROM send_log l
           WHERE l.at > $1 AND l.account_id IN
             (SELECT id FROM account WHERE domain_id = (SELECT domain_id FROM account WHERE id = $2))`,
        [since, accountId],
      );
      return { messages: num(r?.[0] ?? 0), recipients: num(r?.[1] ?? 0) };
    },
    record: async (accountId, at, recipients) => {
      await g.account(accountId);
      await x("INSERT INTO send_log (account_id, at, recipients) VALUES ($1, $2, $3)", [
        accountId,
        at,
        recipients,
      ]);
    },
  };

  return { domains, accounts, aliases, messages, blobs, queue, sending };
}
