import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { crlfSize } from "./crlf.ts";
import { fixture, gcIdle } from "./testing/helpers.ts";
import type { MessageMeta } from "./types.ts";

/** reference: build the CRLF form byte by byte and measure it */
function reference(bytes: Uint8Array): number {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c === 10 && (i === 0 || bytes[i - 1] !== 13)) out.push(13);
    out.push(c);
  }
  if (out.length > 0 && out[out.length - 1] !== 10) out.push(13, 10);
  return out.length;
}

test("crlfSize: examples", () => {
  const b = (s: string) => Buffer.from(s, "latin1");
  assert.equal(crlfSize(b("")), 0);
  assert.equal(crlfSize(b("a\r\nb\r\n")), 6);
  assert.equal(crlfSize(b("a\nb\n")), 6, "bare LF → CRLF");
  assert.equal(crlfSize(b("a\r\nb")), 6, "a final line end is added");
  assert.equal(crlfSize(b("a\rb\n")), 5, "bare CR kept");
  assert.equal(crlfSize(b("\n")), 2);
  assert.equal(crlfSize(b("x\n"), b("Received: y\n")), 12 + 1 + 2 + 1);
  // a CR at the end of the prefix pairs with an LF at the start of the blob
  assert.equal(crlfSize(b("\nbody\n"), b("H: v\r")), 5 + 1 + 6);
  assert.equal(crlfSize(b("body\n"), b("")), 6, "empty prefix is no prefix");
});

test("crlfSize equals the length of the CRLF form of prefix ‖ raw (property)", () => {
  const bytes = fc.uint8Array({ maxLength: 200 }).map((a) => {
    // bias towards CR, LF and dots
    for (let i = 0; i < a.length; i++) if (a[i]! % 3 === 0) a[i] = [10, 13, 46][a[i]! % 9 === 0 ? 0 : 1]!;
    return a;
  });
  fc.assert(
    fc.property(bytes, fc.option(bytes, { nil: null }), (raw, prefix) => {
      const whole = prefix ? Buffer.concat([prefix, raw]) : Buffer.from(raw);
      assert.equal(crlfSize(raw, prefix), reference(whole));
    }),
    { numRuns: 500 },
  );
});

test("append records lineEndingFixups (delivery prefix included); COPY keeps it", async () => {
  const f = await fixture();
  try {
    const prefix = Buffer.from("Received: from mx by us\r\nDelivered-To: bob@example.com\r\n");
    const bareLf = Buffer.from("From: a@example.org\nSubject: lf\n\nline 1\nline 2\n");
    const crlf = Buffer.from("From: a@example.org\r\nSubject: crlf\r\n\r\nline 1\r\nno final newline");
    const a = await f.store.append(f.accountId, f.inbox, { raw: bareLf, deliveryHeaders: prefix });
    const b = await f.store.append(f.accountId, f.inbox, { raw: crlf, deliveryHeaders: prefix });
    const c = await f.store.append(f.accountId, f.inbox, { raw: bareLf });
    const metas = await f.store.getMessages(f.inbox, [a.uid, b.uid, c.uid]);
    const crlfForm = (m: MessageMeta): number => m.size + m.lineEndingFixups!;
    assert.deepEqual(metas.map(crlfForm), [
      reference(Buffer.concat([prefix, bareLf])),
      reference(Buffer.concat([prefix, crlf])),
      reference(bareLf),
    ]);
    assert.equal(crlfForm(metas[0]!), prefix.length + bareLf.length + 5, "5 bare LFs grew");
    assert.equal(crlfForm(metas[1]!), prefix.length + crlf.length + 2, "final CRLF added");
    // the stored size is still the byte-exact size
    assert.equal(metas[0]!.size, prefix.length + bareLf.length);
    const archive = (await f.store.getMailbox(f.accountId, "Archive"))!;
    await f.store.copy(f.inbox, [a.uid], archive.id);
    const [copied] = await f.store.getMessages(archive.id, [1]);
    assert.equal(copied!.lineEndingFixups, metas[0]!.lineEndingFixups);
    assert.equal(metas[0]!.lineEndingFixups, 5, "one per bare LF");
    assert.equal(metas[1]!.lineEndingFixups, 2, "a missing final line end");
    await gcIdle(f.store);
  } finally {
    await f.close();
  }
});
