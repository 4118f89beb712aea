/**
 * Message actions in the webmail, each checked on the server over IMAP: flag, read/unread, move
 * by the menu and by drag and drop, delete to Trash, archive, junk, Empty Trash, several at once;
 * and a change the server refuses rolls back with an error notice.
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
  row,
  rows,
  startWebmail,
  until,
  type Webmail,
} from "./helpers.ts";

const SUBJECTS = [
  "Act flag",
  "Act read",
  "Act menu",
  "Act drag",
  "Act delete",
  "Act archive",
  "Act junk",
  "Act many 1",
  "Act many 2",
  "Act open",
];

/** the flags of the message with that subject in the mailbox, or null when it is not there */
async function flagsOf(imap: ImapFlow, mailbox: string, subject: string): Promise<Set<string> | null> {
  const lock = await imap.getMailboxLock(mailbox);
  try {
    const all = await imap.fetchAll("1:*", { envelope: true, flags: true }).catch(() => []);
    const m = all.find((x) => x.envelope?.subject === subject);
    return m ? new Set(m.flags ?? []) : null;
  } finally {
    lock.release();
  }
}

function toolbar(page: Page) {
  return page.getByRole("toolbar", { name: "List actions" });
}

async function pick(page: Page, subject: string): Promise<void> {
  await row(page, subject).getByRole("checkbox").check();
}

