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

/** the statements node-postgres clients send while fn runs (the feed's NOTIFYs left out) */
async function statementsOf(fn: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const proto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
  const orig = proto.query;
  proto.query = function (this: unknown, ...a: unknown[]) {
    const q = a[0] as string | { text?: string };
    const text = typeof q === "string" ? q : String(q?.text);
    if (!text.includes("pg_notify")) seen.push(text);
    return orig.apply(this, a);
  };
  try {
    await fn();
  } finally {
    proto.query = orig;
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
      assert.ok(
        sent.length <= MAX_STATEMENTS_PER_APPEND,
        `${sent.length} statements:\n${sent.map((s) => s.replace(/\s+/g, " ").slice(0, 100)).join("\n")}`,
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
