/**
 * Randomised multi-client stress test (in the spirit of Dovecot's imaptest): several sessions on
 * one mailbox run random commands concurrently with a fixed seed. Every session keeps its own
 * model of the mailbox, built only from the responses it received, and checks after each line:
 *
 * - EXPUNGE names a known sequence number and never arrives while a non-UID FETCH, STORE or
 *   SEARCH is answered (RFC 9051 §7.5.1); QRESYNC sessions get VANISHED instead (RFC 7162 §3.2.10);
 * - EXISTS never goes below the number of messages the session knows (RFC 9051 §7.4.1);
 * - FETCH names a sequence number in range, its UID agrees with the one the session knows;
 * - every keyword in a FLAGS item was announced by an untagged FLAGS response before
 *   (RFC 9051 §7.3.5 — imaptest: "Keyword used without being in FLAGS");
 * - SEARCH results are within range; valid commands never get NO or BAD; the server logs no error;
 * - \Recent (RFC 3501 §2.3.2): never in an IMAP4rev2 session; a uid shown with \Recent keeps it
 *   for the session, one shown without never gains it.
 *
 * At the end every session runs NOOP and its model (sequence → UID, flags it knows) must equal
 * the store and a UID SEARCH ALL, and the IMAP4rev1 sessions' UID SEARCH RECENT sets must be
 * disjoint and together cover every message (each is recent in exactly one session).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Client, message, type Response, startServer, type TestServer } from "./helpers.ts";

/** mulberry32: small deterministic PRNG */
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

const FLAG_POOL = [
  "\\Seen",
  "\\Flagged",
  "\\Deleted",
  "\\Answered",
  "\\Draft",
  "$Label1",
  "$label1",
  "Work",
  "todo",
];
const SYSTEM = new Set(["\\seen", "\\flagged", "\\deleted", "\\answered", "\\draft", "\\recent"]);

interface Model {
  name: string;
  c: Client;
  qresync: boolean;
  condstore: boolean;
  rev2: boolean;
  /** uid per sequence number; 0 = not yet known (announced by EXISTS only) */
  uids: number[];
  /** flags as last reported; absent = unknown */
  flags: Map<number, Set<string>>;
  /** keywords announced by FLAGS (lower case) */
  keywords: Set<string>;
  /** uids shown with \Recent / shown without it */
  recent: Set<number>;
  notRecent: Set<number>;
  errors: string[];
  ops: number;
}

function parseFlags(s: string): string[] {
  return s.trim() === "" ? [] : s.trim().split(/\s+/);
}

/** parses "1:3,7" */
function parseSet(s: string): number[] {
  const out: number[] = [];
  for (const part of s.split(",")) {
    const [a, b] = part.split(":").map(Number) as [number, number | undefined];
    if (b === undefined) out.push(a);
    else for (let i = Math.min(a, b); i <= Math.max(a, b); i++) out.push(i);
  }
  return out;
}

function setString(nums: number[]): string {
  return nums.join(",");
}

/**
 * Applies one response's untagged lines to the model. `seqCmd` = a non-UID FETCH/STORE/SEARCH
 * was answered (no EXPUNGE allowed); `uidSearch` says how to read SEARCH numbers.
 */
