/**
 * The screenshots in docs/webmail.md, taken by the test run: a realistic mailbox (a dozen
 * messages from varied senders, a thread, an attachment, an HTML newsletter, some unread and
 * flagged, a few folders) seeded over IMAP with fixed dates and Message-IDs, the UI driven in
 * Chromium, PNGs written to docs/webmail/. Desktop 1280×800 (list with an open message, compose,
 * settings), phone 390×844 (list, message), and the desktop list in Swedish. Asserts each image
 * is a PNG of the viewport's size with real content, and that no page logged an error.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import type { TestPage } from "../kit/browser.ts";
import {
  appendMany,
  login,
  PASS_A,
  pageErrors,
  rawImap,
  row,
  startWebmail,
  USER_A,
  until,
  type Webmail,
} from "./helpers.ts";

// the dates in the list follow the browser's time zone: fix it so the pictures don't churn
process.env.TZ = "UTC";

const OUT = join(import.meta.dirname, "..", "..", "docs", "webmail");
const CRLF = "\r\n";

interface Seed {
  mailbox: string;
  from: string;
  subject: string;
  /** minutes after the base date */
  at: number;
  body: string;
  flags?: string;
  id: string;
  /** extra headers (In-Reply-To/References) */
  extra?: string;
  to?: string;
  /** a complete MIME body with its Content-Type header instead of text/plain */
  mime?: string;
}

// a fixed year in the past: the list shows full dates, the same whatever day the test runs
const BASE = Date.UTC(2025, 10, 3, 8, 0, 0);

const NEWSLETTER_HTML =
  `<html><body style="font-family:Georgia,serif;background:#f4f1ea;margin:0;padding:24px">` +
  `<table width="100%" style="max-width:560px;margin:auto;background:#fff;border-radius:8px;padding:24px">` +
  `<tr><td><h1 style="color:#2d5a3d;margin:0 0 8px">Stadsodlarna — November</h1>` +
  `<p style="color:#555">News from the allotment association.</p>` +
  `<img src="https://images.example.invalid/header.jpg" width="512" height="120" alt="Autumn in the garden">` +
  `<h2 style="color:#2d5a3d">Winter preparations</h2><p>Cover your beds with leaves before the first frost, ` +
  `and bring the hoses in. The water is turned off on <b>15 November</b>.</p>` +
  `<h2 style="color:#2d5a3d">Seed swap</h2><p>Bring seeds you saved this year to the seed swap in the ` +
  `community hall on Saturday, 22 November at 11:00. Coffee and cinnamon buns as usual.</p>` +
  `<p style="text-align:center"><a href="https://stadsodlarna.example/calendar" ` +
  `style="background:#2d5a3d;color:#fff;padding:10px 18px;border-radius:4px;text-decoration:none">See the calendar</a></p>` +
  `</td></tr></table></body></html>`;

const PDF = Buffer.from(
  "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
);

function b64(buf: Buffer): string {
  return (buf.toString("base64").match(/.{1,76}/g) ?? []).join(CRLF);
}

