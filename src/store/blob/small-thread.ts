/**
 * The small-blob writer thread (small.ts): receives {seq, path, id, data} and answers {seq} once
 * the row is committed. Group commit: the jobs that arrived while the previous transaction ran
 * are inserted in the next one (at most BATCH_ROWS / BATCH_BYTES), so a burst of puts costs one
 * WAL fsync per batch instead of two fsyncs per file. Waiting for another process's batch blocks
 * only this thread (busy timeout).
 */
import { parentPort } from "node:worker_threads";
import type Database from "better-sqlite3";
import { INSERT, openSmallDb } from "./small.ts";

interface Job {
  seq: number;
  path: string;
  id: string;
  data: Uint8Array;
}

const BATCH_ROWS = 1000;
const BATCH_BYTES = 32 * 1048576;
const BUSY_MS = 15_000;

const dbs = new Map<string, { db: Database.Database; insert: Database.Statement }>();
let queue: Job[] = [];
let scheduled = false;

function conn(path: string) {
  let c = dbs.get(path);
  if (!c) {
    const db = openSmallDb(path, BUSY_MS);
    c = { db, insert: db.prepare(INSERT) };
    dbs.set(path, c);
  }
  return c;
}

function answer(jobs: Job[], err?: unknown): void {
  const e = err as NodeJS.ErrnoException | undefined;
  for (const j of jobs) {
    parentPort?.postMessage(e ? { seq: j.seq, error: { message: e.message, code: e.code } } : { seq: j.seq });
  }
}

function flush(): void {
  scheduled = false;
  // bounded: each pass takes at least one job off the queue
  while (queue.length > 0) {
    let n = 0;
    let bytes = 0;
    const path = queue[0]!.path;
    while (
      n < queue.length &&
      n < BATCH_ROWS &&
      queue[n]!.path === path &&
      (n === 0 || bytes < BATCH_BYTES)
    ) {
      bytes += queue[n]!.data.byteLength;
      n++;
    }
    const batch = queue.slice(0, n);
    queue = queue.slice(n);
    try {
      const c = conn(path);
      const now = Date.now();
      c.db
        .transaction(() => {
          for (const j of batch) c.insert.run(j.id, now, j.data);
        })
        .immediate();
      answer(batch);
    } catch (err) {
      answer(batch, err);
    }
  }
}

parentPort?.on("message", (job: Job) => {
  queue.push(job);
  if (!scheduled) {
    scheduled = true;
    // after the messages that arrived with this one: they share the transaction
    setImmediate(flush);
  }
});
