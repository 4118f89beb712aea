// Two `serve` nodes on one PostgreSQL database; 1,000 SMTP deliveries from parallel clients to both
// nodes' MX ports, and `kill -9` of one node in the middle (docs/architecture.md "PostgreSQL
// adapter"): every message that got its 250 is in the mailbox exactly once (checked over IMAP on
// the surviving node), none is stored twice, and the surviving node keeps serving.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ImapClient } from "../kit/imap-client.ts";
import { type PgNode, pgNodeCli, startPgNode } from "../kit/pg-nodes.ts";
import { type PgCluster, postgresAvailable, startPostgres } from "../kit/postgres.ts";
import { SmtpClient } from "../kit/smtp-client.ts";

const skip = !postgresAvailable() && "PostgreSQL binaries missing";
const PASS = "kill node pw";
const TOTAL = 1000;
const CLIENTS_PER_NODE = 4;
const KILL_AFTER = 300;

/** one delivery on an open session; true only for the 250 after DATA */
async function deliver(c: SmtpClient, subject: string): Promise<boolean> {
  const step = async (line: string, code: RegExp) => {
    c.write(`${line}\r\n`);
    const r = await c.reply(30_000);
    if (!code.test(r)) throw new Error(`${line.slice(0, 20)}: ${r}`);
  };
  await step("MAIL FROM:<sender@remote.test>", /^250/);
  await step("RCPT TO:<dave@example.com>", /^250/);
  await step("DATA", /^354/);
  c.write(
    `From: sender@remote.test\r\nTo: dave@example.com\r\nSubject: ${subject}\r\n\r\nbody of ${subject}\r\n`,
  );
  await step(".", /^250/);
  return true;
}

describe("kill -9 of one node during 1,000 deliveries", { skip }, () => {
  let cluster: PgCluster;
  let url: string;
  let a: PgNode;
  let b: PgNode;

  before(async () => {
    cluster = await startPostgres();
    url = await cluster.createDatabase();
    a = await startPgNode(url, "a");
    b = await startPgNode(url, "b");
    await pgNodeCli(a, ["domain", "add", "example.com"]);
    await pgNodeCli(a, ["user", "add", "dave@example.com"], `${PASS}\n`);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await cluster?.stop();
  });

  test("no acknowledged message is lost or doubled; the other node keeps serving", async () => {
    const acked = new Set<string>();
    let next = 0;
    let killed = false;
    // each client takes the next number until TOTAL are attempted; a client whose node died goes on
    // against the surviving node (a sender retries elsewhere), so TOTAL attempts are made in all
    async function client(first: PgNode): Promise<void> {
      let node = first;
      let c: SmtpClient | null = null;
      while (next < TOTAL) {
        const subject = `kill-${next++}`;
        try {
          if (!c) {
            c = await SmtpClient.connect(node.smtp);
            // a reset by the killed node surfaces as the reply's "<closed>", not as an unhandled error
            c.socket.on("error", () => {});
            c.write("EHLO client.test\r\n");
            assert.match(await c.reply(30_000), /^250/);
          }
          if (await deliver(c, subject)) acked.add(subject);
        } catch {
          // the message was not acknowledged: it may or may not be stored, but never twice
          c?.close();
          c = null;
          if (node === b && killed) node = a;
        }
        if (!killed && acked.size >= KILL_AFTER) {
          killed = true;
          process.kill(b.server.child.pid!, "SIGKILL");
        }
      }
      if (c) {
        c.write("QUIT\r\n");
        c.close();
      }
    }
    await Promise.all([
      ...Array.from({ length: CLIENTS_PER_NODE }, () => client(a)),
      ...Array.from({ length: CLIENTS_PER_NODE }, () => client(b)),
    ]);
    assert.ok(killed, "node B was killed in the middle");
    if (b.server.child.signalCode === null) await new Promise((res) => b.server.child.once("exit", res));
    assert.equal(b.server.child.signalCode, "SIGKILL");
    assert.ok(acked.size > KILL_AFTER, `deliveries went on after the kill (${acked.size} acknowledged)`);

    // the surviving node: every acknowledged message exactly once
    const imap = await ImapClient.connect(a.imap);
    try {
      assert.ok((await imap.cmd(`LOGIN dave@example.com "${PASS}"`)).ok);
      assert.ok((await imap.cmd("SELECT INBOX")).ok);
      const f = await imap.cmd("UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])", 60_000);
      assert.ok(f.ok, f.tagged);
      const counts = new Map<string, number>();
      for (const l of f.lines) {
        // the header literal is inside the FETCH line: "… {n}\r\nSubject: kill-N\r\n\r\n)"
        const m = /\r\nSubject: (kill-\d+)\r\n/.exec(l);
        if (m) counts.set(m[1]!, (counts.get(m[1]!) ?? 0) + 1);
      }
      const doubled = [...counts].filter(([, n]) => n > 1);
      assert.deepEqual(doubled, [], "no message stored twice");
      const lost = [...acked].filter((s) => !counts.has(s));
      assert.deepEqual(lost, [], "no acknowledged message lost");
    } finally {
      imap.destroy();
    }

    // and it keeps serving: a new delivery and an IMAP login that sees it
    const c = await SmtpClient.connect(a.smtp);
    try {
      assert.match(await c.cmd("EHLO client.test"), /^250/);
      assert.ok(await deliver(c, "after-the-kill"));
      await c.cmd("QUIT");
    } finally {
      c.close();
    }
    const again = await ImapClient.connect(a.imap);
    try {
      assert.ok((await again.cmd(`LOGIN dave@example.com "${PASS}"`)).ok);
      assert.ok((await again.cmd("SELECT INBOX")).ok);
      const s = await again.cmd('UID SEARCH SUBJECT "after-the-kill"');
      assert.match(s.text, /^\* SEARCH \d+$/m);
    } finally {
      again.destroy();
    }
    assert.equal(a.server.child.exitCode, null, a.server.stderr());
  });
});
