/**
 * WAL checkpoints off the commit path (docs/architecture.md "Mail store"). SQLite's automatic
 * checkpoint runs inside the COMMIT that crosses wal_autocheckpoint pages: the committing
 * process copies the log into the database and fsyncs it while its event loop waits — in a bulk
 * APPEND a fifth of the appending worker's time. Here every process runs a PASSIVE checkpoint
 * every 250 ms while its own event loop is not busy; a checkpoint needs no write lock, so the
 * idle worker copies the log while the busy one goes on appending. The automatic checkpoint
 * stays as a safety net at AUTOCHECKPOINT_PAGES, for a process that is busy the whole time (one
 * worker, a bulk import).
 */
import { LoopLoad } from "./load.ts";
import type { SqliteHandle } from "./sqlite.ts";

const CHECKPOINT_MS = 250;
/** SQLite's automatic checkpoint threshold while this runs (its default is 1000 pages) */
const AUTOCHECKPOINT_PAGES = 10_000;

export class WalCheckpointer {
  readonly #h: SqliteHandle;
  readonly #timer: NodeJS.Timeout;
  readonly #load = new LoopLoad();
  #running = false;

  constructor(h: SqliteHandle) {
    this.#h = h;
    h.raw.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
    this.#timer = setInterval(() => this.#tick(), CHECKPOINT_MS);
    this.#timer.unref();
  }

  #tick(): void {
    // a busy process leaves it to the others (and to the automatic checkpoint)
    if (this.#load.busy() || this.#running) return;
    this.#running = true;
    void this.#h
      .withConnection(() => this.checkpointSync())
      .finally(() => {
        this.#running = false;
      });
  }

  /** one PASSIVE checkpoint that waits for nobody; false when it could not run */
  checkpointSync(): boolean {
    return checkpointNoWait(this.#h, "PASSIVE");
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/**
 * A checkpoint that does not wait for other connections (busy_timeout 0 while it runs): true when
 * it ran to the end, false when another connection's write or old snapshot was in the way (or it
 * failed). Call with the connection held and no transaction open.
 */
export function checkpointNoWait(h: SqliteHandle, mode: "PASSIVE" | "TRUNCATE"): boolean {
  const raw = h.raw;
  raw.pragma("busy_timeout = 0");
  try {
    const r = raw.pragma(`wal_checkpoint(${mode})`) as Array<{ busy: number }>;
    return r[0]?.busy === 0;
  } catch {
    return false;
  } finally {
    raw.pragma("busy_timeout = 100");
  }
}
