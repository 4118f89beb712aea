/**
 * BURL (RFC 4468) on submission over real sockets: a draft APPENDed over IMAP, authorized with
 * GENURLAUTH (submit+user), then sent with `BURL url LAST` — the queued message is the draft's
 * bytes (after our Received line); a message assembled from several BURLs; and the refusals: bad
 * token, another user's or another host's URL, no URLAUTH, order errors, DATA after BURL, the
 * submission policy, and MX (no BURL at all).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client, listenImap } from "../imap/helpers.ts";
import { PASS, RawClient, startSmtp, type TestSmtp } from "./helpers.ts";

const HOST = "mx.test";
const ALICE = "alice@example.com";
const BOB = "bob@example.com";
const enc = (a: string) => encodeURIComponent(a);
const DRAFT =
  "From: Alice <alice@example.com>\r\nTo: someone@remote.example\r\nSubject: a draft\r\n" +
  "Date: Fri, 04 Dec 2026 10:00:00 +0000\r\nMessage-ID: <draft-1@example.com>\r\n\r\n" +
  "Sent without uploading it again.\r\n";

describe("SMTP BURL (RFC 4468)", () => {
  let t: TestSmtp;
  let imap: Awaited<ReturnType<typeof listenImap>>;
  let ic: Client;
  let mailbox: string;
  const clients: RawClient[] = [];

  /** GENURLAUTH over IMAP as alice for the draft (or another uid); `rest` follows ;UID=n */
  async function authorize(
    rest: string,
    access = `submit+${enc(ALICE)}`,
    client = ic,
    uid?: string,
  ): Promise<string> {
    const base = uid === undefined ? mailbox : mailbox.replace(/;UID=\d+$/, `;UID=${uid}`);
    const r = await client.cmd(`GENURLAUTH "${base}${rest};URLAUTH=${access}" INTERNAL`);
    assert.ok(r.ok, r.text);
    const m = /^\* GENURLAUTH "([^"]+)"$/.exec(r.lines[0]!);
    assert.ok(m, r.lines[0]);
    return m[1]!;
  }

  /** a submission session authenticated as `user`, in a transaction to a remote recipient */
  async function session(user = ALICE, rcpt = "someone@remote.example"): Promise<RawClient> {
    const c = await RawClient.connect(t.submissionPort);
    clients.push(c);
    assert.match(await c.cmd("EHLO client.test"), /^250/);
    assert.match(await c.cmd(`AUTH PLAIN ${Buffer.from(`\0${user}\0${PASS}`).toString("base64")}`), /^235/);
    assert.match(await c.cmd(`MAIL FROM:<${user}>`), /^250/);
    assert.match(await c.cmd(`RCPT TO:<${rcpt}>`), /^250/);
    return c;
  }

  async function queued(): Promise<Buffer[]> {
    const q = await t.store.listQueue();
    return Promise.all(q.map(async (e) => Buffer.from((await t.store.getQueuedMessage(e.id))!)));
  }

  before(async () => {
    t = await startSmtp({ allowPlaintextAuth: true });
    imap = await listenImap(t.store, { hostname: HOST });
    ic = await Client.connect(imap.port);
    assert.ok((await ic.cmd(`LOGIN ${ALICE} "${PASS}"`)).ok);
    const r = await ic.cmd(`APPEND Drafts (\\Draft) {${DRAFT.length}+}\r\n${DRAFT}`);
    const m = /APPENDUID (\d+) (\d+)/.exec(r.tagged);
    assert.ok(m, r.tagged);
    mailbox = `imap://${enc(ALICE)}@${HOST}/Drafts;UIDVALIDITY=${m[1]}/;UID=${m[2]}`;
  });
  after(async () => {
    for (const c of clients) c.close();
    ic.destroy();
    await imap.close();
    await t.close();
  });

  it("EHLO: BURL before AUTH, BURL imap after; MX offers none and answers BURL as unknown", async () => {
    const c = await RawClient.connect(t.submissionPort);
    clients.push(c);
    const before = await c.cmd("EHLO client.test");
    assert.match(before, /^250[- ]BURL$/m);
    await c.cmd(`AUTH PLAIN ${Buffer.from(`\0${ALICE}\0${PASS}`).toString("base64")}`);
    assert.match(await c.cmd("EHLO client.test"), /^250[- ]BURL imap$/m);
    const mx = await RawClient.connect(t.mxPort);
    clients.push(mx);
    assert.doesNotMatch(await mx.cmd("EHLO client.test"), /BURL/);
    assert.match(await mx.cmd(`BURL ${mailbox} LAST`), /^500 /);
  });

  it("BURL url LAST queues the draft byte for byte", async () => {
    const url = await authorize("");
    const before = (await queued()).length;
    const c = await session();
    assert.match(await c.cmd(`BURL ${url} LAST`), /^250 /);
    const q = await queued();
    assert.equal(q.length, before + 1);
    const msg = q[q.length - 1]!;
    const draft = Buffer.from(DRAFT, "latin1");
    assert.ok(msg.subarray(msg.length - draft.length).equals(draft), msg.toString("latin1"));
    // before the draft: only our Received field
    const prefix = msg.subarray(0, msg.length - draft.length).toString("latin1");
    assert.match(prefix, /^Received: /);
    assert.doesNotMatch(prefix.slice(0, -2), /\r\n[^ \t]/);
    // the transaction is over: a new one can start
    assert.match(await c.cmd(`MAIL FROM:<${ALICE}>`), /^250/);
  });

  it("several BURLs (header, then text) make one message", async () => {
    const head = await authorize("/;SECTION=HEADER");
    const text = await authorize("/;SECTION=TEXT");
    const before = (await queued()).length;
    const c = await session();
    assert.match(await c.cmd(`BURL ${head}`), /^250 2\.5\.0 /);
    // DATA may not follow a BURL in the same transaction
    assert.match(await c.cmd("DATA"), /^503 /);
    assert.match(await c.cmd(`BURL ${text} last`), /^250 /);
    const q = await queued();
    assert.equal(q.length, before + 1);
    assert.ok(q[q.length - 1]!.toString("latin1").endsWith(DRAFT));
  });

  it("refusals: bad token, other user, other host, no URLAUTH, user+ access — nothing queued", async () => {
    const url = await authorize("");
    const before = (await queued()).length;
    const c = await session();
    const bad = url.slice(0, -1) + (url.endsWith("0") ? "1" : "0");
    assert.match(await c.cmd(`BURL ${bad} LAST`), /^554 5\.6\.6 /);
    const log = t.logs.find(
      (x) => x.msg === "smtp rejected" && (x.o as { command?: string }).command === "BURL",
    );
    assert.ok(log, JSON.stringify(t.logs));
    assert.equal((log.o as { code?: number }).code, 554);
    // a failed BURL ends the transaction
    assert.match(await c.cmd(`BURL ${url} LAST`), /^503 5\.5\.0 /);
    const c2 = await session();
    assert.match(
      await c2.cmd(`BURL ${url.replace(`@${HOST}/`, "@imap.elsewhere.example/")} LAST`),
      /^554 5\.7\.8 /,
    );
    const c3 = await session();
    assert.match(await c3.cmd(`BURL ${mailbox} LAST`), /^554 5\.7\.8 /);
    const c4 = await session();
    assert.match(await c4.cmd(`BURL ${await authorize("", `user+${enc(ALICE)}`)} LAST`), /^554 5\.6\.6 /);
    const c5 = await session();
    assert.match(await c5.cmd(`BURL ${await authorize("", `submit+${enc(BOB)}`)} LAST`), /^554 5\.6\.6 /);
    // bob cannot send alice's submit+alice URL
    const c6 = await session(BOB);
    assert.match(await c6.cmd(`BURL ${url} LAST`), /^554 5\.6\.6 /);
    // after RESETKEY the URL is dead
    assert.ok((await ic.cmd("RESETKEY Drafts")).ok);
    const c7 = await session();
    assert.match(await c7.cmd(`BURL ${url} LAST`), /^554 5\.6\.6 /);
    assert.equal((await queued()).length, before);
  });

  it("order and syntax: BURL needs MAIL and RCPT; bad arguments are 501", async () => {
    const url = await authorize("");
    const c = await RawClient.connect(t.submissionPort);
    clients.push(c);
    await c.cmd("EHLO client.test");
    assert.match(await c.cmd(`BURL ${url} LAST`), /^530 /);
    await c.cmd(`AUTH PLAIN ${Buffer.from(`\0${ALICE}\0${PASS}`).toString("base64")}`);
    assert.match(await c.cmd(`BURL ${url} LAST`), /^503 5\.5\.0 /);
    await c.cmd(`MAIL FROM:<${ALICE}>`);
    assert.match(await c.cmd(`BURL ${url} LAST`), /^554 5\.5\.0 /);
    await c.cmd("RCPT TO:<someone@remote.example>");
    assert.match(await c.cmd("BURL"), /^501 /);
    assert.match(await c.cmd(`BURL ${url} NOW`), /^501 /);
    assert.match(await c.cmd(`BURL ${url} LAST`), /^250 /);
  });

  it("the submission policy applies: a draft From someone else is refused (550 5.7.1)", async () => {
    const forged = DRAFT.replace("From: Alice <alice@example.com>", "From: <mallory@example.net>");
    const r = await ic.cmd(`APPEND Drafts {${forged.length}+}\r\n${forged}`);
    const uid = /APPENDUID \d+ (\d+)/.exec(r.tagged)![1]!;
    const full = await authorize("", `submit+${enc(ALICE)}`, ic, uid);
    const before = (await queued()).length;
    const c = await session();
    assert.match(await c.cmd(`BURL ${full} LAST`), /^550 5\.7\.1 /);
    assert.equal((await queued()).length, before);
  });
});

