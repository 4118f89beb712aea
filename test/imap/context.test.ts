/**
 * CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 §4) over a real socket: RETURN (UPDATE) contexts and
 * their unsolicited ESEARCH ADDTO/REMOVEFROM, caused by this session, by another connection and
 * during IDLE; CANCELUPDATE; the per-session limit (NOUPDATE); tag reuse; contexts ending with
 * the selected mailbox. Across worker processes and SMTP delivery: context-serve.test.ts.
 *
 * Each check keeps the client's copy of a context the way RFC 5267 §4.3.2–§4.3.4 says a client
 * applies the updates, and compares it with a fresh search, so a wrong position or number fails.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import {
  deliver,
  type E2E,
  message as e2eMessage,
  PASS_A,
  servingPid,
  startE2E,
  USER_A,
} from "../e2e/helpers.ts";
import { SmtpClient } from "../kit/smtp-client.ts";
import { Client, message, type Response, startServer, type TestServer } from "./helpers.ts";

/** a sequence-set in the server's order: "5:6,3" → [5, 6, 3] */
function expand(set: string): number[] {
  const out: number[] = [];
  for (const part of set.split(",")) {
    const [a, b] = part.split(":").map(Number);
    if (b === undefined) out.push(a!);
    else for (let i = Math.min(a!, b); i <= Math.max(a!, b); i++) out.push(i);
  }
  return out;
}

/** the client's copy of one context (RFC 5267 §4.3.3, §4.3.4) */
class Ctx {
  readonly tag: string;
  list: number[];
  constructor(tag: string, list: number[]) {
    this.tag = tag;
    this.list = list;
  }
  /** applies every ESEARCH update line for this tag; returns how many lines it applied */
  apply(lines: readonly string[]): number {
    let n = 0;
    for (const l of lines) {
      const head = `* ESEARCH (TAG "${this.tag}")`;
      if (!l.startsWith(head)) continue;
      n++;
      const rest = l.slice(head.length).replace(/^ UID/, "");
      for (const m of rest.matchAll(/ (ADDTO|REMOVEFROM) \(([^)]*)\)/g)) {
        const words = m[2]!.split(" ");
        for (let i = 0; i < words.length; i += 2) {
          const pos = Number(words[i]);
          const set = expand(words[i + 1]!);
          if (m[1] === "ADDTO") {
            if (pos === 0) this.list = [...this.list, ...set].sort((a, b) => a - b);
            else this.list.splice(pos - 1, 0, ...set);
          } else if (pos === 0) {
            this.list = this.list.filter((x) => !set.includes(x));
          } else {
            assert.deepEqual(this.list.slice(pos - 1, pos - 1 + set.length), set, l);
            this.list.splice(pos - 1, set.length);
          }
        }
      }
    }
    return n;
  }
  /** after an EXPUNGE of sequence number `seq`: the client renumbers its sequence numbers */
  expunged(seq: number): void {
    this.list = this.list.filter((x) => x !== seq).map((x) => (x > seq ? x - 1 : x));
  }
}

function allOf(r: Response): number[] {
  assert.ok(r.ok, r.text);
  const l = r.lines.find(
    (x) => x.startsWith("* ESEARCH") || x.startsWith("* SEARCH") || x.startsWith("* SORT"),
  );
  if (!l) return [];
  const all = / ALL (\S+)/.exec(l);
  if (all) return expand(all[1]!);
  if (l.startsWith("* ESEARCH")) return [];
  return l.split(" ").slice(2).map(Number);
}

