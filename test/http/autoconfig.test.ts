/**
 * Client autoconfiguration through real HTTP(S) on loopback: Thunderbird config-v1.1.xml (both
 * paths, by address and by autoconfig.<domain> Host), Autodiscover POX and JSON v2, the MTA-STS
 * policy file, the Apple profile behind Basic authentication; unknown domains get 404.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { run } from "../e2e/helpers.ts";
import { DOMAIN, type HttpE2E, PASS_A, request, startHttpE2E, USER_A } from "./helpers.ts";

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@", parseTagValue: false });

function parseXml(body: string): Record<string, unknown> {
  assert.equal(XMLValidator.validate(body), true, `not well-formed XML:\n${body}`);
  return parser.parse(body) as Record<string, unknown>;
}

type Server = {
  "@type": string;
  hostname: string;
  port: string;
  socketType: string;
  authentication: string;
  username: string;
};
const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

describe("HTTP autoconfiguration", () => {
  let e: HttpE2E;
  before(async () => {
    // POP3 off: the documents list only what is configured
    e = await startHttpE2E({ pop3: false });
  });
  after(async () => {
    await e?.close();
  });

  for (const path of ["/.well-known/autoconfig/mail/config-v1.1.xml", "/mail/config-v1.1.xml"]) {
    it(`Thunderbird ${path} lists IMAP and submission with what Thunderbird reads`, async () => {
      const r = await request(e.httpsPort, {
        tls: true,
        path: `${path}?emailaddress=${encodeURIComponent(USER_A)}`,
      });
      assert.equal(r.status, 200, r.body);
      assert.match(String(r.headers["content-type"]), /xml/);
      const doc = parseXml(r.body) as { clientConfig: Record<string, Record<string, unknown>> };
      assert.equal(doc.clientConfig["@version"], "1.1");
      const p = doc.clientConfig.emailProvider!;
      assert.equal(p["@id"], DOMAIN);
      assert.deepEqual(list(p.domain as string | string[]), [DOMAIN]);
      const incoming = list(p.incomingServer as Server | Server[]);
      const outgoing = list(p.outgoingServer as Server | Server[]);
      assert.deepEqual(
        incoming.map((s) => [s["@type"], s.socketType]),
        [
          ["imap", "SSL"],
          ["imap", "STARTTLS"],
        ],
      );
      assert.deepEqual(
        outgoing.map((s) => [s["@type"], s.socketType]),
        [
          ["smtp", "SSL"],
          ["smtp", "STARTTLS"],
        ],
      );
      for (const s of [...incoming, ...outgoing]) {
        assert.equal(s.hostname, "localhost"); // the configured hostname
        assert.match(s.port, /^\d+$/);
        assert.equal(s.authentication, "password-cleartext");
        assert.equal(s.username, "%EMAILADDRESS%");
      }
    });
  }

  it("Thunderbird: the domain from an autoconfig.<domain> Host, over plain HTTP too", async () => {
    const r = await request(e.httpPort, {
      path: "/mail/config-v1.1.xml",
      headers: { Host: `autoconfig.${DOMAIN}` },
    });
    assert.equal(r.status, 200, r.body);
    assert.equal(
      (parseXml(r.body) as { clientConfig: { emailProvider: { "@id": string } } }).clientConfig.emailProvider[
        "@id"
      ],
      DOMAIN,
    );
  });

  it("unknown domains get 404 (autoconfig, autodiscover, MTA-STS)", async () => {
    const a = await request(e.httpsPort, {
      tls: true,
      path: "/mail/config-v1.1.xml?emailaddress=x%40other.test",
    });
    assert.equal(a.status, 404);
    const b = await request(e.httpsPort, { tls: true, path: "/mail/config-v1.1.xml" });
    assert.equal(b.status, 404);
    const c = await request(e.httpsPort, {
      tls: true,
      method: "POST",
      path: "/autodiscover/autodiscover.xml",
      headers: { "Content-Type": "text/xml" },
      body: "<Autodiscover><Request><EMailAddress>x@other.test</EMailAddress></Request></Autodiscover>",
    });
    assert.equal(c.status, 404);
    const d = await request(e.httpsPort, {
      tls: true,
      path: "/.well-known/mta-sts.txt",
      headers: { Host: "mta-sts.other.test" },
    });
    assert.equal(d.status, 404);
  });

  it("Autodiscover POX: Outlook's request gets IMAP and SMTP settings, the address escaped", async () => {
    const addr = USER_A;
    const body =
      '<?xml version="1.0" encoding="utf-8"?>\n<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">' +
      `<Request><EMailAddress>${addr}</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>`;
    const r = await request(e.httpsPort, {
      tls: true,
      method: "POST",
      path: "/autodiscover/autodiscover.xml",
      headers: { "Content-Type": "text/xml" },
      body,
    });
    assert.equal(r.status, 200, r.body);
    const doc = parseXml(r.body) as { Autodiscover: { Response: { Account: Record<string, unknown> } } };
    const acct = doc.Autodiscover.Response.Account;
    assert.equal(acct.AccountType, "email");
    assert.equal(acct.Action, "settings");
    const protos = list(acct.Protocol as Array<Record<string, string>>);
    assert.deepEqual(
      protos.map((p) => p.Type),
      ["IMAP", "SMTP"],
    );
    for (const p of protos) {
      assert.equal(p.Server, "localhost");
      assert.equal(p.LoginName, addr);
      assert.equal(p.SSL, "on");
      assert.match(p.Port!, /^\d+$/);
    }
    assert.equal(protos[0]!.Encryption, "SSL");

    // a request without an address is an Autodiscover error, not a crash
    const bad = await request(e.httpsPort, {
      tls: true,
      method: "POST",
      path: "/autodiscover/autodiscover.xml",
      body: "<x/>",
    });
    assert.equal(bad.status, 400);
    assert.match(bad.body, /<ErrorCode>600<\/ErrorCode>/);
  });

  it("Autodiscover JSON v2 points at the POX endpoint; other protocols are refused", async () => {
    const r = await request(e.httpsPort, {
      tls: true,
      path: `/autodiscover/autodiscover.json?Email=${encodeURIComponent(USER_A)}&Protocol=AutodiscoverV1`,
    });
    assert.equal(r.status, 200, r.body);
    const j = JSON.parse(r.body) as { Protocol: string; Url: string };
    assert.equal(j.Protocol, "AutodiscoverV1");
    assert.equal(new URL(j.Url).pathname, "/autodiscover/autodiscover.xml");
    assert.equal(new URL(j.Url).protocol, "https:");
    const v1 = await request(e.httpsPort, {
      tls: true,
      path: `/autodiscover/autodiscover.json/v1.0/${encodeURIComponent(USER_A)}?Protocol=AutodiscoverV1`,
    });
    assert.equal(v1.status, 200);
    const ews = await request(e.httpsPort, {
      tls: true,
      path: `/autodiscover/autodiscover.json?Email=${encodeURIComponent(USER_A)}&Protocol=EWS`,
    });
    assert.equal(ews.status, 400);
    assert.equal((JSON.parse(ews.body) as { ErrorCode: string }).ErrorCode, "InvalidProtocol");
  });

  it("MTA-STS policy for mta-sts.<domain> matches the record `postkontor dns` prints (RFC 8461)", async () => {
    // curl (Debian's) as the fetching client: HTTPS, Host of the policy host
    const c = await run("curl", [
      "-sS",
      "-k",
      "-D",
      "-",
      "--resolve",
      `mta-sts.${DOMAIN}:${e.httpsPort}:127.0.0.1`,
      `https://mta-sts.${DOMAIN}:${e.httpsPort}/.well-known/mta-sts.txt`,
    ]);
    assert.equal(c.code, 0, c.stderr);
    const out = c.stdout.toString();
    const split = out.indexOf("\r\n\r\n");
    const head = out.slice(0, split);
    const body = out.slice(split + 4);
    assert.match(head, /^HTTP\/1\.1 200/);
    assert.match(head, /content-type: text\/plain/i);
    assert.match(head, /strict-transport-security: max-age=/i);
    const fields = Object.fromEntries(
      body
        .split("\r\n")
        .filter(Boolean)
        .map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]),
    );
    assert.equal(fields.version, "STSv1");
    assert.equal(fields.mode, "testing");
    assert.equal(fields.mx, "localhost");
    assert.equal(fields.max_age, String(7 * 86400));
    const dns = await e.cli(["dns", DOMAIN]);
    assert.equal(dns.code, 0, dns.stderr);
    const text = dns.stdout.toString();
    assert.match(text, /v=STSv1; id=[0-9a-f]{20}/);
    assert.ok(text.includes("mode: testing"), text);
  });

  it("Apple profile: 401 without credentials, a plist for the logged-in user, 403 over plain HTTP", async () => {
    const none = await request(e.httpsPort, { tls: true, path: "/mail.mobileconfig" });
    assert.equal(none.status, 401);
    assert.match(String(none.headers["www-authenticate"]), /^Basic realm=/);
    const auth = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString("base64")}`;
    const wrong = await request(e.httpsPort, {
      tls: true,
      path: "/mail.mobileconfig",
      headers: { Authorization: auth(USER_A, "wrong password") },
    });
    assert.equal(wrong.status, 401);
    const plain = await request(e.httpPort, {
      path: "/mail.mobileconfig",
      headers: { Authorization: auth(USER_A, PASS_A) },
    });
    assert.equal(plain.status, 403);
    const r = await request(e.httpsPort, {
      tls: true,
      path: "/mail.mobileconfig",
      headers: { Authorization: auth(USER_A, PASS_A) },
    });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.headers["content-type"], "application/x-apple-aspen-config");
    const doc = parseXml(r.body) as {
      plist: {
        dict: { key: string[]; array: { dict: { key: string[]; string: string[]; integer: string[] } } };
      };
    };
    const top = doc.plist.dict;
    assert.ok(top.key.includes("PayloadUUID"));
    const mail = top.array.dict;
    const keys = mail.key;
    for (const k of [
      "EmailAccountType",
      "EmailAddress",
      "IncomingMailServerHostName",
      "IncomingMailServerPortNumber",
      "OutgoingMailServerHostName",
      "PayloadType",
    ])
      assert.ok(keys.includes(k), `missing ${k}`);
    assert.ok(mail.string.includes("com.apple.mail.managed"));
    assert.ok(mail.string.includes("EmailTypeIMAP"));
    assert.ok(mail.string.includes(USER_A));
    assert.equal(mail.integer.length, 3); // two ports and PayloadVersion
    assert.ok(!r.body.includes(PASS_A), "the password is not in the profile");
  });
});
