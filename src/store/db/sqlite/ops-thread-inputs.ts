/** The db port's THREAD/SORT input operations on SQLite (table `thread_input`, migration 18). */
import type { ThreadInputColumns, ThreadInputsWrite } from "../port-thread-inputs.ts";
import type { SqliteHandle } from "./sqlite.ts";

export function sqliteThreadInputOps(h: SqliteHandle): { threadInputs: ThreadInputsWrite } {
  return {
    threadInputs: {
      ofMailbox(mailboxId, version) {
        // one query per mailbox: the message rows joined with their blob's inputs
        const rows = h
          .stmt(
            `SELECT m.uid, m.internal_date, m.blob_id, b.sha256, t.blob_id, t.message_id, t.refs,
                    t.subject, t.reply, t.sent_date
             FROM message m JOIN blob b ON b.id = m.blob_id
             LEFT JOIN thread_input t ON t.blob_id = m.blob_id AND t.version = ?
             WHERE m.mailbox_id = ? ORDER BY m.uid`,
          )
          .raw(true)
          .all(version, mailboxId) as unknown[][];
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
      },
      put(blobId, version, row) {
        h.stmt(
          `INSERT INTO thread_input (blob_id, version, message_id, refs, subject, reply, sent_date)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (blob_id) DO UPDATE SET version = excluded.version,
             message_id = excluded.message_id, refs = excluded.refs, subject = excluded.subject,
             reply = excluded.reply, sent_date = excluded.sent_date`,
        ).run(blobId, version, row.messageId, row.refs, row.subject, row.reply ? 1 : 0, row.sentDate);
      },
    },
  };
}
