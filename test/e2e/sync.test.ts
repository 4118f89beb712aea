/**
 * End to end: multi-device sync through the real server process (`postkontor serve`, workers = 2).
 *
 * Two imapflow clients on one account, served by DIFFERENT worker processes: each client sends its
 * own ID name (imapflow sends ID after connecting), the server logs `imap client id` with the
 * serving process's pid (pino base binding), so the test opens B-connections until one lands on a
 * pid other than A's (node:cluster round-robin makes the second one do so in practice; bounded).
 *
 * A selects INBOX and IDLEs; B makes changes. Every change must reach A as an untagged response
 * during IDLE within 1 s of B's command completing (issue 2, "Must show"; RFC 9051 §7.5 allows
 * EXISTS/FETCH/EXPUNGE during IDLE, RFC 2177 §3). Latencies are reported as diagnostics only.
 */
import assert from "node:assert/strict";
import { after, before, describe, it, type TestContext } from "node:test";
import type { ImapFlow } from "imapflow";
import {
  deliver,
  type E2E,
  imapClient,
  message,
  servingPid,
  startE2E,
  USER_A,
  waitUntil,
  within,
} from "./helpers.ts";

const SYNC_MS = 1000;

type Ev = "exists" | "flags" | "expunge";
type FlagsEv = { seq: number; uid?: number; modseq?: bigint; flags: Set<string> };
type ExpungeEv = { seq?: number; uid?: number; vanished: boolean };

/** the time (performance.now()) the last awaited event arrived */
let lastEventAt = 0;

/**
 * Resolves with the first event of that name satisfying pred (listener registered at once, so an
 * event arriving before B's command completes is not missed); records its arrival time.
 */
function nextEvent<T>(client: ImapFlow, name: Ev, pred: (ev: T) => boolean = () => true): Promise<T> {
  return new Promise<T>((resolve) => {
    const h = (ev: T) => {
      if (!pred(ev)) return;
      lastEventAt = performance.now();
      client.off(name, h);
      resolve(ev);
    };
    client.on(name, h);
  });
}

/** "12.3 ms" from t0 to the last event */
const since = (t0: number) => `${(lastEventAt - t0).toFixed(1)} ms`;