const SEEDS: Seed[] = [
  {
    mailbox: "INBOX",
    from: "Maria Lindqvist <maria@lindqvist.example>",
    subject: "Board meeting on Thursday",
    at: 0,
    id: "board-1",
    flags: "\\Seen",
    body: "Hi,\r\n\r\nthe board meets on Thursday at 18:00 in the small room. The agenda is the budget for next year\r\nand the new bike shed.\r\n\r\nMaria",
  },
  {
    mailbox: "INBOX",
    from: "Johan Berg <johan.berg@remote.example>",
    subject: "Re: Board meeting on Thursday",
    at: 95,
    id: "board-2",
    flags: "\\Seen",
    extra: `In-Reply-To: <board-1@screens.test>${CRLF}References: <board-1@screens.test>${CRLF}`,
    body: "I can come, but I'll be ten minutes late.\r\n\r\n> the board meets on Thursday at 18:00 in the small room.\r\n\r\nJohan",
  },
  {
    mailbox: "INBOX",
    from: "Maria Lindqvist <maria@lindqvist.example>",
    subject: "Re: Board meeting on Thursday",
    at: 130,
    id: "board-3",
    extra: `In-Reply-To: <board-2@screens.test>${CRLF}References: <board-1@screens.test> <board-2@screens.test>${CRLF}`,
    body: "No problem, we'll start with the bike shed.\r\n\r\nMaria",
  },
  {
    mailbox: "INBOX",
    from: "Nordic Rail <no-reply@tickets.example>",
    subject: "Your ticket: Stockholm C – Göteborg C, 14 Nov",
    at: 240,
    id: "ticket",
    flags: "\\Seen \\Flagged",
    mime:
      `Content-Type: multipart/mixed; boundary="b1"${CRLF}${CRLF}--b1${CRLF}Content-Type: text/plain; charset=utf-8${CRLF}${CRLF}` +
      `Thank you for travelling with us. Your ticket is attached; show it on your phone or printed.${CRLF}${CRLF}` +
      `Departure 07:05, car 4, seat 32.${CRLF}--b1${CRLF}Content-Type: application/pdf; name="ticket-14-nov.pdf"${CRLF}` +
      `Content-Disposition: attachment; filename="ticket-14-nov.pdf"${CRLF}Content-Transfer-Encoding: base64${CRLF}${CRLF}` +
      `${b64(PDF)}${CRLF}--b1--${CRLF}`,
    body: "",
  },
  {
    mailbox: "INBOX",
    from: "Stadsodlarna <news@stadsodlarna.example>",
    subject: "Stadsodlarna — November newsletter",
    at: 360,
    id: "newsletter",
    mime:
      `Content-Type: multipart/alternative; boundary="b2"${CRLF}${CRLF}--b2${CRLF}Content-Type: text/plain; charset=utf-8${CRLF}${CRLF}` +
      `Winter preparations and the seed swap on 22 November.${CRLF}--b2${CRLF}Content-Type: text/html; charset=utf-8${CRLF}${CRLF}` +
      `${NEWSLETTER_HTML}${CRLF}--b2--${CRLF}`,
    body: "",
  },
  {
    mailbox: "INBOX",
    from: "Erik Svensson <erik@svensson.example>",
    subject: "Photos from the weekend",
    at: 500,
    id: "photos",
    flags: "\\Seen",
    body: "Here's the link to the album: https://photos.example/album/autumn\r\n\r\nThe one of the ferry came out well!\r\n\r\nErik",
  },
  {
    mailbox: "INBOX",
    from: "Anna Holm <anna.holm@work.example>",
    subject: "Quarterly report draft",
    at: 620,
    id: "report",
    flags: "\\Flagged",
    body: "Hi,\r\n\r\ncould you look at section 3 before Friday? The numbers for October are still missing.\r\n\r\nThanks,\r\nAnna",
  },
  {
    mailbox: "INBOX",
    from: "Bokhandeln <order@bokhandeln.example>",
    subject: "Order 48213 has shipped",
    at: 800,
    id: "order",
    flags: "\\Seen",
    body: "Your order is on its way and should arrive within two working days.\r\n\r\nTracking number: 0048213-SE",
  },
  {
    mailbox: "INBOX",
    from: "Karin Ek <karin.ek@remote.example>",
    subject: "Dinner on Saturday?",
    at: 1000,
    id: "dinner",
    body: "We're making fish soup — would you and Sam like to come around seven?\r\n\r\nKarin",
  },
  {
    mailbox: "INBOX",
    from: "IT Support <support@work.example>",
    subject: "Planned maintenance Sunday 02:00–04:00",
    at: 1150,
    id: "maintenance",
    flags: "\\Seen",
    body: "The VPN and the file server will be unavailable during the maintenance window.",
  },
  {
    mailbox: "INBOX",
    from: "Lars Nilsson <lars@nilsson.example>",
    subject: "Borrowed ladder",
    at: 1400,
    id: "ladder",
    flags: "\\Seen",
    body: "Thanks for the ladder! I'll bring it back on Sunday.\r\n\r\nLars",
  },
  {
    mailbox: "INBOX",
    from: "Sofia Andersson <sofia@andersson.example>",
    subject: "Book club: next title",
    at: 1560,
    id: "bookclub",
    body: "I vote for the new Kerstin Ekman. We meet at mine on the 27th.\r\n\r\nSofia",
  },
  {
    mailbox: "Receipts",
    from: "Bokhandeln <order@bokhandeln.example>",
    subject: "Receipt for order 48213",
    at: 780,
    id: "receipt",
    flags: "\\Seen",
    body: "Total: 389 SEK incl. VAT.",
  },
  {
    mailbox: "Travel",
    from: "Hotel Nordstjärnan <booking@nordstjarnan.example>",
    subject: "Booking confirmed: 14–16 November",
    at: 300,
    id: "hotel",
    flags: "\\Seen",
    body: "Your double room is confirmed. Check-in from 15:00.",
  },
  {
    mailbox: "Sent",
    from: `Alex Morgan <${USER_A}>`,
    to: "Maria Lindqvist <maria@lindqvist.example>",
    subject: "Re: Board meeting on Thursday",
    at: 110,
    id: "board-sent",
    flags: "\\Seen",
    extra: `In-Reply-To: <board-1@screens.test>${CRLF}References: <board-1@screens.test>${CRLF}`,
    body: "I'll be there and bring the drawings for the shed.\r\n\r\nAlex",
  },
];

