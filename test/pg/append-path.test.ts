/**
 * The PostgreSQL append path (db/postgres: deferred writes merged into few statements, the
 * account lock taken only for UIDs, modseq and message rows): how many statements one append
 * sends, and that the guarantees hold when two nodes append to one account at once — UIDs
 * strictly ascending per mailbox in modseq order, one modseq per append, content, search text,
 * THREAD inputs and change-log rows there for every message.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { openPostgresStore } from "../../src/store/postgres.ts";
import type { Store } from "../../src/store/types.ts";
import { type PgCluster, postgresAvailable, startPostgres } from "../kit/postgres.ts";
import { message } from "../kit/store.ts";
import { tempDir } from "../kit/temp.ts";

/** statements one single-message append may send, BEGIN and COMMIT included (27 before merging) */
const MAX_STATEMENTS_PER_APPEND = 8;
/** round trips of those: BEGIN rides with the first statement, COMMIT with the last writes */
const MAX_ROUND_TRIPS_PER_APPEND = 6;

interface Sent extends Array<string> {
  /** statements put on the wire while none of the same connection's awaited its answer */
  roundTrips: number;
}

type Submit = (this: { text?: string }, con: object) => unknown;
type Ready = (this: { text?: string }, con: object) => unknown;

/**
 * The statements node-postgres sends while fn runs (the feed's NOTIFYs left out), and how many
 * round trips they took: a statement submitted to a connection with no answer outstanding starts
 * one (without pipelining node-postgres submits each only after the previous one's answer).
 */
async function statementsOf(fn: () => Promise<unknown>): Promise<Sent> {
  const seen = Object.assign([] as string[], { roundTrips: 0 });
  const outstanding = new WeakMap<object, number>();
  const proto = (pg as unknown as { Query: { prototype: { submit: Submit; handleReadyForQuery: Ready } } })
    .Query.prototype;
  const submit = proto.submit;
  const ready = proto.handleReadyForQuery;
  const counted = (q: { text?: string }) => !String(q.text).includes("pg_notify");
  proto.submit = function (con) {
    if (counted(this)) {
      seen.push(String(this.text));
      const n = outstanding.get(con) ?? 0;
      if (n === 0) seen.roundTrips++;
      outstanding.set(con, n + 1);
    }
    return submit.call(this, con);
  };
  proto.handleReadyForQuery = function (con) {
    if (counted(this)) outstanding.set(con, Math.max(0, (outstanding.get(con) ?? 1) - 1));
    return ready.call(this, con);
  };
  try {
    await fn();
  } finally {
    proto.submit = submit;
    proto.handleReadyForQuery = ready;
  }
  return seen;
}

