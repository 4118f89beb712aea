/**
 * Response lines (RFC 1939 §3): "+OK" / "-ERR", optional text, CRLF; RFC 2449 §8 response codes go
 * in brackets right after "-ERR ". Text is sanitised so that a stray CR/LF can never end the line
 * early (responses must not be longer than 512 octets, RFC 2449 §4; we cut at 500).
 */

function clean(text: string): string {
  const t = text.replace(/[\r\n]+/g, " ");
  return t.length > 500 ? t.slice(0, 500) : t;
}

export function ok(text = ""): string {
  return text ? `+OK ${clean(text)}\r\n` : "+OK\r\n";
}

/** code: RFC 2449 §8 / RFC 3206 / RFC 6856 response code, e.g. "IN-USE", "AUTH", "SYS/TEMP" */
export function err(text: string, code?: string): string {
  return code ? `-ERR [${code}] ${clean(text)}\r\n` : `-ERR ${clean(text)}\r\n`;
}

/** "+OK text" then the lines (dot-stuffed), then "." (RFC 1939 §3). Lines must not contain CR/LF. */
export function multiline(first: string, lines: readonly string[]): string {
  let s = ok(first);
  for (const l of lines) s += (l.startsWith(".") ? "." : "") + l + "\r\n";
  return s + ".\r\n";
}
