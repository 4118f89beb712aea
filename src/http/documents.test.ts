/**
 * The autoconfiguration documents from a config (no server): the ports are the configured ones,
 * implicit TLS before STARTTLS, disabled listeners left out, every value XML-escaped; the MTA-STS
 * policy and its id change together.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { validateConfig } from "../config/index.ts";
import { advertisedServers, httpsPort } from "./advertised.ts";
import {
  autodiscoverJson,
  autodiscoverRequestAddress,
  autodiscoverXml,
  requestDomain,
  thunderbirdConfig,
} from "./autoconfig.ts";
import { mobileconfig } from "./mobileconfig.ts";
import { mtaStsId, mtaStsPolicy } from "./mta-sts.ts";
import { xmlEscape } from "./xml.ts";

const config = (raw: Record<string, unknown>) => validateConfig({ hostname: "mail.example.org", ...raw });

describe("HTTP documents", () => {
  it("advertises the configured ports, implicit TLS first, nothing for what is off", () => {
    const c = config({
      imap: { listen: ["0.0.0.0:1143"], listen_tls: ["[::]:10993"] },
      pop3: { enabled: false },
      smtp: { submission: ["0.0.0.0:2587"], submissions: [] },
      http: { listen_tls: ["0.0.0.0:8443"] },
    });
    assert.deepEqual(advertisedServers(c), [
      { protocol: "imap", socket: "SSL", port: 10993 },
      { protocol: "imap", socket: "STARTTLS", port: 1143 },
      { protocol: "smtp", socket: "STARTTLS", port: 2587 },
    ]);
    assert.equal(httpsPort(c), 8443);
    const tb = thunderbirdConfig(c, "example.org");
    assert.ok(tb.includes("<port>10993</port>") && tb.includes("<port>2587</port>"));
    assert.ok(!tb.includes('type="pop3"'));
    assert.equal(
      (autodiscoverJson(c, "AutodiscoverV1").body as { Url: string }).Url,
      "https://mail.example.org:8443/autodiscover/autodiscover.xml",
    );
  });

  it("escapes what goes into XML", () => {
    assert.equal(xmlEscape(`a<b>&"c'\u0001`), "a&lt;b&gt;&amp;&quot;c&apos;");
    const c = config({});
    const x = autodiscoverXml(c, `"o'neil"&<x>@example.org`);
    assert.ok(x.includes("<LoginName>&quot;o&apos;neil&quot;&amp;&lt;x&gt;@example.org</LoginName>"));
    const p = mobileconfig(c, "a&b@example.org");
    assert.ok(p?.includes("<string>a&amp;b@example.org</string>"));
    assert.ok(!p?.includes("a&b@"));
  });

  it("finds the domain in an address or an autoconfig Host, and the POX address", () => {
    assert.equal(requestDomain("A@Example.ORG", undefined, "autoconfig"), "example.org");
    assert.equal(requestDomain(undefined, "autoconfig.example.org:443", "autoconfig"), "example.org");
    assert.equal(requestDomain(undefined, "example.org", "autoconfig"), null);
    assert.equal(requestDomain("no-address", undefined, "autoconfig"), null);
    assert.equal(
      autodiscoverRequestAddress("<a:Request><a:EMailAddress> x@y.org </a:EMailAddress></a:Request>"),
      "x@y.org",
    );
    assert.equal(autodiscoverRequestAddress("<Request></Request>"), null);
  });

  it("MTA-STS: the policy follows the config and the id changes with it (RFC 8461 §3.1, §3.2)", () => {
    const testing = config({});
    assert.equal(
      mtaStsPolicy(testing),
      "version: STSv1\r\nmode: testing\r\nmx: mail.example.org\r\nmax_age: 604800\r\n",
    );
    const enforce = config({ http: { mta_sts_mode: "enforce", mta_sts_max_age: "400d" } });
    assert.equal(
      mtaStsPolicy(enforce),
      "version: STSv1\r\nmode: enforce\r\nmx: mail.example.org\r\nmax_age: 31557600\r\n",
    );
    assert.match(mtaStsId(testing), /^[0-9a-f]{20}$/);
    assert.notEqual(mtaStsId(testing), mtaStsId(enforce));
  });
});
