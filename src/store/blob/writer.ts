/**
 * A small pool of blob-writer threads (writer-thread.ts). A durable blob write is a chain of
 * filesystem calls (mkdir, open, write, fsync, close, rename, directory fsync); done with the
 * promise API each step is a thread-pool round trip that then waits its turn on a busy event
 * loop, so under load a 10 KB write took tens of milliseconds. Here the whole chain runs
 * synchronously in a thread: one message each way.
 *
 * Each blob directory (ab/cd) always goes to the same thread. Threads start on first use, are
 * unreferenced while idle (they never keep the process alive), end after IDLE_EXIT_MS without work
 * (an idle server does not keep their heaps) and are restarted after a crash; a job whose thread
 * died is rejected, never silently dropped. Several threads matter more for throughput than for
 * CPU: concurrent fsyncs share the filesystem's journal commits and the disk's cache flushes.
 */
import { Worker } from "node:worker_threads";

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
  idle: NodeJS.Timeout | null;
}

/** a thread with nothing to do for this long ends (and starts again on the next write) */
const IDLE_EXIT_MS = 60_000;

export interface BlobWriterPoolOptions {
  /** ms without work after which a thread ends (default IDLE_EXIT_MS) */
  idleExitMs?: number;
  /**
   * the thread's module (default writer-thread.ts): it answers each `{seq, …}` message with
   * `{seq, value?}` or `{seq, error: {message, code}}`
   */
  script?: URL;
}

export class BlobWriterPool {
  readonly size: number;
  readonly #slots: Array<Slot | null>;
  readonly #idleExitMs: number;
  readonly #script: URL;
  #seq = 0;
  #closed = false;

  constructor(size: number, opts: BlobWriterPoolOptions = {}) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`blob writer threads must be ≥ 1, got ${size}`);
    this.size = size;
    this.#idleExitMs = opts.idleExitMs ?? IDLE_EXIT_MS;
    this.#script = opts.script ?? new URL("./writer-thread.ts", import.meta.url);
    this.#slots = Array.from({ length: size }, () => null);
  }

  /** Writes `data` durably as blob `id` under `root` (see durable.ts). */
  async write(root: string, id: string, data: Uint8Array): Promise<void> {
    // a copy the thread owns (transferred, not cloned again); the caller keeps its bytes
    const copy = new Uint8Array(data);
    await this.call(Number.parseInt(id.slice(0, 4), 16), { root, id, data: copy }, [copy.buffer]);
  }

  /**
   * Sends `job` (plus a sequence number) to thread `key % size` and resolves with its answer's
   * `value`; `transfer` moves buffers to the thread instead of copying them.
   */
  call(key: number, job: object, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.#closed) return Promise.reject(new Error("blob writer pool closed"));
    const slot = this.#slot(key % this.size);
    const seq = ++this.#seq;
    return new Promise<unknown>((resolve, reject) => {
      if (slot.idle) {
        clearTimeout(slot.idle);
        slot.idle = null;
      }
      if (slot.pending.size === 0) slot.worker.ref();
      slot.pending.set(seq, { resolve, reject });
      slot.worker.postMessage({ ...job, seq }, transfer);
    });
  }

  #slot(i: number): Slot {
    const existing = this.#slots[i];
    if (existing) return existing;
    const worker = new Worker(this.#script);
    const slot: Slot = { worker, pending: new Map(), idle: null };
    worker.unref();
    worker.on(
      "message",
      (m: { seq: number; value?: unknown; error?: { message: string; code?: string } }) => {
        const p = slot.pending.get(m.seq);
        if (!p) return;
        slot.pending.delete(m.seq);
        if (slot.pending.size === 0) {
          worker.unref();
          slot.idle = setTimeout(() => {
            if (slot.pending.size > 0 || this.#slots[i] !== slot) return;
            this.#slots[i] = null;
            void worker.terminate();
          }, this.#idleExitMs);
          slot.idle.unref();
        }
        if (m.error) p.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
        else p.resolve(m.value);
      },
    );
    const fail = (err: Error) => {
      if (slot.idle) clearTimeout(slot.idle);
      if (this.#slots[i] === slot) this.#slots[i] = null;
      for (const p of slot.pending.values()) p.reject(err);
      slot.pending.clear();
    };
    worker.on("error", (err) => fail(err));
    worker.on("exit", (code) => fail(new Error(`blob writer thread exited (code ${code})`)));
    this.#slots[i] = slot;
    return slot;
  }

  /** threads running now (started and not ended) */
  liveThreads(): number {
    return this.#slots.filter((s) => s !== null).length;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const slots = this.#slots.splice(0).filter((s): s is Slot => s !== null);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}
