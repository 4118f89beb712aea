/**
 * Process-wide counters for the Prometheus `/metrics` page (src/http/ops.ts): plain numbers in
 * each process, keyed by the metric name and its labels in exposition form
 * (`postkontor_logins_total{protocol="imap",result="ok"}`). Counting is one Map update; the
 * cluster primary sums every worker's snapshot on a scrape (src/server/metrics-ipc.ts).
 */

const counters = new Map<string, number>();

/** Prometheus label value escaping (text exposition format: backslash, quote, newline). */
function labelValue(v: string): string {
  return v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

/** `name{k="v",…}` (labels in the order given). */
export function metricKey(name: string, labels?: Record<string, string>): string {
  if (!labels) return name;
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${labelValue(v)}"`);
  return parts.length ? `${name}{${parts.join(",")}}` : name;
}

/** Adds n (default 1) to a counter. */
export function count(name: string, labels?: Record<string, string>, n = 1): void {
  const k = metricKey(name, labels);
  counters.set(k, (counters.get(k) ?? 0) + n);
}

/** This process's counters (a copy). */
export function snapshot(): Record<string, number> {
  return Object.fromEntries(counters);
}

/** Sums snapshots of several processes. */
export function sumSnapshots(all: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of all)
    for (const [k, v] of Object.entries(s)) if (typeof v === "number") out[k] = (out[k] ?? 0) + v;
  return out;
}
