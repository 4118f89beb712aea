import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { openStore } from "./index.ts";
import { fixture, msg } from "./testing/helpers.ts";

test("claimNewMessages raises, never lowers, and hands each uid range out once", async () => {
  const f = await fixture();
  try {
    for (let i = 0; i < 3; i++) await f.store.append(f.accountId, f.inbox, { raw: msg({ body: `r${i}` }) });
    assert.equal(await f.store.countUnclaimed(f.inbox), 3);
    assert.equal(await f.store.claimNewMessages(f.inbox, 0), 1, "0 only reads");
    assert.equal(await f.store.claimNewMessages(f.inbox, 3), 1);
    assert.equal(await f.store.countUnclaimed(f.inbox), 1); // uid 3 not claimed yet
    assert.equal(await f.store.claimNewMessages(f.inbox, 2), 3, "never lowered");
    assert.equal(await f.store.claimNewMessages(f.inbox, 4), 3);
    assert.equal(await f.store.countUnclaimed(f.inbox), 0);
    // concurrent claims in one process: exactly one gets [4, 5)
    await f.store.append(f.accountId, f.inbox, { raw: msg({ body: "r4" }) });
    const got = await Promise.all([1, 2, 3, 4].map(() => f.store.claimNewMessages(f.inbox, 5)));
    assert.deepEqual(
      got.filter((p) => p < 5),
      [4],
    );
    await assert.rejects(f.store.claimNewMessages(999_999, 5), /no such mailbox/);
  } finally {
    await f.close();
  }
});

test("claims from several processes never overlap", async () => {
  const f = await fixture();
  try {
    const script = join(f.dir, "claimer.ts");
    writeFileSync(
      script,
      `import { openStore } from ${JSON.stringify(new URL("./index.ts", import.meta.url).href)};
const [dataDir, mailboxId] = process.argv.slice(2);
const store = await openStore({ dataDir, feedSocketPath: null });
const out = [];
for (let upto = 2; upto <= 60; upto++) {
  const prev = await store.claimNewMessages(Number(mailboxId), upto);
  if (prev < upto) out.push([prev, upto]);
}
process.stdout.write(JSON.stringify(out));
await store.close();
`,
    );
    const runs = [0, 1, 2].map(() => {
      const child = spawn(process.execPath, [script, f.dir, String(f.inbox)], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
      });
      child.stderr.on("data", (d: Buffer) => {
        err += d.toString();
      });
      return new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
        child.on("close", (code) => resolve({ code, out, err })),
      );
    });
    const ranges: Array<[number, number]> = [];
    for (const r of await Promise.all(runs)) {
      assert.equal(r.code, 0, r.err);
      ranges.push(...(JSON.parse(r.out) as Array<[number, number]>));
    }
    // the claimed ranges tile [1, 60) exactly: no uid twice, none missing
    ranges.sort((a, b) => a[0] - b[0]);
    let next = 1;
    for (const [a, b] of ranges) {
      assert.equal(a, next, JSON.stringify(ranges));
      next = b;
    }
    assert.equal(next, 60);
  } finally {
    await f.close();
  }
});

test("listMessageStates returns parallel arrays in uid order with the serialised flags", async () => {
  const f = await fixture();
  try {
    await f.store.append(f.accountId, f.inbox, { raw: msg({ body: "a" }), flags: ["\\seen", "Work"] });
    await f.store.append(f.accountId, f.inbox, { raw: msg({ body: "b" }) });
    await f.store.append(f.accountId, f.inbox, { raw: msg({ body: "c" }), flags: ["\\Flagged"] });
    await f.store.expunge(f.inbox, [2]);
    const rows = await f.store.listMessageStates(f.inbox);
    const full = await f.store.listMessages(f.inbox);
    assert.deepEqual([...rows.uids], [1, 3]);
    assert.deepEqual(rows.flags, ["\\Seen Work", "\\Flagged"]);
    assert.deepEqual(
      rows.flags.map((t) => (t === "" ? [] : t.split(" "))),
      full.map((r) => r.flags),
    );
    assert.deepEqual(
      [...rows.modseqs],
      full.map((r) => r.modseq),
    );
    const empty = await openStore({ dataDir: f.dir, feedSocketPath: null });
    try {
      const sent = (await empty.getMailbox(f.accountId, "Sent"))!;
      const none = await empty.listMessageStates(sent.id);
      assert.equal(none.uids.length, 0);
    } finally {
      await empty.close();
    }
  } finally {
    await f.close();
  }
});
