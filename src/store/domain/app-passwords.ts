/**
 * App passwords over the db port: named, per-account, revocable passwords for mail clients
 * (IMAP, POP3, SMTP, later JMAP), so that a phone never holds the main password.
 *
 * - The secret is generated here (20 letters from a 24-letter alphabet in groups of four, about
 *   92 bits); only its SHA-256 is stored. A fast hash is right for a random secret of that
 *   strength (nothing to guess from a dictionary), and it lets a login find the matching app
 *   password with one indexed lookup instead of one argon2 check per app password.
 * - A successful use is recorded (time and protocol) at most once a minute per app password, so
 *   a client that logs in every few seconds does not turn logins into write transactions.
 */
import { createHash, randomInt } from "node:crypto";
import { type AppPassword, type Id, StoreError } from "../api/model.ts";
import { type AppPasswordRow, DbConflict } from "../db/port.ts";
import { normalizeAddress } from "../names.ts";
import { type DomainDeps, write } from "./context.ts";

/** lower-case letters without l and o (mistaken for 1 and 0) */
const ALPHABET = "abcdefghijkmnpqrstuvwxyz";
const GROUPS = 5;
const GROUP_LENGTH = 4;
const TOUCH_INTERVAL_MS = 60_000;
const MAX_NAME_LENGTH = 64;

function secretHash(secret: string): string {
  return createHash("sha256").update(secret.trim().toLowerCase()).digest("hex");
}

function newSecret(): string {
  const groups: string[] = [];
  for (let g = 0; g < GROUPS; g++) {
    let s = "";
    for (let i = 0; i < GROUP_LENGTH; i++) s += ALPHABET[randomInt(ALPHABET.length)];
    groups.push(s);
  }
  return groups.join("-");
}

function checkName(name: string): string {
  const n = name.trim();
  if (n.length === 0 || n.length > MAX_NAME_LENGTH)
    throw new StoreError("INVALID", `an app password name has 1 to ${MAX_NAME_LENGTH} characters`);
  for (const ch of n) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || c === 0x7f)
      throw new StoreError("INVALID", "an app password name has no control characters");
  }
  return n;
}

function toAppPassword(r: AppPasswordRow): AppPassword {
  return {
    id: r.id,
    name: r.name,
    createdAt: new Date(r.createdAt),
    lastUsedAt: r.lastUsedAt === null ? null : new Date(r.lastUsedAt),
    lastUsedBy: r.lastUsedBy,
  };
}

export class AppPasswords {
  readonly #d: DomainDeps;
  constructor(deps: DomainDeps) {
    this.#d = deps;
  }

  async #accountId(address: string): Promise<Id> {
    const addr = normalizeAddress(address).address;
    const row = await this.#d.db.read((q) => q.accounts.byAddress(addr));
    if (!row) throw new StoreError("NONEXISTENT", `no account ${addr}`);
    return row.id;
  }

  async addAppPassword(address: string, name: string): Promise<{ appPassword: AppPassword; secret: string }> {
    const n = checkName(name);
    const accountId = await this.#accountId(address);
    const secret = newSecret();
    const createdAt = Date.now();
    return write(this.#d, async ({ tx }) => {
      try {
        const id = await tx.appPasswords.insert({ accountId, name: n, hash: secretHash(secret), createdAt });
        return {
          appPassword: toAppPassword({
            id,
            accountId,
            name: n,
            hash: "",
            createdAt,
            lastUsedAt: null,
            lastUsedBy: null,
          }),
          secret,
        };
      } catch (e) {
        if (e instanceof DbConflict) throw new StoreError("ALREADYEXISTS", `app password ${n} exists`);
        throw e;
      }
    });
  }

  async listAppPasswords(address: string): Promise<AppPassword[]> {
    const accountId = await this.#accountId(address);
    return (await this.#d.db.read((q) => q.appPasswords.list(accountId))).map(toAppPassword);
  }

  async deleteAppPassword(address: string, name: string): Promise<void> {
    const accountId = await this.#accountId(address);
    const n = name.trim();
    await write(this.#d, async ({ tx }) => {
      if (!(await tx.appPasswords.delete(accountId, n)))
        throw new StoreError("NONEXISTENT", `no app password ${n}`);
    });
  }

  async verifyAppPassword(accountId: Id, secret: string, protocol: string): Promise<boolean> {
    if (secret.length === 0 || secret.length > 64) return false;
    const hash = secretHash(secret);
    const row = await this.#d.db.read((q) => q.appPasswords.byHash(accountId, hash));
    if (!row) return false;
    const now = Date.now();
    if (row.lastUsedAt === null || now - row.lastUsedAt >= TOUCH_INTERVAL_MS || row.lastUsedBy !== protocol)
      await write(this.#d, async ({ tx }) => tx.appPasswords.touch(row.id, now, protocol)).catch(() => {});
    return true;
  }
}
