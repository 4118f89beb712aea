/**
 * The undelete window (docs/architecture.md "Mail store"): an expunge keeps its messages in the
 * db port's `deleted` rows (messages-write.ts), outside the quota, for `store.undelete_window`;
 * the adapter's sweeper purges older rows and only then lets their blobs go. `undelete` brings
 * them back into their folder (same mailbox id, new UIDs — RFC 9051 §2.3.1.1: UIDs are never
 * reused) or, when that folder is gone, into `Restored/<date>/<name>`. Each message goes back
 * through importMany with the row id as its ledger key, so a retried undelete stores nothing
 * twice; the rows are removed after.
 */
import { parseFlagText } from "../flags.ts";
import type { Id, UndeleteOptions, UndeleteResult } from "../types.ts";
import { StoreError } from "../types.ts";
import type { DomainDeps } from "./context.ts";
import type { Mailboxes } from "./mailboxes.ts";
import type { MessageWrites } from "./messages-write.ts";

/** rows per batch (read, stored, removed) */
const BATCH = 50;
const SOURCE = "undelete";

export async function undelete(
  deps: DomainDeps,
  writes: MessageWrites,
  mailboxes: Mailboxes,
  getBlob: (sha: string) => Promise<Uint8Array>,
  accountId: Id,
  opts: UndeleteOptions,
): Promise<UndeleteResult> {
  const since = opts.since?.getTime() ?? 0;
  const res: UndeleteResult = { restored: 0, folders: [] };
  const day = new Date().toISOString().slice(0, 10);
  const targets = new Map<number, Id>();
  const target = async (mailboxId: number, name: string): Promise<Id> => {
    const known = targets.get(mailboxId);
    if (known !== undefined) return known;
    const live = await mailboxes.getMailboxById(mailboxId);
    let id: Id;
    if (live && live.accountId === accountId) id = live.id;
    else {
      const restored = `Restored/${day}/${name}`;
      const have = await mailboxes.getMailbox(accountId, restored);
      id = have ? have.id : (await mailboxes.createMailbox(accountId, restored)).id;
    }
    targets.set(mailboxId, id);
    return id;
  };
  for (let guard = 0; guard < 1_000_000; guard++) {
    const rows = await deps.db.read((r) => r.deleted.list(accountId, since, opts.mailbox ?? null, BATCH));
    if (rows.length === 0) break;
    // one folder per importMany call
    const groups = new Map<number, typeof rows>();
    for (const r of rows) {
      const g = groups.get(r.mailboxId) ?? [];
      g.push(r);
      groups.set(r.mailboxId, g);
    }
    for (const [mailboxId, g] of groups) {
      const box = await target(mailboxId, g[0]!.mailboxName);
      const items = [];
      for (const r of g)
        items.push({
          key: `deleted:${r.id}`,
          raw: await getBlob(r.sha256),
          // without \Deleted: they were expunged for it, and the next EXPUNGE would take them again
          flags: parseFlagText(r.flags).filter((f) => f.toLowerCase() !== "\\deleted"),
          internalDate: new Date(r.internalDate),
          ...(r.prefix && r.prefix.byteLength > 0 ? { deliveryHeaders: r.prefix } : {}),
        });
      const stored = await writes.importMany(accountId, box, SOURCE, items);
      res.restored += stored.filter((x) => x !== null).length;
      const name = (await mailboxes.getMailboxById(box))?.name;
      if (name && !res.folders.includes(name)) res.folders.push(name);
      await deps.db.write(async (w) => w.deleted.remove(g.map((r) => r.id)));
      // the rows' removal marked their blobs (a trigger); the sweeper keeps the ones now in use
      deps.scheduleGc();
    }
  }
  if (res.restored === 0 && res.folders.length === 0 && opts.mailbox !== undefined) {
    // nothing kept for that name: say so rather than "0 restored" silently
    throw new StoreError("NONEXISTENT", `no expunged messages of ${opts.mailbox} in the undelete window`);
  }
  return res;
}
