/**
 * EventSource push (RFC 8620 §7.3): `types` (comma list or "*"), `closeafter` (state | no),
 * `ping` (seconds; 0 = none). Driven by the store's change feed: a beacon for the account (from
 * any process and any protocol — an IMAP STORE too) makes the stream compare each requested
 * type's changes since the last state it sent (the account change log) and send a StateChange
 * naming the types that changed.
 */
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { Account, ChangeKind } from "../../store/types.ts";
import { type JmapDeps, jmapAccountId } from "./types.ts";

const KINDS: Array<[string, ChangeKind]> = [
  ["Email", "email"],
  ["Mailbox", "mailbox"],
  ["Thread", "thread"],
  ["VacationResponse", "vacationResponse"],
];

export function eventSource(c: Context, deps: JmapDeps, account: Account): Response {
  const q = c.req.query();
  const typesArg = q.types ?? "*";
  const types = typesArg === "*" ? KINDS : KINDS.filter(([t]) => typesArg.split(",").includes(t));
  const closeAfter = q.closeafter === "state";
  const pingRaw = q.ping ?? "0";
  if (!/^[0-9]{1,6}$/.test(pingRaw)) {
    return c.json({ type: "about:blank", status: 400, detail: "ping must be a number of seconds" }, 400);
  }
  const minPing = Math.ceil(deps.config.jmap.event_source_ping_min / 1000);
  const ping = Number(pingRaw) === 0 ? 0 : Math.max(minPing, Number(pingRaw));
  const store = deps.store;
  return streamSSE(c, async (stream) => {
    let wake: (() => void) | null = null;
    let dirty = false;
    // subscribed before the first await: the stream misses no beacon once the response is sent
    const unsubscribe = store.feed.subscribe(account.id, () => {
      dirty = true;
      wake?.();
    });
    let state = await store.currentState(account.id);
    // an SSE comment: the response starts (headers out) once the stream follows the account
    await stream.write(": subscribed\n\n");
    const timer =
      ping > 0
        ? setInterval(
            // a ping racing the client's disconnect must not become an unhandled rejection
            () =>
              stream.writeSSE({ event: "ping", data: JSON.stringify({ interval: ping }) }).catch(() => {}),
            ping * 1000,
          )
        : null;
    stream.onAbort(() => {
      wake?.();
    });
    const onShutdown = () => wake?.();
    deps.shutdown?.addEventListener("abort", onShutdown);
    const over = () => stream.aborted || deps.shutdown?.aborted === true;
    try {
      while (!over()) {
        if (!dirty) await new Promise<void>((r) => (wake = r));
        wake = null;
        if (over()) break;
        dirty = false;
        const now = await store.currentState(account.id);
        if (now === state) continue;
        const changed: Record<string, string> = {};
        for (const [name, kind] of types) {
          const r = await store.changesSinceState(account.id, kind, state, 1);
          if (r === "cannotCalculateChanges" || r.created.length + r.updated.length + r.destroyed.length > 0)
            changed[name] = now;
        }
        state = now;
        if (Object.keys(changed).length === 0) continue;
        try {
          await stream.writeSSE({
            event: "state",
            data: JSON.stringify({ "@type": "StateChange", changed: { [jmapAccountId(account)]: changed } }),
          });
        } catch {
          break; // the client went away
        }
        if (closeAfter) break;
      }
    } finally {
      deps.shutdown?.removeEventListener("abort", onShutdown);
      unsubscribe();
      if (timer) clearInterval(timer);
    }
  });
}
