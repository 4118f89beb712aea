/**
 * THREAD and SORT from the stored per-blob inputs (store/domain/thread-inputs.ts): the answers
 * equal those computed from the messages themselves (parse + References header, as before the
 * inputs were stored), with the rows written at append, with rows missing (messages stored before
 * the table existed: computed on the first THREAD and stored), and after COPY, MOVE, EXPUNGE and
 * REPLACE (RFC 8508).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type Database from "better-sqlite3";
import {
  formatThreads,
  orderedSubject,
  referencesThreads,
  refsThreads,
  type ThreadMessage,
} from "../../src/imap/server/threading.ts";
import { headerValues, parseDate, parseMessage, threadSubject } from "../../src/mime/index.ts";
import { openTestStore, type TestStore } from "../kit/store.ts";
import { Client, listenImap, PASS, USER } from "./helpers.ts";
import { D, raw } from "./thread-fixtures.ts";

const MSGS = [
  { subject: "lunch", date: D(3), id: "<1@x>" },
  { subject: "Re: lunch", date: D(4), id: "<2@x>", refs: "<1@x>" },
  { subject: "Re: lunch", date: D(6), id: "<3@x>", refs: "<1@x> junk <2@x>" },
  { subject: "Re: lunch", date: D(5, "09:00:00 -0300"), id: "<4@x>", irt: "<1@x> <zz@x>" },
  { subject: "=?UTF-8?Q?R=C3=A9port?=", date: D(1), id: "<5@x>" },
  { subject: "Re: gone", date: D(7), id: "<6@x>", refs: "<missing@x>" },
  { subject: "Fwd: gone", date: D(8), refs: "<missing@x>" },
  { subject: "RE: [list] report (fwd)", internal: new Date(Date.UTC(2024, 0, 2)), id: "<8@x>" },
  { subject: "lunch", date: "not a date", id: "<1@x>" },
  { subject: "loop", date: D(9), id: "<9@x>", refs: "<10@x>" },
  { subject: "Re: loop", date: D(10), id: "<10@x>", refs: "<9@x>" },
];

const MSG_ID = /<[^<>\s]{1,250}>/g;
const ids = (s: string | null): string[] => (s ? (s.match(MSG_ID) ?? []) : []);

/** the inputs as computed before they were stored: parse, References from the header */
function oracleMessage(uid: number, bytes: Uint8Array, internal: Date): ThreadMessage {
  const p = parseMessage(bytes);
  const s = threadSubject(p.envelope.subject ?? "");
  let references = ids(headerValues(bytes, p, "references").join(" "));
  if (references.length === 0) references = ids(p.envelope.inReplyTo).slice(0, 1);
  return {
    id: uid,
    date: parseDate(p.envelope.date) ?? internal.getTime(),
    subject: s.subject,
    reply: s.reply,
    messageId: ids(p.envelope.messageId)[0] ?? null,
    references,
  };
}

