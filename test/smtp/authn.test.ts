/**
 * Inbound SPF/DKIM/DMARC through mailauth with a DNS fixture resolver, over real MX sockets:
 * signed mail passes, tampered mail fails, DMARC reject and quarantine, strict alignment.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { dkimSign } from "mailauth";
import { mailboxMessages, RawClient, startSmtp, type TestSmtp, totalMessages } from "./helpers.ts";

const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const PRIV = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const PUB = publicKey.export({ type: "spki", format: "der" }).toString("base64");
const DKIM = `v=DKIM1; k=rsa; p=${PUB}`;

const DNS = {
  // signed.example: DKIM + SPF, p=reject
  "sel._domainkey.signed.example": [DKIM],
  "signed.example": ["v=spf1 ip4:127.0.0.1 -all"],
  "_dmarc.signed.example": ["v=DMARC1; p=reject"],
  // quarantine.example: p=quarantine, no SPF authorisation for us
  "sel._domainkey.quarantine.example": [DKIM],
  "quarantine.example": ["v=spf1 ip4:192.0.2.1 -all"],
  "_dmarc.quarantine.example": ["v=DMARC1; p=quarantine"],
  // strict.example: strict DKIM and SPF alignment
  "sel._domainkey.strict.example": [DKIM],
  "strict.example": ["v=spf1 ip4:127.0.0.1 -all"],
  "_dmarc.strict.example": ["v=DMARC1; p=reject; adkim=s; aspf=s"],
  // relaxed.example: same layout, default (relaxed) alignment
  "sel._domainkey.relaxed.example": [DKIM],
  "relaxed.example": ["v=spf1 ip4:127.0.0.1 -all"],
  "_dmarc.relaxed.example": ["v=DMARC1; p=reject"],
  // an unrelated envelope domain whose SPF passes for us
  "bounces.other.example": ["v=spf1 ip4:127.0.0.1 -all"],
};

function message(from: string, subject: string): Buffer {
  return Buffer.from(
    `From: ${from}\r\nTo: alice@example.com\r\nSubject: ${subject}\r\nDate: Mon, 2 Jun 2025 10:00:00 +0000\r\n` +
      `Message-ID: <${subject.replace(/\W/g, "")}@test>\r\n\r\nHello, this is the body.\r\n`,
  );
}

async function sign(msg: Buffer, domain: string): Promise<Buffer> {
  const r = await dkimSign(msg, {
    signatureData: [{ signingDomain: domain, selector: "sel", privateKey: PRIV }],
  } as never);
  assert.ok(r.signatures.length > 0, "signed");
  return Buffer.concat([Buffer.from(r.signatures), msg]);
}

async function send(t: TestSmtp, mailFrom: string, data: Buffer): Promise<string> {
  const c = await RawClient.connect(t.mxPort);
  await c.cmd("EHLO client.test");
  assert.match(await c.cmd(`MAIL FROM:<${mailFrom}>`), /^250/);
  assert.match(await c.cmd("RCPT TO:<alice@example.com>"), /^250/);
  assert.match(await c.cmd("DATA"), /^354/);
  c.write(data);
  const r = await c.cmd(".");
  c.close();
  return r;
}

function lastAr(msgs: Buffer[]): string {
  const text = msgs.at(-1)!.toString("latin1");
  const m = /Authentication-Results: [^\r\n]*(?:\r\n[ \t][^\r\n]*)*/.exec(text);
  assert.ok(m, "Authentication-Results present");
  return m[0];
}

