import type Database from "better-sqlite3";
import { type Kysely, sql } from "kysely";
import type { ParsedMessage } from "../../mime/types.ts";
import type { FsBlobStore } from "../blob/fs.ts";
import { isBlobNotFound } from "../blob/port.ts";
import type { ChangeBuffer } from "../changes.ts";
import { DbNotFound } from "../db/port.ts";
import type { SqliteDb } from "../db/sqlite/db.ts";
import { SqliteJobs } from "../db/sqlite/jobs.ts";
import type { DB } from "../db/sqlite/schema.ts";
import type { SqliteHandle } from "../db/sqlite/sqlite.ts";
import { Accounts } from "../domain/accounts.ts";
import { Aliases } from "../domain/aliases.ts";
import { type DomainDeps, TxContext } from "../domain/context.ts";
import { deliver } from "../domain/delivery.ts";
import { Limits } from "../domain/limits.ts";
import { MessageWrites, moveRows } from "../domain/messages-write.ts";
import { Queue } from "../domain/queue.ts";
import { parseFlagText } from "../flags.ts";
import type { KeyStore } from "../keys/port.ts";
import type { LockService } from "../locks/port.ts";
import type { MimeFns } from "../mime-fns.ts";
import { DELIM, normalizeMailboxName, parentNames } from "../names.ts";
import type { Fts5Search } from "../search/fts.ts";
import {
  type AccountChanges,
  type AppendInput,
  type AppendResult,
  type ChangeFeed,
  type ChangeKind,
  type ChangesSince,
  type CopyResult,
  type DeliveryTarget,
  type FlagOp,
  type FlagTextRows,
  type Id,
  type Mailbox,
  type MailboxCounts,
  type MessageContent,
  type MessageFlagsRow,
  type MessageMeta,
  type SpecialUse,
  type Store,
  StoreError,
  type StoreFlagsResult,
  type TextQuery,
} from "../types.ts";
import * as changeLog from "./changelog.ts";

export const DEFAULT_MAX_MESSAGE_SIZE = 50 * 1024 * 1024;

const SPECIAL_USES = new Set<string>([
  "\\Drafts",
  "\\Sent",
  "\\Trash",
  "\\Junk",
  "\\Archive",
  "\\All",
  "\\Flagged",
]);

/** uid lists up to this size are looked up one by one; larger ones by one range scan */
const POINT_LOOKUP_MAX = 64;
const PARSED_CACHE_MAX = 2000;

export interface SqlStoreOptions {
  /** the locks port's adapter (store/locks) */
  locks: LockService;
  /** the keys port's adapter (store/keys) */
  keys: KeyStore;
  /** orphan-file scan this long after open; null = not at open (collectGarbage() still does it) */
  orphanScanDelayMs?: number | null;
  /** minimum age of an unreferenced blob file or temp file before the orphan scan removes it */
  orphanMinAgeMs?: number;
  /** change-log and expunge-log history kept, in days (store.change_log_days); 0 = forever. Default 90 */
  changeLogDays?: number;
  /** first background pruning run this long after open, then hourly; null = none. Default 60 s */
  pruneDelayMs?: number | null;
}

/**
 * What the mailbox code still written on SQLite here gets: the one transaction context
 * (domain/context.ts TxContext: modseq, beacons, GC marks, change log) plus the transaction's
 * kysely connection. Goes away when the mailbox code moves to domain/ (phase B).
 */
interface TxCtx {
  k: Kysely<DB>;
  t: TxContext;
  changes: ChangeBuffer;
}

interface MailboxRowRaw {
  id: number;
  account_id: number;
  name: string;
  uidvalidity: number;
  uidnext: number;
  special_use: string | null;
  hms: string;
  sub: number | boolean;
}

const MAILBOX_SELECT = `SELECT m.id, m.account_id, m.name, m.uidvalidity, m.uidnext, m.special_use,
  CAST(m.highestmodseq AS TEXT) AS hms,
  EXISTS (SELECT 1 FROM subscription s WHERE s.account_id = m.account_id AND s.name = m.name) AS sub
  FROM mailbox m`;

function toMailbox(r: MailboxRowRaw): Mailbox {
  return {
    id: Number(r.id),
    accountId: Number(r.account_id),
    name: r.name,
    uidValidity: Number(r.uidvalidity),
    uidNext: Number(r.uidnext),
    highestModseq: BigInt(r.hms),
    specialUse: (r.special_use as SpecialUse | null) ?? null,
    subscribed: Boolean(Number(r.sub)),
  };
}

function uniqueSorted(uids: readonly number[]): number[] {
  const out = [...new Set(uids.filter((u) => Number.isSafeInteger(u) && u > 0))];
  out.sort((a, b) => a - b);
  return out;
}