describe("THREAD/SORT from stored inputs", () => {
  let ts: TestStore;
  let db: Database.Database;
  let c: Client;
  let close: () => Promise<void>;
  let accountId: number;

  before(async () => {
    ts = await openTestStore({
      prefix: "pk-thrin-",
      accounts: [[USER, PASS]],
      sqliteHook: (d) => {
        db = d;
      },
    });
    accountId = ts.ids[USER]!;
    const l = await listenImap(ts.store);
    close = l.close;
    for (const name of ["A", "B", "C"]) await ts.store.createMailbox(accountId, name);
    const a = (await ts.store.getMailbox(accountId, "A"))!;
    await ts.store.appendMany(
      accountId,
      a.id,
      MSGS.map((m) => ({ raw: raw(m), ...(m.internal ? { internalDate: m.internal } : {}) })),
    );
    c = await Client.connect(l.port);
    assert.ok((await c.cmd(`LOGIN ${USER} ${PASS}`)).ok);
  });
  after(async () => {
    c.destroy();
    await close();
    await ts.close();
  });

  const rows = (): number =>
    Number((db.prepare("SELECT count(*) FROM thread_input").raw().get() as [number])[0]);

  /** the server's answers in the mailbox */
  async function answers(mailbox: string): Promise<string[]> {
    assert.ok((await c.cmd(`SELECT ${mailbox}`)).ok);
    const out: string[] = [];
    for (const cmd of [
      "UID THREAD REFERENCES UTF-8 ALL",
      "UID THREAD REFS UTF-8 ALL",
      "UID THREAD ORDEREDSUBJECT UTF-8 ALL",
      // sequence-number forms: never from the UID THREAD answer cache, so these see the inputs
      "THREAD REFERENCES UTF-8 ALL",
      "THREAD REFS UTF-8 ALL",
      "THREAD ORDEREDSUBJECT UTF-8 ALL",
      "UID SORT (SUBJECT) UTF-8 ALL",
      "UID SORT (REVERSE DATE) UTF-8 ALL",
      "UID SORT (SUBJECT ARRIVAL) UTF-8 ALL",
    ]) {
      const r = await c.cmd(cmd);
      assert.ok(r.ok, `${cmd}: ${r.tagged}`);
      out.push(r.lines.find((l) => /^\* (THREAD|SORT)/.test(l)) ?? "");
    }
    return out;
  }

  /** the same answers computed from the messages' bytes (uids; THREAD with sequence numbers too) */
  async function oracle(mailbox: string): Promise<string[]> {
    const mb = (await ts.store.getMailbox(accountId, mailbox))!;
    const uids = (await ts.store.listMessages(mb.id)).map((m) => m.uid);
    const metas = await ts.store.getMessages(mb.id, uids);
    const msgs: ThreadMessage[] = [];
    for (const m of metas) {
      const full = await ts.store.readMessage(mb.id, m.uid);
      msgs.push(oracleMessage(m.uid, full, m.internalDate));
    }
    const seq = new Map(uids.map((u, i) => [u, i + 1]));
    const line = (body: string) => `* THREAD${body === "" ? "" : ` ${body}`}`;
    const byUid = (x: ThreadMessage) => x.id;
    const sortBy = (cmp: (a: ThreadMessage, b: ThreadMessage) => number) =>
      `* SORT${[...msgs]
        .sort((a, b) => cmp(a, b) || a.id - b.id)
        .map((x) => ` ${x.id}`)
        .join("")}`;
    const octets = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
    const arrival = new Map(metas.map((m) => [m.uid, m.internalDate.getTime()]));
    return [
      line(formatThreads(referencesThreads(msgs), byUid)),
      line(formatThreads(refsThreads(msgs), byUid)),
      line(formatThreads(orderedSubject(msgs), byUid)),
      line(formatThreads(referencesThreads(msgs), (x) => seq.get(x.id)!)),
      line(formatThreads(refsThreads(msgs), (x) => seq.get(x.id)!)),
      line(formatThreads(orderedSubject(msgs), (x) => seq.get(x.id)!)),
      sortBy((a, b) => octets(a.subject, b.subject)),
      sortBy((a, b) => b.date - a.date),
      sortBy((a, b) => octets(a.subject, b.subject) || arrival.get(a.id)! - arrival.get(b.id)!),
    ];
  }

  async function check(mailbox: string): Promise<void> {
    const expected = await oracle(mailbox);
    assert.deepEqual(await answers(mailbox), expected, `${mailbox}: stored inputs`);
    // as for messages stored before the inputs were: computed on demand (then stored)
    db.exec("DELETE FROM thread_input");
    assert.deepEqual(await answers(mailbox), expected, `${mailbox}: inputs computed on demand`);
    assert.ok(rows() > 0, "the computed inputs are stored");
    assert.deepEqual(await answers(mailbox), expected, `${mailbox}: inputs stored on demand`);
  }

  it("the inputs are stored with the append; answers equal those from the messages", async () => {
    assert.equal(rows(), MSGS.length);
    await check("A");
    assert.equal(rows(), MSGS.length, "every blob has its row again");
  });

  it("an older row version is recomputed, not used", async () => {
    db.exec("UPDATE thread_input SET version = 0, subject = 'WRONG', refs = '', message_id = NULL");
    await check("A");
  });

  it("a repeated UID THREAD follows new messages and a changed match set", async () => {
    assert.ok((await c.cmd("SELECT A")).ok);
    const thread = async (cmd: string) => (await c.cmd(cmd)).lines.find((l) => l.startsWith("* THREAD"))!;
    const first = await thread("UID THREAD REFERENCES UTF-8 ALL");
    assert.equal(await thread("UID THREAD REFERENCES UTF-8 ALL"), first);
    const a = (await ts.store.getMailbox(accountId, "A"))!;
    const [r] = await ts.store.appendMany(accountId, a.id, [
      { raw: raw({ subject: "Re: lunch", date: D(12), id: "<late@x>", refs: "<1@x>" }) },
    ]);
    assert.ok((await c.cmd("NOOP")).ok);
    const second = await thread("UID THREAD REFERENCES UTF-8 ALL");
    assert.notEqual(second, first);
    assert.equal(second, (await oracle("A"))[0]);
    // the same algorithm over another match set, then a flag change that alters that set
    const unseen = await thread("UID THREAD REFERENCES UTF-8 UNSEEN");
    assert.match(unseen, new RegExp(`\\b${r!.uid}\\b`));
    assert.ok((await c.cmd(`UID STORE ${r!.uid} +FLAGS.SILENT (\\Seen)`)).ok);
    assert.doesNotMatch(await thread("UID THREAD REFERENCES UTF-8 UNSEEN"), new RegExp(`\\b${r!.uid}\\b`));
    assert.equal(await thread("UID THREAD REFERENCES UTF-8 ALL"), second);
  });

  it("after COPY, MOVE, EXPUNGE and REPLACE", async () => {
    assert.ok((await c.cmd("SELECT A")).ok);
    assert.ok((await c.cmd("COPY 1:* B")).ok);
    assert.ok((await c.cmd("SELECT B")).ok);
    assert.ok((await c.cmd("MOVE 2,5,9 C")).ok);
    assert.ok((await c.cmd("SELECT A")).ok);
    assert.ok((await c.cmd("STORE 1,3,10 +FLAGS.SILENT (\\Deleted)")).ok);
    assert.ok((await c.cmd("EXPUNGE")).ok);
    const msg = raw({ subject: "Re: lunch again", date: D(11), id: "<new@x>", refs: "<1@x> <2@x>" });
    const r = await c.cmd(`REPLACE 2 A {${msg.length}+}\r\n${msg.toString()}`);
    assert.ok(r.ok, r.tagged);
    for (const mb of ["A", "B", "C"]) await check(mb);
    // the same content in three mailboxes: one row per blob (check() left only C's)
    for (const mb of ["A", "B"]) await answers(mb);
    const blobs = Number(
      (db.prepare("SELECT count(DISTINCT blob_id) FROM message").raw().get() as [number])[0],
    );
    assert.equal(rows(), blobs);
  });
});
