/**
 * App passwords end to end: `postkontor user app-password add|list|del`, the secret working for
 * IMAP (imapflow), SMTP submission (AUTH PLAIN) and the HTTP profile next to the main password,
 * its last use listed, and a revoked one refused at once.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { imapClient } from "../e2e/helpers.ts";
import { SmtpClient } from "../kit/smtp-client.ts";
import { type HttpE2E, PASS_A, request, startHttpE2E, USER_A } from "./helpers.ts";

async function imapLogin(e: HttpE2E, pass: string): Promise<boolean> {
  const { client } = imapClient(e, { pass });
  try {
    await client.connect();
    await client.logout();
    return true;
  } catch {
    return false;
  }
}

async function submissionAuth(e: HttpE2E, pass: string): Promise<string> {
  const port = await submissionPort(e);
  const c = await SmtpClient.connect(port);
  try {
    await c.cmd("EHLO client.test");
    // loopback: AUTH before STARTTLS only with allow_plaintext_auth (set in this test's config)
    return await c.cmd(`AUTH PLAIN ${Buffer.from(`\0${USER_A}\0${pass}`).toString("base64")}`);
  } finally {
    c.close();
  }
}

async function submissionPort(e: HttpE2E): Promise<number> {
  const l = await e.server.waitForLog(
    (l) => typeof l.msg === "string" && l.msg.startsWith("submission listening on "),
  );
  return Number(String(l.msg).split(":").pop());
}

describe("app passwords", () => {
  let e: HttpE2E;
  before(async () => {
    e = await startHttpE2E({ smtpToml: "allow_plaintext_auth = true" });
  });
  after(async () => {
    await e?.close();
  });

  it("add prints a secret that logs in to IMAP, SMTP and HTTP; list shows the last use; del revokes", async () => {
    const add = await e.cli(["user", "app-password", "add", USER_A, "phone"]);
    assert.equal(add.code, 0, add.stderr);
    const secret = add.stdout.toString().trim();
    assert.match(secret, /^[a-z]{4}(-[a-z]{4}){4}$/);
    const dup = await e.cli(["user", "app-password", "add", USER_A, "phone"]);
    assert.notEqual(dup.code, 0);

    const fresh = await e.cli(["user", "app-password", "list", USER_A]);
    assert.match(fresh.stdout.toString(), /^phone\tcreated \S+\tnever used\n$/);

    assert.equal(await imapLogin(e, secret), true);
    assert.equal(await imapLogin(e, PASS_A), true, "the main password still works");
    assert.match(await submissionAuth(e, secret), /^235/);
    const profile = await request(e.httpsPort, {
      tls: true,
      path: "/mail.mobileconfig",
      headers: { Authorization: `Basic ${Buffer.from(`${USER_A}:${secret}`).toString("base64")}` },
    });
    assert.equal(profile.status, 200);

    const used = await e.cli(["user", "app-password", "list", USER_A]);
    assert.match(used.stdout.toString(), /^phone\tcreated \S+\tlast used \S+ \((imap|smtp|http)\)\n$/);

    const del = await e.cli(["user", "app-password", "del", USER_A, "phone"]);
    assert.equal(del.code, 0, del.stderr);
    assert.equal(await imapLogin(e, secret), false, "a revoked app password is refused at once");
    assert.match(await submissionAuth(e, secret), /^535/);
    const again = await e.cli(["user", "app-password", "del", USER_A, "phone"]);
    assert.equal(again.code, 67);
    assert.equal((await e.cli(["user", "app-password", "list", USER_A])).stdout.toString(), "");
  });
});
