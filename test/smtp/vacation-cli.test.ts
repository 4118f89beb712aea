/**
 * `postkontor vacation ADDRESS on|off|show` and `postkontor deliver` answering through the
 * vacation responder (the same local-delivery path as SMTP): a local sender (--sender) gets the
 * reply in INBOX, a remote one (Return-Path) gets it queued with <>.
 */
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { openStore } from "../../src/store/index.ts";
import { run, tempEnv } from "../cli/helpers.ts";
import { mailboxMessages } from "./helpers.ts";

describe("postkontor vacation / deliver with a vacation on", () => {
  const env = tempEnv("");
  const c = ["-c", env.config];
  after(() => rmSync(env.dir, { recursive: true, force: true }));

  it("on/show/off, refusals, and replies to deliver's sender", async () => {
    assert.equal((await run(["domain", "add", "example.com", ...c])).code, 0);
    for (const u of ["alice@example.com", "bob@example.com"])
      assert.equal((await run(["user", "add", u, ...c], { input: "pw\n" })).code, 0);
    const html = join(env.dir, "away.html");
    writeFileSync(html, "<p>away</p>");
    const on = await run([
      "vacation",
      "alice@example.com",
      "on",
      "--subject",
      "Out of office",
      "--text",
      "Back on Monday.",
      "--html-file",
      html,
      "--to",
      "2999-01-01",
      ...c,
    ]);
    assert.equal(on.code, 0, on.stderr);
    const show = await run(["vacation", "alice@example.com", "show", ...c]);
    assert.equal(
      show.stdout,
      "enabled: yes\nfrom: none\nto: 2999-01-01T00:00:00.000Z\nsubject: Out of office\n" +
        "html: 11 characters\ntext:\nBack on Monday.\n",
    );
    assert.equal((await run(["vacation", "alice@example.com", "maybe", ...c])).code, 64);
    assert.equal((await run(["vacation", "alice@example.com", "on", "--from", "tomorrow", ...c])).code, 64);
    assert.equal((await run(["vacation", "nobody@example.com", "show", ...c])).code, 67);

    const mail =
      "From: bob@example.com\nTo: alice@example.com\nSubject: hi\nMessage-ID: <c1@example.com>\n\nhi\n";
    const d1 = await run(["deliver", "alice@example.com", "--sender", "bob@example.com", ...c], {
      input: mail,
    });
    assert.equal(d1.code, 0, d1.stderr);
    const remote = `Return-Path: <carol@remote.example>\n${mail.replace("bob@example.com", "carol@remote.example")}`;
    const d2 = await run(["deliver", "alice@example.com", ...c], { input: remote });
    assert.equal(d2.code, 0, d2.stderr);

    assert.equal((await run(["vacation", "alice@example.com", "off", ...c])).code, 0);
    assert.match((await run(["vacation", "alice@example.com", "show", ...c])).stdout, /^enabled: no$/m);
    const d3 = await run(["deliver", "alice@example.com", "--sender", "dave@remote.example", ...c], {
      input: mail,
    });
    assert.equal(d3.code, 0, d3.stderr);

    const store = await openStore({ dataDir: env.dataDir, feedSocketPath: null });
    try {
      const bobInbox = await mailboxMessages(store, "bob@example.com");
      assert.equal(bobInbox.length, 1);
      assert.match(bobInbox[0]!.toString("utf8"), /^Subject: Out of office\r\n/m);
      assert.match(bobInbox[0]!.toString("utf8"), /^In-Reply-To: <c1@example\.com>\r\n/m);
      const q = await store.listQueue();
      assert.deepEqual(
        q.map((e) => [e.mailFrom, e.recipients.map((r) => r.address)]),
        [["", ["carol@remote.example"]]],
      );
    } finally {
      await store.close();
    }
  });
});
