/**
 * The search port's contract (contract.ts) on the FTS5 adapter, opened over a second connection to
 * a store's database: messages are appended and copied through the store.
 */
import { join } from "node:path";
import { openSqlite } from "../db/sqlite/sqlite.ts";
import { fixture } from "../testing/helpers.ts";
import { searchContract } from "./contract.ts";
import { Fts5Search } from "./fts.ts";

searchContract("fts5", async () => {
  const f = await fixture();
  const h = openSqlite(join(f.dir, "store.sqlite"));
  const other = (await f.store.createMailbox(f.accountId, "Other")).id;
  const blobRef = (mailboxId: number, uid: number) =>
    Number(
      (
        h.raw.prepare("SELECT blob_id FROM message WHERE mailbox_id = ? AND uid = ?").get(mailboxId, uid) as {
          blob_id: number;
        }
      ).blob_id,
    );
  return {
    search: new Fts5Search(h),
    inbox: f.inbox,
    other,
    append: async (mailboxId, raw) => {
      const { uid } = await f.store.append(f.accountId, mailboxId, { raw });
      return { uid, blobRef: blobRef(mailboxId, uid) };
    },
    copy: async (from, uid, to) => (await f.store.copy(from, [uid], to)).mapping[0]![1],
    close: async () => {
      await h.close();
      await f.close();
    },
  };
});
