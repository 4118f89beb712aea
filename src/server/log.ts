/**
 * The server logger (pino) and its output format ([log] format):
 * - "json": one JSON object per line on stdout (for journald, log shippers, the tests);
 * - "pretty": `HH:MM:SS.mmm LEVEL message key=value…` for a human at a terminal;
 * - "auto" (default): pretty when stdout is a terminal, else JSON.
 * Both are written synchronously to fd 1 (no worker thread), so no line is lost on exit.
 *
 * Common field names (docs/architecture.md, Logging): `remoteAddress` (client IP), `user` (account
 * address or the name a client tried), `session` (session id), `protocol`, `err`.
 */
import { writeSync } from "node:fs";
import { pino } from "pino";
import type { ResolvedConfig } from "../config/index.ts";

export type Logger = pino.Logger;

const LEVELS: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO ",
  40: "WARN ",
  50: "ERROR",
  60: "FATAL",
};
const COLORS: Record<number, string> = { 10: "90", 20: "36", 30: "32", 40: "33", 50: "31", 60: "35" };
/** fields every line has that the pretty format shows otherwise or leaves out */
const HIDDEN = new Set(["level", "time", "msg", "pid", "hostname", "v"]);
/** a value written without quotes: no space, quote, equals sign or control character */
const BARE = /^[^\s"=\\\u0000-\u001f\u007f]+$/;

function two(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

function formatValue(v: unknown): string {
  if (typeof v === "string") return v !== "" && BARE.test(v) ? v : JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || v === null) return String(v);
  return JSON.stringify(v) ?? String(v);
}

/** One JSON log line → `HH:MM:SS.mmm LEVEL msg key=value…` (local time), a multi-line err after it. */
export function formatPretty(line: string, color = false): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith("\n") ? line : `${line}\n`;
  }
  const t = new Date(typeof o.time === "number" ? o.time : Date.now());
  const time = `${two(t.getHours())}:${two(t.getMinutes())}:${two(t.getSeconds())}.${two(t.getMilliseconds(), 3)}`;
  const lvl = typeof o.level === "number" ? o.level : 30;
  let level = LEVELS[lvl] ?? `L${lvl}`.padEnd(5);
  if (color) level = `\u001b[${COLORS[lvl] ?? "0"}m${level}\u001b[0m`;
  const parts = [time, level];
  if (typeof o.msg === "string" && o.msg) parts.push(o.msg);
  const trailing: string[] = [];
  for (const [k, v] of Object.entries(o)) {
    if (HIDDEN.has(k) || v === undefined) continue;
    // a stack trace reads better on its own lines than as one escaped string
    const stack =
      typeof v === "string"
        ? v
        : typeof v === "object" && v !== null
          ? (v as { stack?: unknown }).stack
          : null;
    if ((k === "err" || k === "error") && typeof stack === "string" && stack.includes("\n")) {
      parts.push(`${k}=${formatValue(stack.slice(0, stack.indexOf("\n")))}`);
      trailing.push(
        ...stack
          .split("\n")
          .slice(1)
          .map((l) => `    ${l.trim()}`),
      );
      continue;
    }
    parts.push(`${k}=${formatValue(v)}`);
  }
  return `${[parts.join(" "), ...trailing].join("\n")}\n`;
}

/** A synchronous pino destination writing pretty lines to fd. */
export function prettyDestination(fd = 1, color = false): { write(line: string): void } {
  return {
    write(chunk: string) {
      // pino hands over whole lines (each ending in \n); be tolerant of several at once
      for (const line of chunk.split("\n")) if (line) writeSync(fd, formatPretty(line, color));
    },
  };
}

/** Whether [log] format (with "auto" decided by isTTY) means pretty output. */
export function usePretty(format: "auto" | "json" | "pretty" | undefined, isTTY: boolean): boolean {
  return format === "pretty" || ((format ?? "auto") === "auto" && isTTY);
}

export function createLogger(config: Pick<ResolvedConfig, "log">, bindings: object = {}): Logger {
  const options = { level: config.log.level, base: { pid: process.pid, ...bindings } };
  if (usePretty(config.log.format, process.stdout.isTTY === true)) {
    const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
    return pino(options, prettyDestination(1, color));
  }
  // JSON lines on stdout (fd 1), synchronous so lines are not lost on exit.
  return pino(options, pino.destination({ sync: true }));
}
