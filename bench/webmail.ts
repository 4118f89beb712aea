/**
 * The webmail in Chromium (issue 13) against a real `postkontor serve` (the HTTP service with
 * TLS, sessions and the built app; test/webmail/helpers.ts): INBOXes of N messages seeded by
 * MULTIAPPEND, then
 *  - login → 50 rows: from the login form's submit event to 50 message rows in the DOM (a
 *    1280×3600 window, so the virtualised list renders 50 rows; timed in the page with
 *    performance.now()), each run a fresh browser context (no cookies, no cache); the first
 *    run after the server started is reported apart (cold: the account's view is built).
 *  - IMAP STORE → browser: an IMAP connection sets or clears \Flagged on one of the ten newest
 *    messages; from its tagged OK (Date.now() in this process) to the page's MutationObserver
 *    seeing that row's flag change (Date.now() in the page: the same machine clock), through
 *    the JMAP EventSource push and the app's Email/changes. Median and p90.
 *
 *   node bench/webmail.ts [runs=7] [sizes=10000,100000] [samples=30]
 *   npm run bench -- --only webmail        (runs this; --quick: 10,000 only, 3 runs)
 *
 * Prints one JSON line per size; the last line holds them all. All traffic is on 127.0.0.1.
 */
import type { Page } from "playwright-core";
import { openPage } from "../test/kit/browser.ts";
import { appendMany, login, mail, rawImap, startWebmail, type Webmail } from "../test/webmail/helpers.ts";

const RUNS = Number(process.argv[2] ?? 7);
const SIZES = (process.argv[3] ?? "10000,100000").split(",").map(Number);
const SAMPLES = Number(process.argv[4] ?? 30);
const ROWS = 50;
/** 50 rows of 64 px and the header fit: the list renders 50 real rows at once */
const TALL = { width: 1280, height: 3600 };
const BASE = Date.UTC(2026, 0, 1);