describe("webmail message actions", { timeout: 120_000 }, () => {
  let w: Webmail;
  let imap: ImapFlow;
  let page: Page;
  let errors: string[];
  before(async () => {
    w = await startWebmail();
    const t0 = Date.UTC(2026, 1, 1);
    await appendMany(
      w.e,
      "INBOX",
      SUBJECTS.map((subject, k) => ({ raw: mail({ subject }), date: new Date(t0 + k * 60_000) })),
    );
    imap = await imapflow(w.e);
    ({ page, errors } = await w.page());
    await login(page);
    await row(page, "Act flag").waitFor();
  });
  after(async () => {
    await imap?.logout().catch(() => {});
    await w?.close();
  });

  it("flags and unflags", async () => {
    await row(page, "Act flag").getByRole("button", { name: "Flag", exact: true }).click();
    await until(async () => (await flagsOf(imap, "INBOX", "Act flag"))?.has("\\Flagged") === true, "flagged");
    await row(page, "Act flag").getByRole("button", { name: "Remove flag" }).click();
    await until(
      async () => (await flagsOf(imap, "INBOX", "Act flag"))?.has("\\Flagged") === false,
      "unflagged",
    );
  });

  it("marks read and unread", async () => {
    await pick(page, "Act read");
    await toolbar(page).getByRole("button", { name: "Mark as read" }).click();
    await until(async () => (await flagsOf(imap, "INBOX", "Act read"))?.has("\\Seen") === true, "seen");
    assert.doesNotMatch((await row(page, "Act read").getAttribute("class")) ?? "", /unread/);
    await toolbar(page).getByRole("button", { name: "Mark as unread" }).click();
    await until(async () => (await flagsOf(imap, "INBOX", "Act read"))?.has("\\Seen") === false, "unseen");
    await row(page, "Act read").getByRole("checkbox").uncheck();
  });

  it("moves by the menu and by drag and drop", async () => {
    await pick(page, "Act menu");
    await toolbar(page).getByRole("button", { name: "Move to…" }).click();
    await page.getByRole("menu").getByRole("menuitem", { name: "Archive" }).click();
    await row(page, "Act menu").waitFor({ state: "detached" });
    await until(async () => (await flagsOf(imap, "Archive", "Act menu")) !== null, "in Archive");
    assert.equal(await flagsOf(imap, "INBOX", "Act menu"), null);

    await row(page, "Act drag").dragTo(page.getByTestId("folder-junk"));
    await row(page, "Act drag").waitFor({ state: "detached" });
    await until(async () => (await flagsOf(imap, "Junk", "Act drag")) !== null, "in Junk");
    assert.equal(await flagsOf(imap, "INBOX", "Act drag"), null);
  });

  it("deletes to Trash, archives, reports junk, acts on several at once", async () => {
    await pick(page, "Act delete");
    await toolbar(page).getByRole("button", { name: "Delete" }).click();
    await until(async () => (await flagsOf(imap, "Trash", "Act delete")) !== null, "in Trash");
    await pick(page, "Act archive");
    await toolbar(page).getByRole("button", { name: "Archive" }).click();
    await until(async () => (await flagsOf(imap, "Archive", "Act archive")) !== null, "archived");
    await pick(page, "Act junk");
    await toolbar(page).getByRole("button", { name: "Mark as junk" }).click();
    await until(async () => (await flagsOf(imap, "Junk", "Act junk")) !== null, "junk");
    await pick(page, "Act many 1");
    await row(page, "Act many 2").click({ modifiers: ["Control"] });
    await toolbar(page).getByText("2 selected").waitFor();
    await toolbar(page).getByRole("button", { name: "Delete" }).click();
    await until(
      async () =>
        (await flagsOf(imap, "Trash", "Act many 1")) !== null &&
        (await flagsOf(imap, "Trash", "Act many 2")) !== null,
      "both in Trash",
    );
    for (const s of ["Act delete", "Act archive", "Act junk", "Act many 1", "Act many 2"])
      assert.equal(await flagsOf(imap, "INBOX", s), null, s);
  });

  it("archives the open message and closes it", async () => {
    await row(page, "Act open").click();
    await page.locator("[data-testid=message-row].open").waitFor();
    await toolbar(page).getByRole("button", { name: "Archive" }).click();
    await row(page, "Act open").waitFor({ state: "detached" });
    await page.getByText("No message open.").waitFor();
    await until(async () => (await flagsOf(imap, "Archive", "Act open")) !== null, "archived");
  });

  it("empties Trash after asking", async () => {
    await page.getByTestId("folder-trash").click();
    await row(page, "Act delete").waitFor();
    await toolbar(page).getByRole("button", { name: "Empty Trash" }).click();
    await page
      .getByRole("alertdialog", { name: "Empty Trash?" })
      .getByRole("button", { name: "Empty Trash" })
      .click();
    await until(async () => (await rows(page).count()) === 0, "list empty");
    await until(async () => (await messageCount(imap, "Trash")) === 0, "Trash empty");
    assert.deepEqual(pageErrors(errors), []);
  });

  it("shows a change at once, before the server has answered", async () => {
    await page.getByTestId("folder-inbox").click();
    await row(page, "Act flag").waitFor();
    const unread = async () => {
      const label = (await page.getByTestId("folder-inbox").getAttribute("aria-label")) ?? "";
      return label.includes(",") ? Number(label.split(", ")[1]!.split(" ")[0]) : 0;
    };
    const before = await unread();
    assert.ok(before > 0);
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    let passed = Promise.resolve();
    await page.route("**/jmap/api", (route) => {
      if (!(route.request().postData() ?? "").includes("Email/set")) return route.continue();
      passed = held.then(() => route.continue());
      return passed;
    });
    try {
      await pick(page, "Act flag");
      await toolbar(page).getByRole("button", { name: "Mark as read" }).click();
      // the request is held: the row and the count changed locally
      await until(
        async () => !/unread/.test((await row(page, "Act flag").getAttribute("class")) ?? ""),
        "row read",
      );
      await until(async () => (await unread()) === before - 1, "count down by one");
      assert.equal((await flagsOf(imap, "INBOX", "Act flag"))?.has("\\Seen"), false);
    } finally {
      release();
      await passed;
      await page.unroute("**/jmap/api");
    }
    await until(
      async () => (await flagsOf(imap, "INBOX", "Act flag"))?.has("\\Seen") === true,
      "seen on the server",
    );
    await toolbar(page).getByRole("button", { name: "Mark as unread" }).click();
    await until(
      async () => (await flagsOf(imap, "INBOX", "Act flag"))?.has("\\Seen") === false,
      "unseen again",
    );
    await row(page, "Act flag").getByRole("checkbox").uncheck();
  });

  it("rolls a refused change back with a notice", async () => {
    await row(page, "Act flag").waitFor();
    await page.route("**/jmap/api", async (route) => {
      const body = route.request().postData() ?? "";
      if (!body.includes("Email/set")) return route.continue();
      const id = (await row(page, "Act flag").getAttribute("data-id")) ?? "x";
      await route.fulfill({
        contentType: "application/json",
        body: JSON.stringify({
          methodResponses: [
            ["Email/set", { notUpdated: { [id]: { type: "forbidden", description: "no" } } }, "0"],
          ],
          sessionState: "x",
        }),
      });
    });
    await row(page, "Act flag").getByRole("button", { name: "Flag", exact: true }).click();
    const alert = page.getByRole("alert").filter({ hasText: "refused" });
    await alert.waitFor();
    await row(page, "Act flag").getByRole("button", { name: "Flag", exact: true }).waitFor();
    await page.unroute("**/jmap/api");
    assert.equal((await flagsOf(imap, "INBOX", "Act flag"))?.has("\\Flagged"), false);
  });
});
