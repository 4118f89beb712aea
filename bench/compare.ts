/**
 * Interleaved comparison (issue 16 item 7): runs `bench/run.ts` for postkontor and for the
 * reference (Dovecot, with Postfix for the SMTP rows) alternately, ABBA order (P R, R P, P R …)
 * so that a drift in the machine's load hits both sides alike, and reports every figure per run,
 * the medians, the range, and the ratio postkontor / reference at the medians with whether that
 * is ahead (rates: higher is better; times, CPU and memory: lower is better).
 *
 *   npm run bench:compare -- --pairs 2 --only smtp1,fixedmem [other bench/run.ts options]
 *
 * Writes bench/results/compare-<only>.json (every row of every run, with the load average at
 * its start) and compare-<only>.md (the table for docs/benchmarks.md). Each run is one child
 * process, bounded by run.ts's own deadline and a timeout here.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
let pairs = 2;
let reference = "dovecot";
const pass: string[] = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  if (a === "--pairs") pairs = Math.max(1, Math.min(10, Number(argv[++i])));
  else if (a === "--reference") reference = String(argv[++i]);
  else if (a === "--target") throw new Error("--target is chosen by compare.ts (see --reference)");
  else pass.push(a);
}
const onlyAt = pass.indexOf("--only");
const only = onlyAt >= 0 ? String(pass[onlyAt + 1]) : "all";

/** figures compared, and which way is better */
const HIGHER = [
  "per_second",
  "accepted_per_second",
  "delivered_per_second",
  "messages_per_s",
  "mb_per_s",
  "last_to_first",
];
const LOWER = [
  "median_ms",
  "p50_ms",
  "p99_ms",
  "server_cpu_ms_per_message",
  "pss_total_kib",
  "pss_total_kib_at_5s",
  "pss_total_if_alone_kib",
  "per_connection_kib",
  "delete_ms",
];

type Row = Record<string, unknown>;
interface Run {
  target: string;
  pair: number;
  started: string;
  load: number[];
  seconds: number;
  code: number | null;
  rows: Row[];
}

function runOnce(target: string, pair: number): Promise<Run> {
  const started = new Date().toISOString();
  const load = os.loadavg().map((x) => +x.toFixed(2));
  const t0 = performance.now();
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [path.join(here, "run.ts"), ...pass, "--target", target], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    p.stdout.setEncoding("utf8");
    p.stdout.on("data", (d: string) => {
      out += d;
      process.stdout.write(d);
    });
    // run.ts stops itself after 45 minutes; this is the bound around it
    const timer = setTimeout(() => p.kill("SIGTERM"), 50 * 60_000);
    p.on("close", (code) => {
      clearTimeout(timer);
      const rows: Row[] = [];
      for (const line of out.split("\n")) {
        if (!line.startsWith("{")) continue;
        try {
          rows.push(JSON.parse(line) as Row);
        } catch {}
      }
      resolve({ target, pair, started, load, seconds: (performance.now() - t0) / 1000, code, rows });
    });
  });
}

function keyOf(r: Row): string {
  const parts = [String(r.bench)];
  for (const k of ["variant", "fill", "connections"]) if (r[k] !== undefined) parts.push(`${k}=${r[k]}`);
  return parts.join(" ");
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** key → metric → the figures of every run of one target, in run order */
function collect(runs: Run[], target: string): Map<string, Map<string, number[]>> {
  const out = new Map<string, Map<string, number[]>>();
  for (const run of runs.filter((r) => r.target === target)) {
    for (const row of run.rows) {
      const key = keyOf(row);
      for (const m of [...HIGHER, ...LOWER]) {
        const v = row[m];
        if (typeof v !== "number") continue;
        const byMetric = out.get(key) ?? new Map<string, number[]>();
        out.set(key, byMetric);
        const list = byMetric.get(m) ?? [];
        byMetric.set(m, list);
        list.push(v);
      }
    }
  }
  return out;
}

/** the reference row for a postkontor key: the same key, else the same bench when it has one variant */
function refKey(key: string, ref: Map<string, Map<string, number[]>>): string | undefined {
  if (ref.has(key)) return key;
  const bench = key.split(" ")[0]!;
  const same = [...ref.keys()].filter((k) => k.split(" ")[0] === bench && !k.includes("fill="));
  const fill = /fill=\d+/.exec(key)?.[0];
  const withFill = fill ? [...ref.keys()].filter((k) => k.split(" ")[0] === bench && k.includes(fill)) : [];
  if (withFill.length === 1) return withFill[0];
  return same.length === 1 ? same[0] : undefined;
}

const fmt = (x: number) =>
  Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2);

const runs: Run[] = [];
for (let pair = 0; pair < pairs; pair++) {
  const order = pair % 2 === 0 ? ["postkontor", reference] : [reference, "postkontor"];
  for (const target of order) {
    console.error(`compare: pair ${pair + 1}/${pairs}, ${target}, load ${os.loadavg()[0]!.toFixed(1)}`);
    const run = await runOnce(target, pair);
    runs.push(run);
    if (run.code !== 0) console.error(`compare: ${target} exited with ${run.code}; its rows are kept`);
  }
}

const pk = collect(runs, "postkontor");
const ref = collect(runs, reference);
const lines = [
  `| scenario | figure | postkontor runs → median | ${reference} runs → median | ratio | ahead |`,
  "| --- | --- | --- | --- | --- | --- |",
];
const summary: Row[] = [];
for (const [key, byMetric] of pk) {
  // the per-repetition rows are listed; their own median rows would repeat them
  if (/_(median|summary)\b/.test(key.split(" ")[0]!)) continue;
  const rk = refKey(key, ref);
  for (const [metric, values] of byMetric) {
    const refValues = rk ? ref.get(rk)?.get(metric) : undefined;
    const m = median(values);
    const rm = refValues?.length ? median(refValues) : undefined;
    const ratio = rm ? m / rm : undefined;
    const ahead = ratio === undefined ? "" : HIGHER.includes(metric) ? ratio >= 1 : ratio <= 1;
    summary.push({ key, ref_key: rk ?? null, metric, postkontor: values, reference: refValues ?? [], ratio });
    lines.push(
      `| ${key} | ${metric} | ${values.map(fmt).join(", ")} → **${fmt(m)}** | ${
        refValues?.length ? `${refValues.map(fmt).join(", ")} → **${fmt(rm!)}**` : "—"
      } | ${ratio === undefined ? "—" : `${ratio.toFixed(2)}×`} | ${ahead === "" ? "" : ahead ? "yes" : "**no**"} |`,
    );
  }
}
const dir = path.join(here, "results");
fs.mkdirSync(dir, { recursive: true });
const base = path.join(dir, `compare-${only.replaceAll(",", "-")}`);
fs.writeFileSync(
  `${base}.json`,
  JSON.stringify({ date: new Date().toISOString(), node: process.version, argv, runs, summary }, null, 2),
);
const when = runs.map((r) => `${r.target} ${r.started.slice(11, 16)} (load ${r.load[0]})`).join(", ");
fs.writeFileSync(`${base}.md`, `${lines.join("\n")}\n\nRuns (UTC start, 1-minute load average): ${when}\n`);
console.error(
  `${lines.join("\n")}\n\nRuns: ${when}\ncompare: written to ${path.relative(process.cwd(), base)}.{json,md}`,
);
