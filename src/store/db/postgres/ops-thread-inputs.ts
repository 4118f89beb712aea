/** The db port's THREAD/SORT input operations on PostgreSQL (table `thread_input`, migration 18). */
import type { ThreadInputsWrite } from "../port-thread-inputs.ts";
import { threadInputColumns } from "../thread-input-rows.ts";
import { type Exec, writeLater } from "./pg.ts";

export function pgThreadInputOps(x: Exec): { threadInputs: ThreadInputsWrite } {
  return {
    threadInputs: {
      ofMailbox: async (mailboxId, version) => {
        // one query per mailbox: the message rows joined with their blob's inputs
        const rows = (
          await x(
            `SELECT m.uid, m.internal_date, m.blob_id, b.sha256, t.blob_id, t.message_id, t.refs,
                    t.subject, t.reply, t.sent_date
             FROM message m JOIN blob b ON b.id = m.blob_id
             LEFT JOIN thread_input t ON t.blob_id = m.blob_id AND t.version = $1
             WHERE m.mailbox_id = $2 ORDER BY m.uid`,
            [version, mailboxId],
          )
        ).rows;
        return threadInputColumns(rows);
      },
      put: async (blobId, version, row) => {
        await writeLater(
          x,
          "thread_input",
          `INSERT INTO thread_input (blob_id, version, message_id, refs, subject, reply, sent_date)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (blob_id) DO UPDATE SET version = excluded.version,
             message_id = excluded.message_id, refs = excluded.refs, subject = excluded.subject,
             reply = excluded.reply, sent_date = excluded.sent_date`,
          [blobId, version, row.messageId, row.refs, row.subject, row.reply ? 1 : 0, row.sentDate],
        );
      },
    },
  };
}