describe("IMAP CONTEXT=SEARCH / CONTEXT=SORT (RFC 5267 §4)", () => {
  let t: TestServer;
  let a: Client;
  let b: Client;
  beforeEach(async () => {
    t = await startServer({ limits: { maxBadCommands: 100, maxSearchContexts: 3 } });
    a = await t.login();
    b = await t.login();
    // UIDs 1..6, subjects d b f a c e: SORT (SUBJECT) order is 4 2 5 1 6 3
    for (const s of ["d", "b", "f", "a", "c", "e"]) await a.append("INBOX", message(s));
    assert.ok((await a.cmd("SELECT INBOX")).ok);
    assert.ok((await b.cmd("SELECT INBOX")).ok);
  });
  afterEach(async () => {
    await t.close();
  });

  it("advertises CONTEXT=SEARCH and CONTEXT=SORT", async () => {
    const caps = (await a.cmd("CAPABILITY")).lines[0]!.split(" ");
    assert.ok(caps.includes("CONTEXT=SEARCH") && caps.includes("CONTEXT=SORT"), caps.join(" "));
  });

  it("UID SEARCH RETURN (UPDATE): flag changes and new mail from another connection", async () => {
    const r = await a.cmd("UID SEARCH RETURN (UPDATE) UNSEEN");
    assert.ok(r.lines.includes(`* ESEARCH (TAG "${r.tag}") UID ALL 1:6`), r.text); // UPDATE alone: ALL
    const cx = new Ctx(r.tag, allOf(r));
    assert.ok((await b.cmd("UID STORE 2,5 +FLAGS (\\Seen)")).ok);
    let n = await a.cmd("NOOP");
    assert.ok(n.lines.includes(`* ESEARCH (TAG "${r.tag}") UID REMOVEFROM (0 2,5)`), n.text);
    assert.equal(cx.apply(n.lines), 1);
    // a new unseen message: EXISTS first, then ADDTO (§4.3.3)
    assert.ok((await b.append("INBOX", message("g"))).ok);
    n = await a.cmd("NOOP");
    const exists = n.lines.indexOf("* 7 EXISTS");
    const addto = n.lines.indexOf(`* ESEARCH (TAG "${r.tag}") UID ADDTO (0 7)`);
    assert.ok(exists >= 0 && addto > exists, n.text);
    cx.apply(n.lines);
    // a change that does not change the result sends nothing
    assert.ok((await b.cmd("UID STORE 1 +FLAGS (\\Flagged)")).ok);
    n = await a.cmd("NOOP");
    assert.equal(cx.apply(n.lines), 0, n.text);
    assert.deepEqual(cx.list, allOf(await a.cmd("UID SEARCH UNSEEN")));
  });

  it("SEARCH (sequence numbers): REMOVEFROM comes before the EXPUNGE, numbered as before it", async () => {
    const r = await a.cmd("SEARCH RETURN (UPDATE ALL) UNDELETED");
    const cx = new Ctx(r.tag, allOf(r));
    assert.deepEqual(cx.list, [1, 2, 3, 4, 5, 6]);
    assert.ok((await b.cmd("STORE 3 +FLAGS.SILENT (\\Deleted)")).ok);
    assert.ok((await b.cmd("EXPUNGE")).ok);
    const n = await a.cmd("NOOP");
    const rm = n.lines.indexOf(`* ESEARCH (TAG "${r.tag}") REMOVEFROM (0 3)`);
    const ex = n.lines.indexOf("* 3 EXPUNGE");
    assert.ok(rm >= 0 && ex > rm, n.text);
    cx.apply(n.lines);
    cx.expunged(3);
    assert.deepEqual(cx.list, allOf(await a.cmd("SEARCH UNDELETED")));
    // this session's own changes: the update comes with its STORE
    let own = await a.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)");
    assert.ok(own.lines.includes(`* ESEARCH (TAG "${r.tag}") REMOVEFROM (0 1)`), own.text);
    cx.apply(own.lines);
    own = await a.cmd("EXPUNGE");
    assert.ok(!own.lines.some((l) => l.startsWith("* ESEARCH")), own.text); // already removed
    cx.expunged(1);
    assert.deepEqual(cx.list, allOf(await a.cmd("SEARCH UNDELETED")));
  });

  it("UID SORT RETURN (UPDATE): positions keep the sort order", async () => {
    const r = await a.cmd("UID SORT RETURN (UPDATE) (SUBJECT) UTF-8 UNSEEN");
    assert.ok(r.lines.includes(`* ESEARCH (TAG "${r.tag}") UID ALL 4,2,5,1,6,3`), r.text);
    const cx = new Ctx(r.tag, allOf(r));
    assert.ok((await b.cmd("UID STORE 2,5,3 +FLAGS (\\Seen)")).ok);
    let n = await a.cmd("NOOP");
    // 2 and 5 from position 2, then 3 from position 4 of what is left
    assert.ok(n.lines.includes(`* ESEARCH (TAG "${r.tag}") UID REMOVEFROM (2 2,5 4 3)`), n.text);
    cx.apply(n.lines);
    assert.deepEqual(cx.list, [4, 1, 6]);
    for (const s of ["bb", "aa", "z"]) assert.ok((await b.append("INBOX", message(s))).ok); // 7 8 9
    assert.ok((await b.cmd("UID STORE 5 -FLAGS (\\Seen)")).ok);
    n = await a.cmd("NOOP");
    assert.ok(n.lines.includes(`* ESEARCH (TAG "${r.tag}") UID ADDTO (2 8,7,5 7 9)`), n.text);
    cx.apply(n.lines);
    assert.deepEqual(cx.list, allOf(await a.cmd("UID SORT (SUBJECT) UTF-8 UNSEEN")));
  });

  it("SORT with sequence numbers and REVERSE, across expunges and new mail", async () => {
    const r = await a.cmd("SORT RETURN (UPDATE COUNT) (REVERSE SUBJECT) UTF-8 UNSEEN");
    assert.ok(r.lines.includes(`* ESEARCH (TAG "${r.tag}") COUNT 6`), r.text); // COUNT only: no ALL
    const cx = new Ctx(r.tag, allOf(await a.cmd("SORT (REVERSE SUBJECT) UTF-8 UNSEEN")));
    assert.ok((await b.cmd("UID STORE 1 +FLAGS.SILENT (\\Deleted)")).ok);
    assert.ok((await b.cmd("UID EXPUNGE 1")).ok);
    assert.ok((await b.append("INBOX", message("cc"))).ok);
    assert.ok((await b.cmd("UID STORE 6 +FLAGS (\\Seen)")).ok);
    const n = await a.cmd("NOOP");
    const ex = n.lines.indexOf("* 1 EXPUNGE");
    const rm = n.lines.findIndex((l) => l.includes("REMOVEFROM"));
    const add = n.lines.findIndex((l) => l.includes("ADDTO"));
    const exists = n.lines.findIndex((l) => l.endsWith(" EXISTS"));
    assert.ok(rm >= 0 && ex > rm && add > exists && exists >= 0, n.text);
    cx.apply(n.lines.slice(0, ex));
    cx.expunged(1);
    cx.apply(n.lines.slice(ex));
    assert.deepEqual(cx.list, allOf(await a.cmd("SORT (REVERSE SUBJECT) UTF-8 UNSEEN")));
  });

  it("updates are pushed during IDLE", async () => {
    const r = await a.cmd("UID SEARCH RETURN (UPDATE MIN) FLAGGED");
    assert.ok(!r.lines.some((l) => l.includes(" MIN ")), r.text); // nothing flagged yet
    a.write("I1 IDLE\r\n");
    assert.match(await a.readLine(), /^\+ /);
    assert.ok((await b.cmd("UID STORE 4 +FLAGS (\\Flagged)")).ok);
    // "no interaction" with MIN (§4.3): the update names the message, not a minimum
    await a.readUntil(new RegExp(`^\\* ESEARCH \\(TAG "${r.tag}"\\) UID ADDTO \\(0 4\\)$`));
    a.write("DONE\r\n");
    await a.readUntil(/^I1 OK/);
  });

  it("CANCELUPDATE stops a context; unknown tags, tag reuse and the wrong state are errors", async () => {
    const r1 = await a.cmd("UID SEARCH RETURN (UPDATE) UNSEEN");
    const r2 = await a.cmd("UID SEARCH RETURN (UPDATE CONTEXT) ALL");
    // RFC 5267 §4.3: UPDATE with a tag that names a live context is BAD (the client picks the tag)
    a.write(`${r1.tag} UID SEARCH RETURN (UPDATE) ALL\r\n`);
    const reuse = await a.collect(r1.tag);
    assert.match(reuse.tagged, / BAD /);
    assert.ok(!reuse.lines.some((l) => l.startsWith("* ESEARCH")), reuse.text);
    // without UPDATE the tag is free to use
    a.write(`${r1.tag} UID SEARCH RETURN (COUNT) ALL\r\n`);
    assert.ok((await a.collect(r1.tag)).ok);
    assert.match((await a.cmd(`CANCELUPDATE "${r1.tag}" "nosuch"`)).tagged, / BAD /); // none stopped
    assert.match((await a.cmd("CANCELUPDATE")).tagged, / BAD /);
    assert.match((await a.cmd(`CANCELUPDATE ${r1.tag}`)).tagged, / BAD /); // quoted strings only
    assert.ok((await a.cmd(`CANCELUPDATE "${r1.tag}"`)).ok);
    assert.match((await a.cmd(`CANCELUPDATE "${r1.tag}"`)).tagged, / BAD /); // already gone
    assert.ok((await b.cmd("UID STORE 1 +FLAGS (\\Seen)")).ok);
    assert.ok((await b.append("INBOX", message("new"))).ok);
    const n = await a.cmd("NOOP");
    assert.ok(!n.lines.some((l) => l.startsWith(`* ESEARCH (TAG "${r1.tag}")`)), n.text);
    assert.ok(n.lines.includes(`* ESEARCH (TAG "${r2.tag}") UID ADDTO (0 7)`), n.text);
    const w = await t.login();
    assert.match((await w.cmd(`CANCELUPDATE "${r2.tag}"`)).tagged, / BAD /); // not selected
  });

  it("beyond imap.limits.max_search_contexts: NO [NOUPDATE] and the other return options", async () => {
    for (let i = 0; i < 3; i++) assert.ok((await a.cmd("SEARCH RETURN (UPDATE) ALL")).ok);
    const r = await a.cmd("UID SORT RETURN (UPDATE MAX) (SUBJECT) UTF-8 ALL");
    assert.ok(r.ok, r.text);
    assert.ok(
      r.lines.some((l) => l.startsWith(`* NO [NOUPDATE "${r.tag}"]`)),
      r.text,
    );
    assert.ok(r.lines.includes(`* ESEARCH (TAG "${r.tag}") UID MAX 3`), r.text);
    assert.ok((await b.append("INBOX", message("zz"))).ok);
    const n = await a.cmd("NOOP");
    assert.equal(n.lines.filter((l) => l.startsWith("* ESEARCH")).length, 3, n.text);
    assert.ok(!n.lines.some((l) => l.startsWith(`* ESEARCH (TAG "${r.tag}")`)), n.text);
  });

  it("contexts end with the selected mailbox (UNSELECT, SELECT, CLOSE)", async () => {
    for (const end of ["UNSELECT", "SELECT INBOX", "CLOSE"]) {
      const r = await a.cmd("UID SEARCH RETURN (UPDATE) ALL");
      assert.ok(r.ok, r.text);
      assert.ok((await a.cmd(end)).ok, end);
      if (end !== "SELECT INBOX") assert.ok((await a.cmd("SELECT INBOX")).ok);
      assert.ok((await b.append("INBOX", message("after"))).ok);
      const n = await a.cmd("NOOP");
      assert.ok(!n.lines.some((l) => l.startsWith("* ESEARCH")), `${end}: ${n.text}`);
      // and the tag may name a new context
      a.write(`${r.tag} UID SEARCH RETURN (UPDATE) ALL\r\n`);
      assert.ok((await a.collect(r.tag)).ok, end);
      assert.ok((await a.cmd("UNSELECT")).ok);
      assert.ok((await a.cmd("SELECT INBOX")).ok);
    }
  });
});

