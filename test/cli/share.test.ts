/**
 * `postkontor share` (RFC 4314 ACLs from the command line): grant, list, change, remove, the
 * errors (unknown account, mailbox or grantee; bad rights; the owner itself), and that deleting
 * the grantee's account removes its grants.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { run, tempEnv } from "./helpers.ts";

describe("postkontor share", () => {
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

  it("grants, lists and changes rights (c and d expand to their rights)", async () => {
    let r = await run([
      "share",
      "alice@example.com",
      "INBOX",
      "--with",
      "bob@example.com",
      "--rights",
      "lrs",
      ...c,
    ]);
    assert.equal(r.code, 0, r.stderr);
    r = await run(["share", "alice@example.com", "Sent", "--with", "anyone", "--rights", "lrd", ...c]);
    assert.equal(r.code, 0, r.stderr);
    r = await run(["share", "list", "alice@example.com", ...c]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "INBOX\tbob@example.com\tlrs\nSent\tanyone\tlrte\n");
    r = await run([
      "share",
      "alice@example.com",
      "INBOX",
      "--with",
      "BOB@example.com",
      "--rights",
      "lrswc",
      ...c,
    ]);
    assert.equal(r.code, 0, r.stderr);
    r = await run(["share", "list", "alice@example.com", ...c]);
    assert.equal(r.stdout, "INBOX\tbob@example.com\tlrswkx\nSent\tanyone\tlrte\n");
  });

  it("removes a grant", async () => {
    const r = await run(["share", "alice@example.com", "Sent", "--with", "anyone", "--remove", ...c]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      (await run(["share", "list", "alice@example.com", ...c])).stdout,
      "INBOX\tbob@example.com\tlrswkx\n",
    );
  });

  it("refuses bad input with a clear error", async () => {
    const bad = async (args: string[], code: number, re: RegExp) => {
      const r = await run([...args, ...c]);
      assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, re);
    };
    await bad(
      ["share", "alice@example.com", "INBOX", "--with", "bob@example.com", "--rights", "lrz"],
      64,
      /invalid rights/,
    );
    await bad(
      ["share", "alice@example.com", "INBOX", "--with", "bob@example.com"],
      64,
      /--rights and --remove/,
    );
    await bad(["share", "alice@example.com", "INBOX", "--rights", "lr"], 64, /--with/);
    await bad(
      ["share", "nobody@example.com", "INBOX", "--with", "bob@example.com", "--rights", "lr"],
      67,
      /no such account/,
    );
    await bad(
      ["share", "alice@example.com", "Nope", "--with", "bob@example.com", "--rights", "lr"],
      67,
      /no such mailbox/,
    );
    await bad(
      ["share", "alice@example.com", "INBOX", "--with", "nobody@example.com", "--rights", "lr"],
      67,
      /no such account/,
    );
    await bad(
      ["share", "alice@example.com", "INBOX", "--with", "alice@example.com", "--rights", "lr"],
      1,
      /owner/,
    );
    await bad(["share", "list"], 64, /ADDRESS/);
    // nothing changed by the refused commands
    assert.equal(
      (await run(["share", "list", "alice@example.com", ...c])).stdout,
      "INBOX\tbob@example.com\tlrswkx\n",
    );
  });

  it("deleting the grantee's account removes its grants", async () => {
    assert.equal(
      (
        await run([
          "share",
          "alice@example.com",
          "Drafts",
          "--with",
          "carol@example.com",
          "--rights",
          "lr",
          ...c,
        ])
      ).code,
      0,
    );
    assert.match((await run(["share", "list", "alice@example.com", ...c])).stdout, /carol/);
    assert.equal((await run(["user", "del", "carol@example.com", ...c], { input: "y\n" })).code, 0);
    assert.equal(
      (await run(["share", "list", "alice@example.com", ...c])).stdout,
      "INBOX\tbob@example.com\tlrswkx\n",
    );
  });
});
