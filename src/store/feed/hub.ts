/**
 * The single-host adapter of the feed port (port.ts): after each commit the store publishes a
 * Beacon {accountId, mailboxId, modseq}; sessions pull the delta from the store by modseq.
 *
 * - In process: listeners per account, called synchronously from publish() (right after commit).
 * - Across processes: a tiny hub on a Unix domain socket (startFeedHub, run by the server's
 *   primary process). Every Feed with a socket path connects to it as a client, sends its own
 *   beacons as newline-delimited JSON and receives everyone else's; the hub rebroadcasts each
 *   line to all clients except the sender, so a process never sees its own beacon twice.
 * - The hub is optional: when it is absent or restarting, publish() still delivers locally and
 *   the client reconnects with backoff. A write never waits for the hub.
 * No timers or batching on the delivery path (IDLE push latency).
 */
import { EventEmitter } from "node:events";
import { existsSync, mkdirSync, unlinkSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { dirname } from "node:path";
import type { Id } from "../types.ts";
import { MAX_ORIGIN } from "./origin.ts";
import type { Beacon, ChangeFeed } from "./port.ts";

const MAX_LINE = 4096;
const MAX_PENDING_WRITE = 1 << 20;
const BACKOFF_MIN_MS = 25;
const BACKOFF_MAX_MS = 2000;

function isBeacon(v: unknown): v is Beacon {
  if (typeof v !== "object" || v === null) return false;
  const b = v as Record<string, unknown>;
  return (
    typeof b.accountId === "number" &&
    (b.mailboxId === null || typeof b.mailboxId === "number") &&
    typeof b.modseq === "string" &&
    /^[0-9]{1,20}$/.test(b.modseq) &&
    (b.metadata === undefined ||
      (Array.isArray(b.metadata) && b.metadata.every((n: unknown) => typeof n === "string"))) &&
    (b.origin === undefined || (typeof b.origin === "string" && b.origin.length <= MAX_ORIGIN))
  );
}

/** Splits a byte stream into lines; drops lines longer than MAX_LINE. */
/** The beacon one line of the hub's protocol carries, or null for anything else. */
function beaconOf(line: string): Beacon | null {
  try {
    const v: unknown = JSON.parse(line);
    return isBeacon(v) ? v : null;
  } catch {
    return null;
  }
}

function lineSplitter(onLine: (line: string) => void): (chunk: Buffer) => void {
  let buf = "";
  let skipping = false;
  return (chunk) => {
    buf += chunk.toString("utf8");
    let nl = buf.indexOf("\n");
    // bounded by the chunk size: each iteration consumes one line
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!skipping && line.length > 0) onLine(line);
      skipping = false;
      nl = buf.indexOf("\n");
    }
    if (buf.length > MAX_LINE) {
      buf = "";
      skipping = true;
    }
  };
}

export class Feed implements ChangeFeed {
  readonly #emitter = new EventEmitter();
  readonly #socketPath: string | null;
  #sock: Socket | null = null;
  #connected = false;
  #closed = false;
  #backoff = BACKOFF_MIN_MS;
  #timer: NodeJS.Timeout | null = null;
  #firstAttempt: Promise<void>;
  #firstDone: (() => void) | null = null;

  readonly #onError: (err: unknown) => void;

