/**
 * The webmail's folders and message list in Chromium against the real server: folders nested
 * with unread counts, the list's rows (unread, flagged, attachment markers), a folder of a few
 * thousand messages scrolled to its end with a bounded number of rows in the DOM, search by
 * text / from / subject and back, and folders created, renamed and deleted from the UI.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  appendMany,
  imapflow,
  login,
  mail,
  messageCount,
  pageErrors,
  row,
  rows,
  startWebmail,
  until,
  type Webmail,
} from "./helpers.ts";

const BULK = 2000;

describe("webmail folders and list", { timeout: 180_000 }, () => {
  let w: Webmail;
  before(async () => {
    w = await startWebmail();
    const imap = await imapflow(w.e);
    await imap.mailboxCreate("Projects");
    await imap.mailboxCreate("Projects/Alpha");
    await imap.mailboxCreate("Bulk");
    await imap.logout();
    const t0 = Date.UTC(2026, 0, 5, 8, 0, 0);
    const at = (k: number) => new Date(t0 + k * 60_000);
    await appendMany(w.e, "INBOX", [
      {
        raw: mail({ subject: "Quarterly numbers", from: "Alice <alice@remote.test>", date: at(1) }),
        date: at(1),
      },
      {
        raw: mail({ subject: "Lunch on Friday", from: "Bob <bob@remote.test>", date: at(2) }),
        date: at(2),
        flags: "\\Seen",
      },
      {
        raw: mail({ subject: "Invoice 42", from: "Carol <carol@remote.test>", date: at(3) }),
        date: at(3),
        flags: "\\Flagged",
      },
      {
        raw: mail({
          subject: "Holiday photos",
          from: "Alice <alice@remote.test>",
          date: at(4),
          extraHeaders: "",
          body: "see attached\r\n",
        }),
        date: at(4),
        flags: "\\Seen",
      },
    ]);
    await appendMany(w.e, "Projects", [
      { raw: mail({ subject: "Plan", messageId: "plan-1@remote.test", date: at(1) }), date: at(1) },
      {
        raw: mail({
          subject: "Re: Plan",
          date: at(3),
          extraHeaders: "In-Reply-To: <plan-1@remote.test>\r\nReferences: <plan-1@remote.test>\r\n",
        }),
        date: at(3),
      },
      { raw: mail({ subject: "Budget", date: at(2) }), date: at(2) },
    ]);
    const bulk = [];
    for (let i = 0; i < BULK; i++) {
      const d = new Date(Date.UTC(2025, 0, 1) + i * 60_000);
      bulk.push({
        raw: mail({ subject: `Bulk ${String(i).padStart(4, "0")}`, date: d }),
        date: d,
        flags: "\\Seen",
      });
    }
    await appendMany(w.e, "Bulk", bulk);
  });
  after(async () => {
    await w?.close();
  });

  it("shows the folders nested, with unread counts, and the inbox's messages newest first", async () => {
    const { page, errors } = await w.page();
    await login(page);
    const nav = page.getByRole("navigation", { name: "Folders" });
    await nav.getByRole("button", { name: "Inbox, 2 unread" }).waitFor();
    const names = await nav.locator(".folder .name").allTextContents();
    for (const n of ["Inbox", "Drafts", "Sent", "Archive", "Junk", "Trash", "Projects", "Alpha", "Bulk"])
      assert.ok(names.includes(n), `${n} in ${names.join(", ")}`);
    // the child directly after its parent
    assert.equal(names[names.indexOf("Projects") + 1], "Alpha");
    await row(page, "Holiday photos").waitFor();
    const subjects = await page.locator("[data-testid=message-row] .subject").allTextContents();
    assert.deepEqual(subjects, ["Holiday photos", "Invoice 42", "Lunch on Friday", "Quarterly numbers"]);
    // unread in bold (class), flagged marker
    assert.match((await row(page, "Quarterly numbers").getAttribute("class")) ?? "", /unread/);
    assert.doesNotMatch((await row(page, "Lunch on Friday").getAttribute("class")) ?? "", /unread/);
    await row(page, "Invoice 42").getByRole("button", { name: "Remove flag" }).waitFor();
    await row(page, "Quarterly numbers").getByRole("button", { name: "Flag", exact: true }).waitFor();
    assert.deepEqual(pageErrors(errors), []);
  });

  it("scrolls a folder of thousands of messages to its end with few rows in the DOM", async () => {
    const { page, errors } = await w.page();
    await login(page);
    await page.getByRole("button", { name: "Bulk", exact: true }).click();
    await row(page, `Bulk ${String(BULK - 1).padStart(4, "0")}`).waitFor();
    const grid = page.getByRole("grid");
    assert.equal(await grid.getAttribute("aria-rowcount"), String(BULK));
    // scroll down in steps, as a user would, then jump to the end
    for (let k = 1; k <= 5; k++) await grid.evaluate((el, k) => (el.scrollTop = k * 3000), k);
    await grid.evaluate((el) => (el.scrollTop = el.scrollHeight));
    await row(page, "Bulk 0000").waitFor();
    const n = await rows(page).count();
    assert.ok(n > 5 && n < 80, `rows in the DOM: ${n}`);
    const last = rows(page).last();
    assert.equal(await last.getAttribute("aria-rowindex"), String(BULK));
    // and back to the top
    await grid.evaluate((el) => (el.scrollTop = 0));
    await row(page, `Bulk ${String(BULK - 1).padStart(4, "0")}`).waitFor();
    assert.deepEqual(pageErrors(errors), []);
  });

  it("searches by text, by sender and by subject, and clears back to the folder", async () => {
    const { page } = await w.page();
    await login(page);
    await row(page, "Quarterly numbers").waitFor();
    await page.getByRole("searchbox", { name: "Search mail" }).fill("invoice");
    await page.getByRole("searchbox", { name: "Search mail" }).press("Enter");
    await page.getByRole("heading", { name: "Search results" }).waitFor();
    await until(async () => (await rows(page).count()) === 1, "one result");
    await row(page, "Invoice 42").waitFor();

    await page.getByRole("button", { name: "Clear search" }).click();
    await page.getByRole("searchbox", { name: "Search mail" }).fill("");
    await page.getByRole("button", { name: "Advanced search" }).click();
    await page.getByLabel("From", { exact: true }).fill("alice@remote.test");
    await page
      .getByRole("group", { name: "Advanced search" })
      .getByRole("button", { name: "Search" })
      .click();
    await until(async () => (await rows(page).count()) === 2, "two from alice");
    const subjects = (await page.locator("[data-testid=message-row] .subject").allTextContents()).sort();
    assert.deepEqual(subjects, ["Holiday photos", "Quarterly numbers"]);

    await page.getByRole("button", { name: "Advanced search" }).click();
    await page.getByLabel("From", { exact: true }).fill("");
    await page.getByLabel("Subject", { exact: true }).fill("lunch");
    await page
      .getByRole("group", { name: "Advanced search" })
      .getByRole("button", { name: "Search" })
      .click();
    await until(async () => (await rows(page).count()) === 1, "one lunch");
    await row(page, "Lunch on Friday").waitFor();

    await page.getByRole("button", { name: "Back to the folder" }).click();
    await page.getByRole("heading", { name: "Inbox" }).waitFor();
    await until(async () => (await rows(page).count()) === 4, "the inbox again");
  });

  it("picks a range with shift-click, lists conversations and acts on whole ones", async () => {
    const { page } = await w.page();
    await login(page);
    const imap = await imapflow(w.e);
    try {
      await page.getByRole("button", { name: /^Projects/ }).click();
      await row(page, "Re: Plan").waitFor();
      await until(async () => (await rows(page).count()) === 3, "three messages");
      await row(page, "Re: Plan").getByRole("checkbox").check();
      await row(page, "Plan")
        .last()
        .click({ modifiers: ["Shift"] });
      await page.getByRole("toolbar", { name: "List actions" }).getByText("3 selected").waitFor();
      // a plain click opens one and drops the selection
      await row(page, "Budget").click();
      await page
        .getByRole("toolbar", { name: "List actions" })
        .getByText("3 selected")
        .waitFor({ state: "detached" });

      await page.getByLabel("Conversations").check();
      await until(async () => (await rows(page).count()) === 2, "two conversations");
      const subjects = await page.locator("[data-testid=message-row] .subject").allTextContents();
      assert.deepEqual(subjects, ["Re: Plan", "Budget"]);
      // archiving the conversation's row archives both of its messages
      await row(page, "Re: Plan").getByRole("checkbox").check();
      await page
        .getByRole("toolbar", { name: "List actions" })
        .getByRole("button", { name: "Archive" })
        .click();
      await until(async () => (await messageCount(imap, "Projects")) === 1, "one left");
      const lock = await imap.getMailboxLock("Archive");
      try {
        const archived = (await imap.fetchAll("1:*", { envelope: true })).map((m) => m.envelope?.subject);
        assert.deepEqual(archived.sort(), ["Plan", "Re: Plan"]);
      } finally {
        lock.release();
      }
      await page.getByLabel("Conversations").uncheck();
      await until(async () => (await rows(page).count()) === 1, "Budget alone");
    } finally {
      await imap.logout();
    }
  });

  it("creates, renames and deletes a folder", async () => {
    const { page } = await w.page();
    await login(page);
    const imap = await imapflow(w.e);
    try {
      const nav = page.getByRole("navigation", { name: "Folders" });
      await nav.getByRole("button", { name: "New folder" }).click();
      await nav.getByLabel("Folder name").fill("Receipts");
      await nav.getByRole("button", { name: "Create" }).click();
      await nav.getByRole("button", { name: "Receipts", exact: true }).waitFor();
      assert.ok((await imap.list()).some((m) => m.path === "Receipts"));

      await nav.getByRole("button", { name: "Rename folder" }).click();
      await nav.getByLabel("New name").fill("Kvitton");
      await nav.getByRole("button", { name: "Rename", exact: true }).click();
      await nav.getByRole("button", { name: "Kvitton", exact: true }).waitFor();
      const afterRename = (await imap.list()).map((m) => m.path);
      assert.ok(afterRename.includes("Kvitton") && !afterRename.includes("Receipts"), afterRename.join());

      await nav.getByRole("button", { name: "Delete folder" }).click();
      await page.getByRole("alertdialog").getByRole("button", { name: "Delete folder" }).click();
      await nav.getByRole("button", { name: "Kvitton", exact: true }).waitFor({ state: "detached" });
      assert.ok(!(await imap.list()).some((m) => m.path === "Kvitton"));
    } finally {
      await imap.logout();
    }
  });
});
