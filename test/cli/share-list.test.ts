/**
 * `postkontor share list ADDRESS` shows both directions: the grants on the address's own
 * mailboxes, then the mailboxes of others shared WITH the address (directly or through "anyone"),
 * named as the address's IMAP client sees them (Shared/<owner>/<mailbox>).
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { run, tempEnv } from "./helpers.ts";

describe("postkontor share list: shared by and shared with", () => {
  let c: string[];
  before(async () => {
    const env = tempEnv();
    c = ["--config", env.config];
    assert.equal((await run(["domain", "add", "example.com", ...c])).code, 0);
    for (const u of ["alice", "bob", "carol"])
      assert.equal(
        (await run(["user", "add", `${u}@example.com`, ...c], { input: "pw-long-enough\n" })).code,
        0,
      );
  });

  it("lists the grants on the address's mailboxes, then what is shared with it", async () => {
    const share = async (owner: string, mailbox: string, grantee: string, rights: string) => {
      const r = await run(["share", owner, mailbox, "--with", grantee, "--rights", rights, ...c]);
      assert.equal(r.code, 0, r.stderr);
    };
    await share("alice@example.com", "INBOX", "bob@example.com", "lr");
    await share("carol@example.com", "Sent", "anyone", "l");
    await share("carol@example.com", "INBOX", "bob@example.com", "lrs");
    await share("bob@example.com", "Drafts", "alice@example.com", "lrswi");
    let r = await run(["share", "list", "bob@example.com", ...c]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        "Drafts\talice@example.com\tlrswi",
        "Shared/alice@example.com/INBOX\tbob@example.com\tlr",
        "Shared/carol@example.com/INBOX\tbob@example.com\tlrs",
        "Shared/carol@example.com/Sent\tbob@example.com\tl",
        "",
      ].join("\n"),
    );
    // carol's own grants; nothing of others is shared with her (her own "anyone" grant aside)
    r = await run(["share", "list", "carol@example.com", ...c]);
    assert.equal(r.stdout, "INBOX\tbob@example.com\tlrs\nSent\tanyone\tl\n");
  });
});
