/**
 * Repeated bulk fills (issue 16 item 3): `fills` times, MULTIAPPEND `messages` messages into one
 * mailbox, then DELETE it; the next fill starts at once. Reports per fill the append rate, the
 * DELETE time and the WAL and database file sizes after it. The write path should keep its
 * first-fill speed, the WAL should not stay large and DELETE should not take time in proportion
 * to the mailbox. Bounded: `fills` × `messages` appends, each batch answered before the next.
 */
import fs from "node:fs";
import path from "node:path";
import type { RawImap } from "./imap-client.ts";

export interface RefillSizes {
  fills: number;
  messages: number;
  batch: number;
}

export function refillSizes(quick: boolean, messages?: number): RefillSizes {
  return { fills: 3, messages: messages ?? (quick ? 3000 : 100_000), batch: 500 };
}

function fileMiB(p: string): number {
  try {
    return +(fs.statSync(p).size / 1048576).toFixed(1);
  } catch {
    return 0;
  }
}

export async function benchRefill(
  login: () => Promise<RawImap>,
  makeMessage: (i: number, bodyBytes: number) => Buffer,
  dataDir: string | null,
  sizes: RefillSizes,
  report: (r: Record<string, unknown>) => void,
  checkDeadline: () => void,
): Promise<void> {
  const c = await login();
  const rates: number[] = [];
  const db = dataDir ? path.join(dataDir, "store.sqlite") : null;
  for (let f = 0; f < sizes.fills; f++) {
    await c.command("CREATE refill");
    const t0 = performance.now();
    for (let i = 0; i < sizes.messages; i += sizes.batch) {
      checkDeadline();
      const n = Math.min(sizes.batch, sizes.messages - i);
      const parts: Buffer[] = [Buffer.from(`r${f}.${i} APPEND refill`)];
      for (let k = 0; k < n; k++) {
        const m = makeMessage(f * sizes.messages + i + k, 1500);
        parts.push(Buffer.from(` (${(i + k) % 3 === 0 ? "\\Seen" : ""}) {${m.length}+}\r\n`), m);
      }
      parts.push(Buffer.from("\r\n"));
      c.write(Buffer.concat(parts).toString("latin1"));
      for (;;) {
        const line = (await c.readLine()).toString();
        if (line.startsWith(`r${f}.${i} `)) {
          if (!/^\S+ OK/.test(line)) throw new Error(`MULTIAPPEND failed: ${line}`);
          break;
        }
      }
    }
    const dt = (performance.now() - t0) / 1000;
    const walAfterFill = db ? fileMiB(`${db}-wal`) : null;
    const t1 = performance.now();
    const del = await c.command("DELETE refill");
    if (!/ OK/.test(del.tagged.toString())) throw new Error(`DELETE failed: ${del.tagged}`);
    const delMs = performance.now() - t1;
    rates.push(sizes.messages / dt);
    report({
      bench: "refill_multiappend",
      fill: f + 1,
      messages: sizes.messages,
      seconds: +dt.toFixed(2),
      per_second: +(sizes.messages / dt).toFixed(0),
      delete_ms: +delMs.toFixed(1),
      wal_mib_after_fill: walAfterFill,
      wal_mib_after_delete: db ? fileMiB(`${db}-wal`) : null,
      db_mib: db ? fileMiB(db) : null,
    });
  }
  report({
    bench: "refill_multiappend_summary",
    fills: sizes.fills,
    messages: sizes.messages,
    per_second: rates.map((r) => +r.toFixed(0)),
    last_to_first: +(rates[rates.length - 1]! / rates[0]!).toFixed(2),
  });
  c.close();
}
