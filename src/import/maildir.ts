/**
 * Maildir: reading a Maildir (cur/new, tmp ignored) with its folders as an import source, and
 * writing one folder for `postkontor export`.
 *
 * Folders: the given directory is INBOX when it has cur/ or new/; Maildir++ subfolders are
 * `.A.B` directories in it (folder A/B); other directories holding cur/ or new/ are folders by
 * their path (mbsync's `SubFolders Verbatim`; `INBOX` there is the inbox).
 * Flags from the file name's info part `:2,` (D → \Draft, F → \Flagged, P → $Forwarded,
 * R → \Answered, S → \Seen, T → \Deleted; a–z → the keyword of that index in the folder's
 * Dovecot `dovecot-keywords` file). Mail in new/ has no flags. Internal date: the file's mtime
 * (as Dovecot keeps it), else the delivery time at the start of the name.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { isKeyword } from "./mbox.ts";
import { type ImportSource, type SourceItem, toCrlf } from "./source.ts";

const INFO_FLAGS: Record<string, string> = {
  D: "\\Draft",
  F: "\\Flagged",
  P: "$Forwarded",
  R: "\\Answered",
  S: "\\Seen",
  T: "\\Deleted",
};

/** dovecot-keywords: lines `<index> <keyword>`; index 0 is letter a. */
export function readDovecotKeywords(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const file = join(dir, "dovecot-keywords");
  if (!existsSync(file)) return out;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const sp = line.indexOf(" ");
    if (sp <= 0) continue;
    const n = Number(line.slice(0, sp));
    const kw = line.slice(sp + 1).trim();
    if (Number.isInteger(n) && n >= 0 && n < 26 && isKeyword(kw)) out.set(String.fromCharCode(0x61 + n), kw);
  }
  return out;
}

/** Flags of a file name's info part (`…:2,FRS`); keywords by letter from dovecot-keywords. */
export function maildirFlags(name: string, keywords: ReadonlyMap<string, string>): string[] {
  const i = name.lastIndexOf(":2,");
  if (i < 0) return [];
  const out: string[] = [];
  for (const ch of name.slice(i + 3)) {
    const f = INFO_FLAGS[ch] ?? keywords.get(ch);
    if (f && !out.includes(f)) out.push(f);
  }
  return out;
}

/** The info letters for flags (ASCII order, as the Maildir spec wants) and the keywords that got none. */
export function maildirInfo(
  flags: readonly string[],
  letterOf: (keyword: string) => string | null,
): { info: string; lost: string[] } {
  const letters = new Set<string>();
  const lost: string[] = [];
  for (const f of flags) {
    const sys = Object.entries(INFO_FLAGS).find(([, v]) => v.toLowerCase() === f.toLowerCase());
    if (sys) letters.add(sys[0]);
    else if (!f.startsWith("\\")) {
      const l = letterOf(f);
      if (l) letters.add(l);
      else lost.push(f);
    }
  }
  return { info: [...letters].sort().join(""), lost };
}

function isMaildir(dir: string): boolean {
  return existsSync(join(dir, "cur")) || existsSync(join(dir, "new"));
}

/** The folders of a Maildir tree: [directory, folder name]. */
export function maildirFolders(root: string): Array<{ dir: string; name: string }> {
  const out: Array<{ dir: string; name: string }> = [];
  if (isMaildir(root)) out.push({ dir: root, name: "INBOX" });
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (!e.isDirectory() || ["cur", "new", "tmp"].includes(e.name)) continue;
      const p = join(dir, e.name);
      if (e.name.startsWith(".")) {
        // Maildir++ (only directly in the root): .A.B is A/B
        if (dir === root && e.name.length > 1 && isMaildir(p))
          out.push({ dir: p, name: e.name.slice(1).split(".").join("/") });
        continue;
      }
      if (isMaildir(p)) {
        const name = relative(root, p).split(sep).join("/");
        out.push({ dir: p, name: name.toUpperCase() === "INBOX" ? "INBOX" : name });
      }
      walk(p);
    }
  };
  walk(root);
  return out;
}

export function maildirSource(path: string): ImportSource {
  const root = resolve(path);
  return {
    id: `maildir:${root}`,
    async *items(): AsyncGenerator<SourceItem> {
      const folders = maildirFolders(root);
      if (folders.length === 0) {
        yield { kind: "failed", where: root, reason: "not a Maildir (no cur/ or new/ in it or below)" };
        return;
      }
      for (const f of folders) {
        const keywords = readDovecotKeywords(f.dir);
        for (const sub of ["cur", "new"]) {
          const d = join(f.dir, sub);
          if (!existsSync(d)) continue;
          for (const name of readdirSync(d).sort()) {
            if (name.startsWith(".")) continue;
            const file = join(d, name);
            try {
              const st = statSync(file);
              if (!st.isFile()) continue;
              const secs = Number(name.slice(0, name.indexOf(".")));
              const date =
                st.mtimeMs > 0 ? new Date(Math.floor(st.mtimeMs / 1000) * 1000) : new Date(secs * 1000);
              yield {
                kind: "message",
                folder: { name: f.name, specialUse: null },
                raw: toCrlf(readFileSync(file)),
                flags: sub === "new" ? [] : maildirFlags(name, keywords),
                ...(Number.isFinite(date.getTime()) ? { internalDate: date } : {}),
                where: file,
              };
            } catch (e) {
              yield { kind: "failed", where: file, reason: (e as Error).message };
            }
          }
        }
      }
    },
  };
}
