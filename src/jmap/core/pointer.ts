/**
 * RFC 8620 §3.7 result references: a JSON Pointer (RFC 6901) with the JMAP "*" extension — on
 * an array, "*" applies the rest of the path to every item and flattens array results.
 */
import type { Json } from "./types.ts";

/** undefined = the path does not resolve (invalidResultReference) */
export function evaluatePointer(value: Json, path: string): Json | undefined {
  if (path === "") return value;
  if (!path.startsWith("/")) return undefined;
  const tokens = path
    .slice(1)
    .split("/")
    .map((t) => t.replaceAll("~1", "/").replaceAll("~0", "~"));
  return walk(value, tokens, 0);
}

function walk(value: Json, tokens: string[], i: number): Json | undefined {
  if (i === tokens.length) return value;
  const t = tokens[i]!;
  if (Array.isArray(value)) {
    if (t === "*") {
      const out: Json[] = [];
      for (const item of value) {
        const r = walk(item, tokens, i + 1);
        if (r === undefined) return undefined;
        // RFC 8620 §3.7: an array result is flattened into the output
        if (Array.isArray(r)) out.push(...r);
        else out.push(r);
      }
      return out;
    }
    if (!/^(0|[1-9][0-9]{0,8})$/.test(t)) return undefined;
    const item = value[Number(t)];
    return item === undefined ? undefined : walk(item, tokens, i + 1);
  }
  if (value !== null && typeof value === "object") {
    if (!Object.hasOwn(value, t)) return undefined;
    return walk(value[t]!, tokens, i + 1);
  }
  return undefined;
}
