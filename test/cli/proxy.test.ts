/**
 * PROXY protocol v2 in front of the IMAP, POP3 and SMTP listeners, with a real `serve`: the
 * address in the header is what connection limits, the loopback exception and the logs see; a
 * missing or malformed header, or an untrusted balancer, gets the connection closed without a
 * greeting; with proxy_protocol off a header is just bytes of the protocol.
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { connect as tlsConnect } from "node:tls";
import { proxyV2 } from "../kit/proxy.ts";
import { LineClient, listeningPort, run, type Server, startServe, tempEnv } from "./helpers.ts";

const v2 = proxyV2;

/** connects from `from`, writes `first` at once (header, maybe followed by protocol bytes) */
function open(port: number, first: Buffer | string, from = "127.0.0.1"): Promise<LineClient> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: "127.0.0.1", localAddress: from }, () => {
      if (first.length) s.write(first);
      resolve(new LineClient(s));
    });
    s.on("error", reject);
  });
}

/** closed without a single byte from the server */
function closedSilently(c: LineClient, timeoutMs = 5000): Promise<{ closed: boolean; bytes: number }> {
  let bytes = 0;
  c.socket.on("data", (d: Buffer) => {
    bytes += d.length;
  });
  return c.closedWithin(timeoutMs).then((closed) => ({ closed, bytes }));
}

function startTls(c: LineClient): LineClient {
  return new LineClient(
    tlsConnect({ socket: c.socket as Socket, rejectUnauthorized: false }) as unknown as Socket,
  );
}

const logged = (server: Server, msg: string, addr: string) =>
  server.waitForLog((l) => l.msg === msg && l.remoteAddress === addr, 10_000);

