/**
 * `postkontor user import FILE`: accounts in bulk, e.g. a whole domain moved in from Dovecot.
 *
 * One account per line, fields separated by ":" (as in a Dovecot passwd-file, whose password
 * field never holds a ":"):
 *
 *   address:secret[:quota[:protocols]]
 *
 * - secret: a plain password (hashed with argon2id, the parameters of `user add`, checked
 *   against [auth] min_password_length), `{PLAIN}password` / `{CLEARTEXT}password` (the same,
 *   for passwords that start with "{"), or a hash as Dovecot carries it: `{ARGON2ID}`/`{ARGON2I}`/
 *   `{ARGON2}` + PHC string, `{SHA512-CRYPT}$6$…`, `{SHA256-CRYPT}$5$…`, `{CRYPT}$5$/$6$…`, or
 *   a bare `$argon2…` / `$5$` / `$6$` string. Any other scheme (`{BLF-CRYPT}`, `{MD5-CRYPT}`,
 *   `{SSHA512}` …) is refused for that line: src/auth cannot verify it.
 * - quota: storage quota (500M, 2G; 0 = unlimited); empty = unlimited / unchanged.
 * - protocols: "imap", "pop3", "imap,pop3" or "none"; empty = both (the default) / unchanged.
 * - empty lines and lines starting with "#" are skipped. A password containing ":" cannot be
 *   given in the clear (as in Dovecot's passwd-file); hash it first.
 *
 * Accounts are created in batches (default 500), each in one store transaction; plain passwords
 * are hashed in parallel on libuv's thread pool (@node-rs/argon2 is asynchronous) before a batch
 * is written. Re-running the same file is safe: existing accounts are skipped (their password
 * may have been changed since), or updated with --update. Per-line problems go to stderr with the
 * line number; a summary goes to stdout; exit status 65 (EX_DATAERR) when any line failed.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import type { Command } from "commander";
import { hashPassword, hashScheme } from "../auth/index.ts";
import { parseSize } from "../config/index.ts";
import type { AccountSettings, NewAccount } from "../store/types.ts";
import type { CliHelpers } from "./outbound.ts";
import { passwordProblem } from "./policy.ts";

const HASH_SCHEMES = new Set(["ARGON2ID", "ARGON2I", "ARGON2", "SHA512-CRYPT", "SHA256-CRYPT", "CRYPT"]);
const PLAIN_SCHEMES = new Set(["PLAIN", "CLEARTEXT"]);

export interface ImportLine {
  line: number;
  address: string;
  /** a hash to store as is, or a password to hash */
  hash?: string;
  password?: string;
  quotaBytes?: number;
  settings?: Partial<AccountSettings>;
}

/** One line of the file → an entry, an error message, or null (blank / comment). */
export function parseImportLine(
  text: string,
  line: number,
): ImportLine | { line: number; error: string } | null {
  const t = text.replace(/\r$/, "");
  if (t.trim() === "" || t.trimStart().startsWith("#")) return null;
  const f = t.split(":");
  if (f.length < 2 || f.length > 4) return { line, error: "expected address:secret[:quota[:protocols]]" };
  const address = f[0]!.trim();
  const secret = f[1]!;
  if (!address.includes("@")) return { line, error: `"${address}" is not an address (local@domain)` };
  if (secret === "") return { line, error: `${address}: empty password` };
  const e: ImportLine = { line, address };
  const { scheme, value } = hashScheme(secret);
  if (scheme === "") e.password = secret;
  else if (PLAIN_SCHEMES.has(scheme)) e.password = value;
  else if (!HASH_SCHEMES.has(scheme))
    return {
      line,
      error: `${address}: password scheme {${scheme}} is not supported (supported: {ARGON2ID}, {ARGON2I}, {SHA512-CRYPT}, {SHA256-CRYPT}, {CRYPT} with $5$/$6$, {PLAIN}, or a plain password)`,
    };
  else {
    const argon = scheme.startsWith("ARGON2") && value.startsWith("$argon2");
    const crypt = !scheme.startsWith("ARGON2") && (value.startsWith("$5$") || value.startsWith("$6$"));
    if (!argon && !crypt)
      return {
        line,
        error: `${address}: {${scheme}} value is not a ${scheme.startsWith("ARGON2") ? "PHC $argon2… string" : "SHA-crypt $5$/$6$ hash"}`,
      };
    e.hash = secret.startsWith("{") ? secret : `{${scheme === "ARGON2" ? "ARGON2ID" : "CRYPT"}}${value}`;
  }
  const quota = (f[2] ?? "").trim();
  if (quota !== "") {
    try {
      e.quotaBytes = parseSize(quota);
    } catch (err) {
      return { line, error: `${address}: ${(err as Error).message}` };
    }
  }
  const protocols = (f[3] ?? "").trim().toLowerCase();
  if (protocols !== "") {
    const list = protocols === "none" ? [] : protocols.split(",").map((p) => p.trim());
    for (const p of list)
      if (p !== "imap" && p !== "pop3")
        return { line, error: `${address}: unknown protocol "${p}" (imap, pop3 or none)` };
    e.settings = { imapEnabled: list.includes("imap"), pop3Enabled: list.includes("pop3") };
  }
  return e;
}

