/**
 * The cases of test/jmap/query-store.test.ts (SQLite) and test/pg/jmap-query.test.ts (PostgreSQL).
 * JMAP without the account view (issue 12), on random mailboxes: Mailbox/get counts from the
 * store's indexes against a brute-force model of RFC 8621 §2 built from the store's rows;
 * Email/query `{inMailbox}` (receivedAt either way, collapseThreads, position, anchor) against the
 * general path (the same filter written as an AND of one condition); Email/queryChanges replayed
 * on the old results (RFC 8620 §5.6: drop `removed`, insert `added` by index) gives the new ones.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Id, Store } from "../../src/store/types.ts";
import type { J, JmapServer } from "./helpers.ts";

/** a small seeded generator (mulberry32): a failure names its seed */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ["zebra", "okapi", "lynx"];

interface Model {
  totalEmails: number;
  unreadEmails: number;
  totalThreads: number;
  unreadThreads: number;
}

/** RFC 8621 §2 counts from every row of the account (a copy with \Deleted is not visible) */
async function modelCounts(store: Store, accountId: Id): Promise<Map<Id, Model>> {
  const emails = new Map<string, { thread: string; mailboxes: Set<Id>; read: boolean }>();
  const mailboxes = await store.listMailboxes(accountId);
  for (const mb of mailboxes) {
    const uids = (await store.listMessages(mb.id)).map((r) => r.uid);
    for (const m of uids.length ? await store.getMessages(mb.id, uids) : []) {
      const flags = m.flags.map((f) => f.toLowerCase());
      if (flags.includes("\\deleted")) continue;
      const e = emails.get(m.emailId) ?? { thread: m.threadId, mailboxes: new Set(), read: false };
      e.mailboxes.add(mb.id);
      if (flags.includes("\\seen") || flags.includes("\\draft")) e.read = true;
      emails.set(m.emailId, e);
    }
  }
  const unreadThreads = new Set([...emails.values()].filter((e) => !e.read).map((e) => e.thread));
  const out = new Map<Id, Model>();
  for (const mb of mailboxes) {
    const here = [...emails.values()].filter((e) => e.mailboxes.has(mb.id));
    const threads = new Set(here.map((e) => e.thread));
    out.set(mb.id, {
      totalEmails: here.length,
      unreadEmails: here.filter((e) => !e.read).length,
      totalThreads: threads.size,
      unreadThreads: [...threads].filter((t) => unreadThreads.has(t)).length,
    });
  }
  return out;
}

/**
 * The cases, over a JMAP server whose JMAP store is `open().store` (SQLite here; PostgreSQL in
 * test/pg/jmap-query.test.ts), filled through that store.
 */
