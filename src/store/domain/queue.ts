/**
 * The outbound queue's state over the db port: entries, leases (a claim is atomic because the due
 * rows are selected and leased in one write transaction), attempts, admin operations.
 */
import type { QueueRow } from "../db/port.ts";
import {
  type Id,
  type QueueAttemptResult,
  type QueueClaim,
  type QueueEntry,
  type QueueInput,
  type QueueRecipient,
  StoreError,
} from "../types.ts";
import { type DomainDeps, write } from "./context.ts";

export function toQueueEntry(r: QueueRow): QueueEntry {
  let recipients: QueueRecipient[] = [];
  try {
    recipients = JSON.parse(r.recipients) as QueueRecipient[];
  } catch {
    recipients = [];
  }
  return {
    id: r.id,
    accountId: r.accountId,
    mailFrom: r.mailFrom,
    recipients,
    envid: r.envid,
    ret: r.ret === "FULL" || r.ret === "HDRS" ? r.ret : null,
    size: r.size,
    status: r.status === "sent" || r.status === "failed" ? r.status : "queued",
    attempts: r.attempts,
    nextAttemptAt: new Date(r.nextAttemptAt),
    lastError: r.lastError,
    createdAt: new Date(r.createdAt),
    held: r.held,
    leaseOwner: r.leaseOwner,
    leaseUntil: r.leaseUntil === null ? null : new Date(r.leaseUntil),
  };
}

export class Queue {
  readonly #d: DomainDeps;

  constructor(deps: DomainDeps) {
    this.#d = deps;
  }

  async enqueueOutbound(input: QueueInput): Promise<QueueEntry> {
    const max = this.#d.maxMessageSize;
    if (input.recipients.length === 0) throw new StoreError("INVALID", "no recipients");
    if (input.message.byteLength > max)
      throw new StoreError("TOOBIG", `message exceeds the size limit of ${max} octets`);
    const id = await write(this.#d, async ({ tx }) =>
      tx.queue.insert({
        accountId: input.accountId,
        mailFrom: input.mailFrom,
        recipients: input.recipients,
        envid: input.envid ?? null,
        ret: input.ret ?? null,
        message: input.message,
        now: Date.now(),
      }),
    );
    const row = await this.#d.db.read((q) => q.queue.get(id));
    if (!row) throw new StoreError("NOTFOUND", "queue entry vanished");
    return toQueueEntry(row);
  }

  async listQueue(): Promise<QueueEntry[]> {
    return (await this.#d.db.read((q) => q.queue.list())).map(toQueueEntry);
  }

  getQueuedMessage(id: Id): Promise<Uint8Array | null> {
    return this.#d.db.read((q) => q.queue.message(id));
  }

  async getQueueEntry(id: Id): Promise<QueueEntry | null> {
    const row = await this.#d.db.read((q) => q.queue.get(id));
    return row ? toQueueEntry(row) : null;
  }

  async claimOutbound(o: {
    owner: string;
    leaseMs: number;
    limit: number;
    now?: number;
  }): Promise<QueueClaim[]> {
    const now = o.now ?? Date.now();
    const until = now + o.leaseMs;
    // one write transaction: select + lease are atomic across processes
    const due = await write(this.#d, async ({ tx }) => {
      const rows = await tx.queue.due(now, Math.max(1, o.limit));
      for (const d of rows) {
        await tx.queue.lease(d.row.id, o.owner, until);
        d.row.leaseOwner = o.owner;
        d.row.leaseUntil = until;
      }
      return rows;
    });
    return due.map((d) => ({ entry: toQueueEntry(d.row), message: d.message }));
  }

  async finishOutbound(id: Id, owner: string, r: QueueAttemptResult): Promise<"done" | "requeued" | "lost"> {
    return write(this.#d, async ({ tx }) => {
      const cur = await tx.queue.get(id);
      if (!cur || cur.leaseOwner !== owner) return "lost";
      const open = r.recipients.some((x) => !x.state || x.state === "pending" || x.state === "deferred");
      if (!open) {
        await tx.queue.delete(id);
        return "done";
      }
      await tx.queue.recordAttempt(id, {
        recipients: r.recipients,
        nextAttemptAt: r.nextAttemptAt.getTime(),
        lastError: r.lastError,
      });
      return "requeued";
    });
  }

  async releaseOutboundLease(id: Id, owner: string): Promise<void> {
    await write(this.#d, async ({ tx }) => {
      await tx.queue.releaseLease(id, owner);
    });
  }

  renewOutboundLease(id: Id, owner: string, leaseMs: number): Promise<boolean> {
    return write(this.#d, async ({ tx }) => tx.queue.renewLease(id, owner, Date.now() + leaseMs));
  }

  countOutbound(accountId: Id | null): Promise<{ total: number; account: number }> {
    return this.#d.db.read((q) => q.queue.count(accountId));
  }

  updateOutbound(id: Id, op: "retry" | "hold" | "release"): Promise<boolean> {
    const patch =
      op === "hold"
        ? { held: true }
        : op === "release"
          ? { held: false }
          : { held: false, nextAttemptAt: Date.now() };
    return write(this.#d, async ({ tx }) => tx.queue.set(id, patch));
  }

  deleteOutbound(id: Id): Promise<boolean> {
    return write(this.#d, async ({ tx }) => tx.queue.delete(id));
  }
}