describe("SMTP MX sender authentication (mailauth, fixture DNS)", () => {
  let t: TestSmtp;
  before(async () => {
    t = await startSmtp({ authn: true, dns: DNS });
  });
  after(async () => {
    await t.close();
  });

  test("signed, SPF-authorised mail passes DKIM, SPF and DMARC; headers sit beside the blob", async () => {
    const raw = await sign(message("news@signed.example", "signed ok"), "signed.example");
    assert.match(await send(t, "news@signed.example", raw), /^250 2\.0\.0/);
    const msgs = await mailboxMessages(t.store, "alice@example.com");
    const ar = lastAr(msgs);
    assert.match(ar, /^Authentication-Results: mx\.test;/);
    assert.match(ar, /dkim=pass/);
    assert.match(ar, /spf=pass/);
    assert.match(ar, /dmarc=pass/);
    assert.ok(
      msgs
        .at(-1)!
        .subarray(msgs.at(-1)!.length - raw.length)
        .equals(raw),
      "blob unchanged",
    );
  });

  test("tampered body fails DKIM; with an unaligned SPF pass, DMARC p=reject → 550 5.7.1, nothing stored", async () => {
    const raw = await sign(message("news@signed.example", "tampered"), "signed.example");
    const tampered = Buffer.from(raw.toString("latin1").replace("Hello, this", "Hello, THAT"), "latin1");
    const before = await totalMessages(t.store);
    assert.match(await send(t, "b@bounces.other.example", tampered), /^550 5\.7\.1 /);
    assert.equal(await totalMessages(t.store), before);
  });

  test("tampered mail whose envelope sender aligns still passes DMARC through SPF, but shows DKIM not passing", async () => {
    const raw = await sign(message("news@signed.example", "tampered aligned"), "signed.example");
    const tampered = Buffer.from(raw.toString("latin1").replace("Hello, this", "Hello, THAT"), "latin1");
    assert.match(await send(t, "news@signed.example", tampered), /^250/);
    const ar = lastAr(await mailboxMessages(t.store, "alice@example.com"));
    // mailauth (lenient mode) reports a body-hash mismatch as neutral: anything but pass
    assert.match(ar, /dkim=(fail|neutral) \(body hash did not verify\)/);
    assert.match(ar, /dmarc=pass/);
  });

  test("DMARC p=quarantine failure is delivered to Junk", async () => {
    const junkBefore = (await mailboxMessages(t.store, "alice@example.com", "Junk")).length;
    const inboxBefore = (await mailboxMessages(t.store, "alice@example.com")).length;
    // unsigned, SPF fails for 127.0.0.1 → DMARC fail
    assert.match(
      await send(t, "x@quarantine.example", message("x@quarantine.example", "quarantined")),
      /^250/,
    );
    const junk = await mailboxMessages(t.store, "alice@example.com", "Junk");
    assert.equal(junk.length, junkBefore + 1);
    assert.match(lastAr(junk), /dmarc=fail/);
    assert.equal((await mailboxMessages(t.store, "alice@example.com")).length, inboxBefore);
  });

  test("strict alignment: a subdomain From with parent-domain DKIM/SPF fails adkim=s/aspf=s, passes relaxed", async () => {
    // d=strict.example and MAIL FROM @strict.example, but From: @mail.strict.example
    const strict = await sign(message("news@mail.strict.example", "strict"), "strict.example");
    const before = await totalMessages(t.store);
    assert.match(await send(t, "b@strict.example", strict), /^550 5\.7\.1 /);
    assert.equal(await totalMessages(t.store), before);
    // the same layout under relaxed alignment is accepted (organizational domains match)
    const relaxed = await sign(message("news@mail.relaxed.example", "relaxed"), "relaxed.example");
    assert.match(await send(t, "b@relaxed.example", relaxed), /^250/);
    const ar = lastAr(await mailboxMessages(t.store, "alice@example.com"));
    assert.match(ar, /dmarc=pass/);
  });

  test("a forged Authentication-Results claiming us is renamed after DKIM verified the bytes as signed", async () => {
    // the signer covered a header that claims our authserv-id (h= includes it): DKIM must still
    // be checked on the message as received, and the stored copy must not carry the claim
    const msg = Buffer.concat([
      Buffer.from("Authentication-Results: mx.test; dkim=pass header.d=bank.example\r\n"),
      message("news@signed.example", "forged ar"),
    ]);
    const raw = await sign(msg, "signed.example");
    // and one added after signing, in front (what a spammer relay would do)
    const sent = Buffer.concat([Buffer.from("Authentication-Results: MX.TEST; dmarc=pass\r\n"), raw]);
    assert.match(await send(t, "news@signed.example", sent), /^250 2\.0\.0/);
    const stored = (await mailboxMessages(t.store, "alice@example.com")).at(-1)!.toString("latin1");
    const header = stored.slice(0, stored.indexOf("\r\n\r\n"));
    const ours = header.match(/^Authentication-Results: mx\.test;/gim) ?? [];
    assert.equal(ours.length, 1, header);
    assert.match(lastAr([Buffer.from(stored, "latin1")]), /dkim=pass/);
    assert.equal(header.match(/^X-Original-Authentication-Results: /gim)?.length, 2, header);
    const expected = sent
      .toString("latin1")
      .replace(/^Authentication-Results: /gim, "X-Original-Authentication-Results: ");
    assert.ok(stored.endsWith(expected), "only the two field names changed");
  });
});
