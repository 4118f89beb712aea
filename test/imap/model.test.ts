/**
 * Randomised two-session check: session B changes the mailbox (append, flags, expunge) while
 * session A runs FETCH/SEARCH/STORE/UID FETCH/NOOP. A must never see EXPUNGE while answering
 * FETCH, STORE or SEARCH; its sequence numbers, as it tracks them from the untagged responses,
 * must match the server's view; after NOOP its view equals the store.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { message, startServer, type TestServer } from "./helpers.ts";

type Op =
  | { who: "B"; kind: "append" }
  | { who: "B"; kind: "flag"; n: number }
  | { who: "B"; kind: "expunge"; n: number }
  | { who: "A"; kind: "fetch" | "uidfetch" | "search" | "noop" | "store" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.constant<Op>({ who: "B", kind: "append" }),
  fc.integer({ min: 1, max: 8 }).map((n): Op => ({ who: "B", kind: "flag", n })),
  fc.integer({ min: 1, max: 8 }).map((n): Op => ({ who: "B", kind: "expunge", n })),
  fc.constantFrom<Op>(
    { who: "A", kind: "fetch" },
    { who: "A", kind: "uidfetch" },
    { who: "A", kind: "search" },
    { who: "A", kind: "noop" },
    { who: "A", kind: "store" },
  ),
);

describe("IMAP sequence-number model", () => {
  let t: TestServer;
  before(async () => {
    t = await startServer({ limits: { maxConnectionsPerIp: 1000, maxConnectionsPerUser: 1000 } });
  });
  after(async () => {
    await t.close();
  });

  it("client view stays consistent under concurrent changes", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 25 }), async (ops) => {
        const box = `Model${++run}`;
        await t.store.createMailbox(t.accountId, box);
        const mb = (await t.store.getMailbox(t.accountId, box))!;
        for (let i = 0; i < 4; i++)
          await t.store.append(t.accountId, mb.id, { raw: Buffer.from(message(`m${i}`)) });
        const a = await t.login();
        const b = await t.login();
        try {
          // A's model: uid per sequence number, maintained from untagged responses only
          let model: number[] = [];
          const sel = await a.cmd(`SELECT ${box}`);
          const exists = Number(/\* (\d+) EXISTS/.exec(sel.text)![1]);
          const f0 = await a.cmd("FETCH 1:* (UID)");
          model = f0.lines.map((l) => Number(/UID (\d+)/.exec(l)![1]));
          assert.equal(model.length, exists);
          await b.cmd(`SELECT ${box}`);
          const apply = (lines: string[], expungeAllowed: boolean) => {
            for (const l of lines) {
              let m = /^\* (\d+) EXPUNGE$/.exec(l);
              if (m) {
                assert.ok(expungeAllowed, `EXPUNGE not allowed here: ${l}`);
                const seq = Number(m[1]);
                assert.ok(seq >= 1 && seq <= model.length, `bad EXPUNGE ${seq} of ${model.length}`);
                model.splice(seq - 1, 1);
                continue;
              }
              m = /^\* (\d+) EXISTS$/.exec(l);
              if (m) {
                const n = Number(m[1]);
                assert.ok(n >= model.length, `EXISTS shrank: ${n} < ${model.length}`);
                while (model.length < n) model.push(-1); // uid unknown until fetched
                continue;
              }
              m = /^\* (\d+) FETCH \(.*UID (\d+)/.exec(l);
              if (m) {
                const seq = Number(m[1]);
                const uid = Number(m[2]);
                assert.ok(seq >= 1 && seq <= model.length, `FETCH seq ${seq} beyond ${model.length}`);
                if (model[seq - 1] === -1) model[seq - 1] = uid;
                assert.equal(model[seq - 1], uid, `seq ${seq} is uid ${model[seq - 1]}, server says ${uid}`);
              }
            }
          };
          for (const op of ops) {
            if (op.who === "B") {
              if (op.kind === "append") await b.append(box, message("new"));
              else {
                await b.cmd("NOOP");
                const cnt = Number(
                  /(\d+)/.exec((await b.cmd(`STATUS ${box} (MESSAGES)`)).lines[0]!.split("(")[1]!)![1],
                );
                if (cnt === 0) continue;
                const seq = ((op.n - 1) % cnt) + 1;
                if (op.kind === "flag") await b.cmd(`STORE ${seq} +FLAGS.SILENT (\\Flagged)`);
                else {
                  await b.cmd(`STORE ${seq} +FLAGS.SILENT (\\Deleted)`);
                  await b.cmd("EXPUNGE");
                }
              }
              continue;
            }
            let r: Awaited<ReturnType<typeof a.cmd>>;
            switch (op.kind) {
              case "fetch":
                r = await a.cmd(model.length ? "FETCH 1:* (UID FLAGS)" : "NOOP");
                apply(r.lines, !model.length);
                break;
              case "uidfetch":
                r = await a.cmd("UID FETCH 1:* (FLAGS)");
                apply(r.lines, true);
                break;
              case "search":
                r = await a.cmd("SEARCH ALL");
                apply(r.lines, false);
                break;
              case "store":
                r = await a.cmd(model.length ? "STORE 1 +FLAGS (\\Seen)" : "NOOP");
                apply(r.lines, !model.length);
                break;
              default:
                r = await a.cmd("NOOP");
                apply(r.lines, true);
            }
            assert.ok(r.ok, r.tagged);
          }
          const n = await a.cmd("NOOP");
          apply(n.lines, true);
          const fin = await a.cmd("UID FETCH 1:* (UID)");
          apply(fin.lines, true);
          const live = (await t.store.listMessages(mb.id)).map((m) => m.uid);
          assert.deepEqual(model, live);
        } finally {
          a.destroy();
          b.destroy();
        }
      }),
      { numRuns: 25 },
    );
  });
});