function apply(
  m: Model,
  r: Response | string[],
  cmd: string,
  seqCmd: boolean,
  uidSearch: boolean,
): number[] | null {
  const lines = Array.isArray(r) ? r : r.lines;
  let searchResult: number[] | null = null;
  const err = (msg: string, line: string) =>
    m.errors.push(`${m.name}: ${msg} [cmd: ${cmd}] [line: ${line.slice(0, 200)}]`);
  for (const line of lines) {
    let x: RegExpExecArray | null;
    if ((x = /^\* (\d+) EXISTS$/.exec(line))) {
      const n = Number(x[1]);
      if (n < m.uids.length) err(`EXISTS decreased from ${m.uids.length} to ${n}`, line);
      while (m.uids.length < n) m.uids.push(0);
    } else if ((x = /^\* (\d+) EXPUNGE$/.exec(line))) {
      const n = Number(x[1]);
      if (m.qresync) err("EXPUNGE sent to a QRESYNC session", line);
      if (seqCmd) err("EXPUNGE while answering a sequence-number command", line);
      if (n < 1 || n > m.uids.length) err(`EXPUNGE for unknown seq ${n} (have ${m.uids.length})`, line);
      else {
        const uid = m.uids[n - 1]!;
        m.uids.splice(n - 1, 1);
        m.flags.delete(uid);
      }
    } else if ((x = /^\* VANISHED (\(EARLIER\) )?([\d:,]+)$/.exec(line))) {
      if (!m.qresync) err("VANISHED without QRESYNC", line);
      if (x[1]) continue; // EARLIER: informational, about messages not in the session's view
      if (seqCmd) err("VANISHED while answering a sequence-number command", line);
      for (const uid of parseSet(x[2]!)) {
        const i = m.uids.indexOf(uid);
        if (i >= 0) {
          m.uids.splice(i, 1);
          m.flags.delete(uid);
        } else {
          // an unknown uid: one of the messages known by EXISTS only, between the known
          // uids below and above it (which of those placeholders does not matter)
          let j = -1;
          for (let q = 0; q < m.uids.length; q++) {
            const v = m.uids[q]!;
            if (v > uid) break;
            if (v === 0) j = q;
          }
          if (j < 0) err(`VANISHED for uid ${uid} the session never saw`, line);
          else m.uids.splice(j, 1);
        }
      }
    } else if ((x = /^\* (\d+) FETCH \((.*)\)$/s.exec(line))) {
      const n = Number(x[1]);
      const body = x[2]!;
      if (n < 1 || n > m.uids.length) {
        err(`FETCH for seq ${n} out of range (have ${m.uids.length})`, line);
        continue;
      }
      const u = /(?:^| )UID (\d+)/.exec(body);
      let uid = m.uids[n - 1]!;
      if (u) {
        const got = Number(u[1]);
        if (uid === 0) {
          // unknown uid: must be above every known uid before it and below those after it
          const before = m.uids.slice(0, n - 1).filter((v) => v > 0);
          const afterU = m.uids.slice(n).filter((v) => v > 0);
          if (before.some((v) => v >= got) || afterU.some((v) => v <= got))
            err(`UID ${got} breaks ascending order at seq ${n}`, line);
          m.uids[n - 1] = got;
          uid = got;
        } else if (uid !== got) err(`seq ${n} has UID ${got}, session knows ${uid}`, line);
      } else if (m.qresync) err("FETCH without UID in a QRESYNC session", line);
      const f = /FLAGS \(([^)]*)\)/.exec(body);
      if (f) {
        const fl = parseFlags(f[1]!);
        for (const k of fl) {
          if (k.startsWith("\\")) {
            if (!SYSTEM.has(k.toLowerCase())) err(`unknown system flag ${k}`, line);
          } else if (!m.keywords.has(k.toLowerCase())) err(`keyword ${k} used without being in FLAGS`, line);
        }
        const isRecent = fl.some((k) => k.toLowerCase() === "\\recent");
        if (isRecent && m.rev2) err("\\Recent in an IMAP4rev2 session", line);
        if (uid > 0) {
          if (isRecent && m.notRecent.has(uid)) err(`UID ${uid} became \\Recent`, line);
          if (!isRecent && m.recent.has(uid)) err(`UID ${uid} lost \\Recent`, line);
          (isRecent ? m.recent : m.notRecent).add(uid);
          m.flags.set(uid, new Set(fl.map((k) => k.toLowerCase()).filter((k) => k !== "\\recent")));
        }
      }
    } else if ((x = /^\* FLAGS \(([^)]*)\)$/.exec(line))) {
      const fl = parseFlags(x[1]!);
      for (const k of m.keywords) {
        if (!fl.some((f) => f.toLowerCase() === k)) err(`FLAGS dropped announced keyword ${k}`, line);
      }
      for (const k of fl) if (!k.startsWith("\\")) m.keywords.add(k.toLowerCase());
    } else if ((x = /^\* SEARCH((?: \d+)*)(?: \(MODSEQ \d+\))?$/.exec(line))) {
      searchResult = x[1]!.trim() === "" ? [] : x[1]!.trim().split(" ").map(Number);
    } else if ((x = /^\* ESEARCH \(TAG "[^"]*"\)( UID)?(.*)$/.exec(line))) {
      const all = / ALL ([\d:,]+)/.exec(x[2]!);
      searchResult = all ? parseSet(all[1]!) : [];
    } else if (/^\* \d+ RECENT$/.test(line)) {
      if (m.rev2) err("RECENT in an IMAP4rev2 session", line);
    } else if (/^\* (OK|NO|BAD|BYE|CAPABILITY|ENABLED|LIST|STATUS)\b/.test(line)) {
      if (/^\* (NO|BAD|BYE)/.test(line)) err("unexpected untagged condition", line);
    } else if (line.startsWith("+")) {
      // continuation (APPEND, IDLE)
    } else err("unparsed response line", line);
  }
  if (searchResult) {
    for (const v of searchResult) {
      if (uidSearch ? !(v > 0) : v < 1 || v > m.uids.length) err(`SEARCH result ${v} out of range`, cmd);
    }
  }
  return searchResult;
}

