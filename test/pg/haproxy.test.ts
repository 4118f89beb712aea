// HAProxy (Debian `haproxy`) as a TCP balancer with PROXY protocol v2 (`send-proxy-v2`) in front of
// two `serve` nodes on one PostgreSQL database, whose IMAP and SMTP listeners require the header
// (proxy_protocol = true, proxy_trusted = 127.0.0.1/32): IMAP through HAProxy reaches both nodes
// (their "imap login" log lines), SMTP through it delivers, and a connection straight to a node
// without the header is closed without a greeting. docs/cluster.md runs the same set-up by hand.
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ImapClient } from "../kit/imap-client.ts";
import { freeLoopbackPort } from "../kit/listen.ts";
import { type PgNode, pgNodeCli, startPgNode } from "../kit/pg-nodes.ts";
import { type PgCluster, postgresAvailable, startPostgres } from "../kit/postgres.ts";
import { SmtpClient } from "../kit/smtp-client.ts";
import { tempDir } from "../kit/temp.ts";

/** Debian puts it in /usr/sbin, which is not on every user's PATH */
const HAPROXY = existsSync("/usr/sbin/haproxy") ? "/usr/sbin/haproxy" : "haproxy";

function haproxyAvailable(): boolean {
  try {
    execFileSync(HAPROXY, ["-v"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const skip =
  (!postgresAvailable() && "PostgreSQL binaries missing") ||
  (!haproxyAvailable() && "haproxy missing (scripts/test-deps.sh installs it)");
const PASS = "haproxy pw";

/** the nodes' listeners take connections from the balancer on loopback only, with a PROXY v2 header */
const PROXY_ENV = Object.fromEntries(
  ["IMAP", "SMTP"].flatMap((p) => [
    [`POSTKONTOR__${p}__PROXY_PROTOCOL`, "true"],
    [`POSTKONTOR__${p}__PROXY_TRUSTED`, "127.0.0.1/32"],
    [`POSTKONTOR__${p}__PROXY_TIMEOUT`, '"1s"'],
  ]),
);

/** the balancer's config: one TCP frontend per protocol, round robin over the nodes */
function haproxyConfig(front: { imap: number; smtp: number }, nodes: PgNode[]): string {
  const backend = (name: string, port: (n: PgNode) => number) =>
    [
      `backend ${name}`,
      "  balance roundrobin",
      ...nodes.map((n, i) => `  server node${i} 127.0.0.1:${port(n)} send-proxy-v2`),
    ].join("\n");
  return `global
  maxconn 100

defaults
  mode tcp
  timeout connect 5s
  timeout client 1m
  timeout server 1m

frontend imap
  bind 127.0.0.1:${front.imap}
  default_backend imap_nodes

frontend smtp
  bind 127.0.0.1:${front.smtp}
  default_backend smtp_nodes

${backend("imap_nodes", (n) => n.imap)}

${backend("smtp_nodes", (n) => n.smtp)}
`;
}

/** resolves once a connection to port gets a first line (HAProxy and a node behind it are up) */
async function greeted(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      const c = await ImapClient.connect(port);
      c.destroy();
      return;
    } catch {
      await new Promise((res) => setTimeout(res, 100));
    }
  }
  throw new Error(`nothing answers on ${port}`);
}

describe("HAProxy with PROXY v2 in front of two nodes on one PostgreSQL", { skip }, () => {
  let cluster: PgCluster;
  const nodes: PgNode[] = [];
  let haproxy: ChildProcess | null = null;
  let haproxyErr = "";
  const tmp = tempDir("pk-haproxy-");
  const front = { imap: 0, smtp: 0 };

  before(async () => {
    cluster = await startPostgres();
    const url = await cluster.createDatabase();
    nodes.push(await startPgNode(url, "a", { env: PROXY_ENV }));
    nodes.push(await startPgNode(url, "b", { env: PROXY_ENV }));
    await pgNodeCli(nodes[0]!, ["domain", "add", "example.com"]);
    await pgNodeCli(nodes[0]!, ["user", "add", "erin@example.com"], `${PASS}\n`);
    front.imap = await freeLoopbackPort();
    front.smtp = await freeLoopbackPort();
    const cfg = join(tmp.dir, "haproxy.cfg");
    writeFileSync(cfg, haproxyConfig(front, nodes));
    // -db: foreground, no daemon; killed by its pid in after()
    haproxy = spawn(HAPROXY, ["-db", "-f", cfg], { stdio: ["ignore", "pipe", "pipe"] });
    haproxy.stderr!.on("data", (d) => {
      haproxyErr += d.toString();
    });
    haproxy.stdout!.resume();
    await greeted(front.imap).catch((e) => {
      throw new Error(`${e}; haproxy: ${haproxyErr}`);
    });
  });
  after(async () => {
    if (haproxy && haproxy.exitCode === null && haproxy.signalCode === null) {
      const gone = new Promise((res) => haproxy!.once("exit", res));
      process.kill(haproxy.pid!, "SIGTERM");
      await gone;
    }
    for (const n of nodes) await n.close();
    await cluster?.stop();
    tmp.cleanup();
  });

  test("a connection straight to a node without the PROXY header is closed without a greeting", async () => {
    for (const port of [nodes[0]!.imap, nodes[1]!.smtp]) {
      const s = net.connect(port, "127.0.0.1");
      let bytes = 0;
      s.on("data", (d: Buffer) => {
        bytes += d.length;
      });
      s.on("error", () => {});
      await new Promise((res) => s.once("close", res));
      assert.equal(bytes, 0, `port ${port} sent a greeting without a PROXY header`);
    }
  });

  test("IMAP through HAProxy reaches both nodes", async () => {
    const before = nodes.map(countLogins);
    for (let i = 0; i < 4; i++) {
      const c = await ImapClient.connect(front.imap);
      try {
        assert.match(c.greeting, /^\* OK/);
        const r = await c.cmd(`LOGIN erin@example.com "${PASS}"`);
        assert.ok(r.ok, r.text);
        await c.cmd("LOGOUT");
      } finally {
        c.destroy();
      }
    }
    // round robin: each node logged a login of its own (the log line follows the OK)
    for (let i = 0; i < 100 && nodes.some((n, j) => countLogins(n) <= before[j]!); i++)
      await new Promise((res) => setTimeout(res, 50));
    assert.deepEqual(
      nodes.map((n, j) => countLogins(n) > before[j]!),
      [true, true],
      `logins per node: ${nodes.map(countLogins)}`,
    );
    // the address each node saw is the one in HAProxy's header (the client's: loopback here)
    for (const n of nodes) {
      const last = n.server.logs.filter((l) => l.msg === "imap login").at(-1)!;
      assert.equal(last.remoteAddress, "127.0.0.1");
    }
  });

  test("SMTP through HAProxy delivers; IMAP through HAProxy finds the message", async () => {
    const c = await SmtpClient.connect(front.smtp);
    try {
      assert.match(await c.cmd("EHLO client.test"), /^250/);
      assert.match(await c.cmd("MAIL FROM:<sender@remote.test>"), /^250/);
      assert.match(await c.cmd("RCPT TO:<erin@example.com>"), /^250/);
      assert.match(await c.cmd("DATA"), /^354/);
      assert.match(
        await c.cmd(
          "From: sender@remote.test\r\nTo: erin@example.com\r\nSubject: via haproxy\r\n\r\nhi\r\n.",
        ),
        /^250/,
      );
      await c.cmd("QUIT");
    } finally {
      c.close();
    }
    const imap = await ImapClient.connect(front.imap);
    try {
      assert.ok((await imap.cmd(`LOGIN erin@example.com "${PASS}"`)).ok);
      assert.ok((await imap.cmd("SELECT INBOX")).ok);
      const s = await imap.cmd('UID SEARCH SUBJECT "via haproxy"');
      assert.match(s.text, /^\* SEARCH \d+$/m);
    } finally {
      imap.destroy();
    }
  });
});

function countLogins(n: PgNode): number {
  return n.server.logs.filter((l) => l.msg === "imap login").length;
}
