/**
 * Fixed memory of an idle server (issue 16 item 5): PSS of every server process after start-up,
 * with no connection open, split by mapping kind from /proc/PID/smaps: anonymous memory (V8 heap,
 * malloc arenas incl. SQLite's page caches, thread stacks), the node binary, better-sqlite3's
 * native module, other shared libraries and other files (SQLite -shm, fonts/ICU data).
 */
import fs from "node:fs";

type Part = "anon" | "node_binary" | "sqlite_module" | "shared_libs" | "sqlite_shm" | "other_files";

/** PSS in KiB per mapping kind of one process; {} when /proc is unreadable */
export function pssByPart(pid: number): Partial<Record<Part, number>> {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/smaps`, "utf8");
  } catch {
    return {};
  }
  const out: Partial<Record<Part, number>> = {};
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
  }
  return out;
}

export async function benchFixedMemory(
  pids: number[],
  report: (r: Record<string, unknown>) => void,
): Promise<void> {
  // start-up work (migrations, first indexer/sweeper runs) settles
  await new Promise((r) => setTimeout(r, 5000));
  let total = 0;
  const perProcess: Array<Record<string, unknown>> = [];
  pids.forEach((pid, i) => {
    const parts = pssByPart(pid);
    const sum = Object.values(parts).reduce((a, b) => a + (b ?? 0), 0);
    total += sum;
    let comm = "";
    try {
      comm = fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    } catch {}
    perProcess.push({ process: i === 0 ? "primary" : `worker ${i}`, comm, pss_kib: sum, ...parts });
  });
  report({
    bench: "memory_fixed_idle",
    processes: pids.length,
    pss_total_kib: total,
    per_process: perProcess,
  });
}
