/**
 * POP3 transcript tests over real sockets: every command, state and error (RFC 1939, RFC 2449,
 * RFC 2595, RFC 5034, RFC 6856), pipelining, the [IN-USE] lock, dropped connections, DELE modes.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Client, message, PASS, seed, startServer, type TestServer, USER } from "./helpers.ts";

async function inboxUids(t: TestServer): Promise<number[]> {
  return (await t.store.listMessages(t.inboxId)).map((r) => r.uid);
}

describe("POP3 basic session", () => {
  let t: TestServer;
  before(async () => {
    t = await startServer({ limits: { maxBadCommands: 50 } });
  });
  after(async () => {
    await t.close();
  });

  test("raw telnet-style session through every TRANSACTION command", async () => {
    const uids = await seed(t, 3, (i) =>
      i === 2 ? ".leading dot\r\nline2\r\n.\r\nend\r\n" : `body ${i}\r\n`,
    );
    const c = await t.connect();
    assert.match(c.greeting, /^\+OK pop3\.test POP3 server ready/);
    assert.match(await c.cmd("STAT"), /^-ERR Not logged in/);
    assert.match(await c.cmd("PASS x"), /^-ERR Send USER first/);
    assert.equal(await c.cmd(`USER ${USER}`), "+OK Send your password");
    assert.match(await c.cmd(`PASS wrong`), /^-ERR \[AUTH\] Authentication failed/);
    assert.match(await c.cmd(`PASS ${PASS}`), /^-ERR Send USER first/);
    await c.cmd(`USER ${USER}`);
    assert.equal(await c.cmd(`PASS ${PASS}`), "+OK Logged in, 3 messages");

    // sizes: what RETR sends
    const bodies: Buffer[] = [];
    for (let n = 1; n <= 3; n++) {
      const st = await c.cmd(`RETR ${n}`);
      const m = /^\+OK (\d+) octets$/.exec(st);
      assert.ok(m, st);
      const body = await c.readMultiBody();
      assert.equal(body.length, Number(m[1]));
      const stored = Buffer.from(await t.store.readMessage(t.inboxId, uids[n - 1]!));
      assert.deepEqual(body, stored);
      bodies.push(body);
    }
    const total = bodies.reduce((a, b) => a + b.length, 0);
    assert.equal(await c.cmd("STAT"), `+OK 3 ${total}`);
    const [st, list] = await c.multi("LIST");
    assert.equal(st, `+OK 3 messages (${total} octets)`);
    assert.deepEqual(
      list,
      bodies.map((b, i) => `${i + 1} ${b.length}`),
    );
    assert.equal(await c.cmd("LIST 2"), `+OK 2 ${bodies[1]!.length}`);
    const mb = (await t.store.getMailbox(t.accountId, "INBOX"))!;
    const [, uidl] = await c.multi("UIDL");
    assert.deepEqual(
      uidl,
      uids.map((u, i) => `${i + 1} ${mb.uidValidity}.${u}`),
    );
    assert.equal(await c.cmd("UIDL 3"), `+OK 3 ${mb.uidValidity}.${uids[2]}`);
    for (const [, id] of uidl.map((l) => l.split(" "))) assert.match(id!, /^[\x21-\x7e]{1,70}$/);

    // TOP: header + blank line + n body lines, dot-stuffed
    assert.equal(await c.cmd("TOP 2 0"), "+OK Top of message follows");
    const top0 = (await c.readMultiBody()).toString();
    assert.ok(top0.endsWith("charset=utf-8\r\n\r\n"), top0);
    assert.equal(await c.cmd("TOP 2 1"), "+OK Top of message follows");
    const raw = await c.readMultiRaw();
    assert.ok(raw.toString().endsWith("\r\n\r\n..leading dot\r\n.\r\n"), raw.toString());
    assert.match(await c.cmd("TOP 2"), /^-ERR TOP needs/);
    assert.match(await c.cmd("TOP 2 x"), /^-ERR Invalid line count/);

    // DELE marks only
    assert.equal(await c.cmd("DELE 1"), "+OK Message 1 deleted");
    assert.equal(await c.cmd("DELE 1"), "-ERR Message 1 is already deleted");
    assert.equal(await c.cmd("RETR 1"), "-ERR Message 1 is already deleted");
    assert.equal(await c.cmd("LIST 1"), "-ERR Message 1 is already deleted");
    assert.equal(await c.cmd("UIDL 1"), "-ERR Message 1 is already deleted");
    assert.equal(await c.cmd("STAT"), `+OK 2 ${total - bodies[0]!.length}`);
    const [, list2] = await c.multi("LIST");
    assert.deepEqual(list2, [`2 ${bodies[1]!.length}`, `3 ${bodies[2]!.length}`]);
    assert.equal((await inboxUids(t)).length, 3, "nothing removed before QUIT");
    assert.equal(await c.cmd("RSET"), "+OK Maildrop has 3 messages");
    assert.equal(await c.cmd("STAT"), `+OK 3 ${total}`);
    assert.equal(await c.cmd("NOOP"), "+OK");
    assert.equal(await c.cmd("RETR 4"), "-ERR There is no message 4");
    assert.equal(await c.cmd("RETR 0"), "-ERR Invalid message number");
    assert.equal(await c.cmd("RETR"), "-ERR RETR needs one message number");
    assert.match(await c.cmd("USER x"), /^-ERR USER is not valid in this state/);
    assert.equal(await c.cmd("DELE 1"), "+OK Message 1 deleted");
    assert.equal(await c.cmd("DELE 3"), "+OK Message 3 deleted");
    assert.equal(await c.cmd("QUIT"), "+OK Bye, 2 messages deleted");
    assert.ok(await c.waitClosed());
    assert.deepEqual(await inboxUids(t), [uids[1]]);
    // message 2 was retrieved and kept: \Seen (as Dovecot)
    const [meta] = await t.store.getMessages(t.inboxId, [uids[1]!]);
    assert.ok(meta!.flags.includes("\\Seen"));
    await t.store.expunge(t.inboxId, await inboxUids(t));
  });
});

describe("POP3 session behaviour", () => {
  let t: TestServer;
  before(async () => {
    t = await startServer({ limits: { maxBadCommands: 50 } });
  });
  after(async () => {
    await t.close();
  });
  const clear = async () => {
    const uids = await inboxUids(t);
    if (uids.length) await t.store.expunge(t.inboxId, uids);
    await t.store.updateAccount(USER, {
      settings: { pop3Enabled: true, pop3Delete: "delete", pop3Scope: "all" },
    });
  };

  test("CAPA in AUTHORIZATION and TRANSACTION state; QUIT before login", async () => {
    await clear();
    const c = await t.connect();
    const [st, caps] = await c.multi("CAPA");
    assert.equal(st, "+OK Capability list follows");
    for (const cap of [
      "CAPA",
      "TOP",
      "UIDL",
      "USER",
      "RESP-CODES",
      "AUTH-RESP-CODE",
      "PIPELINING",
      "EXPIRE NEVER",
      "SASL PLAIN",
      "UTF8 USER",
      "IMPLEMENTATION postkontor",
    ]) {
      assert.ok(caps.includes(cap), `${cap} in ${caps.join(",")}`);
    }
    assert.ok(!caps.includes("STLS"), "no STLS without TLS configured");
    assert.ok(!caps.some((x) => x.startsWith("LOGIN-DELAY")), "LOGIN-DELAY only when configured");
    assert.equal(await c.cmd("UTF8"), "+OK UTF8 enabled");
    await c.cmd(`USER ${USER}`);
    await c.cmd(`PASS ${PASS}`);
    const [, caps2] = await c.multi("CAPA");
    assert.ok(caps2.includes("UIDL") && !caps2.includes("USER") && !caps2.includes("SASL PLAIN"));
    assert.match(await c.cmd("UTF8"), /^-ERR UTF8 is not valid in this state/);
    assert.match(await c.cmd("XYZZ"), /^-ERR Unknown command/);
    assert.equal(await c.cmd("QUIT"), "+OK Bye, 0 messages deleted");
    const c2 = await t.connect();
    assert.equal(await c2.cmd("QUIT"), "+OK Bye");
    assert.ok(await c2.waitClosed());
  });

  test("pipelined commands in one write are answered in order", async () => {
    await clear();
    const uids = await seed(t, 3);
    const c = await t.connect();
    c.write(
      `CAPA\r\nUSER ${USER}\r\nPASS ${PASS}\r\nSTAT\r\nLIST\r\nUIDL\r\nRETR 1\r\nTOP 2 0\r\nDELE 1\r\nDELE 2\r\nNOOP\r\nLIST 9\r\nQUIT\r\n`,
    );
    assert.equal(await c.readLine(), "+OK Capability list follows");
    await c.readMultiRaw();
    assert.equal(await c.readLine(), "+OK Send your password");
    assert.equal(await c.readLine(), "+OK Logged in, 3 messages");
    assert.match(await c.readLine(), /^\+OK 3 \d+$/);
    assert.match(await c.readLine(), /^\+OK 3 messages/);
    assert.equal((await c.readMultiLines()).length, 3);
    assert.match(await c.readLine(), /^\+OK Unique-ID/);
    assert.equal((await c.readMultiLines()).length, 3);
    assert.match(await c.readLine(), /^\+OK \d+ octets/);
    assert.match((await c.readMultiBody()).toString(), /Subject: msg 1/);
    assert.equal(await c.readLine(), "+OK Top of message follows");
    assert.match((await c.readMultiBody()).toString(), /Subject: msg 2/);
    assert.equal(await c.readLine(), "+OK Message 1 deleted");
    assert.equal(await c.readLine(), "+OK Message 2 deleted");
    assert.equal(await c.readLine(), "+OK");
    assert.equal(await c.readLine(), "-ERR There is no message 9");
    assert.equal(await c.readLine(), "+OK Bye, 2 messages deleted");
    assert.ok(await c.waitClosed());
    assert.deepEqual(await inboxUids(t), [uids[2]]);
  });

  test("[IN-USE]: one session per maildrop; the lock is released at QUIT", async () => {
    await clear();
    await seed(t, 1);
    const a = await t.login();
    const b = await t.connect();
    await b.cmd(`USER ${USER}`);
    assert.equal(await b.cmd(`PASS ${PASS}`), "-ERR [IN-USE] Mailbox is locked by another POP3 session");
    // AUTH PLAIN is refused too
    const ir = Buffer.from(`\0${USER}\0${PASS}`).toString("base64");
    assert.match(await b.cmd(`AUTH PLAIN ${ir}`), /^-ERR \[IN-USE\]/);
    // another account is not affected
    await b.cmd("USER bob@example.com");
    assert.equal(await b.cmd(`PASS ${PASS}`), "+OK Logged in, 0 messages");
    assert.equal(await a.cmd("QUIT"), "+OK Bye, 0 messages deleted");
    await a.waitClosed();
    const c = await t.login();
    assert.equal(await c.cmd("QUIT"), "+OK Bye, 0 messages deleted");
    await b.cmd("QUIT");
  });

  test("a stale lock file of a dead process is taken over; a live one is not", async () => {
    await clear();
    const { hostname } = await import("node:os");
    const lockPath = join(t.dir, "run", "locks", "pop3", String(t.accountId));
    writeFileSync(lockPath, `999999999 ${hostname()} deadbeef`);
    const c = await t.login();
    assert.equal(await c.cmd("QUIT"), "+OK Bye, 0 messages deleted");
    await c.waitClosed();
    // the lock of a live process (our parent shell's pid is alive) is respected
    writeFileSync(lockPath, `${process.ppid} ${hostname()} cafebabe`);
    const d = await t.connect();
    await d.cmd(`USER ${USER}`);
    assert.match(await d.cmd(`PASS ${PASS}`), /^-ERR \[IN-USE\]/);
    const { unlinkSync } = await import("node:fs");
    unlinkSync(lockPath);
    await d.cmd(`USER ${USER}`);
    assert.match(await d.cmd(`PASS ${PASS}`), /^\+OK Logged in/);
    await d.cmd("QUIT");
  });

  test("a dropped connection deletes nothing and releases the lock", async () => {
    await clear();
    const uids = await seed(t, 3);
    const c = await t.login();
    assert.equal(await c.cmd("DELE 1"), "+OK Message 1 deleted");
    assert.equal(await c.cmd("DELE 2"), "+OK Message 2 deleted");
    c.destroy();
    // the server notices the close; the next login must succeed and see all mail
    let d: Client | null = null;
    for (let i = 0; i < 50 && !d; i++) {
      const x = await t.connect();
      await x.cmd(`USER ${USER}`);
      const r = await x.cmd(`PASS ${PASS}`);
      if (r.startsWith("+OK")) d = x;
      else {
        assert.match(r, /IN-USE/);
        x.destroy();
        await new Promise((res) => setTimeout(res, 20));
      }
    }
    assert.ok(d, "login after the drop");
    assert.match(await d.cmd("STAT"), /^\+OK 3 /);
    assert.deepEqual(await inboxUids(t), uids);
    await d.cmd("QUIT");
  });

  test("mail arriving during a session is not shown, and is there at the next login", async () => {
    await clear();
    await seed(t, 2);
    const c = await t.login();
    assert.match(await c.cmd("STAT"), /^\+OK 2 /);
    const r = await t.store.append(t.accountId, t.inboxId, { raw: Buffer.from(message("late")) });
    assert.match(await c.cmd("STAT"), /^\+OK 2 /);
    assert.equal(await c.cmd("RETR 3"), "-ERR There is no message 3");
    await c.cmd("DELE 1");
    await c.cmd("DELE 2");
    assert.equal(await c.cmd("QUIT"), "+OK Bye, 2 messages deleted");
    await c.waitClosed();
    assert.deepEqual(await inboxUids(t), [r.uid]);
    const d = await t.login();
    assert.match(await d.cmd("STAT"), /^\+OK 1 /);
    await d.cmd("QUIT");
  });

  test("RETR of a message expunged meanwhile (IMAP) answers -ERR; the session goes on", async () => {
    await clear();
    const uids = await seed(t, 2);
    const c = await t.login();
    await t.store.expunge(t.inboxId, [uids[0]!]);
    assert.equal(await c.cmd("RETR 1"), "-ERR Message 1 was removed from the mailbox by another session");
    assert.equal(await c.cmd("TOP 1 0"), "-ERR Message 1 was removed from the mailbox by another session");
    assert.match(await c.cmd("LIST 1"), /^\+OK 1 \d+$/);
    assert.match(await c.cmd("RETR 2"), /^\+OK/);
    await c.readMultiRaw();
    assert.equal(await c.cmd("DELE 1"), "+OK Message 1 deleted");
    assert.equal(await c.cmd("QUIT"), "+OK Bye, 1 message deleted");
    assert.deepEqual(await inboxUids(t), [uids[1]]);
  });

  test("a bare-LF message is sent with CRLF and LIST/STAT count those octets", async () => {
    await clear();
    const raw = Buffer.from("Subject: lf\n\n.dot\nline\nno final newline");
    await t.store.append(t.accountId, t.inboxId, { raw });
    const c = await t.login();
    const expected = Buffer.from("Subject: lf\r\n\r\n.dot\r\nline\r\nno final newline\r\n");
    assert.equal(await c.cmd("LIST 1"), `+OK 1 ${expected.length}`);
    assert.equal(await c.cmd("STAT"), `+OK 1 ${expected.length}`);
    assert.equal(await c.cmd("RETR 1"), `+OK ${expected.length} octets`);
    const wire = await c.readMultiRaw();
    assert.equal(wire.toString(), "Subject: lf\r\n\r\n..dot\r\nline\r\nno final newline\r\n.\r\n");
    assert.equal(await c.cmd("TOP 1 1"), "+OK Top of message follows");
    assert.equal((await c.readMultiRaw()).toString(), "Subject: lf\r\n\r\n..dot\r\n.\r\n");
    await c.cmd("QUIT");
  });

  test("a large message streams byte-exact (8-bit, many dot lines)", async () => {
    await clear();
    const line = Buffer.from(
      ".dotted line with 8-bit \xe4\xf6\xfc bytes and padding................\r\n",
      "latin1",
    );
    const body = Buffer.concat(Array.from({ length: 60_000 }, () => line));
    const raw = Buffer.concat([Buffer.from("Subject: big\r\n\r\n"), body]);
    await t.store.append(t.accountId, t.inboxId, { raw });
    const c = await t.login();
    assert.equal(await c.cmd("LIST 1"), `+OK 1 ${raw.length}`);
    assert.equal(await c.cmd("RETR 1"), `+OK ${raw.length} octets`);
    const got = await c.readMultiBody(30_000);
    assert.equal(got.length, raw.length);
    assert.ok(got.equals(raw));
    await c.cmd("QUIT");
  });

  test("pipelined RETR+DELE of mixed messages (batched and streamed) are byte-exact and in order", async () => {
    await clear();
    const raws: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const eol = i % 3 === 0 ? "\n" : "\r\n"; // bare-LF messages take the general path
      const reps = i === 7 ? 9000 : i === 21 ? 4000 : 50 + i * 37; // two above the batch limit
      const body = Array.from({ length: reps }, (_, k) =>
        k % 5 === 0 ? `.dot ${i}.${k}` : `line ${k} of ${i}`,
      );
      const tail = i % 4 === 1 ? "no final line end" : "";
      raws.push(Buffer.from(`Subject: m${i}${eol}${eol}${body.join(eol)}${eol}${tail}`, "latin1"));
    }
    for (const raw of raws) await t.store.append(t.accountId, t.inboxId, { raw });
    const c = await t.login();
    let cmds = "";
    for (let i = 1; i <= raws.length; i++) cmds += `RETR ${i}\r\nDELE ${i}\r\n`;
    c.write(`${cmds}QUIT\r\n`);
    for (let i = 0; i < raws.length; i++) {
      const want = Buffer.from(raws[i]!.toString("latin1").replace(/\r?\n/g, "\r\n"), "latin1");
      const exp =
        want.length && want[want.length - 1] !== 10 ? Buffer.concat([want, Buffer.from("\r\n")]) : want;
      assert.equal(await c.readLine(), `+OK ${exp.length} octets`, `RETR ${i + 1}`);
      const got = await c.readMultiBody(30_000);
      assert.ok(got.equals(exp), `body ${i + 1}`);
      assert.equal(await c.readLine(), `+OK Message ${i + 1} deleted`);
    }
    assert.equal(await c.readLine(), `+OK Bye, ${raws.length} messages deleted`);
    assert.ok(await c.waitClosed());
    assert.deepEqual(await inboxUids(t), []);
  });

  test("AUTH: mechanism list, PLAIN with initial response, with continuation, cancel, errors", async () => {
    await clear();
    const c = await t.connect();
    const [st, mechs] = await c.multi("AUTH");
    assert.match(st, /^\+OK/);
    assert.deepEqual(mechs, ["PLAIN"]);
    assert.equal(await c.cmd("AUTH CRAM-MD5"), "-ERR Unsupported authentication mechanism");
    assert.equal(await c.cmd("AUTH PLAIN"), "+ ");
    assert.equal(await c.cmd("*"), "-ERR Authentication cancelled");
    assert.equal(await c.cmd("AUTH PLAIN"), "+ ");
    assert.equal(await c.cmd("!!!"), "-ERR Invalid base64 in SASL response");
    const bad = Buffer.from(`\0${USER}\0nope`).toString("base64");
    assert.equal(await c.cmd(`AUTH PLAIN ${bad}`), "-ERR [AUTH] Authentication failed");
    const proxy = Buffer.from(`bob@example.com\0${USER}\0${PASS}`).toString("base64");
    assert.match(await c.cmd(`AUTH PLAIN ${proxy}`), /^-ERR \[AUTH\] Authorization as another user/);
    assert.match(await c.cmd("AUTH PLAIN ="), /^-ERR \[AUTH\] Malformed/);
    assert.equal(await c.cmd("AUTH PLAIN"), "+ ");
    assert.equal(
      await c.cmd(Buffer.from(`${USER}\0${USER}\0${PASS}`).toString("base64")),
      "+OK Logged in, 0 messages",
    );
    assert.equal(await c.cmd("QUIT"), "+OK Bye, 0 messages deleted");
    await c.waitClosed();
    const d = await t.connect();
    const ir = Buffer.from(`\0${USER}\0${PASS}`).toString("base64");
    assert.equal(await d.cmd(`AUTH PLAIN ${ir}`), "+OK Logged in, 0 messages");
    await d.cmd("QUIT");
  });

  test("UTF-8 user name and password with spaces", async () => {
    await clear();
    await t.store.createAccount("jürgen@example.com", "{PLAIN}pässwort mit leerzeichen");
    const c = await t.connect();
    assert.equal(await c.cmd("UTF8"), "+OK UTF8 enabled");
    await c.cmd("USER jürgen@example.com");
    assert.equal(await c.cmd("PASS pässwort mit leerzeichen"), "+OK Logged in, 0 messages");
    await c.cmd("QUIT");
  });

  test("POP3 disabled for the account: -ERR [AUTH] with a clear message, logged", async () => {
    await clear();
    await t.store.updateAccount(USER, { settings: { pop3Enabled: false } });
    const c = await t.connect();
    await c.cmd(`USER ${USER}`);
    assert.equal(await c.cmd(`PASS ${PASS}`), "-ERR [AUTH] POP3 access is disabled for this account");
    await c.cmd(`USER ${USER}`);
    assert.equal(
      await c.cmd("PASS wrong"),
      "-ERR [AUTH] Authentication failed",
      "no hint without the password",
    );
    const ir = Buffer.from(`\0${USER}\0${PASS}`).toString("base64");
    assert.equal(await c.cmd(`AUTH PLAIN ${ir}`), "-ERR [AUTH] POP3 access is disabled for this account");
    assert.ok(t.logs.some((l) => l.level === "warn" && /POP3 disabled/.test(l.msg ?? "")));
    // effective immediately when switched back on
    await t.store.updateAccount(USER, { settings: { pop3Enabled: true } });
    await c.cmd(`USER ${USER}`);
    assert.match(await c.cmd(`PASS ${PASS}`), /^\+OK Logged in/);
    await c.cmd("QUIT");
  });

  test("DELE mode trash: deleted messages move to Trash", async () => {
    await clear();
    await t.store.updateAccount(USER, { settings: { pop3Delete: "trash" } });
    const uids = await seed(t, 3);
    const trash = (await t.store.listMailboxes(t.accountId)).find((m) => m.specialUse === "\\Trash")!;
    const before = (await t.store.listMessages(trash.id)).length;
    const c = await t.login();
    await c.cmd("RETR 1");
    await c.readMultiRaw();
    await c.cmd("DELE 1");
    await c.cmd("DELE 2");
    assert.equal(await c.cmd("QUIT"), "+OK Bye, 2 messages deleted");
    await c.waitClosed();
    assert.deepEqual(await inboxUids(t), [uids[2]]);
    const inTrash = await t.store.listMessages(trash.id);
    assert.equal(inTrash.length, before + 2);
    const seenInTrash = inTrash.filter((m) => m.flags.includes("\\Seen")).length;
    assert.ok(seenInTrash >= 1, "the retrieved one is \\Seen in Trash");
  });

  test("DELE mode keep-read: messages stay in INBOX, marked \\Seen; UIDL unchanged", async () => {
    await clear();
    await t.store.updateAccount(USER, { settings: { pop3Delete: "keep-read" } });
    const uids = await seed(t, 2);
    const c = await t.login();
    const [, uidl1] = await c.multi("UIDL");
    await c.cmd("DELE 1");
    assert.equal(await c.cmd("QUIT"), "+OK Bye, 1 message marked read");
    await c.waitClosed();
    assert.deepEqual(await inboxUids(t), uids);
    const metas = await t.store.getMessages(t.inboxId, uids);
    assert.ok(metas[0]!.flags.includes("\\Seen"));
    assert.ok(!metas[1]!.flags.includes("\\Seen"));
    const d = await t.login();
    const [, uidl2] = await d.multi("UIDL");
    assert.deepEqual(uidl2, uidl1);
    await d.cmd("QUIT");
  });

  test("DELE mode is read at QUIT: a change during the session is effective immediately", async () => {
    await clear();
    const uids = await seed(t, 1);
    const c = await t.login();
    await c.cmd("DELE 1");
    await t.store.updateAccount(USER, { settings: { pop3Delete: "keep-read" } });
    assert.equal(await c.cmd("QUIT"), "+OK Bye, 1 message marked read");
    assert.deepEqual(await inboxUids(t), uids);
  });

  test("delete mode expunges through the store: the change feed tells IMAP sessions", async () => {
    await clear();
    const uids = await seed(t, 2);
    const beacons: string[] = [];
    const unsub = t.store.feed.subscribe(t.accountId, (b) => {
      if (b.mailboxId === t.inboxId) beacons.push(b.modseq);
    });
    const before = (await t.store.getMailbox(t.accountId, "INBOX"))!.highestModseq;
    const c = await t.login();
    await c.cmd("DELE 2");
    assert.equal(await c.cmd("QUIT"), "+OK Bye, 1 message deleted");
    unsub();
    assert.ok(beacons.length >= 1, "a beacon after the expunge");
    const ch = await t.store.changesSince(t.inboxId, before);
    assert.deepEqual(ch.expunged, [uids[1]]);
  });

  test("scope since-enabled: only mail saved since POP3 was enabled", async () => {
    await clear();
    await seed(t, 2);
    await t.store.updateAccount(USER, { settings: { pop3Enabled: false } });
    await new Promise((r) => setTimeout(r, 5));
    await t.store.updateAccount(USER, { settings: { pop3Enabled: true, pop3Scope: "since-enabled" } });
    const acc = (await t.store.getAccount(USER))!;
    assert.ok(acc.settings.pop3EnabledAt);
    await new Promise((r) => setTimeout(r, 5));
    const late = await t.store.append(t.accountId, t.inboxId, { raw: Buffer.from(message("new")) });
    const c = await t.login();
    assert.equal(await c.cmd("STAT").then((s) => s.split(" ")[1]), "1");
    const mb = (await t.store.getMailbox(t.accountId, "INBOX"))!;
    assert.equal(await c.cmd("UIDL 1"), `+OK 1 ${mb.uidValidity}.${late.uid}`);
    await c.cmd("QUIT");
  });
});

describe("POP3 limits and policies", () => {
  test("bad commands close the connection after the limit; over-long lines are refused", async () => {
    const t = await startServer({ limits: { maxBadCommands: 3, maxLineLength: 100 } });
    try {
      const c = await t.connect();
      assert.equal(await c.cmd("BLAH"), "-ERR Unknown command");
      assert.equal(await c.cmd(`NOOP ${"x".repeat(200)}`), "-ERR Line too long");
      assert.equal(await c.cmd(""), "-ERR Empty command");
      assert.equal(await c.readLine(), "-ERR Too many invalid commands, closing the connection");
      assert.ok(await c.waitClosed());
      // a client sending an endless line without LF is not buffered without bound
      const d = await t.connect();
      d.write("x".repeat(100_000));
      d.write("\r\nCAPA\r\n");
      assert.equal(await d.readLine(), "-ERR Line too long");
      assert.equal(await d.readLine(), "+OK Capability list follows");
    } finally {
      await t.close();
    }
  });

  test("plaintext auth from a non-loopback address without TLS is refused, saying why", async () => {
    const t = await startServer({ remoteAddress: "192.0.2.7" });
    try {
      const c = await t.connect();
      assert.match(
        await c.cmd(`USER ${USER}`),
        /^-ERR \[AUTH\] Plaintext authentication is not allowed on an unencrypted connection/,
      );
      assert.match(await c.cmd(`PASS ${PASS}`), /^-ERR \[AUTH\] Plaintext/);
      const ir = Buffer.from(`\0${USER}\0${PASS}`).toString("base64");
      assert.match(await c.cmd(`AUTH PLAIN ${ir}`), /^-ERR \[AUTH\] Plaintext/);
      await c.cmd("QUIT");
    } finally {
      await t.close();
    }
    const t2 = await startServer({ remoteAddress: "192.0.2.7", allowPlaintextAuth: true });
    try {
      const c = await t2.login();
      await c.cmd("QUIT");
    } finally {
      await t2.close();
    }
  });

  test("STLS upgrades the connection; implicit TLS works; plaintext refused before, allowed after", async () => {
    const t = await startServer({ tls: true, remoteAddress: "192.0.2.8" });
    try {
      const c = await t.connect();
      const [, caps] = await c.multi("CAPA");
      assert.ok(caps.includes("STLS"));
      assert.match(await c.cmd(`USER ${USER}`), /use STLS first/);
      // pipelined data after STLS is discarded (RFC 2595 §4)
      c.write("STLS\r\nNOOP\r\n");
      assert.equal(await c.readLine(), "+OK Begin TLS negotiation");
      await c.upgradeTls(t.cert);
      const [, caps2] = await c.multi("CAPA");
      assert.ok(!caps2.includes("STLS"), "no STLS once secure");
      assert.match(await c.cmd("STLS"), /^-ERR Already using TLS/);
      await c.cmd(`USER ${USER}`);
      assert.match(await c.cmd(`PASS ${PASS}`), /^\+OK Logged in/);
      await c.cmd("QUIT");
      await c.waitClosed();

      const d = await t.connectTls();
      assert.match(d.greeting, /^\+OK/);
      const [, caps3] = await d.multi("CAPA");
      assert.ok(!caps3.includes("STLS"));
      const ir = Buffer.from(`\0${USER}\0${PASS}`).toString("base64");
      assert.match(await d.cmd(`AUTH PLAIN ${ir}`), /^\+OK Logged in/);
      await d.cmd("QUIT");
    } finally {
      await t.close();
    }
  });

  test("LOGIN-DELAY: advertised and enforced when configured", async () => {
    const t = await startServer({ limits: { loginDelaySeconds: 60, expireDays: 30 } });
    try {
      const c = await t.connect();
      const [, caps] = await c.multi("CAPA");
      assert.ok(caps.includes("LOGIN-DELAY 60"));
      assert.ok(caps.includes("EXPIRE 30"));
      await c.cmd(`USER ${USER}`);
      assert.match(await c.cmd(`PASS ${PASS}`), /^\+OK/);
      await c.cmd("QUIT");
      const d = await t.connect();
      await d.cmd(`USER ${USER}`);
      assert.match(await d.cmd(`PASS ${PASS}`), /^-ERR \[LOGIN-DELAY\]/);
    } finally {
      await t.close();
    }
  });

  test("autologout closes without UPDATE; closeAll ends sessions without UPDATE", async () => {
    const t = await startServer({ limits: { idleTimeoutMs: 300 } });
    try {
      const uids = await seed(t, 2);
      const c = await t.login();
      await c.cmd("DELE 1");
      assert.match(await c.readLine(2000), /^-ERR \[SYS\/TEMP\] Autologout/);
      assert.ok(await c.waitClosed());
      assert.deepEqual(await inboxUids(t), uids);
      const d = await t.login();
      await d.cmd("DELE 1");
      assert.equal(t.pop3.connectionCount(), 1);
      await t.pop3.closeAll("Server shutting down");
      assert.match(await d.readLine(), /^-ERR \[SYS\/TEMP\] Server shutting down/);
      assert.ok(await d.waitClosed());
      assert.equal(t.pop3.connectionCount(), 0);
      assert.deepEqual(await inboxUids(t), uids);
    } finally {
      await t.close();
    }
  });

  test("connections per IP are limited", async () => {
    const t = await startServer({ limits: { maxConnectionsPerIp: 2 } });
    try {
      await t.connect();
      await t.connect();
      const c = await t.connect();
      assert.match(c.greeting, /^-ERR \[SYS\/TEMP\] Too many connections/);
      assert.ok(await c.waitClosed());
    } finally {
      await t.close();
    }
  });
});

describe("POP3 store failures", () => {
  test("UPDATE failure answers -ERR [SYS/TEMP], keeps mail, releases the lock; unexpected errors are logged", async () => {
    const faults = { expunge: false, list: false };
    const t = await startServer({
      wrapStore: (s) =>
        new Proxy(s, {
          get(target, prop, recv) {
            if (prop === "expunge" && faults.expunge)
              return async () => Promise.reject(new Error("disk on fire"));
            if (prop === "listMessages" && faults.list)
              return async () => Promise.reject(new Error("db gone"));
            const v = Reflect.get(target, prop, recv);
            return typeof v === "function" ? v.bind(target) : v;
          },
        }),
    });
    try {
      const uids = await seed(t, 2);
      faults.expunge = true;
      const c = await t.login();
      await c.cmd("DELE 1");
      assert.equal(await c.cmd("QUIT"), "-ERR [SYS/TEMP] Some deleted messages were not removed");
      assert.ok(await c.waitClosed());
      assert.deepEqual(await inboxUids(t), uids);
      assert.ok(t.logs.some((l) => l.level === "error" && /update failed/.test(l.msg ?? "")));
      faults.expunge = false;
      faults.list = true;
      const d = await t.connect();
      await d.cmd(`USER ${USER}`);
      assert.equal(await d.cmd(`PASS ${PASS}`), "-ERR [SYS/TEMP] Internal server error, try again later");
      const logged = t.logs.find((l) => l.level === "error" && /command failed/.test(l.msg ?? ""));
      assert.ok(logged && "session" in logged.o, "log line with the session id");
      faults.list = false;
      // the lock was released on both failures
      await d.cmd(`USER ${USER}`);
      assert.match(await d.cmd(`PASS ${PASS}`), /^\+OK Logged in, 2 messages/);
      await d.cmd("QUIT");
    } finally {
      await t.close();
    }
  });
});
