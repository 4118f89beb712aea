/**
 * The webmail's compose view in Chromium against the real server, used through the app (login
 * screen, "New message", a message opened from the list and answered with r/a/f): a new message
 * with an attachment (upload progress, delivery with the bytes intact, the sent copy in Sent, no
 * draft left), reply and reply-all headers and recipients, forward with the original's
 * attachment, address completion from the user's own mail, and a refused submission shown with
 * the view kept open. Drafts: compose-drafts.test.ts.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import {
  answer,
  eventually,
  type Harness,
  header,
  imapMessages,
  jmapEmail,
  openApp,
  PASS_A,
  PASS_B,
  startHarness,
  USER_A,
  USER_B,
  withSubject,
} from "./compose-harness.ts";
import { smtpDeliver } from "./helpers.ts";

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
    `Date: Tue, 01 Dec 2026 09:30:00 +0000\r\nMessage-ID: <${o.id}>\r\n` +
    `${o.refs ? `References: ${o.refs}\r\n` : ""}MIME-Version: 1.0\r\n`;
  if (!o.attachment) return Buffer.from(`${head}Content-Type: text/plain; charset=utf-8\r\n\r\n${o.body}`);
  const b64 = (o.attachment.bytes.toString("base64").match(/.{1,76}/g) ?? []).join("\r\n");
  return Buffer.from(
    `${head}Content-Type: multipart/mixed; boundary="XX"\r\n\r\n` +
      `--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${o.body}\r\n` +
      `--XX\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="${o.attachment.name}"\r\n` +
      `Content-Transfer-Encoding: base64\r\n\r\n${b64}\r\n--XX--\r\n`,
  );
}

async function sendAndWait(page: Page): Promise<void> {
  await page.getByRole("dialog").getByRole("button", { name: "Send" }).click();
  await page.getByRole("dialog").waitFor({ state: "detached" });
}

const activeId = (page: Page) => page.evaluate("document.activeElement?.id");

describe("webmail compose", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    // two more local accounts: every recipient here is local (a remote one is queued for delivery)
    for (const u of ["c@example.test", "d@example.test"]) {
      const r = await h.e.cli(["user", "add", u], "pw-x Secret\npw-x Secret\n");
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(async () => {
    await h?.close();
  });

  it("sends a new message with an attachment: progress shown, bytes intact, copy in Sent, no draft", async () => {
    const p = await openApp(h, USER_A, PASS_A, { holdUploads: true });
    try {
      const { page } = p;
      await page.getByRole("button", { name: "New message" }).click();
      const d = page.getByRole("dialog");
      // focus moved into the view: the empty To field
      await eventually(async () => (await activeId(page)) === "pk-compose-to", "focus in To");
      await d.getByLabel("To", { exact: true }).fill(USER_B);
      await d.getByLabel("Subject").fill("Quarterly figures");
      await d.getByRole("textbox", { name: "Message" }).fill("Here they are.\n");
      const bytes = Buffer.alloc(300_000);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 8)) & 0xff;
      await d.getByTestId("compose-file").setInputFiles({
        name: "figures.bin",
        mimeType: "application/octet-stream",
        buffer: bytes,
      });
      const bar = d.getByRole("progressbar", { name: "Uploading figures.bin" });
      await bar.waitFor();
      // a second file, cancelled while it uploads
      await d.getByTestId("compose-file").setInputFiles({
        name: "extra.bin",
        mimeType: "application/octet-stream",
        buffer: Buffer.from("not wanted"),
      });
      await d.getByRole("progressbar", { name: "Uploading extra.bin" }).waitFor();
      await d.getByRole("button", { name: "Cancel upload of extra.bin" }).click();
      await d.getByTestId("attachment").filter({ hasText: "extra.bin" }).waitFor({ state: "detached" });
      p.releaseUploads();
      await bar.waitFor({ state: "detached" });
      await sendAndWait(page);
      await page.getByText("Message sent").waitFor();

      const inbox = await eventually(
        async () => (await withSubject(h, USER_B, PASS_B, "INBOX", "Quarterly figures"))[0],
        "delivered to b",
      );
      assert.equal(inbox.attachments.length, 1);
      assert.equal(inbox.attachments[0]!.filename, "figures.bin");
      assert.ok(inbox.attachments[0]!.bytes.equals(bytes), "attachment bytes intact");
      assert.match(header(inbox.source, "From") ?? "", /a@example\.test/);

      assert.equal((await withSubject(h, USER_A, PASS_A, "\\Sent", "Quarterly figures")).length, 1);
      assert.equal((await imapMessages(h, USER_A, PASS_A, "\\Drafts")).length, 0, "no draft left");
      const e = await jmapEmail(h, USER_A, PASS_A, "Quarterly figures");
      assert.equal(e.keywords.$draft, undefined);
      assert.deepEqual(p.errors, []);
    } finally {
      await p.context.close();
    }
  });

  it("reply with an attachment, and reply-all: recipients, Re: once, In-Reply-To and References, the quote", async () => {
    await smtpDeliver(
      h.e,
      [USER_A],
      raw({
        from: "Bee <b@example.test>",
        to: USER_A,
        cc: "Carol <c@example.test>",
        subject: "Lunch plans",
        id: "lunch-1@example.test",
        refs: "<earlier-0@example.test>",
        body: "Shall we meet at noon?\r\n",
      }),
    );
    await smtpDeliver(
      h.e,
      [USER_A],
      raw({
        from: "Bee <b@example.test>",
        to: `${USER_A}, Dee <d@example.test>`,
        cc: "Carol <c@example.test>",
        subject: "Re: Dinner",
        id: "dinner-2@example.test",
        body: "And dinner?\r\n",
      }),
    );
    const p = await openApp(h, USER_A, PASS_A);
    try {
      const { page } = p;
      await answer(page, "Lunch plans", "r");
      const d = page.getByRole("dialog");
      assert.equal(await d.getByLabel("To", { exact: true }).inputValue(), "Bee <b@example.test>");
      assert.equal(await d.getByLabel("Subject").inputValue(), "Re: Lunch plans");
      const text = await d.getByRole("textbox", { name: "Message" }).inputValue();
      assert.match(text, /Bee wrote:\n> Shall we meet at noon\?/);
      // focus in the body, at its start: the answer goes above the quote
      await eventually(async () => (await activeId(page)) === "pk-compose-body", "focus in body");
      await page.keyboard.type("Noon is fine.");
      const map = Buffer.from("%PDF-1.4 a map to the restaurant\n");
      await d
        .getByTestId("compose-file")
        .setInputFiles({ name: "map.pdf", mimeType: "application/pdf", buffer: map });
      await d.getByTestId("attachment").filter({ hasText: "map.pdf" }).waitFor();
      await d.getByRole("progressbar", { name: "Uploading map.pdf" }).waitFor({ state: "detached" });
      await sendAndWait(page);
      const reply = await eventually(
        async () => (await withSubject(h, USER_B, PASS_B, "INBOX", "Re: Lunch plans"))[0],
        "reply delivered",
      );
      assert.equal(reply.attachments.length, 1);
      assert.equal(reply.attachments[0]!.filename, "map.pdf");
      assert.ok(reply.attachments[0]!.bytes.equals(map), "the reply's attachment bytes intact");
      assert.equal(header(reply.source, "In-Reply-To"), "<lunch-1@example.test>");
      assert.equal(header(reply.source, "References"), "<earlier-0@example.test> <lunch-1@example.test>");
      assert.equal(header(reply.source, "To"), '"Bee" <b@example.test>');
      assert.equal(header(reply.source, "Cc"), null);
      const got = await jmapEmail(h, USER_B, PASS_B, "Re: Lunch plans");
      assert.ok(got.text.startsWith("Noon is fine."), got.text);
      const [orig] = await withSubject(h, USER_A, PASS_A, "INBOX", "Lunch plans");
      assert.ok(orig?.flags.has("\\Answered"), "the original is marked answered");
      assert.match(got.text, /> Shall we meet at noon\?/);

      await answer(page, "Re: Dinner", "a");
      assert.equal(await d.getByLabel("Subject").inputValue(), "Re: Dinner");
      assert.equal(
        await d.getByLabel("To", { exact: true }).inputValue(),
        "Bee <b@example.test>, Dee <d@example.test>",
      );
      assert.equal(await d.getByLabel("Cc", { exact: true }).inputValue(), "Carol <c@example.test>");
      await sendAndWait(page);
      const all = await eventually(
        async () => (await withSubject(h, USER_B, PASS_B, "INBOX", "Re: Dinner"))[0],
        "reply-all delivered",
      );
      assert.equal(header(all.source, "In-Reply-To"), "<dinner-2@example.test>");
      assert.equal(header(all.source, "References"), "<dinner-2@example.test>");
      assert.ok(!(header(all.source, "To") ?? "").includes(USER_A), "own address left out");
      assert.match(header(all.source, "To") ?? "", /d@example\.test/);
      assert.match(header(all.source, "Cc") ?? "", /c@example\.test/);
      assert.deepEqual(p.errors, []);
    } finally {
      await p.context.close();
    }
  });

  it("forward carries the original's attachment and quotes it inline", async () => {
    const pdf = Buffer.from(`%PDF-1.4\n${"x".repeat(5000)}\n%%EOF\n`);
    await smtpDeliver(
      h.e,
      [USER_A],
      raw({
        from: "Shop <shop@remote.test>",
        to: USER_A,
        subject: "Your invoice",
        id: "inv-3@remote.test",
        body: "Invoice attached.\r\n",
        attachment: { name: "invoice.pdf", bytes: pdf },
      }),
    );
    const p = await openApp(h, USER_A, PASS_A);
    try {
      const { page } = p;
      await answer(page, "Your invoice", "f");
      const d = page.getByRole("dialog");
      assert.equal(await d.getByLabel("Subject").inputValue(), "Fwd: Your invoice");
      await d.getByTestId("attachment").filter({ hasText: "invoice.pdf" }).waitFor();
      await d.getByLabel("To", { exact: true }).fill(USER_B);
      await sendAndWait(page);
      const fwd = await eventually(
        async () => (await withSubject(h, USER_B, PASS_B, "INBOX", "Fwd: Your invoice"))[0],
        "forward delivered",
      );
      assert.equal(fwd.attachments.length, 1);
      assert.equal(fwd.attachments[0]!.filename, "invoice.pdf");
      assert.ok(fwd.attachments[0]!.bytes.equals(pdf), "the original's attachment, bytes intact");
      const got = await jmapEmail(h, USER_B, PASS_B, "Fwd: Your invoice");
      assert.match(got.text, /Forwarded message/);
      const [orig] = await withSubject(h, USER_A, PASS_A, "INBOX", "Your invoice");
      assert.ok(
        orig?.flags.has("$Forwarded") || orig?.flags.has("$forwarded"),
        "the original is marked forwarded",
      );
      assert.match(got.text, /Invoice attached\./);
      assert.deepEqual(p.errors, []);
    } finally {
      await p.context.close();
    }
  });

  it("suggests addresses from the user's own mail, chosen with the keyboard", async () => {
    await smtpDeliver(
      h.e,
      [USER_A],
      raw({
        from: "Zed Zimmerman <zed@remote.test>",
        to: USER_A,
        subject: "Hello from Zed",
        id: "zed-1@remote.test",
        body: "Hi!\r\n",
      }),
    );
    const p = await openApp(h, USER_A, PASS_A);
    try {
      const { page } = p;
      await page.getByRole("button", { name: "New message" }).click();
      const d = page.getByRole("dialog");
      const to = d.getByRole("combobox", { name: "To" });
      await to.pressSequentially("zimm");
      const option = d.getByRole("option", { name: "Zed Zimmerman <zed@remote.test>" });
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
      await d.getByRole("button", { name: "Discard" }).click();
      await d.waitFor({ state: "detached" });
      assert.deepEqual(p.errors, []);
    } finally {
      await p.context.close();
    }
  });

  it("shows the server's refusal and stays open with the message kept as a draft", async () => {
    const p = await openApp(h, USER_A, PASS_A);
    try {
      const { page } = p;
      await page.getByRole("button", { name: "New message" }).click();
      const d = page.getByRole("dialog");
      await d.getByLabel("To", { exact: true }).fill("nobody@example.test");
      await d.getByLabel("Subject").fill("To nobody");
      // a file dropped on the view is attached
      const dt = await page.evaluateHandle(
        '(() => { const dt = new DataTransfer(); dt.items.add(new File(["dropped text"], "note.txt", { type: "text/plain" })); return dt; })()',
      );
      await d.dispatchEvent("dragover", { dataTransfer: dt });
      await d.dispatchEvent("drop", { dataTransfer: dt });
      await d.getByTestId("attachment").filter({ hasText: "note.txt" }).waitFor();
      await d.getByRole("progressbar").waitFor({ state: "detached" });
      await d.getByRole("button", { name: "Send" }).click();
      const alert = d.getByTestId("compose-error");
      await alert.waitFor();
      assert.equal(await alert.textContent(), "These recipients were refused: nobody@example.test");
      assert.equal(await page.getByRole("dialog").count(), 1);
      assert.equal((await withSubject(h, USER_A, PASS_A, "\\Drafts", "To nobody")).length, 1);
      // corrected and sent: the draft goes, the message is in Sent
      await d.getByLabel("To", { exact: true }).fill(USER_B);
      await sendAndWait(page);
      assert.equal((await imapMessages(h, USER_A, PASS_A, "\\Drafts")).length, 0);
      const sent = await withSubject(h, USER_A, PASS_A, "\\Sent", "To nobody");
      assert.equal(sent.length, 1);
      assert.deepEqual(
        sent[0]!.attachments.map((a) => [a.filename, a.bytes.toString()]),
        [["note.txt", "dropped text"]],
      );
    } finally {
      await p.context.close();
    }
  });
});
