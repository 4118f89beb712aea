/**
 * URLAUTH (RFC 4467) over a real socket: GENURLAUTH, URLFETCH and RESETKEY transcripts — the
 * access identifiers (user+, authuser, anonymous, submit+), sections, EXPIRE, a wrong or stale
 * token, another user, another host, and the error answers (NO for GENURLAUTH/RESETKEY, NIL —
 * never NO — for a URL URLFETCH cannot resolve).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Client, message, PASS, startServer, type TestServer, USER } from "./helpers.ts";

const BOB = "bob@example.com";
const enc = (a: string) => encodeURIComponent(a);

/** the URLs of one `* GENURLAUTH` line */
function generated(r: { ok: boolean; lines: string[]; tagged: string }): string[] {
  assert.ok(r.ok, r.tagged);
  const line = r.lines.find((l) => l.startsWith("* GENURLAUTH "));
  assert.ok(line, r.lines.join("\n"));
  return [...line.slice(13).matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
}

/** URLFETCH of one URL: the data (latin1) or null for NIL */
async function fetchUrl(c: Client, url: string): Promise<string | null> {
  const r = await c.cmd(`URLFETCH "${url}"`);
  assert.ok(r.ok, r.tagged);
  const line = r.lines.find((l) => l.startsWith("* URLFETCH "));
  assert.ok(line, r.text);
  const head = `* URLFETCH "${url}" `;
  assert.ok(line.startsWith(head), line);
  const rest = line.slice(head.length);
  if (rest === "NIL") return null;
  const m = /^\{(\d+)\}\r\n/.exec(rest);
  assert.ok(m, rest);
  return rest.slice(m[0].length);
}

describe("IMAP URLAUTH (RFC 4467)", () => {
  let t: TestServer;
  let alice: Client;
  let bob: Client;
  let uid: number;
  let base: string;
  const RAW = message("draft", "the body text\r\n");
  before(async () => {
    t = await startServer();
    const mb = (await t.store.getMailbox(t.accountId, "INBOX"))!;
    uid = (await t.store.append(t.accountId, mb.id, { raw: Buffer.from(RAW), flags: [] })).uid;
    base = `imap://${enc(USER)}@imap.test/INBOX/;UID=${uid}`;
    alice = await t.login();
    bob = await t.connect();
    assert.ok((await bob.cmd(`LOGIN ${BOB} "${PASS}"`)).ok);
  });
  after(async () => {
    await t.close();
  });

  it("is advertised after login; SELECT and EXAMINE name the mechanisms (URLMECH)", async () => {
    const r = await alice.cmd("CAPABILITY");
    assert.match(r.lines[0]!, / URLAUTH( |$)/);
    for (const cmd of ["EXAMINE INBOX", "SELECT INBOX"])
      assert.ok((await alice.cmd(cmd)).lines.includes("* OK [URLMECH INTERNAL] Ok"), cmd);
  });

  it("GENURLAUTH user+bob: bob fetches the message, alice gets NIL", async () => {
    const rump = `${base};URLAUTH=user+${enc(BOB)}`;
    const [url] = generated(await alice.cmd(`GENURLAUTH "${rump}" INTERNAL`));
    assert.match(url!, /^imap:\/\/.*;URLAUTH=user\+bob%40example\.com:internal:[0-9a-f]{64}$/);
    assert.ok(url!.startsWith(`${rump}:internal:`));
    assert.equal(await fetchUrl(bob, url!), RAW);
    assert.equal(await fetchUrl(alice, url!), null);
  });

  it("several URLs in one GENURLAUTH; authuser and anonymous with a section", async () => {
    const r = await alice.cmd(
      `GENURLAUTH "${base}/;SECTION=TEXT;URLAUTH=authuser" INTERNAL "${base}/;SECTION=HEADER.FIELDS%20(SUBJECT);URLAUTH=anonymous" INTERNAL`,
    );
    const [text, header] = generated(r);
    assert.equal(await fetchUrl(bob, text!), "the body text\r\n");
    assert.equal(await fetchUrl(alice, text!), "the body text\r\n");
    assert.equal(await fetchUrl(bob, header!), "Subject: draft\r\n\r\n");
  });

  it("partial and several URLs in one URLFETCH (one response each, invalid ones NIL)", async () => {
    const [url] = generated(await alice.cmd(`GENURLAUTH "${base}/;PARTIAL=0.4;URLAUTH=authuser" INTERNAL`));
    const r = await bob.cmd(`URLFETCH "${url}" "not a url" "${base}"`);
    assert.ok(r.ok, r.tagged);
    const fetched = r.lines.filter((l) => l.startsWith("* URLFETCH "));
    assert.equal(fetched.length, 3);
    assert.ok(fetched[0]!.endsWith(` {4}\r\n${RAW.slice(0, 4)}`), fetched[0]);
    assert.equal(fetched[1], `* URLFETCH "not a url" NIL`);
    assert.equal(fetched[2], `* URLFETCH "${base}" NIL`); // no URLAUTH: bob may not read it
  });

  it("a wrong, truncated or transplanted token is NIL", async () => {
    const [url] = generated(await alice.cmd(`GENURLAUTH "${base};URLAUTH=authuser" INTERNAL`));
    const tok = url!.slice(url!.lastIndexOf(":") + 1);
    const flipped = url!.slice(0, -1) + (url!.endsWith("0") ? "1" : "0");
    assert.equal(await fetchUrl(bob, flipped), null);
    assert.equal(await fetchUrl(bob, url!.slice(0, -2)), null);
    // the same token on another message, another access identifier or another user's URL
    assert.equal(
      await fetchUrl(bob, `${base.replace(`UID=${uid}`, `UID=${uid + 1}`)};URLAUTH=authuser:internal:${tok}`),
      null,
    );
    assert.equal(await fetchUrl(bob, `${base};URLAUTH=anonymous:internal:${tok}`), null);
    assert.equal(
      await fetchUrl(bob, `${base.replace(enc(USER), enc(BOB))};URLAUTH=authuser:internal:${tok}`),
      null,
    );
    // an unknown mechanism, another host
    assert.equal(await fetchUrl(bob, url!.replace(":internal:", ":xsample:")), null);
    assert.equal(await fetchUrl(bob, url!.replace("@imap.test/", "@other.example/")), null);
    // upper-case hex is the same token
    assert.equal(await fetchUrl(bob, url!.slice(0, -64) + tok.toUpperCase()), RAW);
  });

  it("submit+ is for the submission server only: NIL over IMAP, even for the named user", async () => {
    const [url] = generated(await alice.cmd(`GENURLAUTH "${base};URLAUTH=submit+${enc(USER)}" INTERNAL`));
    assert.equal(await fetchUrl(alice, url!), null);
    assert.equal(await fetchUrl(bob, url!), null);
  });

  it("EXPIRE: a past date is NIL, a future one resolves, and it is covered by the token", async () => {
    const past = `${base};EXPIRE=2001-01-01T00:00:00Z;URLAUTH=authuser`;
    const future = `${base};EXPIRE=2999-01-01T00:00:00+01:00;URLAUTH=authuser`;
    const [p, f] = generated(await alice.cmd(`GENURLAUTH "${past}" INTERNAL "${future}" INTERNAL`));
    assert.equal(await fetchUrl(bob, p!), null);
    assert.equal(await fetchUrl(bob, f!), RAW);
    // moving the date (or dropping it) invalidates the token
    assert.equal(await fetchUrl(bob, f!.replace("2999-01-01", "2999-01-02")), null);
    assert.equal(await fetchUrl(bob, f!.replace(";EXPIRE=2999-01-01T00:00:00+01:00", "")), null);
  });

  it("an expunged message or a changed UIDVALIDITY is NIL", async () => {
    const mb = (await t.store.getMailbox(t.accountId, "INBOX"))!;
    const other = (await t.store.append(t.accountId, mb.id, { raw: Buffer.from(message("gone")), flags: [] }))
      .uid;
    const u = `imap://${enc(USER)}@imap.test/INBOX;UIDVALIDITY=${mb.uidValidity}/;UID=${other};URLAUTH=authuser`;
    const [url] = generated(await alice.cmd(`GENURLAUTH "${u}" INTERNAL`));
    assert.ok((await fetchUrl(bob, url!))?.includes("Subject: gone"));
    await t.store.expunge(mb.id, [other]);
    assert.equal(await fetchUrl(bob, url!), null);
    const wrongValidity = `imap://${enc(USER)}@imap.test/INBOX;UIDVALIDITY=${mb.uidValidity + 1}/;UID=${uid};URLAUTH=authuser`;
    const r = await alice.cmd(`GENURLAUTH "${wrongValidity}" INTERNAL`);
    assert.equal(r.ok, false, "GENURLAUTH checks the UIDVALIDITY");
  });

  it("RESETKEY mailbox: old URLs stop resolving, new ones work; RESETKEY alone removes every key", async () => {
    const [old] = generated(await alice.cmd(`GENURLAUTH "${base};URLAUTH=authuser" INTERNAL`));
    assert.equal(await fetchUrl(bob, old!), RAW);
    const r = await alice.cmd("RESETKEY INBOX");
    assert.ok(r.ok, r.tagged);
    assert.match(r.tagged, /OK \[URLMECH INTERNAL\]/);
    assert.equal(await fetchUrl(bob, old!), null);
    const [fresh] = generated(await alice.cmd(`GENURLAUTH "${base};URLAUTH=authuser" INTERNAL`));
    assert.notEqual(fresh, old);
    assert.equal(await fetchUrl(bob, fresh!), RAW);
    assert.ok((await alice.cmd("RESETKEY INBOX INTERNAL")).ok);
    assert.equal(await fetchUrl(bob, fresh!), null);
    const [again] = generated(await alice.cmd(`GENURLAUTH "${base};URLAUTH=authuser" INTERNAL`));
    const all = await alice.cmd("RESETKEY");
    assert.ok(all.ok, all.tagged);
    assert.equal(await fetchUrl(bob, again!), null);
    // bob's RESETKEY touches only bob's keys
    const [kept] = generated(await alice.cmd(`GENURLAUTH "${base};URLAUTH=authuser" INTERNAL`));
    assert.ok((await bob.cmd("RESETKEY")).ok);
    assert.ok((await bob.cmd("RESETKEY INBOX")).ok);
    assert.equal(await fetchUrl(bob, kept!), RAW);
  });

  it("GENURLAUTH errors: NO for an unusable URL or mechanism, BAD for bad syntax", async () => {
    const no = async (cmd: string) => {
      const r = await alice.cmd(cmd);
      assert.match(r.tagged, /^\S+ NO /, `${cmd} → ${r.tagged}`);
      assert.ok(!r.lines.some((l) => l.startsWith("* GENURLAUTH")), "no partial answer");
      return r;
    };
    await no(`GENURLAUTH "${base};URLAUTH=authuser" XSAMPLE`);
    await no(`GENURLAUTH "${base}" INTERNAL`); // no ;URLAUTH=
    await no(`GENURLAUTH "${base};URLAUTH=authuser:internal:${"0".repeat(64)}" INTERNAL`); // already full
    await no(`GENURLAUTH "${base.replace(enc(USER), enc(BOB))};URLAUTH=authuser" INTERNAL`); // other user
    await no(`GENURLAUTH "${base.replace("imap.test", "other.example")};URLAUTH=authuser" INTERNAL`);
    await no(`GENURLAUTH "/INBOX/;UID=${uid};URLAUTH=authuser" INTERNAL`); // not absolute
    await no(`GENURLAUTH "${base};URLAUTH=someone" INTERNAL`); // unknown access identifier
    const r = await no(`GENURLAUTH "${base.replace("/INBOX/", "/Nope/")};URLAUTH=authuser" INTERNAL`);
    assert.match(r.tagged, /NO \[NONEXISTENT\]/);
    // one bad URL fails the whole command
    await no(`GENURLAUTH "${base};URLAUTH=authuser" INTERNAL "${base}" INTERNAL`);
    assert.match((await alice.cmd(`GENURLAUTH "${base};URLAUTH=authuser"`)).tagged, /^\S+ BAD /);
    assert.match((await alice.cmd("GENURLAUTH")).tagged, /^\S+ BAD /);
    assert.match((await alice.cmd("URLFETCH")).tagged, /^\S+ BAD /);
  });

  it("RESETKEY errors: unknown mailbox, unsupported mechanism", async () => {
    assert.match((await alice.cmd("RESETKEY Nope")).tagged, /^\S+ NO \[NONEXISTENT\]/);
    assert.match((await alice.cmd("RESETKEY INBOX XSAMPLE")).tagged, /^\S+ NO /);
  });

  it("needs authentication", async () => {
    const c = await t.connect();
    assert.match((await c.cmd(`URLFETCH "${base}"`)).tagged, /^\S+ BAD /);
    assert.match((await c.cmd("RESETKEY")).tagged, /^\S+ BAD /);
  });

  it("CATENATE resolves a URLAUTH URL of another user", async () => {
    const [url] = generated(await alice.cmd(`GENURLAUTH "${base};URLAUTH=user+${enc(BOB)}" INTERNAL`));
    const r = await bob.cmd(`APPEND INBOX CATENATE (URL "${url}")`);
    assert.ok(r.ok, r.tagged);
    const bobId = (await t.store.getAccount(BOB))!.id;
    const mb = (await t.store.getMailbox(bobId, "INBOX"))!;
    const m = /APPENDUID \d+ (\d+)/.exec(r.tagged)!;
    assert.equal(Buffer.from(await t.store.readMessage(mb.id, Number(m[1]))).toString("latin1"), RAW);
    // alice cannot use bob's authorization
    assert.match((await alice.cmd(`APPEND Drafts CATENATE (URL "${url}")`)).tagged, /NO \[BADURL /);
  });
});
