/**
 * TLS certificate provider shared by every protocol (implicit TLS and STARTTLS).
 *
 * - Configured PEM files are loaded and re-read when they change (mtime/size/inode checked at most
 *   once per checkIntervalMs, on the next connection), so a renewed certificate needs no restart.
 *   A broken new pair (e.g. key and cert written non-atomically) keeps the previous context.
 * - Without configured files a self-signed certificate (ECDSA P-256, SAN = hostname, localhost,
 *   127.0.0.1, ::1) is generated on first start into <data_dir>/tls/ and reused afterwards;
 *   it is regenerated when it has expired or when the configured hostname is not among its names
 *   (hostname changed). Only a certificate postkontor generated itself (its subject carries
 *   SELF_SIGNED_ORG) is ever regenerated: a certificate someone put into <data_dir>/tls/ is kept.
 *   Key and certificate are written mode 0600 (the data directory holds secrets).
 */
import { webcrypto, X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import { createSecureContext, type SecureContext, type TlsOptions } from "node:tls";
import { runOnThread } from "./one-shot-thread.ts";

export interface TlsProvider {
  /** current secure context (checks the files for changes, cheaply) */
  context(): SecureContext;
  /** options for tls.createServer / setSecureContext: key, cert, minVersion */
  serverOptions(): TlsOptions;
  /** called after a reload; returns an unsubscribe function */
  onChange(listener: () => void): () => void;
  readonly certPath: string;
  readonly keyPath: string;
  readonly selfSigned: boolean;
}

export interface TlsProviderOptions {
  checkIntervalMs?: number;
  logger?: { info(o: object, msg?: string): void; warn(o: object, msg?: string): void };
}

const MIN_VERSION = "TLSv1.2" as const; // RFC 8996 / RFC 9325 §3.1.1: no TLS 1.0/1.1

/** Organization in the subject of the certificates generateSelfSigned makes (how they are recognised). */
export const SELF_SIGNED_ORG = "postkontor self-signed";

function writeAtomic(path: string, data: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode });
  renameSync(tmp, path);
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString("base64");
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** Generates a self-signed ECDSA P-256 certificate; returns PEM cert and PKCS#8 key. */
export async function generateSelfSigned(
  hostname: string,
  days = 825,
): Promise<{ cert: string; key: string }> {
  // @peculiar/x509 uses tsyringe, which needs the Reflect metadata polyfill loaded first
  await import("reflect-metadata");
  const x509 = await import("@peculiar/x509");
  const crypto = webcrypto;
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = (await crypto.subtle.generateKey(alg, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const names: Array<{ type: "dns" | "ip"; value: string }> = [];
  const add = (n: { type: "dns" | "ip"; value: string }) => {
    if (!names.some((x) => x.type === n.type && x.value === n.value)) names.push(n);
  };
  if (hostname) add({ type: isIP(hostname) ? "ip" : "dns", value: hostname });
  add({ type: "dns", value: "localhost" });
  add({ type: "ip", value: "127.0.0.1" });
  add({ type: "ip", value: "::1" });
  const cn = hostname && !isIP(hostname) ? hostname : "localhost";
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: Buffer.from(crypto.getRandomValues(new Uint8Array(16)))
        .toString("hex")
        .replace(/^[89a-f]/, "1"),
      name: `CN=${cn.replace(/[,+="\\<>;]/g, "")}, O=${SELF_SIGNED_ORG}`,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + days * 86_400_000),
      signingAlgorithm: alg,
      keys: keys as never, // node's webcrypto types vs the DOM types x509 declares
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(names),
      ],
    },
    crypto as never,
  );
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { cert: cert.toString("pem") + "\n", key: pem("PRIVATE KEY", pkcs8) };
}

/** generateSelfSigned on a short-lived thread (cert-thread.ts): its libraries leave with it */
function generateOnThread(hostname: string): Promise<{ cert: string; key: string }> {
  return runOnThread(new URL("./cert-thread.ts", import.meta.url), { hostname }, "certificate generation");
}

/** Whether the certificate names hostname (SAN dNSName / iPAddress, as a client checks it). */
function certNames(c: X509Certificate, hostname: string): boolean {
  if (!hostname) return true;
  return isIP(hostname) ? c.checkIP(hostname) !== undefined : c.checkHost(hostname) !== undefined;
}

export interface EnsuredCert {
  certPath: string;
  keyPath: string;
  generated: boolean;
  /** why a new certificate was written: none yet (or unreadable), expired, or hostname not in it */
  reason?: "missing" | "expired" | "hostname";
  /** the names of the replaced certificate (reason "hostname") */
  previousSubject?: string;
}

