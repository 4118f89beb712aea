/**
 * Drafts in the webmail's compose view, through the app: autosaved to Drafts a few seconds after
 * typing stops ($draft $seen), each version replacing the previous one (attachments carried from
 * the saved draft), saved on Escape with focus given back; then, through the harness (the app
 * has no way yet to open a draft into compose), the draft edited again and discarded.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  emailIdBySubject,
  eventually,
  type Harness,
  header,
  imapMessages,
  jmapEmail,
  openApp,
  openCompose,
  openHarness,
  PASS_A,
  startHarness,
  USER_A,
  USER_B,
  withSubject,
} from "./compose-harness.ts";

describe("webmail compose drafts", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  it("autosaves the draft to Drafts, replacing the previous version; Escape closes, discard deletes", async () => {
    const plan = Buffer.from("1. coffee\n2. plans\n");
    const p = await openApp(h, USER_A, PASS_A);
    try {
      const { page } = p;
      const opener = page.getByRole("button", { name: "New message" });
      await opener.click();
      const d = page.getByRole("dialog");
      await d.getByLabel("To", { exact: true }).fill(USER_B);
      await d.getByLabel("Subject").fill("Plans v1");
      await d.getByRole("status").filter({ hasText: "Draft saved" }).waitFor();
      await eventually(
        async () => (await withSubject(h, USER_A, PASS_A, "\\Drafts", "Plans v1")).length === 1,
        "first draft in Drafts",
      );
      const e1 = await jmapEmail(h, USER_A, PASS_A, "Plans v1");
      assert.equal(e1.keywords.$draft, true);
      assert.equal(e1.keywords.$seen, true);

      // an attachment: later versions take it from the saved draft, not from the upload
      await d
        .getByTestId("compose-file")
        .setInputFiles({ name: "plan.txt", mimeType: "text/plain", buffer: plan });
      await d.getByTestId("attachment").filter({ hasText: "plan.txt" }).waitFor();
      await d.getByRole("progressbar").waitFor({ state: "detached" });
      await d.getByLabel("Subject").fill("Plans v2");
      await d.getByRole("textbox", { name: "Message" }).fill("Second version.");
      await eventually(async () => {
        const all = await imapMessages(h, USER_A, PASS_A, "\\Drafts");
        return all.length === 1 && header(all[0]!.source, "Subject") === "Plans v2";
      }, "the draft replaced, not duplicated");
      await d.getByRole("status").filter({ hasText: "Draft saved" }).waitFor();

      // Escape closes (saving); focus goes back to the button that opened it
      await d.getByLabel("Subject").fill("Plans v3");
      await page.keyboard.press("Escape");
      await d.waitFor({ state: "detached" });
      await eventually(
        async () => (await page.evaluate("document.activeElement?.textContent")) === "New message",
        "focus back on the New message button",
      );
      const d3 = await imapMessages(h, USER_A, PASS_A, "\\Drafts");
      assert.deepEqual(
        d3.map((m) => header(m.source, "Subject")),
        ["Plans v3"],
      );
      assert.deepEqual(
        d3[0]!.attachments.map((a) => [a.filename, a.bytes.equals(plan)]),
        [["plan.txt", true]],
      );
      assert.deepEqual(p.errors, []);
    } finally {
      await p.context.close();
    }
    // the draft edited again (the harness: the app opens no draft into compose yet), then discarded
    const hp = await openHarness(h, USER_A, PASS_A);
    try {
      const { page } = hp;
      await openCompose(page, {
        mode: "draft",
        emailId: await emailIdBySubject(h, USER_A, PASS_A, "Plans v3"),
      });
      const d = page.getByRole("dialog");
      assert.equal(await d.getByLabel("To", { exact: true }).inputValue(), USER_B);
      assert.equal(await d.getByRole("textbox", { name: "Message" }).inputValue(), "Second version.");
      await d.getByTestId("attachment").filter({ hasText: "plan.txt" }).waitFor();
      await d.getByLabel("Subject").fill("Plans v4");
      await eventually(async () => {
        const all = await imapMessages(h, USER_A, PASS_A, "\\Drafts");
        return all.length === 1 && header(all[0]!.source, "Subject") === "Plans v4";
      }, "the edited draft replaced the old one");
      const [v4] = await imapMessages(h, USER_A, PASS_A, "\\Drafts");
      assert.ok(v4!.attachments[0]?.bytes.equals(plan), "the attachment carried into the edited draft");
      await d.getByRole("button", { name: "Discard" }).click();
      await d.waitFor({ state: "detached" });
      assert.equal((await imapMessages(h, USER_A, PASS_A, "\\Drafts")).length, 0);
      assert.deepEqual(hp.errors, []);
    } finally {
      await hp.context.close();
    }
  });
});
