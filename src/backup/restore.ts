/**
 * Restores from a snapshot (docs/backup.md):
 *
 * - into a live account (`restoreMessages`): the snapshot's folders (or one) are read as an
 *   import source (src/import/source.ts) and stored through the import driver
 *   (src/import/run.ts → Store.importMessages) under `Restored/<date>/<folder>`: new UIDs in new
 *   folders (live UIDs are never rewritten), flags, keywords, internal dates and delivery headers
 *   kept, duplicates by content skipped by the import ledger (source = the snapshot), the quota
 *   respected, and a running server's sessions see the messages through the change feed;
 * - a whole data directory (`restoreAll`, disaster recovery): the metadata copy and its blobs
 *   into an empty data directory, so UIDVALIDITY, UIDs and modseqs are those of the snapshot and
 *   clients keep their caches.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { type ImportSummary, runImport } from "../import/run.ts";
import type { ImportSource, SourceItem } from "../import/source.ts";
import { parseFlagText } from "../store/flags.ts";
import { storeDatabasePath } from "../store/index.ts";
import type { Id, Mailbox, Store } from "../store/types.ts";
import { readBackupBlob, readManifest, sha256, sha256File, snapshotsDir, writeDurable } from "./manifest.ts";

function openMeta(dir: string, id: string): Database.Database {
  const m = readManifest(dir, id);
  const path = join(snapshotsDir(dir), id, m.metadata.file);
  if (sha256File(path) !== m.metadata.sha256)
    throw new Error(`snapshot ${id}: metadata checksum differs from its manifest`);
  return new Database(path, { readonly: true, fileMustExist: true });
}

/** the snapshot's folders of one account as an import source, named `<prefix>/<folder>` */
export function snapshotSource(
  dir: string,
  id: string,
  address: string,
  opts: { mailbox?: string; prefix: string | null; sourceId?: string },
): ImportSource {
  return {
    id: opts.sourceId ?? `backup:${id}`,
    async *items(): AsyncIterable<SourceItem> {
      const db = openMeta(dir, id);
      try {
        const acc = db.prepare("SELECT id FROM account WHERE address = ?").raw(true).get(address) as
          | [number]
          | undefined;
        if (!acc) throw new Error(`no account ${address} in snapshot ${id}`);
        const boxes = db
          .prepare("SELECT id, name FROM mailbox WHERE account_id = ? ORDER BY name")
          .raw(true)
          .all(acc[0]) as Array<[number, string]>;
        const wanted = opts.mailbox === undefined ? boxes : boxes.filter(([, n]) => n === opts.mailbox);
        if (opts.mailbox !== undefined && wanted.length === 0)
          throw new Error(`no mailbox ${opts.mailbox} of ${address} in snapshot ${id}`);
        const rows = db.prepare(
          `SELECT m.uid, b.sha256, m.flags, m.internal_date, p.data
             FROM message m JOIN blob b ON b.id = m.blob_id LEFT JOIN delivery_prefix p ON p.id = m.prefix_id
            WHERE m.mailbox_id = ? ORDER BY m.uid`,
        );
        for (const [boxId, name] of wanted) {
          const folder = { name: opts.prefix === null ? name : `${opts.prefix}/${name}`, specialUse: null };
          for (const r of rows.raw(true).iterate(boxId) as Iterable<
            [number, string, string, number, Buffer | null]
          >) {
            const where = `${name} uid ${r[0]}`;
            let raw: Buffer;
            try {
              raw = readBackupBlob(dir, r[1]);
              if (sha256(raw) !== r[1]) throw new Error("blob content does not match its SHA-256");
            } catch (e) {
              yield { kind: "failed", where, reason: (e as Error).message };
              continue;
            }
            yield {
              kind: "message",
              folder,
              raw,
              flags: parseFlagText(r[2]),
              internalDate: new Date(r[3]),
              ...(r[4] ? { deliveryHeaders: r[4] } : {}),
              where,
            };
          }
        }
      } finally {
        db.close();
      }
    },
  };
}

/** the snapshot's date as folder names use it: "2026-12-04" (a second one that day: its time too) */
export function restoredPrefix(id: string): string {
  return `Restored/${id.slice(0, 10)}`;
}

export async function restoreMessages(
  store: Store,
  accountId: Id,
  address: string,
  dir: string,
  id: string,
  mailbox?: string,
): Promise<ImportSummary> {
  const src = snapshotSource(dir, id, address, {
    prefix: restoredPrefix(id),
    ...(mailbox !== undefined ? { mailbox } : {}),
  });
  return runImport(store, accountId, src);
}

