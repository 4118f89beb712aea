/**
 * URLAUTH (RFC 4467) and the configuration around it, over a real socket: the host names URLs may
 * carry (config url_hosts; the server's hostname is then only accepted if listed), the number of
 * URLs per GENURLAUTH / URLFETCH (imap.limits.max_urls → BAD beyond it), and mailbox access keys
 * removed with their mailbox and account (a URL authorized before never resolves again, not even
 * for a mailbox created again under the same name); URLAUTH on a shared mailbox (RFC 4314): the
 * URL's user needs "l" and "r" on it when authorizing and on every resolution.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MAILBOX_KEY_KIND } from "../../src/store/keys/port.ts";
import { type Client, message, PASS, startServer, type TestServer, USER } from "./helpers.ts";

const enc = (a: string) => encodeURIComponent(a);

function generated(r: { ok: boolean; lines: string[]; tagged: string }): string[] {
  assert.ok(r.ok, r.tagged);
  const line = r.lines.find((l) => l.startsWith("* GENURLAUTH "));
  assert.ok(line, r.lines.join("\n"));
  return [...line.slice(13).matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
}

/** URLFETCH of one URL: NIL → null, else the literal's text */
async function fetchUrl(c: Client, url: string): Promise<string | null> {
  const r = await c.cmd(`URLFETCH "${url}"`);
  assert.ok(r.ok, r.tagged);
  const line = r.lines.find((l) => l.startsWith("* URLFETCH "))!;
  const rest = line.slice(`* URLFETCH "${url}" `.length);
  if (rest === "NIL") return null;
  return rest.replace(/^\{\d+\}\r\n/, "");
}

