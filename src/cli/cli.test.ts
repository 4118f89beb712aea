import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatBytes, normalizeDelivery } from "./io.ts";
import { nodeVersionOk } from "./node-version.ts";

describe("cli helpers", () => {
  it("nodeVersionOk gates at 22.12", () => {
    assert.equal(nodeVersionOk("20.19.0"), false);
    assert.equal(nodeVersionOk("22.11.9"), false);
    assert.equal(nodeVersionOk("22.12.0"), true);
    assert.equal(nodeVersionOk("23.0.0"), true);
    assert.equal(nodeVersionOk("24.21.0"), true);
    assert.equal(nodeVersionOk(process.versions.node), true);
  });

  it("normalizeDelivery: bare LF → CRLF, CRLF untouched, mbox From_ line dropped", () => {
    const n = (s: string) => normalizeDelivery(Buffer.from(s, "latin1")).toString("latin1");
    assert.equal(n("a\r\nb\r\n"), "a\r\nb\r\n");
    assert.equal(n("a\nb\n"), "a\r\nb\r\n");
    assert.equal(n("a\r\nb\nc"), "a\r\nb\r\nc");
    assert.equal(n("\n"), "\r\n");
    assert.equal(n("From x@y Mon Jan 1 00:00:00 2024\nSubject: s\n\nb\n"), "Subject: s\r\n\r\nb\r\n");
    assert.equal(n("From: x@y\r\n\r\n"), "From: x@y\r\n\r\n", "a From: header is not a From_ line");
    const bin = Buffer.from([0xff, 0x0d, 0x0a, 0x00, 0x0a]);
    assert.deepEqual(normalizeDelivery(bin), Buffer.from([0xff, 0x0d, 0x0a, 0x00, 0x0d, 0x0a]));
  });

  it("formatBytes", () => {
    assert.equal(formatBytes(0), "0 B");
    assert.equal(formatBytes(1536), "1.5 KiB");
    assert.equal(formatBytes(500 * 1024 * 1024), "500 MiB");
  });
});