export function queryStoreCases(
  name: string,
  open: () => Promise<{ t: JmapServer; store: Store; accountId: Id; close(): Promise<void> }>,
  opts: { skip?: string | false } = {},
): void {
  describe(name, { skip: opts.skip ?? false }, () => {
    let t: JmapServer;
    let acc: string;
    let store: Store;
    let accountId: Id;
    let close: () => Promise<void>;
    let n = 0;
    before(async () => {
      ({ t, store, accountId, close } = await open());
      acc = t.accountId;
    });
    after(() => close());

    /** appends `count` messages with random threads, dates (with ties) and flags over the mailboxes */
    async function fill(r: () => number, mbs: Id[], count: number, dups: boolean): Promise<void> {
      const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)]!;
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        const id = `r${++n}`;
        const parent = ids.length && r() < 0.4 ? pick(ids) : null;
        ids.push(id);
        const flags = [
          ...(r() < 0.5 ? ["\\Seen"] : []),
          ...(r() < 0.1 ? ["\\Draft"] : []),
          ...(r() < 0.15 ? ["\\Deleted"] : []),
          ...(r() < 0.2 ? ["$label"] : []),
          ...(r() < 0.2 ? ["\\Flagged"] : []),
        ];
        const mb = pick(mbs);
        const from = pick(["Alice <a@example.org>", "Bob Builder <bob@example.net>"]);
        const head =
          `From: ${from}\r\nTo: ${pick(["carol@example.com", "dave@example.com"])}\r\n` +
          `Subject: ${id} ${pick(WORDS)}\r\nMessage-ID: <${id}@example.org>\r\n` +
          (parent ? `In-Reply-To: <${parent}@example.org>\r\n` : "");
        const text = `body ${id} ${pick(WORDS)}\r\n`;
        // one in five with an attachment (hasAttachment)
        const raw =
          r() < 0.2
            ? `${head}MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n` +
              `Content-Type: text/plain\r\n\r\n${text}--b\r\nContent-Type: application/pdf\r\n` +
              `Content-Disposition: attachment; filename=a.pdf\r\n\r\nJVBERi0=\r\n--b--\r\n`
            : `${head}\r\n${text}`;
        const res = await store.append(accountId, mb, {
          raw: Buffer.from(raw),
          // few distinct dates: many ties, ordered by id
          internalDate: new Date(Date.UTC(2024, 0, 1 + Math.floor(r() * 6))),
          flags,
        });
        // copies: in another mailbox (flags copied, then maybe changed on one copy), or the same one
        if (r() < 0.25) {
          const dst = dups && r() < 0.3 ? mb : pick(mbs.filter((x) => x !== mb));
          const c = await store.copy(mb, [res.uid], dst);
          if (r() < 0.5) {
            const uid = c.mapping[0]![1];
            await store.storeFlags(dst, [uid], pick(["add", "remove"] as const), ["\\Seen"]);
          }
        }
      }
    }

    async function counts(): Promise<Map<Id, Model>> {
      const [[, r]] = await t.call([["Mailbox/get", { accountId: acc, ids: null }, "m"]]);
      const out = new Map<Id, Model>();
      for (const m of r.list)
        out.set(Number(String(m.id).replace(/^\D+/, "")), {
          totalEmails: m.totalEmails,
          unreadEmails: m.unreadEmails,
          totalThreads: m.totalThreads,
          unreadThreads: m.unreadThreads,
        });
      return out;
    }

    it("Mailbox/get counts match the model (copies, \\Deleted, \\Draft, two copies in one mailbox)", async () => {
      for (const seed of [1, 2, 3]) {
        const r = rng(seed);
        const mbs = [];
        for (const k of ["A", "B", "C"]) mbs.push((await store.createMailbox(accountId, `c${seed}${k}`)).id);
        await fill(r, mbs, 40, true);
        const check = async (what: string) => {
          const model = await modelCounts(store, accountId);
          const got = await counts();
          for (const [id, m] of model)
            assert.deepEqual(got.get(id), m, `seed ${seed} ${what}, mailbox ${id}`);
        };
        await check("filled");
        // many rows per statement (threads and Emails sharing rows of one write): copy a whole
        // mailbox, \Deleted on all and off again on some, expunge several at once
        const uids = async (mb: Id) => (await store.listMessages(mb)).map((x) => x.uid);
        await store.copy(mbs[0]!, await uids(mbs[0]!), mbs[2]!);
        await check("copied");
        const b = await uids(mbs[1]!);
        await store.storeFlags(mbs[1]!, b, "add", ["\\Deleted"]);
        await check("deleted");
        await store.storeFlags(
          mbs[1]!,
          b.filter((_, i) => i % 2 === 0),
          "remove",
          ["\\Deleted"],
        );
        await store.copy(mbs[1]!, b, mbs[1]!);
        await check("undeleted, copied into itself");
        const c = await uids(mbs[2]!);
        await store.expunge(
          mbs[2]!,
          c.filter((_, i) => i % 3 !== 0),
        );
        await store.move(mbs[1]!, await uids(mbs[1]!), mbs[0]!);
        await check("expunged, moved");
      }
    });

    async function query(args: J): Promise<J> {
      const [[name, res]] = await t.call([
        ["Email/query", { accountId: acc, calculateTotal: true, ...args }, "q"],
      ]);
      assert.equal(name, "Email/query", JSON.stringify(res));
      return res;
    }

    it("Email/query {inMailbox} answers as the general path (order, collapse, position, anchor)", async () => {
      for (const seed of [11, 12, 13]) {
        const r = rng(seed);
        const mbs = [];
        for (const k of ["A", "B"]) mbs.push((await store.createMailbox(accountId, `q${seed}${k}`)).id);
        await fill(r, mbs, 40, true);
        const [[, mq]] = await t.call([
          ["Mailbox/get", { accountId: acc, ids: null, properties: ["name"] }, "m"],
        ]);
        const jmapMb = mq.list.find((m: J) => m.name === `q${seed}A`).id;
        for (const asc of [false, true])
          for (const collapseThreads of [false, true]) {
            const base = { sort: [{ property: "receivedAt", isAscending: asc }], collapseThreads };
            const all = await query({
              ...base,
              filter: { operator: "AND", conditions: [{ inMailbox: jmapMb }] },
            });
            const fast = await query({ ...base, filter: { inMailbox: jmapMb } });
            const what = `seed ${seed} asc ${asc} collapse ${collapseThreads}`;
            assert.deepEqual(fast.ids, all.ids, what);
            assert.equal(fast.total, all.total, what);
            assert.equal(fast.canCalculateChanges, true);
            assert.equal(all.canCalculateChanges, false);
            for (const page of [
              { position: 3, limit: 5 },
              { position: -4, limit: 10 },
              { position: 1000, limit: 5 },
              { anchor: all.ids[Math.floor(r() * all.ids.length)], anchorOffset: -2, limit: 4 },
              { anchor: all.ids[Math.floor(r() * all.ids.length)], anchorOffset: 3, limit: 3 },
              { anchor: all.ids[0], limit: 2 },
            ]) {
              const a = await query({
                ...base,
                ...page,
                filter: { operator: "AND", conditions: [{ inMailbox: jmapMb }] },
              });
              const b = await query({ ...base, ...page, filter: { inMailbox: jmapMb } });
              assert.deepEqual([b.ids, b.position], [a.ids, a.position], `${what} ${JSON.stringify(page)}`);
            }
          }
        const [[, nf]] = await t.call([
          ["Email/query", { accountId: acc, filter: { inMailbox: jmapMb }, anchor: "nope" }, "q"],
        ]);
        assert.equal(nf.type, "anchorNotFound");
      }
    });

    it("Email/query {inMailbox + search conditions} answers as the general path", async () => {
      for (const seed of [31, 32, 33]) {
        const r = rng(seed);
        const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)]!;
        const mbs = [];
        for (const k of ["A", "B"]) mbs.push((await store.createMailbox(accountId, `f${seed}${k}`)).id);
        await fill(r, mbs, 40, true);
        const [[, mq]] = await t.call([
          ["Mailbox/get", { accountId: acc, ids: null, properties: ["name"] }, "m"],
        ]);
        const jmapMb = mq.list.find((m: J) => m.name === `f${seed}A`).id;
        const day = () => `2024-01-0${1 + Math.floor(r() * 6)}T00:00:00Z`;
        const gens: Array<() => [string, unknown]> = [
          () => ["text", pick(WORDS)],
          () => ["subject", pick(WORDS)],
          () => ["body", pick(WORDS)],
          () => ["from", pick(["bob", "example.org", "Alice"])],
          () => ["to", pick(["carol", "dave@example.com"])],
          () => ["before", day()],
          () => ["after", day()],
          () => ["hasKeyword", pick(["$seen", "$label", "$flagged"])],
          () => ["notKeyword", pick(["$seen", "$label", "$draft"])],
          () => ["hasAttachment", r() < 0.5],
          () => ["minSize", 150 + Math.floor(r() * 300)],
        ];
        for (let k = 0; k < 14; k++) {
          const cond: J = { inMailbox: jmapMb };
          const m = 1 + Math.floor(r() * 3);
          for (let i = 0; i < m; i++) {
            const [name, v] = pick(gens)();
            cond[name] = v;
          }
          const base = {
            sort: [{ property: "receivedAt", isAscending: r() < 0.5 }],
            collapseThreads: r() < 0.5,
          };
          const what = `seed ${seed} ${JSON.stringify({ cond, ...base })}`;
          const general = { ...base, filter: { operator: "AND", conditions: [cond] } };
          const a = await query(general);
          const b = await query({ ...base, filter: cond });
          assert.deepEqual([b.ids, b.total, b.queryState], [a.ids, a.total, a.queryState], what);
          if (a.ids.length === 0) continue;
          const anchor = pick(a.ids as string[]);
          for (const page of [
            { position: 1, limit: 3 },
            { position: -2 },
            { anchor, anchorOffset: -1, limit: 2 },
          ]) {
            const pa = await query({ ...general, ...page });
            const pb = await query({ ...base, filter: cond, ...page });
            assert.deepEqual([pb.ids, pb.position], [pa.ids, pa.position], `${what} ${JSON.stringify(page)}`);
          }
        }
        const [[, bad]] = await t.call([
          ["Email/query", { accountId: acc, filter: { inMailbox: jmapMb, before: "yesterday" } }, "q"],
        ]);
        assert.equal(bad.type, "invalidArguments");
      }
    });

    it("Email/queryChanges replayed on the old results gives the new ones", async () => {
      for (const seed of [21, 22, 23]) {
        const r = rng(seed);
        const mbs = [];
        for (const k of ["A", "B"]) mbs.push((await store.createMailbox(accountId, `x${seed}${k}`)).id);
        await fill(r, mbs, 30, true);
        const [[, mq]] = await t.call([
          ["Mailbox/get", { accountId: acc, ids: null, properties: ["name"] }, "m"],
        ]);
        const jmapMb = mq.list.find((m: J) => m.name === `x${seed}A`).id;
        // the plain mailbox query and some with search conditions (a keyword the changes below
        // set, words of the text), each way, collapsed or not
        const filters: J[] = [
          {},
          { hasKeyword: "$seen" },
          { notKeyword: "$seen", text: WORDS[0] },
          { after: "2024-01-03T00:00:00Z" },
        ];
        const shapes = filters.flatMap((extra) =>
          [false, true].flatMap((asc) =>
            [false, true].map((collapseThreads) => ({
              filter: { inMailbox: jmapMb, ...extra },
              sort: [{ property: "receivedAt", isAscending: asc }],
              collapseThreads,
            })),
          ),
        );
        const before: J[] = [];
        for (const s of shapes) {
          const q = await query(s);
          assert.equal(q.canCalculateChanges, true, JSON.stringify(s));
          before.push(q);
        }
        // changes: new mail, moves in and out, \Deleted set and cleared, expunges, \Seen
        await fill(r, mbs, 8, true);
        for (const mb of mbs) {
          const uids = (await store.listMessages(mb)).map((x) => x.uid);
          for (const uid of uids) {
            const p = r();
            if (p < 0.08) await store.move(mb, [uid], mbs[0] === mb ? mbs[1]! : mbs[0]!);
            else if (p < 0.16) await store.storeFlags(mb, [uid], r() < 0.5 ? "add" : "remove", ["\\Deleted"]);
            else if (p < 0.22) await store.expunge(mb, [uid]);
            else if (p < 0.3) await store.storeFlags(mb, [uid], "add", ["\\Seen"]);
          }
        }
        for (const [i, s] of shapes.entries()) {
          const old = before[i];
          const now = await query(s);
          const [[name, qc]] = await t.call([
            [
              "Email/queryChanges",
              { accountId: acc, ...s, sinceQueryState: old.queryState, calculateTotal: true },
              "c",
            ],
          ]);
          const what = `seed ${seed} ${JSON.stringify(s)}`;
          assert.equal(name, "Email/queryChanges", `${what}: ${JSON.stringify(qc)}`);
          assert.equal(qc.oldQueryState, old.queryState);
          assert.equal(qc.newQueryState, now.queryState, what);
          assert.equal(qc.total, now.total, what);
          const removed = new Set(qc.removed);
          const ids = old.ids.filter((id: string) => !removed.has(id));
          for (const a of qc.added) ids.splice(a.index, 0, a.id);
          assert.deepEqual(ids, now.ids, what);
          // nothing changed since the new state: nothing to do
          const [[, again]] = await t.call([
            ["Email/queryChanges", { accountId: acc, ...s, sinceQueryState: now.queryState }, "c"],
          ]);
          assert.deepEqual([again.removed, again.added], [[], []], what);
        }
      }
    });

    it("Email/queryChanges: other queries, unknown states and maxChanges", async () => {
      const [[, mq]] = await t.call([["Mailbox/query", { accountId: acc, filter: { role: "inbox" } }, "m"]]);
      const inbox = mq.ids[0];
      const q = await query({ filter: { inMailbox: inbox } });
      const qc = async (args: J) =>
        (
          await t.call([
            ["Email/queryChanges", { accountId: acc, sinceQueryState: q.queryState, ...args }, "c"],
          ])
        )[0];
      const [, other] = await qc({ filter: { from: "x" } });
      assert.equal(other.type, "cannotCalculateChanges");
      const [, bad] = await qc({ filter: { inMailbox: inbox }, sinceQueryState: "nonsense" });
      assert.equal(bad.type, "cannotCalculateChanges");
      const inboxId = (await store.getMailbox(accountId, "INBOX"))!.id;
      for (let i = 0; i < 3; i++)
        await store.append(accountId, inboxId, { raw: Buffer.from(`Subject: m${i}\r\n\r\nx\r\n`) });
      const [, many] = await qc({ filter: { inMailbox: inbox }, maxChanges: 2 });
      assert.equal(many.type, "tooManyChanges");
      const [name, ok] = await qc({ filter: { inMailbox: inbox }, maxChanges: 3 });
      assert.equal(name, "Email/queryChanges", JSON.stringify(ok));
      assert.equal(ok.added.length, 3);
    });
  });
}
