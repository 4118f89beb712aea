/**
 * The PostgreSQL adapter of the feed port (port.ts): beacons travel between nodes by
 * LISTEN/NOTIFY on one channel, so every node serving an account sees every commit to it.
 *
 * Contract with the store (callers): publish() is called AFTER the write transaction committed
 * (the store's tx.afterCommit hooks), never inside one. A NOTIFY sent inside a transaction would
 * be delivered only at its commit, tie the beacon to that connection and make a write wait for
 * the feed; here a write never waits for the feed and a failing feed never fails a write.
 *
 * - publish(): local subscribers get the beacon synchronously (local.ts); for the other nodes it
 *   is queued and sent with pg_notify on a pool connection, in order, everything queued meanwhile
 *   in one statement (no timer on the way). A failed send is retried after a backoff. The queue
 *   is bounded: when full it is coalesced to the newest beacon per mailbox (sessions pull deltas
 *   by modseq, so a later beacon covers the earlier ones; METADATA names merge, or become []),
 *   and only beyond that are the oldest dropped.
 * - Payload: {"o": origin, "b": beacon} as JSON; origin is random per feed, so a node drops its
 *   own beacons when they come back. NOTIFY payloads must stay under 8000 bytes: a beacon whose
 *   METADATA names do not fit is sent with `metadata: []`, which the port defines as "some
 *   entries changed" (the receiver re-reads them).
 * - One dedicated listening connection per feed (one per process), taken from the pool and kept;
 *   a heartbeat notices a dead one. On loss it reconnects with backoff; after every reconnect the
 *   beacons of the gap may be lost, so the local subscribers get a resync: for each subscribed
 *   account, one beacon per mailbox at its current HIGHESTMODSEQ and one account-level beacon at
 *   the account's modseq (catchUp, read after LISTEN is back so nothing falls between). These are
 *   ordinary beacons: an IMAP session pulls changesSince(its known modseq) for its selected
 *   mailbox, NOTIFY recomputes STATUS and LIST and sends only what moved — a beacon for an
 *   unchanged mailbox costs one query and sends nothing.
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { Id } from "../types.ts";
import { isBeacon, LocalSubscribers } from "./local.ts";
import type { Beacon, ChangeFeed } from "./port.ts";

export const DEFAULT_CHANNEL = "postkontor_feed";
/** NOTIFY's payload limit is 8000 bytes; keep a margin */
export const MAX_PAYLOAD = 7900;
const MAX_QUEUE = 10_000;
const MAX_BATCH = 500;
const BACKOFF_MIN_MS = 25;
const BACKOFF_MAX_MS = 2000;
const CLOSE_WAIT_MS = 1000;
const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;

export interface PgFeedOptions {
  /** LISTEN/NOTIFY channel (lower-case identifier); nodes of one cluster use the same */
  channel?: string;
  /** exceptions thrown by subscribers (default: a process warning) */
  onListenerError?: (err: unknown) => void;
  /** connection and send failures, for the log (default: ignored; the feed retries) */
  onConnectionError?: (err: unknown) => void;
  /** the beacons that bring subscribers of these accounts up to date (default: mailboxCatchUp) */
  catchUp?: (accountIds: Id[]) => Promise<Beacon[]>;
  /** how often the listening connection is checked; a check unanswered this long drops it */
  heartbeatMs?: number;
}

/** The JSON sent for one beacon: within MAX_PAYLOAD bytes (METADATA names degrade to []). */
export function payloadOf(origin: string, b: Beacon): string {
  const s = JSON.stringify({ o: origin, b });
  if (Buffer.byteLength(s) <= MAX_PAYLOAD) return s;
  const { metadata: _names, ...rest } = b;
  return JSON.stringify({ o: origin, b: b.metadata === undefined ? rest : { ...rest, metadata: [] } });
}

/**
 * The newest beacon per (account, mailbox, metadata or not), in the order of those newest
 * beacons; METADATA names of one target are merged ([] — "some entries" — absorbs the rest).
 */
export function coalesce(queue: readonly Beacon[]): Beacon[] {
  const last = new Map<string, Beacon>();
  for (const b of queue) {
    const key = `${b.accountId}/${b.mailboxId ?? ""}/${b.metadata === undefined ? "" : "m"}`;
    const prev = last.get(key);
    last.delete(key);
    const newer = prev === undefined || BigInt(b.modseq) >= BigInt(prev.modseq) ? b : prev;
    if (b.metadata === undefined || prev?.metadata === undefined) last.set(key, newer);
    else {
      const names =
        b.metadata.length === 0 || prev.metadata.length === 0
          ? []
          : [...new Set([...prev.metadata, ...b.metadata])];
      last.set(key, { ...newer, metadata: names });
    }
  }
  return [...last.values()];
}

