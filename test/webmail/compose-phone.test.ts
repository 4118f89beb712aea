/**
 * The compose view at phone width and in Swedish, through the app: it fills the screen, its
 * labels and buttons are Swedish, a message sent from it arrives, and Escape gives the screen
 * back. One server for the file (test/webmail/compose-harness.ts).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  eventually,
  type Harness,
  jmapEmail,
  openApp,
  PASS_A,
  PASS_B,
  startHarness,
  USER_A,
  USER_B,
} from "./compose-harness.ts";

describe("webmail compose on a phone, in Swedish", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  it("fills the screen, speaks Swedish, sends, and closes with Escape", async () => {
    const p = await openApp(h, USER_A, PASS_A);
    try {
      const { page } = p;
      // logged in (helpers.ts login waits for the folder pane, hidden on a phone) and Swedish
      // chosen in the header at desktop width, then phone width
      await page.getByRole("combobox", { name: "Language" }).selectOption("sv");
      await page.setViewportSize({ width: 390, height: 844 });
      // the folder pane (with the New message button) is behind the menu button on a phone
      await page.getByRole("button", { name: "Visa mappar" }).click();
      await page.getByRole("button", { name: "Nytt meddelande" }).click();
      const d = page.getByRole("dialog", { name: "Nytt meddelande" });
      await d.getByLabel("Till", { exact: true }).waitFor();
      const box = await d.boundingBox();
      assert.deepEqual(box, { x: 0, y: 0, width: 390, height: 844 });
      for (const name of ["Skicka", "Bifoga", "Släng"]) await d.getByRole("button", { name }).waitFor();
      await d.getByLabel("Till", { exact: true }).fill(USER_B);
      await d.getByLabel("Ämne").fill("Hälsningar från telefonen");
      await d.getByRole("textbox", { name: "Meddelande" }).fill("Hej!");
      await d.getByRole("button", { name: "Skicka" }).click();
      await d.waitFor({ state: "detached" });
      await page.getByText("Meddelandet har skickats").waitFor();
      const got = await eventually(
        () => jmapEmail(h, USER_B, PASS_B, "Hälsningar från telefonen"),
        "delivered to b",
      );
      assert.equal(got.subject, "Hälsningar från telefonen");
      assert.equal(got.text, "Hej!");

      const menu = page.getByRole("button", { name: "Visa mappar" });
      if ((await menu.getAttribute("aria-expanded")) !== "true") await menu.click();
      await page.getByRole("button", { name: "Nytt meddelande" }).click();
      await d.getByLabel("Till", { exact: true }).waitFor();
      await page.keyboard.press("Escape");
      await d.waitFor({ state: "detached" });
      assert.deepEqual(p.errors, []);
    } finally {
      await p.context.close();
    }
  });
});
