/**
 * Outbound mail end to end with the real server process (`postkontor serve`): submission → queue →
 * the remote MX (a test receiver on 127.0.0.2 through a DNS fixture file) with DKIM; a 5xx
 * produces a DSN in the sender's INBOX; the queue CLI; kill -9 of the server mid-queue, restart,
 * and every message is delivered exactly once.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { ImapFlow } from "imapflow";
import { dkimVerify } from "mailauth";
import nodemailer from "nodemailer";
import { type RunningServer, runCliAsync, startServer } from "../../bench/server.ts";
import { activeDkimKeys, dkimTxtRecord } from "../../src/smtp/dkim/index.ts";
import { fixtureResolver } from "../../src/smtp/queue/index.ts";
import { openStore } from "../../src/store/index.ts";
import { dnsFixture, type Receiver, startReceiver } from "./helpers.ts";

const PASS = "alice secret";

function outboundToml(r: Receiver, fixturePath: string, extra = ""): string {
  return `[outbound]
port = ${r.port}
resolver = ${JSON.stringify(`file:${fixturePath}`)}
poll_interval = "100ms"
retry_base = "300ms"
retry_max = "1s"
${extra}
`;
}

async function submissionPort(s: RunningServer): Promise<number> {
  const l = await s.waitForLog((x) => x.protocol === "submission" && typeof x.address === "string", 20_000);
  return Number(String(l.address).split(":").pop());
}

async function setup(s: RunningServer): Promise<void> {
  for (const [args, stdin] of [
    [["domain", "add", "example.org"], ""],
    [["user", "add", "alice@example.org"], `${PASS}\n${PASS}\n`],
  ] as Array<[string[], string]>) {
    const r = await runCliAsync(s.configPath, args, stdin);
    assert.equal(r.status, 0, r.stderr);
  }
}

function mailer(port: number) {
  return nodemailer.createTransport({
    host: "127.0.0.1",
    port,
    secure: false,
    auth: { user: "alice@example.org", pass: PASS },
    tls: { rejectUnauthorized: false },
  });
}

function subjectOf(data: Buffer): string {
  return /\r\nSubject: ([^\r\n]*)/.exec(data.toString("utf8"))?.[1] ?? "";
}

describe("outbound e2e (real server process)", () => {
  const tmp: string[] = [];
  after(() => {
    for (const d of tmp) fs.rmSync(d, { recursive: true, force: true });
  });

  test("submission → remote MX with DKIM; 5xx → DSN in INBOX; queue CLI", async () => {
    const r = await startReceiver({
      onRcpt: (a) =>
        a.startsWith("nobody@")
          ? { code: 550, text: "5.1.1 mailbox unknown" }
          : a.startsWith("later@")
            ? { code: 451, text: "4.3.0 try later" }
            : null,
    });
    const dir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? "/tmp", "pk-outbound-e2e-"));
    tmp.push(dir);
    const fixturePath = path.join(dir, "dns.json");
    fs.writeFileSync(fixturePath, JSON.stringify(dnsFixture("remote.test", r.host)));
    const s = await startServer({ dir, workers: 1, pop3: false, extraToml: outboundToml(r, fixturePath) });
    try {
      await setup(s);
      const port = await submissionPort(s);
      const t = mailer(port);
      await t.sendMail({
        from: "alice@example.org",
        to: "bob@remote.test",
        subject: "first outbound",
        text: "hello remote world",
      });
      await r.waitFor(1);
      const got = r.received[0]!;
      assert.deepEqual(
        got.rcpts.map((x) => x.address),
        ["bob@remote.test"],
      );
      assert.equal(got.secure, true);
      // DKIM: the keys `domain add` created, published through the fixture resolver
      // (read from the store: every process of the server shares it)
      const ks = await openStore({
        dataDir: path.join(dir, "data"),
        feedSocketPath: null,
        blobWriterThreads: 0,
      });
      const keys = await activeDkimKeys(ks.keys, "example.org").finally(() => ks.close());
      assert.equal(keys.length, 2);
      const txt: Record<string, string[]> = {};
      for (const k of keys) txt[`${k.selector}._domainkey.example.org`] = [dkimTxtRecord(k)];
      const v = await dkimVerify(got.data, { resolver: fixtureResolver({ TXT: txt }) as never });
      assert.deepEqual(
        v.results.map((x) => x.status.result),
        ["pass", "pass"],
      );

      // `dns` prints the same DKIM records plus MX/SPF/DMARC/SRV
      const dns = await runCliAsync(s.configPath, ["dns", "example.org"]);
      assert.equal(dns.status, 0, dns.stderr);
      for (const k of keys) assert.ok(dns.stdout.includes(`${k.selector}._domainkey.example.org.`));
      assert.match(dns.stdout, /example\.org\.\s+IN MX\s+10 localhost\./);
      assert.match(dns.stdout, /_submission\._tcp\.example\.org\.\s+IN SRV\s+0 1 587 localhost\./);
      assert.match(dns.stdout, /_dmarc\.example\.org\.\s+IN TXT\s+"v=DMARC1;/);

      // 5xx → bounce into alice's INBOX
      await t.sendMail({
        from: "alice@example.org",
        to: "nobody@remote.test",
        subject: "to a missing user",
        text: "this will bounce",
      });
      await s.waitForLog((l) => l.msg === "outbound bounce delivered", 20_000);
      const imap = new ImapFlow({
        host: "127.0.0.1",
        port: s.imapPort,
        secure: false,
        auth: { user: "alice@example.org", pass: PASS },
        logger: false,
        tls: { rejectUnauthorized: false },
      });
      await imap.connect();
      try {
        const lock = await imap.getMailboxLock("INBOX");
        try {
          const msgs = [];
          for await (const m of imap.fetch("1:*", { source: true })) msgs.push(m.source!.toString("utf8"));
          assert.equal(msgs.length, 1);
          assert.match(msgs[0]!, /multipart\/report; report-type=delivery-status/);
          assert.match(
            msgs[0]!,
            /Final-Recipient: rfc822; nobody@remote\.test\r\nAction: failed\r\nStatus: 5\.1\.1/,
          );
          assert.match(msgs[0]!, /Subject: to a missing user/);
        } finally {
          lock.release();
        }
      } finally {
        await imap.logout();
      }

      // a deferred entry in the queue CLI: list, show, hold, release, delete
      await t.sendMail({
        from: "alice@example.org",
        to: "later@remote.test",
        subject: "deferred",
        text: "x",
      });
      await s.waitForLog((l) => l.msg === "outbound deferred", 20_000);
      // the runner logs each recipient's outcome, then records the attempt: poll until the
      // entry shows it (bounded: 50 tries, 100 ms apart)
      let list = await runCliAsync(s.configPath, ["queue", "list"]);
      let line: string | undefined;
      for (let i = 0; i < 50; i++) {
        assert.equal(list.status, 0, list.stderr);
        line = list.stdout
          .trim()
          .split("\n")
          .find((x) => x.includes("later@remote.test"));
        if (line && /\tdeferred\t/.test(line)) break;
        await new Promise((r) => setTimeout(r, 100));
        list = await runCliAsync(s.configPath, ["queue", "list"]);
      }
      assert.ok(line, list.stdout);
      const id = line.split("\t")[0]!;
      assert.match(line, /\tdeferred\t[^\t]+\tlater@remote\.test=deferred$/);
      const show = await runCliAsync(s.configPath, ["queue", "show", id]);
      assert.equal(show.status, 0, show.stderr);
      assert.match(show.stdout, /recipient: +later@remote\.test deferred attempts=\d+ status=4\.3\.0/);
      assert.match(show.stdout, /Subject: deferred/);
      assert.equal((await runCliAsync(s.configPath, ["queue", "hold", id])).status, 0);
      assert.match(
        (await runCliAsync(s.configPath, ["queue", "list"])).stdout,
        new RegExp(`^${id}\\t.*\\theld\\t`, "m"),
      );
      assert.equal((await runCliAsync(s.configPath, ["queue", "release", id])).status, 0);
      assert.equal((await runCliAsync(s.configPath, ["queue", "retry", id])).status, 0);
      assert.equal((await runCliAsync(s.configPath, ["queue", "delete", id])).status, 0);
      assert.equal((await runCliAsync(s.configPath, ["queue", "show", id])).status, 67);
      assert.equal((await runCliAsync(s.configPath, ["queue", "delete", "999999"])).status, 67);
      t.close();
    } finally {
      await s.stop();
      await r.close();
    }
  });

  test("kill -9 mid-queue, restart: every queued message delivered exactly once", async () => {
    let holdReply: ((v: null) => void) | null = null;
    let held: (() => void) | null = null;
    const heldSeen = new Promise<void>((res) => {
      held = res;
    });
    let holding = true;
    const r = await startReceiver({
      onData: (data) => {
        if (holding && subjectOf(data) === "k3") {
          // never answer: the server is killed while this message is in DATA
          held?.();
          return new Promise<null>((res) => {
            holdReply = res;
          });
        }
        return null;
      },
    });
    const dir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? "/tmp", "pk-outbound-kill-"));
    tmp.push(dir);
    const fixturePath = path.join(dir, "dns.json");
    fs.writeFileSync(fixturePath, JSON.stringify(dnsFixture("remote.test", r.host)));
    // concurrency 1: at the kill exactly one message (k3, unanswered) is in flight
    const extraToml = outboundToml(r, fixturePath, "concurrency = 1");
    const N = 8;
    let s = await startServer({ dir, workers: 2, pop3: false, extraToml });
    try {
      await setup(s);
      const t = mailer(await submissionPort(s));
      for (let i = 1; i <= N; i++)
        await t.sendMail({
          from: "alice@example.org",
          to: `u${i}@remote.test`,
          subject: `k${i}`,
          text: `n ${i}`,
        });
      t.close();
      await heldSeen;
      const exited = new Promise<void>((res) => s.proc.once("exit", () => res()));
      s.proc.kill("SIGKILL");
      await exited;
      holding = false;
      const before = r.received.map((x) => subjectOf(x.data));
      assert.ok(!before.includes("k3"));
      assert.ok(before.length < N, "the kill happened mid-queue");
      // restart on the same data directory
      s = await startServer({ dir, workers: 2, pop3: false, extraToml });
      await r.waitFor(N, 30_000);
      const subjects = r.received.map((x) => subjectOf(x.data)).sort();
      assert.deepEqual(
        subjects,
        Array.from({ length: N }, (_, i) => `k${i + 1}`).sort(),
        "each message exactly once",
      );
      // the queue drains (bounded wait through the log)
      await s.waitForLog((l) => l.msg === "outbound delivered" && l.to === "u3@remote.test", 20_000);
      for (let i = 0; i < 50; i++) {
        const q = await runCliAsync(s.configPath, ["queue", "list"]);
        if (q.stdout.trim() === "") break;
        assert.ok(i < 49, `queue not empty: ${q.stdout}`);
        await new Promise((res) => setTimeout(res, 100));
      }
    } finally {
      (holdReply as ((v: null) => void) | null)?.(null);
      await s.stop();
      await r.close();
    }
  });
});