/**
 * The default catch-up: current modseqs from the db adapter's tables, assumed to have SQLite's
 * columns (account.modseq, mailbox.highestmodseq).
 */
export function mailboxCatchUp(pool: pg.Pool): (accountIds: Id[]) => Promise<Beacon[]> {
  return async (accountIds) => {
    const ids = accountIds.map(String);
    const accounts = await pool.query({
      text: "SELECT id, modseq FROM account WHERE id = ANY($1::bigint[]) ORDER BY id",
      values: [ids],
      rowMode: "array",
    });
    const mailboxes = await pool.query({
      text: "SELECT account_id, id, highestmodseq FROM mailbox WHERE account_id = ANY($1::bigint[]) ORDER BY id",
      values: [ids],
      rowMode: "array",
    });
    const out: Beacon[] = [];
    for (const r of mailboxes.rows)
      out.push({ accountId: Number(r[0]), mailboxId: Number(r[1]), modseq: String(r[2]) });
    for (const r of accounts.rows)
      out.push({ accountId: Number(r[0]), mailboxId: null, modseq: String(r[1]) });
    return out;
  };
}

export class PgFeed implements ChangeFeed {
  readonly #pool: pg.Pool;
  readonly #local: LocalSubscribers;
  readonly #origin = randomUUID();
  readonly #channel: string;
  readonly #onConnError: (err: unknown) => void;
  readonly #catchUp: (accountIds: Id[]) => Promise<Beacon[]>;
  readonly #heartbeatMs: number;
  #queue: Beacon[] = [];
  #sending: Promise<void> | null = null;
  #sendTimer: NodeJS.Timeout | null = null;
  #sendBackoff = BACKOFF_MIN_MS;
  #client: pg.PoolClient | null = null;
  #connecting = false;
  #everListened = false;
  #closed = false;
  #backoff = BACKOFF_MIN_MS;
  #timer: NodeJS.Timeout | null = null;
  #heartbeat: NodeJS.Timeout | null = null;
  #resyncs = 0;
  #firstAttempt: Promise<void>;
  #firstDone: (() => void) | null = null;

  constructor(pool: pg.Pool, opts: PgFeedOptions = {}) {
    this.#pool = pool;
    this.#local = new LocalSubscribers(opts.onListenerError);
    this.#channel = opts.channel ?? DEFAULT_CHANNEL;
    if (!CHANNEL.test(this.#channel))
      throw new Error(`invalid feed channel ${JSON.stringify(this.#channel)}`);
    // the listener holds one connection for good; publishing needs another
    if ((pool.options.max ?? 10) < 2) throw new Error("the feed's pool needs at least 2 connections");
    this.#onConnError = opts.onConnectionError ?? (() => {});
    this.#catchUp = opts.catchUp ?? mailboxCatchUp(pool);
    this.#heartbeatMs = opts.heartbeatMs ?? 10_000;
    this.#firstAttempt = new Promise((resolve) => {
      this.#firstDone = resolve;
    });
    void this.#listen();
  }

  /** resolves once the first LISTEN succeeded or failed */
  ready(): Promise<void> {
    return this.#firstAttempt;
  }

  /** the listening connection is up */
  get connected(): boolean {
    return this.#client !== null;
  }

  /** resyncs delivered so far (after reconnects) */
  get resyncs(): number {
    return this.#resyncs;
  }

  subscribe(accountId: Id, listener: (b: Beacon) => void): () => void {
    return this.#local.subscribe(accountId, listener);
  }