/** bounded parallel map (argon2 runs on the libuv pool; more at once than its threads only queue) */
async function mapLimit<T, R>(items: T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

export function addUserImportCommand(user: Command, h: CliHelpers): void {
  h.configOption(user.command("import <file>"))
    .description(
      "create accounts in bulk from a file ('-' = stdin), one per line: address:secret[:quota[:protocols]] " +
        "(secret: a password, or a {ARGON2ID}/{SHA512-CRYPT}/{SHA256-CRYPT}/{CRYPT} hash as in a Dovecot " +
        "passwd-file); existing accounts are skipped unless --update",
    )
    .option("--update", "update password, quota and protocols of accounts that exist")
    .option("--batch <n>", "accounts per store transaction", "500")
    .action(async (file: string, o: { config?: string; update?: boolean; batch: string }) => {
      const config = h.load(o);
      const batch =
        /^\d+$/.test(o.batch) && Number(o.batch) > 0
          ? Number(o.batch)
          : h.usage("--batch: a positive integer");
      let text: string;
      try {
        text = readFileSync(file === "-" ? 0 : file, "utf8");
      } catch (e) {
        return h.usage(`cannot read ${file}: ${(e as Error).message}`);
      }
      const entries: ImportLine[] = [];
      let failed = 0;
      const fail = (line: number, msg: string) => {
        failed++;
        process.stderr.write(`line ${line}: ${msg}\n`);
      };
      text.split("\n").forEach((l, i) => {
        const r = parseImportLine(l, i + 1);
        if (r === null) return;
        if ("error" in r) fail(r.line, r.error);
        else entries.push(r);
      });
      const counts = { created: 0, updated: 0, skipped: 0 };
      const threads = Math.max(1, Math.min(availableParallelism(), 8));
      const minLength = config.auth.min_password_length;
      await h
        .withStore(config, async (s) => {
          for (let at = 0; at < entries.length; at += batch) {
            const chunk = entries.slice(at, at + batch);
            // skip hashing for accounts that exist and are not to be updated (a re-run costs no argon2)
            const exists = o.update
              ? new Set<string>()
              : new Set(
                  (
                    await Promise.all(
                      chunk.map(async (e) => ((await s.getAccount(e.address)) ? e.address : null)),
                    )
                  ).filter((x): x is string => x !== null),
                );
            const ready: Array<{ e: ImportLine; n: NewAccount }> = [];
            const hashed = await mapLimit(chunk, threads, async (e) => {
              if (exists.has(e.address)) return { e, skipped: true as const };
              if (e.hash) return { e, hash: e.hash };
              const problem = passwordProblem(e.password!, e.address, { minLength });
              if (problem) return { e, error: problem };
              return { e, hash: await hashPassword(e.password!) };
            });
            for (const x of hashed) {
              if ("skipped" in x) counts.skipped++;
              else if ("error" in x) fail(x.e.line, `${x.e.address}: ${x.error}`);
              else
                ready.push({
                  e: x.e,
                  n: {
                    address: x.e.address,
                    passwordHash: x.hash,
                    ...(x.e.quotaBytes !== undefined ? { quotaBytes: x.e.quotaBytes } : {}),
                    ...(x.e.settings ? { settings: x.e.settings } : {}),
                  },
                });
            }
            const results = await s.createAccounts(
              ready.map((r) => r.n),
              { update: o.update === true },
            );
            results.forEach((r, i) => {
              if (r.outcome === "failed") fail(ready[i]!.e.line, `${r.address}: ${r.error}`);
              else counts[r.outcome]++;
            });
          }
        })
        .catch(h.storeExit);
      process.stdout.write(
        `created ${counts.created}, updated ${counts.updated}, skipped ${counts.skipped} (existing), failed ${failed}\n`,
      );
      if (failed > 0) process.exitCode = 65; // EX_DATAERR: some lines were not imported
    });
}
