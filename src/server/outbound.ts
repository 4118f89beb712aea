/**
 * Starts the outbound queue runner (src/smtp/queue) from the config: in the single process, or in
 * the cluster worker in slot 0 (cluster.ts; exactly one runner per server; several servers on one store are still
 * safe because entries are claimed under a lease).
 */
import { readFileSync } from "node:fs";
import type { ResolvedConfig } from "../config/index.ts";
import {
  type ClientOptions,
  createMtaSts,
  createQueueRunner,
  createResolver,
  type QueueRunner,
} from "../smtp/queue/index.ts";
import type { Store } from "../store/types.ts";
import type { Logger } from "./index.ts";
import { openConfiguredStore } from "./store.ts";

export interface OutboundService {
  runner: QueueRunner | null;
  /** stops the runner (waits for the current pass up to timeoutMs); closes the store it opened */
  stop(timeoutMs: number): Promise<void>;
}

/** outbound.smarthost "host:port" ([v6]:port) → the client's relay settings; "" = direct delivery */
export function smarthost(o: ResolvedConfig["outbound"]): ClientOptions["smarthost"] {
  const v = o.smarthost.trim();
  if (v === "") return null;
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(v) ?? /^([^:]+):(\d+)$/.exec(v);
  const implicitTls = o.smarthost_tls === "implicit";
  const host = m ? m[1]! : v;
  const port = m ? Number(m[2]) : implicitTls ? 465 : 587;
  return {
    host,
    port,
    implicitTls,
    ...(o.smarthost_user ? { user: o.smarthost_user, password: o.smarthost_password } : {}),
  };
}

export async function startOutbound(
  config: ResolvedConfig,
  logger: Logger,
  store?: Store,
): Promise<OutboundService> {
  const o = config.outbound;
  if (!o.enabled) return { runner: null, stop: async () => {} };
  const own = store ? null : await openConfiguredStore(config);
  const s = store ?? own!;
  const resolver = createResolver(o.resolver, config.dns);
  const relay = smarthost(o);
  const runner = createQueueRunner({
    store: s,
    logger: logger.child({ protocol: "outbound" }),
    hostname: config.hostname,
    resolver,
    port: o.port,
    pollIntervalMs: o.poll_interval,
    concurrency: o.concurrency,
    retryBaseMs: o.retry_base,
    retryMaxMs: o.retry_max,
    lifetimeMs: o.lifetime,
    leaseMs: o.lease,
    connectTimeoutMs: o.connect_timeout,
    timeoutMs: o.timeout,
    dkim: o.dkim ? { keys: s.keys } : null,
    smarthost: relay,
    // RFC 8461 applies to MX delivery, not to a configured relay
    mtaSts:
      o.mta_sts && !relay
        ? createMtaSts({
            resolver,
            ...(o.tls_ca ? { ca: [readFileSync(o.tls_ca, "utf8")] } : {}),
            timeoutMs: o.connect_timeout,
          })
        : null,
    delayWarningMs: o.delay_warning,
    reuseIdleMs: o.reuse_idle,
    reuseMaxMessages: o.reuse_max_messages,
    ...(o.tls_ca ? { ca: [readFileSync(o.tls_ca, "utf8")] } : {}),
  });
  await runner.start();
  return {
    runner,
    async stop(timeoutMs) {
      let t: NodeJS.Timeout | undefined;
      await Promise.race([
        runner.stop(),
        new Promise<void>((r) => {
          t = setTimeout(r, timeoutMs);
          t.unref();
        }),
      ]);
      clearTimeout(t);
      // entries still being delivered keep their lease; the next start releases it (pid gone)
      if (own) await own.close().catch(() => {});
    },
  };
}
