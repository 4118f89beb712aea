/**
 * An import killed midway (SIGKILL by pid) and run again stores every message exactly once (the
 * ledger row is written in the append's transaction); an import into an account with a small quota
 * stops cleanly at it with a message and exit 75, keeping what fit.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { mboxrdEntry } from "../../src/import/mbox.ts";
import { type E2E, message, PASS_B, startE2E, USER_A, USER_B } from "../e2e/helpers.ts";
import { connect, spawnCli } from "./import-helpers.ts";

const N = 1000;

function writeMbox(file: string, n: number, tag: string, pad = 0): void {
  const fd = fs.openSync(file, "w");
  try {
    for (let i = 0; i < n; i++) {
      const raw = message(`${tag} ${i}`, `${"x".repeat(pad)}\r\nbody ${i}\r\n`);
      fs.writeSync(fd, mboxrdEntry(raw, i % 2 ? ["\\Seen"] : [], new Date(1_600_000_000_000 + i * 1000)));
    }
  } finally {
    fs.closeSync(fd);
  }
}

async function subjects(port: number, user: string, pass: string, box: string): Promise<string[]> {
  const c = await connect("127.0.0.1", port, user, pass);
  try {
    const lock = await c.getMailboxLock(box, { readOnly: true });
    try {
      const out: string[] = [];
      if ((c.mailbox as { exists: number }).exists === 0) return out;
      for await (const m of c.fetch("1:*", { envelope: true })) out.push(m.envelope!.subject!);
      return out;
    } finally {
      lock.release();
    }
  } finally {
    await c.logout();
  }
}

describe("import: interrupted and resumed, quota", () => {
  let e: E2E;
  before(async () => {
    e = await startE2E({ workers: 1 });
  });
  after(async () => {
    await e?.close();
  });

  it("killed midway by pid, run again: all messages present, none twice", async () => {
    const file = path.join(e.server.dir, "big.mbox");
    writeMbox(file, N, "resume");
    const first = spawnCli(e, ["import", "--batch", "5", USER_B, file]);
    // kill as soon as some messages are stored
    const c = await connect("127.0.0.1", e.server.imapPort, USER_B, PASS_B);
    try {
      // polled without a time bound of its own: the first import ends (and the test fails) if it is too fast
      let exited = false;
      void first.done.then(() => {
        exited = true;
      });
      for (;;) {
        const st = await c.status("big", { messages: true }).catch(() => false as const);
        if ((st ? (st.messages ?? 0) : 0) > 0 || exited) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await c.logout();
    }
    first.child.kill("SIGKILL");
    const r1 = await first.done;
    assert.equal(r1.signal, "SIGKILL", `the first import was still running when killed: ${r1.out}`);
    const partial = await subjects(e.server.imapPort, USER_B, PASS_B, "big");
    assert.ok(partial.length > 0 && partial.length < N, `partial import: ${partial.length}`);

    const second = await e.cli(["import", USER_B, file]);
    assert.equal(second.code, 0, `${second.stdout}${second.stderr}`);
    const out = second.stdout.toString();
    assert.match(
      out,
      new RegExp(`imported: ${N - partial.length}\\nskipped as duplicate: ${partial.length}\\n`),
    );
    const all = await subjects(e.server.imapPort, USER_B, PASS_B, "big");
    assert.equal(all.length, N);
    assert.equal(new Set(all).size, N, "no message twice");
  });

  it("stops at the quota with a clear message and exit 75; a re-run adds nothing", async () => {
    const q = await e.cli(["user", "set", USER_A, "--quota", "40K"]);
    assert.equal(q.code, 0, q.stderr);
    const file = path.join(e.server.dir, "quota.mbox");
    writeMbox(file, 40, "quota", 2000);
    const r = await e.cli(["import", USER_A, file]);
    assert.equal(r.code, 75, `${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /import stopped at the quota/);
    const n = Number(/imported: (\d+)/.exec(r.stdout.toString())?.[1]);
    assert.ok(n > 0 && n < 40, `some fit: ${n}`);
    const show = await e.cli(["user", "show", USER_A]);
    assert.match(show.stdout.toString(), new RegExp(`messages: +${n} of unlimited`));
    const again = await e.cli(["import", USER_A, file]);
    assert.equal(again.code, 75);
    assert.match(again.stdout.toString(), new RegExp(`imported: 0\\nskipped as duplicate: ${n}\\n`));
  });
});