describe("CONTEXT=SEARCH across worker processes and SMTP delivery (postkontor serve, workers = 2)", () => {
  let e: E2E;
  const clients: Client[] = [];
  before(async () => {
    e = await startE2E({ workers: 2 });
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await e?.close();
  });

  /** a logged-in raw client and the pid of the worker serving it (its ID is logged with the pid) */
  async function open(name: string): Promise<{ c: Client; pid: number }> {
    const c = await Client.connect(e.server.imapPort);
    clients.push(c);
    assert.ok((await c.cmd(`ID ("name" "${name}")`)).ok);
    const pid = await servingPid(e, name);
    assert.ok((await c.cmd(`LOGIN "${USER_A}" "${PASS_A}"`)).ok);
    return { c, pid };
  }

  it("a flag change in another worker and an SMTP delivery reach a context in IDLE", async () => {
    const a = await open(`ctx-a-${process.pid}`);
    let b = await open(`ctx-b-${process.pid}-0`);
    // node:cluster hands connections round-robin: a few tries land on the other worker
    for (let i = 1; b.pid === a.pid && i < 8; i++) b = await open(`ctx-b-${process.pid}-${i}`);
    assert.notEqual(b.pid, a.pid, "the two connections are served by different worker processes");
    for (const s of ["one", "two"]) await deliver(e, USER_A, e2eMessage(s));
    assert.ok((await a.c.cmd("SELECT INBOX")).ok);
    assert.ok((await b.c.cmd("SELECT INBOX")).ok);
    const r = await a.c.cmd("UID SEARCH RETURN (UPDATE) UNSEEN");
    assert.ok(r.lines.includes(`* ESEARCH (TAG "${r.tag}") UID ALL 1:2`), r.text);
    a.c.write("I1 IDLE\r\n");
    assert.match(await a.c.readLine(), /^\+ /);

    assert.ok((await b.c.cmd("UID STORE 1 +FLAGS (\\Seen)")).ok);
    await a.c.readUntil(new RegExp(`^\\* ESEARCH \\(TAG "${r.tag}"\\) UID REMOVEFROM \\(0 1\\)$`), 10_000);

    const smtp = await SmtpClient.connect(e.server.smtpPort);
    try {
      assert.match(await smtp.cmd("EHLO client.test"), /^250/);
      assert.match(await smtp.cmd("MAIL FROM:<sender@remote.test>"), /^250/);
      assert.match(await smtp.cmd(`RCPT TO:<${USER_A}>`), /^250/);
      assert.match(await smtp.cmd("DATA"), /^354/);
      smtp.write(Buffer.concat([e2eMessage("by smtp"), Buffer.from(".\r\n")]));
      assert.match(await smtp.reply(), /^250/);
    } finally {
      smtp.close();
    }
    const seen = await a.c.readUntil(
      new RegExp(`^\\* ESEARCH \\(TAG "${r.tag}"\\) UID ADDTO \\(0 3\\)$`),
      10_000,
    );
    assert.ok(seen.includes("* 3 EXISTS"), seen.join("\n")); // EXISTS before ADDTO (§4.3.3)
    a.c.write("DONE\r\n");
    await a.c.readUntil(/^I1 OK/);
  });
});
