/**
 * Webmail login in Chromium against the real server: a wrong password is refused with a clear
 * message, login opens the mail view, a reload keeps the session (GET /webmail/session), logout
 * returns to the login screen and the session is gone; the language switch works before login.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { login, PASS_A, startWebmail, USER_A, type Webmail } from "./helpers.ts";

describe("webmail login", { timeout: 120_000 }, () => {
  let w: Webmail;
  before(async () => {
    w = await startWebmail();
  });
  after(async () => {
    await w?.close();
  });

  it("refuses a wrong password with a message, then logs in", async () => {
    const { page, errors } = await w.page();
    await page.goto("/");
    await page.getByLabel("Email address").fill(USER_A);
    await page.getByLabel("Password", { exact: true }).fill("not the password");
    await page.getByRole("button", { name: "Log in" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    assert.match((await alert.textContent()) ?? "", /Wrong email address or password/);
    await page.getByLabel("Password", { exact: true }).fill(PASS_A);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("navigation", { name: "Folders" }).waitFor();
    await page.getByRole("button", { name: "Inbox", exact: true }).waitFor();
    assert.equal(await page.getByRole("main", { name: "Messages" }).count(), 1);
    // the 401 of the refused login and of the first session check are the only console errors
    assert.deepEqual(
      errors.filter((e) => !e.includes("401")),
      [],
    );
  });

  it("keeps the session over a reload and logs out", async () => {
    const { page } = await w.page();
    await login(page);
    await page.reload();
    await page.getByRole("navigation", { name: "Folders" }).waitFor();
    assert.equal(await page.getByLabel("Password", { exact: true }).count(), 0);
    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByRole("button", { name: "Log in" }).waitFor();
    // the session is gone on the server, not only on the screen
    const status = await page.evaluate(async () => (await fetch("/webmail/session")).status);
    assert.equal(status, 401);
    await page.reload();
    await page.getByRole("button", { name: "Log in" }).waitFor();
  });

  it("switches to Swedish on the login screen and keeps it after login", async () => {
    const { page } = await w.page();
    await page.goto("/");
    await page.getByLabel("Language").selectOption("sv");
    await page.getByRole("button", { name: "Logga in" }).waitFor();
    await page.getByLabel("E-postadress").fill(USER_A);
    await page.getByLabel("Lösenord", { exact: true }).fill(PASS_A);
    await page.getByRole("button", { name: "Logga in" }).click();
    await page.getByRole("navigation", { name: "Mappar" }).waitFor();
    for (const name of ["Inkorg", "Skickat", "Papperskorg", "Skräppost", "Arkiv", "Utkast"]) {
      await page.getByRole("button", { name, exact: true }).waitFor();
    }
  });
});