  /** onListenerError: where exceptions thrown by subscribers go (default: a process warning) */
  constructor(socketPath: string | null, opts: { onListenerError?: (err: unknown) => void } = {}) {
    this.#emitter.setMaxListeners(0);
    this.#socketPath = socketPath;
    this.#onError =
      opts.onListenerError ??
      ((err) => process.emitWarning(`change-feed listener failed: ${String(err)}`, "PostkontorFeedWarning"));
    this.#firstAttempt = new Promise((resolve) => {
      this.#firstDone = resolve;
    });
    if (socketPath) this.#connect();
    else this.#settleFirst();
  }

  /** Resolves once the first connection attempt to the hub succeeded or failed. */
  ready(): Promise<void> {
    return this.#firstAttempt;
  }

  get connected(): boolean {
    return this.#connected;
  }

  subscribe(accountId: Id, listener: (b: Beacon) => void): () => void {
    const key = String(accountId);
    this.#emitter.on(key, listener);
    return () => {
      this.#emitter.off(key, listener);
    };
  }

  publish(b: Beacon): void {
    this.#deliver(b);
    const s = this.#sock;
    if (s && this.#connected && !s.destroyed && s.writableLength < MAX_PENDING_WRITE) {
      s.write(JSON.stringify(b) + "\n");
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#settleFirst();
    const s = this.#sock;
    this.#sock = null;
    this.#emitter.removeAllListeners();
    if (s && !s.destroyed) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          s.destroy();
          resolve();
        }, 1000);
        s.once("close", () => {
          clearTimeout(t);
          resolve();
        });
        s.end();
      });
    }
  }

  #deliver(b: Beacon): void {
    // call each listener on its own so one failing listener cannot starve the others or
    // turn a committed write into an error
    for (const l of this.#emitter.listeners(String(b.accountId)) as Array<(b: Beacon) => void>) {
      try {
        l(b);
      } catch (err) {
        this.#onError(err);
      }
    }
  }

  #settleFirst(): void {
    const d = this.#firstDone;
    this.#firstDone = null;
    d?.();
  }

  #connect(): void {
    if (this.#closed || !this.#socketPath) return;
    const s = createConnection(this.#socketPath);
    this.#sock = s;
    s.unref();
    s.on("connect", () => {
      this.#connected = true;
      this.#backoff = BACKOFF_MIN_MS;
      this.#settleFirst();
    });
    s.on(
      "data",
      lineSplitter((line) => {
        const v = beaconOf(line);
        if (v) this.#deliver(v);
      }),
    );
    s.on("error", () => {
      // absent or restarting hub: handled by "close"
    });
    s.on("close", () => {
      this.#connected = false;
      this.#settleFirst();
      if (this.#sock === s) this.#sock = null;
      if (this.#closed) return;
      const delay = this.#backoff;
      this.#backoff = Math.min(this.#backoff * 2, BACKOFF_MAX_MS);
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.#connect();
      }, delay);
      this.#timer.unref();
    });
  }
}

/**
 * Starts the cross-process relay on a Unix domain socket. A stale socket file (no hub answering)
 * is replaced; a live hub on the same path makes this fail with EADDRINUSE.
 */
export async function startFeedHub(socketPath: string): Promise<{ close(): Promise<void> }> {
  mkdirSync(dirname(socketPath), { recursive: true, mode: 0o700 });
  if (existsSync(socketPath)) {
    const alive = await new Promise<boolean>((resolve) => {
      const probe = createConnection(socketPath);
      probe.once("connect", () => {
        probe.destroy();
        resolve(true);
      });
      probe.once("error", () => resolve(false));
    });
    if (alive) {
      const err = new Error(`feed hub already running on ${socketPath}`) as NodeJS.ErrnoException;
      err.code = "EADDRINUSE";
      throw err;
    }
    unlinkSync(socketPath);
  }
  const clients = new Set<Socket>();
  const server: Server = createServer((c) => {
    clients.add(c);
    c.on(
      "data",
      lineSplitter((line) => {
        if (!beaconOf(line)) return;
        const out = line + "\n";
        for (const other of clients) {
          if (other !== c && !other.destroyed && other.writableLength < MAX_PENDING_WRITE) other.write(out);
        }
      }),
    );
    c.on("error", () => {});
    c.on("close", () => clients.delete(c));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const c of clients) c.destroy();
      clients.clear();
      await closed;
      try {
        unlinkSync(socketPath);
      } catch {
        // already gone
      }
    },
  };
}
