import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { threadSubject } from "../../mime/index.ts";
import {
  formatThreads,
  orderedSubject,
  referencesThreads,
  type ThreadMessage,
  type ThreadNode,
} from "./threading.ts";

/** message `id` sent `id` minutes after the epoch unless `date` is given */
function m(
  id: number,
  subject: string,
  messageId: string | null,
  references: string[] = [],
  date = id * 60_000,
): ThreadMessage {
  const s = threadSubject(subject);
  return { id, date, subject: s.subject, reply: s.reply, messageId, references };
}

const fmt = (roots: ThreadNode[]): string => formatThreads(roots, (x) => x.id);

describe("RFC 5256 threading (pure)", () => {
  it("threadSubject: base subject and the reply/forward marker (§2.1)", () => {
    assert.deepEqual(threadSubject("Re: [list] Fwd: hello (fwd)"), { subject: "HELLO", reply: true });
    assert.deepEqual(threadSubject("[list] hello"), { subject: "HELLO", reply: false });
    assert.deepEqual(threadSubject("[fwd: hello]"), { subject: "HELLO", reply: true });
    assert.deepEqual(threadSubject("=?utf-8?q?Re=3A_caf=C3=A9?="), { subject: "CAFé", reply: true });
  });

  it("formats RFC 5256 §4's example: (3 6 (4 23)(44 7 96))", () => {
    const n = (id: number, ...children: ThreadNode[]): ThreadNode => ({ msg: m(id, "x", null), children });
    const tree = n(3, n(6, n(4, n(23)), n(44, n(7, n(96)))));
    assert.equal(fmt([tree]), "(3 6 (4 23)(44 7 96))");
    assert.equal(fmt([n(1), n(2, n(3), n(4))]), "(1)(2 (3)(4))");
    assert.equal(fmt([{ msg: null, children: [n(1), n(2)] }]), "((1)(2))");
    assert.equal(fmt([]), "");
  });

  it("ORDEREDSUBJECT: grouped by base subject, sorted by sent date, threads by first date", () => {
    const msgs = [
      m(1, "beta", null, [], 500),
      m(2, "Re: alpha", null, [], 300),
      m(3, "alpha", null, [], 100),
      m(4, "RE: Beta", null, [], 400),
      m(5, "[x] alpha", null, [], 200),
      m(6, "gamma", null, [], 50),
    ];
    assert.equal(fmt(orderedSubject(msgs)), "(6)(3 (5)(2))(4 1)");
  });

  it("REFERENCES: parents from References, children sorted by date", () => {
    const msgs = [
      m(1, "a", "<1@x>"),
      m(2, "Re: a", "<2@x>", ["<1@x>"]),
      m(3, "Re: a", "<3@x>", ["<1@x>", "<2@x>"]),
      m(4, "Re: a", "<4@x>", ["<1@x>"]),
      m(5, "other", "<5@x>"),
    ];
    assert.equal(fmt(referencesThreads(msgs)), "(1 (2 3)(4))(5)");
    // a late-arriving parent: children sort by sent date, not arrival
    const late = [m(1, "Re: b", "<c@x>", ["<p@x>"], 300), m(2, "b", "<p@x>", [], 100)];
    assert.equal(fmt(referencesThreads(late)), "(2 1)");
  });

  it("REFERENCES: dummies for missing parents are pruned or kept at the root (step 4)", () => {
    // one child under a missing parent: promoted to the root
    assert.equal(fmt(referencesThreads([m(1, "x", "<1@x>", ["<gone@x>"])])), "(1)");
    // two children of a missing parent: the dummy stays at the root
    const two = [m(1, "x", "<1@x>", ["<gone@x>"]), m(2, "y", "<2@x>", ["<gone@x>"])];
    assert.equal(fmt(referencesThreads(two)), "((1)(2))");
    // a missing message in the middle of a chain: its children move up to its parent
    const mid = [
      m(1, "x", "<1@x>"),
      m(2, "x", "<3@x>", ["<1@x>", "<2@x>"]),
      m(3, "x", "<4@x>", ["<1@x>", "<2@x>"]),
    ];
    assert.equal(fmt(referencesThreads(mid)), "(1 (2)(3))");
  });

  it("REFERENCES: In-Reply-To style single parent, no/duplicate Message-IDs", () => {
    const msgs = [
      m(1, "x", "<1@x>"),
      m(2, "x", "<1@x>"), // duplicate id: a thread of its own, then merged by subject
      m(3, "q", null, ["<1@x>"]),
      m(4, "z", null),
    ];
    assert.equal(fmt(referencesThreads(msgs)), "((1 3)(2))(4)");
  });

  it("REFERENCES: subject gathering (step 5)", () => {
    // a reply without references joins the thread of the original subject
    assert.equal(fmt(referencesThreads([m(1, "hi", "<1@x>"), m(2, "Re: hi", "<2@x>")])), "(1 2)");
    // two non-replies with one subject: a dummy holds both
    assert.equal(fmt(referencesThreads([m(1, "hi", "<1@x>"), m(2, "hi", "<2@x>")])), "((1)(2))");
    // empty subjects are never gathered
    assert.equal(fmt(referencesThreads([m(1, "", "<1@x>"), m(2, "", "<2@x>")])), "(1)(2)");
  });

  it("REFERENCES: loops in References are not linked", () => {
    const loop = [m(1, "a", "<a@x>", ["<b@x>"]), m(2, "b", "<b@x>", ["<a@x>"])];
    assert.equal(fmt(referencesThreads(loop)), "(2 1)");
    // a message referring to itself, and a chain that comes back to its start
    const self = [m(1, "s", "<s@x>", ["<s@x>"]), m(2, "t", "<t@x>", ["<u@x>", "<v@x>", "<u@x>", "<t@x>"])];
    assert.equal(fmt(referencesThreads(self)), "(1)(2)");
  });

  it("REFERENCES: a 20,000-deep chain is threaded without recursion", () => {
    const n = 20_000;
    const msgs: ThreadMessage[] = [];
    for (let i = 1; i <= n; i++) msgs.push(m(i, "deep", `<${i}@x>`, i > 1 ? [`<${i - 1}@x>`] : []));
    const out = fmt(referencesThreads(msgs));
    assert.equal(out, `(${Array.from({ length: n }, (_, i) => i + 1).join(" ")})`);
    // reversed arrival order gives the same tree
    assert.equal(fmt(referencesThreads(msgs.toReversed())), out);
  });
});