/**
 * Ensures <dir>/cert.pem and <dir>/key.pem exist, are not expired and name hostname; generates
 * them otherwise — but never replaces a readable certificate postkontor did not generate.
 */
export async function ensureSelfSignedCert(dir: string, hostname: string): Promise<EnsuredCert> {
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  let reason: EnsuredCert["reason"] = "missing";
  let previousSubject: string | undefined;
  if (existsSync(certPath) && existsSync(keyPath)) {
    try {
      const c = new X509Certificate(readFileSync(certPath));
      const ours = c.subject.split("\n").includes(`O=${SELF_SIGNED_ORG}`);
      const fresh = new Date(c.validTo).getTime() > Date.now() + 86_400_000;
      const named = certNames(c, hostname);
      if (!ours || (fresh && named)) return { certPath, keyPath, generated: false };
      reason = fresh ? "hostname" : "expired";
      if (!named) previousSubject = c.subjectAltName ?? c.subject;
    } catch {
      // unreadable: regenerate below
    }
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { cert, key } = await generateOnThread(hostname);
  writeAtomic(keyPath, key, 0o600);
  writeAtomic(certPath, cert, 0o600);
  return { certPath, keyPath, generated: true, reason, previousSubject };
}

/** Log line of a (re)generated self-signed certificate. */
export function describeGenerated(r: EnsuredCert, hostname: string): string {
  if (r.reason === "hostname")
    return `regenerated the self-signed TLS certificate: hostname ${hostname} is not among its names (${r.previousSubject ?? "?"})`;
  if (r.reason === "expired") return "regenerated the self-signed TLS certificate: it expired";
  return "generated a self-signed TLS certificate";
}

interface FileStamp {
  mtimeMs: number;
  size: number;
  ino: number;
}

function stamp(path: string): FileStamp | null {
  try {
    const s = statSync(path);
    return { mtimeMs: s.mtimeMs, size: s.size, ino: s.ino };
  } catch {
    return null;
  }
}

function sameStamp(a: FileStamp | null, b: FileStamp | null): boolean {
  return a !== null && b !== null && a.mtimeMs === b.mtimeMs && a.size === b.size && a.ino === b.ino;
}

/**
 * Creates the provider. config.tls.cert/key empty = self-signed certificate in <dataDir>/tls/.
 */
export async function createTlsProvider(
  config: { tls: { cert: string; key: string }; hostname: string },
  dataDir: string,
  opts: TlsProviderOptions = {},
): Promise<TlsProvider> {
  const interval = opts.checkIntervalMs ?? 1000;
  let certPath = config.tls.cert;
  let keyPath = config.tls.key;
  const selfSigned = !certPath && !keyPath;
  if (!certPath !== !keyPath) throw new Error("tls.cert and tls.key must both be set, or both be empty");
  if (selfSigned) {
    const r = await ensureSelfSignedCert(join(dataDir, "tls"), config.hostname);
    certPath = r.certPath;
    keyPath = r.keyPath;
    if (r.generated) opts.logger?.info({ certPath }, describeGenerated(r, config.hostname));
  }

  function load(): { options: TlsOptions; context: SecureContext } {
    const options: TlsOptions = {
      cert: readFileSync(certPath),
      key: readFileSync(keyPath),
      minVersion: MIN_VERSION,
    };
    return { options, context: createSecureContext(options) };
  }

  let stamps = [stamp(certPath), stamp(keyPath)];
  let current = load();
  let lastCheck = Date.now();
  const listeners = new Set<() => void>();

  function check(): void {
    const now = Date.now();
    if (now - lastCheck < interval) return;
    lastCheck = now;
    const next = [stamp(certPath), stamp(keyPath)];
    if (sameStamp(next[0]!, stamps[0]!) && sameStamp(next[1]!, stamps[1]!)) return;
    try {
      current = load();
      stamps = next;
      opts.logger?.info({ certPath }, "TLS certificate reloaded");
      for (const l of listeners) l();
    } catch (e) {
      // keep serving the previous certificate; retried on the next check
      opts.logger?.warn(
        { certPath, err: String(e) },
        "TLS certificate reload failed, keeping the previous one",
      );
    }
  }

  return {
    certPath,
    keyPath,
    selfSigned,
    context() {
      check();
      return current.context;
    },
    serverOptions() {
      check();
      return { ...current.options };
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
