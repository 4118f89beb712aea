/**
 * The webmail app served by the real server: index.html at / and for client-side routes (no-cache,
 * ETag/304), hashed assets (immutable), the app CSP on the page and the strict one elsewhere,
 * traversal attempts and missing assets (404), and plain HTTP from a remote client redirected.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { buildWebmail } from "../../scripts/build-webmail.ts";
import { APP_CSP } from "../../src/http/webmail.ts";
import { type HttpE2E, parseRaw, proxiedRequest, request, startHttpE2E } from "./helpers.ts";

const STRICT = /^default-src 'none'; frame-ancestors 'none'/;
const HTML = { Accept: "text/html,application/xhtml+xml,*/*;q=0.8" };

describe("webmail: serving the app", () => {
  let e: HttpE2E;
  let script: string;
  let style: string;
  before(async () => {
    const b = await buildWebmail({ quiet: true });
    script = b.script;
    style = b.style;
    e = await startHttpE2E();
  });
  after(async () => {
    await e?.close();
  });

  it("/ is index.html (no-cache, ETag → 304) with the app CSP", async () => {
    const r = await request(e.httpsPort, { tls: true, path: "/", headers: HTML });
    assert.equal(r.status, 200);
    assert.match(String(r.headers["content-type"]), /^text\/html/);
    assert.equal(r.headers["cache-control"], "no-cache");
    assert.equal(r.headers["content-security-policy"], APP_CSP);
    assert.equal(r.headers["x-frame-options"], "DENY");
    assert.ok(r.body.includes(`/assets/${script}`), "the page loads the built script");
    assert.ok(r.body.includes(`/assets/${style}`), "and the built stylesheet");
    const etag = String(r.headers.etag);
    assert.match(etag, /^"[A-Za-z0-9_-]+"$/);
    const again = await request(e.httpsPort, { tls: true, path: "/", headers: { "If-None-Match": etag } });
    assert.equal(again.status, 304);
    assert.equal(again.body, "");
  });

  it("a client-side route accepting HTML gets the app; API paths and non-HTML requests keep 404", async () => {
    const route = await request(e.httpsPort, { tls: true, path: "/mail/Inbox/42", headers: HTML });
    assert.equal(route.status, 200);
    assert.ok(route.body.includes(`/assets/${script}`));
    const view = await request(e.httpsPort, { tls: true, path: "/folder/Inbox?sort=date", headers: HTML });
    assert.equal(view.status, 200);
    assert.equal(view.headers["content-security-policy"], APP_CSP);
    assert.ok(view.body.includes(`/assets/${script}`));
    const json = await request(e.httpsPort, { tls: true, path: "/folder/Inbox" });
    assert.equal(json.status, 404);
    assert.match(String(json.headers["content-security-policy"]), STRICT);
    // API paths, and the documents whose handlers answer 404 for unknown domains
    for (const p of [
      "/jmap/nothing",
      "/webmail/nothing",
      "/.well-known/nothing",
      "/.well-known/mta-sts.txt",
      "/autodiscover/autodiscover.json?Email=a@unknown.test",
      "/mail/config-v1.1.xml?emailaddress=a@unknown.test",
    ]) {
      const r = await request(e.httpsPort, { tls: true, path: p, headers: HTML });
      assert.notEqual(r.status, 200, p);
      assert.match(String(r.headers["content-security-policy"]), STRICT, p);
    }
  });

  it("assets: hashed names cached immutable with their type; missing → 404", async () => {
    const js = await request(e.httpsPort, { tls: true, path: `/assets/${script}` });
    assert.equal(js.status, 200);
    assert.equal(js.headers["cache-control"], "public, max-age=31536000, immutable");
    assert.match(String(js.headers["content-type"]), /^text\/javascript/);
    const onDisk = readFileSync(path.join(import.meta.dirname, "../../webmail/dist/assets", script), "utf8");
    assert.equal(js.body, onDisk);
    assert.match(String(js.headers["content-security-policy"]), STRICT, "assets are not pages");
    const css = await request(e.httpsPort, { tls: true, path: `/assets/${style}` });
    assert.equal(css.status, 200);
    assert.match(String(css.headers["content-type"]), /^text\/css/);
    const missing = await request(e.httpsPort, { tls: true, path: "/assets/app-NOSUCHHASH.js" });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers["cache-control"], undefined, "a 404 is not cached for a year");
  });

  it("no path outside the assets directory can be named", async () => {
    for (const p of [
      "/assets/..%2findex.html",
      "/assets/%2e%2e/build.json",
      "/assets/..%2f..%2fpackage.json",
      "/assets/.%2e/.%2e/package.json",
      "/assets/%2e%2e%5cbuild.json",
      "/assets/.hidden",
      "/assets/a/../../build.json",
      "/assets/%00.js",
      "/assets/build.json",
      "/../package.json",
      "/assets/../../../../etc/passwd",
    ]) {
      const r = await request(e.httpsPort, { tls: true, path: p });
      assert.ok(r.status === 404 || r.status === 400, `${p}: ${r.status}`);
      assert.ok(!r.body.includes('"fingerprint"') && !r.body.includes('"name": "postkontor"'), p);
      assert.ok(!r.body.includes("root:"), p);
    }
    // dot segments are removed before routing (RFC 3986 §5.2.4): /assets/.. is /, the app
    const dots = await request(e.httpsPort, { tls: true, path: "/assets/.." });
    assert.ok(dots.status === 200 && dots.body.includes(`/assets/${script}`));
  });

  it("other answers keep the strict CSP (healthz, JMAP 401, login endpoint)", async () => {
    for (const p of ["/healthz", "/.well-known/jmap", "/webmail/session"]) {
      const r = await request(e.httpsPort, { tls: true, path: p });
      assert.match(String(r.headers["content-security-policy"]), STRICT, p);
    }
  });
});

describe("webmail: plain HTTP from a remote client", () => {
  let e: HttpE2E;
  before(async () => {
    await buildWebmail({ quiet: true });
    e = await startHttpE2E({ httpToml: "proxy_protocol = true\nhttps_port = 443\n" });
  });
  after(async () => {
    await e?.close();
  });

  it("/ and the login are redirected to HTTPS (308)", async () => {
    for (const p of ["/", "/webmail/login"]) {
      const r = parseRaw(await proxiedRequest(e.httpPort, "203.0.113.5", p, "mail.example.test"));
      assert.equal(r.status, 308, p);
      assert.equal(r.headers.get("location"), `https://mail.example.test${p}`);
    }
  });
});
