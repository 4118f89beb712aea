/**
 * Threading shapes that are only a problem at mailbox scale: a dummy with more children than a
 * call takes arguments, and many same-subject root pairs (subject gathering, RFC 5256 §3 step 5).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatThreads, referencesThreads, refsThreads, type ThreadMessage } from "./threading.ts";

function msg(id: number, subject: string, messageId: string | null, references: string[]): ThreadMessage {
  return { id, date: id * 60_000, subject, reply: false, messageId, references };
}

describe("RFC 5256 threading at scale", () => {
  it("200,000 replies under one missing parent (a non-root dummy) are threaded", () => {
    const n = 200_000;
    const msgs: ThreadMessage[] = [];
    for (let i = 1; i <= n; i++) msgs.push(msg(i, "S", `<m${i}@x>`, ["<gone-a@x>", "<gone-b@x>"]));
    for (const roots of [referencesThreads(msgs), refsThreads(msgs)]) {
      // <gone-a> (root dummy) → <gone-b> (pruned, its children promoted) → every message
      assert.equal(roots.length, 1);
      assert.equal(roots[0]!.msg, null);
      assert.equal(roots[0]!.children.length, n);
      const out = formatThreads(roots, (m) => m.id);
      assert.ok(out.startsWith("((1)(2)(3)"));
    }
  });

  it("50,000 same-subject pairs of unrelated roots are gathered under dummies, in order", () => {
    const pairs = 50_000;
    const msgs: ThreadMessage[] = [];
    // pair k: messages k and pairs + k share subject S<k>, neither a reply: a new dummy holds both
    for (let i = 1; i <= 2 * pairs; i++) msgs.push(msg(i, `S${((i - 1) % pairs) + 1}`, `<m${i}@x>`, []));
    const roots = referencesThreads(msgs);
    assert.equal(roots.length, pairs);
    for (let k = 0; k < pairs; k++) {
      const r = roots[k]!;
      assert.equal(r.msg, null);
      assert.deepEqual(
        r.children.map((c) => c.msg!.id),
        [k + 1, pairs + k + 1],
      );
    }
  });
});
