/**
 * authnInput: mailauth gets the header block alone only when no header field is a DKIM signature
 * or part of an ARC set — and then its verdict is the one the whole message gets.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { authenticate } from "mailauth";
import { authnInput, checkSender } from "./authn.ts";

const BODY = "Hello, this is the body.\r\n".repeat(40);
const msg = (head: string) => Buffer.from(`${head}\r\n${BODY}`);
const UNSIGNED =
  "From: A <a@sender.example>\r\nTo: b@example.com\r\nSubject: hi\r\n" +
  "Date: Mon, 2 Jun 2025 10:00:00 +0000\r\nMessage-ID: <x@sender.example>\r\n";

const TXT: Record<string, string[]> = {
  "sender.example": ["v=spf1 ip4:192.0.2.1 -all"],
  "_dmarc.sender.example": ["v=DMARC1; p=reject"],
};
const resolver = async (name: string, type: string) => {
  const r = type === "TXT" ? TXT[name] : undefined;
  if (r) return r.map((t) => [t]);
  throw Object.assign(new Error(`${type} ${name}: ENOTFOUND`), { code: "ENOTFOUND" });
};

describe("sender authentication input", () => {
  test("an unsigned message: the header block with its empty line", () => {
    const m = msg(UNSIGNED);
    assert.equal(authnInput(m).toString("latin1"), `${UNSIGNED}\r\n`);
  });

  test("a DKIM signature or an ARC field, in any case, keeps the whole message", () => {
    for (const f of [
      "DKIM-Signature: v=1; d=x",
      "dkim-signature: v=1",
      "ARC-Seal: i=1",
      "arc-authentication-results: i=1",
    ]) {
      const m = msg(`${UNSIGNED}${f}\r\n`);
      assert.equal(authnInput(m).length, m.length, f);
    }
  });

  test("a continuation line that reads like a field name is not a field", () => {
    const m = msg(`${UNSIGNED}X-Note: folded\r\n dkim-signature: not a field\r\n`);
    assert.ok(authnInput(m).length < m.length);
  });

  test("no empty line (no body): the message as it is", () => {
    const m = Buffer.from(UNSIGNED);
    assert.equal(authnInput(m).length, m.length);
  });

  test("the verdict of the header block equals mailauth's on the whole message", async () => {
    for (const ip of ["192.0.2.1", "198.51.100.7"]) {
      const m = msg(UNSIGNED);
      const opts = { ip, helo: "client.test", sender: "a@sender.example", mta: "mx.test", resolver };
      const whole = await authenticate(m, { ...opts, disableBimi: true } as never);
      const ours = await checkSender({ message: m, ...opts });
      assert.equal(ours.headers, whole.headers, ip);
      assert.equal(ours.dmarc, whole.dmarc ? whole.dmarc.status.result : "none");
    }
  });
});
