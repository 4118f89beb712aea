/**
 * "Select all" in the message list: the header checkbox and `* a` pick every message of the
 * folder, the rows the virtualised list never fetched included (ids by Email/query pages), and
 * the toolbar acts on all of them in Email/set batches. The server's maxObjectsInGet and
 * maxObjectsInSet are lowered to 100 so 300 messages take several query pages and set calls;
 * each result is checked over IMAP.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ImapFlow } from "imapflow";
import type { Page } from "playwright-core";
import {
  appendMany,
  imapflow,
  login,
  mail,
  messageCount,
  pageErrors,
  rows,
  startWebmail,
  until,
  type Webmail,
} from "./helpers.ts";

const N = 300;

function toolbar(page: Page) {
  return page.getByRole("toolbar", { name: "List actions" });
}

async function unseen(imap: ImapFlow, mailbox: string): Promise<number> {
  const s = await imap.status(mailbox, { unseen: true });
  return s ? (s.unseen ?? -1) : -1;
}

describe("webmail select all", { timeout: 120_000 }, () => {
  let w: Webmail;
  let imap: ImapFlow;
  let page: Page;
  let errors: string[];
  before(async () => {
    w = await startWebmail({ extraToml: "[jmap]\nmax_objects_in_get = 100\nmax_objects_in_set = 100\n" });
    const t0 = Date.UTC(2026, 2, 1);
    await appendMany(
      w.e,
      "INBOX",
      Array.from({ length: N }, (_, k) => ({
        raw: mail({ subject: `Bulk ${k}` }),
        date: new Date(t0 + k * 60_000),
      })),
    );
    imap = await imapflow(w.e);
    await imap.mailboxCreate("Kept");
    ({ page, errors } = await w.page());
    await login(page);
    await rows(page).first().waitFor();
  });
  after(async () => {
    await imap?.logout().catch(() => {});
    await w?.close();
  });

  it("the header checkbox picks every message, unfetched rows too; mark read reaches all", async () => {
    assert.equal(await unseen(imap, "INBOX"), N);
    // the virtualised list holds only the rows in view
    assert.ok((await rows(page).count()) < N);
    const box = toolbar(page).getByRole("checkbox", { name: "Select all messages" });
    await box.click();
    await toolbar(page).getByText(`${N} selected`).waitFor();
    assert.equal(await box.isChecked(), true);
    await toolbar(page).getByRole("button", { name: "Mark as read" }).click();
    await until(async () => (await unseen(imap, "INBOX")) === 0, "all seen over IMAP", 30_000);
    assert.equal(await page.locator("[data-testid=message-row].unread").count(), 0);
    // a second click picks none
    await box.click();
    await toolbar(page).getByText("selected").waitFor({ state: "detached" });
    assert.equal(await box.isChecked(), false);
  });

  it("`* a` picks all and the move menu moves all of them", async () => {
    await page.getByTestId("message-list").focus();
    await page.keyboard.press("*");
    await page.keyboard.press("a");
    await toolbar(page).getByText(`${N} selected`).waitFor();
    // `* a` is not reply-all
    assert.equal(await page.getByRole("dialog").count(), 0);
    await toolbar(page).getByRole("button", { name: "Move to…" }).click();
    await page.getByRole("menu").getByRole("menuitem", { name: "Kept" }).click();
    await until(
      async () => (await messageCount(imap, "Kept")) === N && (await messageCount(imap, "INBOX")) === 0,
      "all moved over IMAP",
      30_000,
    );
    await page.getByText("No messages here.").waitFor();
    assert.equal(await rows(page).count(), 0);
    assert.deepEqual(pageErrors(errors), []);
  });
});
