/**
 * The keys port: secrets that every node must share — DKIM private keys now — kept in the store
 * (a table of the database), not as files on one host. Adapters: sqlite.ts, postgres.ts (the
 * same table).
 *
 * Contract:
 * - a key is addressed by (kind, name), e.g. ("dkim", "example.org/pk202611e"); names are
 *   compared as given (callers normalise them);
 * - put never overwrites unless asked (a published DKIM key must not change under its selector):
 *   it answers false when (kind, name) exists already;
 * - list answers a kind's keys whose name starts with `prefix`, sorted by name.
 */

export interface StoredKey {
  kind: string;
  name: string;
  /** the secret as stored (PEM text is stored as its UTF-8 bytes) */
  secret: Uint8Array;
  createdAt: Date;
}

export interface KeyStore {
  get(kind: string, name: string): Promise<StoredKey | null>;
  put(
    kind: string,
    name: string,
    secret: Uint8Array | string,
    opts?: { replace?: boolean },
  ): Promise<boolean>;
  list(kind: string, prefix?: string): Promise<StoredKey[]>;
  /** false when there was no such key */
  delete(kind: string, name: string): Promise<boolean>;
}

/** bounds of kind and name (octets of UTF-8) and of one secret */
export const KEY_LIMITS = { kind: 64, name: 255, secret: 64 * 1024 } as const;

export function checkKeyAddress(kind: string, name: string): void {
  if (kind.length === 0 || Buffer.byteLength(kind) > KEY_LIMITS.kind)
    throw new Error(`invalid key kind ${JSON.stringify(kind)}`);
  if (name.length === 0 || Buffer.byteLength(name) > KEY_LIMITS.name)
    throw new Error(`invalid key name ${JSON.stringify(name)}`);
}
