/**
 * The header section of a raw message, for the mbox metadata fields (RFC 4155 leaves them to the
 * tools; Status/X-Status/X-Keywords as mutt and Dovecot write them): find, read, strip, insert.
 * Works on latin1 strings (one char per octet), so byte offsets stay exact.
 */

/** Offset of the empty line ending the header section (its first octet), or -1 when there is none. */
export function headerSectionEnd(raw: Uint8Array): number {
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0x0a) continue;
    const n = i + 1;
    if (raw[n] === 0x0a) return n;
    if (raw[n] === 0x0d && raw[n + 1] === 0x0a) return n;
  }
  // a message whose first line is empty: no header fields
  if (raw[0] === 0x0a || (raw[0] === 0x0d && raw[1] === 0x0a)) return 0;
  return -1;
}

export interface HeaderField {
  /** lower-cased */
  name: string;
  /** unfolded value, trimmed */
  value: string;
  start: number;
  /** offset after the field's last line end */
  end: number;
}

/** The header fields (continuation lines folded in). */
export function headerFields(raw: Uint8Array): HeaderField[] {
  const end = headerSectionEnd(raw);
  const head = Buffer.from(raw.buffer, raw.byteOffset, end < 0 ? raw.length : end).toString("latin1");
  const out: HeaderField[] = [];
  let pos = 0;
  while (pos < head.length) {
    let lineEnd = head.indexOf("\n", pos);
    lineEnd = lineEnd < 0 ? head.length : lineEnd + 1;
    let fieldEnd = lineEnd;
    // RFC 5322 §2.2.3: a line starting with WSP continues the field
    while (fieldEnd < head.length && (head[fieldEnd] === " " || head[fieldEnd] === "\t")) {
      const e = head.indexOf("\n", fieldEnd);
      fieldEnd = e < 0 ? head.length : e + 1;
    }
    const text = head.slice(pos, fieldEnd);
    const colon = text.indexOf(":");
    if (colon > 0) {
      out.push({
        name: text.slice(0, colon).trim().toLowerCase(),
        value: text
          .slice(colon + 1)
          .replace(/\r?\n/g, "")
          .trim(),
        start: pos,
        end: fieldEnd,
      });
    }
    pos = fieldEnd;
  }
  return out;
}

/** The message without the named header fields (lower-case names); the same bytes when none is there. */
export function stripFields(raw: Uint8Array, names: ReadonlySet<string>): Uint8Array {
  const drop = headerFields(raw).filter((f) => names.has(f.name));
  if (drop.length === 0) return raw;
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const f of drop) {
    parts.push(raw.subarray(at, f.start));
    at = f.end;
  }
  parts.push(raw.subarray(at));
  return Buffer.concat(parts);
}

/** Inserts header lines (without line ends) at the end of the header section, in its line-end style. */
export function insertFields(raw: Uint8Array, lines: readonly string[]): Uint8Array {
  if (lines.length === 0) return raw;
  let end = headerSectionEnd(raw);
  const crlf = end > 0 ? raw[end - 2] === 0x0d : true;
  const eol = crlf ? "\r\n" : "\n";
  const add = Buffer.from(lines.map((l) => l + eol).join(""), "latin1");
  if (end < 0) {
    // only header lines, no body: append after the last line (with a line end if it has none)
    end = raw.length;
    const last = raw[raw.length - 1];
    const sep = raw.length > 0 && last !== 0x0a ? Buffer.from(eol) : Buffer.alloc(0);
    return Buffer.concat([raw, sep, add]);
  }
  return Buffer.concat([raw.subarray(0, end), add, raw.subarray(end)]);
}
