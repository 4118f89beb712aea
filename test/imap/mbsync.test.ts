import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { message, seed, startServer, type TestServer } from "./helpers.ts";

const run = promisify(execFile);
const hasMbsync = existsSync("/usr/bin/mbsync");

describe("mbsync (isync) as a real client", { skip: !hasMbsync && "mbsync not installed" }, () => {
  let t: TestServer;
  let dir: string;
  before(async () => {
    t = await startServer();
    dir = mkdtempSync(join(tmpdir(), "pk-mbsync-"));
    mkdirSync(join(dir, "mail"));
    writeFileSync(
      join(dir, "rc"),
      [
        "IMAPAccount test",
        "Host 127.0.0.1",
        `Port ${t.port}`,
        "User alice@example.com",
        "Pass secret",
        "SSLType None",
        "AuthMechs LOGIN",
        "",
        "IMAPStore remote",
        "Account test",
        "",
        "MaildirStore local",
        `Path ${dir}/mail/`,
        `Inbox ${dir}/mail/INBOX`,
        "SubFolders Verbatim",
        "",
        "Channel ch",
        "Far :remote:",
        "Near :local:",
        "Patterns *",
        "Create Both",
        "Expunge Both",
        "SyncState *",
        "",
      ].join("\n"),
    );
  });
  after(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const files = (box: string) =>
    ["new", "cur"].flatMap((d) =>
      readdirSync(join(dir, "mail", box, d)).map((f) => join(dir, "mail", box, d, f)),
    );

  it("downloads all folders, then picks up new mail incrementally", async () => {
    await seed(t, "INBOX", 3);
    await run("mbsync", ["-c", join(dir, "rc"), "-q", "-a"]);
    assert.equal(files("INBOX").length, 3);
    assert.ok(existsSync(join(dir, "mail", "Archive")));
    const inbox = (await t.store.getMailbox(t.accountId, "INBOX"))!;
    await t.store.append(t.accountId, inbox.id, {
      raw: Buffer.from(message("late arrival", "late body\r\n")),
    });
    await run("mbsync", ["-c", join(dir, "rc"), "-q", "-a"]);
    const all = files("INBOX");
    assert.equal(all.length, 4);
    assert.ok(all.some((f) => readFileSync(f, "utf8").includes("late body")));
  });
});
