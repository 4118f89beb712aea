/**
 * Messages for the THREAD transcripts (thread.test.ts, thread-refs.test.ts): raw messages with
 * the threading headers, appended in batches through the store.
 */
import type { TestServer } from "./helpers.ts";

export interface Msg {
  subject: string;
  /** Date header; omitted: none (the internal date is used) */
  date?: string;
  id?: string;
  refs?: string;
  irt?: string;
  internal?: Date;
  flags?: string[];
}

export function raw(m: Msg): Buffer {
  let h = `From: a@example.org\r\nTo: b@example.com\r\nSubject: ${m.subject}\r\n`;
  if (m.date) h += `Date: ${m.date}\r\n`;
  if (m.id) h += `Message-ID: ${m.id}\r\n`;
  if (m.refs) h += `References: ${m.refs}\r\n`;
  if (m.irt) h += `In-Reply-To: ${m.irt}\r\n`;
  return Buffer.from(`${h}\r\nbody of ${m.subject}\r\n`);
}

export async function fill(t: TestServer, mailbox: string, msgs: Msg[]): Promise<number[]> {
  await t.store.createMailbox(t.accountId, mailbox);
  const mb = (await t.store.getMailbox(t.accountId, mailbox))!;
  const uids: number[] = [];
  for (let i = 0; i < msgs.length; i += 500) {
    const batch = msgs.slice(i, i + 500).map((m) => ({
      raw: raw(m),
      flags: m.flags ?? [],
      ...(m.internal ? { internalDate: m.internal } : {}),
    }));
    for (const r of await t.store.appendMany(t.accountId, mb.id, batch)) uids.push(r.uid);
  }
  return uids;
}

export const D = (day: number, time = "10:00:00 +0000") => `Mon, ${day} Jan 2024 ${time}`;
