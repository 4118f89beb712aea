import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inCidrs, PROXY_V2_SIGNATURE, parseCidr, parseProxyV2 } from "./proxy.ts";

/** builds a v2 header: verCmd, famProto, address bytes, then TLV bytes */
function header(verCmd: number, famProto: number, addr: number[], tlvs: number[] = []): Buffer {
  const body = [...addr, ...tlvs];
  return Buffer.from([
    ...PROXY_V2_SIGNATURE,
    verCmd,
    famProto,
    body.length >> 8,
    body.length & 0xff,
    ...body,
  ]);
}

const V4 = [203, 0, 113, 7, 192, 0, 2, 1, 0x30, 0x39, 0x00, 0x8f]; // 203.0.113.7:12345 → 192.0.2.1:143
const V6 = [
  ...[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07],
  ...[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01],
  0x04,
  0xd2,
  0x03,
  0xe1,
];

describe("parseProxyV2", () => {
  it("PROXY TCP over IPv4", () => {
    const h = header(0x21, 0x11, V4);
    assert.deepEqual(parseProxyV2(h), {
      kind: "ok",
      length: 28,
      peer: { address: "203.0.113.7", port: 12345 },
    });
  });

  it("PROXY TCP over IPv6, canonical text form", () => {
    const h = header(0x21, 0x21, V6);
    assert.deepEqual(parseProxyV2(h), {
      kind: "ok",
      length: 52,
      peer: { address: "2001:db8::7", port: 1234 },
    });
    const mapped = [...Array(10).fill(0), 0xff, 0xff, 198, 51, 100, 9, ...Array(16).fill(0), 0, 1, 0, 2];
    const r = parseProxyV2(header(0x21, 0x21, mapped));
    assert.deepEqual(r, { kind: "ok", length: 52, peer: { address: "::ffff:198.51.100.9", port: 1 } });
  });

  it("LOCAL keeps the socket address (addresses ignored)", () => {
    assert.deepEqual(parseProxyV2(header(0x20, 0x00, [])), { kind: "ok", length: 16, peer: null });
    assert.deepEqual(parseProxyV2(header(0x20, 0x11, V4)), { kind: "ok", length: 28, peer: null });
  });

  it("UNSPEC and AF_UNIX with PROXY: no IP, the connection address stays", () => {
    assert.deepEqual(parseProxyV2(header(0x21, 0x00, [])), { kind: "ok", length: 16, peer: null });
    assert.deepEqual(parseProxyV2(header(0x21, 0x31, Array(216).fill(0))), {
      kind: "ok",
      length: 232,
      peer: null,
    });
  });

  it("skips TLVs and reports the length so following bytes stay", () => {
    const tlv = [0x04, 0x00, 0x03, 1, 2, 3, 0x20, 0x00, 0x01, 0x00]; // NOOP, SSL
    const h = Buffer.concat([header(0x21, 0x11, V4, tlv), Buffer.from("a001 LOGIN\r\n")]);
    const r = parseProxyV2(h);
    assert.equal(r.kind, "ok");
    assert.equal(r.kind === "ok" && r.length, 28 + tlv.length);
    assert.equal(r.kind === "ok" && r.peer?.address, "203.0.113.7");
  });

  it("truncated input at every offset is incomplete, never ok or error", () => {
    for (const full of [header(0x21, 0x11, V4, [0x04, 0, 1, 9]), header(0x21, 0x21, V6)]) {
      for (let i = 0; i < full.length; i++) {
        assert.deepEqual(parseProxyV2(full.subarray(0, i)), { kind: "incomplete" }, `offset ${i}`);
      }
      assert.equal(parseProxyV2(full).kind, "ok");
    }
  });

  it("refuses a bad signature at once, at every byte", () => {
    for (let i = 0; i < 12; i++) {
      const h = header(0x21, 0x11, V4);
      h[i] = h[i]! ^ 0x40;
      assert.equal(parseProxyV2(h.subarray(0, i + 1)).kind, "error", `byte ${i}`);
    }
    assert.equal(parseProxyV2(Buffer.from("a001 LOGIN user pass\r\n")).kind, "error");
    assert.equal(parseProxyV2(Buffer.from("PROXY TCP4 203.0.113.7 192.0.2.1 1 2\r\n")).kind, "error");
  });

  it("refuses bad version, command, family, short addresses and oversize headers", () => {
    assert.equal(parseProxyV2(header(0x11, 0x11, V4)).kind, "error"); // version 1
    assert.equal(parseProxyV2(header(0x22, 0x11, V4)).kind, "error"); // command 2
    assert.equal(parseProxyV2(header(0x21, 0x41, V4)).kind, "error"); // family 4
    assert.equal(parseProxyV2(header(0x21, 0x13, V4)).kind, "error"); // protocol 3
    assert.equal(parseProxyV2(header(0x21, 0x11, V4.slice(0, 11))).kind, "error");
    assert.equal(parseProxyV2(header(0x21, 0x21, V6.slice(0, 35))).kind, "error");
    // the length field alone decides: refused before the bytes arrive
    const big = header(0x21, 0x11, V4, Array(500).fill(0));
    assert.equal(parseProxyV2(big.subarray(0, 16)).kind, "error");
    assert.equal(parseProxyV2(big, 1024).kind, "ok");
  });
});

describe("CIDR", () => {
  it("matches IPv4, IPv6 and IPv4-mapped addresses", () => {
    const c = ["127.0.0.1/32", "::1/128", "10.1.0.0/16", "2001:db8::/33", "192.0.2.5"].map(parseCidr);
    assert.ok(inCidrs("127.0.0.1", c));
    assert.ok(inCidrs("::ffff:127.0.0.1", c));
    assert.ok(!inCidrs("127.0.0.2", c));
    assert.ok(inCidrs("::1", c));
    assert.ok(inCidrs("10.1.255.3", c));
    assert.ok(!inCidrs("10.2.0.1", c));
    assert.ok(inCidrs("2001:db8:7fff::1", c));
    assert.ok(!inCidrs("2001:db8:8000::1", c));
    assert.ok(inCidrs("192.0.2.5", c));
    assert.ok(!inCidrs("192.0.2.6", c));
    assert.ok(!inCidrs(undefined, c));
    assert.ok(!inCidrs("203.0.113.7", c));
    assert.ok(inCidrs("198.51.100.1", [parseCidr("0.0.0.0/0")]));
    assert.ok(!inCidrs("::2", [parseCidr("0.0.0.0/0")]));
    assert.ok(inCidrs("::ffff:10.0.0.1", [parseCidr("::ffff:10.0.0.0/104")]) === false); // mapped → IPv4
  });

  it("rejects malformed blocks", () => {
    for (const bad of ["", "1.2.3", "1.2.3.4/33", "::1/129", "1.2.3.4/", "1.2.3.4/x", "host/8"]) {
      assert.throws(() => parseCidr(bad), Error, bad);
    }
  });
});
