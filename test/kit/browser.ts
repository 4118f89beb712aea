/**
 * Debian's Chromium driven by playwright-core (no browser download): one headless browser per
 * test file, a fresh context (cookies, storage) per use. The flags keep Chromium off the network
 * (this machine's network is closed: background services would only fail to connect) and work as
 * root (--no-sandbox). Page errors and console errors are collected so a test can assert none.
 */
import { existsSync } from "node:fs";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM} (scripts/test-deps.sh installs Debian's chromium)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-default-apps",
      "--disable-extensions",
    ],
  });
}

export interface TestPage {
  context: BrowserContext;
  page: Page;
  /** uncaught page errors and console.error lines seen so far */
  errors: string[];
}

/** A new context and page with baseURL; viewport desktop unless given (e.g. a phone: 390×844). */
export async function openPage(
  browser: Browser,
  baseURL: string,
  o: { width?: number; height?: number; locale?: string } = {},
): Promise<TestPage> {
  const context = await browser.newContext({
    baseURL,
    viewport: { width: o.width ?? 1280, height: o.height ?? 800 },
    locale: o.locale ?? "en-US",
    ignoreHTTPSErrors: true,
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  return { context, page, errors };
}
