import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import tls from "node:tls";
import { createImapServer } from "../../src/imap/server/index.ts";
import { testAuthenticator } from "../kit/store.ts";
import { Client, PASS, startServer, type TestServer, USER } from "./helpers.ts";

const plain = (authz: string, user: string, pass: string) =>
  Buffer.from(`${authz}\0${user}\0${pass}`).toString("base64");

describe("IMAP authentication", () => {
  let t: TestServer;
  before(async () => {
    t = await startServer();
  });
  after(async () => {
    await t.close();
  });

  it("AUTHENTICATE PLAIN with SASL-IR and with a continuation; cancel", async () => {
    const c = await t.connect();
    let r = await c.cmd(`AUTHENTICATE PLAIN ${plain("", USER, "bad")}`);
    assert.match(r.tagged, /NO \[AUTHENTICATIONFAILED\]/);
    c.write("A1 AUTHENTICATE PLAIN\r\n");
    assert.equal(await c.readLine(), "+ ");
    c.write("*\r\n");
    assert.match(await c.readLine(), /^A1 BAD/);
    c.write("A2 AUTHENTICATE PLAIN\r\n");
    assert.equal(await c.readLine(), "+ ");
    c.write(plain("", USER, PASS) + "\r\n");
    const ok = await c.readLine();
    assert.match(ok, /^A2 OK \[CAPABILITY .*IDLE/);
    r = await c.cmd("LOGIN x y");
    assert.match(r.tagged, /BAD/);
  });

  it("commands before authentication are refused; ID, NAMESPACE, ENABLE", async () => {
    const c = await t.connect();
    let r = await c.cmd("SELECT INBOX");
    assert.match(r.tagged, /BAD/);
    r = await c.cmd('ID ("name" "test")');
    assert.match(r.lines[0]!, /^\* ID \("name" "postkontor"\)/);
    r = await c.cmd(`LOGIN ${USER} ${PASS}`);
    r = await c.cmd("NAMESPACE");
    assert.deepEqual(r.lines, ['* NAMESPACE (("" "/")) (("Shared/" "/")) NIL']); // RFC 4314 shared namespace
    r = await c.cmd("ENABLE IMAP4rev2 CONDSTORE X-UNKNOWN");
    assert.deepEqual(r.lines, ["* ENABLED IMAP4rev2 CONDSTORE"]);
    r = await c.cmd("SELECT INBOX");
    assert.ok(!r.lines.some((l) => /RECENT/.test(l)));
    assert.ok(
      r.lines.some((l) => /^\* LIST \(.*\) "\/" "?INBOX"?$/.test(l)),
      r.text,
    );
    r = await c.cmd("SEARCH ALL");
    assert.match(r.lines[0]!, /^\* ESEARCH \(TAG "T\d+"\)/);
  });

  it("per-account IMAP switch refuses login with a clear message and a log line", async () => {
    await t.store.updateAccount("bob@example.com", { settings: { imapEnabled: false } });
    const c = await t.connect();
    const r = await c.cmd(`LOGIN bob@example.com ${PASS}`);
    assert.match(r.tagged, /NO \[AUTHENTICATIONFAILED\] .*IMAP access is disabled/);
    assert.ok(t.logs.some((l) => l.msg?.includes("IMAP disabled")));
  });
});

describe("IMAP plaintext policy and STARTTLS", () => {
  let dir: string;
  let t: TestServer;
  let port: number;
  let server: net.Server;
  let tlsServer: tls.Server;
  let tlsPort: number;
  before(async () => {
    t = await startServer();
    dir = mkdtempSync(join(tmpdir(), "pk-tls-"));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        join(dir, "k.pem"),
        "-out",
        join(dir, "c.pem"),
        "-days",
        "1",
        "-subj",
        "/CN=imap.test",
      ],
      { stdio: "ignore" },
    );
    const ctx = tls.createSecureContext({
      key: readFileSync(join(dir, "k.pem")),
      cert: readFileSync(join(dir, "c.pem")),
    });
    const imap = createImapServer({
      store: t.store,
      auth: testAuthenticator(t.store, 1000),
      tls: { context: () => ctx },
      logger: { info() {}, warn() {}, error() {} },
      hostname: "imap.test",
      limits: {
        maxLineLength: 8192,
        maxLiteralSize: 65536,
        maxLiteralSizeUnauth: 1024,
        maxBadCommands: 5,
        idleTimeoutMs: 60_000,
        unauthTimeoutMs: 60_000,
        maxConnectionsPerUser: 10,
        maxConnectionsPerIp: 10,
      },
      allowPlaintextAuth: false,
    });
    // pretend the peer is remote, so the plaintext policy applies
    server = net.createServer((s) => {
      Object.defineProperty(s, "remoteAddress", { value: "192.0.2.7" });
      imap.handleConnection(s, { implicitTls: false });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as net.AddressInfo).port;
    // implicit TLS listener (993-style)
    tlsServer = tls.createServer(
      { key: readFileSync(join(dir, "k.pem")), cert: readFileSync(join(dir, "c.pem")) },
      (s) => {
        Object.defineProperty(s, "remoteAddress", { value: "192.0.2.8" });
        imap.handleConnection(s, { implicitTls: true });
      },
    );
    await new Promise<void>((r) => tlsServer.listen(0, "127.0.0.1", r));
    tlsPort = (tlsServer.address() as net.AddressInfo).port;
  });
  after(async () => {
    server.close();
    tlsServer.close();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("advertises LOGINDISABLED and STARTTLS, refuses LOGIN and AUTHENTICATE in plaintext", async () => {
    const c = await Client.connect(port);
    assert.match(c.greeting, /STARTTLS/);
    assert.match(c.greeting, /LOGINDISABLED/);
    assert.doesNotMatch(c.greeting, /AUTH=PLAIN/);
    let r = await c.cmd(`LOGIN ${USER} ${PASS}`);
    assert.match(r.tagged, /NO \[PRIVACYREQUIRED\]/);
    r = await c.cmd(`AUTHENTICATE PLAIN ${plain("", USER, PASS)}`);
    assert.match(r.tagged, /NO/);
    c.destroy();
  });

  it("implicit TLS: no STARTTLS, plaintext login allowed", async () => {
    const sock = tls.connect({
      port: tlsPort,
      host: "127.0.0.1",
      rejectUnauthorized: false,
      servername: "imap.test",
    });
    let buf = "";
    sock.on("data", (d) => {
      buf += d.toString("latin1");
    });
    const until = async (re: RegExp) => {
      for (let i = 0; i < 500 && !re.test(buf); i++) await new Promise((r) => setTimeout(r, 10));
      return buf;
    };
    const greet = await until(/\r\n/);
    assert.match(greet, /AUTH=PLAIN/);
    assert.doesNotMatch(greet, /STARTTLS|LOGINDISABLED/);
    sock.write(`a LOGIN ${USER} ${PASS}\r\n`);
    assert.match(await until(/a OK/), /a OK \[CAPABILITY/);
    sock.destroy();
  });

  it("STARTTLS upgrades the connection and then allows LOGIN", async () => {
    const sock = net.connect(port, "127.0.0.1");
    const lines: string[] = [];
    let buf = "";
    const waitLine = async (): Promise<string> => {
      for (let i = 0; i < 500 && !buf.includes("\r\n"); i++) await new Promise((r) => setTimeout(r, 10));
      const idx = buf.indexOf("\r\n");
      const l = buf.slice(0, idx);
      buf = buf.slice(idx + 2);
      lines.push(l);
      return l;
    };
    sock.on("data", (d) => {
      buf += d.toString("latin1");
    });
    await waitLine();
    sock.write("S1 STARTTLS\r\n");
    assert.match(await waitLine(), /^S1 OK/);
    sock.removeAllListeners("data");
    const secure = tls.connect({ socket: sock, rejectUnauthorized: false, servername: "imap.test" });
    await new Promise<void>((r) => secure.once("secureConnect", () => r()));
    secure.on("data", (d) => {
      buf += d.toString("latin1");
    });
    secure.write("S2 CAPABILITY\r\n");
    const cap = await waitLine();
    assert.match(cap, /AUTH=PLAIN/);
    assert.doesNotMatch(cap, /STARTTLS|LOGINDISABLED/);
    await waitLine();
    secure.write(`S3 LOGIN ${USER} ${PASS}\r\n`);
    assert.match(await waitLine(), /^S3 OK/);
    secure.destroy();
  });
});

describe("IMAP limits", () => {
  let t: TestServer;
  before(async () => {
    t = await startServer({
      limits: {
        maxLineLength: 200,
        maxLiteralSize: 4096,
        maxLiteralSizeUnauth: 64,
        maxBadCommands: 3,
        maxConnectionsPerIp: 6,
        maxConnectionsPerUser: 2,
      },
    });
  });
  after(async () => {
    await t.close();
  });

  it("line too long → BAD, the session continues", async () => {
    const c = await t.connect();
    c.write(`L1 NOOP ${"x".repeat(300)}\r\n`);
    assert.match(await c.readLine(), /^L1 BAD \[TOOBIG\]|^\* BAD/);
    const r = await c.cmd("NOOP");
    assert.ok(r.ok);
    c.destroy();
  });

  it("literal size: small cap before login, larger after; sync literal refused without continuation", async () => {
    const c = await t.connect();
    c.write("L2 LOGIN {100}\r\n");
    assert.match(await c.readLine(), /^L2 NO \[TOOBIG\]/);
    const ok = await c.cmd(`LOGIN ${USER} ${PASS}`);
    assert.ok(ok.ok);
    c.write("L3 APPEND INBOX {5000}\r\n");
    assert.match(await c.readLine(), /^L3 NO \[TOOBIG\]/);
    const a = await c.append("INBOX", "Subject: small\r\n\r\n" + "y".repeat(3000));
    assert.ok(a.ok, a.text);
    // a non-synchronizing literal that is too large is skipped
    c.write(`L4 APPEND INBOX {5000+}\r\n${"z".repeat(5000)}\r\n`);
    assert.match(await c.readLine(), /^L4 NO \[TOOBIG\]/);
    assert.ok((await c.cmd("NOOP")).ok);
    c.destroy();
  });

  it("too many bad commands → BYE", async () => {
    const c = await t.connect();
    for (let i = 0; i < 3; i++) assert.match((await c.cmd("FOO")).tagged, /BAD/);
    c.write("X BAR\r\n");
    const lines = await c.readUntil(/^\* BYE/);
    assert.match(lines[lines.length - 1]!, /BYE Too many invalid commands/);
    assert.ok(await c.waitClosed());
  });

  it("per-user connection limit → NO [LIMIT]; per-IP limit → BYE [UNAVAILABLE]", async () => {
    const a = await t.login();
    const b = await t.login();
    const c = await t.connect();
    const r = await c.cmd(`LOGIN ${USER} ${PASS}`);
    assert.match(r.tagged, /NO \[LIMIT\]/);
    a.destroy();
    await new Promise((res) => setTimeout(res, 50));
    assert.ok((await c.cmd(`LOGIN ${USER} ${PASS}`)).ok);
    b.destroy();
    c.destroy();
    await new Promise((res) => setTimeout(res, 50));
    const keep: Client[] = [];
    for (let i = 0; i < 6; i++) keep.push(await t.connect());
    const sock = net.connect(t.port, "127.0.0.1");
    const data = await new Promise<string>((res) => {
      let s = "";
      sock.on("data", (d) => {
        s += d.toString();
      });
      sock.on("close", () => res(s));
    });
    assert.match(data, /^\* BYE \[UNAVAILABLE\]/);
    for (const k of keep) k.destroy();
  });
});

describe("IMAP autologout", () => {
  it("authenticated idle timeout sends BYE Autologout, also during IDLE", async () => {
    const t = await startServer({ limits: { idleTimeoutMs: 200 } });
    try {
      const c = await t.login();
      await c.cmd("SELECT INBOX");
      c.write("I IDLE\r\n");
      assert.match(await c.readLine(), /^\+ /);
      assert.match(await c.readLine(2000), /^\* BYE Autologout/);
      assert.ok(await c.waitClosed());
    } finally {
      await t.close();
    }
  });

  it("pipelined commands are answered in order", async () => {
    const t = await startServer();
    try {
      const c = await t.connect();
      c.write(`P1 LOGIN ${USER} ${PASS}\r\nP2 SELECT INBOX\r\nP3 NOOP\r\nP4 LOGOUT\r\n`);
      const lines = await c.readUntil(/^P4 /);
      const tagged = lines.filter((l) => /^P\d /.test(l)).map((l) => l.slice(0, 5));
      assert.deepEqual(tagged, ["P1 OK", "P2 OK", "P3 OK", "P4 OK"]);
    } finally {
      await t.close();
    }
  });

  it("unauthenticated timeout sends BYE Autologout", async () => {
    const t = await startServer({ limits: { unauthTimeoutMs: 150 } });
    try {
      const c = await t.connect();
      const l = await c.readLine(2000);
      assert.match(l, /^\* BYE Autologout/);
      assert.ok(await c.waitClosed());
    } finally {
      await t.close();
    }
  });
});
