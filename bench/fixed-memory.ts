/**
 * Fixed memory of an idle server (issue 16 item 5): PSS of every server process after start-up,
 * with no connection open, split by mapping kind from /proc/PID/smaps: anonymous memory (V8 heap,
 * malloc arenas incl. SQLite's page caches, thread stacks), the node binary, better-sqlite3's
 * native module, other shared libraries and other files (SQLite -shm, fonts/ICU data).
 */
import fs from "node:fs";

type Part = "anon" | "node_binary" | "sqlite_module" | "shared_libs" | "sqlite_shm" | "other_files";

/**
 * PSS in KiB per mapping kind of one process, and the node binary's resident KiB (RSS, shared or
 * not: `node_binary_rss`); {} when /proc is unreadable
 */
export function pssByPart(pid: number): Partial<Record<Part | "node_binary_rss", number>> {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/smaps`, "utf8");
  } catch {
    return {};
  }
  const out: Partial<Record<Part | "node_binary_rss", number>> = {};
  let part: Part = "anon";
  for (const line of text.split("\n")) {
    // a mapping header: "addr-addr perms offset dev inode [path]"
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      const file = head[1] ?? "";
      if (file === "" || file.startsWith("[")) part = "anon";
      else if (file.endsWith("better_sqlite3.node")) part = "sqlite_module";
      else if (/\/node$/.test(file) || /\/bin\/node\b/.test(file)) part = "node_binary";
      else if (/\.so(\.|$)/.test(file)) part = "shared_libs";
      else if (file.endsWith("-shm")) part = "sqlite_shm";
      else part = "other_files";
      continue;
    }
    const pss = /^Pss:\s+(\d+) kB/.exec(line);
    if (pss) out[part] = (out[part] ?? 0) + Number(pss[1]);
    const rss = part === "node_binary" ? /^Rss:\s+(\d+) kB/.exec(line) : null;
    if (rss) out.node_binary_rss = (out.node_binary_rss ?? 0) + Number(rss[1]);
  }
  return out;
}

/** every process's PSS by part, now */
function sample(pids: number[]) {
  let total = 0;
  let binaryPss = 0;
  let binaryRss = 0;
  const perProcess: Array<Record<string, unknown>> = [];
  pids.forEach((pid, i) => {
    const { node_binary_rss: rss, ...parts } = pssByPart(pid);
    const sum = Object.values(parts).reduce((a, b) => a + (b ?? 0), 0);
    total += sum;
    binaryPss += parts.node_binary ?? 0;
    binaryRss = Math.max(binaryRss, rss ?? 0);
    let comm = "";
    try {
      comm = fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    } catch {}
    perProcess.push({ process: i === 0 ? "primary" : `worker ${i}`, comm, pss_kib: sum, ...parts });
  });
  // PSS splits the node binary's resident pages among every Node.js process on the machine (the
  // benchmark's own included); on a host that runs only the server they are the server's alone:
  // about the largest resident set of the binary among its processes (the pages they share)
  const alone = total - binaryPss + binaryRss;
  return { total, alone, perProcess };
}

/**
 * Fixed memory of the idle server: PSS of every server process 5 s after start-up (start-up work
 * — migrations, the first indexer and sweeper runs — done) and once idle, SETTLE_MS after start:
 * V8 shrinks a heap that grew during start-up only after some seconds without work, so the first
 * sample still holds start-up garbage. The idle figure is the one compared.
 */
const SETTLE_MS = 20_000;

export async function benchFixedMemory(
  pids: number[],
  report: (r: Record<string, unknown>) => void,
): Promise<void> {
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, 5000));
  const early = sample(pids);
  await new Promise((r) => setTimeout(r, Math.max(0, SETTLE_MS - (Date.now() - t0))));
  const idle = sample(pids);
  report({
    bench: "memory_fixed_idle",
    processes: pids.length,
    pss_total_kib: idle.total,
    pss_total_kib_at_5s: early.total,
    pss_total_if_alone_kib: idle.alone,
    settle_s: SETTLE_MS / 1000,
    per_process: idle.perProcess,
  });
}
