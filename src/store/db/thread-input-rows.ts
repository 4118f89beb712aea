/**
 * The one row → columns form of `ThreadInputsRead.ofMailbox` (db/port-thread-inputs.ts), shared by
 * the SQLite and PostgreSQL adapters: both select the same ten columns in the same order
 * (m.uid, m.internal_date, m.blob_id, b.sha256, t.blob_id, t.message_id, t.refs, t.subject,
 * t.reply, t.sent_date), t.* NULL when the blob has no row of the asked version.
 */
import type { ThreadInputColumns } from "./port-thread-inputs.ts";

export function threadInputColumns(rows: readonly unknown[][]): ThreadInputColumns {
  const n = rows.length;
  const c: ThreadInputColumns = {
    uid: new Array(n),
    internalDate: new Array(n),
    blobId: new Array(n),
    sha256: new Array(n),
    has: new Uint8Array(n),
    messageId: new Array(n),
    refs: new Array(n),
    subject: new Array(n),
    reply: new Uint8Array(n),
    sentDate: new Array(n),
  };
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    c.uid[i] = Number(r[0]);
    c.internalDate[i] = Number(r[1]);
    c.blobId[i] = Number(r[2]);
    c.sha256[i] = String(r[3]);
    const has = r[4] !== null;
    c.has[i] = has ? 1 : 0;
    c.messageId[i] = has && r[5] !== null ? String(r[5]) : null;
    c.refs[i] = has ? String(r[6]) : "";
    c.subject[i] = has ? String(r[7]) : "";
    c.reply[i] = has && Number(r[8]) !== 0 ? 1 : 0;
    c.sentDate[i] = has && r[9] !== null ? Number(r[9]) : null;
  }
  return c;
}
