/**
 * What the mail logic needs around the db port: its dependencies, and a per-transaction context
 * that keeps the transaction rules of db/port.ts — one modseq per account per transaction, beacons
 * published after commit (deduplicated per account and mailbox), blobs whose last reference went
 * marked for the sweeper before commit and the sweeper scheduled after it.
 */
import { ChangeBuffer } from "../changes.ts";
import { type Db, DbNotFound, type WriteOptions, type Writer } from "../db/port.ts";
import { type Beacon, type Id, StoreError } from "../types.ts";

export interface DomainDeps {
  db: Db;
  feed: { publish(b: Beacon): void };
  /** starts the background blob sweeper (a commit marked blobs unreferenced) */
  scheduleGc(): void;
  /** octets, delivery-header prefix included (also bounds queued outbound messages) */
  maxMessageSize: number;
}

export class TxContext {
  readonly tx: Writer;
  readonly #deps: DomainDeps;
  readonly #modseqs = new Map<Id, bigint>();
  readonly #beacons = new Map<string, Beacon>();
  readonly #gcBlobs = new Set<number>();
  /** objects changed, written to the account change log at the end of the transaction */
  readonly changes = new ChangeBuffer();

  constructor(tx: Writer, deps: DomainDeps) {
    this.tx = tx;
    this.#deps = deps;
  }

  /** The account's modseq for this transaction: taken on first use (RFC 7162 §3.1.1), then reused. */
  async modseq(accountId: Id): Promise<bigint> {
    let m = this.#modseqs.get(accountId);
    if (m === undefined) {
      m = await noAccount(() => this.tx.accounts.nextModseq(accountId));
      this.#modseqs.set(accountId, m);
    }
    return m;
  }

  /** Publishes a beacon after commit; mailboxId null = an account-level change. */
  beacon(accountId: Id, mailboxId: Id | null, modseq: bigint): void {
    this.#beacons.set(`${accountId}:${mailboxId ?? ""}`, { accountId, mailboxId, modseq: modseq.toString() });
  }

  /** Blobs that may have lost their last reference in this transaction (marked before commit). */
  releaseBlobs(ids: Iterable<number>): void {
    for (const id of ids) this.#gcBlobs.add(id);
  }

  /**
   * Ends the transaction's work: change-log rows and GC marks now (same commit as the change),
   * beacons and the sweeper after commit.
   */
  async finish(): Promise<void> {
    if (this.changes.size > 0) {
      // every account the buffer names gets this transaction's modseq (RFC 7162 §3.1.1)
      for (const t of this.changes.touched.values()) await this.modseq(t.accountId);
      await this.tx.changes.record(this.changes, this.#modseqs, Date.now());
    }
    const marked = this.#gcBlobs.size > 0 ? await this.tx.blobs.markUnreferenced(this.#gcBlobs) : 0;
    if (this.#beacons.size === 0 && marked === 0) return;
    const beacons = [...this.#beacons.values()];
    const deps = this.#deps;
    this.tx.afterCommit(() => {
      // published only now: a listener that pulls sees the change
      for (const b of beacons) deps.feed.publish(b);
      if (marked > 0) deps.scheduleGc();
    });
  }
}

/** Runs fn in one write transaction with a TxContext (see the class above). */
export function write<T>(
  deps: DomainDeps,
  fn: (t: TxContext) => Promise<T>,
  opts?: WriteOptions,
): Promise<T> {
  return deps.db.write(async (tx) => {
    const t = new TxContext(tx, deps);
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
