/** Test helpers for the store: temp data dirs and message builders. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore, type StoreOptions } from "../index.ts";
import type { Store } from "../types.ts";

/** Waits until the store's background blob sweeper is idle (SqlStore; a no-op for other stores). */
export async function gcIdle(store: Store): Promise<void> {
  const s = store as Store & { whenGcIdle?: () => Promise<void> };
  if (s.whenGcIdle) await s.whenGcIdle();
}

export function tempDir(prefix = "pk-store-"): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

let counter = 0;
export function msg(
  opts: {
    subject?: string;
    body?: string;
    messageId?: string;
    inReplyTo?: string;
    references?: string;
    from?: string;
  } = {},
): Buffer {
  counter++;
  const lines = [
    `From: ${opts.from ?? "Alice <alice@example.org>"}`,
    "To: bob@example.com",
    `Subject: ${opts.subject ?? `message ${counter}`}`,
    `Message-ID: ${opts.messageId ?? `<m${counter}.${process.pid}.${Date.now()}@example.org>`}`,
    "Date: Mon, 1 Jan 2024 10:00:00 +0000",
  ];
  if (opts.inReplyTo) lines.push(`In-Reply-To: ${opts.inReplyTo}`);
  if (opts.references) lines.push(`References: ${opts.references}`);
  lines.push(
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "",
    opts.body ?? `body ${counter}`,
    "",
  );
  return Buffer.from(lines.join("\r\n"), "utf8");
}

export interface Fixture {
  dir: string;
  store: Store;
  accountId: number;
  inbox: number;
  close(): Promise<void>;
}

export async function fixture(opts: Partial<StoreOptions> = {}): Promise<Fixture> {
  const t = tempDir();
  const store = await openStore({ dataDir: t.dir, feedSocketPath: null, ...opts });
  await store.addDomain("example.com");
  const acct = await store.createAccount("bob@example.com", "hash");
  const inbox = (await store.getMailbox(acct.id, "INBOX"))!.id;
  return {
    dir: t.dir,
    store,
    accountId: acct.id,
    inbox,
    close: async () => {
      await store.close();
      t.cleanup();
    },
  };
}
