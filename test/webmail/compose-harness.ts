/**
 * Set-up of the compose and settings browser tests: the real `serve` process (startHttpE2E, users
 * a@ and b@) serving the built webmail, and Chromium. openApp logs in through the login screen
 * and the tests use the app as a person does (the "New message" button, a message opened from
 * the list and answered with the r/a/f shortcuts, the Settings button).
 *
 * What the app offers no way to open yet (editing an existing draft: compose mode "draft") is
 * reached through openHarness: a small harness bundle built here with esbuild from webmail/src
 * that mounts the same Compose and Settings components and lets the test set `compose.value`,
 * its JMAP requests authenticated by HTTP Basic added on the way (Playwright routing).
 *
 * Results are checked on the server with imapflow (IMAP) and plain JMAP requests.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { imapClient } from "../e2e/helpers.ts";
import { type HttpE2E, request } from "../http/helpers.ts";
import { openPage, type TestPage } from "../kit/browser.ts";
import { login, startWebmail } from "./helpers.ts";

export { PASS_A, PASS_B, USER_A, USER_B } from "../e2e/helpers.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

const ENTRY = `
import { render } from "preact";
import "./styles.css";
import { compose, jmap, user, view, notices } from "./state.ts";
import { Compose } from "./compose/compose.tsx";
import { Settings } from "./settings/settings.tsx";
import { setLang } from "./i18n/index.ts";
function Harness() {
  return (
    <>
      {view.value === "settings" ? <Settings /> : <button type="button" id="opener">opener</button>}
      <Compose />
      <ul aria-label="notices">{notices.value.map((n) => <li key={n.id} data-kind={n.kind}>{n.text}</li>)}</ul>
    </>
  );
}
setLang("en");
const s = await jmap.connect();
user.value = { username: s.username, csrf: "" };
window.pk = { compose, view, jmap };
render(<Harness />, document.getElementById("app"));
document.body.dataset.ready = "1";
`;

export interface Bundle {
  js: Uint8Array;
  css: Uint8Array;
}

export async function buildHarness(): Promise<Bundle> {
  const esbuild = await import("esbuild");
  const r = await esbuild.build({
    stdin: {
      contents: ENTRY,
      resolveDir: path.join(root, "webmail", "src"),
      loader: "tsx",
      sourcefile: "h.tsx",
    },
    bundle: true,
    format: "esm",
    target: ["chrome110"],
    jsx: "automatic",
    jsxImportSource: "preact",
    outdir: "/h",
    entryNames: "app",
    write: false,
    logLevel: "error",
    define: { "process.env.NODE_ENV": '"development"' },
  });
  const js = r.outputFiles.find((f) => f.path.endsWith(".js"))!.contents;
  const css = r.outputFiles.find((f) => f.path.endsWith(".css"))?.contents ?? new Uint8Array();
  return { js, css };
}

const HTML = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/h/app.css"><script type="module" src="/h/app.js"></script></head>
<body><div id="app"></div></body></html>`;

export interface Harness {
  e: HttpE2E;
  browser: Browser;
  bundle: Bundle;
  base: string;
  close(): Promise<void>;
}

/** The server with the built webmail and Chromium (helpers.ts startWebmail), and the harness bundle. */
export async function startHarness(): Promise<Harness> {
  const [w, bundle] = await Promise.all([startWebmail(), buildHarness()]);
  return { e: w.e, browser: w.browser, bundle, base: w.baseURL, close: () => w.close() };
}

export function basic(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
}

export interface HarnessPage extends TestPage {
  /** lets held requests (see holdUploads) go on */
  releaseUploads(): void;
}

/**
 * A page logged in as user (JMAP requests get Basic auth on the way). With holdUploads, uploads
 * wait until releaseUploads() so a test can see them in progress.
 */
export async function openHarness(
  h: Harness,
  user: string,
  pass: string,
  o: { width?: number; height?: number; holdUploads?: boolean } = {},
): Promise<HarnessPage> {
  const tp = await openPage(h.browser, h.base, o);
  let release: () => void = () => {};
  const released = new Promise<void>((r) => {
    release = r;
  });
  if (!o.holdUploads) release();
  await tp.context.route("**/*", async (route) => {
    const url = new URL(route.request().url());
    if (url.pathname === "/") return route.fulfill({ contentType: "text/html", body: HTML });
    if (url.pathname === "/h/app.js")
      return route.fulfill({ contentType: "text/javascript", body: Buffer.from(h.bundle.js) });
    if (url.pathname === "/h/app.css")
      return route.fulfill({ contentType: "text/css", body: Buffer.from(h.bundle.css) });
    if (url.pathname.startsWith("/jmap/upload/")) await released;
    return route.continue({ headers: { ...route.request().headers(), authorization: basic(user, pass) } });
  });
  await tp.page.goto("/");
  await tp.page.waitForSelector("body[data-ready='1']");
  return { ...tp, releaseUploads: release };
}

