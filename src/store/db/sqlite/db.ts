import type { FsBlobStore } from "../../blob/fs.ts";
import type { Fts5Search } from "../../search/fts.ts";
import type { Db, Maybe, Peeker, Reader, WriteOptions, Writer } from "../port.ts";
import { type SqliteOps, sqliteOps } from "./ops.ts";
import { sqliteAclOps } from "./ops-acl.ts";
import { sqliteAppPasswordOps } from "./ops-app-passwords.ts";
import { sqliteDeletedOps } from "./ops-deleted.ts";
import { sqliteImportOps } from "./ops-imports.ts";
import { sqliteJmapObjectOps } from "./ops-jmap-objects.ts";
import { sqliteMailOps, sqlitePeeker } from "./ops-mailboxes.ts";
import { sqliteMessageOps } from "./ops-messages.ts";
import { sqliteMetadataOps } from "./ops-metadata.ts";
import { sqliteThreadInputOps } from "./ops-thread-inputs.ts";
import { sqliteUploadOps } from "./ops-uploads.ts";
import { sqliteVacationOps } from "./ops-vacation.ts";
import { sqliteWebmailSessionOps } from "./ops-webmail-sessions.ts";
import type { SqliteHandle } from "./sqlite.ts";

/** writes at most in one group commit (bounds the write-lock hold time of one batch) */
const GROUP_MAX = 64;
/** how long a group commit waits for announced writers to join it */
const GROUP_WAIT_MS = 3;

interface GroupItem {
  fn: (tx: Writer) => Maybe<unknown>;
  /** ran in a batch that another item's failure rolled back: its next batch uses savepoints */
  retried?: boolean;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

function isPromise<T>(v: Maybe<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === "function";
}

function runHooks(hooks: Array<() => void>): void {
  for (const h of hooks) {
    try {
      h();
    } catch {
      // afterCommit hooks must not throw (port rule); the commit stands
    }
  }
}

export class SqliteDb implements Db {
  readonly handle: SqliteHandle;
  readonly #ops: Omit<Writer, "afterCommit">;
  readonly #reader: Reader;
  readonly #peeker: Peeker;
  #queue: GroupItem[] = [];
  #run: Promise<void> | null = null;
  #active = false;
  /** announced grouped writers not queued yet */
  #expected = 0;
  /** wakes the group loop when an item is queued */
  #wake: (() => void) | null = null;

