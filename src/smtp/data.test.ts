import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { test } from "node:test";
import fc from "fast-check";
import { collectStream, findBareLineEnding, receivedHeader, rfc5322Date } from "./data.ts";

/** reference: every CR is followed by LF and every LF preceded by CR */
function onlyCrlf(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0x0d && b[i + 1] !== 0x0a) return false;
    if (b[i] === 0x0a && (i === 0 || b[i - 1] !== 0x0d)) return false;
  }
  return true;
}

test("findBareLineEnding: examples", () => {
  const f = (s: string) => findBareLineEnding(Buffer.from(s, "latin1"));
  assert.equal(f("a\r\nb\r\n"), -1);
  assert.equal(f(""), -1);
  assert.equal(f("a\nb"), 1);
  assert.equal(f("a\rb"), 1);
  assert.equal(f("a\r"), 1);
  assert.equal(f("\n"), 0);
  assert.equal(f("ok\r\n\r\r\n"), 4);
  assert.equal(f("body\r\n.\n"), 7);
});

test("findBareLineEnding agrees with the reference on random CR/LF-heavy input", () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(0x0d, 0x0a, 0x2e, 0x41), { maxLength: 40 }), (arr) => {
      const b = Uint8Array.from(arr);
      const pos = findBareLineEnding(b);
      assert.equal(pos === -1, onlyCrlf(b));
      if (pos >= 0) assert.ok(b[pos] === 0x0d || b[pos] === 0x0a);
    }),
  );
});

test("collectStream keeps bytes exact and flags oversize without keeping it", async () => {
  const parts = [Buffer.from([0, 255, 13, 10]), Buffer.from("tail")];
  const r = await collectStream(Readable.from(parts), 100);
  assert.deepEqual(r.data, Buffer.concat(parts));
  assert.equal(r.oversized, false);
  const big = await collectStream(Readable.from([Buffer.alloc(60), Buffer.alloc(60)]), 100);
  assert.equal(big.oversized, true);
  assert.equal(big.bytes, 120);
  assert.equal(big.data.length, 0);
});

test("Received header: RFC 5321 §4.4 shape, client values sanitised", () => {
  const h = receivedHeader({
    helo: "evil\r\nX-Injected: 1",
    clientHostname: "host.example",
    remoteAddress: "::ffff:192.0.2.7",
    hostname: "mx.test",
    protocol: "ESMTPS",
    id: "abc",
    recipient: "a@example.com",
    date: new Date(Date.UTC(2025, 5, 2, 10, 0, 0)),
    tls: "TLSv1.3 TLS_AES_256_GCM_SHA384",
  });
  assert.equal(
    h,
    "Received: from evil??X-Injected:?1 (host.example [192.0.2.7])\r\n\tby mx.test (postkontor) with ESMTPS id abc\r\n" +
      "\t(TLSv1.3_TLS_AES_256_GCM_SHA384)\r\n\tfor <a@example.com>;\r\n\tMon, 2 Jun 2025 10:00:00 +0000\r\n",
  );
  assert.equal(rfc5322Date(new Date(Date.UTC(2024, 0, 9, 3, 4, 5))), "Tue, 9 Jan 2024 03:04:05 +0000");
});
