/**
 * `postkontor export`: an account's folders (or one) as mbox files (mboxrd, one file per folder:
 * `DIR/<folder>.mbox`, hierarchy as directories) or as a Maildir++ tree (`DIR` is INBOX,
 * `DIR/.A.B` is folder A/B). Message octets exactly as IMAP FETCH BODY[] gives them; flags as
 * Status/X-Status/X-Keywords fields (mbox, removed again by the import) or as the file name's
 * info letters with keywords in each folder's `dovecot-keywords` (Maildir); the internal date as
 * the From_ line date (mbox) or the file's mtime and the name's time (Maildir).
 */
import { closeSync, mkdirSync, openSync, renameSync, utimesSync, writeFileSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import type { Id, Mailbox, Store } from "../store/types.ts";
import { maildirInfo } from "./maildir.ts";
import { mboxrdEntry } from "./mbox.ts";

export type ExportFormat = "mbox" | "maildir";

export interface ExportSummary {
  folders: number;
  messages: number;
  /** keywords that did not fit into Maildir's 26 letters, per folder */
  lostKeywords: string[];
}

const PAGE = 200;

async function* messagesOf(store: Store, mb: Mailbox) {
  const uids = (await store.listMessages(mb.id)).map((r) => r.uid);
  for (let i = 0; i < uids.length; i += PAGE) {
    const metas = await store.getMessages(mb.id, uids.slice(i, i + PAGE));
    for (const m of metas) yield { meta: m, raw: await store.readMessage(mb.id, m.uid) };
  }
}

/** Folder name components safe as file names ("/" is the store's delimiter, so none contains it). */
function safe(c: string): string {
  return c === "." || c === ".." ? c.replace(/\./g, "_") : c;
}

export async function runExport(
  store: Store,
  accountId: Id,
  opts: { format: ExportFormat; dir: string; mailbox?: string },
): Promise<ExportSummary> {
  let boxes = await store.listMailboxes(accountId);
  if (opts.mailbox !== undefined) boxes = boxes.filter((m) => m.name === opts.mailbox);
  const sum: ExportSummary = { folders: 0, messages: 0, lostKeywords: [] };
  mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  for (const mb of boxes) {
    sum.folders++;
    if (opts.format === "mbox") {
      const file = join(opts.dir, ...mb.name.split("/").map(safe)) + ".mbox";
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      const tmp = `${file}.tmp`;
      const fd = openSync(tmp, "w", 0o600);
      try {
        for await (const { meta, raw } of messagesOf(store, mb)) {
          writeSync(fd, mboxrdEntry(raw, meta.flags, meta.internalDate));
          sum.messages++;
        }
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, file);
      continue;
    }
    const dir =
      mb.name === "INBOX"
        ? opts.dir
        : join(
            opts.dir,
            `.${mb.name
              .split("/")
              .map((c) => c.replace(/\./g, "_"))
              .join(".")}`,
          );
    for (const s of ["cur", "new", "tmp"]) mkdirSync(join(dir, s), { recursive: true, mode: 0o700 });
    const keywords: string[] = [];
    const letterOf = (k: string): string | null => {
      let i = keywords.indexOf(k);
      if (i < 0 && keywords.length < 26) i = keywords.push(k) - 1;
      return i < 0 ? null : String.fromCharCode(0x61 + i);
    };
    const host = hostname().replace(/[/:]/g, "_");
    for await (const { meta, raw } of messagesOf(store, mb)) {
      const { info, lost } = maildirInfo(meta.flags, letterOf);
      for (const k of lost) if (!sum.lostKeywords.includes(k)) sum.lostKeywords.push(k);
      const secs = Math.floor(meta.internalDate.getTime() / 1000);
      const name = `${secs}.M${meta.uid}P${process.pid}V${mb.uidValidity}.${host},S=${raw.length}:2,${info}`;
      const file = join(dir, "cur", name);
      writeFileSync(join(dir, "tmp", name), raw, { mode: 0o600 });
      renameSync(join(dir, "tmp", name), file);
      utimesSync(file, meta.internalDate, meta.internalDate);
      sum.messages++;
    }
    if (keywords.length > 0) {
      writeFileSync(join(dir, "dovecot-keywords"), keywords.map((k, i) => `${i} ${k}\n`).join(""), {
        mode: 0o600,
      });
    }
  }
  return sum;
}
