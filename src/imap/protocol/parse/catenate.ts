/**
 * CATENATE (RFC 4469 §5) inside APPEND / MULTIAPPEND / REPLACE append-data:
 *   append-data  =/ "CATENATE" SP "(" cat-part *(SP cat-part) ")"
 *   cat-part     = text-literal / url
 *   text-literal = "TEXT" SP literal
 *   url          = "URL" SP astring
 * TEXT literals are ordinary command literals: the reader (reader.ts) already applies
 * LITERAL+/LITERAL- and the per-literal and per-command size limits to every literal of a line,
 * whether inside a parenthesised list or not. A literal8 is accepted too (RFC 3516), so a NUL
 * gets the same [UNKNOWN-CTE] answer as in a plain APPEND. URLs are resolved by the server
 * (src/imap/server/commands/catenate.ts); here they stay text.
 */
import type { CatenatePart } from "../commands.ts";
import { type Cursor, keyword, ParseError, parenList, parseAstring, sp } from "./primitives.ts";

/** after the CATENATE keyword: SP "(" cat-part *(SP cat-part) ")" */
export function parseCatenate(c: Cursor): CatenatePart[] {
  sp(c);
  return parenList(c, parseCatPart, false, "CATENATE parts");
}

function parseCatPart(c: Cursor): CatenatePart {
  const kw = keyword(c);
  sp(c);
  if (kw === "TEXT") {
    if (!c.atLiteral()) c.fail("literal after TEXT");
    const lit = c.literal();
    return { type: "TEXT", data: lit.data, binary: lit.binary };
  }
  // URL text is ASCII (RFC 5092 §11); anything else cannot resolve and gets [BADURL] later
  if (kw === "URL") return { type: "URL", url: parseAstring(c).toString("latin1") };
  throw new ParseError(`Unknown CATENATE part ${JSON.stringify(kw)}`);
}
