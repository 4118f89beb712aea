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
