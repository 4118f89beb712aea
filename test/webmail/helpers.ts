/**
 * Webmail browser-test set-up: the real server (test/http/helpers.ts startHttpE2E, accounts a@
 * and b@ of example.test) with the built webmail, one headless Chromium (test/kit/browser.ts),
 * logging in through the UI, and mail put in place over the protocols: IMAP APPEND (MULTIAPPEND
 * with LITERAL+ literals for a few thousand messages in one command), SMTP delivery, and an
 * imapflow client to check the server's side.
 */
import tls from "node:tls";
import type { ImapFlow } from "imapflow";
import type { Browser, Page } from "playwright-core";
import type { ServerOpts } from "../../bench/server.ts";
import { buildWebmail } from "../../scripts/build-webmail.ts";
import { imapClient } from "../e2e/helpers.ts";
import { type HttpE2E, PASS_A, startHttpE2E, USER_A } from "../http/helpers.ts";
import { launchBrowser, openPage, type TestPage } from "../kit/browser.ts";
import { ImapClient } from "../kit/imap-client.ts";
import { SmtpClient } from "../kit/smtp-client.ts";

export { waitUntil, within } from "../e2e/helpers.ts";
export { DOMAIN, PASS_A, USER_A, USER_B } from "../http/helpers.ts";

export interface Webmail {
  e: HttpE2E;
  browser: Browser;
  baseURL: string;
  /** a new page (own cookies) at the app's origin; phone: a 390×844 viewport */
  page(o?: { phone?: boolean; locale?: string }): Promise<TestPage>;
  close(): Promise<void>;
}

/** Builds the webmail, starts the server (opts: e.g. extraToml) and Chromium. */
export async function startWebmail(opts: ServerOpts = {}): Promise<Webmail> {
  await buildWebmail({ quiet: true });
  const e = await startHttpE2E(opts);
  let browser: Browser;
  try {
    browser = await launchBrowser();
  } catch (err) {
    await e.close();
    throw err;
  }
  const baseURL = `https://127.0.0.1:${e.httpsPort}`;
  const pages: TestPage[] = [];
  return {
    e,
    browser,
    baseURL,
    async page(o = {}) {
      const p = await openPage(browser, baseURL, {
        ...(o.phone ? { width: 390, height: 844 } : {}),
        ...(o.locale ? { locale: o.locale } : {}),
      });
      pages.push(p);
      return p;
    },
    async close() {
      for (const p of pages) await p.context.close().catch(() => {});
      await browser.close().catch(() => {});
      await e.close();
    },
  };
}

/** Logs in through the login screen and waits for the mail view (its Log out button). */
export async function login(page: Page, user = USER_A, pass = PASS_A): Promise<void> {
  await page.goto("/");
  await page.getByLabel("Email address").fill(user);
  await page.getByLabel("Password", { exact: true }).fill(pass);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("button", { name: "Log out" }).waitFor();
}

let seq = 0;

/** A small message (CRLF), Date and Message-ID unique per call unless given. */
export function mail(o: {
  subject: string;
  from?: string;
  to?: string;
  body?: string;
  date?: Date;
  extraHeaders?: string;
  /** without the angle brackets; unique when not given */
  messageId?: string;
}): Buffer {
  seq++;
  const date = (o.date ?? new Date()).toUTCString().replace("GMT", "+0000");
  return Buffer.from(
    `From: ${o.from ?? "Sender <sender@remote.test>"}\r\nTo: ${o.to ?? USER_A}\r\n` +
      `Subject: ${o.subject}\r\nDate: ${date}\r\n` +
      `Message-ID: <${o.messageId ?? `wm-${process.pid}-${seq}@remote.test`}>\r\nMIME-Version: 1.0\r\n${o.extraHeaders ?? ""}` +
      `Content-Type: text/plain; charset=utf-8\r\n\r\n${o.body ?? "Hello from the test.\r\n"}`,
  );
}

