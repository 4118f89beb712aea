/**
 * mbox (RFC 4155): reading one file or a directory tree of them as an import source, and writing
 * one folder as mboxrd for `postkontor export`.
 *
 * Reading: a message starts at a `From ` line at the start of the file or after an empty line
 * (or any `From ` line whose date parses). The empty line before the next `From ` line belongs
 * to the separator, not to the message. Quoting variants: mboxrd (`>From `, `>>From ` … lose one
 * `>`), mboxo (only `>From ` is unquoted), mboxcl (Content-Length says where the body ends, and
 * `>From ` quoting as mboxo/rd), mboxcl2 (Content-Length, no quoting). `auto` trusts a
 * Content-Length that fits the file and unquotes mboxrd-style.
 * Flags come from Status (R → \Seen), X-Status (A → \Answered, F → \Flagged, T → \Draft,
 * D → \Deleted), X-Keywords and X-Mozilla-Status (0x1 read, 0x2 replied, 0x4 flagged, 0x8
 * deleted)/X-Mozilla-Keys. The mbox bookkeeping fields Dovecot hides (Status, X-Status,
 * X-Keywords, X-UID, X-IMAP, X-IMAPbase, Content-Length) are removed from the stored message, so
 * an export and re-import gives back the same octets. The From_ line's date is the internal date.
 */
import { createReadStream, readdirSync, statSync } from "node:fs";
import { basename, join, relative, resolve, sep } from "node:path";
import { headerFields, headerSectionEnd, insertFields, stripFields } from "./headers.ts";
import { type ImportSource, type SourceFolder, type SourceItem, toCrlf } from "./source.ts";

export type MboxVariant = "auto" | "mboxo" | "mboxrd" | "mboxcl" | "mboxcl2";
export const MBOX_VARIANTS: readonly MboxVariant[] = ["auto", "mboxo", "mboxrd", "mboxcl", "mboxcl2"];

/** the mbox bookkeeping fields removed on import (Dovecot's list) */
const MBOX_FIELDS = new Set([
  "status",
  "x-status",
  "x-keywords",
  "x-uid",
  "x-imap",
  "x-imapbase",
  "content-length",
]);

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = new Set(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]);

/** The date of a From_ line (`From sender Www Mmm dd hh:mm:ss yyyy`, taken as UTC), or null. */
export function fromLineDate(line: string): Date | null {
  const t = line
    .slice(5)
    .trim()
    .split(/[ \t]+/);
  for (let i = 0; i + 4 < t.length; i++) {
    if (!DAYS.has(t[i]!.toLowerCase())) continue;
    const mon = MONTHS.indexOf(t[i + 1]!.toLowerCase());
    const day = Number(t[i + 2]);
    const hms = t[i + 3]!.split(":").map(Number);
    // the year may follow a time-zone token (`… 12:00:00 +0100 2001`, seen in the wild)
    let yi = i + 4;
    let zone = 0;
    if (/^[+-]\d{4}$/.test(t[yi]!) && yi + 1 < t.length) {
      const z = t[yi]!;
      zone = (z[0] === "-" ? -1 : 1) * (Number(z.slice(1, 3)) * 60 + Number(z.slice(3, 5)));
      yi++;
    }
    const year = Number(t[yi]);
    if (mon < 0 || !(day >= 1 && day <= 31) || hms.length < 2 || hms.some((n) => !Number.isInteger(n)))
      continue;
    if (!Number.isInteger(year) || year < 1970) continue;
    const ms = Date.UTC(year, mon, day, hms[0]!, hms[1]!, hms[2] ?? 0) - zone * 60_000;
    return Number.isFinite(ms) ? new Date(ms) : null;
  }
  return null;
}

/** The asctime form of a From_ line's date (UTC): `Sat Dec  4 15:49:19 2026`. */
export function asctime(d: Date): string {
  const day = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][d.getUTCDay()]!;
  const mon = MONTHS[d.getUTCMonth()]!;
  const p2 = (n: number) => String(n).padStart(2, "0");
  return (
    `${day} ${mon[0]!.toUpperCase()}${mon.slice(1)} ${String(d.getUTCDate()).padStart(2, " ")} ` +
    `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} ${d.getUTCFullYear()}`
  );
}

/** Flags from the mbox status fields of a message. */
export function mboxFlags(raw: Uint8Array): string[] {
  const flags = new Set<string>();
  for (const f of headerFields(raw)) {
    if (f.name === "status") {
      if (f.value.includes("R")) flags.add("\\Seen");
    } else if (f.name === "x-status") {
      if (f.value.includes("A")) flags.add("\\Answered");
      if (f.value.includes("F")) flags.add("\\Flagged");
      if (f.value.includes("T")) flags.add("\\Draft");
      if (f.value.includes("D")) flags.add("\\Deleted");
    } else if (f.name === "x-keywords" || f.name === "x-mozilla-keys") {
      for (const k of f.value.split(/[\s,]+/)) if (isKeyword(k)) flags.add(k);
    } else if (f.name === "x-mozilla-status" && /^[0-9a-f]{1,4}$/i.test(f.value)) {
      const v = Number.parseInt(f.value, 16);
      if (v & 0x1) flags.add("\\Seen");
      if (v & 0x2) flags.add("\\Answered");
      if (v & 0x4) flags.add("\\Flagged");
      if (v & 0x8) flags.add("\\Deleted");
    }
  }
  return [...flags];
}

