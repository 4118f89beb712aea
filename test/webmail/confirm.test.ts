/**
 * The in-app confirmation dialog (delete folder, Empty Trash, revoke an app password): an
 * alertdialog named by its title, the focus on Cancel, Tab kept inside, Escape and Cancel
 * change nothing (checked over IMAP) and give the focus back to the button that asked, the
 * shortcuts are off while it is open, and it speaks Swedish.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ImapFlow } from "imapflow";
import type { Page } from "playwright-core";
import { imapflow, login, pageErrors, startWebmail, type Webmail } from "./helpers.ts";

async function focused(page: Page): Promise<string> {
  return await page.evaluate("document.activeElement?.textContent ?? ''");
}

describe("webmail confirmation dialog", { timeout: 120_000 }, () => {
  let w: Webmail;
  let imap: ImapFlow;
  before(async () => {
    w = await startWebmail();
    imap = await imapflow(w.e);
    await imap.mailboxCreate("Old stuff");
  });
  after(async () => {
    await imap?.logout().catch(() => {});
    await w?.close();
  });

  const exists = async () => (await imap.list()).some((m) => m.path === "Old stuff");

  it("asks before deleting a folder: Cancel and Escape keep it, the focus comes back", async () => {
    const { page, errors } = await w.page();
    await login(page);
    const nav = page.getByRole("navigation", { name: "Folders" });
    await nav.getByRole("button", { name: "Old stuff", exact: true }).click();
    const del = nav.getByRole("button", { name: "Delete folder" });

    await del.click();
    const d = page.getByRole("alertdialog", { name: "Delete the folder?" });
    await d.waitFor();
    assert.match((await d.textContent()) ?? "", /Old stuff/);
    assert.equal(await d.getAttribute("aria-modal"), "true");
    assert.equal(await focused(page), "Cancel", "the safe button has the focus");
    await page.keyboard.press("Tab");
    assert.equal(await focused(page), "Delete folder");
    await page.keyboard.press("Tab");
    assert.equal(await focused(page), "Cancel", "Tab stays in the dialog");
    // a shortcut does nothing while it is open
    await page.keyboard.press("?");
    assert.equal(await page.getByRole("dialog", { name: "Keyboard shortcuts" }).count(), 0);
    await page.keyboard.press("Escape");
    await d.waitFor({ state: "detached" });
    assert.equal(await focused(page), "Delete folder", "the focus is back on the trigger");
    assert.equal(await exists(), true);

    await del.click();
    await d.getByRole("button", { name: "Cancel" }).click();
    await d.waitFor({ state: "detached" });
    assert.equal(await exists(), true);

    await del.click();
    await d.getByRole("button", { name: "Delete folder" }).click();
    await nav.getByRole("button", { name: "Old stuff", exact: true }).waitFor({ state: "detached" });
    assert.equal(await exists(), false);
    assert.deepEqual(pageErrors(errors), []);
  });

  it("is in Swedish with the interface", async () => {
    await imap.mailboxCreate("Gammalt");
    const { page } = await w.page();
    await login(page);
    await page.getByRole("combobox", { name: "Language" }).selectOption("sv");
    const nav = page.getByRole("navigation", { name: "Mappar" });
    await nav.getByRole("button", { name: "Gammalt", exact: true }).click();
    await nav.getByRole("button", { name: "Ta bort mappen" }).click();
    const d = page.getByRole("alertdialog", { name: "Ta bort mappen?" });
    await d.waitFor();
    assert.equal(await focused(page), "Avbryt");
    await page.keyboard.press("Escape");
    await d.waitFor({ state: "detached" });
    assert.ok((await imap.list()).some((m) => m.path === "Gammalt"));
  });
});