/** An IMAP date-time (RFC 3501 §9 date-time) for APPEND's internal date. */
export function imapDate(d: Date): string {
  const mon = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][
    d.getUTCMonth()
  ];
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(d.getUTCDate())}-${mon}-${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** A raw IMAP connection over implicit TLS, logged in. */
export async function rawImap(e: HttpE2E, user = USER_A, pass = PASS_A): Promise<ImapClient> {
  const sock = tls.connect({ host: "127.0.0.1", port: e.server.imapsPort, rejectUnauthorized: false });
  await new Promise<void>((resolve, reject) => {
    sock.once("secureConnect", () => resolve());
    sock.once("error", reject);
  });
  const c = new ImapClient(sock);
  c.greeting = await c.readLine();
  const r = await c.cmd(`LOGIN "${user}" "${pass}"`);
  if (!r.ok) throw new Error(`IMAP LOGIN: ${r.tagged}`);
  return c;
}

/**
 * Appends messages to a mailbox: MULTIAPPEND (RFC 3502) in batches, each message a LITERAL+
 * literal (RFC 7888), so a few thousand go in a few commands. flags like "\\Seen" or "".
 */
export async function appendMany(
  e: HttpE2E,
  mailbox: string,
  messages: { raw: Buffer; date: Date; flags?: string }[],
  user = USER_A,
  pass = PASS_A,
): Promise<void> {
  const c = await rawImap(e, user, pass);
  try {
    for (let i = 0; i < messages.length; i += 500) {
      const parts: Buffer[] = [Buffer.from(`APPEND "${mailbox}"`)];
      for (const m of messages.slice(i, i + 500)) {
        parts.push(Buffer.from(` (${m.flags ?? ""}) "${imapDate(m.date)}" {${m.raw.length}+}\r\n`), m.raw);
      }
      parts.push(Buffer.from("\r\n"));
      const r = await c.cmd(Buffer.concat(parts), 60_000);
      if (!r.ok) throw new Error(`APPEND: ${r.tagged}`);
    }
  } finally {
    await c.cmd("LOGOUT").catch(() => {});
    c.destroy();
  }
}

/** Delivers a message over SMTP (the MX listener) to the recipients. */
export async function smtpDeliver(e: HttpE2E, to: string[], raw: Buffer): Promise<void> {
  const c = await SmtpClient.connect(e.server.smtpPort);
  try {
    const expect = async (line: string, code: string) => {
      const r = await c.cmd(line);
      if (!r.startsWith(code)) throw new Error(`SMTP ${line}: ${r}`);
    };
    await expect("EHLO client.remote.test", "250");
    await expect("MAIL FROM:<sender@remote.test>", "250");
    for (const r of to) await expect(`RCPT TO:<${r}>`, "250");
    await expect("DATA", "354");
    const body = raw.toString("latin1").replace(/\r\n\./g, "\r\n..");
    c.write(Buffer.from(`${body}${body.endsWith("\r\n") ? "" : "\r\n"}.\r\n`, "latin1"));
    const r = await c.reply(10_000);
    if (!r.startsWith("250")) throw new Error(`SMTP DATA: ${r}`);
    await c.cmd("QUIT").catch(() => "");
  } finally {
    c.close();
  }
}

/** A connected imapflow client of a@ (STARTTLS). */
export async function imapflow(e: HttpE2E, user = USER_A, pass = PASS_A) {
  const { client } = imapClient(e, { user, pass });
  await client.connect();
  return client;
}

/** The rows of the message list currently in the DOM. */
export function rows(page: Page) {
  return page.getByTestId("message-row");
}

/** The row showing a subject. */
export function row(page: Page, subject: string) {
  return page.getByTestId("message-row").filter({ hasText: subject });
}

/** Waits until an async condition holds (polling), or throws naming it. */
export async function until(cond: () => Promise<boolean>, label: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`not reached within ${timeoutMs} ms: ${label}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The subject of the row open in the reader, or null when none is open. */
export async function openSubject(page: Page): Promise<string | null> {
  const open = page.locator("[data-testid=message-row].open .subject");
  return (await open.count()) === 0 ? null : await open.textContent();
}

/** Whether the mailbox holds a message with this subject (checked over IMAP). */
export async function inMailbox(imap: ImapFlow, mailbox: string, subject: string): Promise<boolean> {
  const lock = await imap.getMailboxLock(mailbox);
  try {
    const all = await imap.fetchAll("1:*", { envelope: true }).catch(() => []);
    return all.some((m) => m.envelope?.subject === subject);
  } finally {
    lock.release();
  }
}

export function pageErrors(errors: string[]): string[] {
  return errors.filter((e) => !e.includes("status of 401"));
}

/** How many messages a mailbox holds (IMAP STATUS). */
export async function messageCount(imap: ImapFlow, mailbox: string): Promise<number> {
  const s = await imap.status(mailbox, { messages: true });
  return s ? (s.messages ?? 0) : 0;
}
