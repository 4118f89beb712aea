/**
 * Bulk-flags benchmark: SELECT and `UID FETCH 1:* (UID FLAGS)` on a 100k-message INBOX over a
 * real socket (the sync query of every client). Prints per-run times and medians.
 *
 *   node bench/fetch-flags.ts [runs=9] [messages=100000] [srcRoot=<this repo>]
 *
 * srcRoot lets the same script measure another checkout (e.g. an exported older tree).
 */
import { rmSync } from "node:fs";
import { resolve } from "node:path";
import { openFilledStore, serveFilled } from "./filled-store.ts";
import { RawImap } from "./imap-client.ts";

const RUNS = Number(process.argv[2] ?? 9);
const N = Number(process.argv[3] ?? 100_000);
const root = resolve(process.argv[4] ?? new URL("..", import.meta.url).pathname);
const { store, dir } = await openFilledStore(root, N, "pk-bench-flags-");
const server = await serveFilled(root, store);
const c = await RawImap.connect(server.port);
await c.command("LOGIN u@example.com pw");
const sel: number[] = [];
const fetch: number[] = [];
for (let r = 0; r < RUNS + 1; r++) {
  let t0 = performance.now();
  await c.command("SELECT INBOX");
  const s = performance.now() - t0;
  t0 = performance.now();
  const res = await c.commandCount("UID FETCH 1:* (UID FLAGS)");
  const f = performance.now() - t0;
  if (res.lines !== N) throw new Error(`expected ${N} FETCH lines, got ${res.lines}`);
  await c.command("UNSELECT");
  if (r === 0) continue; // warm-up
  sel.push(s);
  fetch.push(f);
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
console.log(
  JSON.stringify({
    root,
    messages: N,
    runs: RUNS,
    selectMs: +median(sel).toFixed(1),
    fetchMs: +median(fetch).toFixed(1),
    select: sel.map((x) => +x.toFixed(1)),
    fetch: fetch.map((x) => +x.toFixed(1)),
  }),
);
c.close();
server.close();
await store.close();
rmSync(dir, { recursive: true, force: true });
