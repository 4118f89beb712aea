/**
 * The import driver: reads a source (mbox, Maildir, IMAP), maps its folders (folder-map.ts),
 * and stores the messages through the store API in small batches (Store.importMessages: append
 * and ledger rows in one transaction), so a running server's sessions see them through the
 * change feed. Stops cleanly at the account's quota.
 */
import { type Id, type ImportItem, type Mailbox, type Store, StoreError } from "../store/types.ts";
import { targetFolder } from "./folder-map.ts";
import { ledgerKey } from "./ledger.ts";
import type { ImportSource, SourceItem } from "./source.ts";

export interface ImportSummary {
  imported: number;
  duplicates: number;
  failed: Array<{ where: string; reason: string }>;
  /** the import stopped because the account's quota is reached */
  quotaStopped: string | null;
  /** the source failed (connection, login, unreadable file): what was read before it is stored */
  aborted: string | null;
  /** folders created */
  created: string[];
}

export interface ImportOptions {
  /** messages per transaction */
  batchMessages?: number;
  /** octets per transaction (a larger message goes alone) */
  batchBytes?: number;
  /** called after every batch */
  progress?: (s: ImportSummary, folder: string) => void;
}

type Pending = { item: ImportItem; where: string };

export async function runImport(
  store: Store,
  accountId: Id,
  source: ImportSource,
  opts: ImportOptions = {},
): Promise<ImportSummary> {
  const maxN = opts.batchMessages ?? 50;
  const maxBytes = opts.batchBytes ?? 4 << 20;
  const sum: ImportSummary = {
    imported: 0,
    duplicates: 0,
    failed: [],
    quotaStopped: null,
    aborted: null,
    created: [],
  };
  let mailboxes: Mailbox[] = await store.listMailboxes(accountId);
  const ids = new Map<string, Id>();
  const seen = new Set<string>();

  const mailboxFor = async (folder: {
    name: string;
    specialUse: Mailbox["specialUse"];
  }): Promise<[Id, string]> => {
    const t = targetFolder(folder, mailboxes);
    const known = ids.get(t.name);
    if (known !== undefined) return [known, t.name];
    let mb = mailboxes.find((m) => m.name === t.name) ?? (await store.getMailbox(accountId, t.name));
    if (!mb) {
      // another folder may carry the special use meanwhile: create without it then
      const use = t.specialUse && !mailboxes.some((m) => m.specialUse === t.specialUse) ? t.specialUse : null;
      try {
        mb = await store.createMailbox(accountId, t.name, use);
        sum.created.push(t.name);
      } catch (e) {
        if (!(e instanceof StoreError && e.code === "ALREADYEXISTS")) throw e;
        mb = await store.getMailbox(accountId, t.name);
        if (!mb) throw e;
      }
      mailboxes = await store.listMailboxes(accountId);
    }
    ids.set(t.name, mb.id);
    return [mb.id, t.name];
  };

  let batch: Pending[] = [];
  let batchBytes = 0;
  let batchBox: Id | null = null;
  let batchFolder = "";

  /** stores items; false = stopped at the quota */
  const store1 = async (box: Id, items: Pending[]): Promise<boolean> => {
    try {
      const res = await store.importMessages(
        accountId,
        box,
        source.id,
        items.map((p) => p.item),
      );
      for (const r of res) {
        if (r) sum.imported++;
        else sum.duplicates++;
      }
      return true;
    } catch (e) {
      if (!(e instanceof StoreError)) throw e;
      if (items.length > 1 && (e.code === "OVERQUOTA" || e.code === "TOOBIG" || e.code === "INVALID")) {
        // one at a time: store what fits, name the one that does not
        for (let i = 0; i < items.length; i++) if (!(await store1(box, [items[i]!]))) return false;
        return true;
      }
      if (e.code === "OVERQUOTA") {
        sum.quotaStopped = `${e.message} (at ${items[0]!.where})`;
        return false;
      }
      if (e.code === "TOOBIG" || e.code === "INVALID") {
        sum.failed.push({ where: items[0]!.where, reason: e.message });
        return true;
      }
      throw e;
    }
  };

  const flush = async (): Promise<boolean> => {
    if (batch.length === 0 || batchBox === null) return true;
    const ok = await store1(batchBox, batch);
    batch = [];
    batchBytes = 0;
    opts.progress?.(sum, batchFolder);
    return ok;
  };

  const items = source.items()[Symbol.asyncIterator]();
  /** the source's next item; a failing source ends the import (recorded in `aborted`) */
  const next = async (): Promise<SourceItem | null> => {
    try {
      const n = await items.next();
      return n.done ? null : n.value;
    } catch (e) {
      sum.aborted = e instanceof Error ? e.message : String(e);
      return null;
    }
  };
  try {
    for (let it = await next(); it !== null; it = await next()) {
      if (it.kind === "failed") {
        sum.failed.push({ where: it.where, reason: it.reason });
        continue;
      }
      const [box, name] = await mailboxFor(it.folder);
      const key = ledgerKey(name, it.raw);
      if (seen.has(key)) {
        // the same octets twice in one folder of this run
        sum.duplicates++;
        continue;
      }
      seen.add(key);
      if (box !== batchBox || batch.length >= maxN || batchBytes + it.raw.length > maxBytes) {
        if (!(await flush())) break;
        batchBox = box;
        batchFolder = name;
      }
      batch.push({
        item: {
          key,
          raw: it.raw,
          flags: it.flags,
          ...(it.internalDate ? { internalDate: it.internalDate } : {}),
          ...(it.deliveryHeaders ? { deliveryHeaders: it.deliveryHeaders } : {}),
        },
        where: it.where,
      });
      batchBytes += it.raw.length;
    }
    if (sum.quotaStopped === null) await flush();
  } finally {
    await items.return?.(undefined).catch(() => {});
    await source.close?.();
  }
  return sum;
}