describe("URLAUTH configuration: url_hosts, max_urls, keys go with their mailbox", () => {
  let t: TestServer;
  let alice: Client;
  const RAW = message("draft", "body\r\n");
  before(async () => {
    t = await startServer({ urlHosts: ["mail.example.com", "IMAP.example.com"], limits: { maxUrls: 3 } });
    await t.store.createMailbox(t.accountId, "Drafts2");
    const mb = (await t.store.getMailbox(t.accountId, "Drafts2"))!;
    await t.store.append(t.accountId, mb.id, { raw: Buffer.from(RAW), flags: [] });
    alice = await t.login();
  });
  after(async () => {
    await t.close();
  });

  const url = (host: string, mailbox = "Drafts2") =>
    `imap://${enc(USER)}@${host}/${mailbox}/;UID=1;URLAUTH=authuser`;

  it("accepts the configured host names (any case), refuses others, the hostname included", async () => {
    const [a] = generated(await alice.cmd(`GENURLAUTH "${url("mail.example.com")}" INTERNAL`));
    assert.equal(await fetchUrl(alice, a!), RAW);
    const [b] = generated(await alice.cmd(`GENURLAUTH "${url("imap.EXAMPLE.com")}" INTERNAL`));
    assert.equal(await fetchUrl(alice, b!), RAW);
    // the hostname ("imap.test") is not in the list: refused like any other host
    let r = await alice.cmd(`GENURLAUTH "${url("imap.test")}" INTERNAL`);
    assert.match(r.tagged, / NO URL names another server/);
    r = await alice.cmd(`GENURLAUTH "${url("elsewhere.example")}" INTERNAL`);
    assert.match(r.tagged, / NO URL names another server/);
    // a valid token moved to another host name does not resolve
    assert.equal(await fetchUrl(alice, a!.replace("mail.example.com", "imap.test")), null);
  });

  it("at most imap.limits.max_urls URLs per command: BAD beyond it", async () => {
    const u = url("mail.example.com");
    const ok = await alice.cmd(`GENURLAUTH ${`"${u}" INTERNAL `.repeat(3).trim()}`);
    assert.equal(generated(ok).length, 3);
    let r = await alice.cmd(`GENURLAUTH ${`"${u}" INTERNAL `.repeat(4).trim()}`);
    assert.match(r.tagged, / BAD At most 3 URLs per command/);
    r = await alice.cmd(`URLFETCH ${`"${u}" `.repeat(4).trim()}`);
    assert.match(r.tagged, / BAD At most 3 URLs per command/);
    assert.ok(!r.lines.some((l) => l.startsWith("* URLFETCH")), "nothing answered");
  });

  it("a deleted mailbox takes its access key along; a mailbox made again under its name gets a new one", async () => {
    const [old] = generated(await alice.cmd(`GENURLAUTH "${url("mail.example.com")}" INTERNAL`));
    const before = (await t.store.keys.list(MAILBOX_KEY_KIND, `${t.accountId}/`)).length;
    assert.ok(before >= 1);
    assert.ok((await alice.cmd("DELETE Drafts2")).ok);
    assert.equal((await t.store.keys.list(MAILBOX_KEY_KIND, `${t.accountId}/`)).length, before - 1);
    assert.ok((await alice.cmd("CREATE Drafts2")).ok);
    assert.ok((await alice.append("Drafts2", RAW)).ok);
    assert.equal(await fetchUrl(alice, old!), null);
    const [fresh] = generated(await alice.cmd(`GENURLAUTH "${url("mail.example.com")}" INTERNAL`));
    assert.notEqual(fresh, old);
    assert.equal(await fetchUrl(alice, fresh!), RAW);
  });

  it("a shared mailbox: the grantee authorizes URLs while it holds l and r; its key goes with the mailbox", async () => {
    await t.store.createMailbox(t.accountId, "Team");
    const team = (await t.store.getMailbox(t.accountId, "Team"))!;
    await t.store.append(t.accountId, team.id, { raw: Buffer.from(RAW), flags: [] });
    const bob = await t.connect();
    assert.ok((await bob.cmd(`LOGIN bob@example.com "${PASS}"`)).ok);
    const bobId = (await t.store.getAccount("bob@example.com"))!.id;
    const shared = `imap://bob%40example.com@mail.example.com/Shared/${enc(USER)}/Team/;UID=1;URLAUTH=authuser`;
    // no rights: as if the mailbox did not exist
    let r = await bob.cmd(`GENURLAUTH "${shared}" INTERNAL`);
    assert.match(r.tagged, / NO \[NONEXISTENT\]/);
    await t.store.setAcl(team.id, "bob@example.com", "lr");
    const [url] = generated(await bob.cmd(`GENURLAUTH "${shared}" INTERNAL`));
    assert.equal(await fetchUrl(alice, url!), RAW);
    assert.equal(await fetchUrl(bob, url!), RAW);
    // RFC 4467 §6: the URL's user must still have access when it is resolved
    await t.store.setAcl(team.id, "bob@example.com", "l");
    assert.equal(await fetchUrl(alice, url!), null);
    await t.store.setAcl(team.id, "bob@example.com", "lr");
    assert.equal(await fetchUrl(alice, url!), RAW);
    // RESETKEY on the shared name replaces bob's key: the old URL is void
    r = await bob.cmd(`RESETKEY "Shared/${USER}/Team"`);
    assert.ok(r.ok, r.text);
    assert.equal(await fetchUrl(alice, url!), null);
    generated(await bob.cmd(`GENURLAUTH "${shared}" INTERNAL`));
    assert.equal((await t.store.keys.list(MAILBOX_KEY_KIND, `${bobId}/${team.id}`)).length, 1);
    // the owner deletes it: the grantee's key goes too
    assert.ok((await alice.cmd("DELETE Team")).ok);
    assert.equal((await t.store.keys.list(MAILBOX_KEY_KIND, `${bobId}/${team.id}`)).length, 0);
    bob.destroy();
  });

  it("a deleted account takes all its access keys along", async () => {
    const bob = await t.connect();
    assert.ok((await bob.cmd(`LOGIN bob@example.com "${PASS}"`)).ok);
    const bobId = (await t.store.getAccount("bob@example.com"))!.id;
    const bobUrl = `imap://bob%40example.com@mail.example.com/INBOX/;UID=1;URLAUTH=anonymous`;
    assert.ok((await bob.append("INBOX", RAW)).ok);
    generated(await bob.cmd(`GENURLAUTH "${bobUrl}" INTERNAL`));
    assert.equal((await t.store.keys.list(MAILBOX_KEY_KIND, `${bobId}/`)).length, 1);
    bob.destroy();
    await t.store.deleteAccount("bob@example.com");
    assert.equal((await t.store.keys.list(MAILBOX_KEY_KIND, `${bobId}/`)).length, 0);
  });
});
