/**
 * The db port's operations for per-account JMAP objects (re-exported by db/port.ts, whose rules
 * apply): rows (account, type, id) with the seq of their last change and of their creation;
 * `data` null = destroyed (a tombstone for `/changes`).
 */
import type { Maybe } from "./port.ts";

export interface JmapObjectRow {
  id: string;
  seq: number;
  createdSeq: number;
  data: string | null;
}

export interface JmapObjectsRead {
  /** live rows (data not null), ordered by id */
  list(accountId: number, type: string): Maybe<JmapObjectRow[]>;
  /** the highest seq of the type (0 when none) */
  maxSeq(accountId: number, type: string): Maybe<number>;
  /** rows changed after seq, ordered by seq, at most limit */
  since(accountId: number, type: string, seq: number, limit: number): Maybe<JmapObjectRow[]>;
}

export interface JmapObjectsWrite extends JmapObjectsRead {
  /** inserts or replaces (a replaced row keeps its createdSeq) */
  put(accountId: number, type: string, id: string, seq: number, data: string): Maybe<void>;
  /** marks a row destroyed at seq; false = no live row */
  destroy(accountId: number, type: string, id: string, seq: number): Maybe<boolean>;
}
