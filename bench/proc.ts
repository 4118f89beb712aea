/** Process and port helpers shared by the comparison-server launchers (bench/dovecot.ts, bench/postfix.ts). */
import fs from "node:fs";
import net from "node:net";

/** an ephemeral loopback port that was free a moment ago */
export async function freePort(): Promise<number> {
  return await new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** polls 127.0.0.1:port until it accepts a connection (at most 100 tries, 50 ms apart) */
export async function waitForListener(port: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((res) => {
      const s = net.connect(port, "127.0.0.1", () => {
        s.destroy();
        res(true);
      });
      s.on("error", () => res(false));
    });
    if (ok) return true;
    await new Promise((res) => setTimeout(res, 50));
  }
  return false;
}

/** pid and all its descendants, from /proc (for memory measurements) */
export function descendants(pid: number): number[] {
  const out = [pid];
  try {
    for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
      const kids = fs.readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").trim();
      for (const k of kids.split(/\s+/)) if (k) out.push(...descendants(Number(k)));
    }
  } catch {}
  return out;
}

/**
 * CPU time in ms used by the process trees under `roots` (user + system, of every live process
 * and of the children each one has reaped: a Postfix smtpd or a Dovecot lmtp that exited during
 * the run is counted in its parent), in total and by process (`pid:comm`). Clock ticks of
 * /proc/PID/stat (USER_HZ = 100 on Linux, so 10 ms resolution: take differences over seconds).
 */
export function treeCpu(roots: number[]): { total: number; byProcess: Map<string, number> } {
  const seen = new Set<number>();
  const byProcess = new Map<string, number>();
  let total = 0;
  for (const root of roots) {
    for (const pid of descendants(root)) {
      if (seen.has(pid)) continue;
      seen.add(pid);
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
        // the fields after the command name (which may hold spaces): state is field 3, and
        // utime, stime, cutime, cstime are fields 14–17, i.e. 11–14 after the state
        const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        let ticks = 0;
        for (let i = 11; i <= 14; i++) ticks += Number(f[i]);
        total += ticks * 10;
        byProcess.set(`${pid}:${comm}`, ticks * 10);
      } catch {}
    }
  }
  return { total, byProcess };
}

/** treeCpu's total */
export function treeCpuMs(roots: number[]): number {
  return treeCpu(roots).total;
}

/** CPU by process between two treeCpu samples (processes new since the first count from 0) */
export function cpuDelta(
  a: ReturnType<typeof treeCpu>,
  b: ReturnType<typeof treeCpu>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of b.byProcess) {
    const d = v - (a.byProcess.get(k) ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
}

/** consecutive quiet 500 ms windows that count as idle: longer than the store's background jobs
 * hold off after the last commit (src/store/db/sqlite/load.ts, 1 s, then the indexer's 200 ms
 * delay), so the gap right after a run, before the search indexer starts, is not taken for idle */
const QUIET_WINDOWS = 4;

/**
 * Waits until the trees under `roots` are idle (at most 20 ms of CPU in each of QUIET_WINDOWS
 * consecutive 500 ms windows), so that work a server defers after answering (search indexing,
 * queue runs) is counted and does not run into the next measurement; bounded by `maxMs`.
 */
export async function waitCpuQuiet(roots: () => number[], maxMs = 60_000): Promise<void> {
  const end = Date.now() + maxMs;
  let last = treeCpuMs(roots());
  let quiet = 0;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 500));
    const now = treeCpuMs(roots());
    quiet = now - last <= 20 ? quiet + 1 : 0;
    if (quiet >= QUIET_WINDOWS) return;
    last = now;
  }
}
