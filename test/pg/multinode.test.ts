// Several `postkontor serve` nodes on ONE PostgreSQL database, each with its own data dir and
// ports (docs/architecture.md "PostgreSQL adapter"): IMAP IDLE on node A sees an APPEND, an SMTP
// delivery, a flag change and an expunge made on node B (LISTEN/NOTIFY feed); SEARCH TEXT on A finds
// mail delivered on B (search text in the database); the POP3 maildrop lock holds across nodes
// (locks port: leases in the database); three nodes running the outbound queue deliver each queued
// message exactly once (FOR UPDATE SKIP LOCKED claims) to a loopback SMTP sink.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import nodemailer from "nodemailer";
import pg from "pg";
import { ImapClient } from "../kit/imap-client.ts";
import { type PgNode, pgNodeCli, startPgNode } from "../kit/pg-nodes.ts";
import { Pop3Client } from "../kit/pop3-client.ts";
import { type PgCluster, postgresAvailable, startPostgres } from "../kit/postgres.ts";
import { SmtpClient } from "../kit/smtp-client.ts";
import { dnsFixture, type Receiver, startReceiver } from "../outbound/helpers.ts";

const skip = !postgresAvailable() && "PostgreSQL binaries missing";
const PASS = "multi node pw";

describe("several serve nodes on one PostgreSQL", { skip }, () => {
  let cluster: PgCluster;
  let sink: Receiver;
  let url: string;
  const nodes: PgNode[] = [];

  async function startNode(name: string): Promise<PgNode> {
    const node = await startPgNode(url, name, {
      env: { POSTKONTOR__OUTBOUND__ENABLED: "true" },
      prepare: (dir) => {
        const fixture = join(dir, "dns.json");
        writeFileSync(fixture, JSON.stringify(dnsFixture("remote.test", sink.host)));
        return `[outbound]
port = ${sink.port}
resolver = ${JSON.stringify(`file:${fixture}`)}
poll_interval = "100ms"
retry_base = "300ms"
retry_max = "1s"
`;
      },
    });
    nodes.push(node);
    return node;
  }

  const cli = pgNodeCli;

  async function login(port: number, user: string): Promise<ImapClient> {
    const c = await ImapClient.connect(port);
    const r = await c.cmd(`LOGIN ${user} "${PASS}"`);
    assert.ok(r.ok, r.text);
    return c;
  }

  before(async () => {
    cluster = await startPostgres();
    url = await cluster.createDatabase();
    sink = await startReceiver();
    // the first node creates the schema; the second joins by starting with the same URL
    const a = await startNode("a");
    await startNode("b");
    await startNode("c");
    await cli(a, ["domain", "add", "example.com"]);
    for (const u of ["alice", "bob", "carol"]) await cli(a, ["user", "add", `${u}@example.com`], `${PASS}\n`);
  });
  after(async () => {
    for (const n of nodes) await n.close();
    await sink?.close();
    await cluster?.stop();
  });

  test("IDLE on node A sees APPEND, SMTP delivery, flag change and expunge made on node B; SEARCH finds B's delivery", async () => {
    const [a, b] = nodes as [PgNode, PgNode];
    const watcher = await login(a.imap, "alice@example.com");
    const actor = await login(b.imap, "alice@example.com");
    try {
      assert.ok((await watcher.cmd("SELECT INBOX")).ok);
      const idle = watcher.nextTag();
      watcher.write(`${idle} IDLE\r\n`);
      assert.match(await watcher.readLine(), /^\+ /);

      const ap = await actor.append("INBOX", "From: b@example.com\r\nSubject: appended on B\r\n\r\nhi\r\n");
      assert.ok(ap.ok, ap.text);
      await watcher.readUntil(/^\* 1 EXISTS$/);

      const smtp = await SmtpClient.connect(b.smtp);
      try {
        assert.match(await smtp.cmd("EHLO client.test"), /^250/);
        assert.match(await smtp.cmd("MAIL FROM:<sender@remote.test>"), /^250/);
        assert.match(await smtp.cmd("RCPT TO:<alice@example.com>"), /^250/);
        assert.match(await smtp.cmd("DATA"), /^354/);
        const data =
          "From: sender@remote.test\r\nTo: alice@example.com\r\nSubject: delivered on B\r\n\r\n" +
          "the word quixotically marks it\r\n.\r\n";
        assert.match(await smtp.cmd(data.slice(0, -2)), /^250/);
        await smtp.cmd("QUIT");
      } finally {
        smtp.close();
      }
      await watcher.readUntil(/^\* 2 EXISTS$/);

      assert.ok((await actor.cmd("SELECT INBOX")).ok);
      assert.ok((await actor.cmd("STORE 1 +FLAGS (\\Flagged)")).ok);
      await watcher.readUntil(/^\* 1 FETCH \(.*FLAGS \([^)]*\\Flagged/);

      assert.ok((await actor.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)")).ok);
      assert.ok((await actor.cmd("EXPUNGE")).ok);
      await watcher.readUntil(/^\* 1 EXPUNGE$/);

      watcher.write("DONE\r\n");
      const done = await watcher.collect(idle);
      assert.ok(done.ok, done.text);
      // the search text was written with the delivery on B, in the database
      const s = await watcher.cmd("UID SEARCH TEXT quixotic");
      assert.ok(s.lines.includes("* SEARCH 2"), s.text);
      const h = await watcher.cmd('UID SEARCH HEADER Subject "DELIVERED ON"');
      assert.ok(h.lines.includes("* SEARCH 2"), h.text);
      const none = await watcher.cmd("UID SEARCH BODY appended");
      assert.ok(none.lines.includes("* SEARCH"), none.text);
    } finally {
      watcher.destroy();
      actor.destroy();
    }
  });

  test("PostgreSQL drops every connection: both nodes stay up, IDLE on A then sees B's next APPEND", async () => {
    const [a, b] = nodes as [PgNode, PgNode];
    const watcher = await login(a.imap, "alice@example.com");
    try {
      const sel = await watcher.cmd("SELECT INBOX");
      const exists = Number(/^\* (\d+) EXISTS$/m.exec(sel.text)?.[1]);
      assert.ok(Number.isInteger(exists), sel.text);
      const idle = watcher.nextTag();
      watcher.write(`${idle} IDLE\r\n`);
      assert.match(await watcher.readLine(), /^\+ /);
      const db = new pg.Client({ connectionString: url });
      await db.connect();
      try {
        const r = await db.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database()",
        );
        assert.ok(r.rows.length >= 2, "the nodes' connections were there");
      } finally {
        await db.end();
      }
      // a client retries a command that failed on a connection dropped under it
      let ok = false;
      for (let i = 0; i < 20 && !ok; i++) {
        const actor = await login(b.imap, "alice@example.com").catch(() => null);
        if (actor) {
          ok = (await actor.append("INBOX", "From: b@example.com\r\nSubject: after the drop\r\n\r\nx\r\n"))
            .ok;
          actor.destroy();
        }
        if (!ok) await new Promise((res) => setTimeout(res, 100));
      }
      assert.ok(ok, "node B appends again");
      await watcher.readUntil(new RegExp(`^\\* ${exists + 1} EXISTS$`), 10_000);
      watcher.write("DONE\r\n");
      assert.ok((await watcher.collect(idle)).ok);
    } finally {
      watcher.destroy();
    }
    for (const n of nodes) assert.equal(n.server.child.exitCode, null, n.server.stderr());
  });

  test("POP3: a maildrop open on node A is [IN-USE] on node B until A quits", async () => {
    const [a, b] = nodes as [PgNode, PgNode];
    const first = await Pop3Client.connect(a.pop3);
    try {
      assert.match(await first.cmd("USER bob@example.com"), /^\+OK/);
      assert.match(await first.cmd(`PASS ${PASS}`), /^\+OK/);
      const second = await Pop3Client.connect(b.pop3);
      try {
        assert.match(await second.cmd("USER bob@example.com"), /^\+OK/);
        assert.match(await second.cmd(`PASS ${PASS}`), /^-ERR \[IN-USE\]/);
      } finally {
        second.destroy();
      }
      assert.match(await first.cmd("QUIT"), /^\+OK/);
    } finally {
      first.destroy();
    }
    // released by A's QUIT (the lease row goes; a few tries cover the release racing the reply)
    let reply = "";
    for (let i = 0; i < 50 && !reply.startsWith("+OK"); i++) {
      if (i > 0) await new Promise((res) => setTimeout(res, 100));
      const again = await Pop3Client.connect(b.pop3);
      try {
        assert.match(await again.cmd("USER bob@example.com"), /^\+OK/);
        reply = await again.cmd(`PASS ${PASS}`);
        if (reply.startsWith("+OK")) await again.cmd("QUIT");
      } finally {
        again.destroy();
      }
    }
    assert.match(reply, /^\+OK/);
  });

  test("three nodes running the queue deliver each queued message exactly once", async () => {
    const N = 15;
    const before = sink.received.length;
    const mailers = nodes.map((n) =>
      nodemailer.createTransport({
        host: "127.0.0.1",
        port: n.submission,
        secure: false,
        auth: { user: "carol@example.com", pass: PASS },
        tls: { rejectUnauthorized: false },
      }),
    );
    try {
      await Promise.all(
        Array.from({ length: N }, (_, i) =>
          mailers[i % mailers.length]!.sendMail({
            from: "carol@example.com",
            to: `r${i}@remote.test`,
            subject: `queued ${i}`,
            text: `message ${i}`,
          }),
        ),
      ).catch((e: Error) => {
        // a refusal says why in the nodes' error log lines
        const errors = nodes.flatMap((n) => n.server.logs.filter((l) => Number(l.level) >= 50));
        throw new Error(`${e.message}; server errors: ${JSON.stringify(errors)}`);
      });
    } finally {
      for (const m of mailers) m.close();
    }
    await sink.waitFor(before + N, 30_000);
    // every entry finished (deleted when done): nothing can be sent again after this
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      for (let i = 0; i < 600; i++) {
        const r = await db.query("SELECT COUNT(*)::int AS n FROM outbound_queue");
        if (r.rows[0].n === 0) break;
        await new Promise((res) => setTimeout(res, 50));
      }
      assert.equal((await db.query("SELECT COUNT(*)::int AS n FROM outbound_queue")).rows[0].n, 0);
    } finally {
      await db.end();
    }
    const subjects = sink.received
      .slice(before)
      .map((m) => /\r\nSubject: ([^\r\n]*)/.exec(`\r\n${m.data.toString("utf8")}`)?.[1] ?? "");
    assert.equal(subjects.length, N, "no message sent twice");
    // and the runners agree: N deliveries logged over the nodes together
    const delivered = nodes.map(
      (n) => n.server.logs.filter((l) => l.msg === "outbound delivered" && l.state === "delivered").length,
    );
    assert.equal(
      delivered.reduce((x, y) => x + y, 0),
      N,
      JSON.stringify(delivered),
    );
    assert.deepEqual([...subjects].sort(), Array.from({ length: N }, (_, i) => `queued ${i}`).sort());
  });
});