function pick<T>(r: () => number, a: readonly T[]): T {
  return a[Math.floor(r() * a.length)]!;
}

function randomFlags(r: () => number): string {
  const n = 1 + Math.floor(r() * 3);
  const out = new Set<string>();
  for (let i = 0; i < n; i++) out.add(pick(r, FLAG_POOL));
  return [...out].join(" ");
}

/** a random sequence set within 1..n (n ≥ 1) */
function seqSet(r: () => number, n: number): string {
  const a = 1 + Math.floor(r() * n);
  const k = r();
  if (k < 0.4) return String(a);
  if (k < 0.7) return `${a}:${Math.min(n, a + Math.floor(r() * 4))}`;
  if (k < 0.85) return `${a}:*`;
  return `${a},${1 + Math.floor(r() * n)}`;
}

function knownUidSet(r: () => number, m: Model): string | null {
  const known = m.uids.filter((u) => u > 0);
  if (known.length === 0) return null;
  const k = r();
  if (k < 0.2) return `${pick(r, known)}:*`;
  const picked = new Set<number>();
  for (let i = 0; i < 1 + Math.floor(r() * 3); i++) picked.add(pick(r, known));
  // sometimes a uid that does not exist (expunged or never used): must be ignored silently
  if (r() < 0.2) picked.add(known[known.length - 1]! + 1000);
  return setString([...picked]);
}

