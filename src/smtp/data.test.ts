import assert from "node:assert/strict";
import { PassThrough, Readable } from "node:stream";
import { test } from "node:test";
import fc from "fast-check";
import {
  authservId,
  collectStream,
  findBareLineEnding,
  receivedHeader,
  renameOwnAuthResults,
  rfc5322Date,
} from "./data.ts";

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

test("collectStream settles when the stream is destroyed before its end, with or without an error", async () => {
  const quiet = new PassThrough();
  const p1 = collectStream(quiet, 100);
  quiet.write("partial");
  quiet.destroy();
  await assert.rejects(p1, /closed before its end/);
  const failing = new PassThrough();
  const p2 = collectStream(failing, 100);
  failing.destroy(Object.assign(new Error("gone"), { code: "ECONNECTION" }));
  await assert.rejects(p2, /gone/);
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

test("authservId: token, quoted-string, CFWS, malformed", () => {
  const f = (s: string) => authservId(Buffer.from(s, "latin1"));
  assert.equal(f(" mx.test; spf=pass"), "mx.test");
  assert.equal(f("MX.Test;"), "mx.test");
  assert.equal(f("\r\n (a (nested) comment)\t mx.test ; dkim=pass"), "mx.test");
  assert.equal(f(' "mx.test"; none'), "mx.test");
  assert.equal(f(' "mx\\.test"; none'), "mx.test");
  assert.equal(f(" mx.test 1; none"), "mx.test");
  assert.equal(f(" ; none"), null);
  assert.equal(f(" (unterminated comment mx.test"), null);
  assert.equal(f(' "unterminated'), null);
  assert.equal(f(""), null);
});

const ours = "mx.test";
const rename = (s: string) => {
  const r = renameOwnAuthResults(Buffer.from(s, "latin1"), ours);
  return { text: r.data.toString("latin1"), renamed: r.renamed };
};

test("renameOwnAuthResults: renames only fields claiming our authserv-id, in the header only", () => {
  const body = "\r\nAuthentication-Results: mx.test; dkim=pass\r\n";
  const msg =
    "Received: from a\r\n\tby b; Mon, 2 Jun 2025 10:00:00 +0000\r\n" +
    "Authentication-Results: mx.test; dkim=pass header.d=bank.example\r\n" +
    "authentication-results : (forged)\r\n MX.TEST. ;\r\n\tspf=pass\r\n" +
    "Authentication-Results: other.example; spf=fail\r\n" +
    "Authentication-Results: mx.test.evil.example; spf=fail\r\n" +
    "X-Authentication-Results: mx.test; x=y\r\n" +
    'Authentication-Results: "mx.test"; dmarc=pass\r\n' +
    `Subject: hi\r\n${body}`;
  const r = rename(msg);
  assert.equal(r.renamed, 3);
  assert.equal(
    r.text,
    "Received: from a\r\n\tby b; Mon, 2 Jun 2025 10:00:00 +0000\r\n" +
      "X-Original-Authentication-Results: mx.test; dkim=pass header.d=bank.example\r\n" +
      "X-Original-Authentication-Results : (forged)\r\n MX.TEST. ;\r\n\tspf=pass\r\n" +
      "Authentication-Results: other.example; spf=fail\r\n" +
      "Authentication-Results: mx.test.evil.example; spf=fail\r\n" +
      "X-Authentication-Results: mx.test; x=y\r\n" +
      'X-Original-Authentication-Results: "mx.test"; dmarc=pass\r\n' +
      `Subject: hi\r\n${body}`,
  );
});

test("renameOwnAuthResults: no match returns the same buffer; header-only messages; a folded value", () => {
  const b = Buffer.from("Subject: x\r\nAuthentication-Results: other.example; none\r\n\r\nbody\r\n");
  const r = renameOwnAuthResults(b, ours);
  assert.equal(r.renamed, 0);
  assert.equal(r.data, b);
  assert.equal(
    rename("Authentication-Results: mx.test; none").text,
    "X-Original-Authentication-Results: mx.test; none",
  );
  assert.equal(
    rename("Authentication-Results:\r\n\tmx.test; none\r\n").text,
    "X-Original-Authentication-Results:\r\n\tmx.test; none\r\n",
  );
  // the body starts at once: nothing is a header
  assert.equal(rename("\r\nAuthentication-Results: mx.test; none\r\n").renamed, 0);
});

test("renameOwnAuthResults: property — only the names of our fields change", () => {
  const field = fc.oneof(
    fc.constantFrom("Subject: s", "From: a@b.example", "X-Foo: mx.test; y"),
    fc
      .tuple(
        fc.constantFrom("Authentication-Results", "authentication-results", "Authentication-Results "),
        fc.constantFrom(
          " mx.test; spf=pass",
          " MX.test;",
          " (c) mx.test;",
          " other.example; spf=pass",
          "\r\n\tmx.test; x",
        ),
      )
      .map(([n, v]) => `${n}:${v}`),
  );
  fc.assert(
    fc.property(fc.array(field, { maxLength: 8 }), fc.boolean(), (fields, withBody) => {
      const msg =
        fields.map((f) => `${f}\r\n`).join("") + (withBody ? "\r\nAuthentication-Results: mx.test;\r\n" : "");
      const expected =
        fields
          .map((f) => {
            const m = /^(authentication-results) ?:([\s\S]*)$/i.exec(f);
            if (!m) return f;
            const claimsUs = /^(?:\r\n\t| \(c\) | )mx\.test;/i.test(m[2]!);
            return claimsUs ? `X-Original-Authentication-Results${f.slice(22)}` : f;
          })
          .map((f) => `${f}\r\n`)
          .join("") + (withBody ? "\r\nAuthentication-Results: mx.test;\r\n" : "");
      assert.equal(rename(msg).text, expected);
    }),
  );
});
