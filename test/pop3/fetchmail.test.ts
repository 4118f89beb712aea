/**
 * End to end with Debian's fetchmail (a real POP3 client): UIDL-based leave-on-server (--keep
 * twice: the second run downloads nothing), then download-and-delete (INBOX empty afterwards, as
 * the store / an IMAP session sees it); over STLS and over implicit TLS.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createImapServer, type ImapServer } from "../../src/imap/server/index.ts";
import { testAuthenticator } from "../kit/store.ts";
import { PASS, seed, startServer, type TestServer, USER } from "./helpers.ts";

const HAVE_FETCHMAIL = ["/usr/bin/fetchmail", "/usr/local/bin/fetchmail"].some((p) => existsSync(p));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function runFetchmail(home: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      "fetchmail",
      [
        "-f",
        join(home, ".fetchmailrc"),
        "--idfile",
        join(home, "idfile"),
        "--pidfile",
        join(home, "pid"),
        ...args,
      ],
      { env: { ...process.env, HOME: home, FETCHMAILHOME: home, LC_ALL: "C" }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === "number"
            ? (err as { code: number }).code
            : -1
          : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function setup(port: number, mode: "stls" | "implicit"): { home: string; out: string } {
  const home = mkdtempSync(join(tmpdir(), "pk-fetchmail-"));
  const out = join(home, "delivered.mbox");
  const ssl = mode === "implicit" ? "ssl sslproto 'TLS1.2+'" : "sslproto 'TLS1.2+'";
  const rc =
    "set no bouncemail\n" +
    `poll 127.0.0.1 protocol POP3 port ${port} uidl auth password\n` +
    `  user "${USER}" there with password "${PASS}" is "${userInfo().username}" here\n` +
    `  ${ssl} no sslcertck\n` +
    `  mda "cat >> ${out}"\n`;
  writeFileSync(join(home, ".fetchmailrc"), rc, { mode: 0o600 });
  return { home, out };
}

function subjects(out: string): string[] {
  if (!existsSync(out)) return [];
  return [...readFileSync(out, "latin1").matchAll(/^Subject: (msg \d+)\r?$/gm)].map((m) => m[1]!);
}

describe("fetchmail end to end", { skip: HAVE_FETCHMAIL ? false : "fetchmail not installed" }, () => {
  let t: TestServer;
  let imap: ImapServer;
  let imapListener: net.Server;
  let imapPort = 0;
  before(async () => {
    t = await startServer({ tls: true });
    // an IMAP session on the same store watches INBOX while fetchmail drains it
    const noop = () => {};
    imap = createImapServer({
      store: t.store,
      auth: testAuthenticator(t.store),
      tls: null,
      logger: { info: noop, warn: noop, error: noop },
      hostname: "imap.test",
      limits: {
        maxLineLength: 8192,
        maxLiteralSize: 1 << 20,
        maxLiteralSizeUnauth: 1024,
        maxBadCommands: 5,
        idleTimeoutMs: 600_000,
        unauthTimeoutMs: 60_000,
        maxConnectionsPerUser: 10,
        maxConnectionsPerIp: 10,
      },
      allowPlaintextAuth: true,
    });
    imapListener = net.createServer((s) => imap.handleConnection(s, { implicitTls: false }));
    await new Promise<void>((r) => imapListener.listen(0, "127.0.0.1", r));
    imapPort = (imapListener.address() as net.AddressInfo).port;
  });
  after(async () => {
    await imap.closeAll();
    await new Promise<void>((r) => imapListener.close(() => r()));
    await t.close();
  });

  /** minimal IMAP client: sends a tagged command, returns all lines up to the tagged one */
  async function imapSession(): Promise<{ cmd(c: string): Promise<string[]>; close(): void }> {
    const sock = net.connect(imapPort, "127.0.0.1");
    let buf = "";
    let wake: (() => void) | null = null;
    sock.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      wake?.();
    });
    let n = 0;
    const until = async (re: RegExp): Promise<string[]> => {
      const deadline = Date.now() + 5000;
      while (!re.test(buf)) {
        if (Date.now() > deadline) throw new Error("imap timeout: " + buf);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
      const lines = buf.split("\r\n");
      buf = "";
      return lines.filter((l) => l);
    };
    await until(/^\* OK.*\r\n/);
    return {
      async cmd(c: string) {
        const tag = `A${++n}`;
        sock.write(`${tag} ${c}\r\n`);
        return until(new RegExp(`(^|\r\n)${tag} (OK|NO|BAD).*\r\n`));
      },
      close: () => sock.destroy(),
    };
  }

  for (const mode of ["stls", "implicit"] as const) {
    test(`${mode}: --keep twice (UIDL), then download-and-delete`, async () => {
      const existing = (await t.store.listMessages(t.inboxId)).map((r) => r.uid);
      if (existing.length) await t.store.expunge(t.inboxId, existing);
      await seed(t, 4, (i) => `body ${i}\r\n.a dot line\r\n`);
      const { home, out } = setup(mode === "stls" ? t.port : t.tlsPort, mode);
      const watcher = await imapSession();
      try {
        assert.match((await watcher.cmd(`LOGIN "${USER}" "${PASS}"`)).at(-1)!, /OK/);
        assert.ok((await watcher.cmd("SELECT INBOX")).includes("* 4 EXISTS"));
        const r1 = await runFetchmail(home, ["--keep", "-v"]);
        assert.equal(r1.code, 0, r1.stdout + r1.stderr);
        if (mode === "stls") assert.match(r1.stdout + r1.stderr, /STLS/);
        assert.deepEqual(subjects(out).sort(), ["msg 1", "msg 2", "msg 3", "msg 4"]);
        assert.equal((await t.store.listMessages(t.inboxId)).length, 4, "--keep leaves mail on the server");
        // dot-stuffing round trip: the body arrives un-stuffed
        assert.match(readFileSync(out, "latin1"), /^\.a dot line\r?$/m);

        // second run: UIDL says everything was seen; nothing is downloaded (exit 1 = no mail)
        const r2 = await runFetchmail(home, ["--keep", "-v"]);
        assert.equal(r2.code, 1, r2.stdout + r2.stderr);
        assert.equal(subjects(out).length, 4);

        assert.match(r2.stdout + r2.stderr, /POP3> UIDL/);

        // a new message arrives; without --keep (and --flush: also delete the old ones it has seen)
        // fetchmail downloads only the new one and deletes everything
        await seed(t, 1, () => "late\r\n");
        const r3 = await runFetchmail(home, ["--flush", "-v"]);
        assert.equal(r3.code, 0, r3.stdout + r3.stderr);
        assert.deepEqual(subjects(out).sort(), ["msg 1", "msg 1", "msg 2", "msg 3", "msg 4"]);
        assert.equal(
          (await t.store.listMessages(t.inboxId)).length,
          0,
          "INBOX empty after download-and-delete",
        );
        const inbox = (await t.store.getMailbox(t.accountId, "INBOX"))!;
        assert.equal((await t.store.mailboxCounts(inbox.id)).messages, 0);
        // the IMAP session learns of the POP3 deletions (change feed) on its next command
        const noop = await watcher.cmd("NOOP");
        assert.ok(noop.filter((l) => / EXPUNGE$/.test(l)).length >= 4, noop.join("\n")); // the 4 it had seen
        const status = await watcher.cmd("STATUS INBOX (MESSAGES)");
        assert.ok(
          status.some((l) => /MESSAGES 0/.test(l)),
          status.join("\n"),
        );
      } finally {
        watcher.close();
        rmSync(home, { recursive: true, force: true });
      }
    });
  }
});
