/**
 * The file adapter of the locks port (port.ts): one lock file per lease name under a directory
 * of the data dir (`<dir>/pop3/42`), shared by the server's worker processes and the CLI of
 * one host. Used for the POP3 maildrop lock (RFC 1939 §8: "the POP3 server ... acquires an
 * exclusive-access lock on the maildrop"; RFC 2449 §8.1.2 [IN-USE] when it cannot).
 *
 * A lock file is created with O_CREAT|O_EXCL holding "pid hostname token expiresAt owner". It is
 * stale (free) when its lease expired, when its pid is not alive on this host (crashed process),
 * or when it is garbage; a stale file is taken over: renamed away to a unique name (atomic), its
 * content re-checked, and the lock created again with O_EXCL. Only the holder (matching token)
 * renews or removes the file. Within one process, held tokens are tracked so that a reused pid
 * cannot look stale to itself. Files of older versions ("pid hostname token") never expire.
 */
import { randomBytes } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { checkLeaseName, type Lease, type LockService } from "./port.ts";

const held = new Set<string>(); // tokens held by this process
let exitHookInstalled = false;
const heldFiles = new Map<string, string>(); // path → token, removed on process exit

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const [path, token] of heldFiles) removeIfOurs(path, token);
  });
}

function readLock(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

function tokenOf(content: string): string | undefined {
  return content.trim().split(" ")[2];
}

function removeIfOurs(path: string, token: string): void {
  const content = readLock(path);
  if (content !== null && tokenOf(content) === token) {
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** is the lock described by `content` held by a live session? */
function isLive(content: string, now = Date.now()): boolean {
  const [pidStr, host, token, expires] = content.trim().split(" ");
  const pid = Number(pidStr);
  if (!Number.isInteger(pid) || pid <= 0 || !token) return false; // garbage (e.g. half-written): stale
  if (expires !== undefined && !(Number(expires) > now)) return false; // lease expired (or bad)
  if (host !== hostname()) return true; // cannot check another host's processes: until it expires
  if (pid === process.pid) return held.has(token);
  return pidAlive(pid);
}

function tryCreate(path: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** owner text in the file: no spaces or line breaks (bounded length) */
function ownerField(owner: string): string {
  return owner.replace(/[^\x21-\x7e]/g, "_").slice(0, 200) || "-";
}

export class FileLocks implements LockService {
  readonly dir: string;
  readonly #dirsMade = new Set<string>();

  constructor(dir: string) {
    this.dir = dir;
  }

  async acquire(name: string, owner: string, ttlMs: number): Promise<Lease | null> {
    return this.acquireSync(name, owner, ttlMs);
  }

  /** the same, synchronously (lock files are local and small) */
  acquireSync(name: string, owner: string, ttlMs: number): Lease | null {
    const path = join(this.dir, ...checkLeaseName(name));
    const parent = dirname(path);
    if (!this.#dirsMade.has(parent)) {
      mkdirSync(parent, { recursive: true, mode: 0o700 });
      this.#dirsMade.add(parent);
    }
    const token = randomBytes(12).toString("hex");
    const who = ownerField(owner);
    const content = (expiresAt: number) => `${process.pid} ${hostname()} ${token} ${expiresAt} ${who}`;
    // at most: create, or take over one stale file and create again
    for (let attempt = 0; attempt < 3; attempt++) {
      const expiresAt = Date.now() + ttlMs;
      if (tryCreate(path, content(expiresAt))) {
        held.add(token);
        heldFiles.set(path, token);
        installExitHook();
        return this.#lease(name, owner, path, token, expiresAt, content);
      }
      const existing = readLock(path);
      if (existing === null) continue; // released meanwhile: retry
      if (isLive(existing)) return null;
      // stale: move it aside atomically, then make sure we moved the stale one, not a fresh lock
      const aside = `${path}.stale.${token}`;
      try {
        renameSync(path, aside);
      } catch {
        continue; // someone else took it over first
      }
      const moved = readLock(aside);
      if (moved !== existing && moved !== null && isLive(moved)) {
        // a fresh lock was created between our read and rename: put it back, report in use
        try {
          renameSync(aside, path);
        } catch {
          // cannot restore; its holder will still release by token (file missing is harmless)
        }
        return null;
      }
      try {
        unlinkSync(aside);
      } catch {
        // gone
      }
    }
    return null;
  }

  #lease(
    name: string,
    owner: string,
    path: string,
    token: string,
    expiresAt: number,
    content: (expiresAt: number) => string,
  ): Lease {
    let released = false;
    const lease = {
      name,
      owner,
      expiresAt,
      async renew(ttlMs: number): Promise<boolean> {
        if (released) return false;
        const cur = readLock(path);
        if (cur === null || tokenOf(cur) !== token) return false; // taken over after expiry
        const next = Date.now() + ttlMs;
        // replaced atomically: a reader never sees a half-written file
        const tmp = `${path}.renew.${token}`;
        try {
          const fd = openSync(tmp, "w", 0o600);
          try {
            writeSync(fd, content(next));
          } finally {
            closeSync(fd);
          }
          renameSync(tmp, path);
        } catch {
          return false;
        }
        lease.expiresAt = next;
        return true;
      },
      async release(): Promise<void> {
        if (released) return;
        released = true;
        removeIfOurs(path, token);
        held.delete(token);
        if (heldFiles.get(path) === token) heldFiles.delete(path);
      },
    };
    return lease;
  }
}
