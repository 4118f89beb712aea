/**
 * What the mail logic needs around the db port: its dependencies, and THE per-transaction context
 * (every write of the store runs with one) that keeps the transaction rules of db/port.ts:
 * - one modseq per account per transaction (RFC 7162 §3.1.1), taken on first use;
 * - the account change log: objects touched are buffered (changes.ts ChangeBuffer) and written at
 *   the end of the transaction, in it, with the account's modseq;
 * - blobs whose last reference went are marked for the sweeper before commit (the one GC marking);
 * - after commit: beacons (deduplicated per account and mailbox), the sweeper and the search
 *   indexer scheduled.
 */
import { ChangeBuffer } from "../changes.ts";
import { type Db, DbNotFound, type WriteOptions, type Writer } from "../db/port.ts";
import { currentOrigin, withoutOrigin } from "../feed/origin.ts";
import type { MimeFns } from "../mime-fns.ts";
import { type Beacon, type Id, StoreError } from "../types.ts";

/** characters of METADATA entry names one beacon carries (feed lines are at most 4096 bytes) */
const MAX_BEACON_NAMES = 2048;

export interface DomainDeps {
  db: Db;
  feed: { publish(b: Beacon): void };
  /** starts the background blob sweeper (a commit marked blobs unreferenced) */
  scheduleGc(): void;
  /** starts the background search indexer (a commit queued search texts) */
  scheduleIndex?(): void;
  /** starts the background purge of deleted mailboxes' messages (a commit retired a mailbox) */
  schedulePurge?(): void;
  /** octets, delivery-header prefix included (also bounds queued outbound messages) */
  maxMessageSize: number;
  /** ms an expunged message stays recoverable (Store.undelete); 0 or absent = not kept */
  undeleteWindowMs?: number;
  /** the blob port's durable put (before the transaction that references the content) */
  blobs?: { put(data: Uint8Array, id?: string): Promise<string> };
  /**
   * true: the db adapter writes message content inside the write transaction itself
   * (`blobs.ensure`, PostgreSQL), so appends put nothing before it
   */
  contentInWrite?: boolean;
  /** the MIME functions appends need (parse, search text, NUL re-encoding) */
  mime?: MimeFns;
}

export class TxContext {
  readonly tx: Writer;
  /** objects changed, written to the account change log at the end of the transaction */
  readonly changes = new ChangeBuffer();
  readonly #deps: DomainDeps;
  /** the account modseqs taken by this transaction (read-only for callers) */
  readonly modseqs = new Map<Id, bigint>();
  readonly #beacons = new Map<string, Beacon>();
  /** the session that caused this write (feed/origin.ts), carried by every beacon */
  readonly #origin: string | undefined;
  readonly #gcBlobs = new Set<number>();
  #indexQueued = false;
  #purgeQueued = false;

  constructor(tx: Writer, deps: DomainDeps, origin?: string) {
    this.tx = tx;
    this.#deps = deps;
    this.#origin = origin;
  }

  #withOrigin(b: Beacon): Beacon {
    return this.#origin === undefined ? b : { ...b, origin: this.#origin };
  }

  /** The account's modseq for this transaction: taken on first use (RFC 7162 §3.1.1), then reused. */
  async modseq(accountId: Id): Promise<bigint> {
    let m = this.modseqs.get(accountId);
    if (m === undefined) {
      m = await noAccount(() => this.tx.accounts.nextModseq(accountId));
      this.modseqs.set(accountId, m);
    }
    return m;
  }

  /** Publishes a beacon after commit; mailboxId null = an account-level change. */
  beacon(accountId: Id, mailboxId: Id | null, modseq: bigint): void {
    this.#beacons.set(
      `${accountId}:${mailboxId ?? ""}`,
      this.#withOrigin({ accountId, mailboxId, modseq: modseq.toString() }),
    );
  }

  /**
   * Publishes after commit that METADATA entries of a mailbox (or of the server: mailboxId null)
   * changed (IMAP NOTIFY, RFC 5465 §5.10/§5.11). Names beyond what a feed line carries are
   * dropped for [] ("some entries changed").
   */
  metadataBeacon(accountId: Id, mailboxId: Id | null, names: string[]): void {
    let len = 0;
    for (const n of names) len += n.length + 3;
    const metadata = len <= MAX_BEACON_NAMES ? names : [];
    this.#beacons.set(
      `m${accountId}:${mailboxId ?? ""}`,
      this.#withOrigin({ accountId, mailboxId, modseq: "0", metadata }),
    );
  }

  /** Blobs that may have lost their last reference in this transaction (marked before commit). */
  releaseBlobs(ids: Iterable<number>): void {
    for (const id of ids) this.#gcBlobs.add(id);
  }

  /** The transaction queued search text: the indexer runs after commit. */
  indexQueued(): void {
    this.#indexQueued = true;
  }

  /** The transaction retired a mailbox: the purge of its messages runs after commit. */
  purgeQueued(): void {
    this.#purgeQueued = true;
  }

  /** Ends the transaction's work: change-log rows and GC marks now; beacons and jobs after commit. */
  async finish(): Promise<void> {
    if (this.changes.size > 0) {
      const tx = this.tx;
      // the VacationResponse singleton always exists (it is only ever updated)
      const rows = await this.changes.resolveAsync((a, kind, id) =>
        kind === "vacationResponse" ? true : tx.changes.exists(a, kind, id),
      );
      if (rows.length > 0) {
        const out = [];
        for (const r of rows) out.push({ ...r, modseq: await this.modseq(r.accountId) });
        await tx.changes.insert(out, Date.now());
      }
    }
    const marked = this.#gcBlobs.size > 0 ? await this.tx.blobs.markUnreferenced(this.#gcBlobs) : 0;
    const index = this.#indexQueued;
    const purge = this.#purgeQueued;
    if (this.#beacons.size === 0 && marked === 0 && !index && !purge) return;
    const beacons = [...this.#beacons.values()];
    const deps = this.#deps;
    this.tx.afterCommit(() => {
      // published only now: a listener that pulls sees the change; outside this write's origin,
      // so what the listeners start is not taken for this session's doing (feed/origin.ts)
      withoutOrigin(() => {
        for (const b of beacons) deps.feed.publish(b);
      });
      // blob deletion is off the reply path: the sweeper collects marked blobs in the background
      if (marked > 0) deps.scheduleGc();
      if (index) deps.scheduleIndex?.();
      if (purge) deps.schedulePurge?.();
    });
  }
}

/** Runs fn in one write transaction with a TxContext (see the class above). */
export function write<T>(
  deps: DomainDeps,
  fn: (t: TxContext) => Promise<T>,
  opts?: WriteOptions,
): Promise<T> {
  // taken now, in the caller's async context (the db may run fn from its own queue)
  const origin = currentOrigin();
  return deps.db.write(async (tx) => {
    const t = new TxContext(tx, deps, origin);
    const r = await fn(t);
    await t.finish();
    return r;
  }, opts);
}

/** Maps the port's DbNotFound (no account row) to the API's NONEXISTENT. */
export async function noAccount<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof DbNotFound) throw new StoreError("NONEXISTENT", "no such account");
    throw err;
  }
}