export class SqlStore implements Store {
  readonly feed: ChangeFeed;
  readonly locks: LockService;
  readonly keys: KeyStore;
  readonly #db: SqliteDb;
  readonly #h: SqliteHandle;
  // the mail logic already on the db port (docs/architecture.md "Store layers")
  readonly #acc: Accounts;
  readonly #ali: Aliases;
  readonly #queue: Queue;
  readonly #limits: Limits;
  readonly #blobs: FsBlobStore;
  readonly #search: Fts5Search;
  readonly #mime: MimeFns;
  readonly #parsedCache = new Map<string, ParsedMessage>();
  #parserVersion: number | null = null;
  readonly #deps: DomainDeps;
  readonly #writes: MessageWrites;
  readonly #jobs: SqliteJobs;

  constructor(
    db: SqliteDb,
    blobs: FsBlobStore,
    search: Fts5Search,
    mime: MimeFns,
    feed: ChangeFeed,
    maxMessageSize: number,
    opts: SqlStoreOptions,
  ) {
    this.#db = db;
    this.#h = db.handle;
    this.#jobs = new SqliteJobs(db.handle, blobs, search, {
      orphanScanDelayMs: opts.orphanScanDelayMs,
      orphanMinAgeMs: opts.orphanMinAgeMs,
      changeLogDays: opts.changeLogDays,
      pruneDelayMs: opts.pruneDelayMs,
      onBlobDeleted: (sha) => this.#parsedCache.delete(sha),
    });
    const deps: DomainDeps = {
      db,
      feed,
      scheduleGc: () => this.#jobs.scheduleGc(),
      scheduleIndex: () => this.#jobs.scheduleIndex(),
      maxMessageSize,
      blobs,
      mime,
    };
    this.#deps = deps;
    this.#acc = new Accounts(deps);
    this.#ali = new Aliases(deps);
    this.#queue = new Queue(deps);
    this.#limits = new Limits(deps);
    this.#writes = new MessageWrites(deps);
    this.#blobs = blobs;
    this.#search = search;
    this.#mime = mime;
    this.feed = feed;
    this.locks = opts.locks;
    this.keys = opts.keys;
  }

  // --- plumbing ---------------------------------------------------------------------------

  #stmt(text: string, safe = false): Database.Statement {
    return this.#h.stmt(text, safe);
  }

  #all(text: string, safe: boolean, ...args: unknown[]): unknown[][] {
    return this.#stmt(text, safe)
      .raw(true)
      .all(...args) as unknown[][];
  }

  #get<T>(text: string, ...args: unknown[]): T | undefined {
    return this.#stmt(text)
      .raw(false)
      .get(...args) as T | undefined;
  }

  #run(text: string, ...args: unknown[]): Database.RunResult {
    return this.#stmt(text).run(...args);
  }

  /**
   * Object rows with a modseq column read as plain numbers (fast path) and returned as bigint.
   * If any value is beyond 2^53 the query is re-run with safe integers, so no precision is lost.
   */
  #modseqRows(text: string, ...args: unknown[]): Array<Record<string, unknown> & { modseq: bigint }> {
    const rows = this.#stmt(text, false)
      .raw(false)
      .all(...args) as Array<Record<string, unknown>>;
    let safe = true;
    for (const r of rows) {
      const m = r.modseq as number;
      if (!Number.isSafeInteger(m)) {
        safe = false;
        break;
      }
      r.modseq = BigInt(m);
    }
    if (safe) return rows as Array<Record<string, unknown> & { modseq: bigint }>;
    return this.#stmt(text, true)
      .raw(false)
      .all(...args) as Array<Record<string, unknown> & { modseq: bigint }>;
  }

  #read<T>(fn: (k: Kysely<DB>) => Promise<T> | T): Promise<T> {
    return this.#h.withConnection(fn);
  }

  /** A write transaction with the one transaction context (see TxCtx). */
  #tx<T>(fn: (t: TxCtx) => Promise<T> | T): Promise<T> {
    return this.#db.writeWithKysely(async (tx, k) => {
      const t = new TxContext(tx, this.#deps);
      const r = await fn({ k, t, changes: t.changes });
      await t.finish();
      return r;
    });
  }

  /** The account's modseq of this transaction (TxContext's, taken synchronously on SQLite). */
  #modseq(ctx: TxCtx, accountId: number): bigint {
    let m = ctx.t.modseqs.get(accountId);
    if (m === undefined) {
      let v: bigint | Promise<bigint>;
      try {
        v = ctx.t.tx.accounts.nextModseq(accountId);
      } catch (err) {
        if (err instanceof DbNotFound) throw new StoreError("NONEXISTENT", "no such account");
        throw err;
      }
      if (typeof v !== "bigint") throw new Error("SQLite operations are synchronous");
      m = v;
      ctx.t.modseqs.set(accountId, m);
    }
    return m;
  }

  #beacon(ctx: TxCtx, accountId: number, mailboxId: number | null, modseq: bigint): void {
    ctx.t.beacon(accountId, mailboxId, modseq);
  }

  /**
   * Runs the sweeper to completion now (marked blobs), and with `orphanMinAgeMs` also the orphan
   * scan (db/sqlite/jobs.ts). Returns the number of orphan files removed.
   */
  collectGarbage(opts: { orphanMinAgeMs?: number } = {}): Promise<number> {
    return this.#jobs.collectGarbage(opts);
  }

  /** Resolves when the background sweeper and FTS indexer have nothing left to do. */
  whenGcIdle(): Promise<void> {
    return this.#jobs.whenIdle();
  }

  // Hot single-row lookups are cached prepared statements (kysely would compile and prepare the
  // query on every call: measured ~15 % of a worker's CPU during SMTP ingest).

  #mailboxByName(accountId: number, name: string): Mailbox | null {
    const r = this.#get<MailboxRowRaw>(
      `${MAILBOX_SELECT} WHERE m.account_id = ? AND m.name = ?`,
      accountId,
      name,
    );
    return r ? toMailbox(r) : null;
  }

  #mailboxById(id: number): Mailbox | null {
    const r = this.#get<MailboxRowRaw>(`${MAILBOX_SELECT} WHERE m.id = ?`, id);
    return r ? toMailbox(r) : null;
  }

  /** hot-path lookup of the fields message operations need */
  #mailboxCore(id: number): { accountId: number; uidValidity: number; uidNext: number } {
    const r = this.#get<{ account_id: number; uidvalidity: number; uidnext: number }>(
      "SELECT account_id, uidvalidity, uidnext FROM mailbox WHERE id = ?",
      id,
    );
    if (!r) throw new StoreError("NONEXISTENT", "no such mailbox");
    return { accountId: r.account_id, uidValidity: r.uidvalidity, uidNext: r.uidnext };
  }

  /** UIDVALIDITY: seconds-based and strictly increasing per account, so a recreated name gets a new one */
  #nextUidValidity(accountId: number): number {
    const row = this.#get<{ last_uidvalidity: number }>(
      "SELECT last_uidvalidity FROM account WHERE id = ?",
      accountId,
    );
    if (!row) throw new StoreError("NONEXISTENT", "no such account");
    const v = Math.max(Math.floor(Date.now() / 1000), row.last_uidvalidity + 1);
    if (v > 0xffffffff) throw new StoreError("LIMIT", "UIDVALIDITY space exhausted");
    this.#run("UPDATE account SET last_uidvalidity = ? WHERE id = ?", v, accountId);
    return v;
  }

  async #insertMailbox(
    ctx: TxCtx,
    accountId: number,
    name: string,
    specialUse: SpecialUse | null,
  ): Promise<number> {
    const modseq = this.#modseq(ctx, accountId);
    const r = await ctx.k
      .insertInto("mailbox")
      .values({
        account_id: accountId,
        name,
        uidvalidity: this.#nextUidValidity(accountId),
        uidnext: 1,
        highestmodseq: modseq,
        special_use: specialUse,
        created_at: Date.now(),
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    this.#beacon(ctx, accountId, null, modseq);
    ctx.changes.touch(accountId, "mailbox", String(r.id), "create");
    return Number(r.id);
  }

  #subtractUsage(accountId: number, bytes: number, messages: number): void {
    this.#run(
      `UPDATE account SET used_bytes = CASE WHEN used_bytes > ? THEN used_bytes - ? ELSE 0 END,
         used_messages = CASE WHEN used_messages > ? THEN used_messages - ? ELSE 0 END WHERE id = ?`,
      bytes,
      bytes,
      messages,
      messages,
      accountId,
    );
  }

  #dropPrefixes(ids: Iterable<number>): void {
    const st = this.#stmt(
      "DELETE FROM delivery_prefix WHERE id = ? AND NOT EXISTS (SELECT 1 FROM message WHERE prefix_id = ?)",
    );
    for (const id of ids) st.run(id, id);
  }

  /** Collects blob and prefix ids of whole mailboxes/accounts before a cascading delete. */
  #collectForDelete(ctx: TxCtx, where: string, arg: number): void {
    ctx.t.releaseBlobs(
      this.#all(`SELECT DISTINCT blob_id FROM message WHERE ${where}`, false, arg).map((r) => Number(r[0])),
    );
  }

  #prefixIds(where: string, arg: number): number[] {
    return this.#all(
      `SELECT DISTINCT prefix_id FROM message WHERE ${where} AND prefix_id IS NOT NULL`,
      false,
      arg,
    ).map((r) => Number(r[0]));
  }

  // --- domains, accounts, aliases, outbound queue, sending limits: domain/ over the db port ---

  readonly addDomain: Store["addDomain"] = (n) => this.#acc.addDomain(n);
  readonly listDomains: Store["listDomains"] = () => this.#acc.listDomains();
  readonly deleteDomain: Store["deleteDomain"] = (n, o) => this.#acc.deleteDomain(n, o);
  readonly getDomain: Store["getDomain"] = (n) => this.#acc.getDomain(n);
  readonly createAccount: Store["createAccount"] = (a, h) => this.#acc.createAccount(a, h);
  readonly getAccount: Store["getAccount"] = (a) => this.#acc.getAccount(a);
  readonly getAccountById: Store["getAccountById"] = (id) => this.#acc.getAccountById(id);
  readonly listAccounts: Store["listAccounts"] = (d) => this.#acc.listAccounts(d);
  readonly setPassword: Store["setPassword"] = (a, h) => this.#acc.setPassword(a, h);
  readonly updateAccount: Store["updateAccount"] = (a, p) => this.#acc.updateAccount(a, p);
  readonly deleteAccount: Store["deleteAccount"] = (a) => this.#acc.deleteAccount(a);
  readonly addAlias: Store["addAlias"] = (s, t) => this.#ali.addAlias(s, t);
  readonly listAliases: Store["listAliases"] = (d) => this.#ali.listAliases(d);
  readonly deleteAlias: Store["deleteAlias"] = (s, t) => this.#ali.deleteAlias(s, t);
  readonly resolveRecipient: Store["resolveRecipient"] = (a) => this.#ali.resolveRecipient(a);
  readonly addressesOf: Store["addressesOf"] = (id) => this.#ali.addressesOf(id);
  readonly enqueueOutbound: Store["enqueueOutbound"] = (i) => this.#queue.enqueueOutbound(i);
  readonly listQueue: Store["listQueue"] = () => this.#queue.listQueue();
  readonly getQueuedMessage: Store["getQueuedMessage"] = (id) => this.#queue.getQueuedMessage(id);
  readonly getQueueEntry: Store["getQueueEntry"] = (id) => this.#queue.getQueueEntry(id);
  readonly claimOutbound: Store["claimOutbound"] = (o) => this.#queue.claimOutbound(o);
  readonly finishOutbound: Store["finishOutbound"] = (id, o, r) => this.#queue.finishOutbound(id, o, r);
  readonly releaseOutboundLease: Store["releaseOutboundLease"] = (id, o) =>
    this.#queue.releaseOutboundLease(id, o);
  readonly renewOutboundLease: Store["renewOutboundLease"] = (id, o, ms) =>
    this.#queue.renewOutboundLease(id, o, ms);
  readonly countOutbound: Store["countOutbound"] = (id) => this.#queue.countOutbound(id);
  readonly updateOutbound: Store["updateOutbound"] = (id, op) => this.#queue.updateOutbound(id, op);
  readonly deleteOutbound: Store["deleteOutbound"] = (id) => this.#queue.deleteOutbound(id);
  readonly recordSending: Store["recordSending"] = (id, n, l) => this.#limits.recordSending(id, n, l);

  // --- mailboxes --------------------------------------------------------------------------

  async listMailboxes(accountId: Id): Promise<Mailbox[]> {
    const rows = await this.#read(() =>
      this.#stmt(
        `${MAILBOX_SELECT} WHERE m.account_id = ? ORDER BY CASE WHEN m.name = 'INBOX' THEN 0 ELSE 1 END, m.name`,
      )
        .raw(false)
        .all(accountId),
    );
    return (rows as MailboxRowRaw[]).map(toMailbox);
  }

  async getMailbox(accountId: Id, name: string): Promise<Mailbox | null> {
    let n: string;
    try {
      n = normalizeMailboxName(name);
    } catch {
      return null;
    }
    return this.#read(() => this.#mailboxByName(accountId, n));
  }

  async getMailboxById(mailboxId: Id): Promise<Mailbox | null> {
    return this.#read(() => this.#mailboxById(mailboxId));
  }

  async createMailbox(accountId: Id, name: string, specialUse: SpecialUse | null = null): Promise<Mailbox> {
    const n = normalizeMailboxName(name);
    if (specialUse !== null && !SPECIAL_USES.has(specialUse)) {
      throw new StoreError("INVALID", `unknown special-use ${specialUse}`);
    }
    const id = await this.#tx(async (ctx) => {
      if (this.#mailboxByName(accountId, n)) throw new StoreError("ALREADYEXISTS", `mailbox ${n} exists`);
      // RFC 9051 §6.3.4: create superior hierarchical names that do not exist yet
      for (const p of parentNames(n)) {
        if (!this.#mailboxByName(accountId, p)) await this.#insertMailbox(ctx, accountId, p, null);
      }
      return this.#insertMailbox(ctx, accountId, n, specialUse);
    });
    const mb = await this.getMailboxById(id);
    if (!mb) throw new StoreError("NONEXISTENT", "mailbox vanished");
    return mb;
  }

  async deleteMailbox(accountId: Id, name: string): Promise<void> {
    const n = normalizeMailboxName(name);
    // RFC 9051 §6.3.5: INBOX cannot be deleted
    if (n === "INBOX") throw new StoreError("CANNOT", "INBOX cannot be deleted");
    await this.#tx(async (ctx) => {
      const mb = this.#mailboxByName(accountId, n);
      if (!mb) throw new StoreError("NONEXISTENT", `no mailbox ${n}`);
      const sums = this.#all(
        "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM message WHERE mailbox_id = ?",
        false,
        mb.id,
      )[0]!;
      this.#collectForDelete(ctx, "mailbox_id = ?", mb.id);
      const prefixes = this.#prefixIds("mailbox_id = ?", mb.id);
      const modseq = this.#modseq(ctx, accountId);
      // its Emails lose a mailbox (destroyed unless another mailbox holds them: end of the tx)
      for (const r of this.#all(
        "SELECT DISTINCT email_id, thread_id FROM message WHERE mailbox_id = ?",
        false,
        mb.id,
      )) {
        ctx.changes.touch(accountId, "email", String(r[0]), "remove", String(r[1]));
      }
      ctx.changes.touch(accountId, "mailbox", String(mb.id), "destroy");
      // children stay (RFC 9051 §6.3.5); subscriptions outlive the mailbox (RFC 9051 §6.3.7)
      await ctx.k.deleteFrom("mailbox").where("id", "=", mb.id).execute();
      this.#dropPrefixes(prefixes);
      this.#subtractUsage(accountId, Number(sums[1]), Number(sums[0]));
      this.#beacon(ctx, accountId, mb.id, modseq);
      this.#beacon(ctx, accountId, null, modseq);
    });
  }

  async renameMailbox(accountId: Id, from: string, to: string): Promise<void> {
    const src = normalizeMailboxName(from);
    const dst = normalizeMailboxName(to);
    if (dst === "INBOX") throw new StoreError("ALREADYEXISTS", "INBOX exists");
    if (dst === src) throw new StoreError("ALREADYEXISTS", `mailbox ${dst} exists`);
    if (dst.startsWith(src + DELIM)) throw new StoreError("CANNOT", "cannot rename a mailbox into itself");
    await this.#tx(async (ctx) => {
      const mb = this.#mailboxByName(accountId, src);
      if (!mb) throw new StoreError("NONEXISTENT", `no mailbox ${src}`);
      if (this.#mailboxByName(accountId, dst)) throw new StoreError("ALREADYEXISTS", `mailbox ${dst} exists`);
      const modseq = this.#modseq(ctx, accountId);
      for (const p of parentNames(dst)) {
        if (!this.#mailboxByName(accountId, p)) await this.#insertMailbox(ctx, accountId, p, null);
      }
      if (src === "INBOX") {
        // RFC 9051 §6.3.6: renaming INBOX moves its messages to a new mailbox; INBOX stays
        // (empty) and its inferior names are unaffected
        const newId = await this.#insertMailbox(ctx, accountId, dst, null);
        const uids = this.#all("SELECT uid FROM message WHERE mailbox_id = ? ORDER BY uid", false, mb.id).map(
          (r) => Number(r[0]),
        );
        await moveRows(ctx.t, mb.id, accountId, uids, newId, accountId);
        this.#beacon(ctx, accountId, mb.id, modseq);
        this.#beacon(ctx, accountId, newId, modseq);
        return;
      }
      const children = await ctx.k
        .selectFrom("mailbox")
        .select(["id", "name"])
        .where("account_id", "=", accountId)
        .where(sql<boolean>`substr(name, 1, ${src.length + 1}) = ${src + DELIM}`)
        .execute();
      const renames: Array<[number, string, string]> = [[mb.id, src, dst]];
      for (const c of children) renames.push([c.id, c.name, dst + c.name.slice(src.length)]);
      for (const [, , newName] of renames.slice(1)) {
        if (this.#mailboxByName(accountId, newName)) {
          throw new StoreError("ALREADYEXISTS", `mailbox ${newName} exists`);
        }
      }
      for (const [id, oldName, newName] of renames) {
        await ctx.k
          .updateTable("mailbox")
          .set({ name: newName, highestmodseq: modseq })
          .where("id", "=", id)
          .execute();
        ctx.changes.touch(accountId, "mailbox", String(id), "update");
        // subscriptions follow the renamed mailboxes
        const moved = await ctx.k
          .deleteFrom("subscription")
          .where("account_id", "=", accountId)
          .where("name", "=", oldName)
          .executeTakeFirst();
        if (Number(moved.numDeletedRows) > 0) {
          await ctx.k
            .insertInto("subscription")
            .values({ account_id: accountId, name: newName })
            .onConflict((oc) => oc.doNothing())
            .execute();
        }
        this.#beacon(ctx, accountId, id, modseq);
      }
      this.#beacon(ctx, accountId, null, modseq);
    });
  }

  async setSubscribed(accountId: Id, name: string, subscribed: boolean): Promise<void> {
    const n = normalizeMailboxName(name);
    await this.#tx(async (ctx) => {
      if (subscribed) {
        // RFC 9051 §6.3.7: we only allow subscribing to mailboxes that exist
        if (!this.#mailboxByName(accountId, n)) throw new StoreError("NONEXISTENT", `no mailbox ${n}`);
        await ctx.k
          .insertInto("subscription")
          .values({ account_id: accountId, name: n })
          .onConflict((oc) => oc.doNothing())
          .execute();
      } else {
        await ctx.k
          .deleteFrom("subscription")
          .where("account_id", "=", accountId)
          .where("name", "=", n)
          .execute();
      }
      this.#beacon(ctx, accountId, null, this.#modseq(ctx, accountId));
      // JMAP Mailbox isSubscribed (RFC 8621 §2): the mailbox of that name, if any, changed
      const mb = this.#mailboxByName(accountId, n);
      if (mb) ctx.changes.touch(accountId, "mailbox", String(mb.id), "update");
    });
  }

  async listSubscriptions(accountId: Id): Promise<string[]> {
    const rows = await this.#read((k) =>
      k
        .selectFrom("subscription")
        .select("name")
        .where("account_id", "=", accountId)
        .orderBy("name")
        .execute(),
    );
    return rows.map((r) => r.name);
  }

  async mailboxCounts(mailboxId: Id): Promise<MailboxCounts> {
    return this.#read(() => {
      this.#mailboxCore(mailboxId);
      const r = this.#all(
        `SELECT COUNT(*), COALESCE(SUM(size), 0),
                COALESCE(SUM(CASE WHEN (flag_bits & 1) = 0 THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN (flag_bits & 8) <> 0 THEN 1 ELSE 0 END), 0)
         FROM message WHERE mailbox_id = ?`,
        false,
        mailboxId,
      )[0]!;
      return { messages: Number(r[0]), size: Number(r[1]), unseen: Number(r[2]), deleted: Number(r[3]) };
    });
  }

  // --- messages ---------------------------------------------------------------------------

  async append(accountId: Id, mailboxId: Id, input: AppendInput): Promise<AppendResult> {
    const [r] = await this.appendMany(accountId, mailboxId, [input]);
    return r!;
  }

  appendMany(accountId: Id, mailboxId: Id, inputs: AppendInput[]): Promise<AppendResult[]> {
    return this.#writes.appendMany(accountId, mailboxId, inputs);
  }

  deliver(raw: Uint8Array, targets: DeliveryTarget[]): Promise<AppendResult[]> {
    return deliver(
      this.#deps,
      this.#writes,
      async (accountId, name) => (await this.getMailbox(accountId, name))?.id ?? null,
      raw,
      targets,
    );
  }

  async listMessages(mailboxId: Id): Promise<MessageFlagsRow[]> {
    return this.#read(() => {
      this.#mailboxCore(mailboxId);
      const rows = this.#modseqRows(
        "SELECT uid, flags, modseq FROM message WHERE mailbox_id = ? ORDER BY uid",
        mailboxId,
      );
      const out: MessageFlagsRow[] = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        out[i] = { uid: r.uid as number, flags: parseFlagText(r.flags as string), modseq: r.modseq };
      }
      return out;
    });
  }

  async listFlagText(mailboxId: Id): Promise<FlagTextRows> {
    return this.#read(() => {
      const hm = this.#stmt("SELECT highestmodseq FROM mailbox WHERE id = ?", true)
        .raw(true)
        .get(mailboxId) as [bigint] | undefined;
      if (!hm) throw new StoreError("NONEXISTENT", "no such mailbox");
      // raw arrays: no row objects, no flag splitting (the bulk FETCH/SELECT path)
      const rows = this.#all(
        "SELECT uid, flags, modseq FROM message WHERE mailbox_id = ? ORDER BY uid",
        false,
        mailboxId,
      );
      const n = rows.length;
      const uids = new Uint32Array(n);
      const flags: string[] = new Array(n);
      const modseqs: Array<number | bigint> = new Array(n);
      let unsafe = false;
      for (let i = 0; i < n; i++) {
        const r = rows[i]!;
        uids[i] = r[0] as number;
        flags[i] = r[1] as string;
        const m = r[2] as number;
        if (!Number.isSafeInteger(m)) unsafe = true;
        modseqs[i] = m;
      }
      if (unsafe) {
        // a modseq beyond 2^53: re-read them exactly
        const exact = this.#all(
          "SELECT modseq FROM message WHERE mailbox_id = ? ORDER BY uid",
          true,
          mailboxId,
        );
        for (let i = 0; i < n && i < exact.length; i++) modseqs[i] = exact[i]![0] as bigint;
      }
      return { uids, flags, modseqs, highestModseq: hm[0] };
    });
  }

  async claimRecent(mailboxId: Id, uptoUid: number): Promise<number> {
    const read = (): number => {
      const r = this.#stmt("SELECT first_recent_uid FROM mailbox WHERE id = ?").raw(true).get(mailboxId) as
        | [number]
        | undefined;
      if (!r) throw new StoreError("NONEXISTENT", "no such mailbox");
      return Number(r[0]);
    };
    // the value only grows: when it is already at or above uptoUid there is nothing to claim
    const cur = await this.#read(read);
    if (cur >= uptoUid) return cur;
    // RFC 3501 §2.3.2: a message is \Recent in one session only; the write lock (BEGIN
    // IMMEDIATE) makes read-and-raise atomic across processes
    return this.#h.transaction(() => {
      const prev = read();
      if (prev < uptoUid) {
        this.#run("UPDATE mailbox SET first_recent_uid = ? WHERE id = ?", uptoUid, mailboxId);
      }
      return prev;
    });
  }

  async recentCount(mailboxId: Id): Promise<number> {
    return this.#read(() => {
      const r = this.#stmt(
        `SELECT COUNT(*) FROM message
          WHERE mailbox_id = ? AND uid >= (SELECT first_recent_uid FROM mailbox WHERE id = ?)`,
      )
        .raw(true)
        .get(mailboxId, mailboxId) as [number];
      return Number(r[0]);
    });
  }

  async changesSince(mailboxId: Id, modseq: bigint): Promise<ChangesSince> {
    return this.#read(() => {
      const mb = this.#stmt("SELECT uidnext, highestmodseq, expunge_floor FROM mailbox WHERE id = ?", true)
        .raw(true)
        .get(mailboxId) as [bigint, bigint, bigint] | undefined;
      if (!mb) throw new StoreError("NONEXISTENT", "no such mailbox");
      const changed = this.#modseqRows(
        "SELECT uid, flags, modseq FROM message WHERE mailbox_id = ? AND modseq > ? ORDER BY uid",
        mailboxId,
        modseq,
      ).map((r) => ({ uid: r.uid as number, flags: parseFlagText(r.flags as string), modseq: r.modseq }));
      const uidNext = Number(mb[0]);
      // the expunge log is complete only above expunge_floor (older rows are pruned): from an
      // older modseq every uid below UIDNEXT that is not here may have vanished, and is reported
      // as such — VANISHED (EARLIER) may name uids the client never had (RFC 7162 §3.2.5.2, §3.2.10)
      const expunged =
        modseq < mb[2]
          ? changeLog.absentUids((t) => this.#stmt(t), mailboxId, uidNext)
          : this.#all(
              "SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid",
              false,
              mailboxId,
              modseq,
            ).map((r) => Number(r[0]));
      return { changed, expunged, highestModseq: mb[1], uidNext };
    });
  }

  // --- account change log ------------------------------------------------------------------

  async currentState(accountId: Id): Promise<string> {
    return this.#read(() => changeLog.currentState((t, safe) => this.#stmt(t, safe), accountId));
  }

  async changesSinceState(
    accountId: Id,
    kind: ChangeKind,
    sinceState: string,
    maxChanges?: number,
  ): Promise<AccountChanges | "cannotCalculateChanges"> {
    return this.#read(() =>
      changeLog.changesSinceState((t, safe) => this.#stmt(t, safe), accountId, kind, sinceState, maxChanges),
    );
  }

  pruneHistory(before: Date): Promise<void> {
    return this.#jobs.pruneHistory(before);
  }

  async getMessages(mailboxId: Id, uids: number[]): Promise<MessageMeta[]> {
    return this.#read(() => {
      this.#mailboxCore(mailboxId);
      const list = uniqueSorted(uids);
      if (list.length === 0) return [];
      const cols = `SELECT m.uid, m.email_id, m.thread_id, b.sha256, m.size, m.internal_date, m.save_date, m.flags,
        m.modseq, m.crlf_size FROM message m JOIN blob b ON b.id = m.blob_id`;
      let rows: Array<Record<string, unknown> & { modseq: bigint }>;
      if (list.length <= POINT_LOOKUP_MAX) {
        rows = [];
        for (const u of list)
          rows.push(...this.#modseqRows(`${cols} WHERE m.mailbox_id = ? AND m.uid = ?`, mailboxId, u));
      } else {
        const want = new Set(list);
        rows = this.#modseqRows(
          `${cols} WHERE m.mailbox_id = ? AND m.uid BETWEEN ? AND ? ORDER BY m.uid`,
          mailboxId,
          list[0],
          list[list.length - 1],
        ).filter((r) => want.has(r.uid as number));
      }
      return rows.map((r) => {
        const m: MessageMeta = {
          uid: Number(r.uid),
          emailId: r.email_id as string,
          threadId: r.thread_id as string,
          blobId: r.sha256 as string,
          size: Number(r.size),
          internalDate: new Date(Number(r.internal_date)),
          saveDate: new Date(Number(r.save_date)),
          flags: parseFlagText(r.flags as string),
          modseq: r.modseq,
        };
        // NULL for rows stored before the column existed
        if (r.crlf_size !== null && r.crlf_size !== undefined) m.crlfSize = Number(r.crlf_size);
        return m;
      });
    });
  }

  #currentParserVersion(): number {
    this.#parserVersion ??= this.#mime.parseMessage(new Uint8Array(0)).version;
    return this.#parserVersion;
  }

  async getParsed(blobId: string): Promise<ParsedMessage> {
    const cached = this.#parsedCache.get(blobId);
    if (cached) {
      this.#parsedCache.delete(blobId);
      this.#parsedCache.set(blobId, cached);
      return cached;
    }
    const row = await this.#read(() =>
      this.#get<{ parsed: string | null; parsed_version: number }>(
        "SELECT parsed, parsed_version FROM blob WHERE sha256 = ?",
        blobId,
      ),
    );
    if (!row) throw new StoreError("NOTFOUND", "no such blob");
    let parsed: ParsedMessage;
    if (row.parsed !== null && row.parsed_version >= this.#currentParserVersion()) {
      parsed = JSON.parse(row.parsed) as ParsedMessage;
    } else {
      // cache from an older parser: re-parse once and store the new structure
      let raw: Buffer;
      try {
        raw = await this.#blobs.get(blobId);
      } catch {
        throw new StoreError("NOTFOUND", "blob content missing");
      }
      parsed = this.#mime.parseMessage(raw);
      // a write: in a write transaction (waits for the lock without blocking the event loop);
      // only a cache, so a failure to store it back is not an error
      await this.#h
        .transaction(() =>
          this.#run(
            "UPDATE blob SET parsed = ?, parsed_version = ? WHERE sha256 = ?",
            JSON.stringify(parsed),
            parsed.version,
            blobId,
          ),
        )
        .catch(() => {});
    }
    this.#parsedCache.set(blobId, parsed);
    if (this.#parsedCache.size > PARSED_CACHE_MAX) {
      const oldest = this.#parsedCache.keys().next().value;
      if (oldest !== undefined) this.#parsedCache.delete(oldest);
    }
    return parsed;
  }

  async readMessage(mailboxId: Id, uid: number): Promise<Uint8Array> {
    // one statement on the read-only connection: committed data, not queued behind this
    // process's transactions (see SqliteHandle.readStmt)
    const row = this.#h
      .readStmt(
        `SELECT b.sha256, p.data FROM message m JOIN blob b ON b.id = m.blob_id
         LEFT JOIN delivery_prefix p ON p.id = m.prefix_id
         WHERE m.mailbox_id = ? AND m.uid = ?`,
      )
      .get(mailboxId, uid) as { sha256: string; data: Uint8Array | null } | undefined;
    if (!row) throw new StoreError("NOTFOUND", "no such message");
    let body: Buffer;
    try {
      body = await this.#blobs.get(row.sha256);
    } catch (err) {
      // expunged and collected between the lookup and the read
      if ((err as NodeJS.ErrnoException).code === "ENOENT")
        throw new StoreError("NOTFOUND", "message expunged");
      throw err;
    }
    return row.data && row.data.byteLength > 0 ? Buffer.concat([row.data, body]) : body;
  }

  async openMessage(mailboxId: Id, uid: number): Promise<MessageContent> {
    const row = this.#h
      .readStmt(
        `SELECT b.sha256, b.size, p.data FROM message m JOIN blob b ON b.id = m.blob_id
         LEFT JOIN delivery_prefix p ON p.id = m.prefix_id
         WHERE m.mailbox_id = ? AND m.uid = ?`,
      )
      .get(mailboxId, uid) as { sha256: string; size: number; data: Uint8Array | null } | undefined;
    if (!row) throw new StoreError("NOTFOUND", "no such message");
    const blobs = this.#blobs;
    const prefix = row.data ?? new Uint8Array(0);
    return {
      prefix,
      size: prefix.byteLength + Number(row.size),
      async *blob(range) {
        try {
          yield* blobs.stream(row.sha256, range);
        } catch (err) {
          // expunged and collected between the lookup and the first read
          if (isBlobNotFound(err)) throw new StoreError("NOTFOUND", "message expunged");
          throw err;
        }
      },
    };
  }

  storeFlags(
    mailboxId: Id,
    uids: number[],
    op: FlagOp,
    flags: string[],
    opts?: { unchangedSince?: bigint },
  ): Promise<StoreFlagsResult> {
    return this.#writes.storeFlags(mailboxId, uids, op, flags, opts);
  }

  expunge(mailboxId: Id, uids: number[]): Promise<number[]> {
    return this.#writes.expunge(mailboxId, uids);
  }

  copy(srcMailboxId: Id, uids: number[], dstMailboxId: Id): Promise<CopyResult> {
    return this.#writes.copy(srcMailboxId, uids, dstMailboxId);
  }

  move(srcMailboxId: Id, uids: number[], dstMailboxId: Id): Promise<CopyResult> {
    return this.#writes.move(srcMailboxId, uids, dstMailboxId);
  }

  async searchText(mailboxId: Id, q: TextQuery): Promise<number[]> {
    return this.#read(() => {
      this.#mailboxCore(mailboxId);
      return this.#search.querySync({ mailboxId }, q);
    });
  }

  async close(): Promise<void> {
    // the sweeper stops after its current batch; marks left are collected at the next open
    await this.#jobs.close();
    await this.#db.flush();
    await this.#blobs.close();
    await this.feed.close();
    await this.#db.close();
  }
}
