/**
 * The webmail's settings view in Chromium against the real server: name and signature saved as
 * the Identity (and carried by a sent message), the vacation reply answering an SMTP message,
 * the password change and app passwords (the server's vendor capability) checked by IMAP logins,
 * and the interface language.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SmtpClient } from "../kit/smtp-client.ts";
import {
  accountId,
  eventually,
  type Harness,
  hasCapability,
  header,
  imapLoginOk,
  imapMessages,
  jmapCalls,
  jmapEmail,
  openApp,
  openAppSettings,
  PASS_A,
  PASS_B,
  startHarness,
  USER_A,
  USER_B,
} from "./compose-harness.ts";

const ACCOUNT_CAP = "urn:postkontor:params:jmap:account";

describe("webmail settings", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  it("saves the display name and signature; a sent message carries them", async () => {
    const p = await openApp(h, USER_A, PASS_A);
    try {
      const { page } = p;
      await openAppSettings(page);
      const section = page.getByRole("region", { name: "Name and signature" });
      await section.getByLabel("Display name").fill("Ann Andersson");
      await section.getByLabel("Signature").fill("Ann\nPostkontor AB");
      await section.getByRole("button", { name: "Save" }).click();
      await section.getByRole("status").filter({ hasText: "Saved" }).waitFor();
      const acc = await accountId(h, USER_A, PASS_A);
      const [[, ids]] = await jmapCalls(h, USER_A, PASS_A, [["Identity/get", { accountId: acc }, "i"]]);
      assert.equal(ids.list[0].name, "Ann Andersson");
      assert.equal(ids.list[0].textSignature, "Ann\nPostkontor AB");

      await page.getByRole("button", { name: "← Back to mail" }).click();
      await page.getByRole("button", { name: "New message" }).click();
      assert.equal(
        await page.getByRole("dialog").getByRole("textbox", { name: "Message" }).inputValue(),
        "\n\n-- \nAnn\nPostkontor AB",
      );
      const dialog = page.getByRole("dialog");
      await dialog.getByLabel("To", { exact: true }).fill(USER_B);
      await dialog.getByLabel("Subject").fill("Signed");
      await page.getByRole("button", { name: "Send" }).click();
      await page.getByRole("dialog").waitFor({ state: "detached" });
      const got = await eventually(async () => {
        const l = await imapMessages(h, USER_B, PASS_B, "INBOX");
        return l.find((m) => header(m.source, "Subject") === "Signed");
      }, "signed message delivered");
      assert.equal(header(got.source, "From"), '"Ann Andersson" <a@example.test>');
      const e = await jmapEmail(h, USER_B, PASS_B, "Signed");
      assert.match(e.text, /-- \r?\nAnn\r?\nPostkontor AB/);
      assert.deepEqual(p.errors, []);
    } finally {
      await p.context.close();
    }
  });

  it("turns the vacation reply on: an SMTP message to the user is answered", async () => {
    const p = await openApp(h, USER_A, PASS_A);
    try {
      const { page } = p;
      await openAppSettings(page);
      const section = page.getByRole("region", { name: "Vacation reply" });
      await section.getByLabel("Send a vacation reply").check();
      await section.getByLabel("Subject").fill("Away this week");
      await section.getByLabel("Message").fill("I am away until Monday.");
      await section.getByRole("button", { name: "Save" }).click();
      await section.getByRole("status").filter({ hasText: "Saved" }).waitFor();
      const acc = await accountId(h, USER_A, PASS_A);
      const [[, v]] = await jmapCalls(h, USER_A, PASS_A, [["VacationResponse/get", { accountId: acc }, "v"]]);
      assert.equal(v.list[0].isEnabled, true);
      assert.equal(v.list[0].subject, "Away this week");

      const c = await SmtpClient.connect(h.e.server.smtpPort);
      try {
        assert.match(await c.cmd("EHLO client.test"), /^250/);
        assert.match(await c.cmd(`MAIL FROM:<${USER_B}>`), /^250/);
        assert.match(await c.cmd(`RCPT TO:<${USER_A}>`), /^250/);
        assert.match(await c.cmd("DATA"), /^354/);
        assert.match(
          await c.cmd(
            `From: <${USER_B}>\r\nTo: <${USER_A}>\r\nSubject: Are you there?\r\nMessage-ID: <q-1@example.test>\r\n\r\nHello?\r\n.`,
          ),
          /^250/,
        );
        await c.cmd("QUIT");
      } finally {
        c.close();
      }
      const reply = await eventually(async () => {
        const l = await imapMessages(h, USER_B, PASS_B, "INBOX");
        return l.find((m) => (header(m.source, "Auto-Submitted") ?? "").startsWith("auto-replied"));
      }, "vacation reply in b's INBOX");
      assert.equal(header(reply.source, "Subject"), "Away this week");
      assert.match(reply.source, /I am away until Monday\./);
      assert.deepEqual(p.errors, []);
    } finally {
      await p.context.close();
    }
  });

  it("changes the password: the new one logs in over IMAP, the old one no longer", async (t) => {
    const user = "c@example.test";
    const pass = "pw-c Secret";
    const r = await h.e.cli(["user", "add", user], `${pass}\n${pass}\n`);
    assert.equal(r.code, 0, r.stderr);
    if (!(await hasCapability(h, user, pass, ACCOUNT_CAP))) {
      t.skip("the server has no urn:postkontor:params:jmap:account capability yet");
      return;
    }
    const p = await openApp(h, user, pass);
    try {
      const { page } = p;
      await openAppSettings(page);
      const section = page.getByRole("region", { name: "Change password" });
      const fill = async (o: string, n: string, rep: string) => {
        await section.getByLabel("Current password").fill(o);
        await section.getByLabel("New password", { exact: true }).fill(n);
        await section.getByLabel("Repeat the new password").fill(rep);
        await section.getByRole("button", { name: "Change password" }).click();
      };
      await fill(pass, "New pw-c Secret 2", "New pw-c Secret 3");
      await section.getByRole("alert").filter({ hasText: "The new passwords do not match." }).waitFor();
      await fill("wrong password", "New pw-c Secret 2", "New pw-c Secret 2");
      await section.getByRole("alert").filter({ hasText: "The current password is wrong." }).waitFor();
      await fill(pass, "New pw-c Secret 2", "New pw-c Secret 2");
      await section.getByRole("status").filter({ hasText: "Password changed" }).waitFor();
      assert.equal(await imapLoginOk(h, user, "New pw-c Secret 2"), true);
      assert.equal(await imapLoginOk(h, user, pass), false);
    } finally {
      await p.context.close();
    }
  });

  it("creates an app password (shown once; IMAP login works) and revokes it (login fails)", async (t) => {
    if (!(await hasCapability(h, USER_A, PASS_A, ACCOUNT_CAP))) {
      t.skip("the server has no urn:postkontor:params:jmap:account capability yet");
      return;
    }
    const p = await openApp(h, USER_A, PASS_A);
    try {
      const { page } = p;
      await openAppSettings(page);
      const section = page.getByRole("region", { name: "App passwords" });
      await section.getByLabel("Name of the app").fill("Thunderbird");
      await section.getByRole("button", { name: "Create app password" }).click();
      const secret = (await section.getByTestId("app-secret").textContent())?.trim() ?? "";
      assert.ok(secret.length >= 12, secret);
      await section.getByTestId("app-password").filter({ hasText: "Thunderbird" }).waitFor();
      assert.equal(await imapLoginOk(h, USER_A, secret), true);
      await section.getByRole("button", { name: "Done" }).click();
      assert.equal(await section.getByTestId("app-secret").count(), 0, "the secret is shown only once");

      await section.getByRole("button", { name: "Revoke: Thunderbird" }).click();
      await page.getByRole("alertdialog").getByRole("button", { name: "Yes, revoke" }).click();
      await section
        .getByTestId("app-password")
        .filter({ hasText: "Thunderbird" })
        .waitFor({ state: "detached" });
      assert.equal(await imapLoginOk(h, USER_A, secret), false);
      assert.deepEqual(p.errors, []);
    } finally {
      await p.context.close();
    }
  });

  it("switches the interface language to Swedish and back", async () => {
    const p = await openApp(h, USER_A, PASS_A);
    try {
      const { page } = p;
      await openAppSettings(page);
      await page.getByRole("region", { name: "Language" }).getByRole("combobox").selectOption("sv");
      await page.getByRole("heading", { name: "Inställningar" }).waitFor();
      await page.getByRole("heading", { name: "Frånvaromeddelande" }).waitFor();
      assert.equal(await page.evaluate("document.documentElement.lang"), "sv");
      await page.getByRole("region", { name: "Språk" }).getByRole("combobox").selectOption("en");
      await page.getByRole("heading", { name: "Settings" }).waitFor();
      assert.deepEqual(p.errors, []);
    } finally {
      await p.context.close();
    }
  });
});
