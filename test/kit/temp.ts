/** Temporary directories for tests (removed by cleanup(), or when the test process exits). */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function tempDir(prefix = "pk-test-"): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const atExit = new Set<string>();

/**
 * tempDir for a test that keeps the directory to its end (its servers and CLI runs use it until
 * then): removed when the test process exits, so no run leaves it behind in the temp dir.
 */
export function tempDirUntilExit(prefix = "pk-test-"): string {
  const { dir } = tempDir(prefix);
  if (atExit.size === 0) {
    process.once("exit", () => {
      for (const d of atExit) rmSync(d, { recursive: true, force: true });
    });
  }
  atExit.add(dir);
  return dir;
}

/** Rejects with a labelled error when p does not settle within ms. */
export function within<T>(p: Promise<T>, ms: number, label: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${label}`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (err) => {
        clearTimeout(t);
        reject(err);
      },
    );
  });
}

/** Polls cond every 10 ms until it holds; rejects after timeoutMs (bounded). */
export async function waitUntil(cond: () => boolean, timeoutMs: number, label: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`condition not reached within ${timeoutMs} ms: ${label}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
