/**
 * IMAP NOTIFY (RFC 5465) across worker processes with a real `serve` of 2 workers: a client on
 * one worker is told (between commands, no IDLE) about a mailbox created and a message appended
 * by a connection that the logged pids show landed on the OTHER worker (and a METADATA entry it
 * set), and about mail delivered by SMTP into its selected INBOX (EXISTS + the MessageNew fetch
 * attributes).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ImapClient } from "../kit/imap-client.ts";
import { SmtpClient } from "../kit/smtp-client.ts";
import { listeningPort, run, type Server, startServe, tempEnv } from "./helpers.ts";

const USER = "alice@example.com";

describe("serve with 2 workers: NOTIFY sees changes made in the other worker process", () => {
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
    assert.equal((await run(["user", "add", USER, ...c], { input: "pw1\n" })).code, 0);
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
  async function login(): Promise<{ c: ImapClient; pid: string }> {
    const before = server.logs.filter((l) => l.msg === "imap login").length;
    const c = await ImapClient.connect(imap);
    clients.push(c);
    const r = await c.cmd(`LOGIN ${USER} pw1`, 20_000);
    assert.ok(r.ok, r.text);
    const l = await server.waitForLog(
      (l) => l.msg === "imap login" && server.logs.filter((x) => x.msg === "imap login").indexOf(l) >= before,
    );
    const pid = /^imap-(\d+)-/.exec(String(l.session))![1]!;
    return { c, pid };
  }

  it("a mailbox created and a message appended on the other worker, and SMTP delivery", async () => {
    const watcher = await login();
    // cluster round-robin does not promise alternation: log in until a connection lands elsewhere
    let changer: { c: ImapClient; pid: string } | null = null;
    for (let i = 0; i < 20 && !changer; i++) {
      const x = await login();
      if (x.pid !== watcher.pid) changer = x;
    }
    assert.ok(changer, "a connection on the other worker");
    const w = watcher.c;
    assert.ok((await w.cmd("SELECT INBOX")).ok);
    const r = await w.cmd(
      "NOTIFY SET (selected (MessageNew (UID) MessageExpunge)) (personal (MessageNew MessageExpunge MailboxName MailboxMetadataChange))",
    );
    assert.ok(r.ok, r.text);

    assert.ok((await changer.c.cmd("CREATE Work")).ok);
    let lines = await w.readUntil(/^\* LIST /, 20_000);
    assert.equal(lines.at(-1), '* LIST (\\HasNoChildren) "/" "Work"');

    assert.ok((await changer.c.append("Work", "Subject: hi\r\n\r\nhello\r\n")).ok);
    lines = await w.readUntil(/^\* STATUS "Work"/, 20_000);
    assert.match(lines.at(-1)!, /^\* STATUS "Work" \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+\)$/);

    // METADATA beacons carry the entry names across processes
    assert.ok((await changer.c.cmd('SETMETADATA Work (/private/comment "x")')).ok);
    lines = await w.readUntil(/^\* METADATA/, 20_000);
    assert.equal(lines.at(-1), '* METADATA "Work" /private/comment');

    // SMTP delivery into the selected INBOX
    const s = await SmtpClient.connect(smtp);
    assert.match(await s.cmd("EHLO client.test"), /^250/);
    assert.match(await s.cmd("MAIL FROM:<x@remote.example>"), /^250/);
    assert.match(await s.cmd(`RCPT TO:<${USER}>`), /^250/);
    assert.match(await s.cmd("DATA"), /^354/);
    assert.match(await s.cmd("Subject: delivered\r\n\r\nby smtp\r\n."), /^250/);
    s.close();
    lines = await w.readUntil(/FETCH/, 20_000);
    assert.ok(lines.includes("* 1 EXISTS"), lines.join("\n"));
    assert.equal(lines.at(-1), "* 1 FETCH (UID 1)");
  });
});