describe("SMTP BURL over the message size limit", () => {
  it("554 5.3.4 before the message is read whole; nothing queued", async () => {
    const t = await startSmtp({ allowPlaintextAuth: true, limits: { maxMessageSize: 100 } });
    const imap = await listenImap(t.store, { hostname: HOST });
    const ic = await Client.connect(imap.port);
    const sc = await RawClient.connect(t.submissionPort);
    try {
      assert.ok((await ic.cmd(`LOGIN ${ALICE} "${PASS}"`)).ok);
      const r = await ic.cmd(`APPEND Drafts {${DRAFT.length}+}\r\n${DRAFT}`);
      const m = /APPENDUID (\d+) (\d+)/.exec(r.tagged)!;
      const rump = `imap://${enc(ALICE)}@${HOST}/Drafts;UIDVALIDITY=${m[1]}/;UID=${m[2]};URLAUTH=submit+${enc(ALICE)}`;
      const url = /"([^"]+)"/.exec((await ic.cmd(`GENURLAUTH "${rump}" INTERNAL`)).lines[0]!)![1]!;
      await sc.cmd("EHLO client.test");
      await sc.cmd(`AUTH PLAIN ${Buffer.from(`\0${ALICE}\0${PASS}`).toString("base64")}`);
      await sc.cmd(`MAIL FROM:<${ALICE}>`);
      await sc.cmd("RCPT TO:<someone@remote.example>");
      assert.match(await sc.cmd(`BURL ${url} LAST`), /^554 5\.3\.4 /);
      assert.equal((await t.store.listQueue()).length, 0);
    } finally {
      sc.close();
      ic.destroy();
      await imap.close();
      await t.close();
    }
  });
});
