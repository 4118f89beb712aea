/**
 * A real store in a temp directory with domains and accounts, an authenticator over it that
 * never throttles, and message builders. Every protocol's test server starts from this.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { type Authenticator, createAuthenticator } from "../../src/auth/index.ts";
import { SMALL_BLOB_DB } from "../../src/store/blob/small.ts";
import { openStore, type StoreOptions } from "../../src/store/index.ts";
import type { Store } from "../../src/store/types.ts";
import { tempDir } from "./temp.ts";

export interface TestStore {
  dir: string;
  store: Store;
  /** account id by address, for the accounts created */
  ids: Record<string, number>;
  /** closes the store and removes the directory */
  close(): Promise<void>;
}

/**
 * Opens a store in a new temp dir (no feed socket) and creates the domains and the accounts
 * (`{PLAIN}` password hashes, so logins are fast).
 */
export async function openTestStore(o: {
  prefix?: string;
  domains?: string[];
  accounts?: Array<[address: string, password: string]>;
  /** receives the store's SQLite connection (tests that simulate older data) */
  sqliteHook?: StoreOptions["sqliteHook"];
  /** opens another store in the temp dir instead of SQLite's (a PostgreSQL store: test/pg) */
  open?: (dataDir: string) => Promise<Store>;
}): Promise<TestStore> {
  const t = tempDir(o.prefix ?? "pk-test-");
  const store = o.open
    ? await o.open(t.dir)
    : await openStore({
        dataDir: t.dir,
        feedSocketPath: null,
        ...(o.sqliteHook ? { sqliteHook: o.sqliteHook } : {}),
      });
  const ids: Record<string, number> = {};
  try {
    for (const d of o.domains ?? ["example.com"]) await store.addDomain(d);
    for (const [address, password] of o.accounts ?? []) {
      ids[address] = (await store.createAccount(address, `{PLAIN}${password}`)).id;
    }
  } catch (e) {
    await store.close();
    t.cleanup();
    throw e;
  }
  return {
    dir: t.dir,
    store,
    ids,
    async close() {
      await store.close();
      t.cleanup();
    },
  };
}

/** An authenticator with no credentials cache, no failure delay and no lockouts. */
export function testAuthenticator(store: Store, windowMs = 60_000): Authenticator {
  return createAuthenticator(store, {
    cacheTtlMs: 0,
    failureDelayMs: 0,
    maxFailuresPerIp: 0,
    maxFailuresPerUser: 0,
    failureWindowMs: windowMs,
    lockoutMs: windowMs,
  });
}

/** A small text/plain message with CRLF line ends and a unique Message-ID; `extra` goes before MIME-Version. */
export function message(subject: string, body = "Hello world\r\n", extra = ""): string {
  return (
    `From: Alice <alice@example.org>\r\nTo: Bob <bob@example.com>\r\nSubject: ${subject}\r\n` +
    `Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, "")}.${Math.random()}@example.org>\r\n` +
    `${extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${body}`
  );
}

/** Messages in a mailbox of an account, as raw bytes. */
export async function mailboxMessages(store: Store, address: string, mailbox = "INBOX"): Promise<Buffer[]> {
  const acc = await store.getAccount(address);
  if (!acc) throw new Error(`no account ${address}`);
  const mb = await store.getMailbox(acc.id, mailbox);
  if (!mb) throw new Error(`no mailbox ${mailbox}`);
  const out: Buffer[] = [];
  for (const m of await store.listMessages(mb.id))
    out.push(Buffer.from(await store.readMessage(mb.id, m.uid)));
  return out;
}

/** Messages stored over all accounts (the usage counters). */
export async function totalMessages(store: Store): Promise<number> {
  let n = 0;
  for (const a of await store.listAccounts()) n += (await store.getAccountById(a.id))?.usedMessages ?? 0;
  return n;
}

/**
 * Whether an SQLite store in `dataDir` holds content `sha`: as a file under blobs/ or as a row of
 * the small-blob database (src/store/blob/small.ts), read through a connection of our own.
 */
export function contentStored(dataDir: string, sha: string): boolean {
  if (existsSync(join(dataDir, "blobs", sha.slice(0, 2), sha.slice(2, 4), sha))) return true;
  const small = join(dataDir, "blobs", SMALL_BLOB_DB);
  if (!existsSync(small)) return false;
  const db = new Database(small, { readonly: true });
  try {
    return db.prepare("SELECT 1 FROM small_blob WHERE sha = ?").get(sha) !== undefined;
  } finally {
    db.close();
  }
}
