/**
 * The Store: wiring only. The mail logic is in store/domain (written once, against the ports);
 * this class gives it a db adapter, a blob adapter, a search adapter and the adapter's background
 * jobs (SQLite: index.ts openStore; PostgreSQL: postgres.ts openPostgresStore), and hands every
 * Store method to the domain module that owns it (docs/architecture.md "Store layers").
 *
 * Concurrency: every write is one BEGIN IMMEDIATE transaction (cross-process write lock) run by
 * the db adapter — appends and message changes share group commits; the account's modseq is taken
 * once per transaction (domain/context.ts TxContext) and stamps every row it changes (messages,
 * expunge log, mailbox HIGHESTMODSEQ, account change log). Blob files are written and fsynced
 * before the transaction that references them; after commit the change feed gets a beacon per
 * touched mailbox and unreferenced blobs are garbage-collected in the background.
 */
import type { BlobStore } from "./blob/port.ts";
import type { Db } from "./db/port.ts";
import { Accounts } from "./domain/accounts.ts";
import { Acl } from "./domain/acl.ts";
import { Aliases } from "./domain/aliases.ts";
import { AppPasswords } from "./domain/app-passwords.ts";
import { ChangeReader } from "./domain/changes-read.ts";
import type { DomainDeps } from "./domain/context.ts";
import { deliver } from "./domain/delivery.ts";
import { JmapObjects } from "./domain/jmap-objects.ts";
import { Limits } from "./domain/limits.ts";
import { Mailboxes } from "./domain/mailboxes.ts";
import { MessageReader } from "./domain/messages-read.ts";
import { MessageWrites } from "./domain/messages-write.ts";
import { Metadata } from "./domain/metadata.ts";
import { Queue } from "./domain/queue.ts";
import { ThreadInputReader } from "./domain/thread-inputs.ts";
import { undelete } from "./domain/undelete.ts";
import { Uploads } from "./domain/uploads.ts";
import { Vacation } from "./domain/vacation.ts";
import { WebmailSessions } from "./domain/webmail-sessions.ts";
import { type KeyStore, MAILBOX_KEY_KIND } from "./keys/port.ts";
import type { LockService } from "./locks/port.ts";
import type { MimeFns } from "./mime-fns.ts";
import type { SearchIndex } from "./search/port.ts";
import type { ChangeFeed, Store } from "./types.ts";

export const DEFAULT_MAX_MESSAGE_SIZE = 50 * 1024 * 1024;
/** store.state_cache_messages default (config/schema.ts) */
export const DEFAULT_STATE_CACHE_MESSAGES = 500_000;

/** An adapter's background jobs (db/sqlite/jobs.ts, db/postgres/jobs.ts). */
export interface StoreJobs {
  /** starts the blob sweeper (a commit marked blobs unreferenced) */
  scheduleGc(): void;
  /** starts the search indexer (a commit queued search texts) */
  scheduleIndex(): void;
  /** runs the sweeper to completion (and an orphan scan when asked); returns orphans removed */
  collectGarbage(opts: { orphanMinAgeMs?: number }): Promise<number>;
  /** resolves when the sweeper and indexer have nothing left to do */
  whenIdle(): Promise<void>;
  pruneHistory(before: Date): Promise<void>;
  /** starts the background purge of deleted mailboxes (domain/mailboxes.ts) */
  schedulePurge(): void;
  /** removes JMAP uploads that expired before `before` (ms), rows and bytes; returns how many */
  expireUploads(before: number): Promise<number>;
  close(): Promise<void>;
}

