import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { targetFolder } from "./folder-map.ts";
import { folderName } from "./imap-source.ts";
import { maildirFlags, maildirFolders, maildirInfo, maildirSource } from "./maildir.ts";

const dir = mkdtempSync(join(tmpdir(), "pk-maildir-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("Maildir reading", () => {
  it("flags from the info part, keywords from dovecot-keywords", () => {
    const kw = new Map([
      ["a", "$Label1"],
      ["b", "work"],
    ]);
    assert.deepEqual(maildirFlags("123.x.host,S=10:2,DFPRSTb", kw), [
      "\\Draft",
      "\\Flagged",
      "$Forwarded",
      "\\Answered",
      "\\Seen",
      "\\Deleted",
      "work",
    ]);
    assert.deepEqual(maildirFlags("123.x.host", kw), []);
    const letters = ["x", "y"];
    assert.deepEqual(
      maildirInfo(["\\Seen", "\\Answered", "y", "zzz"], (k) => {
        const i = letters.indexOf(k);
        return i < 0 ? null : String.fromCharCode(0x61 + i);
      }),
      { info: "RSb", lost: ["zzz"] },
    );
  });

  it("Maildir++ folders, new/ without flags, mtime as internal date, LF → CRLF", async () => {
    const root = join(dir, "md");
    for (const d of ["", ".Sent Items", ".Work.2025"])
      for (const s of ["cur", "new", "tmp"]) mkdirSync(join(root, d, s), { recursive: true });
    writeFileSync(join(root, "dovecot-keywords"), "0 $Label1\n1 work\n");
    writeFileSync(join(root, "cur", "1000.a.h:2,Sb"), "Subject: a\n\nx\n");
    writeFileSync(join(root, "new", "1001.b.h"), "Subject: b\n\ny\n");
    writeFileSync(join(root, ".Work.2025", "cur", "1002.c.h:2,F"), "Subject: c\r\n\r\nz\r\n");
    utimesSync(join(root, "cur", "1000.a.h:2,Sb"), 1_600_000_000, 1_600_000_000);
    assert.deepEqual(
      maildirFolders(root).map((f) => f.name),
      ["INBOX", "Sent Items", "Work/2025"],
    );
    const got = [];
    for await (const it of maildirSource(root).items()) if (it.kind === "message") got.push(it);
    assert.equal(got.length, 3);
    assert.equal(Buffer.from(got[0]!.raw).toString(), "Subject: a\r\n\r\nx\r\n");
    assert.deepEqual(got[0]!.flags, ["\\Seen", "work"]);
    assert.equal(got[0]!.internalDate?.getTime(), 1_600_000_000_000);
    assert.deepEqual(got[1]!.flags, []);
    assert.equal(got[2]!.folder.name, "Work/2025");
  });
});

describe("folder mapping", () => {
  const existing = [
    {
      id: 1,
      accountId: 1,
      name: "Sent",
      uidValidity: 1,
      uidNext: 1,
      highestModseq: 0n,
      specialUse: "\\Sent",
      subscribed: true,
    },
    {
      id: 2,
      accountId: 1,
      name: "Trash",
      uidValidity: 1,
      uidNext: 1,
      highestModseq: 0n,
      specialUse: "\\Trash",
      subscribed: true,
    },
  ] as const;
  it("by special use, by common names, Gmail's prefix, INBOX in any case", () => {
    const t = (name: string, use: "\\Sent" | "\\Junk" | null = null) =>
      targetFolder({ name, specialUse: use }, [...existing]);
    assert.equal(t("Sent Items").name, "Sent");
    assert.equal(t("Sent Messages").name, "Sent");
    assert.equal(t("Deleted Items").name, "Trash");
    assert.equal(t("[Gmail]/Sent Mail", "\\Sent").name, "Sent");
    assert.deepEqual(t("[Gmail]/Spam", "\\Junk"), { name: "Spam", specialUse: "\\Junk" });
    assert.equal(t("inbox").name, "INBOX");
    assert.equal(t("Projects/Sent Items").name, "Projects/Sent Items");
    assert.deepEqual(t("Work"), { name: "Work", specialUse: null });
    // IMAP names: delimiter to "/", the personal namespace prefix dropped (RFC 2342)
    assert.equal(folderName("INBOX.Sent Items", ".", "INBOX."), "Sent Items");
    assert.equal(folderName("Clients.ACME", ".", ""), "Clients/ACME");
    assert.equal(folderName("inbox", "/", ""), "INBOX");
  });
});
