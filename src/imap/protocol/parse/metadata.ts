/**
 * METADATA (RFC 5464 §5):
 *   getmetadata         = "GETMETADATA" [SP getmetadata-options] SP mailbox SP entries
 *   getmetadata-options = "(" getmetadata-option *(SP getmetadata-option) ")"
 *   getmetadata-option  = "MAXSIZE" SP number / "DEPTH" SP ("0" / "1" / "infinity")
 *   entries             = entry / "(" entry *(SP entry) ")"
 *   setmetadata         = "SETMETADATA" SP mailbox SP "(" entry-value *(SP entry-value) ")"
 *   entry-value         = entry SP value;  value = nstring / literal8;  entry = astring
 */
import type { Command } from "../commands.ts";
import {
  type Cursor,
  DQUOTE,
  keyword,
  LPAREN,
  ParseError,
  parenList,
  parseAstring,
  parseMailbox,
  parseNumber,
  sp,
} from "./primitives.ts";

/**
 * RFC 5464 §3.2 entry names: "/"-separated, starting with /private or /shared (compared
 * case-insensitively: the result is lower-cased), no "*" or "%", no "//", no trailing "/",
 * printable US-ASCII. `forSet`: a name below /private or /shared, not the prefix itself.
 */
export function validEntryName(raw: Buffer, forSet: boolean): string {
  for (const b of raw) {
    if (b < 0x20 || b >= 0x7f || b === 0x2a || b === 0x25)
      throw new ParseError("Entry names are printable US-ASCII without '*' or '%'");
  }
  const name = raw.toString("latin1").toLowerCase();
  if (name.includes("//") || name.endsWith("/")) throw new ParseError("Entry name with an empty component");
  const under = (p: string) => name.startsWith(`${p}/`) || (!forSet && name === p);
  if (!under("/private") && !under("/shared"))
    throw new ParseError("Entry names start with /private/ or /shared/");
  return name;
}

function parseEntry(c: Cursor, forSet: boolean): string {
  return validEntryName(parseAstring(c), forSet);
}

export function parseGetMetadata(c: Cursor): Command {
  sp(c);
  let maxSize: number | null = null;
  let depth: 0 | 1 | "infinity" | null = null;
  if (c.peek() === LPAREN) {
    parenList(
      c,
      (c) => {
        const opt = keyword(c);
        sp(c);
        if (opt === "MAXSIZE" && maxSize === null) {
          maxSize = parseNumber(c);
        } else if (opt === "DEPTH" && depth === null) {
          const d = keyword(c);
          if (d === "0") depth = 0;
          else if (d === "1") depth = 1;
          else if (d === "INFINITY") depth = "infinity";
          else throw new ParseError("DEPTH is 0, 1 or infinity");
        } else {
          throw new ParseError(`Unknown or repeated GETMETADATA option ${opt}`);
        }
      },
      false,
      "GETMETADATA options",
    );
    sp(c);
  }
  const mailbox = parseMailbox(c);
  sp(c);
  const entries =
    c.peek() === LPAREN
      ? parenList(c, (c) => parseEntry(c, false), false, "entry list")
      : [parseEntry(c, false)];
  return { name: "GETMETADATA", mailbox, maxSize, depth: depth ?? 0, entries };
}

/** value = nstring / literal8 (RFC 5464 §5) */
function parseValue(c: Cursor): Buffer | null {
  if (c.atLiteral()) return c.literal().data;
  if (c.peek() === DQUOTE) return parseAstring(c);
  if (keyword(c) === "NIL") return null;
  throw new ParseError("Expected a string, literal or NIL value");
}

export function parseSetMetadata(c: Cursor): Command {
  sp(c);
  const mailbox = parseMailbox(c);
  sp(c);
  const entries = parenList(
    c,
    (c) => {
      const name = parseEntry(c, true);
      sp(c);
      return { name, value: parseValue(c) };
    },
    false,
    "entry values",
  );
  return { name: "SETMETADATA", mailbox, entries };
}
