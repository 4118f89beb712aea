/**
 * Webmail login in Chromium against the real server: a wrong password is refused with a clear
 * message, login opens the mail view, a reload keeps the session (GET /webmail/session), logout
 * returns to the login screen and the session is gone; the language switch works before login;
 * throttled logins say so.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { login, PASS_A, pageErrors, startWebmail, USER_A, type Webmail } from "./helpers.ts";

describe("webmail login", { timeout: 120_000 }, () => {
  let w: Webmail;
  before(async () => {
    // a short throttle (3 failures of one username), no delay: the last test reaches it quickly
    w = await startWebmail({
      extraToml: '[auth]\nmin_password_length = 0\nfailure_delay = "0s"\nmax_failures_per_user = 3\n',
    });
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
    assert.deepEqual(pageErrors(errors), []);
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

  it("says so when logins are throttled", async () => {
    const { page } = await w.page();
    await page.goto("/");
    const alert = page.getByRole("alert");
    let text = "";
    for (let i = 0; i < 6 && !text.includes("Too many"); i++) {
      await page.getByLabel("Email address").fill("nobody@example.test");
      await page.getByLabel("Password", { exact: true }).fill(`guess ${i}`);
      // editing clears the previous message; the answer to this attempt brings the next
      await alert.waitFor({ state: "detached" });
      await page.getByRole("button", { name: "Log in" }).click();
      await alert.waitFor();
      text = (await alert.textContent()) ?? "";
    }
    assert.match(text, /Too many failed attempts/);
  });
});