for (const qresync of [false, true]) {
  describe(`e2e: two imapflow clients across two worker processes (A with QRESYNC ${qresync ? "on" : "off"})`, () => {
    let e: E2E;
    let a: ImapFlow;
    let b: ImapFlow;
    let pidA = 0;
    let pidB = 0;
    const opened: ImapFlow[] = [];

    const connect = async (name: string, withQresync = false): Promise<{ client: ImapFlow; pid: number }> => {
      const { client } = imapClient(e, { name, qresync: withQresync });
      opened.push(client);
      await client.connect();
      return { client, pid: await servingPid(e, name) };
    };

    /**
     * RFC 7162 §3.1: once CONDSTORE is enabled (imapflow ENABLEs it whenever offered), every untagged
     * FETCH — also one caused by another session — carries UID and MODSEQ.
     */
    const condstoreFetch = (ev: FlagsEv, uid: number) => {
      if (!a.enabled.has("CONDSTORE")) return;
      assert.equal(ev.uid, uid, "untagged FETCH has the UID (RFC 7162 §3.1)");
      assert.equal(typeof ev.modseq, "bigint", "untagged FETCH has MODSEQ (RFC 7162 §3.1)");
    };

    /** RFC 7162 §3.2.10: with QRESYNC enabled the server sends VANISHED instead of EXPUNGE */
    const expungeForm = (ev: ExpungeEv, seq: number, uid: number) => {
      if (qresync) {
        assert.ok(a.enabled.has("QRESYNC"), "QRESYNC enabled");
        assert.deepEqual([ev.vanished, ev.uid], [true, uid], "VANISHED (uid)");
      } else {
        assert.deepEqual([ev.vanished, ev.seq], [false, seq], "EXPUNGE (seq)");
      }
    };

    /** A's IDLE: started explicitly, resolved when the server accepted it (imapflow sets `idling`) */
    const startIdle = async () => {
      if (a.idling) return;
      void a.idle().catch(() => {});
      await waitUntil(() => a.idling, 5000, "A entered IDLE");
    };

    before(async () => {
      e = await startE2E({ workers: 2 });
      await deliver(e, USER_A, message("seed message", "the first one\r\n"));
      const ca = await connect("e2e-A", qresync);
      a = ca.client;
      pidA = ca.pid;
      // bounded: at most 8 tries to land on the other worker
      for (let i = 0; i < 8; i++) {
        const cb = await connect(`e2e-B-${i}`);
        if (cb.pid !== pidA) {
          b = cb.client;
          pidB = cb.pid;
          break;
        }
        await cb.client.logout();
      }
      assert.ok(b, `no connection landed on a worker other than ${pidA} in 8 tries`);
      const workers = e.server.pids().slice(1);
      assert.ok(workers.includes(pidA) && workers.includes(pidB), "both pids are worker processes");

      await a.mailboxOpen("INBOX");
      await b.mailboxOpen("INBOX");
      assert.equal((a.mailbox as { exists: number }).exists, 1);
    });

    after(async () => {
      for (const c of opened) {
        try {
          if (c.usable) await within(c.logout(), 5000, "logout");
        } catch {
          c.close();
        }
      }
      await e?.close();
    });

    it("A and B are served by different worker processes", () => {
      assert.notEqual(pidA, 0);
      assert.notEqual(pidB, 0);
      assert.notEqual(pidA, pidB);
    });

    it("STORE by B reaches A (FETCH FLAGS) during IDLE within 1 s", async (t: TestContext) => {
      await startIdle();
      const ev = nextEvent<FlagsEv>(a, "flags", (x) => x.flags.has("\\Flagged"));
      const t0 = performance.now();
      await b.messageFlagsAdd("1", ["\\Flagged", "$Important"]);
      const t1 = performance.now();
      const got = await within(ev, SYNC_MS, "A sees B's STORE");
      t.diagnostic(`STORE → A: ${since(t0)} from sending (B's command took ${(t1 - t0).toFixed(1)} ms)`);
      assert.equal(got.seq, 1);
      assert.ok(got.flags.has("$Important"));
      condstoreFetch(got, 1);
      assert.ok(a.idling, "A was still in IDLE");
    });

    it("APPEND by B reaches A (EXISTS) during IDLE within 1 s", async (t: TestContext) => {
      await startIdle();
      const ev = nextEvent<{ count: number; prevCount: number }>(a, "exists");
      const t0 = performance.now();
      const res = await b.append("INBOX", message("appended by B", "hello from B\r\n"), ["\\Seen"]);
      const got = await within(ev, SYNC_MS, "A sees B's APPEND");
      t.diagnostic(`APPEND → A: ${since(t0)} from sending`);
      assert.deepEqual([got.prevCount, got.count], [1, 2]);
      assert.ok(res && typeof res === "object" && res.uid === 2, "APPENDUID names uid 2");
      assert.ok(a.idling);
    });

    it("MOVE by B (to Archive) reaches A (EXPUNGE) during IDLE within 1 s", async (t: TestContext) => {
      await startIdle();
      // B's own view learns about its APPEND first (NOOP), so seq 2 is the appended message
      await b.noop();
      const ev = nextEvent<ExpungeEv>(a, "expunge");
      const t0 = performance.now();
      const moved = await b.messageMove("2", "Archive");
      const got = await within(ev, SYNC_MS, "A sees B's MOVE");
      t.diagnostic(`MOVE → A: ${since(t0)} from sending`);
      assert.ok(moved && typeof moved === "object" && moved.uidMap?.get(2) !== undefined, "COPYUID in MOVE");
      expungeForm(got, 2, 2);
      assert.ok(a.idling);
    });

    it("STORE \\Deleted + EXPUNGE by B reach A during IDLE within 1 s each", async (t: TestContext) => {
      await startIdle();
      const flagEv = nextEvent<{ seq: number; flags: Set<string> }>(a, "flags", (x) =>
        x.flags.has("\\Deleted"),
      );
      let t0 = performance.now();
      await b.messageFlagsAdd("1", ["\\Deleted"]);
      const f = await within(flagEv, SYNC_MS, "A sees \\Deleted");
      t.diagnostic(`STORE \\Deleted → A: ${since(t0)} from sending`);
      assert.equal(f.seq, 1);
      assert.ok(f.flags.has("\\Flagged"), "earlier flags kept");

      const exEv = nextEvent<ExpungeEv>(a, "expunge");
      // messageDelete = STORE +FLAGS \Deleted, then UID EXPUNGE (UIDPLUS)
      t0 = performance.now();
      assert.equal(await b.messageDelete("1"), true);
      const x = await within(exEv, SYNC_MS, "A sees B's EXPUNGE");
      t.diagnostic(`EXPUNGE → A: ${since(t0)} from sending`);
      expungeForm(x, 1, 1);
      condstoreFetch(f, 1); // checked last, so that a failure here does not leave message 1 behind
      assert.ok(a.idling);
    });

    it("`postkontor deliver` (another process) reaches A during IDLE within 1 s", async (t: TestContext) => {
      await startIdle();
      const ev = nextEvent<{ count: number; prevCount: number }>(a, "exists");
      const t0 = performance.now();
      await deliver(e, USER_A, message("delivered while idling", "pushed\r\n"));
      const t1 = performance.now();
      const got = await within(ev, SYNC_MS, "A sees the delivered message");
      t.diagnostic(`deliver → A: ${since(t0)} from spawning the CLI (which ran ${(t1 - t0).toFixed(0)} ms)`);
      assert.equal(got.count, 1, "* 1 EXISTS");
      // imapflow 2.1.2 does not decrement its `exists` on VANISHED, so prevCount is only right without QRESYNC
      if (!qresync) assert.equal(got.prevCount, 0);
      assert.ok(a.idling);
    });

    it("A's mailbox view matches the server after the changes", async () => {
      // leaves IDLE (imapflow sends DONE), then fetches
      const all: Array<{ uid: number; subject: string | undefined }> = [];
      for await (const m of a.fetch("1:*", { uid: true, envelope: true })) {
        all.push({ uid: m.uid, subject: m.envelope?.subject });
      }
      assert.deepEqual(all, [{ uid: 3, subject: "delivered while idling" }]);
      const st = await b.status("Archive", { messages: true });
      assert.ok(st, "STATUS Archive answered");
      assert.equal(st.messages, 1);
    });

    it("a folder created by B shows up in A's LIST", async () => {
      await startIdle();
      await b.mailboxCreate(["Projects", "2025"]);
      const list = await a.list();
      const paths = list.map((m) => m.path);
      assert.ok(paths.includes("Projects/2025"), `A's LIST: ${paths.join(", ")}`);
      assert.ok(paths.includes("Projects"));
    });

    it("folders renamed and deleted by B disappear from A's LIST", async () => {
      await b.mailboxRename("Projects/2025", "Projects/2026");
      await b.mailboxCreate("Temp");
      await b.mailboxDelete("Temp");
      const paths = (await a.list()).map((m) => m.path);
      assert.ok(paths.includes("Projects/2026"), `A's LIST: ${paths.join(", ")}`);
      assert.ok(!paths.includes("Projects/2025"));
      assert.ok(!paths.includes("Temp"));
    });

    it("outside IDLE, A gets B's changes at its next NOOP (RFC 9051 §7.5)", async () => {
      // A is selected on INBOX (1 message, uid 3) and not idling after the LIST above
      assert.equal(a.idling, false);
      const flags = nextEvent<FlagsEv>(a, "flags", (x) => x.flags.has("\\Answered"));
      const exists = nextEvent<{ count: number }>(a, "exists");
      await b.noop();
      await b.messageFlagsAdd({ uid: "3" }, ["\\Answered"], { uid: true });
      await b.append("INBOX", message("while A is busy"));
      await a.noop();
      const f = await within(flags, SYNC_MS, "FETCH at NOOP");
      const x = await within(exists, SYNC_MS, "EXISTS at NOOP");
      assert.equal(f.seq, 1);
      assert.equal(x.count, 2);
    });
  });
}
