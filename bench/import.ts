/**
 * Import throughput (issue 14): `postkontor import` — the CLI, as an operator runs it — into a
 * running postkontor server (not the one holding the source messages), from
 *   - an mbox file of N messages (written by our own `postkontor export --format mbox` of an
 *     account filled over IMAP; the export is timed too),
 *   - the same mbox again (every message already there: the idempotence check's cost),
 *   - another IMAP server: postkontor itself (the filled account), and Debian's Dovecot when it
 *     is installed (bench/dovecot.ts), each filled with the same N messages by MULTIAPPEND.
 * postkontor as a source offers STARTTLS, which the import takes on loopback too (TLS in the
 * figure); the Dovecot of bench/dovecot.ts has ssl = no. Each import goes into a fresh account, so nothing is skipped as a duplicate. The times are the
 * CLI's wall clock (process start and config load included, ~1 s). Bounded: N messages per fill,
 * each CLI run under the benchmark deadline; all traffic on 127.0.0.1.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { runCli } from "../test/kit/process.ts";
import { dovecotAvailable, startDovecot } from "./dovecot.ts";
import { RawImap } from "./imap-client.ts";
import { startServer } from "./server.ts";

export interface ImportSizes {
  messages: number;
  /** messages per MULTIAPPEND when filling a source */
  batch: number;
}

export function importSizes(quick: boolean, messages?: number): ImportSizes {
  return { messages: Math.min(messages ?? (quick ? 1000 : 10_000), 100_000), batch: 500 };
}

const DOMAIN = "bench.test";
const PASS = "bench-password-1";

async function multiAppend(
  port: number,
  user: string,
  makeMessage: (i: number) => Buffer,
  sizes: ImportSizes,
  checkDeadline: () => void,
): Promise<void> {
  const c = await RawImap.connect(port);
  try {
    await c.command(`LOGIN ${user} ${PASS}`);
    for (let i = 0; i < sizes.messages; i += sizes.batch) {
      checkDeadline();
      const n = Math.min(sizes.batch, sizes.messages - i);
      const parts: Buffer[] = [Buffer.from(`f${i} APPEND INBOX`)];
      for (let k = 0; k < n; k++) {
        const m = makeMessage(i + k);
        parts.push(Buffer.from(` (${(i + k) % 3 === 0 ? "" : "\\Seen"}) {${m.length}+}\r\n`), m);
      }
      parts.push(Buffer.from("\r\n"));
      c.write(Buffer.concat(parts).toString("latin1"));
      for (;;) {
        const line = (await c.readLine()).toString();
        if (line.startsWith(`f${i} `)) {
          if (!/^\S+ OK/.test(line)) throw new Error(`MULTIAPPEND failed: ${line}`);
          break;
        }
      }
    }
  } finally {
    c.close();
  }
}

