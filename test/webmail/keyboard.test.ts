/**
 * Keyboard shortcuts in the webmail (j/k, Enter/o, u, s, #, e, /, ?, r/a/f; nothing while typing),
 * the landmarks and labels they rely on, and the phone layout (one pane at a time, back).
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
  mail,
  openSubject,
  pageErrors,
  row,
  startWebmail,
  until,
  type Webmail,
} from "./helpers.ts";

/** the subject of the row with the keyboard cursor */
async function cursorSubject(page: Page): Promise<string> {
  return (await page.locator("[data-testid=message-row].cursor .subject").textContent()) ?? "";
}

describe("webmail keyboard and layout", { timeout: 120_000 }, () => {
  let w: Webmail;
  let imap: ImapFlow;
  before(async () => {
    w = await startWebmail();
    const t0 = Date.UTC(2026, 3, 1);
    await appendMany(
      w.e,
      "INBOX",
      ["Key 1", "Key 2", "Key 3", "Key 4", "Key 5", "Key 6"].map((subject, k) => ({
        raw: mail({ subject }),
        date: new Date(t0 + k * 60_000),
      })),
    );
    await appendMany(w.e, "Drafts", [
      { raw: mail({ subject: "Key draft" }), date: new Date(t0), flags: "\\Draft" },
    ]);
    imap = await imapflow(w.e);
  });
  after(async () => {
    await imap?.logout().catch(() => {});
    await w?.close();
  });

  it("moves, opens and acts with the keyboard", async () => {
    const { page, errors } = await w.page();
    await login(page);
    await row(page, "Key 6").waitFor();
    assert.equal(await page.getByRole("main", { name: "Messages" }).count(), 1);
    assert.equal(await page.getByRole("navigation", { name: "Folders" }).count(), 1);
    await page.getByRole("grid").focus();
    assert.equal(await cursorSubject(page), "Key 6");
    await page.keyboard.press("j");
    assert.equal(await cursorSubject(page), "Key 5");
    await page.keyboard.press("k");
    assert.equal(await cursorSubject(page), "Key 6");
    await page.keyboard.press("j");
    await page.keyboard.press("j");
    await page.keyboard.press("Enter");
    assert.equal(await openSubject(page), "Key 4");
    assert.equal(await row(page, "Key 4").getAttribute("aria-selected"), "true");
    // with a message open, j opens the next one
    await page.keyboard.press("j");
    await until(async () => (await openSubject(page)) === "Key 3", "j opened Key 3");
    await page.keyboard.press("u");
    await until(async () => (await openSubject(page)) === null, "u closed the reader");
    assert.equal(await cursorSubject(page), "Key 3");
    await page.keyboard.press("o");
    await until(async () => (await openSubject(page)) === "Key 3", "o opened Key 3");
    await page.keyboard.press("u");

    await page.keyboard.press("s");
    await row(page, "Key 3").getByRole("button", { name: "Remove flag" }).waitFor();
    await page.keyboard.press("#");
    await row(page, "Key 3").waitFor({ state: "detached" });
    await until(async () => inMailbox(imap, "Trash", "Key 3"), "Key 3 in Trash");
    await page.keyboard.press("e");
    await until(async () => inMailbox(imap, "Archive", "Key 2"), "Key 2 archived");

    await page.keyboard.press("/");
    assert.equal(await page.evaluate("document.activeElement?.id"), "search-input");
    // typing in a field is not a shortcut
    await page.keyboard.type("js");
    assert.equal(await page.getByRole("searchbox").inputValue(), "js");
    await page.getByRole("searchbox").fill("");
    await page.getByRole("grid").focus();

    await page.keyboard.press("?");
    const help = page.getByRole("dialog", { name: "Keyboard shortcuts" });
    await help.waitFor();
    assert.match((await help.textContent()) ?? "", /Reply to all/);
    await page.keyboard.press("Escape");
    await help.waitFor({ state: "detached" });
    assert.deepEqual(pageErrors(errors), []);
  });

  it("opens compose with r, a and f, and for a draft", async () => {
    const { page } = await w.page();
    await login(page);
    for (const key of ["r", "a", "f"]) {
      await row(page, "Key 6").waitFor();
      await page.getByRole("grid").focus();
      await page.keyboard.press("Enter");
      await until(async () => (await openSubject(page)) === "Key 6", "Key 6 open");
      await page.keyboard.press(key);
      await page.getByRole("dialog").first().waitFor();
      await page.reload();
    }
    // a draft opens in compose, to be edited
    await page.getByTestId("folder-drafts").click();
    await row(page, "Key draft").click();
    await page.getByRole("dialog").first().waitFor();
    assert.equal(await page.locator("[data-testid=message-row].open").count(), 0);
  });

  it("keeps the folder and the open message in the address", async () => {
    const { page } = await w.page();
    await login(page);
    await page.getByTestId("folder-inbox").waitFor();
    await row(page, "Key 6").click();
    await until(async () => (await openSubject(page)) === "Key 6", "Key 6 open");
    assert.match(new URL(page.url()).pathname, /^\/mail\/[^/]+\/[^/]+$/);
    await page.reload();
    await until(async () => (await openSubject(page)) === "Key 6", "Key 6 open after the reload");
    await page.goBack();
    await until(async () => (await openSubject(page)) === null, "Back closed it");
    assert.match(new URL(page.url()).pathname, /^\/mail\/[^/]+$/);
  });

  it("shows one pane at a time on a phone, with a way back", async () => {
    const { page } = await w.page({ phone: true });
    await login(page);
    await row(page, "Key 6").waitFor();
    assert.equal(await page.getByRole("navigation", { name: "Folders" }).isVisible(), false);
    await row(page, "Key 6").locator(".subject").click();
    await page.getByRole("button", { name: "← Back to list" }).waitFor();
    assert.equal(await page.getByRole("grid").isVisible(), false);
    await page.getByRole("button", { name: "← Back to list" }).click();
    await page.getByRole("grid").waitFor();
    // the browser's Back leaves the message too
    await row(page, "Key 5").locator(".subject").click();
    await page.getByRole("button", { name: "← Back to list" }).waitFor();
    await page.goBack();
    await page.getByRole("grid").waitFor();
    assert.equal(await openSubject(page), null);
    await page.getByRole("button", { name: "Show folders" }).click();
    await page.getByRole("navigation", { name: "Folders" }).waitFor();
    await page.getByTestId("folder-trash").click();
    await page.getByRole("heading", { name: "Trash" }).waitFor();
    assert.equal(await page.getByRole("navigation", { name: "Folders" }).isVisible(), false);
  });
});