const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
const median = (a: number[]) => {
  const s = sorted(a);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const p90 = (a: number[]) => sorted(a)[Math.min(a.length - 1, Math.floor(0.9 * a.length))]!;
const ms = (x: number) => +x.toFixed(1);

/** Grows a@'s INBOX to n messages (newest = highest uid: one minute apart). */
async function fill(w: Webmail, have: number, n: number): Promise<void> {
  for (let from = have; from < n; from += 5000) {
    const batch = [];
    for (let i = from; i < Math.min(n, from + 5000); i++) {
      const date = new Date(BASE + i * 60_000);
      batch.push({
        raw: mail({
          subject: `Weekly report ${i + 1}`,
          from: `Sender ${i % 50} <sender${i % 50}@remote.test>`,
          date,
          messageId: `bench-${i + 1}@remote.test`,
          body: "The numbers for this week are in the attached sheet.\r\n",
        }),
        date,
        flags: i % 3 === 0 ? "" : "\\Seen",
      });
    }
    await appendMany(w.e, "INBOX", batch);
  }
}

/** One fresh context: login form submitted → ROWS message rows in the DOM, in ms (page clock). */
async function loginToRows(w: Webmail): Promise<number> {
  const tp = await openPage(w.browser, w.baseURL, TALL);
  try {
    // page-side code as source text (it runs in the browser, not type-checked against the DOM here)
    await tp.page.addInitScript(`
      document.addEventListener("submit", () => { window.__submit = performance.now(); }, true);
      new MutationObserver(() => {
        if (window.__submit === undefined || window.__rows !== undefined) return;
        if (document.querySelectorAll("[data-testid=message-row]").length >= ${ROWS}) window.__rows = performance.now();
      }).observe(document, { childList: true, subtree: true });`);
    await login(tp.page);
    // a function, not a string: waitForFunction evaluates strings with eval, which the app's CSP refuses
    await tp.page.waitForFunction(() => (globalThis as { __rows?: number }).__rows !== undefined, null, {
      timeout: 120_000,
    });
    const [submit, rows] = (await tp.page.evaluate("[window.__submit, window.__rows]")) as [number, number];
    if (tp.errors.some((e) => !e.includes("status of 401"))) throw new Error(tp.errors.join("\n"));
    return rows - submit;
  } finally {
    await tp.context.close();
  }
}

/** Arms an observer: resolves window.__seen with Date.now() when row `pos` shows flagged === want. */
async function arm(page: Page, pos: number, want: boolean): Promise<void> {
  const sel = `[data-testid=message-row][aria-rowindex="${pos + 1}"] button.flag`;
  await page.evaluate(`
    void (window.__seen = new Promise((resolve) => {
      const mo = new MutationObserver(() => {
        if (document.querySelector(${JSON.stringify(sel)})?.getAttribute("aria-pressed") !== "${want}") return;
        const at = Date.now();
        mo.disconnect();
        resolve(at);
      });
      mo.observe(document.documentElement, { subtree: true, childList: true, attributes: true, characterData: true });
    }))`);
}

/** IMAP STORE tagged OK → the row's flag changed in the page, SAMPLES times (ms). */
async function storeToBrowser(w: Webmail, n: number): Promise<{ fromOk: number[]; fromSend: number[] }> {
  const tp = await openPage(w.browser, w.baseURL);
  const imap = await rawImap(w.e);
  const fromOk: number[] = [];
  const fromSend: number[] = [];
  try {
    await login(tp.page);
    await tp.page.locator('[data-testid=message-row][aria-rowindex="10"]').waitFor();
    const sel = await imap.cmd("SELECT INBOX");
    if (!sel.ok) throw new Error(`SELECT: ${sel.tagged}`);
    const flagged = new Map<number, boolean>();
    for (let i = 0; i < SAMPLES; i++) {
      const pos = i % 10;
      const uid = n - pos;
      const want = !(flagged.get(uid) ?? false);
      await arm(tp.page, pos, want);
      const sent = Date.now();
      const r = await imap.cmd(`UID STORE ${uid} ${want ? "+" : "-"}FLAGS.SILENT (\\Flagged)`);
      const ok = Date.now();
      if (!r.ok) throw new Error(`STORE: ${r.tagged}`);
      const seen = await tp.page.evaluate(
        () => (globalThis as unknown as { __seen: Promise<number> }).__seen,
      );
      flagged.set(uid, want);
      fromOk.push(seen - ok);
      fromSend.push(seen - sent);
      // let the app settle (its Email/changes round) before the next change
      await new Promise((r) => setTimeout(r, 150));
    }
    if (tp.errors.some((e) => !e.includes("status of 401"))) throw new Error(tp.errors.join("\n"));
    return { fromOk, fromSend };
  } finally {
    await imap.cmd("LOGOUT").catch(() => {});
    imap.destroy();
    await tp.context.close();
  }
}

const w = await startWebmail();
const all: Record<string, unknown>[] = [];
try {
  let have = 0;
  for (const n of SIZES) {
    const t0 = Date.now();
    await fill(w, have, n);
    have = n;
    const seedS = (Date.now() - t0) / 1000;
    const loads: number[] = [];
    for (let i = 0; i < RUNS + 1; i++) loads.push(await loginToRows(w));
    const [cold, ...warm] = loads;
    const push = await storeToBrowser(w, n);
    const row = {
      messages: n,
      seed_s: +seedS.toFixed(1),
      runs: RUNS,
      login_to_50_rows_first_ms: ms(cold!),
      login_to_50_rows_median_ms: ms(median(warm)),
      login_to_50_rows_max_ms: ms(Math.max(...warm)),
      samples: SAMPLES,
      store_ok_to_browser_median_ms: ms(median(push.fromOk)),
      store_ok_to_browser_p90_ms: ms(p90(push.fromOk)),
      store_sent_to_browser_median_ms: ms(median(push.fromSend)),
    };
    all.push(row);
    console.log(JSON.stringify(row));
  }
} finally {
  await w.close();
}
console.log(JSON.stringify({ sizes: all }));
