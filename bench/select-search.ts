/**
 * STATUS, SELECT, `SEARCH UNSEEN` and `FETCH <last 1000> ENVELOPE` on a 100k-message INBOX over a real
 * socket (issue 16 item 4), warm: one warm-up round, then `runs` timed rounds; prints medians.
 * A second session changes one flag (set, then cleared) before every round's second SELECT
 * ("select after change").
 *
 *   node bench/select-search.ts [runs=7] [messages=100000] [srcRoot=<this repo>]
 *
 * srcRoot measures another checkout (e.g. a detached worktree of main) with this script.
 */
import { rmSync } from "node:fs";
import { resolve } from "node:path";
import { openFilledStore, serveFilled } from "./filled-store.ts";
import { RawImap } from "./imap-client.ts";

const RUNS = Number(process.argv[2] ?? 7);
const N = Number(process.argv[3] ?? 100_000);
const root = resolve(process.argv[4] ?? new URL("..", import.meta.url).pathname);
const { store, dir } = await openFilledStore(root, N, "pk-bench-select-");
const srv = await serveFilled(root, store);
const c = await RawImap.connect(srv.port);
await c.command("LOGIN u@example.com pw");
const other = await RawImap.connect(srv.port);
await other.command("LOGIN u@example.com pw");
await other.command("SELECT INBOX");
const times: Record<string, number[]> = {
  status: [],
  select: [],
  selectAfterChange: [],
  searchUnseen: [],
  envelope: [],
};
let hits = 0;
let envLines = 0;
const timed = async <T>(k: string, r: number, f: () => Promise<T>): Promise<T> => {
  const t0 = performance.now();
  const v = await f();
  if (r > 0) times[k]!.push(performance.now() - t0);
  return v;
};
for (let r = 0; r <= RUNS; r++) {
  await timed("status", r, () => c.command("STATUS INBOX (MESSAGES UNSEEN SIZE HIGHESTMODSEQ)"));
  await timed("select", r, () => c.command("SELECT INBOX"));
  const res = await timed("searchUnseen", r, () => c.command("SEARCH UNSEEN"));
  const line = res.untagged.map((b) => b.toString()).find((l) => l.startsWith("* SEARCH")) ?? "";
  hits = line.split(" ").length - 2;
  const env = await timed("envelope", r, () => c.commandCount(`FETCH ${N - 999}:${N} ENVELOPE`));
  envLines = env.lines;
  await c.command("UNSELECT");
  await other.command(`STORE ${1 + (r >> 1) * 3} ${r % 2 ? "-" : "+"}FLAGS (\\Flagged)`);
  await timed("selectAfterChange", r, () => c.command("SELECT INBOX"));
  await c.command("UNSELECT");
}
if (hits !== Math.floor(N / 3))
  throw new Error(`SEARCH UNSEEN: expected ${Math.floor(N / 3)} hits, got ${hits}`);
if (envLines !== 1000) throw new Error(`FETCH ENVELOPE: expected 1000 lines, got ${envLines}`);
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const out: Record<string, unknown> = { root, messages: N, runs: RUNS };
for (const [k, v] of Object.entries(times)) {
  out[`${k}Ms`] = +median(v).toFixed(1);
  out[k] = v.map((x) => +x.toFixed(1));
}
console.log(JSON.stringify(out));
c.close();
other.close();
srv.close();
await store.close();
rmSync(dir, { recursive: true, force: true });
