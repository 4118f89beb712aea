/**
 * Shared mailboxes (RFC 4314) across worker processes with a real `serve` of 2 workers: a grantee
 * in IDLE on the owner's shared INBOX is told about a message the owner appends from a connection
 * that the logged pids show landed on the OTHER worker, and about SMTP delivery to the owner; a
 * second grantee connection with NOTIFY MAILBOXES on the shared name gets STATUS for both. The
 * owner's feed crosses processes like the grantee's own.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ImapClient } from "../kit/imap-client.ts";
import { SmtpClient } from "../kit/smtp-client.ts";
import { listeningPort, run, type Server, startServe, tempEnv } from "./helpers.ts";

const ALICE = "alice@example.com";
const BOB = "bob@example.com";
const SHARED = `"Shared/${ALICE}/INBOX"`;

describe("serve with 2 workers: a grantee sees the owner's changes made in the other worker process", () => {
  let server: Server;
  let imap: number;
  let smtp: number;
  const clients: ImapClient[] = [];
  before(async () => {
    const env = tempEnv(
      `[server]\nworkers = 2\n[imap]\nlisten = ["127.0.0.1:0"]\nlisten_tls = []\n[log]\nlevel = "info"\n`,
    );
    const c = ["--config", env.config];
    assert.equal((await run(["domain", "add", "example.com", ...c])).code, 0);
    for (const u of [ALICE, BOB])
      assert.equal((await run(["user", "add", u, ...c], { input: "pw1\n" })).code, 0);
    assert.equal((await run(["share", ALICE, "INBOX", "--with", BOB, "--rights", "lrs", ...c])).code, 0);
    server = startServe(c);
    imap = await listeningPort(server, "imap");
    smtp = await listeningPort(server, "smtp");
    await server.waitForLog((l) => l.msg === "postkontor started");
  });
  after(async () => {
    for (const c of clients) c.destroy();
    assert.equal(await server.stop(), 0, server.stderr());
  });

  /** logs in and returns the client with the pid of the worker that serves it */
  async function login(user: string): Promise<{ c: ImapClient; pid: string }> {
    const before = server.logs.filter((l) => l.msg === "imap login").length;
    const c = await ImapClient.connect(imap);
    clients.push(c);
    const r = await c.cmd(`LOGIN ${user} pw1`, 20_000);
    assert.ok(r.ok, r.text);
    const l = await server.waitForLog(
      (l) => l.msg === "imap login" && server.logs.filter((x) => x.msg === "imap login").indexOf(l) >= before,
    );
    return { c, pid: /^imap-(\d+)-/.exec(String(l.session))![1]! };
  }

  it("IDLE and NOTIFY on the shared INBOX: the owner's APPEND on the other worker, SMTP delivery", async () => {
    const idler = await login(BOB);
    const notified = await login(BOB);
    // cluster round-robin does not promise alternation: log in until the owner lands elsewhere
    let owner: { c: ImapClient; pid: string } | null = null;
    for (let i = 0; i < 20 && !owner; i++) {
      const x = await login(ALICE);
      if (x.pid !== idler.pid) owner = x;
    }
    assert.ok(owner, "the owner's connection on the other worker");
    const n = notified.c;
    assert.ok((await n.cmd(`NOTIFY SET (mailboxes ${SHARED} (MessageNew MessageExpunge))`)).ok);
    const w = idler.c;
    assert.ok((await w.cmd(`SELECT ${SHARED}`)).ok);
    w.write(`i1 IDLE\r\n`);
    assert.equal(await w.readLine(20_000), "+ idling");

    assert.ok((await owner.c.append("INBOX", "Subject: hi\r\n\r\nhello\r\n")).ok);
    let lines = await w.readUntil(/^\* \d+ EXISTS$/, 20_000);
    assert.equal(lines.at(-1), "* 1 EXISTS");
    lines = await n.readUntil(/^\* STATUS /, 20_000);
    const status = lines.at(-1)!;
    const head = `* STATUS ${SHARED} (MESSAGES 1 UIDNEXT 2 UIDVALIDITY `;
    assert.ok(status.startsWith(head) && /^\d+\)$/.test(status.slice(head.length)), status);

    // SMTP delivery to the owner reaches the grantee's IDLE too
    const s = await SmtpClient.connect(smtp);
    assert.match(await s.cmd("EHLO client.test"), /^250/);
    assert.match(await s.cmd("MAIL FROM:<x@remote.example>"), /^250/);
    assert.match(await s.cmd(`RCPT TO:<${ALICE}>`), /^250/);
    assert.match(await s.cmd("DATA"), /^354/);
    assert.match(await s.cmd("Subject: delivered\r\n\r\nby smtp\r\n."), /^250/);
    s.close();
    lines = await w.readUntil(/^\* \d+ EXISTS$/, 20_000);
    assert.equal(lines.at(-1), "* 2 EXISTS");
    lines = await n.readUntil(/^\* STATUS /, 20_000);
    assert.match(lines.at(-1)!, /\(MESSAGES 2 UIDNEXT 3 /);
    w.write("DONE\r\n");
    assert.match((await w.readUntil(/^i1 /, 20_000)).at(-1)!, /^i1 OK/);
  });
});
