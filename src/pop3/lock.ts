/**
 * The POP3 maildrop lock (RFC 1939 §8: "the POP3 server ... acquires an exclusive-access lock on
 * the maildrop"; RFC 2449 §8.1.2 [IN-USE] when it cannot). One POP3 session per account, across the
 * server's worker processes and the CLI.
 *
 * FileLocker: an exclusive lock file `<dir>/<accountId>` created with O_CREAT|O_EXCL holding
 * "pid hostname token". A file whose pid is not alive on this host is stale (crashed process) and is
 * taken over: it is renamed away to a unique name (atomic), its content re-checked, and the lock
 * created again with O_EXCL. Only the holder (matching token) removes the file on release.
 * Within one process, held tokens are tracked so that a reused pid cannot look stale to itself.
 * Behind the MaildropLocker interface so the lock can move into the store (a lock table) later.
 */
import { randomBytes } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

export interface MaildropLock {
  release(): void;
}

export interface MaildropLocker {
  /** the lock, or null when another session holds it */
  acquire(accountId: number): MaildropLock | null;
}

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

function removeIfOurs(path: string, token: string): void {
  const content = readLock(path);
  if (content !== null && content.split(" ")[2] === token) {
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
function isLive(content: string): boolean {
  const [pidStr, host, token] = content.trim().split(" ");
  const pid = Number(pidStr);
  if (!Number.isInteger(pid) || pid <= 0 || !token) return false; // garbage (e.g. half-written): stale
  if (host !== hostname()) return true; // cannot check another host's processes: assume live
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

export function createFileLocker(dir: string): MaildropLocker {
  let dirMade = false;
  return {
    acquire(accountId) {
      if (!dirMade) {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        dirMade = true;
      }
      const path = join(dir, String(accountId));
      const token = randomBytes(12).toString("hex");
      const content = `${process.pid} ${hostname()} ${token}`;
      // at most: create, or take over one stale file and create again
      for (let attempt = 0; attempt < 3; attempt++) {
        if (tryCreate(path, content)) {
          held.add(token);
          heldFiles.set(path, token);
          installExitHook();
          let released = false;
          return {
            release() {
              if (released) return;
              released = true;
              removeIfOurs(path, token);
              held.delete(token);
              if (heldFiles.get(path) === token) heldFiles.delete(path);
            },
          };
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
    },
  };
}
