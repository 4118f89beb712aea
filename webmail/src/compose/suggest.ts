/**
 * Address suggestions for the recipient fields, drawn from the user's own mail: the newest
 * messages whose From, To or Cc match the typed text on the server's text index (Email/query),
 * then those fields (Email/get by result reference, RFC 8620 §3.7), deduplicated.
 */
import { jmap } from "../state.ts";
import type { EmailAddress } from "../types.ts";
import { dedupe } from "./addresses.ts";

/**
 * Addresses from the user's own mail that contain `q` (in the name or the address, ignoring case):
 * the newest messages whose From, To or Cc match it on the server's text index, their addresses
 * deduplicated. At most `max`.
 */
export async function suggest(q: string, max = 8): Promise<EmailAddress[]> {
  const responses = await jmap.request([
    [
      "Email/query",
      {
        accountId: jmap.accountId,
        filter: { operator: "OR", conditions: [{ from: q }, { to: q }, { cc: q }] },
        sort: [{ property: "receivedAt", isAscending: false }],
        limit: 40,
      },
      "q",
    ],
    [
      "Email/get",
      {
        accountId: jmap.accountId,
        "#ids": { resultOf: "q", name: "Email/query", path: "/ids" },
        properties: ["from", "to", "cc"],
      },
      "g",
    ],
  ]);
  const get = responses.find((r) => r[2] === "g");
  if (get?.[0] !== "Email/get") return [];
  const needle = q.toLowerCase();
  const all: EmailAddress[] = [];
  for (const e of (get[1] as { list: Array<Record<string, EmailAddress[] | null>> }).list) {
    for (const a of [...(e.from ?? []), ...(e.to ?? []), ...(e.cc ?? [])]) {
      if (a.email.toLowerCase().includes(needle) || (a.name ?? "").toLowerCase().includes(needle))
        all.push(a);
    }
  }
  // the same address seen with and without a name: the named one is kept (the sort is stable)
  all.sort((a, b) => (b.name ? 1 : 0) - (a.name ? 1 : 0));
  return dedupe(all).slice(0, max);
}
