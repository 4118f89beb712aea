import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { connect as tlsConnect } from "node:tls";
import {
  createTlsProvider,
  formatAddress,
  generateSelfSigned,
  parseListenAddress,
  startListener,
} from "./index.ts";

describe("parseListenAddress", () => {
  it("parses IPv4, names, bracketed IPv6 and wildcards", () => {
    assert.deepEqual(parseListenAddress("0.0.0.0:1143"), { host: "0.0.0.0", port: 1143 });
    assert.deepEqual(parseListenAddress("localhost:0"), { host: "localhost", port: 0 });
    assert.deepEqual(parseListenAddress("[::1]:143"), { host: "::1", port: 143 });
    assert.deepEqual(parseListenAddress("[::]:993"), { host: "::", port: 993 });
    assert.deepEqual(parseListenAddress("*:25"), { host: "0.0.0.0", port: 25 });
    assert.deepEqual(parseListenAddress(":25"), { host: "0.0.0.0", port: 25 });
  });
  it("rejects bad input with a reason", () => {
    assert.throws(() => parseListenAddress("143"), /expected host:port/);
    assert.throws(() => parseListenAddress("::1:143"), /must be bracketed/);
    assert.throws(() => parseListenAddress("[nope]:143"), /not an IPv6/);
    assert.throws(() => parseListenAddress("host:99999"), /out of range/);
    assert.throws(() => parseListenAddress("host:abc"), /invalid port/);
    assert.throws(() => parseListenAddress("ho st:1"), /invalid host/);
  });
  it("formats", () => {
    assert.equal(formatAddress("::1", 5), "[::1]:5");
    assert.equal(formatAddress("127.0.0.1", 5), "127.0.0.1:5");
  });
});

function tlsGreeting(port: number, ca: string, servername?: string): Promise<{ text: string; cert: string }> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: "127.0.0.1", port, ca, ...(servername ? { servername } : {}) }, () => {
      const cert = s.getPeerCertificate().fingerprint256;
      s.once("data", (d) => {
        resolve({ text: d.toString(), cert });
        s.end();
      });
    });
    s.on("error", reject);
  });
}

describe("TLS provider and listeners", () => {
  it("generates a self-signed certificate once, with the right SANs, and reuses it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pk-tls-"));
    const p1 = await createTlsProvider({ tls: { cert: "", key: "" }, hostname: "mail.example.test" }, dir);
    assert.equal(p1.selfSigned, true);
    assert.equal(p1.certPath, join(dir, "tls", "cert.pem"));
    const pem1 = readFileSync(p1.certPath, "utf8");
    const c = new X509Certificate(pem1);
    assert.match(c.subjectAltName ?? "", /DNS:mail\.example\.test/);
    assert.match(c.subjectAltName ?? "", /DNS:localhost/);
    assert.match(c.subjectAltName ?? "", /IP Address:127\.0\.0\.1/);
    assert.equal((statSync(p1.keyPath).mode & 0o777).toString(8), "600");
    const p2 = await createTlsProvider({ tls: { cert: "", key: "" }, hostname: "mail.example.test" }, dir);
    assert.equal(readFileSync(p2.certPath, "utf8"), pem1, "reused, not regenerated");
  });

  it("serves implicit TLS that verifies against the generated cert, and reloads on change", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pk-tls-"));
    const a = await generateSelfSigned("a.example.test");
    const b = await generateSelfSigned("b.example.test");
    const certPath = join(dir, "c.pem");
    const keyPath = join(dir, "k.pem");
    writeFileSync(certPath, a.cert);
    writeFileSync(keyPath, a.key);
    const provider = await createTlsProvider({ tls: { cert: certPath, key: keyPath }, hostname: "x" }, dir, {
      checkIntervalMs: 0,
    });
    const l = await startListener({
      address: "127.0.0.1:0",
      tls: provider,
      onConnection: (s) => s.end("* OK hello\r\n"),
    });
    try {
      assert.equal(l.implicitTls, true);
      assert.ok(l.port > 0);
      assert.equal(l.bound, `127.0.0.1:${l.port}`);
      const fpA = new X509Certificate(a.cert).fingerprint256;
      const fpB = new X509Certificate(b.cert).fingerprint256;
      const g1 = await tlsGreeting(l.port, a.cert, "localhost");
      assert.equal(g1.text, "* OK hello\r\n");
      assert.equal(g1.cert, fpA);
      // replace the files: next connection (with or without SNI) sees the new certificate
      writeFileSync(keyPath, b.key);
      writeFileSync(certPath, b.cert);
      const t = new Date(Date.now() + 5000);
      utimesSync(certPath, t, t);
      utimesSync(keyPath, t, t);
      const g2 = await tlsGreeting(l.port, b.cert, "localhost");
      assert.equal(g2.cert, fpB);
      const g3 = await tlsGreeting(l.port, b.cert);
      assert.equal(g3.cert, fpB, "no-SNI clients get the reloaded default context");
      // a broken pair keeps the previous context
      writeFileSync(keyPath, a.key);
      const t2 = new Date(Date.now() + 10_000);
      utimesSync(keyPath, t2, t2);
      const g4 = await tlsGreeting(l.port, b.cert, "localhost");
      assert.equal(g4.cert, fpB);
    } finally {
      await l.close();
    }
  });

  it("plain listener on port 0 reports the bound port; a port in use rejects", async () => {
    const l = await startListener({
      address: "127.0.0.1:0",
      tls: null,
      onConnection: (s) => s.end("hi\r\n"),
    });
    try {
      const text = await new Promise<string>((resolve, reject) => {
        const s = netConnect(l.port, "127.0.0.1");
        s.once("data", (d) => resolve(d.toString()));
        s.on("error", reject);
      });
      assert.equal(text, "hi\r\n");
      await assert.rejects(
        startListener({ address: `127.0.0.1:${l.port}`, tls: null, onConnection: () => {} }),
        /EADDRINUSE/,
      );
    } finally {
      await l.close();
    }
  });

  it("refuses a half-configured cert/key pair", async () => {
    await assert.rejects(
      createTlsProvider({ tls: { cert: "/x.pem", key: "" }, hostname: "x" }, tmpdir()),
      /both be set/,
    );
  });
});
