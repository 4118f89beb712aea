/**
 * DKIM signing of outbound mail (RFC 6376), one ed25519-sha256 (RFC 8463) and one rsa-sha256
 * signature per message, so that verifiers that do not know ed25519 yet still find a signature
 * they can check (RFC 8463 §4: signers SHOULD double-sign during the transition).
 *
 * Implementation notes
 * - Keys: `postkontor domain add` creates both keys under <data_dir>/dkim/<domain>/<selector>.pem
 *   (directory 0700, files 0600, PKCS#8 PEM). Selectors carry the creation month and the key type
 *   (`pk202611e` ed25519, `pk202611r` rsa-2048) so a key can be rotated by adding a new pair.
 *   Workers and the CLI of one host share the directory; a multi-node setup must share it too.
 * - Signing uses mailauth's dkimSign with relaxed/relaxed canonicalization (RFC 6376 §3.4) over
 *   mailauth's default header list; the DKIM-Signature fields are prepended to the message bytes.
 * - The signing domain is the domain of the From header (DMARC alignment, RFC 7489 §3.1.1); the
 *   runner falls back to the envelope sender's domain.
 * - DNS: `<selector>._domainkey.<domain> TXT "v=DKIM1; k=ed25519; p=<raw 32-byte key, base64>"`
 *   (RFC 8463 §4.2) and `"v=DKIM1; k=rsa; p=<SubjectPublicKeyInfo DER, base64>"` (RFC 6376 §3.6.1).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { domainToASCII } from "node:url";

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

/** The domain's keys on disk, newest selector first per algorithm. */
export function loadDkimKeys(dataDir: string, domain: string): DkimKey[] {
  const dir = dkimDir(dataDir, domain);
  if (!existsSync(dir)) return [];
  const out: DkimKey[] = [];
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".pem"))
    .sort()
    .reverse();
  for (const f of files) {
    const pem = readFileSync(join(dir, f), "utf8");
    let type: string | undefined;
    try {
      type = createPrivateKey(pem).asymmetricKeyType;
    } catch {
      continue; // not a key we can use
    }
    if (type !== "ed25519" && type !== "rsa") continue;
    out.push({ domain: normDomain(domain), selector: f.slice(0, -4), algorithm: type, privateKeyPem: pem });
  }
  return out;
}

/** The newest key of each algorithm (what signing uses). */
export function activeDkimKeys(dataDir: string, domain: string): DkimKey[] {
  const seen = new Set<string>();
  return loadDkimKeys(dataDir, domain).filter((k) => {
    if (seen.has(k.algorithm)) return false;
    seen.add(k.algorithm);
    return true;
  });
}

function writeKey(dir: string, selector: string, pem: string): void {
  const file = join(dir, `${selector}.pem`);
  // wx: never overwrite a published key
  writeFileSync(file, pem, { mode: 0o600, flag: "wx" });
  chmodSync(file, 0o600);
}

/**
 * Creates an ed25519 and an rsa-2048 key for the domain unless it has both already; returns the
 * active keys.
 */
export function ensureDkimKeys(dataDir: string, domain: string, now = new Date()): DkimKey[] {
  const dir = dkimDir(dataDir, domain);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const have = new Set(activeDkimKeys(dataDir, domain).map((k) => k.algorithm));
  const month = `${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, "0")}`;
  if (!have.has("ed25519")) {
    const { privateKey } = generateKeyPairSync("ed25519");
    writeKey(dir, `pk${month}e`, privateKey.export({ type: "pkcs8", format: "pem" }).toString());
  }
  if (!have.has("rsa")) {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    writeKey(dir, `pk${month}r`, privateKey.export({ type: "pkcs8", format: "pem" }).toString());
  }
  return activeDkimKeys(dataDir, domain);
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
