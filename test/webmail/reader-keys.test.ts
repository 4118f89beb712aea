/**
 * Keyboard shortcuts while the focus is inside an HTML message's sandboxed frame: the frame's
 * document gets the keys, the reader forwards them to the app's shortcuts — `j` opens the next
 * message, `r` opens a reply, `#` deletes (checked over IMAP) — and a key no shortcut takes
 * still does nothing to the list.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ImapFlow } from "imapflow";
import type { Page } from "playwright-core";
import {
  appendMany,
  imapflow,
  inMailbox,
  login,
  openSubject,
  pageErrors,
  row,
  startWebmail,
  USER_A,
  until,
  type Webmail,
} from "./helpers.ts";

function htmlMail(subject: string): Buffer {
  return Buffer.from(
    `From: News <news@remote.test>\r\nTo: ${USER_A}\r\nSubject: ${subject}\r\n` +
      `Date: Wed, 01 Apr 2026 10:00:00 +0000\r\nMessage-ID: <${subject.replaceAll(" ", ".")}@remote.test>\r\n` +
      `MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n` +
      `<html><body><h1>${subject}</h1><p id="text">Some text to click on.</p></body></html>\r\n`,
  );
}

/** clicks the text inside the open message's frame, so the frame has the focus */
async function focusFrame(page: Page, subject: string): Promise<void> {
  const frame = page.frameLocator("iframe.reader-frame");
  await frame.getByRole("heading", { name: subject }).waitFor();
  await frame.locator("#text").click();
  assert.equal(await page.evaluate("document.activeElement?.tagName"), "IFRAME");
}

describe("webmail shortcuts inside the message frame", { timeout: 120_000 }, () => {
  let w: Webmail;
  let imap: ImapFlow;
  before(async () => {
    w = await startWebmail();
    const t0 = Date.UTC(2026, 3, 1);
    await appendMany(
      w.e,
      "INBOX",
      ["Frame 1", "Frame 2", "Frame 3"].map((subject, k) => ({
        raw: htmlMail(subject),
        date: new Date(t0 + k * 60_000),
      })),
    );
    imap = await imapflow(w.e);
  });
  after(async () => {
    await imap?.logout().catch(() => {});
    await w?.close();
  });

  it("j, # and r pressed in the frame act like in the page", async () => {
    const { page, errors } = await w.page();
    await login(page);
    await row(page, "Frame 3").click();
    await focusFrame(page, "Frame 3");
    // a key no shortcut takes changes nothing
    await page.keyboard.press("x");
    assert.equal(await openSubject(page), "Frame 3");
    await page.keyboard.press("j");
    await until(async () => (await openSubject(page)) === "Frame 2", "Frame 2 open");

    await focusFrame(page, "Frame 2");
    await page.keyboard.press("#");
    await until(async () => await inMailbox(imap, "Trash", "Frame 2"), "Frame 2 in Trash");
    assert.equal(await inMailbox(imap, "INBOX", "Frame 2"), false);

    await row(page, "Frame 1").click();
    await focusFrame(page, "Frame 1");
    await page.keyboard.press("r");
    const d = page.getByRole("dialog");
    await d.waitFor();
    assert.equal(await d.getByLabel("Subject").inputValue(), "Re: Frame 1");
    assert.deepEqual(pageErrors(errors), []);
  });
});
