/**
 * The webmail's compose view in Chromium against the real server: a new message with an
 * attachment (upload progress, delivery with the bytes intact, the sent copy in Sent, no draft
 * left), reply and reply-all headers and recipients, forward with the original's attachment,
 * draft autosave replacing the previous version in Drafts, and address completion from the
 * user's own mail.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { deliver } from "../e2e/helpers.ts";
import {
  emailIdBySubject,
  eventually,
  type Harness,
  header,
  imapMessages,
  jmapEmail,
  openCompose,
  openHarness,
  PASS_A,
  PASS_B,
  startHarness,
  USER_A,
  USER_B,
} from "./compose-harness.ts";

describe("webmail compose", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  it("sends a new message with an attachment: progress shown, bytes intact, copy in Sent, no draft", async () => {
    const p = await openHarness(h, USER_A, PASS_A, { holdUploads: true });
    try {
      const { page } = p;
      await openCompose(page, { mode: "new" });
      // focus moved into the view: the empty To field
      await eventually(
        async () => (await page.evaluate(() => document.activeElement?.id)) === "pk-compose-to",
        "focus in To",
      );
      await page.getByLabel("To", { exact: true }).fill(USER_B);
      await page.getByLabel("Subject").fill("Quarterly figures");
      await page.getByRole("textbox", { name: "Message" }).fill("Here they are.\n");
      const bytes = Buffer.alloc(300_000);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 8)) & 0xff;
      await page
        .getByTestId("compose-file")
        .setInputFiles({ name: "figures.bin", mimeType: "application/octet-stream", buffer: bytes });
      const bar = page.getByRole("progressbar", { name: "Uploading figures.bin" });
      await bar.waitFor();
      p.releaseUploads();
      await bar.waitFor({ state: "detached" });
      await page.getByRole("button", { name: "Send" }).click();
      await page.getByRole("dialog").waitFor({ state: "detached" });
      await page.getByText("Message sent").waitFor();

      const inbox = await eventually(async () => {
        const l = await imapMessages(h, USER_B, PASS_B, "INBOX");
        return l.find((m) => header(m.source, "Subject") === "Quarterly figures");
      }, "delivered to b");
      assert.equal(inbox.attachments.length, 1);
      assert.equal(inbox.attachments[0]!.filename, "figures.bin");
      assert.ok(inbox.attachments[0]!.bytes.equals(bytes), "attachment bytes intact");
      assert.match(header(inbox.source, "From") ?? "", /a@example\.test/);

      const sent = await imapMessages(h, USER_A, PASS_A, "\\Sent");
      assert.equal(sent.filter((m) => header(m.source, "Subject") === "Quarterly figures").length, 1);
      const drafts = await imapMessages(h, USER_A, PASS_A, "\\Drafts");
      assert.equal(drafts.length, 0, "no draft left");
      const e = await jmapEmail(h, USER_A, PASS_A, "Quarterly figures");
      assert.equal(e.keywords.$draft, undefined);
      assert.deepEqual(p.errors, []);
    } finally {
      await p.context.close();
    }
  });
});
