import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { sha256Hex } from "./blob/fs.ts";
import { openStore } from "./index.ts";
import { type Fixture, fixture, gcIdle, msg, tempDir } from "./testing/helpers.ts";
import { StoreError } from "./types.ts";

function blobPath(dir: string, sha: string): string {
  return join(dir, "blobs", sha.slice(0, 2), sha.slice(2, 4), sha);
}

async function rejectsCode(p: Promise<unknown>, code: StoreError["code"]): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof StoreError, `expected StoreError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

describe("domains and accounts", () => {
  let f: Fixture;
  before(async () => {
    f = await fixture({ smallBlobMaxBytes: 0 });
  });
  after(() => f.close());

  test("addDomain / getDomain / listDomains / duplicates", async () => {
    const d = await f.store.addDomain("Example.NET");
    assert.equal(d.name, "example.net");
    assert.ok(d.createdAt instanceof Date);
    await rejectsCode(f.store.addDomain("example.net"), "ALREADYEXISTS");
    await rejectsCode(f.store.addDomain("bad domain"), "INVALID");
    assert.deepEqual((await f.store.getDomain("EXAMPLE.net"))?.id, d.id);
    assert.equal(await f.store.getDomain("nope.example"), null);
    assert.deepEqual(
      (await f.store.listDomains()).map((x) => x.name),
      ["example.com", "example.net"],
    );
  });

  test("createAccount creates INBOX and special-use folders, all subscribed", async () => {
    const a = await f.store.createAccount("Carol@Example.NET", "h1");
    assert.equal(a.address, "carol@example.net");
    assert.equal(a.usedBytes, 0);
    assert.equal(a.credentialsVersion, 1);
    assert.equal(a.settings.pop3Delete, "delete");
    const boxes = await f.store.listMailboxes(a.id);
    assert.deepEqual(
      boxes.map((b) => [b.name, b.specialUse, b.subscribed]),
      [
        ["INBOX", null, true],
        ["Archive", "\\Archive", true],
        ["Drafts", "\\Drafts", true],
        ["Junk", "\\Junk", true],
        ["Sent", "\\Sent", true],
        ["Trash", "\\Trash", true],
      ],
    );
    // UIDVALIDITY unique per mailbox
    assert.equal(new Set(boxes.map((b) => b.uidValidity)).size, boxes.length);
    assert.deepEqual(await f.store.listSubscriptions(a.id), [
      "Archive",
      "Drafts",
      "INBOX",
      "Junk",
      "Sent",
      "Trash",
    ]);
    await rejectsCode(f.store.createAccount("carol@example.net", "x"), "ALREADYEXISTS");
    await rejectsCode(f.store.createAccount("x@unknown.example", "x"), "NONEXISTENT");
    await rejectsCode(f.store.createAccount("no-at-sign", "x"), "INVALID");
  });

  test("getAccount / getAccountById / listAccounts", async () => {
    const a = await f.store.getAccount("CAROL@example.net");
    assert.ok(a);
    assert.equal((await f.store.getAccountById(a.id))?.address, "carol@example.net");
    assert.equal(await f.store.getAccount("nobody@example.net"), null);
    assert.equal(await f.store.getAccountById(99999), null);
    assert.deepEqual(
      (await f.store.listAccounts()).map((x) => x.address),
      ["bob@example.com", "carol@example.net"],
    );
    assert.deepEqual(
      (await f.store.listAccounts("example.net")).map((x) => x.address),
      ["carol@example.net"],
    );
  });

  test("setPassword bumps credentialsVersion", async () => {
    await f.store.setPassword("carol@example.net", "h2");
    const a = await f.store.getAccount("carol@example.net");
    assert.equal(a?.passwordHash, "h2");
    assert.equal(a?.credentialsVersion, 2);
    await rejectsCode(f.store.setPassword("zed@example.net", "h"), "NONEXISTENT");
  });

  test("updateAccount patches quota and settings", async () => {
    const a = await f.store.updateAccount("carol@example.net", {
      quotaBytes: 1000,
      settings: { pop3Delete: "trash", pop3Enabled: false },
    });
    assert.equal(a.quotaBytes, 1000);
    assert.equal(a.quotaMessages, 0);
    assert.equal(a.settings.pop3Delete, "trash");
    assert.equal(a.settings.pop3Enabled, false);
    const b = await f.store.updateAccount("carol@example.net", { settings: { pop3Enabled: true } });
    assert.ok(b.settings.pop3EnabledAt instanceof Date, "enabling POP3 records the time");
    assert.equal(b.quotaBytes, 1000);
    await rejectsCode(f.store.updateAccount("carol@example.net", { quotaBytes: -1 }), "INVALID");
    await rejectsCode(f.store.updateAccount("zed@example.net", {}), "NONEXISTENT");
  });

  test("deleteDomain refuses with accounts unless forced; deleteAccount removes data and blobs", async () => {
    await rejectsCode(f.store.deleteDomain("example.net"), "INUSE");
    const carol = (await f.store.getAccount("carol@example.net"))!;
    const inbox = (await f.store.getMailbox(carol.id, "INBOX"))!;
    const raw = msg({ body: "carol only" });
    await f.store.updateAccount("carol@example.net", { quotaBytes: 0 });
    await f.store.append(carol.id, inbox.id, { raw });
    assert.ok(existsSync(blobPath(f.dir, sha256Hex(raw))));
    await f.store.deleteDomain("example.net", { force: true });
    assert.equal(await f.store.getAccount("carol@example.net"), null);
    assert.equal(await f.store.getDomain("example.net"), null);
    await gcIdle(f.store);
    assert.equal(existsSync(blobPath(f.dir, sha256Hex(raw))), false, "blob collected");
    await rejectsCode(f.store.deleteDomain("example.net"), "NONEXISTENT");

    await f.store.addDomain("example.org");
    const dave = await f.store.createAccount("dave@example.org", "h");
    const raw2 = msg({ body: "dave only" });
    await f.store.append(dave.id, (await f.store.getMailbox(dave.id, "INBOX"))!.id, { raw: raw2 });
    await f.store.deleteAccount("dave@example.org");
    assert.equal(await f.store.getAccount("dave@example.org"), null);
    await gcIdle(f.store);
    assert.equal(existsSync(blobPath(f.dir, sha256Hex(raw2))), false);
    await rejectsCode(f.store.deleteAccount("dave@example.org"), "NONEXISTENT");
    await f.store.deleteDomain("example.org");
  });
});

describe("mailboxes", () => {
  let f: Fixture;
  before(async () => {
    f = await fixture({ smallBlobMaxBytes: 0 });
  });
  after(() => f.close());

  test("createMailbox creates parents, refuses duplicates and bad names, normalizes INBOX", async () => {
    const mb = await f.store.createMailbox(f.accountId, "Work/Projects/2024/");
    assert.equal(mb.name, "Work/Projects/2024");
    assert.equal(mb.uidNext, 1);
    assert.ok(mb.highestModseq > 0n);
    assert.ok(await f.store.getMailbox(f.accountId, "Work"));
    assert.ok(await f.store.getMailbox(f.accountId, "Work/Projects"));
    await rejectsCode(f.store.createMailbox(f.accountId, "Work"), "ALREADYEXISTS");
    await rejectsCode(f.store.createMailbox(f.accountId, "inbox"), "ALREADYEXISTS");
    await rejectsCode(f.store.createMailbox(f.accountId, "a//b"), "INVALID");
    await rejectsCode(f.store.createMailbox(f.accountId, "a*b"), "INVALID");
    const child = await f.store.createMailbox(f.accountId, "inbox/Sub");
    assert.equal(child.name, "INBOX/Sub");
    assert.equal((await f.store.getMailbox(f.accountId, "Inbox"))?.name, "INBOX");
    const flagged = await f.store.createMailbox(f.accountId, "Starred", "\\Flagged");
    assert.equal(flagged.specialUse, "\\Flagged");
    assert.equal((await f.store.getMailboxById(flagged.id))?.name, "Starred");
    assert.equal(await f.store.getMailboxById(424242), null);
    const utf = await f.store.createMailbox(f.accountId, "Überweisungen/日本");
    assert.equal((await f.store.getMailbox(f.accountId, "Überweisungen/日本"))?.id, utf.id);
  });

  test("a recreated mailbox gets a new UIDVALIDITY", async () => {
    const a = await f.store.createMailbox(f.accountId, "Temp");
    await f.store.deleteMailbox(f.accountId, "Temp");
    const b = await f.store.createMailbox(f.accountId, "Temp");
    assert.ok(b.uidValidity > a.uidValidity);
    assert.notEqual(a.id, b.id);
  });

  test("deleteMailbox keeps children and subscriptions; INBOX cannot be deleted", async () => {
    await f.store.createMailbox(f.accountId, "P/C");
    await f.store.setSubscribed(f.accountId, "P", true);
    const p = (await f.store.getMailbox(f.accountId, "P"))!;
    const raw = msg();
    await f.store.append(f.accountId, p.id, { raw });
    const before = (await f.store.getAccountById(f.accountId))!;
    await f.store.deleteMailbox(f.accountId, "P");
    assert.equal(await f.store.getMailbox(f.accountId, "P"), null);
    assert.ok(await f.store.getMailbox(f.accountId, "P/C"));
    assert.ok((await f.store.listSubscriptions(f.accountId)).includes("P"));
    const afterAcct = (await f.store.getAccountById(f.accountId))!;
    assert.equal(afterAcct.usedMessages, before.usedMessages - 1);
    assert.equal(afterAcct.usedBytes, before.usedBytes - raw.length);
    await gcIdle(f.store);
    assert.equal(existsSync(blobPath(f.dir, sha256Hex(raw))), false);
    await rejectsCode(f.store.deleteMailbox(f.accountId, "INBOX"), "CANNOT");
    await rejectsCode(f.store.deleteMailbox(f.accountId, "P"), "NONEXISTENT");
  });

  test("renameMailbox renames children and subscriptions", async () => {
    await f.store.createMailbox(f.accountId, "R/S/T");
    await f.store.setSubscribed(f.accountId, "R/S", true);
    const before = (await f.store.getMailbox(f.accountId, "R"))!;
    await f.store.renameMailbox(f.accountId, "R", "New/Name");
    assert.equal(await f.store.getMailbox(f.accountId, "R"), null);
    const moved = (await f.store.getMailbox(f.accountId, "New/Name"))!;
    assert.equal(moved.id, before.id);
    assert.equal(moved.uidValidity, before.uidValidity);
    assert.ok(await f.store.getMailbox(f.accountId, "New"), "parent created");
    assert.ok(await f.store.getMailbox(f.accountId, "New/Name/S/T"));
    const subs = await f.store.listSubscriptions(f.accountId);
    assert.ok(subs.includes("New/Name/S"));
    assert.ok(!subs.includes("R/S"));
    await rejectsCode(f.store.renameMailbox(f.accountId, "Nope", "X"), "NONEXISTENT");
    await rejectsCode(f.store.renameMailbox(f.accountId, "New/Name", "Sent"), "ALREADYEXISTS");
    await rejectsCode(f.store.renameMailbox(f.accountId, "New", "New/Name/x"), "CANNOT");
    await rejectsCode(f.store.renameMailbox(f.accountId, "Sent", "INBOX"), "ALREADYEXISTS");
  });

  test("renaming INBOX moves its messages and keeps INBOX (RFC 9051 §6.3.6)", async () => {
    const r1 = await f.store.append(f.accountId, f.inbox, { raw: msg(), flags: ["\\Seen"] });
    await f.store.append(f.accountId, f.inbox, { raw: msg() });
    const usedBefore = (await f.store.getAccountById(f.accountId))!.usedBytes;
    await f.store.renameMailbox(f.accountId, "INBOX", "Old Inbox");
    const inbox = (await f.store.getMailbox(f.accountId, "INBOX"))!;
    assert.equal(inbox.id, f.inbox);
    assert.deepEqual(await f.store.listMessages(f.inbox), []);
    const changes = await f.store.changesSince(f.inbox, r1.modseq - 1n);
    assert.deepEqual(changes.expunged, [r1.uid, r1.uid + 1]);
    const old = (await f.store.getMailbox(f.accountId, "Old Inbox"))!;
    const rows = await f.store.listMessages(old.id);
    assert.deepEqual(
      rows.map((r) => [r.uid, r.flags]),
      [
        [1, ["\\Seen"]],
        [2, []],
      ],
    );
    assert.ok(await f.store.getMailbox(f.accountId, "INBOX/Sub"), "INBOX children unaffected");
    assert.equal((await f.store.getAccountById(f.accountId))!.usedBytes, usedBefore);
  });

  test("setSubscribed / listSubscriptions", async () => {
    await f.store.setSubscribed(f.accountId, "Work", true);
    await f.store.setSubscribed(f.accountId, "Work", true);
    assert.ok((await f.store.listSubscriptions(f.accountId)).includes("Work"));
    assert.equal((await f.store.getMailbox(f.accountId, "Work"))?.subscribed, true);
    await f.store.setSubscribed(f.accountId, "Work", false);
    assert.ok(!(await f.store.listSubscriptions(f.accountId)).includes("Work"));
    assert.equal((await f.store.getMailbox(f.accountId, "Work"))?.subscribed, false);
    await rejectsCode(f.store.setSubscribed(f.accountId, "Missing", true), "NONEXISTENT");
    await f.store.setSubscribed(f.accountId, "P", false); // unsubscribe a deleted name
    assert.ok(!(await f.store.listSubscriptions(f.accountId)).includes("P"));
  });
});

describe("messages", () => {
  let f: Fixture;
  before(async () => {
    f = await fixture({ smallBlobMaxBytes: 0, maxMessageSize: 4000 });
  });
  after(() => f.close());

  test("append: uids, modseq, flags, dates, blob and prefix", async () => {
    const raw = msg({ subject: "first" });
    const date = new Date("2023-05-06T07:08:09Z");
    const prefix = Buffer.from("Delivered-To: bob@example.com\r\n");
    const r = await f.store.append(f.accountId, f.inbox, {
      raw,
      flags: ["\\seen", "$Label1", "$label1", "\\Recent"],
      internalDate: date,
      deliveryHeaders: prefix,
    });
    assert.equal(r.uid, 1);
    assert.equal(r.mailboxId, f.inbox);
    const mb = (await f.store.getMailboxById(f.inbox))!;
    assert.equal(r.uidValidity, mb.uidValidity);
    assert.equal(mb.uidNext, 2);
    assert.equal(mb.highestModseq, r.modseq);
    const [m] = await f.store.getMessages(f.inbox, [1, 99]);
    assert.ok(m);
    assert.deepEqual(m.flags, ["\\Seen", "$Label1"]);
    assert.equal(m.internalDate.getTime(), date.getTime());
    assert.ok(Math.abs(m.saveDate.getTime() - Date.now()) < 60_000);
    assert.equal(m.size, raw.length + prefix.length);
    assert.equal(m.blobId, sha256Hex(raw));
    assert.match(m.emailId, /^[A-Za-z0-9_-]{1,255}$/);
    assert.match(m.threadId, /^[A-Za-z0-9_-]{1,255}$/);
    const content = Buffer.from(await f.store.readMessage(f.inbox, 1));
    assert.ok(content.equals(Buffer.concat([prefix, raw])), "prefix + blob, byte-exact");
    assert.ok(existsSync(blobPath(f.dir, m.blobId)));
    await rejectsCode(f.store.readMessage(f.inbox, 99), "NOTFOUND");

    const r2 = await f.store.append(f.accountId, f.inbox, { raw: msg() });
    assert.equal(r2.uid, 2);
    assert.ok(r2.modseq > r.modseq);
  });

  test("append errors: TOOBIG, NONEXISTENT, wrong account", async () => {
    await rejectsCode(f.store.append(f.accountId, f.inbox, { raw: Buffer.alloc(5000, 65) }), "TOOBIG");
    await rejectsCode(
      f.store.append(f.accountId, f.inbox, {
        raw: Buffer.alloc(3990, 65),
        deliveryHeaders: Buffer.alloc(20, 66),
      }),
      "TOOBIG",
    );
    await rejectsCode(f.store.append(f.accountId, 9999, { raw: msg() }), "NONEXISTENT");
    await rejectsCode(f.store.append(f.accountId + 1000, f.inbox, { raw: msg() }), "NONEXISTENT");
  });

  test("appendMany is one transaction: consecutive uids, same modseq, all or nothing", async () => {
    const before = await f.store.listMessages(f.inbox);
    const res = await f.store.appendMany(f.accountId, f.inbox, [
      { raw: msg() },
      { raw: msg() },
      { raw: msg() },
    ]);
    assert.equal(res.length, 3);
    assert.deepEqual(
      res.map((r) => r.uid),
      [res[0]!.uid, res[0]!.uid + 1, res[0]!.uid + 2],
    );
    assert.equal(new Set(res.map((r) => r.modseq)).size, 1);
    await rejectsCode(
      f.store.appendMany(f.accountId, f.inbox, [{ raw: msg() }, { raw: Buffer.alloc(5000, 65) }]),
      "TOOBIG",
    );
    assert.equal((await f.store.listMessages(f.inbox)).length, before.length + 3);
    assert.deepEqual(await f.store.appendMany(f.accountId, f.inbox, []), []);
  });

  test("storeFlags: set/add/remove, only changed rows, UNCHANGEDSINCE", async () => {
    const rows = await f.store.listMessages(f.inbox);
    const uids = rows.map((r) => r.uid);
    const r1 = await f.store.storeFlags(f.inbox, uids, "add", ["\\Flagged"]);
    assert.equal(r1.updated.length, uids.length);
    const ms = r1.updated[0]!.modseq;
    assert.ok(r1.updated.every((u) => u.modseq === ms && u.flags.includes("\\Flagged")));
    assert.equal((await f.store.getMailboxById(f.inbox))!.highestModseq, ms);
    const r2 = await f.store.storeFlags(f.inbox, uids, "add", ["\\flagged"]);
    assert.deepEqual(r2.updated, [], "no-op changes nothing");
    assert.equal((await f.store.getMailboxById(f.inbox))!.highestModseq, ms);
    const r3 = await f.store.storeFlags(f.inbox, [1], "remove", ["\\Seen", "$LABEL1"]);
    assert.deepEqual(r3.updated[0]!.flags, ["\\Flagged"]);
    const r4 = await f.store.storeFlags(f.inbox, [1, 2], "set", ["$A", "\\Deleted"], { unchangedSince: ms });
    assert.deepEqual(r4.modified, [1], "uid 1 changed after ms");
    assert.deepEqual(
      r4.updated.map((u) => [u.uid, u.flags]),
      [[2, ["$A", "\\Deleted"]]],
    );
    const counts = await f.store.mailboxCounts(f.inbox);
    assert.equal(counts.messages, uids.length);
    assert.equal(counts.deleted, 1);
    assert.equal(counts.unseen, uids.length);
    assert.ok(counts.size > 0);
    await rejectsCode(f.store.storeFlags(424242, [1], "add", ["\\Seen"]), "NONEXISTENT");
    await rejectsCode(f.store.mailboxCounts(424242), "NONEXISTENT");
  });

  test("changesSince returns changed rows and expunges after a modseq", async () => {
    const mb0 = (await f.store.getMailboxById(f.inbox))!;
    const since = mb0.highestModseq;
    const none = await f.store.changesSince(f.inbox, since);
    assert.deepEqual(none.changed, []);
    assert.deepEqual(none.expunged, []);
    await f.store.storeFlags(f.inbox, [3], "add", ["\\Answered"]);
    const a = await f.store.append(f.accountId, f.inbox, { raw: msg() });
    const removed = await f.store.expunge(f.inbox, [4, 4, 777]);
    assert.deepEqual(removed, [4]);
    const ch = await f.store.changesSince(f.inbox, since);
    assert.deepEqual(
      ch.changed.map((c) => c.uid),
      [3, a.uid],
    );
    assert.deepEqual(ch.expunged, [4]);
    const mb = (await f.store.getMailboxById(f.inbox))!;
    assert.equal(ch.highestModseq, mb.highestModseq);
    assert.equal(ch.uidNext, mb.uidNext);
    assert.deepEqual(await f.store.expunge(f.inbox, [4]), [], "already gone");
  });

  test("modseq is strictly increasing across operations and mailboxes of an account", async () => {
    const trash = (await f.store.getMailbox(f.accountId, "Trash"))!;
    const seen: bigint[] = [];
    seen.push((await f.store.append(f.accountId, f.inbox, { raw: msg() })).modseq);
    seen.push((await f.store.append(f.accountId, trash.id, { raw: msg() })).modseq);
    seen.push((await f.store.storeFlags(trash.id, [1], "add", ["\\Seen"])).updated[0]!.modseq);
    await f.store.copy(f.inbox, [1], trash.id);
    seen.push((await f.store.getMailboxById(trash.id))!.highestModseq);
    await f.store.expunge(trash.id, [1]);
    seen.push((await f.store.getMailboxById(trash.id))!.highestModseq);
    for (let i = 1; i < seen.length; i++)
      assert.ok(seen[i]! > seen[i - 1]!, `modseq ${seen[i]} > ${seen[i - 1]}`);
  });

  test("getParsed returns the cached structure", async () => {
    const raw = msg({ subject: "Parsed subject" });
    const r = await f.store.append(f.accountId, f.inbox, { raw });
    const [m] = await f.store.getMessages(f.inbox, [r.uid]);
    const p = await f.store.getParsed(m!.blobId);
    assert.equal(p.envelope.subject, "Parsed subject");
    assert.equal(p.root.contentType.type, "text");
    assert.equal((await f.store.getParsed(m!.blobId)).envelope.subject, "Parsed subject");
    await rejectsCode(f.store.getParsed("0".repeat(64)), "NOTFOUND");
  });

  test("getParsedMany answers in order, cached or not, with null for a blob that is gone", async () => {
    const a = await f.store.append(f.accountId, f.inbox, { raw: msg({ subject: "Many A" }) });
    const b = await f.store.append(f.accountId, f.inbox, { raw: msg({ subject: "Many B" }) });
    const [ma, mb] = await f.store.getMessages(f.inbox, [a.uid, b.uid]);
    await f.store.getParsed(ma!.blobId); // A cached, B read from its row
    const got = await f.store.getParsedMany([mb!.blobId, "0".repeat(64), ma!.blobId, mb!.blobId]);
    assert.deepEqual(
      got.map((p) => p?.envelope.subject ?? null),
      ["Many B", null, "Many A", "Many B"],
    );
    assert.deepEqual(await f.store.getParsedMany([]), []);
  });

  test("getMessages with a large uid set uses the range path and filters", async () => {
    const all = await f.store.listMessages(f.inbox);
    const ask = [...all.map((r) => r.uid), ...Array.from({ length: 100 }, (_, i) => 10_000 + i)];
    const got = await f.store.getMessages(f.inbox, ask.reverse());
    assert.deepEqual(
      got.map((m) => m.uid),
      all.map((r) => r.uid),
    );
  });
});

describe("copy, move, quota, dedupe, GC", () => {
  let f: Fixture;
  before(async () => {
    f = await fixture({ smallBlobMaxBytes: 0 });
  });
  after(() => f.close());

  test("copy keeps emailId/threadId, shares the blob, counts quota", async () => {
    const raw = msg({ subject: "copy me" });
    const prefix = Buffer.from("X-Delivered: 1\r\n");
    await f.store.append(f.accountId, f.inbox, { raw, deliveryHeaders: prefix, flags: ["\\Seen"] });
    const archive = (await f.store.getMailbox(f.accountId, "Archive"))!;
    const res = await f.store.copy(f.inbox, [1, 5], archive.id);
    assert.equal(res.uidValidity, archive.uidValidity);
    assert.deepEqual(res.mapping, [[1, 1]]);
    const [src] = await f.store.getMessages(f.inbox, [1]);
    const [dst] = await f.store.getMessages(archive.id, [1]);
    assert.equal(dst!.emailId, src!.emailId);
    assert.equal(dst!.threadId, src!.threadId);
    assert.equal(dst!.blobId, src!.blobId);
    assert.deepEqual(dst!.flags, ["\\Seen"]);
    assert.ok(Buffer.from(await f.store.readMessage(archive.id, 1)).equals(Buffer.concat([prefix, raw])));
    const files = readdirSync(join(f.dir, "blobs", src!.blobId.slice(0, 2), src!.blobId.slice(2, 4)));
    assert.deepEqual(files, [src!.blobId], "one file for both copies, no temp files");
    const acct = (await f.store.getAccountById(f.accountId))!;
    assert.equal(acct.usedMessages, 2);
    assert.equal(acct.usedBytes, 2 * (raw.length + prefix.length));

    // expunging one copy keeps the shared blob; expunging the last collects it
    await f.store.expunge(f.inbox, [1]);
    await gcIdle(f.store);
    assert.ok(existsSync(blobPath(f.dir, src!.blobId)));
    assert.ok(Buffer.from(await f.store.readMessage(archive.id, 1)).equals(Buffer.concat([prefix, raw])));
    await f.store.expunge(archive.id, [1]);
    await gcIdle(f.store);
    assert.equal(existsSync(blobPath(f.dir, src!.blobId)), false);
    const acct2 = (await f.store.getAccountById(f.accountId))!;
    assert.equal(acct2.usedMessages, 0);
    assert.equal(acct2.usedBytes, 0);
  });

  test("identical content appended twice is stored once", async () => {
    const raw = msg({ subject: "twice" });
    await f.store.append(f.accountId, f.inbox, { raw });
    await f.store.append(f.accountId, f.inbox, { raw });
    const rows = await f.store.listMessages(f.inbox);
    const metas = await f.store.getMessages(
      f.inbox,
      rows.map((r) => r.uid),
    );
    assert.equal(metas.length, 2);
    assert.equal(metas[0]!.blobId, metas[1]!.blobId);
    assert.notEqual(metas[0]!.emailId, metas[1]!.emailId);
    await f.store.expunge(
      f.inbox,
      rows.map((r) => r.uid),
    );
    await gcIdle(f.store);
    assert.equal(existsSync(blobPath(f.dir, sha256Hex(raw))), false);
  });

  test("move: new uids in destination, expunged in source, quota unchanged", async () => {
    const a = await f.store.append(f.accountId, f.inbox, { raw: msg(), flags: ["$X"] });
    const b = await f.store.append(f.accountId, f.inbox, { raw: msg() });
    const trash = (await f.store.getMailbox(f.accountId, "Trash"))!;
    const used = (await f.store.getAccountById(f.accountId))!;
    const [ma] = await f.store.getMessages(f.inbox, [a.uid]);
    const res = await f.store.move(f.inbox, [b.uid, a.uid], trash.id);
    assert.deepEqual(res.mapping, [
      [a.uid, trash.uidNext],
      [b.uid, trash.uidNext + 1],
    ]);
    assert.deepEqual(await f.store.getMessages(f.inbox, [a.uid, b.uid]), []);
    const ch = await f.store.changesSince(f.inbox, a.modseq);
    assert.deepEqual(ch.expunged, [a.uid, b.uid]);
    const [mt] = await f.store.getMessages(trash.id, [trash.uidNext]);
    assert.equal(mt!.emailId, ma!.emailId);
    assert.deepEqual(mt!.flags, ["$X"]);
    const after = (await f.store.getAccountById(f.accountId))!;
    assert.equal(after.usedBytes, used.usedBytes);
    assert.equal(after.usedMessages, used.usedMessages);
    assert.ok(existsSync(blobPath(f.dir, mt!.blobId)), "blob kept by the moved message");
    await rejectsCode(f.store.move(f.inbox, [1], 98765), "NONEXISTENT");
  });

  test("quota: OVERQUOTA on append and copy, nothing stored", async () => {
    const acct = (await f.store.getAccountById(f.accountId))!;
    const raw = msg({ body: "x".repeat(500) });
    await f.store.updateAccount(acct.address, { quotaBytes: acct.usedBytes + raw.length + 10 });
    const r = await f.store.append(f.accountId, f.inbox, { raw });
    const before = await f.store.listMessages(f.inbox);
    await rejectsCode(
      f.store.append(f.accountId, f.inbox, { raw: msg({ body: "y".repeat(500) }) }),
      "OVERQUOTA",
    );
    const junk = (await f.store.getMailbox(f.accountId, "Junk"))!;
    await rejectsCode(f.store.copy(f.inbox, [r.uid], junk.id), "OVERQUOTA");
    assert.deepEqual(await f.store.listMessages(f.inbox), before);
    assert.deepEqual(await f.store.listMessages(junk.id), []);
    // move within the account does not need extra quota
    await f.store.move(f.inbox, [r.uid], junk.id);
    await f.store.updateAccount(acct.address, { quotaBytes: 0, quotaMessages: 1 });
    const used = (await f.store.getAccountById(f.accountId))!.usedMessages;
    await f.store.updateAccount(acct.address, { quotaMessages: used });
    await rejectsCode(f.store.append(f.accountId, f.inbox, { raw: msg() }), "OVERQUOTA");
    await f.store.updateAccount(acct.address, { quotaMessages: 0 });
  });

  test("usage counters equal the sum over messages", async () => {
    const acct = (await f.store.getAccountById(f.accountId))!;
    let bytes = 0;
    let count = 0;
    for (const mb of await f.store.listMailboxes(f.accountId)) {
      const c = await f.store.mailboxCounts(mb.id);
      bytes += c.size;
      count += c.messages;
    }
    assert.equal(acct.usedBytes, bytes);
    assert.equal(acct.usedMessages, count);
  });
});

describe("threading", () => {
  let f: Fixture;
  before(async () => {
    f = await fixture({ smallBlobMaxBytes: 0 });
  });
  after(() => f.close());

  test("replies join the thread of their parent; unrelated messages do not", async () => {
    const a = await f.store.append(f.accountId, f.inbox, { raw: msg({ messageId: "<root@x>" }) });
    const b = await f.store.append(f.accountId, f.inbox, {
      raw: msg({ messageId: "<r1@x>", inReplyTo: "<root@x>", references: "<root@x>" }),
    });
    const c = await f.store.append(f.accountId, f.inbox, {
      raw: msg({ messageId: "<r2@x>", references: "<root@x> <r1@x>" }),
    });
    const d = await f.store.append(f.accountId, f.inbox, { raw: msg({ messageId: "<other@x>" }) });
    const metas = await f.store.getMessages(f.inbox, [a.uid, b.uid, c.uid, d.uid]);
    assert.equal(metas[1]!.threadId, metas[0]!.threadId);
    assert.equal(metas[2]!.threadId, metas[0]!.threadId);
    assert.notEqual(metas[3]!.threadId, metas[0]!.threadId);
  });

  test("a parent arriving after its reply joins the reply's thread", async () => {
    const child = await f.store.append(f.accountId, f.inbox, {
      raw: msg({ messageId: "<late-child@x>", inReplyTo: "<late-parent@x>" }),
    });
    const parent = await f.store.append(f.accountId, f.inbox, { raw: msg({ messageId: "<late-parent@x>" }) });
    const [m1, m2] = await f.store.getMessages(f.inbox, [child.uid, parent.uid]);
    assert.equal(m1!.threadId, m2!.threadId);
  });
});

describe("durability order", () => {
  test("the blob file exists (complete) when the transaction inserts the row that references it", async () => {
    const t = tempDir();
    const checks: Array<{ sha: string; complete: boolean }> = [];
    const store = await openStore({
      smallBlobMaxBytes: 0,
      dataDir: t.dir,
      feedSocketPath: null,
      // a temp trigger fires inside the append transaction, before COMMIT
      sqliteHook: (db) => {
        db.function("test_blob_check", (sha: unknown) => {
          const s = String(sha);
          const p = blobPath(t.dir, s);
          checks.push({ sha: s, complete: existsSync(p) && sha256Hex(readFileSync(p)) === s });
          return 0;
        });
        db.exec(`CREATE TEMP TRIGGER test_msg_ins AFTER INSERT ON main.message BEGIN
          SELECT test_blob_check((SELECT sha256 FROM main.blob WHERE id = NEW.blob_id));
        END`);
      },
    });
    try {
      await store.addDomain("example.com");
      const acct = await store.createAccount("u@example.com", "h");
      const inbox = (await store.getMailbox(acct.id, "INBOX"))!;
      const raws = [msg({ subject: "durable 1" }), msg({ subject: "durable 2" })];
      await store.append(acct.id, inbox.id, { raw: raws[0]! });
      await store.appendMany(acct.id, inbox.id, [{ raw: raws[1]! }, { raw: raws[0]! }]);
      assert.deepEqual(
        checks,
        [raws[0]!, raws[1]!, raws[0]!].map((r) => ({ sha: sha256Hex(r), complete: true })),
      );
    } finally {
      await store.close();
      t.cleanup();
    }
  });

  test("append fails before commit when the blob cannot be written, and nothing is stored", async () => {
    const t = tempDir();
    const store = await openStore({ smallBlobMaxBytes: 0, dataDir: t.dir, feedSocketPath: null });
    try {
      await store.addDomain("example.com");
      const acct = await store.createAccount("u@example.com", "h");
      const inbox = (await store.getMailbox(acct.id, "INBOX"))!;
      const raw = msg({ subject: "blocked" });
      const sha = sha256Hex(raw);
      // make the blob directory impossible to create: a file where the directory should be
      const { mkdirSync, writeFileSync } = await import("node:fs");
      mkdirSync(join(t.dir, "blobs", sha.slice(0, 2)), { recursive: true });
      writeFileSync(join(t.dir, "blobs", sha.slice(0, 2), sha.slice(2, 4)), "not a dir");
      await assert.rejects(store.append(acct.id, inbox.id, { raw }));
      assert.deepEqual(await store.listMessages(inbox.id), []);
      assert.equal((await store.getAccountById(acct.id))!.usedMessages, 0);
    } finally {
      await store.close();
      t.cleanup();
    }
  });
});

describe("blob lifecycle edge cases", () => {
  test("a failed append transaction leaves no orphan blob file; a vanished file is rewritten", async () => {
    const t = tempDir();
    let fail = false;
    const store = await openStore({
      smallBlobMaxBytes: 0,
      dataDir: t.dir,
      feedSocketPath: null,
      sqliteHook: (db) => {
        db.function("test_maybe_fail", () => {
          if (fail) throw new Error("injected failure");
          return 0;
        });
        db.exec(`CREATE TEMP TRIGGER test_fail BEFORE INSERT ON main.message BEGIN
          SELECT test_maybe_fail();
        END`);
      },
    });
    try {
      await store.addDomain("example.com");
      const acct = await store.createAccount("u@example.com", "h");
      const inbox = (await store.getMailbox(acct.id, "INBOX"))!;
      const raw = msg({ subject: "will fail" });
      fail = true;
      await assert.rejects(store.append(acct.id, inbox.id, { raw }), /injected failure/);
      fail = false;
      assert.equal(existsSync(blobPath(t.dir, sha256Hex(raw))), false, "no orphan file");
      assert.deepEqual(await store.listMessages(inbox.id), []);
      assert.equal((await store.mailboxCounts(inbox.id)).messages, 0);

      // a file lost behind our back is restored by the next append of the same content
      await store.append(acct.id, inbox.id, { raw });
      const { unlinkSync } = await import("node:fs");
      unlinkSync(blobPath(t.dir, sha256Hex(raw)));
      await store.append(acct.id, inbox.id, { raw });
      assert.ok(Buffer.from(await store.readMessage(inbox.id, 1)).equals(raw));
    } finally {
      await store.close();
      t.cleanup();
    }
  });

  test("getParsed re-parses when the cached structure is from an older parser version", async () => {
    const t = tempDir();
    const mime = await import("../mime/index.ts");
    let parses = 0;
    const newer = {
      ...mime,
      parseMessage: (raw: Uint8Array) => {
        parses++;
        return { ...mime.parseMessage(raw), version: mime.PARSED_VERSION + 1 };
      },
    };
    try {
      const s1 = await openStore({ smallBlobMaxBytes: 0, dataDir: t.dir, feedSocketPath: null });
      await s1.addDomain("example.com");
      const acct = await s1.createAccount("u@example.com", "h");
      const inbox = (await s1.getMailbox(acct.id, "INBOX"))!;
      const raw = msg({ subject: "versioned" });
      await s1.append(acct.id, inbox.id, { raw });
      await s1.close();

      const s2 = await openStore({ smallBlobMaxBytes: 0, dataDir: t.dir, feedSocketPath: null, mime: newer });
      const sha = sha256Hex(raw);
      parses = 0;
      const p = await s2.getParsed(sha);
      assert.equal(p.version, mime.PARSED_VERSION + 1);
      assert.equal(p.envelope.subject, "versioned");
      assert.ok(parses >= 1, "re-parsed");
      await s2.close();
      // stored back: a third store with the same newer parser does not parse again
      const s3 = await openStore({ smallBlobMaxBytes: 0, dataDir: t.dir, feedSocketPath: null, mime: newer });
      parses = 0;
      assert.equal((await s3.getParsed(sha)).version, mime.PARSED_VERSION + 1);
      assert.equal(parses, 1, "only the version probe");
      await s3.close();
    } finally {
      t.cleanup();
    }
  });

  test("invalid internal date is refused", async () => {
    const f = await fixture({ smallBlobMaxBytes: 0 });
    try {
      await rejectsCode(
        f.store.append(f.accountId, f.inbox, { raw: msg(), internalDate: new Date("garbage") }),
        "INVALID",
      );
    } finally {
      await f.close();
    }
  });
});
