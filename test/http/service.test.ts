/**
 * The HTTP service through real HTTP(S) on loopback: security headers (HSTS on HTTPS only),
 * /healthz, the access log, body size (413, declared and chunked), the rate per IP (429), the
 * redirect from plain HTTP to HTTPS and its exceptions (loopback, autoconfig, health), and a
 * balancer in front (PROXY v2) naming the client.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { run } from "../e2e/helpers.ts";
import { type HttpE2E, parseRaw, proxiedRequest, request, startHttpE2E } from "./helpers.ts";

describe("HTTP service", () => {
  let e: HttpE2E;
  before(async () => {
    e = await startHttpE2E({
      httpToml: "[http.limits]\nmax_body_size = 1000\nrequests_per_minute = 40\n",
    });
  });
  after(async () => {
    await e?.close();
  });

  it("security headers on every answer; HSTS only over HTTPS", async () => {
    const s = await request(e.httpsPort, { tls: true, path: "/healthz" });
    const p = await request(e.httpPort, { path: "/no/such/page" });
    assert.equal(p.status, 404);
    for (const r of [s, p]) {
      assert.match(String(r.headers["content-security-policy"]), /default-src 'none'/);
      assert.equal(r.headers["x-content-type-options"], "nosniff");
      assert.equal(r.headers["referrer-policy"], "no-referrer");
    }
    assert.match(String(s.headers["strict-transport-security"]), /^max-age=\d+/);
    assert.equal(p.headers["strict-transport-security"], undefined);
  });

  it("/healthz answers ok when the store answers, over plain HTTP and HTTPS (curl)", async () => {
    const c = await run("curl", ["-sS", "-k", `https://127.0.0.1:${e.httpsPort}/healthz`]);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.stdout.toString(), "ok\n");
    const p = await request(e.httpPort, { path: "/healthz" });
    assert.equal(p.status, 200);
    assert.equal(p.body, "ok\n");
  });

  it("each request is logged (client, method, path without query, status)", async () => {
    await request(e.httpsPort, {
      tls: true,
      path: "/mail/config-v1.1.xml?emailaddress=secret%40example.test",
    });
    const line = await e.server.waitForLog(
      (l) => l.msg === "http request" && l.path === "/mail/config-v1.1.xml",
    );
    assert.equal(line.remoteAddress, "127.0.0.1");
    assert.equal(line.method, "GET");
    assert.equal(line.status, 200);
    assert.equal(line.tls, true);
    assert.ok(!JSON.stringify(line).includes("secret"), "the query is not logged");
  });

  it("a body over max_body_size gets 413, declared or chunked", async () => {
    const big = "x".repeat(2000);
    const declared = await request(e.httpsPort, {
      tls: true,
      method: "POST",
      path: "/autodiscover/autodiscover.xml",
      headers: { "Content-Length": String(big.length) },
      body: big,
    });
    assert.equal(declared.status, 413);
    assert.match(String(declared.headers["content-type"]), /problem\+json/);
    // curl sends chunked without a length
    const c = await run("curl", [
      "-sS",
      "-k",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "-H",
      "Transfer-Encoding: chunked",
      "--data-binary",
      big,
      `https://127.0.0.1:${e.httpsPort}/autodiscover/autodiscover.xml`,
    ]);
    assert.equal(c.stdout.toString(), "413", c.stderr);
  });

  it("loopback clients are served over plain HTTP (no redirect)", async () => {
    const r = await request(e.httpPort, { path: "/mail.mobileconfig" });
    assert.equal(r.status, 403); // served (and refused: the profile needs TLS), not redirected
  });

  it("beyond requests_per_minute an IP gets 429 with Retry-After", async () => {
    let limited: Awaited<ReturnType<typeof request>> | null = null;
    for (let i = 0; i < 60 && !limited; i++) {
      const r = await request(e.httpPort, { path: "/healthz" });
      if (r.status === 429) limited = r;
      else assert.equal(r.status, 200);
    }
    assert.ok(limited, "no 429 after 60 requests with a limit of 40 a minute");
    assert.match(String(limited.headers["retry-after"]), /^\d+$/);
    assert.ok(Number(limited.headers["retry-after"]) >= 1 && Number(limited.headers["retry-after"]) <= 60);
  });
});

describe("HTTP behind a balancer (PROXY v2): redirect rules", () => {
  let e: HttpE2E;
  before(async () => {
    e = await startHttpE2E({ httpToml: "proxy_protocol = true\nhttps_port = 443\n" });
  });
  after(async () => {
    await e?.close();
  });

  it("plain HTTP from a remote client is redirected to HTTPS (308, same path and query)", async () => {
    const r = parseRaw(
      await proxiedRequest(e.httpPort, "203.0.113.5", "/some/page?x=1", "mail.example.test"),
    );
    assert.equal(r.status, 308);
    assert.equal(r.headers.get("location"), "https://mail.example.test/some/page?x=1");
    assert.equal(r.headers.get("strict-transport-security"), undefined);
    const log = await e.server.waitForLog((l) => l.msg === "http request" && l.path === "/some/page");
    assert.equal(log.remoteAddress, "203.0.113.5");
  });

  it("a Host that is no plain name falls back to the configured hostname", async () => {
    const r = parseRaw(await proxiedRequest(e.httpPort, "203.0.113.5", "/x", "bad_host.test"));
    assert.equal(r.status, 308);
    assert.equal(r.headers.get("location"), "https://localhost/x");
  });

  it("autoconfig and /healthz are served over plain HTTP to remote clients; /metrics is not theirs", async () => {
    const h = parseRaw(await proxiedRequest(e.httpPort, "203.0.113.5", "/healthz"));
    assert.equal(h.status, 200);
    const a = parseRaw(
      await proxiedRequest(
        e.httpPort,
        "203.0.113.5",
        "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=a%40example.test",
      ),
    );
    assert.equal(a.status, 200);
    assert.match(a.body, /<clientConfig/);
    const m = parseRaw(await proxiedRequest(e.httpPort, "203.0.113.5", "/metrics"));
    assert.equal(m.status, 308); // not exempt: redirected, and over HTTPS it is 404 to this address
    const loop = parseRaw(await proxiedRequest(e.httpPort, "127.0.0.1", "/metrics"));
    assert.equal(loop.status, 200);
    assert.match(loop.body, /postkontor_connections_total/);
  });
});
