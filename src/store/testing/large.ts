/**
 * Test helpers for large-message streaming: a deterministic large message appended to a store,
 * and a sampler of this process's memory growth (JS heap + ArrayBuffers, where Buffers live).
 */
import { createHash } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Store } from "../types.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Appends a CRLF-only message of about `bytes` octets (no line starts with "."); its sha256 and size. */
export async function appendLarge(
  store: Store,
  accountId: number,
  mailboxId: number,
  bytes: number,
): Promise<{ uid: number; size: number; sha256: string }> {
  const head = Buffer.from("From: a@example.com\r\nTo: b@example.com\r\nSubject: large\r\n\r\n");
  const line = Buffer.from(`${"0123456789abcdefghijklmnopqrstuvwxyz".repeat(2)}\r\n`);
  const n = Math.ceil((bytes - head.length) / line.length);
  const raw = Buffer.allocUnsafe(head.length + n * line.length);
  head.copy(raw, 0);
  for (let i = 0; i < n; i++) line.copy(raw, head.length + i * line.length);
  const sha256 = createHash("sha256").update(raw).digest("hex");
  const r = await store.append(accountId, mailboxId, { raw });
  return { uid: r.uid, size: raw.length, sha256 };
}

function used(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * Runs fn while sampling the memory it keeps alive: every `everyMs` (20) ms a full GC, then heap + ArrayBuffers
 * (garbage not collected yet would make the figure depend on GC timing; a message held in memory
 * is live and counts). Answers the peak growth over the level before fn started, in bytes.
 */
export async function peakGrowth(fn: () => Promise<void>, everyMs = 20): Promise<number> {
  gc();
  gc();
  const base = used();
  let peak = base;
  const timer = setInterval(() => {
    gc();
    peak = Math.max(peak, used());
  }, everyMs);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  gc();
  peak = Math.max(peak, used());
  return peak - base;
}