export interface SqlStoreOptions {
  /** the adapter's background jobs; onBlobDeleted drops a swept blob from the parsed cache */
  jobs(hooks: {
    onBlobDeleted(sha: string): void;
    pruneVacationReplies(before: Date): Promise<unknown>;
    /** deletes the webmail sessions expired before `now` (domain/webmail-sessions.ts) */
    pruneWebmailSessions(now: Date): Promise<unknown>;
    /** one step of the background purge of deleted mailboxes; true = more to do */
    purge(limit: number): Promise<boolean>;
  }): StoreJobs;
  /** the locks port's adapter (store/locks) */
  locks: LockService;
  /** the keys port's adapter (store/keys) */
  keys: KeyStore;
  /** messages whose states the process caches (store.state_cache_messages); default 500,000 */
  stateCacheMessages?: number;
  /** expunged messages stay recoverable this long (store.undelete_window); 0 = not kept. Default 0 */
  undeleteWindowMs?: number;
  /** the db adapter writes message content in the write transaction (domain/context.ts) */
  contentInWrite?: boolean;
}

export class SqlStore implements Store {
  readonly feed: ChangeFeed;
  readonly locks: LockService;
  readonly keys: KeyStore;
  readonly #db: Db;
  readonly #blobs: BlobStore;
  readonly #jobs: StoreJobs;
  readonly #deps: DomainDeps;
  // the mail logic (docs/architecture.md "Store layers")
  readonly #acc: Accounts;
  readonly #ali: Aliases;
  readonly #queue: Queue;
  readonly #limits: Limits;
  readonly #mbx: Mailboxes;
  readonly #msgs: MessageReader;
  readonly #threadInputs: ThreadInputReader;
  readonly #writes: MessageWrites;
  readonly #chg: ChangeReader;
  readonly #meta: Metadata;
  readonly #acl: Acl;
  readonly #app: AppPasswords;
  readonly #jmap: JmapObjects;
  readonly #vac: Vacation;
  readonly #uploads: Uploads;
  readonly #sessions: WebmailSessions;