/** An IMAP keyword atom (RFC 9051 §9 flag-keyword): no specials, no control characters. */
export function isKeyword(k: string): boolean {
  if (k.length === 0 || k.length > 200) return false;
  for (let i = 0; i < k.length; i++) {
    const c = k.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || '(){%*"\\]'.includes(k[i]!)) return false;
  }
  return true;
}

/** Status / X-Status / X-Keywords lines for a message's flags (export). */
export function statusFields(flags: readonly string[]): string[] {
  const has = (f: string) => flags.some((x) => x.toLowerCase() === f.toLowerCase());
  const out: string[] = [];
  out.push(`Status: ${has("\\Seen") ? "RO" : "O"}`);
  const xs =
    (has("\\Answered") ? "A" : "") +
    (has("\\Flagged") ? "F" : "") +
    (has("\\Draft") ? "T" : "") +
    (has("\\Deleted") ? "D" : "");
  if (xs) out.push(`X-Status: ${xs}`);
  const kw = flags.filter((f) => !f.startsWith("\\"));
  if (kw.length) out.push(`X-Keywords: ${kw.join(" ")}`);
  return out;
}

/** One message in mboxrd form: From_ line, status fields, `>`-quoted From lines, empty line after. */
export function mboxrdEntry(raw: Uint8Array, flags: readonly string[], date: Date): Buffer {
  const stripped = stripFields(raw, MBOX_FIELDS);
  let quoted = quoteFromLines(insertFields(stripped, statusFields(flags)));
  if (quoted.length > 0 && quoted[quoted.length - 1] !== 0x0a) {
    // without a final line end the separator's empty line cannot be told apart from the message:
    // Content-Length (of the body as written) says where it ends (the import removes the field)
    const end = headerSectionEnd(quoted);
    if (end >= 0) {
      const body = quoted.length - (end + (quoted[end] === 0x0d ? 2 : 1));
      quoted = quoteFromLines(insertFields(stripped, [...statusFields(flags), `Content-Length: ${body}`]));
    }
  }
  return Buffer.concat([
    Buffer.from(`From MAILER-DAEMON ${asctime(date)}\n`, "latin1"),
    quoted,
    Buffer.from("\n"),
  ]);
}

/** RFC 4155 mboxrd: every line matching ^>*From gets one more ">". */
function quoteFromLines(msg: Uint8Array): Buffer {
  const b = Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength);
  const parts: Buffer[] = [];
  let at = 0;
  for (let i = 0; i < b.length; ) {
    let j = i;
    while (b[j] === 0x3e) j++;
    if (b.subarray(j, j + 5).toString("latin1") === "From ") {
      parts.push(b.subarray(at, i), Buffer.from(">"));
      at = i;
    }
    const nl = b.indexOf(0x0a, i);
    if (nl < 0) break;
    i = nl + 1;
  }
  parts.push(b.subarray(at));
  return Buffer.concat(parts);
}

function isFromLine(line: Buffer): boolean {
  return line.length >= 5 && line[0] === 0x46 && line.subarray(0, 5).toString("latin1") === "From ";
}

function isEmptyLine(line: Buffer): boolean {
  return line.length === 1 ? line[0] === 0x0a : line.length === 2 && line[0] === 0x0d && line[1] === 0x0a;
}

/** Lines of a file (each with its line end), read in 1 MiB chunks. */
async function* fileLines(file: string): AsyncGenerator<Buffer> {
  // the start of a line not ended yet, in pieces (a long line is joined once, not per chunk)
  let pending: Buffer[] = [];
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, nl + 1);
      yield pending.length ? Buffer.concat([...pending, piece]) : piece;
      pending = [];
      start = nl + 1;
    }
    if (start < chunk.length) pending.push(chunk.subarray(start));
  }
  if (pending.length) yield Buffer.concat(pending);
}

interface RawEntry {
  fromLine: string;
  raw: Buffer;
  offset: number;
}