  /** after commit only (see the file comment); never throws, never waits */
  publish(b: Beacon): void {
    this.#local.deliver(b);
    if (this.#closed) return;
    this.#queue.push(b);
    if (this.#queue.length > MAX_QUEUE) this.#queue = coalesce(this.#queue).slice(-MAX_QUEUE);
    this.#pump();
  }

  /** sends what is queued (waiting at most CLOSE_WAIT_MS for it); stops listening */
  async close(): Promise<void> {
    if (this.#sendTimer) {
      clearTimeout(this.#sendTimer);
      this.#sendTimer = null;
      this.#pump();
    }
    const sending = this.#sending;
    if (sending) {
      let t: NodeJS.Timeout | undefined;
      await Promise.race([sending, new Promise<void>((r) => (t = setTimeout(r, CLOSE_WAIT_MS)))]);
      clearTimeout(t);
    }
    this.#closed = true;
    for (const t of [this.#timer, this.#heartbeat, this.#sendTimer]) if (t) clearTimeout(t);
    this.#timer = null;
    this.#heartbeat = null;
    this.#sendTimer = null;
    this.#queue = [];
    this.#settleFirst();
    const c = this.#client;
    this.#client = null;
    // destroyed, not returned: a pooled connection must not keep listening
    c?.release(true);
    this.#local.clear();
  }

  #pump(): void {
    if (this.#sending || this.#sendTimer || this.#queue.length === 0) return;
    const batch = this.#queue.splice(0, MAX_BATCH);
    // one statement: the notifications go out in order, at its (autocommit) commit
    this.#sending = this.#pool
      .query("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", [
        this.#channel,
        batch.map((x) => payloadOf(this.#origin, x)),
      ])
      .then(
        () => {
          this.#sendBackoff = BACKOFF_MIN_MS;
        },
        (err: unknown) => {
          this.#onConnError(err);
          if (this.#closed) return;
          this.#queue = [...batch, ...this.#queue];
          if (this.#queue.length > MAX_QUEUE) this.#queue = coalesce(this.#queue).slice(-MAX_QUEUE);
          const delay = this.#sendBackoff;
          this.#sendBackoff = Math.min(this.#sendBackoff * 2, BACKOFF_MAX_MS);
          this.#sendTimer = setTimeout(() => {
            this.#sendTimer = null;
            this.#pump();
          }, delay);
          this.#sendTimer.unref();
        },
      )
      .finally(() => {
        this.#sending = null;
        if (!this.#closed) this.#pump();
      });
  }

  #settleFirst(): void {
    const d = this.#firstDone;
    this.#firstDone = null;
    d?.();
  }

  #onNotification = (n: pg.Notification): void => {
    if (n.channel !== this.#channel || n.payload === undefined) return;
    let v: unknown;
    try {
      v = JSON.parse(n.payload);
    } catch {
      return;
    }
    if (typeof v !== "object" || v === null) return;
    const { o, b } = v as { o?: unknown; b?: unknown };
    if (o === this.#origin || !isBeacon(b)) return;
    this.#local.deliver(b);
  };

  async #listen(): Promise<void> {
    if (this.#closed || this.#connecting || this.#client) return;
    this.#connecting = true;
    let c: pg.PoolClient | null = null;
    try {
      c = await this.#pool.connect();
      const client = c;
      const lost = (err?: unknown) => this.#lost(client, err);
      client.on("error", lost);
      client.on("end", () => lost(new Error("listening connection ended")));
      client.on("notification", this.#onNotification);
      await client.query(`LISTEN ${this.#channel}`);
      if (this.#closed) {
        client.release(true);
        return;
      }
      this.#client = client;
      this.#backoff = BACKOFF_MIN_MS;
      this.#startHeartbeat(client);
      const again = this.#everListened;
      this.#everListened = true;
      this.#settleFirst();
      if (again) await this.#resync(client);
    } catch (err) {
      this.#onConnError(err);
      if (c && this.#client !== c) c.release(true);
      this.#settleFirst();
      this.#retry();
    } finally {
      this.#connecting = false;
    }
  }

  #lost(c: pg.PoolClient, err?: unknown): void {
    if (this.#client !== c) return;
    this.#client = null;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
    if (err) this.#onConnError(err);
    c.release(true);
    this.#retry();
  }

  #retry(): void {
    if (this.#closed || this.#timer) return;
    const delay = this.#backoff;
    this.#backoff = Math.min(this.#backoff * 2, BACKOFF_MAX_MS);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#listen();
    }, delay);
    this.#timer.unref();
  }

  #startHeartbeat(c: pg.PoolClient): void {
    let inFlight = false;
    this.#heartbeat = setInterval(() => {
      if (inFlight || this.#client !== c) return;
      inFlight = true;
      const deadline = setTimeout(
        () => this.#lost(c, new Error("listening connection unresponsive")),
        this.#heartbeatMs,
      );
      deadline.unref();
      c.query("SELECT 1").then(
        () => {
          clearTimeout(deadline);
          inFlight = false;
        },
        (err: unknown) => {
          clearTimeout(deadline);
          this.#lost(c, err);
        },
      );
    }, this.#heartbeatMs);
    this.#heartbeat.unref();
  }

  /**
   * After a reconnect: beacons of the gap may be lost, so every subscribed account gets the
   * catch-up beacons (read now that LISTEN is back). A failed read drops the connection, so the
   * next reconnect tries again.
   */
  async #resync(c: pg.PoolClient): Promise<void> {
    const accounts = this.#local.accounts();
    this.#resyncs++;
    if (accounts.length === 0) return;
    let beacons: Beacon[];
    try {
      beacons = await this.#catchUp(accounts);
    } catch (err) {
      this.#lost(c, err);
      return;
    }
    for (const b of beacons) this.#local.deliver(b);
  }
}