export async function benchImport(
  makeMessage: (i: number) => Buffer,
  sizes: ImportSizes,
  report: (r: Record<string, unknown>) => void,
  deadline: number,
): Promise<void> {
  const checkDeadline = () => {
    if (Date.now() > deadline) throw new Error("benchmark deadline exceeded");
  };
  const N = sizes.messages;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "pk-bench-import-"));
  // two servers: the blobs are content-addressed, so importing into the server that holds the
  // source messages would store no blob (no file write, no fsync) and flatter the figure
  const s = await startServer({ workers: 1 });
  const dst = await startServer({ workers: 1 });
  const cli = async (args: string[], input?: string, server = dst) => {
    checkDeadline();
    const t0 = performance.now();
    const r = await runCli([...args, "--config", server.configPath], {
      input: input ?? "",
      timeoutMs: Math.max(60_000, deadline - Date.now()),
    });
    const seconds = (performance.now() - t0) / 1000;
    if (r.code !== 0) throw new Error(`cli ${args.join(" ")} failed (${r.code}): ${r.stderr}${r.stdout}`);
    return { ...r, seconds };
  };
  const imported = (out: string, what: string) => {
    const m = /^imported: (\d+)$/m.exec(out);
    const d = /^skipped as duplicate: (\d+)$/m.exec(out);
    if (!m || !d) throw new Error(`${what}: no import summary in ${out}`);
    return { imported: Number(m[1]), duplicates: Number(d[1]) };
  };
  const row = (bench: string, source: string, r: { seconds: number; stdout: string }) => {
    const c = imported(r.stdout, bench);
    const done = c.imported + c.duplicates;
    if (done !== N) throw new Error(`${bench}: ${done} of ${N} messages seen: ${r.stdout}`);
    report({
      bench,
      source,
      messages: N,
      imported: c.imported,
      duplicates: c.duplicates,
      seconds: +r.seconds.toFixed(2),
      per_second: +(N / r.seconds).toFixed(0),
    });
  };
  try {
    for (const server of [s, dst]) await cli(["domain", "add", DOMAIN], undefined, server);
    for (const u of ["src", "src2"]) await cli(["user", "add", `${u}@${DOMAIN}`], `${PASS}\n${PASS}\n`, s);
    for (const u of ["mbox", "imap", "dovecot"])
      await cli(["user", "add", `${u}@${DOMAIN}`], `${PASS}\n${PASS}\n`);
    const passFile = path.join(work, "password");
    fs.writeFileSync(passFile, `${PASS}\n`, { mode: 0o600 });

    let t0 = performance.now();
    await multiAppend(s.imapPort, `src@${DOMAIN}`, makeMessage, sizes, checkDeadline);
    const fillS = (performance.now() - t0) / 1000;
    report({
      bench: "import_source_fill",
      source: "postkontor",
      messages: N,
      seconds: +fillS.toFixed(2),
      per_second: +(N / fillS).toFixed(0),
    });

    // the mbox file: our own export of the filled INBOX (mboxrd, Status/X-Status/X-Keywords)
    const exportDir = path.join(work, "export");
    const ex = await cli(
      ["export", `src@${DOMAIN}`, "--format", "mbox", "--mailbox", "INBOX", exportDir],
      undefined,
      s,
    );
    const mbox = path.join(exportDir, "INBOX.mbox");
    report({
      bench: "export_mbox",
      messages: N,
      mib: +(fs.statSync(mbox).size / 1048576).toFixed(1),
      seconds: +ex.seconds.toFixed(2),
      per_second: +(N / ex.seconds).toFixed(0),
    });

    row("import_mbox", "mbox", await cli(["import", `mbox@${DOMAIN}`, mbox]));
    // the same file again: every message found in the import ledger, nothing stored
    row("import_mbox_again", "mbox", await cli(["import", `mbox@${DOMAIN}`, mbox]));

    const imapArgs = (port: number, user: string) => [
      "--imap-host",
      "127.0.0.1",
      "--imap-port",
      String(port),
      "--imap-user",
      user,
      "--password-file",
      passFile,
      // postkontor offers STARTTLS with its self-signed test certificate (taken on loopback too)
      "--imap-insecure",
    ];
    // other messages than the mbox file's (makeMessage draws new words), so no blob is shared
    // with what the mbox import stored
    await multiAppend(s.imapPort, `src2@${DOMAIN}`, (i) => makeMessage(N + i), sizes, checkDeadline);
    row(
      "import_imap",
      "postkontor",
      await cli(["import", `imap@${DOMAIN}`, ...imapArgs(s.imapPort, `src2@${DOMAIN}`)]),
    );

    if (dovecotAvailable()) {
      const user = `src@${DOMAIN}`;
      const d = await startDovecot([[user, PASS]]);
      try {
        t0 = performance.now();
        await multiAppend(d.imapPort, user, makeMessage, sizes, checkDeadline);
        const dfill = (performance.now() - t0) / 1000;
        report({
          bench: "import_source_fill",
          source: "dovecot",
          messages: N,
          seconds: +dfill.toFixed(2),
          per_second: +(N / dfill).toFixed(0),
        });
        row(
          "import_imap",
          "dovecot",
          await cli(["import", `dovecot@${DOMAIN}`, ...imapArgs(d.imapPort, user)]),
        );
      } finally {
        await d.stop();
      }
    } else report({ bench: "import_imap", source: "dovecot", skipped: "dovecot is not installed" });
  } finally {
    for (const server of [s, dst]) {
      await server.stop();
      fs.rmSync(server.dir, { recursive: true, force: true });
    }
    fs.rmSync(work, { recursive: true, force: true });
  }
}
