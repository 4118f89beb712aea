import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { parseCommandText } from "./parser.ts";
import {
  applyPartial,
  astring,
  fetchAttResponseName,
  flagList,
  formatDate,
  formatDateTime,
  imapString,
  literal,
  literal8,
  mailboxName,
  nstring,
  numberListBytes,
  parseDate,
  parseDateTime,
  quoted,
  ResponseBytes,
  statusResponse,
} from "./response.ts";

const s = (b: Buffer) => b.toString("utf8");

describe("response serialisation", () => {
  it("numberListBytes writes the same text as join, for any non-negative integers", () => {
    assert.equal(s(numberListBytes("* SEARCH", [], "\r\n")), "* SEARCH\r\n");
    assert.equal(
      s(numberListBytes("* SEARCH", [0, 9, 10, 99, 100, 4294967295], " (MODSEQ 7)\r\n")),
      "* SEARCH 0 9 10 99 100 4294967295 (MODSEQ 7)\r\n",
    );
    fc.assert(
      fc.property(fc.array(fc.maxSafeNat(), { maxLength: 200 }), (nums) => {
        const want = `* SEARCH${nums.map((n) => ` ${n}`).join("")}\r\n`;
        assert.equal(s(numberListBytes("* SEARCH", nums, "\r\n")), want);
        assert.equal(
          s(numberListBytes("* SEARCH", Uint32Array.from(nums.map((n) => n % 2 ** 32)), "")),
          `* SEARCH${nums.map((n) => ` ${n % 2 ** 32}`).join("")}`,
        );
      }),
    );
  });

  it("ResponseBytes writes what the same pieces as text would be, across growth and take()", () => {
    const piece = fc.oneof(
      fc.maxSafeNat().map((n) => ({ n })),
      fc.string({ unit: "grapheme", maxLength: 40 }).map((t) => ({ t })),
      fc.uint8Array({ maxLength: 40 }).map((b) => ({ b })),
    );
    fc.assert(
      fc.property(
        fc.array(fc.array(piece, { maxLength: 30 }), { maxLength: 8 }),
        fc.nat(64),
        (runs, size) => {
          // a tiny initial size makes the builder grow inside a run
          const w = new ResponseBytes(size + 1);
          for (const run of runs) {
            const want: Buffer[] = [];
            for (const p of run) {
              if ("n" in p) {
                w.uint(p.n);
                want.push(Buffer.from(String(p.n), "latin1"));
              } else if ("t" in p) {
                w.text(p.t);
                want.push(Buffer.from(p.t, "utf8"));
              } else {
                w.bytes(p.b);
                want.push(Buffer.from(p.b));
              }
            }
            const total = Buffer.concat(want);
            assert.equal(w.length, total.length);
            const got = w.take();
            assert.deepEqual(got, total);
            assert.equal(w.length, 0);
            // what take() handed out is not written over by what comes next
            w.text("x".repeat(size + 5));
            assert.deepEqual(got, total);
            w.take();
          }
        },
      ),
    );
  });

  it("quoted / literal / imapString choose correctly", () => {
    assert.equal(quoted('a"b\\c'), '"a\\"b\\\\c"');
    assert.throws(() => quoted("a\r\nb"));
    assert.equal(s(literal("a\r\nb")), "{4}\r\na\r\nb");
    assert.equal(s(literal8(Buffer.from([0, 1]))), "~{2}\r\n\0\x01");
    assert.equal(s(imapString("hello world", false)), '"hello world"');
    assert.equal(s(imapString("line\r\nbreak", false)), "{11}\r\nline\r\nbreak");
    assert.equal(s(imapString("grüße", false)), "{7}\r\ngrüße");
    assert.equal(s(imapString("grüße", true)), '"grüße"');
    assert.equal(s(imapString(Buffer.from([0x67, 0xff]), true)), "{2}\r\ng\xff".replace("\xff", "\ufffd"));
    assert.equal(imapString(Buffer.from([0x67, 0xff]), true)[0], 0x7b);
    assert.equal(s(imapString("x".repeat(2000), true)).slice(0, 8), "{2000}\r\n");
    assert.equal(s(nstring(null, false)), "NIL");
    assert.equal(s(nstring("", false)), '""');
    assert.equal(s(astring("INBOX", false)), "INBOX");
    assert.equal(s(astring("nil", false)), '"nil"');
    assert.equal(s(astring("a b", false)), '"a b"');
    assert.equal(s(astring("", false)), '""');
  });
  it("property: imapString output parses back to the same bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.boolean(), (bytes, utf8) => {
        const v = Buffer.from(bytes);
        const wire = Buffer.concat([Buffer.from("a SEARCH TEXT "), imapString(v, utf8)]);
        const r = parseCommandText(wire);
        assert.ok(r.ok);
        assert.deepStrictEqual(r.ok && r.command.name === "SEARCH" && r.command.criteria, {
          type: "text",
          value: v,
        });
      }),
    );
  });
  it("mailbox names: mUTF-7 unless UTF-8 is enabled", () => {
    assert.equal(s(mailboxName("日本語", false)), "&ZeVnLIqe-");
    assert.equal(s(mailboxName("日本語", true)), '"日本語"');
    assert.equal(s(mailboxName("Sent Items", false)), '"Sent Items"');
    assert.equal(s(mailboxName("inbox", false)), "INBOX");
  });
  it("flag lists, status lines", () => {
    assert.equal(flagList(["\\Seen", "$Junk"]), "(\\Seen $Junk)");
    assert.equal(flagList([]), "()");
    assert.equal(
      statusResponse("a1", "NO", "over\r\nquota", "OVERQUOTA"),
      "a1 NO [OVERQUOTA] over quota\r\n",
    );
    assert.equal(statusResponse("*", "OK", "[fake] text"), "* OK  [fake] text\r\n");
  });
  it("fetch attribute response names", () => {
    const att = (t: string) => {
      const r = parseCommandText(`a FETCH 1 (${t})`);
      if (!r.ok || r.command.name !== "FETCH") assert.fail(t);
      return fetchAttResponseName(r.command.atts[0]!);
    };
    assert.equal(att("BODY.PEEK[HEADER.FIELDS (DATE FROM)]<0.512>"), "BODY[HEADER.FIELDS (DATE FROM)]<0>");
    assert.equal(att("BODY[]"), "BODY[]");
    assert.equal(att("BODY[1.2.MIME]"), "BODY[1.2.MIME]");
    assert.equal(att("BODY[3]<5.10>"), "BODY[3]<5>");
    assert.equal(att("BINARY.PEEK[1]"), "BINARY[1]");
    assert.equal(att("BINARY.SIZE[2.1]"), "BINARY.SIZE[2.1]");
    assert.equal(att("RFC822.SIZE"), "RFC822.SIZE");
  });
  it("applyPartial", () => {
    const d = Buffer.from("0123456789");
    assert.equal(Buffer.from(applyPartial(d, { offset: 2, length: 3 })).toString(), "234");
    assert.equal(Buffer.from(applyPartial(d, { offset: 8, length: 30 })).toString(), "89");
    assert.equal(applyPartial(d, { offset: 10, length: 1 }).length, 0);
    assert.equal(applyPartial(d, null), d);
  });
  it("dates", () => {
    assert.deepStrictEqual(parseDate("1-Feb-2024"), { year: 2024, month: 2, day: 1 });
    assert.equal(parseDate("29-Feb-2023"), null);
    assert.equal(parseDate("1-Foo-2024"), null);
    assert.equal(formatDate({ year: 2024, month: 2, day: 1 }), "1-Feb-2024");
    const d = parseDateTime("17-Jul-1996 02:44:25 -0700");
    assert.equal(d?.toISOString(), "1996-07-17T09:44:25.000Z");
    assert.equal(parseDateTime(" 7-Jul-1996 02:44:25 +0000")?.toISOString(), "1996-07-07T02:44:25.000Z");
    assert.equal(parseDateTime("17-Jul-1996 24:00:00 +0000"), null);
    assert.equal(parseDateTime("17-Jul-1996 02:44 +0000"), null);
    assert.equal(formatDateTime(new Date("1996-07-17T09:44:25Z")), '"17-Jul-1996 09:44:25 +0000"');
    assert.equal(formatDateTime(new Date("1996-07-17T09:44:25Z"), -420), '"17-Jul-1996 02:44:25 -0700"');
    assert.equal(formatDateTime(new Date("2024-01-05T00:00:00Z"), 330), '"05-Jan-2024 05:30:00 +0530"');
  });
  it("property: formatDateTime → parseDateTime round trip", () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date("1970-01-01T00:00:00Z"),
          max: new Date("2100-01-01T00:00:00Z"),
          noInvalidDate: true,
        }),
        fc.integer({ min: -720, max: 840 }),
        (date, tz) => {
          const whole = new Date(Math.floor(date.getTime() / 1000) * 1000);
          const text = formatDateTime(whole, tz);
          assert.equal(parseDateTime(text.slice(1, -1))?.getTime(), whole.getTime());
        },
      ),
    );
  });
});