  constructor(
    db: Db,
    blobs: BlobStore,
    search: SearchIndex,
    mime: MimeFns,
    feed: ChangeFeed,
    maxMessageSize: number,
    opts: SqlStoreOptions,
  ) {
    this.#db = db;
    this.#blobs = blobs;
    this.feed = feed;
    this.locks = opts.locks;
    this.keys = opts.keys;
    this.#jobs = opts.jobs({
      onBlobDeleted: (sha) => this.#msgs.forgetParsed(sha),
      pruneVacationReplies: (before) => this.#vac.pruneVacationReplies(before),
      pruneWebmailSessions: (now) => this.#sessions.expireWebmailSessions(now),
      purge: (limit) => this.#mbx.purgeDeleted(limit),
    });
    const deps: DomainDeps = {
      db,
      feed,
      scheduleGc: () => this.#jobs.scheduleGc(),
      scheduleIndex: () => this.#jobs.scheduleIndex(),
      schedulePurge: () => this.#jobs.schedulePurge(),
      maxMessageSize,
      undeleteWindowMs: opts.undeleteWindowMs ?? 0,
      contentInWrite: opts.contentInWrite === true,
      blobs,
      mime,
    };
    this.#deps = deps;
    this.#acc = new Accounts(deps);
    this.#ali = new Aliases(deps);
    this.#queue = new Queue(deps);
    this.#limits = new Limits(deps);
    this.#mbx = new Mailboxes(deps);
    this.#meta = new Metadata(deps);
    this.#acl = new Acl(deps);
    this.#app = new AppPasswords(deps);
    this.#jmap = new JmapObjects(deps);
    this.#vac = new Vacation(deps);
    this.#uploads = new Uploads(deps, blobs);
    this.#sessions = new WebmailSessions(deps);
    this.#msgs = new MessageReader({
      ...deps,
      blobs,
      search,
      mime,
      stateCacheMessages: opts.stateCacheMessages ?? DEFAULT_STATE_CACHE_MESSAGES,
    });
    this.#threadInputs = new ThreadInputReader({
      db,
      blobs,
      mime,
      getParsed: (b) => this.#msgs.getParsed(b),
    });
    this.#writes = new MessageWrites(deps);
    this.#chg = new ChangeReader(deps);
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

  // --- domains, accounts, aliases, outbound queue, sending limits ---------------------------

  readonly addDomain: Store["addDomain"] = (n) => this.#acc.addDomain(n);
  readonly listDomains: Store["listDomains"] = () => this.#acc.listDomains();
  readonly deleteDomain: Store["deleteDomain"] = (n, o) => this.#acc.deleteDomain(n, o);
  readonly getDomain: Store["getDomain"] = (n) => this.#acc.getDomain(n);
  readonly createAccount: Store["createAccount"] = (a, h) => this.#acc.createAccount(a, h);
  readonly createAccounts: Store["createAccounts"] = (l, o) => this.#acc.createAccounts(l, o);
  readonly getAccount: Store["getAccount"] = (a) => this.#acc.getAccount(a);
  readonly getAccountById: Store["getAccountById"] = (id) => this.#acc.getAccountById(id);
  readonly listAccounts: Store["listAccounts"] = (d) => this.#acc.listAccounts(d);
  readonly setPassword: Store["setPassword"] = (a, h) => this.#acc.setPassword(a, h);
  readonly updateAccount: Store["updateAccount"] = (a, p) => this.#acc.updateAccount(a, p);
  readonly deleteAccount: Store["deleteAccount"] = async (a) => {
    const acc = await this.#acc.getAccount(a);
    await this.#acc.deleteAccount(a);
    // its mailbox access keys (keys/port.ts) go with it
    if (acc) await this.#dropKeys(`${acc.id}/`);
  };
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

  // --- mailboxes ---------------------------------------------------------------------------

  readonly listMailboxes: Store["listMailboxes"] = (a) => this.#mbx.listMailboxes(a);
  readonly getMailbox: Store["getMailbox"] = (a, n) => this.#mbx.getMailbox(a, n);
  readonly getMailboxById: Store["getMailboxById"] = (id) => this.#mbx.getMailboxById(id);
  readonly createMailbox: Store["createMailbox"] = (a, n, u) => this.#mbx.createMailbox(a, n, u);
  readonly deleteMailbox: Store["deleteMailbox"] = async (a, n) => {
    const mb = await this.#mbx.getMailbox(a, n);
    await this.#mbx.deleteMailbox(a, n);
    // its access keys (keys/port.ts), the owner's and its grantees': URLs authorized for it never
    // resolve again
    if (mb) await this.#dropKeys("", `/${mb.id}`);
  };

  /** mailbox access keys by name prefix and suffix; after commit, a failure only logged */
  async #dropKeys(prefix: string, suffix = ""): Promise<void> {
    try {
      for (const k of await this.keys.list(MAILBOX_KEY_KIND, prefix))
        if (k.name.endsWith(suffix)) await this.keys.delete(MAILBOX_KEY_KIND, k.name);
    } catch (e) {
      process.emitWarning(`mailbox access keys not removed: ${String(e)}`, "PostkontorStoreWarning");
    }
  }

  readonly renameMailbox: Store["renameMailbox"] = (a, f, t) => this.#mbx.renameMailbox(a, f, t);
  readonly setSubscribed: Store["setSubscribed"] = (a, n, s, o) => this.#mbx.setSubscribed(a, n, s, o);
  readonly listSubscriptions: Store["listSubscriptions"] = (a) => this.#mbx.listSubscriptions(a);
  readonly mailboxCounts: Store["mailboxCounts"] = (id) => this.#mbx.mailboxCounts(id);
  readonly claimNewMessages: Store["claimNewMessages"] = (id, u) => this.#mbx.claimNewMessages(id, u);
  readonly countUnclaimed: Store["countUnclaimed"] = (id) => this.#mbx.countUnclaimed(id);
  readonly addAppPassword: Store["addAppPassword"] = (a, n) => this.#app.addAppPassword(a, n);
  readonly listAppPasswords: Store["listAppPasswords"] = (a) => this.#app.listAppPasswords(a);
  readonly putUpload: Store["putUpload"] = (a, d, t, ttl) => this.#uploads.putUpload(a, d, t, ttl);
  readonly getUpload: Store["getUpload"] = (a, b) => this.#uploads.getUpload(a, b);
  readonly pendingUploadBytes: Store["pendingUploadBytes"] = (a) => this.#uploads.pendingUploadBytes(a);
  readonly expireUploads: Store["expireUploads"] = (before) => this.#jobs.expireUploads(before.getTime());
  readonly createWebmailSession: Store["createWebmailSession"] = (a, t) =>
    this.#sessions.createWebmailSession(a, t);
  readonly getWebmailSession: Store["getWebmailSession"] = (k, t) => this.#sessions.getWebmailSession(k, t);
  readonly deleteWebmailSession: Store["deleteWebmailSession"] = (k) =>
    this.#sessions.deleteWebmailSession(k);
  readonly endWebmailSessions: Store["endWebmailSessions"] = (a, o) =>
    this.#sessions.endWebmailSessions(a, o);
  readonly expireWebmailSessions: Store["expireWebmailSessions"] = (now) =>
    this.#sessions.expireWebmailSessions(now);
  readonly deleteAppPassword: Store["deleteAppPassword"] = (a, n) => this.#app.deleteAppPassword(a, n);
  readonly verifyAppPassword: Store["verifyAppPassword"] = (i, s, p) => this.#app.verifyAppPassword(i, s, p);
  readonly listJmapObjects: Store["listJmapObjects"] = (a, t) => this.#jmap.listJmapObjects(a, t);
  readonly jmapObjectState: Store["jmapObjectState"] = (a, t) => this.#jmap.jmapObjectState(a, t);
  readonly writeJmapObjects: Store["writeJmapObjects"] = (a, t, p, d) =>
    this.#jmap.writeJmapObjects(a, t, p, d);
  readonly jmapObjectChanges: Store["jmapObjectChanges"] = (a, t, s, m) =>
    this.#jmap.jmapObjectChanges(a, t, s, m);
  readonly getVacationResponse: Store["getVacationResponse"] = (a) => this.#vac.getVacationResponse(a);
  readonly setVacationResponse: Store["setVacationResponse"] = (a, p) => this.#vac.setVacationResponse(a, p);
  readonly claimVacationReply: Store["claimVacationReply"] = (a, s, i, n) =>
    this.#vac.claimVacationReply(a, s, i, n);
  readonly pruneVacationReplies: Store["pruneVacationReplies"] = (b) => this.#vac.pruneVacationReplies(b);
  readonly getMetadata: Store["getMetadata"] = (a, m, n, d) => this.#meta.getMetadata(a, m, n, d);
  readonly setMetadata: Store["setMetadata"] = (a, m, u, l) => this.#meta.setMetadata(a, m, u, l);
  readonly getAcl: Store["getAcl"] = (m) => this.#acl.getAcl(m);
  readonly setAcl: Store["setAcl"] = (m, g, r) => this.#acl.setAcl(m, g, r);
  readonly rightsOf: Store["rightsOf"] = (a, m) => this.#acl.rightsOf(a, m);
  readonly sharedWith: Store["sharedWith"] = (a) => this.#acl.sharedWith(a);

  // --- message reads and the account change log ----------------------------------------------

  readonly listMessages: Store["listMessages"] = (id) => this.#msgs.listMessages(id);
  readonly listMessageStates: Store["listMessageStates"] = (id) => this.#msgs.listMessageStates(id);
  readonly changesSince: Store["changesSince"] = (id, m) => this.#msgs.changesSince(id, m);
  readonly getMessages: Store["getMessages"] = (id, u) => this.#msgs.getMessages(id, u);
  readonly getMessageBlobs: Store["getMessageBlobs"] = (id, u) => this.#msgs.getMessageBlobs(id, u);
  readonly messagesByEmailId: Store["messagesByEmailId"] = (a, ids) => this.#msgs.messagesByEmailId(a, ids);
  readonly messagesByThreadId: Store["messagesByThreadId"] = (a, ids) =>
    this.#msgs.messagesByThreadId(a, ids);
  readonly emailIdsByDate: Store["emailIdsByDate"] = (id, p, l, o) => this.#msgs.emailIdsByDate(id, p, l, o);
  readonly mailboxThreadCount: Store["mailboxThreadCount"] = (id) => this.#msgs.mailboxThreadCount(id);
  readonly emailIndexByDate: Store["emailIndexByDate"] = (id, e, o) => this.#msgs.emailIndexByDate(id, e, o);
  readonly jmapAccountCounts: Store["jmapAccountCounts"] = (id) => this.#msgs.jmapAccountCounts(id);
  readonly jmapMailboxTotals: Store["jmapMailboxTotals"] = (id) => this.#msgs.jmapMailboxTotals(id);
  readonly getParsed: Store["getParsed"] = (b) => this.#msgs.getParsed(b);
  readonly getParsedMany: Store["getParsedMany"] = (b) => this.#msgs.getParsedMany(b);
  readonly threadInputs: Store["threadInputs"] = (id) => this.#threadInputs.threadInputs(id);
  readonly readMessage: Store["readMessage"] = (id, u) => this.#msgs.readMessage(id, u);
  readonly openMessage: Store["openMessage"] = (id, u) => this.#msgs.openMessage(id, u);
  readonly searchText: Store["searchText"] = (id, q) => this.#msgs.searchText(id, q);
  readonly currentState: Store["currentState"] = (a) => this.#chg.currentState(a);
  readonly changesSinceState: Store["changesSinceState"] = (a, k, s, m) =>
    this.#chg.changesSinceState(a, k, s, m);
  readonly pruneHistory: Store["pruneHistory"] = (before) => this.#jobs.pruneHistory(before);

  // --- message writes and delivery ---------------------------------------------------------

  readonly append: Store["append"] = async (a, m, input) => {
    const [r] = await this.#writes.appendMany(a, m, [input]);
    return r!;
  };
  readonly appendMany: Store["appendMany"] = (a, m, inputs) => this.#writes.appendMany(a, m, inputs);
  readonly importMessages: Store["importMessages"] = (a, m, src, items) =>
    this.#writes.importMany(a, m, src, items);
  readonly undelete: Store["undelete"] = (a, o = {}) =>
    undelete(this.#deps, this.#writes, this.#mbx, (sha) => this.#blobs.get(sha), a, o);
  readonly replace: Store["replace"] = (a, src, uid, dst, input) =>
    this.#writes.replace(a, src, uid, dst, input);
  // the announcement ends with the delivery also when it was refused before its append started
  readonly deliver: Store["deliver"] = (raw, targets, opts) =>
    deliver(
      this.#deps,
      this.#writes,
      async (accountId, name) => (await this.#mbx.getMailbox(accountId, name))?.id ?? null,
      raw,
      targets,
      opts?.announced,
    ).finally(() => opts?.announced?.());
  readonly expectDelivery: Store["expectDelivery"] = () => this.#deps.db.expectGroupedWrite();
  readonly storeFlags: Store["storeFlags"] = (id, uids, op, flags, o) =>
    this.#writes.storeFlags(id, uids, op, flags, o);
  readonly expunge: Store["expunge"] = (id, uids) => this.#writes.expunge(id, uids);
  readonly copy: Store["copy"] = (src, uids, dst) => this.#writes.copy(src, uids, dst);
  readonly move: Store["move"] = (src, uids, dst) => this.#writes.move(src, uids, dst);

  async close(): Promise<void> {
    // the sweeper stops after its current batch; marks left are collected at the next open
    await this.#jobs.close();
    await this.#db.flush();
    await this.#blobs.close();
    await this.feed.close();
    await this.#db.close();
  }
}
