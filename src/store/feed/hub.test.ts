import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { openStore } from "../index.ts";
import { msg, tempDir } from "../testing/helpers.ts";
import { beacon, feedContract, until } from "./contract.ts";
import { Feed, startFeedHub } from "./hub.ts";
import type { Beacon } from "./port.ts";

const b = beacon;

feedContract("in-process", async (opts) => {
  const feed = new Feed(null, opts);
  await feed.ready();
  return feed;
});

describe("hub", () => {
  test("relays between clients without echo; absent hub never fails publish; reconnects after restart", async () => {
    const t = tempDir();
    const sock = join(t.dir, "run", "feed.sock");
    try {
      // hub absent: publish works locally
      const lonely = new Feed(sock);
      await lonely.ready();
      assert.equal(lonely.connected, false);
      const localGot: Beacon[] = [];
      lonely.subscribe(7, (x) => localGot.push(x));
      lonely.publish(b(7, 1, 1));
      assert.equal(localGot.length, 1);

      let hub = await startFeedHub(sock);
      const a = new Feed(sock);
      const c = new Feed(sock);
      await Promise.all([a.ready(), c.ready()]);
      assert.ok(a.connected && c.connected);
      const gotA: Beacon[] = [];
      const gotC: Beacon[] = [];
      a.subscribe(7, (x) => gotA.push(x));
      c.subscribe(7, (x) => gotC.push(x));
      // the feed that started before the hub connects through its backoff loop
      await until(() => lonely.connected);
      a.publish(b(7, 3, 42));
      await until(() => gotC.length === 1);
      await until(() => localGot.length === 2);
      await new Promise((r) => setTimeout(r, 30));
      assert.deepEqual(gotA, [b(7, 3, 42)], "sender sees its beacon once (locally)");
      assert.deepEqual(gotC, [b(7, 3, 42)]);

      // a second hub on the same live socket is refused
      await assert.rejects(startFeedHub(sock), /already running/);

      // hub restart: clients reconnect
      await hub.close();
      await until(() => !a.connected && !c.connected);
      c.publish(b(7, 3, 43)); // hub absent: local only, no throw
      hub = await startFeedHub(sock);
      await until(() => a.connected && c.connected, 5000);
      c.publish(b(7, 3, 44));
      await until(() => gotA.some((x) => x.modseq === "44"));
      assert.ok(!gotA.some((x) => x.modseq === "43"));
      await Promise.all([a.close(), c.close(), lonely.close()]);
      await hub.close();
    } finally {
      t.cleanup();
    }
  });

  test("ignores malformed lines", async () => {
    const t = tempDir();
    const sock = join(t.dir, "feed.sock");
    const hub = await startFeedHub(sock);
    try {
      const a = new Feed(sock);
      const c = new Feed(sock);
      await Promise.all([a.ready(), c.ready()]);
      const got: Beacon[] = [];
      c.subscribe(1, (x) => got.push(x));
      const { createConnection } = await import("node:net");
      const raw = createConnection(sock);
      await new Promise((r) => raw.once("connect", r));
      raw.write('garbage\n{"accountId":"1"}\n{"accountId":1,"mailboxId":2,"modseq":"x"}\n');
      raw.write(`${"z".repeat(10_000)}\n`);
      a.publish(b(1, 2, 3));
      await until(() => got.length === 1);
      await new Promise((r) => setTimeout(r, 30));
      assert.deepEqual(got, [b(1, 2, 3)]);
      raw.destroy();
      await Promise.all([a.close(), c.close()]);
    } finally {
      await hub.close();
      t.cleanup();
    }
  });
});

describe("stores sharing a data dir", () => {
  test("two stores in one process see each other's data and beacons through the hub", async () => {
    const t = tempDir();
    const hub = await startFeedHub(join(t.dir, "run", "feed.sock"));
    const s1 = await openStore({ dataDir: t.dir });
    const s2 = await openStore({ dataDir: t.dir });
    try {
      await s1.addDomain("example.com");
      const acct = await s1.createAccount("u@example.com", "h");
      const inbox2 = (await s2.getMailbox(acct.id, "INBOX"))!;
      const got1: Beacon[] = [];
      const got2: Beacon[] = [];
      // account-level beacons of createAccount may still be in flight to s2: watch the mailbox only
      s1.feed.subscribe(acct.id, (x) => x.mailboxId !== null && got1.push(x));
      s2.feed.subscribe(acct.id, (x) => x.mailboxId !== null && got2.push(x));
      const r = await s1.append(acct.id, inbox2.id, { raw: msg({ subject: "shared" }) });
      await until(() => got2.length === 1);
      await new Promise((res) => setTimeout(res, 30));
      const expected = { accountId: acct.id, mailboxId: inbox2.id, modseq: r.modseq.toString() };
      assert.deepEqual(got1, [expected], "local subscriber: exactly once");
      assert.deepEqual(got2, [expected], "remote subscriber: exactly once");
      const ch = await s2.changesSince(inbox2.id, r.modseq - 1n);
      assert.deepEqual(
        ch.changed.map((c) => c.uid),
        [r.uid],
      );
      // and the other way round
      await s2.storeFlags(inbox2.id, [r.uid], "add", ["\\Seen"]);
      await until(() => got1.length === 2);
      assert.deepEqual((await s1.listMessages(inbox2.id))[0]!.flags, ["\\Seen"]);
    } finally {
      await s1.close();
      await s2.close();
      await hub.close();
      t.cleanup();
    }
  });

  test("a child process appends and the parent's subscriber receives the beacon", async () => {
    const t = tempDir();
    const hub = await startFeedHub(join(t.dir, "run", "feed.sock"));
    const store = await openStore({ dataDir: t.dir });
    try {
      await store.addDomain("example.com");
      const acct = await store.createAccount("u@example.com", "h");
      const inbox = (await store.getMailbox(acct.id, "INBOX"))!;
      const got: Beacon[] = [];
      store.feed.subscribe(acct.id, (x) => got.push(x));
      const script = join(t.dir, "child.ts");
      const indexUrl = new URL("../index.ts", import.meta.url).href;
      writeFileSync(
        script,
        `import { openStore } from ${JSON.stringify(indexUrl)};
const [dataDir, accountId, mailboxId] = process.argv.slice(2);
const store = await openStore({ dataDir });
const r = await store.append(Number(accountId), Number(mailboxId), {
  raw: Buffer.from("Subject: from child\\r\\n\\r\\nhello\\r\\n"),
});
process.stdout.write(JSON.stringify({ uid: r.uid, modseq: r.modseq.toString() }));
await store.close();
`,
      );
      const child = spawn(process.execPath, [script, t.dir, String(acct.id), String(inbox.id)], {
        stdio: ["ignore", "pipe", "pipe"],
        cwd: fileURLToPath(new URL("../../..", import.meta.url)),
      });
      let out = "";
      let err = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
      });
      child.stderr.on("data", (d: Buffer) => {
        err += d.toString();
      });
      const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
      assert.equal(code, 0, err);
      const res = JSON.parse(out) as { uid: number; modseq: string };
      await until(() => got.length >= 1);
      assert.deepEqual(got, [{ accountId: acct.id, mailboxId: inbox.id, modseq: res.modseq }]);
      const rows = await store.listMessages(inbox.id);
      assert.deepEqual(
        rows.map((r) => r.uid),
        [res.uid],
      );
    } finally {
      await store.close();
      await hub.close();
      t.cleanup();
    }
  });
});