describe("PostgreSQL append path", { skip: !postgresAvailable() && "PostgreSQL binaries missing" }, () => {
  let cluster: PgCluster;
  before(async () => {
    cluster = await startPostgres();
  });
  after(async () => {
    await cluster?.stop();
  });

  async function openNode(url: string): Promise<{ store: Store; close(): Promise<void> }> {
    const t = tempDir("pk-pg-append-");
    const store = await openPostgresStore({
      url,
      dataDir: t.dir,
      poolSize: 6,
      pruneDelayMs: null,
      feedHeartbeatMs: 600_000,
    });
    return {
      store,
      close: async () => {
        await store.close();
        t.cleanup();
      },
    };
  }

  test("one append: few statements; content, search text and thread inputs committed with it", async () => {
    const url = await cluster.createDatabase();
    const n = await openNode(url);
    try {
      await n.store.addDomain("example.com");
      const a = await n.store.createAccount("amy@example.com", "x");
      const inbox = (await n.store.getMailbox(a.id, "INBOX"))!.id;
      await n.store.append(a.id, inbox, { raw: Buffer.from(message("first")) });
      const raw = Buffer.from(message("second", "a quokka in the body\r\n", "In-Reply-To: <x@y>\r\n"));
      let uid = 0;
      const sent = await statementsOf(async () => {
        uid = (await n.store.append(a.id, inbox, { raw, flags: ["\\Seen"] })).uid;
      });
      const listing = sent.map((s) => s.replace(/\s+/g, " ").slice(0, 100)).join("\n");
      assert.ok(sent.length <= MAX_STATEMENTS_PER_APPEND, `${sent.length} statements:\n${listing}`);
      assert.ok(
        sent.roundTrips <= MAX_ROUND_TRIPS_PER_APPEND,
        `${sent.roundTrips} round trips for:\n${listing}`,
      );
      assert.equal(uid, 2);
      assert.deepEqual(Buffer.from(await n.store.readMessage(inbox, uid)), raw);
      assert.deepEqual(await n.store.searchText(inbox, { field: "body", value: "quokka" }), [uid]);
      const ti = await n.store.threadInputs(inbox);
      assert.deepEqual(ti.uid, [1, 2]);
      // with a delivery-header prefix (SMTP delivery): one statement more at most
      const prefixed = await statementsOf(() =>
        n.store.append(a.id, inbox, {
          raw: Buffer.from(message("third")),
          deliveryHeaders: Buffer.from("Received: from test\r\n"),
        }),
      );
      assert.ok(prefixed.length <= MAX_STATEMENTS_PER_APPEND + 1, `${prefixed.length} statements`);
      const third = await n.store.readMessage(inbox, 3);
      assert.match(Buffer.from(third).toString(), /^Received: from test\r\n/);
    } finally {
      await n.close();
    }
  });

  test("two nodes appending to one account at once: UIDs ascending in modseq order, nothing lost", async () => {
    const url = await cluster.createDatabase();
    const a = await openNode(url);
    const b = await openNode(url);
    try {
      await a.store.addDomain("example.com");
      const acc = await a.store.createAccount("bea@example.com", "x");
      const inbox = (await a.store.getMailbox(acc.id, "INBOX"))!.id;
      const other = (await a.store.createMailbox(acc.id, "Other")).id;
      const start = await a.store.changesSince(inbox, 0n);
      const PER = 12;
      const writers = [a.store, b.store, a.store, b.store].map(async (s, w) => {
        const out: Array<{ mailbox: number; uid: number; modseq: bigint }> = [];
        for (let i = 0; i < PER; i++) {
          const mailbox = i % 3 === 0 ? other : inbox;
          // every fourth message the same content (deduplicated blob) from every writer
          const raw = Buffer.from(i % 4 === 0 ? message("same", "shared\r\n") : message(`w${w} m${i}`));
          const r = await s.append(acc.id, mailbox, { raw });
          out.push({ mailbox, uid: r.uid, modseq: r.modseq });
        }
        return out;
      });
      const all = (await Promise.all(writers)).flat();
      assert.equal(new Set(all.map((r) => r.modseq)).size, all.length, "one modseq per append");
      for (const mb of [inbox, other]) {
        const rows = all.filter((r) => r.mailbox === mb).sort((x, y) => x.uid - y.uid);
        assert.deepEqual(
          rows.map((r) => r.uid),
          rows.map((_, i) => i + 1),
          "UIDs 1..n, no gap, no repeat",
        );
        for (let i = 1; i < rows.length; i++)
          assert.ok(rows[i]!.modseq > rows[i - 1]!.modseq, "a higher UID has a higher modseq");
        const seen = await b.store.changesSince(mb, 0n);
        assert.equal(seen.changed.length, rows.length);
        assert.equal(seen.uidNext, rows.length + 1);
        for (const r of rows) assert.ok((await a.store.readMessage(mb, r.uid)).byteLength > 0);
      }
      assert.ok(all.every((r) => r.modseq > start.highestModseq));
      // the account change log has every new Email
      const log = await a.store.changesSinceState(acc.id, "email", "0", 1000);
      assert.ok(log !== "cannotCalculateChanges");
      assert.equal(log.created.length, all.length);
      // usage counted once per message (the merged UPDATE of the account row)
      const usage = await b.store.getAccountById(acc.id);
      assert.equal(usage?.usedMessages, all.length);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
