/**
 * DKIM signing of outbound mail (RFC 6376), one ed25519-sha256 (RFC 8463) and one rsa-sha256
 * signature per message, so that verifiers that do not know ed25519 yet still find a signature
 * they can check (RFC 8463 §4: signers SHOULD double-sign during the transition).
 *
 * Implementation notes
 * - Keys live in the store (keys port, kind "dkim", name "<domain>/<selector>", PKCS#8 PEM), so
 *   every worker, the CLI and every node of a cluster sign with the same keys. `postkontor domain
 *   add` creates both keys. Selectors carry the creation month and the key type (`pk202611e`
 *   ed25519, `pk202611r` rsa-2048) so a key can be rotated by adding a new pair.
 * - Upgrade: older versions kept keys as files <data_dir>/dkim/<domain>/<selector>.pem. At open
 *   (src/server/store.ts) a domain's files are imported once — when the store has no key of that
 *   domain yet — and left in place (importDkimKeyFiles).
 * - Signing uses mailauth's dkimSign with relaxed/relaxed canonicalization (RFC 6376 §3.4) over
 *   mailauth's default header list; the DKIM-Signature fields are prepended to the message bytes.
 * - The signing domain is the domain of the From header (DMARC alignment, RFC 7489 §3.1.1); the
 *   runner falls back to the envelope sender's domain.
 * - DNS: `<selector>._domainkey.<domain> TXT "v=DKIM1; k=ed25519; p=<raw 32-byte key, base64>"`
 *   (RFC 8463 §4.2) and `"v=DKIM1; k=rsa; p=<SubjectPublicKeyInfo DER, base64>"` (RFC 6376 §3.6.1).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { domainToASCII } from "node:url";
import type { KeyStore, StoredKey } from "../../store/types.ts";

/** the keys-port kind of DKIM private keys */
export const DKIM_KEY_KIND = "dkim";

export interface DkimKey {
  domain: string;
  selector: string;
  algorithm: "ed25519" | "rsa";
  privateKeyPem: string;
}

function normDomain(domain: string): string {
  const d = domainToASCII(domain.trim().toLowerCase().replace(/\.$/, ""));
  if (!d || d.includes("/") || d.startsWith(".")) throw new Error(`invalid domain ${domain}`);
  return d;
}

export function dkimDir(dataDir: string, domain: string): string {
  return join(dataDir, "dkim", normDomain(domain));
}

/** A PEM private key as a DkimKey, or null when it is not an ed25519 or rsa key. */
function toDkimKey(domain: string, selector: string, pem: string): DkimKey | null {
  let type: string | undefined;
  try {
    type = createPrivateKey(pem).asymmetricKeyType;
  } catch {
    return null; // not a key we can use
  }
  if (type !== "ed25519" && type !== "rsa") return null;
  return { domain, selector, algorithm: type, privateKeyPem: pem };
}

/** The domain's keys in the store, newest selector first. */
export async function loadDkimKeys(keys: KeyStore, domain: string): Promise<DkimKey[]> {
  const d = normDomain(domain);
  const prefix = `${d}/`;
  const out: DkimKey[] = [];
  const rows = (await keys.list(DKIM_KEY_KIND, prefix)).sort((a, b) => (a.name < b.name ? 1 : -1));
  for (const r of rows) {
    const k = toDkimKey(d, r.name.slice(prefix.length), Buffer.from(r.secret).toString("utf8"));
    if (k) out.push(k);
  }
  return out;
}

/** The newest key of each algorithm (what signing uses). */
export async function activeDkimKeys(keys: KeyStore, domain: string): Promise<DkimKey[]> {
  const seen = new Set<string>();
  return (await loadDkimKeys(keys, domain)).filter((k) => {
    if (seen.has(k.algorithm)) return false;
    seen.add(k.algorithm);
    return true;
  });
}

/**
 * Creates an ed25519 and an rsa-2048 key for the domain unless it has both already; returns the
 * active keys. A selector that exists already is never overwritten (a published key).
 */
