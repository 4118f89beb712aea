/** Test-only helpers for the mime tests (not exported from index.ts). */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { MimePart, ParsedMessage } from "./types.ts";

export const TESTDATA = join(import.meta.dirname, "testdata");

export function fixture(name: string): Buffer {
  return readFileSync(join(TESTDATA, name));
}

export function fixtureNames(): string[] {
  return readdirSync(TESTDATA)
    .filter((n) => !n.startsWith("."))
    .sort();
}

/** Collect invariant violations of a parsed index against its raw message (empty = fine). */
export function invariantErrors(raw: Uint8Array, p: ParsedMessage): string[] {
  const errs: string[] = [];
  const len = raw.length;
  const visit = (m: MimePart, lo: number, hi: number, path: string, depth: number): void => {
    if (depth > 200) {
      errs.push(`${path}: too deep`);
      return;
    }
    if (
      !(lo <= m.headerStart && m.headerStart <= m.bodyStart && m.bodyStart <= m.bodyEnd && m.bodyEnd <= hi)
    ) {
      errs.push(`${path}: offsets ${m.headerStart}/${m.bodyStart}/${m.bodyEnd} outside [${lo},${hi}]`);
    }
    if (m.size !== m.bodyEnd - m.bodyStart) errs.push(`${path}: size ${m.size} != body length`);
    if (!Number.isInteger(m.lines) || m.lines < 0 || m.lines > m.size + 1)
      errs.push(`${path}: lines ${m.lines}`);
    if (m.contentType.type === "multipart" && (!m.children || m.children.length === 0)) {
      errs.push(`${path}: multipart without children`);
    }
    if (m.children) {
      let prev = m.bodyStart;
      m.children.forEach((c, i) => {
        if (c.headerStart < prev) errs.push(`${path}.${i + 1}: not monotone (${c.headerStart} < ${prev})`);
        visit(c, m.bodyStart, m.bodyEnd, `${path}.${i + 1}`, depth + 1);
        prev = c.bodyEnd;
      });
    }
    if (m.message) {
      if (m.message.root.headerStart !== m.bodyStart)
        errs.push(`${path}: encapsulated root not at body start`);
      visit(m.message.root, m.bodyStart, m.bodyEnd, `${path}.msg`, depth + 1);
    }
  };
  if (p.root.headerStart !== 0 || p.root.bodyEnd !== len) errs.push("root does not span the message");
  visit(p.root, 0, len, "root", 0);
  return errs;
}

/** Every numeric part path of a parsed message (as IMAP would number them). */
export function allPartPaths(p: ParsedMessage, limit = 500): number[][] {
  const out: number[][] = [];
  const walk = (list: MimePart[], prefix: number[], depth: number): void => {
    list.forEach((m, i) => {
      if (out.length >= limit || depth > 100) return;
      const path = [...prefix, i + 1];
      out.push(path);
      if (m.children) walk(m.children, path, depth + 1);
      else if (m.message && m.message.root !== m) {
        const r = m.message.root;
        walk(r.children ?? [r], path, depth + 1);
      }
    });
  };
  walk(p.root.children ?? [p.root], [], 0);
  return out;
}
