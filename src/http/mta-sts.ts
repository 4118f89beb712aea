/**
 * The MTA-STS policy of every hosted domain (RFC 8461 §3.2), served at
 * https://mta-sts.<domain>/.well-known/mta-sts.txt, and its id for the `_mta-sts` TXT record that
 * `postkontor dns` prints (§3.1): the id is derived from the policy text, so the record and the
 * file change together.
 */
import { createHash } from "node:crypto";
import type { ResolvedConfig } from "../config/index.ts";
import { advertisedHost } from "./advertised.ts";

/** RFC 8461 §3.2: max_age at most 31557600 seconds */
const MAX_AGE_LIMIT_S = 31_557_600;

/** The policy body: `key: value` lines ending in CRLF (RFC 8461 §3.2). */
export function mtaStsPolicy(config: Pick<ResolvedConfig, "hostname" | "http">): string {
  const maxAge = Math.min(MAX_AGE_LIMIT_S, Math.max(0, Math.floor(config.http.mta_sts_max_age / 1000)));
  const lines = ["version: STSv1", `mode: ${config.http.mta_sts_mode}`];
  // RFC 8461 §3.2: "mx" is required in testing and enforce, and may be left out for "none"
  if (config.http.mta_sts_mode !== "none") lines.push(`mx: ${advertisedHost(config)}`);
  lines.push(`max_age: ${maxAge}`);
  return `${lines.join("\r\n")}\r\n`;
}

/** RFC 8461 §3.1 id: 1–32 alphanumeric characters; here the first 20 hex digits of the policy's SHA-256. */
export function mtaStsId(config: Pick<ResolvedConfig, "hostname" | "http">): string {
  return createHash("sha256").update(mtaStsPolicy(config)).digest("hex").slice(0, 20);
}
