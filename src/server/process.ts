/** What the single process and the cluster primary share: preparation, logging, signals. */
import type { ResolvedConfig } from "../config/index.ts";
import { runOnThread } from "../net/one-shot-thread.ts";
import { describeGenerated, ensureSelfSignedCert } from "../net/tls.ts";
import type { Logger } from "./log.ts";
import { checkHostname, secureDataDir } from "./preflight.ts";
import type { PrepareNote } from "./prepare-thread.ts";
import type { BoundAddress } from "./services.ts";

/**
 * Work the primary does once before any worker starts: host name check, data directory (created
 * 0700, modes tightened: preflight.ts), migrations, certificate.
 */
export async function prepare(
  config: ResolvedConfig,
  logger: Logger,
  opts: { storeOnThread?: boolean } = {},
): Promise<void> {
  checkHostname(config, logger);
  secureDataDir(config, logger);
  if (!config.tls.cert && !config.tls.key) {
    const r = await ensureSelfSignedCert(config.paths.tlsDir, config.hostname);
    if (r.generated) logger.info({ certPath: r.certPath }, describeGenerated(r, config.hostname));
  }
  // runs migrations once; imports DKIM key files of older versions into the store
  if (opts.storeOnThread) return prepareStoreOnThread(config, logger);
  const { openConfiguredStore } = await import("./store.ts");
  const store = await openConfiguredStore(config, false, false, (fields, msg) => logger.info(fields, msg));
  await store.close();
}

/**
 * The same store step on a short-lived thread (prepare-thread.ts): the store, its SQL builder and
 * the database driver load into that thread's heap and go with it, so a cluster primary — which
 * opens no store afterwards — does not keep them (docs/architecture.md "Process layout").
 */
function prepareStoreOnThread(config: ResolvedConfig, logger: Logger): Promise<void> {
  return runOnThread(
    new URL("./prepare-thread.ts", import.meta.url),
    { config },
    "store preparation",
    (n) => {
      const note = n as PrepareNote;
      logger.info(note.fields, note.msg);
    },
  );
}

export function logAddresses(logger: Logger, addresses: BoundAddress[], seen: Set<string>): void {
  for (const a of addresses) {
    const key = `${a.protocol} ${a.address}`;
    if (seen.has(key)) continue;
    seen.add(key);
    logger.info(
      { protocol: a.protocol, address: a.address, tls: a.tls },
      `${a.protocol} listening on ${a.address}`,
    );
  }
}

export function onShutdownSignal(handler: (signal: string) => void): void {
  for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => handler(sig));
}

/** p, or "timeout" after ms (the timer does not keep the process alive) */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | "timeout"> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => resolve("timeout"), ms);
    t.unref();
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
