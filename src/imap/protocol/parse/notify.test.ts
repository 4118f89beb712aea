import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Command } from "../commands.ts";
import { parseCommandText } from "../parser.ts";

function ok(text: string): Extract<Command, { name: "NOTIFY" }> {
  const r = parseCommandText(text);
  if (!r.ok) assert.fail(`${JSON.stringify(text)} → BAD ${r.message}`);
  assert.equal(r.command.name, "NOTIFY");
  return r.command as Extract<Command, { name: "NOTIFY" }>;
}

function bad(text: string): void {
  const r = parseCommandText(text);
  if (r.ok) assert.fail(`${JSON.stringify(text)} parsed: ${JSON.stringify(r.command)}`);
}

describe("parser: NOTIFY (RFC 5465 §8)", () => {
  it("NONE, SET with and without STATUS, the RFC's examples (errata 1804 form)", () => {
    assert.deepEqual(ok("a NOTIFY NONE").set, null);
    const b = ok(
      "b notify set status (selected (MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge)) (subtree Lists (MessageNew))",
    ).set!;
    assert.equal(b.status, true);
    assert.equal(b.groups.length, 2);
    assert.deepEqual(b.groups[0]!.filter, { kind: "SELECTED" });
    assert.deepEqual(
      b.groups[0]!.events.map((e) => [e.name, e.fetch?.map((f) => f.type)]),
      [
        ["MESSAGENEW", ["UID", "BODY[]"]],
        ["MESSAGEEXPUNGE", undefined],
      ],
    );
    assert.deepEqual(b.groups[1]!.filter, { kind: "SUBTREE", names: ["Lists"] });
    const e = ok(
      'e NOTIFY SET (mailboxes (INBOX "a b" {1+}\r\nc) (MessageNew MessageExpunge)) (personal NONE)',
    ).set!;
    assert.equal(e.status, false);
    assert.deepEqual(e.groups[0]!.filter, { kind: "MAILBOXES", names: ["INBOX", "a b", "c"] });
    assert.deepEqual(e.groups[1]!.events, []);
    // unknown events parse (the server answers NO [BADEVENT]); names upper-cased
    assert.deepEqual(ok("f NOTIFY SET (inboxes (SomethingNew))").set!.groups[0]!.events, [
      { name: "SOMETHINGNEW", fetch: null },
    ]);
  });

  it("syntax errors", () => {
    for (const t of [
      "a NOTIFY",
      "a NOTIFY SET",
      "a NOTIFY ALL",
      "a NOTIFY SET ()",
      "a NOTIFY SET (selected)",
      "a NOTIFY SET (selected ())",
      "a NOTIFY SET (subtree (MessageNew))",
      "a NOTIFY SET (mailboxes () (MessageNew MessageExpunge))",
      "a NOTIFY SET (selected (MessageNew ()))",
      "a NOTIFY SET (selected (MessageNew MessageExpunge) extra)",
      "a NOTIFY SET (selected (MessageNew MessageExpunge))x",
      "a NOTIFY NONE extra",
    ]) {
      bad(t);
    }
  });
});
