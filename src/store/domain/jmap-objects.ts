/**
 * Per-account JMAP objects over the db port (api/jmap-objects.ts): one counter per (account,
 * type) — the highest seq of its rows — taken inside the write transaction, so the state string
 * is that number. `/changes` reads the rows changed after the client's state: created after it
 * and alive = created, created before it and alive = updated, created before it and gone =
 * destroyed (created and destroyed since: not mentioned, RFC 8620 §5.2).
 */
import type { JmapObject, JmapObjectChanges, JmapObjectStore } from "../api/jmap-objects.ts";
import { type Id, StoreError } from "../api/model.ts";
import type { JmapObjectRow } from "../db/port.ts";
import { type DomainDeps, write } from "./context.ts";

const MAX_TYPE = 64;
const MAX_ID = 255;

function parseState(s: string): number | null {
  if (!/^[0-9]{1,15}$/.test(s)) return null;
  return Number(s);
}

export class JmapObjects implements JmapObjectStore {
  readonly #d: DomainDeps;
  constructor(deps: DomainDeps) {
    this.#d = deps;
  }

  async listJmapObjects(accountId: Id, type: string): Promise<JmapObject[]> {
    const rows = await this.#d.db.read((q) => q.jmapObjects.list(accountId, type));
    return rows.map((r) => ({ id: r.id, data: r.data ?? "null" }));
  }

  async jmapObjectState(accountId: Id, type: string): Promise<string> {
    return String(await this.#d.db.read((q) => q.jmapObjects.maxSeq(accountId, type)));
  }

  async writeJmapObjects(
    accountId: Id,
    type: string,
    puts: JmapObject[],
    deletes: string[],
  ): Promise<string> {
    if (type.length === 0 || type.length > MAX_TYPE) throw new StoreError("INVALID", "bad JMAP object type");
    for (const p of puts)
      if (p.id.length === 0 || p.id.length > MAX_ID) throw new StoreError("INVALID", "bad JMAP object id");
    return write(this.#d, async ({ tx }) => {
      const seq = (await tx.jmapObjects.maxSeq(accountId, type)) + 1;
      for (const p of puts) await tx.jmapObjects.put(accountId, type, p.id, seq, p.data);
      for (const id of deletes) await tx.jmapObjects.destroy(accountId, type, id, seq);
      return String(seq);
    });
  }

  async jmapObjectChanges(
    accountId: Id,
    type: string,
    sinceState: string,
    maxChanges: number,
  ): Promise<JmapObjectChanges | "cannotCalculateChanges"> {
    const since = parseState(sinceState);
    if (since === null) return "cannotCalculateChanges";
    const { now, rows } = await this.#d.db.read(async (q) => ({
      now: await q.jmapObjects.maxSeq(accountId, type),
      rows: await q.jmapObjects.since(accountId, type, since, maxChanges + 1),
    }));
    if (since > now) return "cannotCalculateChanges";
    let take: JmapObjectRow[] = rows;
    let hasMore = false;
    if (rows.length > maxChanges) {
      hasMore = true;
      // never split one state: drop the rows of the last, partly read seq (unless it is the only one)
      const last = rows[maxChanges]!.seq;
      take = rows.slice(0, maxChanges).filter((r) => r.seq !== last);
      if (take.length === 0) take = rows.filter((r) => r.seq === last);
    }
    const out: JmapObjectChanges = {
      oldState: sinceState,
      newState: String(hasMore ? take[take.length - 1]!.seq : now),
      hasMoreChanges: hasMore,
      created: [],
      updated: [],
      destroyed: [],
    };
    for (const r of take) {
      if (r.createdSeq > since) {
        if (r.data !== null) out.created.push(r.id);
      } else if (r.data === null) out.destroyed.push(r.id);
      else out.updated.push(r.id);
    }
    return out;
  }
}
