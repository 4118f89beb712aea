/**
 * The building blocks of the configuration schema (schema.ts): typed keys that carry their default
 * as written in TOML and their description, durations and sizes with units, listen addresses,
 * CIDR blocks, the PROXY protocol keys of a listener section.
 */
import { z } from "zod";
import { parseListenAddress } from "../net/address.ts";
import { parseCidr } from "../net/proxy.ts";

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "30m", "60s", "1h30m", "250ms", or a number of seconds → milliseconds. */
export function parseDuration(v: string | number): number {
  if (typeof v === "number") {
    if (!Number.isFinite(v) || v < 0) throw new Error(`invalid duration ${v}`);
    return Math.round(v * 1000);
  }
  const s = v.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  // bounded: each match consumes at least two characters
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  if (pos !== s.length || s.length === 0) {
    throw new Error(
      `invalid duration "${v}" (use e.g. "30m", "60s", "1h30m", "250ms" or a number of seconds)`,
    );
  }
  return Math.round(total);
}

const SIZE_UNITS: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** "50M", "1G", "512K", "1024" or a number of bytes → bytes. */
export function parseSize(v: string | number): number {
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`invalid size ${v}`);
    return v;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(v);
  if (!m) throw new Error(`invalid size "${v}" (use e.g. "50M", "1G", "512K" or a number of bytes)`);
  return Math.round(Number(m[1]) * SIZE_UNITS[m[2]!.toUpperCase()]!);
}

export function duration(def: string, description: string, minMs = 0, minText = "") {
  return z
    .union([z.string(), z.number()])
    .transform((v, ctx) => {
      let ms: number;
      try {
        ms = parseDuration(v);
      } catch (e) {
        ctx.addIssue({ code: "custom", message: (e as Error).message });
        return z.NEVER;
      }
      if (ms < minMs) {
        ctx.addIssue({ code: "custom", message: `must be at least ${minText || `${minMs}ms`}` });
        return z.NEVER;
      }
      return ms;
    })
    .prefault(def)
    .describe(description);
}

export function size(def: number | string, description: string) {
  return z
    .union([z.string(), z.number()])
    .transform((v, ctx) => {
      try {
        return parseSize(v);
      } catch (e) {
        ctx.addIssue({ code: "custom", message: (e as Error).message });
        return z.NEVER;
      }
    })
    .prefault(def)
    .describe(description);
}

export function int(def: number, description: string, min = 0) {
  return z.number().int().min(min).prefault(def).describe(description);
}

/** a non-negative number (fractions allowed) */
export function num(def: number, description: string) {
  return z.number().finite().min(0).prefault(def).describe(description);
}

export function bool(def: boolean, description: string) {
  return z.boolean().prefault(def).describe(description);
}

export function str(def: string, description: string) {
  return z.string().prefault(def).describe(description);
}

/** "NEVER" (any case) or a number of days, as an integer or a digit string → "NEVER" | days. */
export function expirePolicy(def: string, description: string) {
  return z
    .union([z.string(), z.number()])
    .transform((v, ctx): "NEVER" | number => {
      if (typeof v === "string" && v.trim().toUpperCase() === "NEVER") return "NEVER";
      const n = typeof v === "number" ? v : /^\s*\d+\s*$/.test(v) ? Number(v) : Number.NaN;
      if (!Number.isSafeInteger(n) || n < 0) {
        ctx.addIssue({
          code: "custom",
          message: `expected "NEVER" or a number of days, got ${JSON.stringify(v)}`,
        });
        return z.NEVER;
      }
      return n;
    })
    .prefault(def)
    .describe(description);
}

export const listenAddress = z.string().superRefine((s, ctx) => {
  try {
    parseListenAddress(s);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: (e as Error).message });
  }
});

export function listeners(def: string[], description: string) {
  return z.array(listenAddress).prefault(def).describe(description);
}

export const cidr = z.string().superRefine((s, ctx) => {
  try {
    parseCidr(s);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: (e as Error).message });
  }
});

/** PROXY protocol v2 keys of a protocol section (net/proxy.ts); the same for every protocol. */
export function proxyKeys(protocol: string) {
  return {
    proxy_protocol: bool(
      false,
      `Expect a PROXY protocol v2 header (haproxy's specification) on every ${protocol} listener, sent by a ` +
        "load balancer in front: the client address it names is the one used for connection limits, " +
        "login throttling, logs and the loopback exception. Connections from addresses outside " +
        "proxy_trusted, or without a valid header, are closed without a greeting.",
    ),
    proxy_trusted: z
      .array(cidr)
      .prefault(["127.0.0.1/32", "::1/128"])
      .describe(
        "Addresses (CIDR blocks) of the load balancers allowed to connect when proxy_protocol is on.",
      ),
    proxy_timeout: duration("5s", "How long a new connection may take to send its PROXY header.", 1),
  };
}

export function section<T extends z.ZodRawShape>(description: string, shape: T) {
  // {} as never: every key of a section has a default, so an empty table is valid input
  return z
    .strictObject(shape)
    .prefault({} as never)
    .describe(description);
}
