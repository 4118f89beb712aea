/**
 * The origin of a write: which client session caused it. A session runs each command inside
 * withOrigin(id, …); the store's write transactions read currentOrigin() when they start and put
 * it into their beacons (port.ts Beacon.origin), so a subscriber can tell its own changes from
 * everyone else's — IMAP NOTIFY does not report a client's own changes (RFC 5465 §5).
 * AsyncLocalStorage carries the id across the command's awaits; no store API takes it as an
 * argument. Unset (delivery, CLI, HTTP) = no origin.
 */
import { AsyncLocalStorage } from "node:async_hooks";

/** at most this many characters travel in a beacon (hub.ts validates it) */
export const MAX_ORIGIN = 64;

const als = new AsyncLocalStorage<string>();

export function withOrigin<T>(origin: string, fn: () => T): T {
  return als.run(origin.slice(0, MAX_ORIGIN), fn);
}

export function currentOrigin(): string | undefined {
  return als.getStore();
}

/**
 * Runs fn with no origin. The store publishes beacons this way: local subscribers run
 * synchronously inside publish, and whatever they start (another session's IDLE refresh or
 * NOTIFY round, which may write) must not carry the committing session's origin.
 */
export function withoutOrigin<T>(fn: () => T): T {
  return als.exit(fn);
}
