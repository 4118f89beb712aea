/**
 * IMAP ⇄ JMAP parity of pushes: an IMAP STORE arrives as an EventSource StateChange (RFC 8620
 * §7.3), and a JMAP Email/set reaches an IMAP client in IDLE.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type J, type JmapServer, message, startJmap } from "./helpers.ts";

/** reads SSE events from a response until `until` says stop or the stream ends */
async function readEvents(res: Response, until: (ev: { event: string; data: string }[]) => boolean) {
  const events: Array<{ event: string; data: string }> = [];
  const dec = new TextDecoder();
  let buf = "";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += dec.decode(chunk, { stream: true });
    let i = buf.indexOf("\n\n");
    while (i >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) event = line.slice(7);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      if (data.length) events.push({ event, data: data.join("\n") });
      i = buf.indexOf("\n\n");
    }
    if (until(events)) break;
  }
  return events;
}

describe("JMAP push and IMAP parity", () => {
  let t: JmapServer;
  before(async () => {
    t = await startJmap({ event_source_ping_min: "2s" });
    const inbox = (await t.imap.store.getMailbox(t.imap.accountId, "INBOX"))!;
    await t.imap.store.append(t.imap.accountId, inbox.id, { raw: Buffer.from(message("pushed")) });
  });
  after(() => t.close());

  it("an IMAP STORE is pushed over EventSource (types, closeafter=state)", async () => {
    const res = await fetch(`${t.base}/jmap/eventsource?types=Email,Mailbox&closeafter=state&ping=0`, {
      headers: { authorization: t.auth() },
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    const c = await t.imap.login();
    await c.cmd("SELECT INBOX");
    assert.ok((await c.cmd("UID STORE 1 +FLAGS (\\Flagged)")).ok);
    const events = await readEvents(res, (ev) => ev.some((e) => e.event === "state"));
    const ev = events.find((e) => e.event === "state")!;
    const sc = JSON.parse(ev.data);
    assert.equal(sc["@type"], "StateChange");
    const changed = sc.changed[t.accountId];
    const state = await t.imap.store.currentState(t.imap.accountId);
    assert.equal(changed.Email, state);
    // \Flagged does not change a Mailbox count: only Email changed; Thread was not asked for
    assert.equal(changed.Mailbox, undefined);
    assert.equal(changed.Thread, undefined);
    const [[, ch]] = await t.call([["Email/changes", { accountId: t.accountId, sinceState: "0" }, "c"]]);
    assert.equal(ch.newState, state);
  });

  it("ping events at the asked interval; bad ping refused", async () => {
    const bad = await fetch(`${t.base}/jmap/eventsource?types=*&closeafter=no&ping=x`, {
      headers: { authorization: t.auth() },
    });
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
    const anon = await fetch(`${t.base}/jmap/eventsource?types=*&closeafter=no&ping=0`);
    assert.equal(anon.status, 401);
    const res = await fetch(`${t.base}/jmap/eventsource?types=*&closeafter=no&ping=1`, {
      headers: { authorization: t.auth() },
    });
    const events = await readEvents(res, (ev) => ev.some((e) => e.event === "ping"));
    // ping below the configured minimum (2 s here) is raised to it
    assert.deepEqual(JSON.parse(events.find((e) => e.event === "ping")!.data), { interval: 2 });
  });

  it("a JMAP Email/set reaches an IMAP client in IDLE", async () => {
    const c = await t.imap.login();
    await c.cmd("SELECT INBOX");
    c.write("I1 IDLE\r\n");
    await c.readUntil(/^\+ /);
    const [[, q]] = await t.call([["Email/query", { accountId: t.accountId }, "q"]]);
    const [[, s]] = await t.call([
      ["Email/set", { accountId: t.accountId, update: { [q.ids[0]]: { "keywords/$seen": true } } }, "s"],
    ]);
    assert.ok(q.ids[0] in s.updated, JSON.stringify(s));
    const lines = await c.readUntil(/FETCH/);
    const fetchLine: J = lines.find((l) => l.includes("FETCH"));
    assert.match(fetchLine, /\\Seen/);
    c.write("DONE\r\n");
    await c.readUntil(/^I1 OK/);
  });

  it("a JMAP Email/set is pushed too; types=Mailbox names only Mailbox", async () => {
    const res = await fetch(`${t.base}/jmap/eventsource?types=Mailbox&closeafter=state&ping=0`, {
      headers: { authorization: t.auth() },
    });
    const [[, q]] = await t.call([["Email/query", { accountId: t.accountId }, "q"]]);
    // \Seen off: the mailbox's unread count changes, so Mailbox changes
    await t.call([
      ["Email/set", { accountId: t.accountId, update: { [q.ids[0]]: { "keywords/$seen": null } } }, "s"],
    ]);
    const events = await readEvents(res, (ev) => ev.some((e) => e.event === "state"));
    const sc = JSON.parse(events.find((e) => e.event === "state")!.data);
    assert.deepEqual(Object.keys(sc.changed[t.accountId]), ["Mailbox"]);
  });
});