/**
 * The real app, logged in through its login screen as user. With holdUploads, uploads wait
 * until releaseUploads() so a test can see them in progress.
 */
export async function openApp(
  h: Harness,
  user: string,
  pass: string,
  o: { width?: number; height?: number; holdUploads?: boolean } = {},
): Promise<HarnessPage> {
  const tp = await openPage(h.browser, h.base, o);
  let release: () => void = () => {};
  const released = new Promise<void>((r) => {
    release = r;
  });
  if (o.holdUploads)
    await tp.context.route("**/jmap/upload/**", async (route) => {
      await released;
      // a cancelled upload's request is gone by now
      await route.continue().catch(() => {});
    });
  else release();
  await login(tp.page, user, pass);
  // the page's first GET /webmail/session, before login, is a 401 by design
  tp.errors.splice(0, tp.errors.length);
  return { ...tp, releaseUploads: release };
}

/** In the app: opens the message with that subject from the current folder's list. */
export async function openMessage(page: Page, subject: string): Promise<void> {
  await page.getByTestId("message-row").filter({ hasText: subject }).first().click();
}

/** In the app: answers the message with that subject by the r (reply), a (reply all) or f (forward) key. */
export async function answer(page: Page, subject: string, key: "r" | "a" | "f"): Promise<void> {
  await openMessage(page, subject);
  await page.getByTestId("message-list").focus();
  await page.keyboard.press(key);
  await page.getByRole("dialog").waitFor();
}

/** In the app: the settings view. */
export async function openAppSettings(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Settings" }).click();
  await page.getByRole("heading", { name: "Settings" }).waitFor();
}

/** In the harness: opens the compose view as the reader's buttons do. */
export async function openCompose(
  page: Page,
  req: { mode: "new" | "reply" | "replyAll" | "forward" | "draft"; emailId?: string },
): Promise<void> {
  await page.evaluate((r) => {
    (globalThis as unknown as { pk: { compose: { value: unknown } } }).pk.compose.value = r;
  }, req);
  await page.getByRole("dialog").waitFor();
}

// biome-ignore lint/suspicious/noExplicitAny: JMAP responses are read field by field with asserts
export type J = any;

/** JMAP method calls as user over HTTP Basic; answers methodResponses. */
export async function jmapCalls(
  h: Harness,
  user: string,
  pass: string,
  calls: unknown[][],
  extra: string[] = [],
): Promise<J[]> {
  const a = await request(h.e.httpPort, {
    method: "POST",
    path: "/jmap/api",
    headers: { authorization: basic(user, pass), "content-type": "application/json" },
    body: JSON.stringify({
      using: [
        "urn:ietf:params:jmap:core",
        "urn:ietf:params:jmap:mail",
        "urn:ietf:params:jmap:submission",
        "urn:ietf:params:jmap:vacationresponse",
        ...extra,
      ],
      methodCalls: calls,
    }),
  });
  if (a.status !== 200) throw new Error(`JMAP ${a.status}: ${a.body}`);
  return JSON.parse(a.body).methodResponses;
}

export async function accountId(h: Harness, user: string, pass: string): Promise<string> {
  const a = await request(h.e.httpPort, {
    path: "/.well-known/jmap",
    headers: { authorization: basic(user, pass) },
  });
  return JSON.parse(a.body).primaryAccounts["urn:ietf:params:jmap:mail"];
}

/** The id of the newest message whose subject contains `subject` (JMAP as user). */
export async function emailIdBySubject(
  h: Harness,
  user: string,
  pass: string,
  subject: string,
): Promise<string> {
  const acc = await accountId(h, user, pass);
  const [[, q]] = await jmapCalls(h, user, pass, [
    [
      "Email/query",
      { accountId: acc, filter: { subject }, sort: [{ property: "receivedAt", isAscending: false }] },
      "q",
    ],
  ]);
  if (!q.ids?.length) throw new Error(`no message with subject ${subject}`);
  return q.ids[0];
}

export interface Fetched {
  uid: number;
  source: string;
  flags: Set<string>;
  /** decoded parts: part id → bytes, for the attachments */
  attachments: Array<{ filename: string; type: string; bytes: Buffer }>;
}