/** the snapshot's folders of an account: name and special use */
function snapshotFolders(
  dir: string,
  id: string,
  address: string,
): Array<{ name: string; specialUse: string | null }> {
  const db = openMeta(dir, id);
  try {
    return (
      db
        .prepare(
          "SELECT mb.name, mb.special_use FROM mailbox mb JOIN account a ON a.id = mb.account_id WHERE a.address = ? ORDER BY mb.name",
        )
        .raw(true)
        .all(address) as Array<[string, string | null]>
    ).map(([name, specialUse]) => ({ name, specialUse }));
  } finally {
    db.close();
  }
}

/**
 * `restore --replace`: the account's folders and messages become those of the snapshot. The
 * caller has taken a snapshot of the current state first (`before`). Every live message is
 * expunged (so it also stays in the undelete window), folders the snapshot lacks are deleted,
 * missing ones created (live folders keep their UIDVALIDITY; the messages get new UIDs, so
 * clients resynchronise by UID), then the snapshot's messages are stored into their folders.
 */
export async function replaceAccount(
  store: Store,
  accountId: Id,
  address: string,
  dir: string,
  id: string,
  before: string,
): Promise<ImportSummary> {
  const folders = snapshotFolders(dir, id, address);
  if (folders.length === 0) throw new Error(`no account ${address} in snapshot ${id}`);
  const wanted = new Set(folders.map((f) => f.name));
  const live = await store.listMailboxes(accountId);
  for (const mb of live) {
    const uids = (await store.listMessages(mb.id)).map((m) => m.uid);
    for (let i = 0; i < uids.length; i += 500) await store.expunge(mb.id, uids.slice(i, i + 500));
  }
  // children before their parents
  for (const mb of [...live].sort((a, b) => b.name.length - a.name.length))
    if (!wanted.has(mb.name) && mb.name !== "INBOX") await store.deleteMailbox(accountId, mb.name);
  let now = await store.listMailboxes(accountId);
  for (const f of folders) {
    if (now.some((m) => m.name === f.name)) continue;
    const use = f.specialUse && !now.some((m) => m.specialUse === f.specialUse) ? f.specialUse : null;
    await store.createMailbox(accountId, f.name, use as Mailbox["specialUse"]);
    now = await store.listMailboxes(accountId);
  }
  return runImport(
    store,
    accountId,
    snapshotSource(dir, id, address, { prefix: null, sourceId: `backup-replace:${id}:${before}` }),
  );
}

/**
 * Disaster recovery: the snapshot's blobs, then its metadata (last: a store exists once the
 * database file does) into dataDir, which must hold no store.
 */
export function restoreAll(dir: string, id: string, dataDir: string): { blobs: number; messages: number } {
  const dbPath = storeDatabasePath(dataDir);
  if (existsSync(dbPath))
    throw new Error(
      `${dataDir} already holds a store (${dbPath}); restore --all needs an empty data directory`,
    );
  const blobsDir = join(dataDir, "blobs");
  if (existsSync(blobsDir) && readdirSync(blobsDir).length > 0)
    throw new Error(`${blobsDir} is not empty; restore --all needs an empty data directory`);
  const m = readManifest(dir, id);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  for (const [sha] of m.blobs) {
    const data = readBackupBlob(dir, sha);
    if (sha256(data) !== sha) throw new Error(`blob ${sha}: content does not match its SHA-256`);
    const sub = join(blobsDir, sha.slice(0, 2), sha.slice(2, 4));
    mkdirSync(sub, { recursive: true, mode: 0o700 });
    writeDurable(join(sub, sha), data);
  }
  const src = join(snapshotsDir(dir), id, m.metadata.file);
  if (sha256File(src) !== m.metadata.sha256)
    throw new Error(`snapshot ${id}: metadata checksum differs from its manifest`);
  // a fresh database copy: VACUUM INTO from the snapshot (never the backup's own file)
  const tmp = `${dbPath}.restore-${process.pid}`;
  const db = new Database(src, { readonly: true, fileMustExist: true });
  try {
    db.exec(`VACUUM INTO '${tmp.replaceAll("'", "''")}'`);
  } finally {
    db.close();
  }
  chmodSync(tmp, 0o600);
  renameSync(tmp, dbPath);
  return { blobs: m.blobs.length, messages: m.messages };
}
