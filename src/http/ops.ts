/**
 * Operations endpoints: `/healthz` (the store answers a query) and the Prometheus `/metrics` page
 * (text exposition format 0.0.4) for clients in http.metrics_networks only (404 to anyone else,
 * so the page's existence is not advertised). The counters are summed over every worker process
 * (src/server/metrics-ipc.ts); queue size and age and the store's answer time are read by the
 * process serving the scrape.
 */
import type { Hono } from "hono";
import { type Cidr, inCidrs } from "../net/proxy.ts";
import type { MetricsSource } from "../server/metrics-ipc.ts";
import type { Store } from "../store/types.ts";
import { type Env, remoteAddress } from "./middleware.ts";

/** The store's answer time for one small read, in seconds; null when it failed. */
async function probeStore(store: Store): Promise<number | null> {
  const t0 = performance.now();
  try {
    await store.getDomain("healthz.invalid");
    return (performance.now() - t0) / 1000;
  } catch {
    return null;
  }
}

const HELP: Record<string, [type: "counter" | "gauge", help: string]> = {
  postkontor_connections_total: ["counter", "Connections accepted, by listener protocol."],
  postkontor_logins_total: ["counter", "Password checks, by protocol and result (ok, failed)."],
  postkontor_commands_total: ["counter", "Protocol commands handled, by protocol."],
  postkontor_deliveries_total: ["counter", "Local deliveries, by result and refusal reason."],
  postkontor_http_requests_total: ["counter", "HTTP requests answered, by status class."],
  postkontor_http_refused_total: ["counter", "HTTP requests refused by a limit, by reason."],
  postkontor_backups_total: [
    "counter",
    "Scheduled backups, by result (ok, failed; skipped: another node of a PostgreSQL cluster took the day's).",
  ],
  postkontor_processes_scraped: ["gauge", "Server processes whose counters this scrape includes."],
  postkontor_queue_size: ["gauge", "Entries in the outbound queue."],
  postkontor_queue_oldest_age_seconds: ["gauge", "Age of the oldest outbound queue entry (0 when empty)."],
  postkontor_store_up: ["gauge", "1 when the store answered the probe query."],
  postkontor_store_probe_seconds: ["gauge", "Answer time of the store's probe query."],
};

/** Renders counters and gauges (keys in `name{labels}` form) as the text exposition format. */
export function renderMetrics(values: Record<string, number>): string {
  const byName = new Map<string, string[]>();
  for (const key of Object.keys(values).sort()) {
    const brace = key.indexOf("{");
    const name = brace < 0 ? key : key.slice(0, brace);
    let lines = byName.get(name);
    if (!lines) byName.set(name, (lines = []));
    lines.push(`${key} ${values[key]}`);
  }
  const out: string[] = [];
  for (const [name, lines] of byName) {
    const h = HELP[name];
    if (h) out.push(`# HELP ${name} ${h[1]}`, `# TYPE ${name} ${h[0]}`);
    out.push(...lines);
  }
  return `${out.join("\n")}\n`;
}

export function mountOps(
  app: Hono<Env>,
  o: { store: Store; metrics: MetricsSource; metricsNetworks: readonly Cidr[] },
): void {
  app.get("/healthz", async (c) => {
    const t = await probeStore(o.store);
    c.header("Cache-Control", "no-store");
    return t === null ? c.text("store unreachable\n", 503) : c.text("ok\n");
  });
  app.get("/metrics", async (c) => {
    if (!inCidrs(remoteAddress(c), o.metricsNetworks)) return c.notFound();
    const [{ counters, processes }, probe, queue] = await Promise.all([
      o.metrics(),
      probeStore(o.store),
      o.store.listQueue().catch(() => null),
    ]);
    const values: Record<string, number> = { ...counters, postkontor_processes_scraped: processes };
    values.postkontor_store_up = probe === null ? 0 : 1;
    if (probe !== null) values.postkontor_store_probe_seconds = Math.round(probe * 1e6) / 1e6;
    if (queue) {
      values.postkontor_queue_size = queue.length;
      const oldest = queue.reduce((m, e) => Math.min(m, e.createdAt.getTime()), Date.now());
      values.postkontor_queue_oldest_age_seconds = Math.max(0, Math.round((Date.now() - oldest) / 1000));
    }
    c.header("Cache-Control", "no-store");
    return c.body(renderMetrics(values), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
  });
}