function raw(s: Seed): Buffer {
  const date = new Date(BASE + s.at * 60_000).toUTCString().replace("GMT", "+0000");
  const head =
    `From: ${s.from}${CRLF}To: ${s.to ?? `Alex Morgan <${USER_A}>`}${CRLF}Subject: ${s.subject}${CRLF}` +
    `Date: ${date}${CRLF}Message-ID: <${s.id}@screens.test>${CRLF}${s.extra ?? ""}MIME-Version: 1.0${CRLF}`;
  const body = s.mime ?? `Content-Type: text/plain; charset=utf-8${CRLF}${CRLF}${s.body}${CRLF}`;
  return Buffer.from(head + body);
}

/** Width and height from a PNG's IHDR chunk, or null when the bytes are not a PNG. */
function pngSize(buf: Buffer): { width: number; height: number } | null {
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (buf.length < 24 || !buf.subarray(0, 8).equals(sig) || buf.toString("latin1", 12, 16) !== "IHDR")
    return null;
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

describe("webmail screenshots (docs/webmail/)", { timeout: 120_000 }, () => {
  let w: Webmail;
  const pages: TestPage[] = [];

  before(async () => {
    mkdirSync(OUT, { recursive: true });
    w = await startWebmail();
    const c = await rawImap(w.e);
    try {
      for (const box of ["Receipts", "Travel"]) {
        const r = await c.cmd(`CREATE ${box}`);
        if (!r.ok) throw new Error(`CREATE ${box}: ${r.tagged}`);
      }
    } finally {
      await c.cmd("LOGOUT").catch(() => {});
      c.destroy();
    }
    for (const box of ["INBOX", "Receipts", "Travel", "Sent"]) {
      const seeds = SEEDS.filter((s) => s.mailbox === box);
      await appendMany(
        w.e,
        box,
        seeds.map((s) => ({ raw: raw(s), date: new Date(BASE + s.at * 60_000), flags: s.flags ?? "" })),
      );
    }
  });
  after(async () => {
    await w?.close();
  });

  async function open(o: { phone?: boolean; locale?: string } = {}): Promise<Page> {
    const tp = await w.page(o);
    pages.push(tp);
    if (o.locale?.startsWith("sv")) await loginSv(tp.page);
    else await login(tp.page);
    await row(tp.page, "Book club: next title").waitFor();
    return tp.page;
  }

  /** helpers.ts login() with the Swedish labels */
  async function loginSv(page: Page): Promise<void> {
    await page.goto("/");
    await page.getByLabel("E-postadress").fill(USER_A);
    await page.getByLabel("Lösenord", { exact: true }).fill(PASS_A);
    await page.getByRole("button", { name: "Logga in" }).click();
    await page.getByRole("button", { name: "Logga ut" }).waitFor();
  }

  /**
   * How many pixels of two PNGs differ (decoded by the browser on a blank page); null when the
   * sizes differ. Chromium's software rendering varies by a few anti-aliased pixels between runs.
   */
  async function pixelsDiffering(a: Buffer, b: Buffer): Promise<number | null> {
    const page = await w.browser.newPage();
    try {
      const urls = [a, b].map((x) => `data:image/png;base64,${x.toString("base64")}`);
      return (await page.evaluate(`(async () => {
        const load = async (src) => {
          const img = new Image();
          img.src = src;
          await img.decode();
          const c = document.createElement("canvas");
          c.width = img.width;
          c.height = img.height;
          const g = c.getContext("2d");
          g.drawImage(img, 0, 0);
          return g.getImageData(0, 0, img.width, img.height);
        };
        const [A, B] = [await load(${JSON.stringify(urls[0])}), await load(${JSON.stringify(urls[1])})];
        if (A.width !== B.width || A.height !== B.height) return null;
        let n = 0;
        for (let i = 0; i < A.data.length; i += 4)
          if (A.data[i] !== B.data[i] || A.data[i + 1] !== B.data[i + 1] || A.data[i + 2] !== B.data[i + 2]) n++;
        return n;
      })()`)) as number | null;
    } finally {
      await page.close();
    }
  }

  /**
   * Waits for fonts and layout to settle, takes the picture and checks it; writes it to
   * docs/webmail/ unless the file there differs by no more than a few stray pixels (so that the
   * committed pictures change only when the interface does).
   */
  async function shoot(page: Page, name: string, width: number, height: number): Promise<void> {
    await page.evaluate("document.fonts.ready.then(() => undefined)");
    // the caret blinks and transitions run: keep both out of the picture
    await page.addStyleTag({
      content:
        "*,*::before,*::after{transition:none!important;animation:none!important;caret-color:transparent!important}",
    });
    await page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))");
    const buf = await page.screenshot({ animations: "disabled", caret: "hide" });
    assert.deepEqual(pngSize(buf), { width, height }, `${name}.png: a PNG of the viewport`);
    // a blank or near-blank page compresses to a few KB; a real view is far larger
    assert.ok(buf.length > 20_000, `${name}.png has content (${buf.length} bytes)`);
    const file = join(OUT, `${name}.png`);
    const old = existsSync(file) ? readFileSync(file) : null;
    const differ = old ? await pixelsDiffering(old, buf) : null;
    if (differ === null || differ > 100) writeFileSync(file, buf);
  }

  /**
   * Waits for the Inbox's unread count to be `n` (opening a message marks it read: the row turns
   * at once, the folder's count when the server's change comes back) and blurs the focus, so
   * that a picture never catches either half-way.
   */
  async function settle(page: Page, n: number): Promise<void> {
    const count = page.getByTestId("folder-inbox").locator(".count");
    await until(
      async () => ((await count.count()) === 0 ? 0 : Number(await count.textContent())) === n,
      `Inbox count ${n}`,
    );
    await page.evaluate("document.activeElement?.blur()");
  }

  async function openMessage(page: Page, subject: string): Promise<void> {
    await row(page, subject).first().locator(".subject").click();
    await page.getByTestId("reader").getByRole("heading", { name: subject }).first().waitFor();
  }

  it("desktop: list with the newsletter open", async () => {
    const page = await open();
    await openMessage(page, "Stadsodlarna — November newsletter");
    await page.getByText("Remote images blocked.").waitFor();
    await page.frameLocator("iframe").getByRole("heading", { name: "Winter preparations" }).waitFor();
    // unread in the seed: the newsletter, the last thread message, the report, dinner, book club
    await settle(page, 4);
    await shoot(page, "desktop-message", 1280, 800);
  });

  it("desktop: compose", async () => {
    const page = await open();
    await openMessage(page, "Dinner on Saturday?");
    await page.getByRole("button", { name: "New message" }).click();
    const d = page.getByRole("dialog");
    await d.getByRole("combobox", { name: "To" }).fill("karin.ek@remote.example");
    await d.getByLabel("Subject").fill("Seven is perfect");
    await d
      .getByRole("textbox", { name: "Message" })
      .fill("Hi Karin,\n\nwe'd love to. We'll bring dessert.\n\nAlex");
    // the autosave's "Draft saved" comes a few seconds after typing: wait for it, not race it
    await d.getByRole("status").filter({ hasText: "Draft saved" }).waitFor({ timeout: 15_000 });
    await settle(page, 3);
    await d.getByRole("textbox", { name: "Message" }).focus();
    await shoot(page, "desktop-compose", 1280, 800);
  });

  it("desktop: settings", async () => {
    const page = await open();
    await page.getByRole("button", { name: "Settings" }).click();
    await page.getByRole("heading", { name: "Settings" }).waitFor();
    await page.getByRole("textbox", { name: "Display name" }).fill("Alex Morgan");
    await page.getByRole("textbox", { name: "Signature" }).fill("Alex Morgan\nStorgatan 12, Uppsala");
    // the settings view has no folder list: only the focus goes
    await page.evaluate("document.activeElement?.blur()");
    await shoot(page, "desktop-settings", 1280, 800);
  });

  it("desktop in Swedish: the thread open", async () => {
    const page = await open({ locale: "sv-SE" });
    await page.getByRole("checkbox", { name: "Konversationer" }).check();
    await openMessage(page, "Re: Board meeting on Thursday");
    await page.getByRole("region", { name: "Konversation (4 meddelanden)" }).waitFor();
    await settle(page, 2);
    await shoot(page, "desktop-sv", 1280, 800);
  });

  it("phone: the list, then a message", async () => {
    const page = await open({ phone: true });
    await settle(page, 2);
    await shoot(page, "phone-list", 390, 844);
    await openMessage(page, "Your ticket: Stockholm C – Göteborg C, 14 Nov");
    await page.getByText("ticket-14-nov.pdf").first().waitFor();
    await settle(page, 2);
    await shoot(page, "phone-message", 390, 844);
  });

  it("no page logged an error", () => {
    for (const tp of pages) assert.deepEqual(pageErrors(tp.errors), []);
  });
});
