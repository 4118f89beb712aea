/**
 * Who a JMAP request is (RFC 8620 §1.2 leaves the scheme to the server):
 *
 * - HTTP Basic (RFC 7617) with the account password or an app password, over TLS or from loopback
 *   only, checked by the shared authenticator (`protocol: "http"`: login throttling counts these
 *   failures with IMAP/POP3/SMTP ones, and the last use of an app password is recorded).
 * - Bearer (RFC 6750 §2.1) with a token the server signed: `POST /jmap/token` (authenticated with
 *   Basic) answers `{accessToken, tokenType: "Bearer", expiresIn}`. A token is
 *   `pk1.<account id>.<credentials version>.<expiry, unix s>.<HMAC-SHA256, base64url>` under a
 *   256-bit key kept in the store's keys port (kind `jmap`, name `token`; every worker and node
 *   shares it). It lives `jmap.token_lifetime`, and a password change (the credentials version)
 *   voids every token of the account at once. Nothing is stored per token; it can not be forged
 *   without the key, so a bad token is not counted by login throttling.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Authenticator } from "../auth/index.ts";
import { isLoopback } from "../net/address.ts";
import type { Account, Store } from "../store/types.ts";
import { basicCredentials } from "./discovery.ts";

const KEY_KIND = "jmap";
const KEY_NAME = "token";
const PREFIX = "pk1";

export interface RequestClient {
  remoteAddress: string;
  tls: boolean;
}

export class JmapTokens {
  readonly #store: Store;
  readonly #lifetimeMs: number;
  #key: Buffer | null = null;

  constructor(store: Store, lifetimeMs: number) {
    this.#store = store;
    this.#lifetimeMs = lifetimeMs;
  }

  async #secret(): Promise<Buffer> {
    if (this.#key) return this.#key;
    let k = await this.#store.keys.get(KEY_KIND, KEY_NAME);
    if (!k) {
      await this.#store.keys.put(KEY_KIND, KEY_NAME, randomBytes(32)); // never overwrites
      k = await this.#store.keys.get(KEY_KIND, KEY_NAME);
    }
    if (!k) throw new Error("jmap token key missing from the key store");
    this.#key = Buffer.from(k.secret);
    return this.#key;
  }

  #mac(key: Buffer, payload: string): Buffer {
    return createHmac("sha256", key).update(payload).digest();
  }

  /** a fresh token for account and its lifetime in seconds */
  async issue(account: Account): Promise<{ token: string; expiresIn: number }> {
    const expires = Math.floor((Date.now() + this.#lifetimeMs) / 1000);
    const payload = `${PREFIX}.${account.id}.${account.credentialsVersion}.${expires}`;
    const mac = this.#mac(await this.#secret(), payload).toString("base64url");
    return { token: `${payload}.${mac}`, expiresIn: Math.floor(this.#lifetimeMs / 1000) };
  }

  /** the account a token names, when its signature, expiry and credentials version hold */
  async verify(token: string): Promise<Account | null> {
    if (token.length > 200) return null;
    const parts = token.split(".");
    if (parts.length !== 5 || parts[0] !== PREFIX) return null;
    const [, id, version, expires, mac] = parts as [string, string, string, string, string];
    if (![id, version, expires].every((p) => /^[0-9]{1,15}$/.test(p))) return null;
    const want = this.#mac(await this.#secret(), `${PREFIX}.${id}.${version}.${expires}`);
    const got = Buffer.from(mac, "base64url");
    if (got.length !== want.length || !timingSafeEqual(got, want)) return null;
    if (Number(expires) * 1000 <= Date.now()) return null;
    const account = await this.#store.getAccountById(Number(id));
    if (!account || account.credentialsVersion !== Number(version)) return null;
    return account;
  }
}

/** the Bearer token of an Authorization header (RFC 6750 §2.1), or null */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const sp = header.indexOf(" ");
  if (sp < 0 || header.slice(0, sp).toLowerCase() !== "bearer") return null;
  const t = header.slice(sp + 1).trim();
  return t.length > 0 ? t : null;
}

/** The account of a JMAP request's credentials, or null (the caller answers 401). */
export async function authenticateJmap(
  header: string | undefined,
  client: RequestClient,
  auth: Authenticator,
  tokens: JmapTokens,
): Promise<Account | null> {
  const bearer = bearerToken(header);
  if (bearer !== null) return tokens.verify(bearer);
  // RFC 7617 §4: the password travels in the clear; only over TLS (or on this host)
  if (!client.tls && !isLoopback(client.remoteAddress)) return null;
  const cred = basicCredentials(header);
  if (!cred) return null;
  return auth.verifyPassword(cred.user, cred.password, {
    protocol: "http",
    remoteAddress: client.remoteAddress,
  });
}
