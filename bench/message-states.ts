/**
 * Store-level micro-benchmark of the bulk-flags path: the store's bulk read of a 100k-message
 * mailbox (listMessageStates, or listFlagText in older trees) plus formatting the
 * `* n FETCH (UID u FLAGS (...) MODSEQ (m))` lines the way the IMAP layer does. Two source trees
 * are measured in one process, runs interleaved (A, B, A, B, ...); prints per-run times and medians.
 *
 *   node bench/message-states.ts <rootA> <rootB> [runs=5] [messages=100000]
 */
import { rmSync } from "node:fs";
import { resolve } from "node:path";
import { openFilledStore } from "./filled-store.ts";

const roots = [resolve(process.argv[2] ?? "."), resolve(process.argv[3] ?? ".")];
const RUNS = Number(process.argv[4] ?? 5);
const N = Number(process.argv[5] ?? 100_000);

interface Rows {
  uids: Uint32Array;
  flags: string[];
  modseqs: ArrayLike<number | bigint>;
}
interface Subject {
  root: string;
  list(): Promise<Rows>;
  close(): Promise<void>;
  dir: string;
}

async function open(root: string): Promise<Subject> {
  const { store, inboxId, dir } = await openFilledStore(root, N, "pk-bench-states-");
  const fn = store.listMessageStates ?? store.listFlagText;
  return {
    root,
    dir,
    list: () => fn.call(store, inboxId),
    close: () => store.close(),
  };
}

/** the IMAP layer's formatting of `UID FETCH 1:* (UID FLAGS MODSEQ)` lines, batched to 64 KiB */
function format(rows: Rows): number {
  let buf = "";
  let bytes = 0;
  const n = rows.uids.length;
  for (let i = 0; i < n; i++) {
    const m = rows.modseqs[i]!;
    buf += `* ${i + 1} FETCH (UID ${rows.uids[i]!} FLAGS (${rows.flags[i]!}) MODSEQ (${m}))\r\n`;
    if (buf.length >= 65536) {
      bytes += buf.length;
      buf = "";
    }
  }
  return bytes + buf.length;
}

const subjects = [await open(roots[0]!), await open(roots[1]!)];
const times: number[][] = [[], []];
for (const s of subjects) format(await s.list()); // warm-up
for (let r = 0; r < RUNS; r++) {
  for (let k = 0; k < 2; k++) {
    const t0 = performance.now();
    const bytes = format(await subjects[k]!.list());
    times[k]!.push(performance.now() - t0);
    if (bytes === 0) throw new Error("no output");
  }
}
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;
for (let k = 0; k < 2; k++) {
  const t = times[k]!;
  console.log(
    `${subjects[k]!.root}: runs ${t.map((x) => x.toFixed(1)).join(" ")} ms; median ${median(t).toFixed(1)} ms`,
  );
}
for (const s of subjects) {
  await s.close();
  rmSync(s.dir, { recursive: true, force: true });
}