export async function ensureDkimKeys(keys: KeyStore, domain: string, now = new Date()): Promise<DkimKey[]> {
  const d = normDomain(domain);
  const have = new Set((await activeDkimKeys(keys, d)).map((k) => k.algorithm));
  const month = `${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, "0")}`;
  if (!have.has("ed25519")) {
    const { privateKey } = generateKeyPairSync("ed25519");
    await keys.put(
      DKIM_KEY_KIND,
      `${d}/pk${month}e`,
      privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    );
  }
  if (!have.has("rsa")) {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    await keys.put(
      DKIM_KEY_KIND,
      `${d}/pk${month}r`,
      privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    );
  }
  return activeDkimKeys(keys, d);
}

/** Key files an older version wrote under <dataDir>/dkim/<domain>/<selector>.pem. */
export function readDkimKeyFiles(dataDir: string, domain: string): DkimKey[] {
  const dir = dkimDir(dataDir, domain);
  if (!existsSync(dir)) return [];
  const out: DkimKey[] = [];
  // bounded by the directory's entries
  for (const f of readdirSync(dir)
    .filter((n) => n.endsWith(".pem"))
    .sort()
    .reverse()) {
    const k = toDkimKey(normDomain(domain), f.slice(0, -4), readFileSync(join(dir, f), "utf8"));
    if (k) out.push(k);
  }
  return out;
}

/**
 * Imports the key files of older versions into the store: for each domain directory under
 * <dataDir>/dkim whose domain has no key in the store yet. The files stay. Returns what was
 * imported (for the log).
 */
export async function importDkimKeyFiles(keys: KeyStore, dataDir: string): Promise<DkimKey[]> {
  const root = join(dataDir, "dkim");
  if (!existsSync(root)) return [];
  const imported: DkimKey[] = [];
  for (const name of readdirSync(root)) {
    let domain: string;
    try {
      domain = normDomain(name);
    } catch {
      continue;
    }
    const files = readDkimKeyFiles(dataDir, domain);
    if (files.length === 0) continue;
    const stored: StoredKey[] = await keys.list(DKIM_KEY_KIND, `${domain}/`);
    if (stored.length > 0) continue; // imported before, or created in the store since
    for (const k of files) {
      if (await keys.put(DKIM_KEY_KIND, `${domain}/${k.selector}`, k.privateKeyPem)) imported.push(k);
    }
  }
  return imported;
}

/** The TXT record value to publish at <selector>._domainkey.<domain>. */
export function dkimTxtRecord(k: DkimKey): string {
  const pub = createPublicKey(createPrivateKey(k.privateKeyPem));
  const der = pub.export({ type: "spki", format: "der" });
  if (k.algorithm === "ed25519") {
    // RFC 8463 §4.2: the bare 32-byte key, not the SubjectPublicKeyInfo
    return `v=DKIM1; k=ed25519; p=${der.subarray(der.length - 32).toString("base64")}`;
  }
  return `v=DKIM1; k=rsa; p=${der.toString("base64")}`;
}

/** Prepends one DKIM-Signature per key; returns the message unchanged when there are no keys. */
export async function signMessage(
  message: Uint8Array,
  keys: DkimKey[],
): Promise<{ message: Uint8Array; errors: string[] }> {
  if (keys.length === 0) return { message, errors: [] };
  const buf = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  const first = keys[0]!;
  // loaded on first use: the CLI imports this module for key management only
  const { dkimSign } = await import("mailauth");
  const r = await dkimSign(buf, {
    signingDomain: first.domain,
    selector: first.selector,
    privateKey: first.privateKeyPem,
    canonicalization: "relaxed/relaxed",
    signatureData: keys.map((k) => ({
      signingDomain: k.domain,
      selector: k.selector,
      privateKey: k.privateKeyPem,
      algorithm: k.algorithm === "ed25519" ? "ed25519-sha256" : "rsa-sha256",
      canonicalization: "relaxed/relaxed",
    })),
  });
  const errors = (r.errors ?? []).map((e) => String((e as { err?: unknown }).err ?? JSON.stringify(e)));
  if (!r.signatures) return { message, errors };
  return { message: Buffer.concat([Buffer.from(r.signatures, "latin1"), buf]), errors };
}