/** The messages of a user's mailbox (a path, or a special use like "\\Sent") over IMAP. */
export async function imapMessages(h: Harness, user: string, pass: string, box: string): Promise<Fetched[]> {
  const { client } = imapClient(h.e, { user, pass });
  await client.connect();
  try {
    let target = box;
    if (box.startsWith("\\")) {
      const list = await client.list();
      const m = list.find((x) => x.specialUse === box);
      if (!m) throw new Error(`no ${box} mailbox for ${user}`);
      target = m.path;
    }
    const lock = await client.getMailboxLock(target);
    const out: Fetched[] = [];
    try {
      const status = await client.status(target, { messages: true });
      if (status === false || !status.messages) return [];
      for await (const m of client.fetch("1:*", {
        uid: true,
        flags: true,
        source: true,
        bodyStructure: true,
      })) {
        out.push({
          uid: m.uid,
          source: m.source?.toString("utf8") ?? "",
          flags: m.flags ?? new Set(),
          attachments: [],
        });
        const parts: Array<{ part: string; filename: string; type: string }> = [];
        const walk = (n: J) => {
          if (n.disposition === "attachment" || n.dispositionParameters?.filename)
            parts.push({ part: n.part, filename: n.dispositionParameters?.filename ?? "", type: n.type });
          for (const c of n.childNodes ?? []) walk(c);
        };
        if (m.bodyStructure) walk(m.bodyStructure);
        (out[out.length - 1] as Fetched & { parts: typeof parts }).parts = parts;
      }
      for (const f of out) {
        for (const p of (f as Fetched & { parts: Array<{ part: string; filename: string; type: string }> })
          .parts) {
          const d = await client.download(String(f.uid), p.part, { uid: true });
          const chunks: Buffer[] = [];
          for await (const c of d.content ?? []) chunks.push(c as Buffer);
          f.attachments.push({ filename: p.filename, type: p.type, bytes: Buffer.concat(chunks) });
        }
      }
    } finally {
      lock.release();
    }
    return out;
  } finally {
    await client.logout().catch(() => client.close());
  }
}

/** Waits until fn answers a truthy value (polling; bounded). */
export async function eventually<T>(
  fn: () => Promise<T | null | undefined | false>,
  label: string,
  ms = 10_000,
): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out: ${label}${last ? ` (${String(last)})` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A header's unfolded value in a raw message (first occurrence), or null. */
export function header(source: string, name: string): string | null {
  const head = source.slice(0, source.indexOf("\r\n\r\n"));
  const lines = head.split("\r\n");
  const want = `${name.toLowerCase()}:`;
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.toLowerCase().startsWith(want)) continue;
    let v = lines[i]!.slice(want.length);
    while (i + 1 < lines.length && (lines[i + 1]!.startsWith(" ") || lines[i + 1]!.startsWith("\t")))
      v += lines[++i];
    return v.trim();
  }
  return null;
}

/** A message of user by subject, as JMAP Email/get sees it (headers, text, attachments). */
export async function jmapEmail(h: Harness, user: string, pass: string, subject: string): Promise<J> {
  const acc = await accountId(h, user, pass);
  const id = await emailIdBySubject(h, user, pass, subject);
  const [[, g]] = await jmapCalls(h, user, pass, [
    [
      "Email/get",
      {
        accountId: acc,
        ids: [id],
        properties: [
          "from",
          "to",
          "cc",
          "subject",
          "messageId",
          "inReplyTo",
          "references",
          "mailboxIds",
          "keywords",
          "textBody",
          "bodyValues",
          "attachments",
        ],
        fetchTextBodyValues: true,
      },
      "g",
    ],
  ]);
  const e = g.list[0];
  e.text = (e.textBody ?? []).map((p: J) => e.bodyValues[p.partId]?.value ?? "").join("\n");
  return e;
}

/** Whether an IMAP login (imapflow over STARTTLS) with these credentials succeeds. */
export async function imapLoginOk(h: Harness, user: string, pass: string): Promise<boolean> {
  const { client } = imapClient(h.e, { user, pass });
  try {
    await client.connect();
  } catch (err) {
    if ((err as { authenticationFailed?: boolean }).authenticationFailed === true) return false;
    throw err;
  }
  await client.logout().catch(() => client.close());
  return true;
}

/** Whether the server's JMAP session offers a capability. */
export async function hasCapability(h: Harness, user: string, pass: string, cap: string): Promise<boolean> {
  const a = await request(h.e.httpPort, {
    path: "/.well-known/jmap",
    headers: { authorization: basic(user, pass) },
  });
  return cap in (JSON.parse(a.body).capabilities ?? {});
}

/** the messages of a mailbox whose Subject is `subject` */
export async function withSubject(h: Harness, user: string, pass: string, box: string, subject: string) {
  return (await imapMessages(h, user, pass, box)).filter((m) => header(m.source, "Subject") === subject);
}
