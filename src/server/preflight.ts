/**
 * Checks `serve` makes once at start (in the primary, before any worker): the host name is a fully
 * qualified domain name, and the data directory and its files are not readable by other users.
 *
 * File modes (docs/architecture.md): the data directory and its subdirectories 0700, the files 0600
 * — the database holds password hashes, tls/ and dkim/ private keys. They are created so; here the
 * modes of the data directory, its top-level directories and files (store.sqlite with -wal/-shm,
 * blobs/, run/, tls/ with key and certificate, dkim/ with one directory of key files per domain)
 * are tightened when they are more open (a store from an older version, a restore, a copy), with a
 * warning. Message files below blobs/ are not walked: the 0700 directories above them already
 * keep other users out, and a big store would make that slow.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import type { ResolvedConfig } from "../config/index.ts";
import { storeDatabasePath } from "../store/paths.ts";

export interface PreflightLogger {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
}

/**
 * Why hostname is not a fully qualified domain name, or null when it is one. The name goes into
 * the greetings (RFC 5321 §4.1.1.1: EHLO/HELO with the FQDN), MAILER-DAEMON@hostname and the
 * self-signed certificate.
 */
export function hostnameProblem(hostname: string): string | null {
  const h = hostname.replace(/\.$/, "").toLowerCase();
  if (!h) return "it is empty";
  if (isIP(h)) return "it is an IP address";
  if (h === "localhost" || h.endsWith(".localhost")) return "it is a loopback name";
  if (!h.includes(".")) return "it has a single label";
  return null;
}

/** Warns when config.hostname is not a fully qualified domain name. */
export function checkHostname(config: Pick<ResolvedConfig, "hostname">, logger: PreflightLogger): void {
  const problem = hostnameProblem(config.hostname);
  if (!problem) return;
  logger.warn(
    { hostname: config.hostname },
    `hostname "${config.hostname}" is not a fully qualified domain name (${problem}); it is used in ` +
      "the SMTP greeting, as MAILER-DAEMON@hostname in bounces and as the certificate name: set " +
      'hostname = "mail.example.com" in the config (or POSTKONTOR_HOSTNAME)',
  );
}

/** Removes the group/other permission bits of path that mode does not grant; records what it changed. */
function tighten(path: string, mode: number, fixed: string[]): void {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(path);
  } catch {
    return; // not there (yet)
  }
  const extra = st.mode & 0o077 & ~mode;
  if (st.isSymbolicLink() || extra === 0) return;
  chmodSync(path, st.mode & 0o7777 & ~extra);
  fixed.push(`${path} (was ${(st.mode & 0o777).toString(8)})`);
}

/**
 * Creates the data directory (0700) if needed and tightens the modes described above. Returns
 * whether the store database existed before (false: this start creates a new store).
 */
export function secureDataDir(config: Pick<ResolvedConfig, "data_dir">, logger: PreflightLogger): boolean {
  const dir = config.data_dir;
  const db = storeDatabasePath(dir);
  const existed = existsSync(db);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fixed: string[] = [];
  tighten(dir, 0o700, fixed);
  for (const f of [db, `${db}-wal`, `${db}-shm`]) tighten(f, 0o600, fixed);
  for (const d of ["blobs", "run", "tls", "dkim"]) tighten(join(dir, d), 0o700, fixed);
  for (const f of ["key.pem", "cert.pem"]) tighten(join(dir, "tls", f), 0o600, fixed);
  const dkim = join(dir, "dkim");
  let domains: string[] = [];
  try {
    domains = readdirSync(dkim);
  } catch {
    // no DKIM keys yet
  }
  for (const d of domains) {
    const sub = join(dkim, d);
    tighten(sub, 0o700, fixed);
    let keys: string[] = [];
    try {
      keys = readdirSync(sub);
    } catch {}
    for (const k of keys) tighten(join(sub, k), 0o600, fixed);
  }
  if (fixed.length)
    logger.warn(
      { paths: fixed },
      `tightened the permissions of ${fixed.length} path${fixed.length === 1 ? "" : "s"} in the data directory ` +
        "(password hashes and private keys must not be readable by other users)",
    );
  if (!existed) logger.info({ dataDir: dir }, `creating a new store in ${dir}`);
  return existed;
}
