/**
 * mailauth loaded by the sender checks without its BIMI modules (mailauth-without-bimi.ts): the
 * stand-ins are what mailauth got, VMC validation and undici are not loaded, and a check still
 * gives its verdict. Its own file: mailauth must not be loaded before (authn.test.ts imports it).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { requireCjs } from "../net/without-fetch.ts";
import { checkSender, loadSenderChecks } from "./authn.ts";

const resolver = async (name: string, type: string) => {
  if (type === "TXT" && name === "sender.example") return [["v=spf1 ip4:192.0.2.1 -all"]];
  if (type === "TXT" && name === "_dmarc.sender.example") return [["v=DMARC1; p=reject"]];
  throw Object.assign(new Error(`${type} ${name}: ENOTFOUND`), { code: "ENOTFOUND" });
};

test("the sender checks load mailauth without its BIMI code and still check", async () => {
  await loadSenderChecks();
  const files = Object.keys(requireCjs.cache);
  assert.ok(
    files.some((f) => f.endsWith("/mailauth/lib/mailauth.js")),
    "mailauth is loaded",
  );
  assert.ok(!files.some((f) => f.includes("/@postalsys/vmc/")), "no VMC validation");
  assert.ok(!files.some((f) => f.includes("/node_modules/undici/")), "no undici");
  const bimi = requireCjs("mailauth/lib/bimi/index.js") as { bimi(): unknown };
  assert.throws(() => bimi.bimi(), /BIMI is off/);

  const message = Buffer.from(
    "From: A <a@sender.example>\r\nTo: b@example.com\r\nSubject: hi\r\nMessage-ID: <x@sender.example>\r\n\r\nHello.\r\n",
  );
  const common = { message, helo: "client.test", sender: "a@sender.example", mta: "mx.test", resolver };
  const pass = await checkSender({ ...common, ip: "192.0.2.1" });
  assert.equal(pass.spf, "pass");
  assert.equal(pass.dmarc, "pass");
  assert.match(pass.headers, /Authentication-Results: mx\.test;/);
  const fail = await checkSender({ ...common, ip: "198.51.100.7" });
  assert.equal(fail.spf, "fail");
  assert.equal(fail.action, "reject");
});