async function step(m: Model, r: () => number): Promise<void> {
  const n = m.uids.length;
  const k = r();
  let cmd: string;
  let seqCmd = false;
  let uidSearch = false;
  if (k < 0.12 || n === 0) {
    const res = await m.c.append(
      "INBOX",
      message(`stress ${m.name} ${m.ops}`),
      r() < 0.5 ? randomFlags(r) : "",
    );
    check(m, res, "APPEND");
    apply(m, res, "APPEND", false, false);
    return;
  }
  if (k < 0.32) {
    const silent = r() < 0.15;
    cmd = `STORE ${seqSet(r, n)} ${pick(r, ["+", "-", ""])}FLAGS${silent ? ".SILENT" : ""} (${randomFlags(r)})`;
    seqCmd = true;
    if (silent) {
      // our own silent change: flags of the named messages are no longer known exactly
      m.flags.clear();
    }
  } else if (k < 0.4) {
    const set = knownUidSet(r, m);
    if (!set) return;
    cmd = `UID STORE ${set} ${pick(r, ["+", "-"])}FLAGS (${randomFlags(r)})`;
  } else if (k < 0.47) cmd = "EXPUNGE";
  else if (k < 0.52) {
    const set = knownUidSet(r, m);
    if (!set) return;
    cmd = `UID EXPUNGE ${set}`;
  } else if (k < 0.57) cmd = `MOVE ${seqSet(r, n)} Archive`;
  else if (k < 0.6) {
    const set = knownUidSet(r, m);
    if (!set) return;
    cmd = `UID MOVE ${set} Archive`;
  } else if (k < 0.64) cmd = `COPY ${seqSet(r, n)} ${pick(r, ["Archive", "INBOX"])}`;
  else if (k < 0.72) {
    cmd = `FETCH ${seqSet(r, n)} ${pick(r, ["(FLAGS)", "(UID FLAGS)", "(FLAGS RFC822.SIZE)", "(BODY[])", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)] UID)"])}`;
    seqCmd = true;
  } else if (k < 0.78) cmd = `UID FETCH ${pick(r, ["1:*", knownUidSet(r, m) ?? "1:*"])} (FLAGS)`;
  else if (k < 0.83) {
    cmd = `SEARCH ${pick(r, ["ALL", "UNSEEN", "FLAGGED NOT DELETED", "OR SEEN KEYWORD todo", `${seqSet(r, n)} UNDELETED`, "KEYWORD $LABEL1"])}`;
    seqCmd = true;
  } else if (k < 0.87) {
    cmd = `UID SEARCH ${pick(r, ["ALL", "DELETED", "NOT SEEN", "UID 1:*", "KEYWORD work"])}`;
    uidSearch = true;
  } else if (k < 0.93)
    cmd = pick(r, ["NOOP", "CHECK", "NOOP", "STATUS INBOX (MESSAGES UNSEEN RECENT UIDNEXT)", 'LIST "" *']);
  else {
    // IDLE for a short while; updates arrive while idling, then DONE
    const tag = m.c.nextTag();
    m.c.write(`${tag} IDLE\r\n`);
    const cont = await m.c.readLine();
    if (!cont.startsWith("+")) m.errors.push(`${m.name}: IDLE not accepted: ${cont}`);
    await new Promise((res) => setTimeout(res, 5 + Math.floor(r() * 20)));
    m.c.write("DONE\r\n");
    const res = await m.c.collect(tag);
    check(m, res, "IDLE");
    apply(m, res, "IDLE", false, false);
    return;
  }
  const res = await m.c.cmd(cmd);
  check(m, res, cmd);
  apply(m, res, cmd, seqCmd, uidSearch);
}

function check(m: Model, res: Response, cmd: string): void {
  if (!res.ok) m.errors.push(`${m.name}: ${cmd} → ${res.tagged}`);
}

