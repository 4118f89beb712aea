/** `postkontor dns`: the records for a hosted domain and the --check comparison (fixture resolver). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkRecord, dnsRecords, formatZone } from "../../src/cli/outbound.ts";
import { configSchema, type ResolvedConfig } from "../../src/config/index.ts";
import { mtaStsId } from "../../src/http/mta-sts.ts";
import { fixtureResolver } from "../../src/smtp/queue/index.ts";

function config(): ResolvedConfig {
  const c = configSchema.parse({
    hostname: "mail.example.net",
    imap: { listen: ["0.0.0.0:143"], listen_tls: ["0.0.0.0:993"] },
    pop3: { enabled: false },
    smtp: { submission: ["0.0.0.0:587"], submissions: ["0.0.0.0:465"] },
  });
  return { ...c, source: null, paths: { feedSocket: "/nonexistent", tlsDir: "/nonexistent" } };
}

test("records: MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT, RFC 6186 SRV, autoconfig", () => {
  const long = `v=DKIM1; k=rsa; p=${"A".repeat(400)}`;
  const recs = dnsRecords(config(), "Example.ORG", [
    ["sel1", "v=DKIM1; k=ed25519; p=abc="],
    ["sel2", long],
  ]);
  const by = (name: string, type: string) =>
    recs.filter((r) => r.name === name && r.type === type).map((r) => r.value);
  assert.deepEqual(by("example.org", "MX"), ["10 mail.example.net."]);
  assert.deepEqual(by("example.org", "TXT"), ["v=spf1 mx -all"]);
  assert.deepEqual(by("sel1._domainkey.example.org", "TXT"), ["v=DKIM1; k=ed25519; p=abc="]);
  assert.match(by("_dmarc.example.org", "TXT")[0]!, /^v=DMARC1; p=quarantine/);
  // the id is derived from the policy text the HTTP service serves, so record and file agree
  const id = mtaStsId(config());
  assert.match(id, /^[0-9a-f]{20}$/);
  assert.deepEqual(by("_mta-sts.example.org", "TXT"), [`v=STSv1; id=${id}`]);
  assert.deepEqual(by("_imap._tcp.example.org", "SRV"), ["0 1 143 mail.example.net."]);
  assert.deepEqual(by("_imaps._tcp.example.org", "SRV"), ["0 1 993 mail.example.net."]);
  assert.deepEqual(by("_submission._tcp.example.org", "SRV"), ["0 1 587 mail.example.net."]);
  assert.deepEqual(by("_submissions._tcp.example.org", "SRV"), ["0 1 465 mail.example.net."]);
  // RFC 6186 §4: a service that is not offered is published with target "."
  assert.deepEqual(by("_pop3._tcp.example.org", "SRV"), ["0 0 0 ."]);
  assert.deepEqual(by("autoconfig.example.org", "CNAME"), ["mail.example.net."]);
  // TXT longer than 255 octets is split into several strings (RFC 1035 §3.3.14)
  const zone = formatZone(recs);
  const line = zone.split("\n").find((l) => l.startsWith("sel2._domainkey"))!;
  const strings = [...line.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
  assert.ok(strings.length >= 2 && strings.every((x) => x.length <= 255));
  assert.equal(strings.join(""), long);
});

test("--check: ok, missing and differing records", async () => {
  const recs = dnsRecords(config(), "example.org", [["sel1", "v=DKIM1; k=ed25519; p=abc="]]);
  const resolver = fixtureResolver({
    MX: { "example.org": [{ exchange: "mail.example.net", priority: 10 }] },
    TXT: {
      "example.org": ["v=spf1 a -all", "google-site-verification=x"],
      "sel1._domainkey.example.org": [["v=DKIM1; k=ed25519; ", "p=abc="]],
    },
    SRV: { "_imaps._tcp.example.org": [{ priority: 0, weight: 1, port: 993, name: "mail.example.net" }] },
  });
  const check = async (name: string, type: string) =>
    checkRecord(resolver, recs.find((r) => r.name === name && r.type === type)!);
  assert.equal(await check("example.org", "MX"), "ok");
  assert.equal(await check("sel1._domainkey.example.org", "TXT"), "ok", "TXT chunks are joined");
  assert.equal(await check("_imaps._tcp.example.org", "SRV"), "ok");
  assert.equal(await check("example.org", "TXT"), "differs: v=spf1 a -all");
  assert.match(await check("_dmarc.example.org", "TXT"), /^missing/);
});
