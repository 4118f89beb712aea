import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { asctime, fromLineDate, mboxFlags, mboxrdEntry, mboxSource, readMbox } from "./mbox.ts";

const dir = mkdtempSync(join(tmpdir(), "pk-mbox-"));
after(() => rmSync(dir, { recursive: true, force: true }));

async function read(text: string, variant?: "auto" | "mboxo" | "mboxrd" | "mboxcl" | "mboxcl2") {
  const f = join(dir, `m${Math.random()}`);
  writeFileSync(f, text, "latin1");
  const out: string[] = [];
  for await (const m of readMbox(f, variant)) out.push(m.raw.toString("latin1"));
  return out;
}

describe("mbox reading (RFC 4155)", () => {
  const body = "Subject: a\n\nFrom here\n>From there\n>>From deep\n";
  const file = `From a@b Sat Jan  3 01:02:03 2004\n${"Subject: a\n\n>From here\n>>From there\n>>>From deep\n"}\nFrom c@d Sun Jan  4 01:02:03 2004\nSubject: b\n\nx\n`;

  it("mboxrd (and auto) unquote every level once; the separator's empty line is not message", async () => {
    assert.deepEqual(await read(file, "mboxrd"), [body, "Subject: b\n\nx\n"]);
    assert.deepEqual(await read(file), [body, "Subject: b\n\nx\n"]);
  });

  it("mboxo unquotes only >From", async () => {
    const [m] = await read(file, "mboxo");
    assert.equal(m, "Subject: a\n\nFrom here\n>>From there\n>>>From deep\n");
  });

  it("mboxcl2: Content-Length bounds the body, From lines inside are not separators, nothing unquoted", async () => {
    const b = "From x\n\n>From y\n";
    const text = `From a@b Sat Jan  3 01:02:03 2004\nContent-Length: ${b.length}\n\n${b}\nFrom c@d Sun Jan  4 01:02:03 2004\n\nz\n`;
    assert.deepEqual(await read(text, "mboxcl2"), [`Content-Length: ${b.length}\n\n${b}`, "\nz\n"]);
    // auto trusts the length and unquotes mboxrd-style
    assert.deepEqual(await read(text), [`Content-Length: ${b.length}\n\nFrom x\n\nFrom y\n`, "\nz\n"]);
  });

  it("a Content-Length past the end of the file is ignored", async () => {
    const text =
      "From a@b Sat Jan  3 01:02:03 2004\nContent-Length: 9999\n\nbody\n\nFrom c@d Sun Jan  4 01:02:03 2004\n\nz\n";
    assert.equal((await read(text)).length, 2);
  });

  it("lines longer than the read chunk (1 MiB) stay whole", async () => {
    const long = "a".repeat(3 * 1024 * 1024 + 7);
    const got = await read(
      `From a@b Sat Jan  3 01:02:03 2004\nSubject: l\n\n${long}\n\nFrom c@d Sun Jan  4 01:02:03 2004\n\nz\n`,
    );
    assert.equal(got.length, 2);
    assert.equal(got[0], `Subject: l\n\n${long}\n`);
  });

  it("From_ line dates (asctime, UTC; a zone before the year)", () => {
    assert.equal(
      fromLineDate("From a@b Sat Jan  3 01:02:03 2004")?.toISOString(),
      "2004-01-03T01:02:03.000Z",
    );
    assert.equal(
      fromLineDate("From a@b Sat Jan  3 01:02:03 +0100 2004")?.toISOString(),
      "2004-01-03T00:02:03.000Z",
    );
    assert.equal(fromLineDate("From here to there"), null);
    const d = new Date("2026-12-04T15:49:19Z");
    assert.equal(asctime(d), "Fri Dec  4 15:49:19 2026");
    assert.equal(fromLineDate(`From x ${asctime(d)}`)?.getTime(), d.getTime());
  });

  it("flags from Status, X-Status, X-Keywords and X-Mozilla-Status", () => {
    const f = (h: string) => mboxFlags(Buffer.from(`${h}\nSubject: s\n\nbody\n`)).sort();
    assert.deepEqual(f("Status: RO\nX-Status: AFTD\nX-Keywords: $Label1, work"), [
      "$Label1",
      "\\Answered",
      "\\Deleted",
      "\\Draft",
      "\\Flagged",
      "\\Seen",
      "work",
    ]);
    assert.deepEqual(f("Status: O"), []);
    assert.deepEqual(f("X-Mozilla-Status: 0005"), ["\\Flagged", "\\Seen"]);
  });

  it("an exported entry reads back to the same octets, flags and date (also without a final line end)", async () => {
    for (const raw of [
      "Subject: x\r\n\r\nFrom a\r\n>From b\r\n",
      "Subject: y\r\n\r\nno end",
      "Subject: z\r\n",
    ]) {
      const date = new Date("2020-05-06T07:08:09Z");
      const e = mboxrdEntry(Buffer.from(raw, "latin1"), ["\\Seen", "kw"], date);
      const f = join(dir, `rt${Math.random()}.mbox`);
      writeFileSync(f, Buffer.concat([e, e]));
      const items = [];
      for await (const it of mboxSource(f).items()) items.push(it);
      assert.equal(items.length, 2);
      for (const it of items) {
        assert.equal(it.kind, "message");
        if (it.kind !== "message") continue;
        assert.equal(Buffer.from(it.raw).toString("latin1"), raw);
        assert.deepEqual(it.flags.sort(), ["\\Seen", "kw"]);
        assert.equal(it.internalDate?.getTime(), date.getTime());
      }
    }
  });
});
