/**
 * The in-process part of every feed adapter (hub.ts, postgres.ts): listeners per account, each
 * called on its own so that one failing listener cannot starve the others or turn a committed
 * write into an error; and the one check of a beacon that came from another process or node.
 */
import { EventEmitter } from "node:events";
import type { Id } from "../types.ts";
import { MAX_ORIGIN } from "./origin.ts";
import type { Beacon } from "./port.ts";

/** a well-formed beacon (anything from outside the process is checked before delivery) */
export function isBeacon(v: unknown): v is Beacon {
  if (typeof v !== "object" || v === null) return false;
  const b = v as Record<string, unknown>;
  return (
    typeof b.accountId === "number" &&
    (b.mailboxId === null || typeof b.mailboxId === "number") &&
    typeof b.modseq === "string" &&
    /^[0-9]{1,20}$/.test(b.modseq) &&
    (b.metadata === undefined ||
      (Array.isArray(b.metadata) && b.metadata.every((n: unknown) => typeof n === "string"))) &&
    (b.origin === undefined || (typeof b.origin === "string" && b.origin.length <= MAX_ORIGIN))
  );
}

export function defaultListenerError(err: unknown): void {
  process.emitWarning(`change-feed listener failed: ${String(err)}`, "PostkontorFeedWarning");
}

export class LocalSubscribers {
  readonly #emitter = new EventEmitter();
  readonly #onError: (err: unknown) => void;

  constructor(onListenerError: (err: unknown) => void = defaultListenerError) {
    this.#emitter.setMaxListeners(0);
    this.#onError = onListenerError;
  }

  subscribe(accountId: Id, listener: (b: Beacon) => void): () => void {
    const key = String(accountId);
    this.#emitter.on(key, listener);
    return () => {
      this.#emitter.off(key, listener);
    };
  }

  /** calls the account's listeners synchronously */
  deliver(b: Beacon): void {
    for (const l of this.#emitter.listeners(String(b.accountId)) as Array<(b: Beacon) => void>) {
      try {
        l(b);
      } catch (err) {
        this.#onError(err);
      }
    }
  }

  /** the accounts that have at least one listener */
  accounts(): Id[] {
    return this.#emitter.eventNames().map((k) => Number(k));
  }

  clear(): void {
    this.#emitter.removeAllListeners();
  }
}