  /**
   * `content`: the blob files and the search index that message writes keep in step with their
   * rows under the write lock (ops-messages.ts); without it message operations are unavailable.
   */
  constructor(handle: SqliteHandle, content?: { files: FsBlobStore; search: Fts5Search }) {
    this.handle = handle;
    const o: SqliteOps = sqliteOps(handle);
    const m = sqliteMailOps(handle);
    const mc = content ? sqliteMessageOps(handle, content.files, content.search) : null;
    const missing = (): never => {
      throw new Error("SqliteDb opened without blob files and search index");
    };
    const mo = mc ?? {
      mailboxes: { core: missing, touch: missing },
      accounts: { quota: missing, addUsage: missing },
      messages: {
        refRows: missing,
        flagRowsOf: missing,
        insert: missing,
        setFlags: missing,
        delete: missing,
        copy: missing,
        holds: missing,
      },
      expunges: { add: missing },
      threads: { find: missing, put: missing },
      blobs: { has: missing, ensure: missing, insertPrefix: missing, dropContentWithoutRow: missing },
      changes: { exists: missing, insert: missing },
    };
    this.#ops = {
      ...o,
      accounts: { ...o.accounts, ...mo.accounts },
      // the mailbox reads/writes (ops-mailboxes.ts) include core and touch; they serve message writes too
      mailboxes: { ...mo.mailboxes, ...m.mailboxes },
      subscriptions: m.subscriptions,
      messages: { ...o.messages, ...m.messageReads, ...mo.messages },
      expunges: { ...m.expunges, ...mo.expunges },
      threads: mo.threads,
      blobs: { ...o.blobs, ...m.blobsParsed, ...mo.blobs },
      changes: { ...m.changes, ...mo.changes },
      usage: m.usage,
      ...sqliteMetadataOps(handle),
      ...sqliteAclOps(handle),
      ...sqliteAppPasswordOps(handle),
      ...sqliteImportOps(handle),
      ...sqliteJmapObjectOps(handle),
      ...sqliteVacationOps(handle),
      ...sqliteDeletedOps(handle),
      ...sqliteUploadOps(handle),
      ...sqliteThreadInputOps(handle),
      ...sqliteWebmailSessionOps(handle),
    };
    const w = this.#ops;
    this.#reader = {
      domains: w.domains,
      accounts: w.accounts,
      aliases: w.aliases,
      queue: w.queue,
      mailboxes: w.mailboxes,
      subscriptions: w.subscriptions,
      messages: w.messages,
      expunges: w.expunges,
      blobs: w.blobs,
      changes: w.changes,
      metadata: w.metadata,
      acl: w.acl,
      appPasswords: w.appPasswords,
      imports: w.imports,
      jmapObjects: w.jmapObjects,
      vacation: w.vacation,
      deleted: w.deleted,
      uploads: w.uploads,
      threadInputs: w.threadInputs,
      webmailSessions: w.webmailSessions,
    };
    this.#peeker = sqlitePeeker(handle);
  }

  read<T>(fn: (q: Reader) => Maybe<T>): Promise<T> {
    return this.handle.withConnection(() => fn(this.#reader));
  }

  async peek<T>(fn: (p: Peeker) => Maybe<T>): Promise<T> {
    // no mutex: each readStmt call is its own snapshot on the read-only connection
    return fn(this.#peeker);
  }

  #writer(hooks: Array<() => void>): Writer {
    return { ...this.#ops, afterCommit: (hook) => hooks.push(hook) };
  }

  async write<T>(fn: (tx: Writer) => Maybe<T>, opts?: WriteOptions): Promise<T> {
    if (opts?.group) return this.#grouped(fn);
    const hooks: Array<() => void> = [];
    const r = await this.handle.transaction(() => fn(this.#writer(hooks)));
    runHooks(hooks);
    return r;
  }

  expectGroupedWrite(): () => void {
    this.#expected++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#expected--;
    };
  }

  async flush(): Promise<void> {
    // bounded: each wait ends one group loop; a new one starts only when more is queued
    for (let i = 0; i < 1000 && this.#active; i++) await this.#run;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.handle.close();
  }

  #grouped<T>(fn: (tx: Writer) => Maybe<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      this.#wake?.();
      if (!this.#active) {
        this.#active = true;
        this.#run = this.#loop();
      }
    });
  }

  async #loop(): Promise<void> {
    try {
      // bounded: every batch settles at least one queued item (or all of them on failure)
      while (this.#queue.length > 0) {
        await this.#gather();
        await this.#batch();
      }
    } finally {
      // in the same turn as the last queue check: an item queued after it starts a new loop
      this.#active = false;
    }
  }

  /**
   * While announced writers are outstanding, waits up to GROUP_WAIT_MS for them to queue, so
   * that they share this commit rather than each paying for one (a commit blocks the event loop
   * for its WAL fsync). Bounded by the deadline.
   */
  async #gather(): Promise<void> {
    const deadline = performance.now() + GROUP_WAIT_MS;
    while (this.#expected > 0 && this.#queue.length < GROUP_MAX && performance.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(0, deadline - performance.now()));
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#wake = null;
    }
  }

  /**
   * One group commit. The items run bare, one after another, in one transaction — no savepoint
   * per item: inside a savepoint, a statement with triggers cost 3–8 times what it costs in a
   * plain transaction (measured; by our reading, its statement journal then keeps every page it
   * writes until the savepoint ends), and the message table's counter triggers make every insert,
   * delete and flag update such a statement (docs/benchmarks.md, eighth round).
   *
   * If an item throws, the whole transaction is rolled back: that item is rejected (it saw exactly
   * the state it would have seen on its own: the items before it applied), and the others go back
   * to the front of the queue marked `retried`. A batch that holds a retried item runs each item
   * in its own savepoint, so an item runs at most twice and a failing item is rolled back alone
   * there. Hence the port's rule that a grouped fn may run more than once.
   */
  async #batch(): Promise<void> {
    const raw = this.handle.raw;
    let batch: GroupItem[] | null = null;
    let failed: { at: number; err: unknown } | null = null;
    const ok: Array<{ item: GroupItem; hooks: Array<() => void>; value: unknown }> = [];
    /** items of a careful batch rolled back alone (already answered) */
    const answered = new Set<GroupItem>();
    try {
      await this.handle.transaction(async () => {
        // taken once the write lock is held: items queued while we waited join this commit
        const items = this.#queue.splice(0, GROUP_MAX);
        batch = items;
        const careful = items.some((i) => i.retried === true);
        for (const [at, item] of items.entries()) {
          const hooks: Array<() => void> = [];
          if (careful) raw.exec("SAVEPOINT grp");
          try {
            let value = item.fn(this.#writer(hooks));
            // items await only port operations (plain values on SQLite): no I/O while open
            if (isPromise(value)) value = await value;
            if (careful) raw.exec("RELEASE grp");
            ok.push({ item, hooks, value });
          } catch (err) {
            // a bare batch ends here, and so does a careful one that SQLite rolled back as a whole
            // (e.g. SQLITE_FULL)
            if (!careful || !raw.inTransaction) {
              failed = { at, err };
              throw err;
            }
            raw.exec("ROLLBACK TO grp");
            raw.exec("RELEASE grp");
            answered.add(item);
            item.reject(err);
          }
        }
      });
    } catch (err) {
      const taken = batch as GroupItem[] | null;
      const f = failed as { at: number; err: unknown } | null;
      if (taken && f) {
        // nothing of this batch committed: the failing item is answered, the rest run again
        taken[f.at]!.reject(f.err);
        const again = taken.filter((item, i) => i !== f.at && !answered.has(item));
        for (const item of again) item.retried = true;
        this.#queue.unshift(...again);
        return;
      }
      // the lock was never obtained or the commit failed: nothing of this batch committed (items
      // rejected alone stay rejected: a promise settles once); without the lock, fail everything
      // that was waiting for it
      for (const item of taken ?? this.#queue.splice(0, this.#queue.length)) item.reject(err);
      return;
    }
    for (const o of ok) runHooks(o.hooks);
    for (const o of ok) o.item.resolve(o.value);
  }
}