describe("IMAP multi-client stress", () => {
  let t: TestServer;
  before(async () => {
    t = await startServer({ limits: { maxConnectionsPerIp: 1000, maxConnectionsPerUser: 1000 } });
  });
  after(async () => {
    await t.close();
  });

  it("six sessions stay consistent with each other and with the store", async () => {
    const SESSIONS = 6;
    const OPS = Number(process.env.STRESS_OPS ?? 300);
    const deadline = Date.now() + 90_000;
    const inbox = (await t.store.getMailbox(t.accountId, "INBOX"))!;
    for (let i = 0; i < 15; i++) {
      await t.store.append(t.accountId, inbox.id, {
        raw: Buffer.from(message(`seed ${i}`)),
        flags: i % 3 === 0 ? ["\\Seen", "todo"] : [],
      });
    }
    const models: Model[] = [];
    for (let i = 0; i < SESSIONS; i++) {
      const c = await t.login();
      const m: Model = {
        name: `S${i}`,
        c,
        qresync: i === 4 || i === 5,
        condstore: i >= 3,
        rev2: i === 2,
        uids: [],
        flags: new Map(),
        keywords: new Set(),
        recent: new Set(),
        notRecent: new Set(),
        errors: [],
        ops: 0,
      };
      if (m.rev2) assert.ok((await c.cmd("ENABLE IMAP4rev2")).ok);
      if (m.qresync) assert.ok((await c.cmd("ENABLE QRESYNC")).ok);
      else if (m.condstore) assert.ok((await c.cmd("ENABLE CONDSTORE")).ok);
      const sel = await c.cmd("SELECT INBOX");
      assert.ok(sel.ok, sel.tagged);
      apply(m, sel, "SELECT", false, false);
      const f = await c.cmd("FETCH 1:* (UID FLAGS)");
      apply(m, f, "FETCH", true, false);
      models.push(m);
    }
    await Promise.all(
      models.map(async (m, i) => {
        const r = rng(0x5eed + i * 7919);
        for (m.ops = 0; m.ops < OPS && Date.now() < deadline; m.ops++) {
          await step(m, r);
          if (m.errors.length > 20) break;
        }
      }),
    );
    // quiesce: every session polls, then compares its view with the store
    const stored = await t.store.listMessages(inbox.id);
    const storeUids = stored.map((s) => s.uid);
    const storeFlags = new Map(stored.map((s) => [s.uid, new Set(s.flags.map((f) => f.toLowerCase()))]));
    for (const m of models) {
      const res = await m.c.cmd("NOOP");
      check(m, res, "NOOP");
      apply(m, res, "NOOP", false, false);
      const s = await m.c.cmd("UID SEARCH ALL");
      const uids = apply(m, s, "UID SEARCH ALL", false, true) ?? [];
      if (uids.length !== m.uids.length)
        m.errors.push(`${m.name}: knows ${m.uids.length} messages, UID SEARCH ALL has ${uids.length}`);
      m.uids.forEach((u, i) => {
        if (u !== 0 && u !== uids[i])
          m.errors.push(`${m.name}: seq ${i + 1} known as UID ${u}, server says ${uids[i]}`);
      });
      assert.deepEqual(uids, storeUids, `${m.name}: UID SEARCH ALL vs store`);
      for (const [uid, fl] of m.flags) {
        const want = storeFlags.get(uid);
        if (!want) continue;
        const a = [...fl].sort().join(" ");
        const b = [...want].sort().join(" ");
        if (a !== b) m.errors.push(`${m.name}: UID ${uid} flags (${a}) but store has (${b})`);
      }
    }
    // RFC 3501 §2.3.2: every message is \Recent in exactly one IMAP4rev1 session (all of them
    // stayed selected read-write throughout), none is left unclaimed
    const owner = new Map<number, string>();
    for (const m of models) {
      if (m.rev2) continue;
      const res = await m.c.cmd("UID SEARCH RECENT");
      const rec = new Set(apply(m, res, "UID SEARCH RECENT", false, true) ?? []);
      for (const u of rec) {
        const o = owner.get(u);
        if (o) m.errors.push(`${m.name}: UID ${u} is \\Recent here and in ${o}`);
        owner.set(u, m.name);
        if (m.notRecent.has(u))
          m.errors.push(`${m.name}: UID ${u} shown without \\Recent, SEARCH RECENT has it`);
      }
      for (const u of m.recent) {
        if (!rec.has(u) && storeFlags.has(u))
          m.errors.push(`${m.name}: UID ${u} shown \\Recent, not in SEARCH RECENT`);
      }
    }
    assert.deepEqual(
      [...owner.keys()].sort((a, b) => a - b),
      storeUids,
      "every message is \\Recent in exactly one session",
    );
    assert.equal(await t.store.countUnclaimed(inbox.id), 0);
    assert.ok(
      models.some((m) => m.recent.size > 0),
      "some session saw \\Recent",
    );
    const errors = models.flatMap((m) => m.errors);
    const logged = t.logs.filter((l) => l.level === "error");
    assert.deepEqual(logged, [], "server logged errors");
    assert.deepEqual(errors.slice(0, 30), [], `${errors.length} consistency errors`);
    assert.ok(models.every((m) => m.ops > 0));
  });
});