/** The messages of one mbox file, unquoted per variant, the separator's empty line removed. */
export async function* readMbox(file: string, variant: MboxVariant = "auto"): AsyncGenerator<RawEntry> {
  const size = statSync(file).size;
  let lines: Buffer[] = [];
  let fromLine: string | null = null;
  let startOffset = 0;
  let offset = 0;
  let prevEmpty = true;
  // Content-Length state of the current message: body octets still to come, or -1 = not used
  let inHeader = false;
  let bodyLeft = -1;
  const unquoteAll = variant === "auto" || variant === "mboxrd" || variant === "mboxcl";
  // with a trusted Content-Length: header octets, the body's length in the file, octets unquoted
  let headLen = 0;
  let bodyLen = -1;
  let unquoted = 0;
  const finish = (): RawEntry | null => {
    if (fromLine === null) return null;
    if (bodyLen >= 0) {
      const all = Buffer.concat(lines);
      const cut = headLen + bodyLen - unquoted;
      if (cut <= all.length) return { fromLine, raw: all.subarray(0, cut), offset: startOffset };
    }
    if (lines.length > 0 && isEmptyLine(lines[lines.length - 1]!)) lines.pop();
    return { fromLine, raw: Buffer.concat(lines), offset: startOffset };
  };
  for await (const line of fileLines(file)) {
    const at = offset;
    offset += line.length;
    const separator =
      isFromLine(line) &&
      bodyLeft <= 0 &&
      (fromLine === null || prevEmpty || bodyLeft === 0 || fromLineDate(line.toString("latin1")) !== null);
    if (separator) {
      const done = finish();
      if (done) yield done;
      fromLine = line.toString("latin1").replace(/\r?\n$/, "");
      startOffset = at;
      lines = [];
      headLen = 0;
      bodyLen = -1;
      unquoted = 0;
      inHeader = true;
      bodyLeft = -1;
      prevEmpty = false;
      continue;
    }
    if (fromLine === null) {
      // bytes before the first From_ line: not an mbox (the caller checks the first line)
      prevEmpty = isEmptyLine(line);
      continue;
    }
    let out = line;
    if (inHeader) {
      headLen += line.length;
      if (isEmptyLine(line)) {
        inHeader = false;
        if (variant !== "mboxo" && variant !== "mboxrd") {
          const cl = headerFields(Buffer.concat([...lines, line])).find((f) => f.name === "content-length");
          const n = cl && /^\d{1,12}$/.test(cl.value) ? Number(cl.value) : -1;
          // trusted only when the body fits in the file (lengths written by other tools are often wrong)
          if (n >= 0 && at + line.length + n <= size) bodyLeft = bodyLen = n;
        }
      }
    } else {
      if (variant !== "mboxcl2") {
        let j = 0;
        while (line[j] === 0x3e) j++;
        if (j > 0 && line.subarray(j, j + 5).toString("latin1") === "From " && (unquoteAll || j === 1)) {
          out = line.subarray(1);
          if (bodyLeft > 0) unquoted++;
        }
      }
      // Content-Length counts the body as it is in the file
      if (bodyLeft > 0) bodyLeft = Math.max(0, bodyLeft - line.length);
    }
    lines.push(out);
    prevEmpty = isEmptyLine(line);
  }
  const done = finish();
  if (done) yield done;
}

/** The mbox files of a path: the file itself, or every file under a directory that starts with "From ". */
function mboxFiles(root: string): Array<{ file: string; folder: string }> {
  const st = statSync(root);
  if (st.isFile()) return [{ file: root, folder: folderOfFile(basename(root)) }];
  const out: Array<{ file: string; folder: string }> = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.name.startsWith(".")) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const rel = relative(root, p).split(sep);
        // Thunderbird keeps subfolders of "X" in "X.sbd/"; "X.mbox" is folder X
        const name = rel.map((c, i) => (i < rel.length - 1 ? c.replace(/\.sbd$/, "") : folderOfFile(c)));
        out.push({ file: p, folder: name.join("/") });
      }
    }
  };
  walk(root);
  return out;
}

function folderOfFile(name: string): string {
  const n = name.replace(/\.(mbox|mbx)$/i, "");
  return n.toLowerCase() === "inbox" ? "INBOX" : n;
}

async function startsWithFrom(file: string): Promise<boolean> {
  for await (const line of fileLines(file)) return isFromLine(line);
  return false;
}

/** An mbox file or a tree of them: one folder per file (INBOX for `inbox`/`INBOX.mbox`/a single file named so). */
export function mboxSource(
  path: string,
  opts: { variant?: MboxVariant; folder?: string } = {},
): ImportSource {
  const root = resolve(path);
  return {
    id: `mbox:${root}`,
    async *items(): AsyncGenerator<SourceItem> {
      const files = mboxFiles(root);
      for (const f of files) {
        if (!(await startsWithFrom(f.file))) {
          // index files, .msf and the like next to the mbox files
          if (files.length === 1)
            yield { kind: "failed", where: f.file, reason: "not an mbox file (no From_ line)" };
          continue;
        }
        const folder: SourceFolder = { name: opts.folder ?? f.folder, specialUse: null };
        for await (const m of readMbox(f.file, opts.variant)) {
          const flags = mboxFlags(m.raw);
          const raw = toCrlf(stripFields(m.raw, MBOX_FIELDS));
          if (headerSectionEnd(raw) < 0 && raw.length === 0) {
            yield { kind: "failed", where: `${f.file}@${m.offset}`, reason: "empty message" };
            continue;
          }
          const date = fromLineDate(m.fromLine);
          yield {
            kind: "message",
            folder,
            raw,
            flags,
            ...(date ? { internalDate: date } : {}),
            where: `${f.file}@${m.offset}`,
          };
        }
      }
    },
  };
}
