/**
 * The same mailbox in the browser and over IMAP, live: an imapflow client in IDLE sees the
 * browser's flag change, move and delete; the browser shows a message delivered over SMTP and a
 * \Flagged set over IMAP without a reload, also when Email/changes cannot say (the visible
 * window is queried again); a lost push connection shows a banner and, once back,
 * the browser catches up on what changed meanwhile.
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
  smtpDeliver,
  startWebmail,
  USER_A,
  until,
  type Webmail,
} from "./helpers.ts";

const SUBJECTS = ["Par flag", "Par move", "Par delete", "Par imapflag", "Par offline"];

describe("webmail ↔ IMAP parity", { timeout: 120_000 }, () => {
  let w: Webmail;
  let idler: ImapFlow;
  let other: ImapFlow;
  let page: Page;
  let errors: string[];
  const flagEvents: { uid?: number; flags: Set<string> }[] = [];
  let expunges = 0;
  let uids = new Map<string, number>();

  before(async () => {
    w = await startWebmail();
    const t0 = Date.UTC(2026, 2, 1);
    await appendMany(
      w.e,
      "INBOX",
      SUBJECTS.map((subject, k) => ({ raw: mail({ subject }), date: new Date(t0 + k * 60_000) })),
    );
    other = await imapflow(w.e);
    idler = await imapflow(w.e);
    await idler.mailboxOpen("INBOX");
    const all = await idler.fetchAll("1:*", { envelope: true, uid: true });
    uids = new Map(all.map((m) => [m.envelope?.subject ?? "", m.uid]));
    idler.on("flags", (ev: { uid?: number; flags: Set<string> }) => flagEvents.push(ev));
    idler.on("expunge", () => expunges++);
    void idler.idle().catch(() => {});
    ({ page, errors } = await w.page());
    await login(page);
    await row(page, "Par flag").waitFor();
  });
  after(async () => {
    await idler?.logout().catch(() => {});
    await other?.logout().catch(() => {});
    await w?.close();
  });

  it("an IMAP client in IDLE sees the browser's flag change, move and delete", async () => {
    await row(page, "Par flag").getByRole("button", { name: "Flag", exact: true }).click();
    const uid = uids.get("Par flag");
    await until(
      async () => flagEvents.some((e) => e.flags.has("\\Flagged") && (e.uid === undefined || e.uid === uid)),
      "IDLE saw \\Flagged",
    );
    await row(page, "Par move").getByRole("checkbox").check();
    await page
      .getByRole("toolbar", { name: "List actions" })
      .getByRole("button", { name: "Archive" })
      .click();
    await until(async () => expunges >= 1, "IDLE saw the move out of INBOX");
    await row(page, "Par delete").getByRole("checkbox").check();
    await page.getByRole("toolbar", { name: "List actions" }).getByRole("button", { name: "Delete" }).click();
    await until(async () => expunges >= 2, "IDLE saw the delete");
    assert.equal(await messageCount(other, "Archive"), 1);
    assert.equal(await messageCount(other, "Trash"), 1);
  });

  it("shows a message delivered over SMTP and a flag set over IMAP without reload", async () => {
    await smtpDeliver(w.e, [USER_A], mail({ subject: "Par arrived by SMTP" }));
    await row(page, "Par arrived by SMTP").waitFor();
    const lock = await other.getMailboxLock("INBOX");
    try {
      await other.messageFlagsAdd({ uid: String(uids.get("Par imapflag")) }, ["\\Flagged"], { uid: true });
    } finally {
      lock.release();
    }
    await row(page, "Par imapflag").getByRole("button", { name: "Remove flag" }).waitFor();
    // the inbox's unread count follows too (the SMTP message is unread, the archived/deleted gone)
    await page.getByRole("button", { name: /^Inbox, \d+ unread$/ }).waitFor();
  });

  it("re-queries the window when the server cannot calculate the changes", async () => {
    await page.route("**/jmap/api", async (route) => {
      const body = route.request().postData() ?? "";
      if (!body.includes("Email/changes")) return route.continue();
      await route.fulfill({
        contentType: "application/json",
        body: JSON.stringify({
          methodResponses: [["error", { type: "cannotCalculateChanges" }, "0"]],
          sessionState: "x",
        }),
      });
    });
    try {
      await smtpDeliver(w.e, [USER_A], mail({ subject: "Par without changes" }));
      await row(page, "Par without changes").waitFor();
    } finally {
      await page.unroute("**/jmap/api");
    }
  });

  it("shows a lost connection and catches up when it is back", async () => {
    await page.context().setOffline(true);
    await page.getByRole("alert").filter({ hasText: "Connection lost" }).waitFor();
    const lock = await other.getMailboxLock("INBOX");
    try {
      await other.messageFlagsAdd({ uid: String(uids.get("Par offline")) }, ["\\Seen"], { uid: true });
    } finally {
      lock.release();
    }
    await page.context().setOffline(false);
    await page
      .getByRole("alert")
      .filter({ hasText: "Connection lost" })
      .waitFor({ state: "detached", timeout: 20_000 });
    await until(
      async () => !/unread/.test((await row(page, "Par offline").getAttribute("class")) ?? ""),
      "the row shows read",
    );
    assert.deepEqual(
      pageErrors(errors).filter((e) => !e.includes("ERR_INTERNET_DISCONNECTED")),
      [],
    );
  });
});
