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
        async () => (await page.evaluate("document.activeElement?.id")) === "pk-compose-to",
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

  function raw(o: {
    from: string;
    to: string;
    cc?: string;
    subject: string;
    id: string;
    refs?: string;
    body: string;
    attachment?: { name: string; bytes: Buffer };
  }): Buffer {
    const head =
      `From: ${o.from}\r\nTo: ${o.to}\r\n${o.cc ? `Cc: ${o.cc}\r\n` : ""}Subject: ${o.subject}\r\n` +
      `Date: Tue, 01 Dec 2026 09:30:00 +0000\r\nMessage-ID: <${o.id}>\r\n${o.refs ? `References: ${o.refs}\r\n` : ""}MIME-Version: 1.0\r\n`;
    if (!o.attachment) return Buffer.from(`${head}Content-Type: text/plain; charset=utf-8\r\n\r\n${o.body}`);
    const b64 = (o.attachment.bytes.toString("base64").match(/.{1,76}/g) ?? []).join("\r\n");
    return Buffer.from(
      `${head}Content-Type: multipart/mixed; boundary="XX"\r\n\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${o.body}\r\n` +
        `--XX\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="${o.attachment.name}"\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}\r\n--XX--\r\n`,
    );
  }

  async function sendAndWait(page: import("playwright-core").Page): Promise<void> {
    await page.getByRole("button", { name: "Send" }).click();
    await page.getByRole("dialog").waitFor({ state: "detached" });
  }

  it("reply and reply-all: recipients, Re: once, In-Reply-To and References, the quote", async () => {
    await deliver(
      h.e,
      USER_A,
      raw({
        from: "Bee <b@example.test>",
        to: USER_A,
        cc: "Carol <carol@remote.test>",
        subject: "Lunch plans",
        id: "lunch-1@example.test",
        refs: "<earlier-0@example.test>",
        body: "Shall we meet at noon?\r\n",
      }),
    );
    await deliver(
      h.e,
      USER_A,
      raw({
        from: "Bee <b@example.test>",
        to: `${USER_A}, Dee <d@remote.test>`,
        cc: "Carol <carol@remote.test>",
        subject: "Re: Dinner",
        id: "dinner-2@example.test",
        body: "And dinner?\r\n",
      }),
    );
    const p = await openHarness(h, USER_A, PASS_A);
    try {
      const { page } = p;
      await openCompose(page, {
        mode: "reply",
        emailId: await emailIdBySubject(h, USER_A, PASS_A, "Lunch plans"),
      });
      const to = page.getByLabel("To", { exact: true });
      assert.equal(await to.inputValue(), "Bee <b@example.test>");
      assert.equal(await page.getByLabel("Subject").inputValue(), "Re: Lunch plans");
      const body = page.getByRole("textbox", { name: "Message" });
      const text = await body.inputValue();
      assert.match(text, /Bee wrote:\n> Shall we meet at noon\?/);
      // focus in the body, at its start: the answer goes above the quote
      await eventually(
        async () => (await page.evaluate("document.activeElement?.id")) === "pk-compose-body",
        "focus in body",
      );
      await page.keyboard.type("Noon is fine.");
      await sendAndWait(page);
      const reply = await eventually(
        async () =>
          (await imapMessages(h, USER_B, PASS_B, "INBOX")).find(
            (m) => header(m.source, "Subject") === "Re: Lunch plans",
          ),
        "reply delivered",
      );
      assert.equal(header(reply.source, "In-Reply-To"), "<lunch-1@example.test>");
      assert.equal(header(reply.source, "References"), "<earlier-0@example.test> <lunch-1@example.test>");
      assert.equal(header(reply.source, "To"), '"Bee" <b@example.test>');
      assert.equal(header(reply.source, "Cc"), null);
      const got = await jmapEmail(h, USER_B, PASS_B, "Re: Lunch plans");
      assert.ok(got.text.startsWith("Noon is fine."), got.text);
      assert.match(got.text, /> Shall we meet at noon\?/);

      await openCompose(page, {
        mode: "replyAll",
        emailId: await emailIdBySubject(h, USER_A, PASS_A, "Re: Dinner"),
      });
      assert.equal(await page.getByLabel("Subject").inputValue(), "Re: Dinner");
      assert.equal(
        await page.getByLabel("To", { exact: true }).inputValue(),
        "Bee <b@example.test>, Dee <d@remote.test>",
      );
      assert.equal(await page.getByLabel("Cc", { exact: true }).inputValue(), "Carol <carol@remote.test>");
      await sendAndWait(page);
      const all = await eventually(
        async () =>
          (await imapMessages(h, USER_B, PASS_B, "INBOX")).find(
            (m) => header(m.source, "Subject") === "Re: Dinner",
          ),
        "reply-all delivered",
      );
      assert.equal(header(all.source, "In-Reply-To"), "<dinner-2@example.test>");
      assert.equal(header(all.source, "References"), "<dinner-2@example.test>");
      assert.ok(!(header(all.source, "To") ?? "").includes(USER_A), "own address left out");
      assert.match(header(all.source, "Cc") ?? "", /carol@remote\.test/);
      assert.deepEqual(p.errors, []);
    } finally {
      await p.context.close();
    }
  });

  it("forward carries the original's attachment and quotes it inline", async () => {
    const pdf = Buffer.from("%PDF-1.4\n" + "x".repeat(5000) + "\n%%EOF\n");
    await deliver(
      h.e,
      USER_A,
      raw({
        from: "Shop <shop@remote.test>",
        to: USER_A,
        subject: "Your invoice",
        id: "inv-3@remote.test",
        body: "Invoice attached.\r\n",
        attachment: { name: "invoice.pdf", bytes: pdf },
      }),
    );
    const p = await openHarness(h, USER_A, PASS_A);
    try {
      const { page } = p;
      await openCompose(page, {
        mode: "forward",
        emailId: await emailIdBySubject(h, USER_A, PASS_A, "Your invoice"),
      });
      assert.equal(await page.getByLabel("Subject").inputValue(), "Fwd: Your invoice");
      await page.getByTestId("attachment").filter({ hasText: "invoice.pdf" }).waitFor();
      await page.getByLabel("To", { exact: true }).fill(USER_B);
      await sendAndWait(page);
      const fwd = await eventually(
        async () =>
          (await imapMessages(h, USER_B, PASS_B, "INBOX")).find(
            (m) => header(m.source, "Subject") === "Fwd: Your invoice",
          ),
        "forward delivered",
      );
      assert.equal(fwd.attachments.length, 1);
      assert.equal(fwd.attachments[0]!.filename, "invoice.pdf");
      assert.ok(fwd.attachments[0]!.bytes.equals(pdf), "the original's attachment, bytes intact");
      const got = await jmapEmail(h, USER_B, PASS_B, "Fwd: Your invoice");
      assert.match(got.text, /Forwarded message/);
      assert.match(got.text, /Invoice attached\./);
      assert.deepEqual(p.errors, []);
    } finally {
      await p.context.close();
    }
  });

  it("autosaves the draft to Drafts, replacing the previous version; Escape closes, discard deletes", async () => {
    const p = await openHarness(h, USER_A, PASS_A);
    try {
      const { page } = p;
      await page.locator("#opener").focus();
      await openCompose(page, { mode: "new" });
      await page.getByLabel("To", { exact: true }).fill(USER_B);
      await page.getByLabel("Subject").fill("Plans v1");
      await page.getByRole("status").filter({ hasText: "Draft saved" }).waitFor();
      const v1 = await eventually(async () => {
        const d = await imapMessages(h, USER_A, PASS_A, "\\Drafts");
        return d.length === 1 && header(d[0]!.source, "Subject") === "Plans v1" && d;
      }, "first draft in Drafts");
      assert.equal(v1.length, 1);
      const e1 = await jmapEmail(h, USER_A, PASS_A, "Plans v1");
      assert.equal(e1.keywords.$draft, true);
      assert.equal(e1.keywords.$seen, true);

      await page.getByLabel("Subject").fill("Plans v2");
      await page.getByRole("textbox", { name: "Message" }).fill("Second version.");
      await eventually(async () => {
        const d = await imapMessages(h, USER_A, PASS_A, "\\Drafts");
        return d.length === 1 && header(d[0]!.source, "Subject") === "Plans v2";
      }, "the draft replaced, not duplicated");

      // Escape closes (saving); focus goes back to where it was
      await page.getByLabel("Subject").fill("Plans v3");
      await page.keyboard.press("Escape");
      await page.getByRole("dialog").waitFor({ state: "detached" });
      assert.equal(await page.evaluate("document.activeElement?.id"), "opener");
      const d3 = await imapMessages(h, USER_A, PASS_A, "\\Drafts");
      assert.deepEqual(
        d3.map((m) => header(m.source, "Subject")),
        ["Plans v3"],
      );

      // the draft opened again, then discarded
      await openCompose(page, {
        mode: "draft",
        emailId: await emailIdBySubject(h, USER_A, PASS_A, "Plans v3"),
      });
      assert.equal(await page.getByLabel("To", { exact: true }).inputValue(), USER_B);
      assert.equal(await page.getByRole("textbox", { name: "Message" }).inputValue(), "Second version.");
      await page.getByRole("button", { name: "Discard" }).click();
      await page.getByRole("dialog").waitFor({ state: "detached" });
      assert.equal((await imapMessages(h, USER_A, PASS_A, "\\Drafts")).length, 0);
      assert.deepEqual(p.errors, []);
    } finally {
      await p.context.close();
    }
  });

  it("suggests addresses from the user's own mail, chosen with the keyboard", async () => {
    await deliver(
      h.e,
      USER_A,
      raw({
        from: "Zed Zimmerman <zed@remote.test>",
        to: USER_A,
        subject: "Hello from Zed",
        id: "zed-1@remote.test",
        body: "Hi!\r\n",
      }),
    );
    const p = await openHarness(h, USER_A, PASS_A);
    try {
      const { page } = p;
      await openCompose(page, { mode: "new" });
      const to = page.getByRole("combobox", { name: "To" });
      await to.pressSequentially("zimm");
      const option = page.getByRole("option", { name: "Zed Zimmerman <zed@remote.test>" });
      await option.waitFor();
      assert.equal(await to.getAttribute("aria-expanded"), "true");
      await page.keyboard.press("Enter");
      assert.equal(await to.inputValue(), "Zed Zimmerman <zed@remote.test>, ");
      await option.waitFor({ state: "detached" });
      // Escape with the list open closes the list only
      await to.pressSequentially("zed");
      await option.waitFor();
      await page.keyboard.press("Escape");
      await option.waitFor({ state: "hidden" });
      assert.equal(await page.getByRole("dialog").count(), 1);
      await page.getByRole("button", { name: "Discard" }).click();
      await page.getByRole("dialog").waitFor({ state: "detached" });
      assert.deepEqual(p.errors, []);
    } finally {
      await p.context.close();
    }
  });

  it("shows the server's refusal and stays open with the message kept as a draft", async () => {
    const p = await openHarness(h, USER_A, PASS_A);
    try {
      const { page } = p;
      await openCompose(page, { mode: "new" });
      await page.getByLabel("To", { exact: true }).fill("nobody@example.test");
      await page.getByLabel("Subject").fill("To nobody");
      await page.getByRole("button", { name: "Send" }).click();
      const alert = page.getByTestId("compose-error");
      await alert.waitFor();
      assert.equal(await alert.textContent(), "These recipients were refused: nobody@example.test");
      assert.equal(await page.getByRole("dialog").count(), 1);
      const d = await imapMessages(h, USER_A, PASS_A, "\\Drafts");
      assert.deepEqual(
        d.map((m) => header(m.source, "Subject")),
        ["To nobody"],
      );
      // corrected and sent: the draft goes, the message is in Sent
      await page.getByLabel("To", { exact: true }).fill(USER_B);
      await sendAndWait(page);
      assert.equal((await imapMessages(h, USER_A, PASS_A, "\\Drafts")).length, 0);
      assert.ok(
        (await imapMessages(h, USER_A, PASS_A, "\\Sent")).some(
          (m) => header(m.source, "Subject") === "To nobody",
        ),
      );
    } finally {
      await p.context.close();
    }
  });
});