describe("PROXY protocol v2 enabled (trusted: 127.0.0.1 only)", () => {
  let server: Server;
  let imap: number;
  let imaps: number;
  let pop3: number;
  let smtp: number;
  before(async () => {
    const proxy = `proxy_protocol = true\nproxy_trusted = ["127.0.0.1/32"]\nproxy_timeout = "1s"\n`;
    const env = tempEnv(
      `[server]\nworkers = 1\n[log]\nlevel = "info"\n` +
        `[imap]\nlisten = ["127.0.0.1:0"]\nlisten_tls = ["127.0.0.1:0"]\n${proxy}[imap.limits]\nmax_connections_per_ip = 1\n` +
        `[pop3]\nlisten = ["127.0.0.1:0"]\nlisten_tls = []\n${proxy}` +
        `[smtp]\nlisten = ["127.0.0.1:0"]\nsubmission = []\nsubmissions = []\nsender_authentication = false\n` +
        `reverse_lookup = false\n${proxy}[outbound]\nenabled = false\n`,
    );
    const c = ["--config", env.config];
    assert.equal((await run(["domain", "add", "example.com", ...c])).code, 0);
    assert.equal((await run(["user", "add", "alice@example.com", ...c], { input: "pw1\n" })).code, 0);
    server = startServe(c, {
      POSTKONTOR__POP3__LISTEN: "127.0.0.1:0",
      POSTKONTOR__POP3__LISTEN_TLS: "",
      POSTKONTOR__SMTP__LISTEN: "127.0.0.1:0",
      POSTKONTOR__SMTP__SUBMISSION: "",
      POSTKONTOR__SMTP__SUBMISSIONS: "",
    });
    imap = await listeningPort(server, "imap");
    imaps = await listeningPort(server, "imaps");
    pop3 = await listeningPort(server, "pop3");
    smtp = await listeningPort(server, "smtp");
    await server.waitForLog((l) => l.msg === "postkontor started");
  });
  after(async () => {
    assert.equal(await server.stop(), 0, server.stderr());
  });

  it("IMAP: a client at 203.0.113.7 behind a local balancer is not loopback; logged with its address", async () => {
    const c = await open(imap, v2("203.0.113.7"));
    try {
      assert.match(await c.waitFor(/^\* OK/), /LOGINDISABLED/);
      c.send("a LOGIN alice@example.com pw1");
      assert.match(await c.waitFor(/^a /), /^a NO \[PRIVACYREQUIRED\]/);
      c.send("b STARTTLS");
      await c.waitFor(/^b OK/);
      const t = startTls(c);
      t.send("c LOGIN alice@example.com pw1");
      assert.match(await t.waitFor(/^c /), /^c OK/);
      await logged(server, "imap login", "203.0.113.7");
      t.close();
    } finally {
      c.close();
    }
  });

  it("implicit TLS (imaps): the header precedes the handshake; the session sees the client", async () => {
    const c = await open(imaps, v2("203.0.113.30"));
    const t = startTls(c);
    try {
      await t.waitFor(/^\* OK/);
      t.send("a LOGIN alice@example.com pw1");
      assert.match(await t.waitFor(/^a /), /^a OK/);
      await logged(server, "imap login", "203.0.113.30");
    } finally {
      t.close();
      c.close();
    }
  });

  it("IMAP: LOCAL keeps the balancer's own (loopback) address, where plaintext LOGIN is allowed", async () => {
    const c = await open(imap, v2(null));
    try {
      await c.waitFor(/^\* OK/);
      c.send("a LOGIN alice@example.com pw1");
      assert.match(await c.waitFor(/^a /), /^a OK/);
      await logged(server, "imap login", "127.0.0.1");
    } finally {
      c.close();
    }
  });

  it("IMAP: the per-IP limit counts the client address, not the balancer's", async () => {
    const a = await open(imap, v2("198.51.100.1"));
    const b = await open(imap, v2("198.51.100.2"));
    try {
      await a.waitFor(/^\* OK/);
      await b.waitFor(/^\* OK/); // another client behind the same balancer
      const again = await open(imap, v2("198.51.100.1"));
      assert.match(await again.waitFor(/^\* /), /^\* BYE \[UNAVAILABLE\]/);
      again.close();
      await logged(server, "imap connection refused: per-IP limit", "198.51.100.1");
    } finally {
      a.close();
      b.close();
    }
  });

  it("IMAP: bytes sent right after the header reach the session", async () => {
    const c = await open(imap, Buffer.concat([v2("203.0.113.20"), Buffer.from("a CAPABILITY\r\n")]));
    try {
      await c.waitFor(/^\* OK/);
      assert.match(await c.waitFor(/^a /), /^a OK/);
    } finally {
      c.close();
    }
  });

  it("POP3 sees the client address (STLS, login log)", async () => {
    const c = await open(pop3, v2("203.0.113.8"));
    try {
      await c.waitFor(/^\+OK/);
      c.send("USER alice@example.com");
      assert.match(await c.waitFor(/^[-+]/), /^-ERR/); // not loopback: no plaintext USER
      c.send("STLS");
      await c.waitFor(/^\+OK/);
      const t = startTls(c);
      t.send("USER alice@example.com");
      await t.waitFor(/^\+OK/);
      t.send("PASS pw1");
      assert.match(await t.waitFor(/^[-+]/), /^\+OK/);
      await logged(server, "pop3 login", "203.0.113.8");
      t.close();
    } finally {
      c.close();
    }
  });

  it("SMTP sees the client address (rejection log)", async () => {
    const c = await open(smtp, v2("203.0.113.9"));
    try {
      await c.waitFor(/^220 /);
      c.send("EHLO client.example");
      await c.waitFor(/^250 /);
      c.send("MAIL FROM:<x@sender.example>");
      await c.waitFor(/^250 /);
      c.send("RCPT TO:<nobody@example.com>");
      assert.match(await c.waitFor(/^\d{3} /), /^550 /);
      const l = await logged(server, "smtp rejected", "203.0.113.9");
      assert.equal(l.command, "RCPT");
    } finally {
      c.close();
    }
  });

  for (const [name, first] of [
    ["garbage instead of a header", "a CAPABILITY\r\n"],
    ["a PROXY v1 text header", "PROXY TCP4 203.0.113.7 127.0.0.1 40000 143\r\n"],
    ["no header at all (timeout)", ""],
    ["a truncated header (timeout)", v2("203.0.113.7").subarray(0, 20)],
  ] as const) {
    it(`${name}: closed without a greeting`, async () => {
      for (const port of [imap, pop3, smtp]) {
        const c = await open(port, first);
        const r = await closedSilently(c);
        assert.deepEqual(r, { closed: true, bytes: 0 }, `port ${port}`);
      }
    });
  }

  it("an untrusted source (127.0.0.2) is refused even with a valid header", async () => {
    for (const port of [imap, pop3, smtp]) {
      const c = await open(port, v2("203.0.113.7"), "127.0.0.2");
      assert.deepEqual(await closedSilently(c), { closed: true, bytes: 0 });
    }
    await server.waitForLog((l) => l.msg === "connection refused" && l.proxyAddress === "127.0.0.2");
  });
});

describe("PROXY protocol off (the default)", () => {
  let server: Server;
  let imap: number;
  before(async () => {
    const env = tempEnv(
      `[server]\nworkers = 1\n[log]\nlevel = "info"\n[imap]\nlisten = ["127.0.0.1:0"]\nlisten_tls = []\n` +
        `[pop3]\nenabled = false\n[smtp]\nenabled = false\n[outbound]\nenabled = false\n`,
    );
    server = startServe(["--config", env.config]);
    imap = await listeningPort(server, "imap");
    await server.waitForLog((l) => l.msg === "postkontor started");
  });
  after(async () => {
    assert.equal(await server.stop(), 0, server.stderr());
  });

  it("a header is not interpreted: the greeting comes at once and the bytes are a bad command", async () => {
    const c = await open(imap, Buffer.concat([v2("203.0.113.7"), Buffer.from("\r\n")]));
    try {
      await c.waitFor(/^\* OK/);
      assert.match(await c.waitFor(/^(\S+ BAD|\* BYE)/), /BAD|BYE/);
      c.send("a CAPABILITY");
      assert.match(await c.waitFor(/^a /), /^a OK/);
      assert.ok(!server.logs.some((l) => l.remoteAddress === "203.0.113.7"));
    } finally {
      c.close();
    }
  });
});
