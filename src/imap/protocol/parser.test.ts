import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Command, SearchKey, SequenceSet } from "./commands.ts";
import { parseCommandText } from "./parser.ts";
import { formatParsedSequenceSet } from "./sequence-set.ts";

function ok(text: string): Command {
  const r = parseCommandText(text);
  if (!r.ok) assert.fail(`${JSON.stringify(text)} → BAD ${r.message}`);
  return r.command;
}

function bad(text: string, re?: RegExp): string {
  const r = parseCommandText(text);
  if (r.ok)
    assert.fail(
      `${JSON.stringify(text)} parsed: ${JSON.stringify(r.command, (_k, v) => (typeof v === "bigint" ? `${v}n` : v))}`,
    );
  if (re) assert.match(r.message, re);
  return r.message;
}

const b = (s: string) => Buffer.from(s, "utf8");
const set = (...ranges: Array<[number | "*", number | "*"]>): SequenceSet => ({
  type: "ranges",
  ranges: ranges.map(([start, end]) => ({ start, end })),
});

describe("parser: simple commands", () => {
  for (const name of [
    "CAPABILITY",
    "NOOP",
    "LOGOUT",
    "STARTTLS",
    "NAMESPACE",
    "IDLE",
    "CHECK",
    "CLOSE",
    "UNSELECT",
  ]) {
    it(name, () => {
      assert.deepStrictEqual(ok(`a ${name.toLowerCase()}`), { name });
      bad(`a ${name} extra`, /Unexpected/);
    });
  }
  it("EXPUNGE and UID EXPUNGE", () => {
    assert.deepStrictEqual(ok("a EXPUNGE"), { name: "EXPUNGE", uidSet: null });
    assert.deepStrictEqual(ok("a UID EXPUNGE 1:3,5"), { name: "EXPUNGE", uidSet: set([1, 3], [5, 5]) });
    bad("a UID EXPUNGE", /SP/);
  });
  it("tag rules", () => {
    assert.equal(parseCommandText("A.1]x NOOP").ok, true);
    bad("+a NOOP", /tag/);
    bad("a+b NOOP", /tag/);
    bad("a", /Missing command name/);
    bad("a(b NOOP", /tag/);
    bad("a BLURB", /Unknown command "BLURB"/);
  });
});

describe("parser: authentication", () => {
  it("LOGIN with atoms, quoted and literal", () => {
    assert.deepStrictEqual(ok('a LOGIN bob "p\\"w\\\\"'), {
      name: "LOGIN",
      username: "bob",
      password: 'p"w\\',
    });
    assert.deepStrictEqual(ok("a LOGIN {3}\r\nbob {4+}\r\np w!"), {
      name: "LOGIN",
      username: "bob",
      password: "p w!",
    });
    bad('a LOGIN bob "unterminated', /Unterminated/);
    bad('a LOGIN bob "bad\\x"', /escape/);
    bad("a LOGIN bob", /SP/);
  });
  it("AUTHENTICATE with SASL-IR", () => {
    assert.deepStrictEqual(ok("a AUTHENTICATE plain"), {
      name: "AUTHENTICATE",
      mechanism: "PLAIN",
      initialResponse: null,
    });
    assert.deepStrictEqual(ok("a AUTHENTICATE PLAIN ="), {
      name: "AUTHENTICATE",
      mechanism: "PLAIN",
      initialResponse: Buffer.alloc(0),
    });
    const ir = Buffer.from("\0bob\0pw").toString("base64");
    assert.deepStrictEqual(ok(`a AUTHENTICATE PLAIN ${ir}`), {
      name: "AUTHENTICATE",
      mechanism: "PLAIN",
      initialResponse: Buffer.from("\0bob\0pw"),
    });
    bad("a AUTHENTICATE PLAIN a*b=", /base64/);
  });
  it("ENABLE and ID", () => {
    assert.deepStrictEqual(ok("a ENABLE condstore utf8=accept"), {
      name: "ENABLE",
      capabilities: ["CONDSTORE", "UTF8=ACCEPT"],
    });
    bad("a ENABLE", /SP/);
    assert.deepStrictEqual(ok("a ID NIL"), { name: "ID", params: null });
    assert.deepStrictEqual(ok('a ID ("name" "imapflow" "version" NIL)'), {
      name: "ID",
      params: [
        ["name", "imapflow"],
        ["version", null],
      ],
    });
    assert.deepStrictEqual(ok("a ID ()"), { name: "ID", params: [] });
    bad('a ID ("name")', /SP/);
  });
});

describe("parser: mailbox commands", () => {
  it("SELECT / EXAMINE with CONDSTORE and QRESYNC", () => {
    assert.deepStrictEqual(ok("a SELECT inbox"), {
      name: "SELECT",
      mailbox: "INBOX",
      condstore: false,
      qresync: null,
    });
    assert.deepStrictEqual(ok('a EXAMINE "Sent Items" (CONDSTORE)'), {
      name: "EXAMINE",
      mailbox: "Sent Items",
      condstore: true,
      qresync: null,
    });
    assert.deepStrictEqual(ok("a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))"), {
      name: "SELECT",
      mailbox: "INBOX",
      condstore: false,
      qresync: {
        uidValidity: 67890007,
        modseq: 20050715194045000n,
        knownUids: set([41, 41], [43, 211], [214, 541]),
        seqMatch: null,
      },
    });
    const q = ok(
      "a SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))",
    );
    assert.equal(q.name === "SELECT" && q.qresync?.seqMatch?.seqs.type, "ranges");
    const q2 = ok("a SELECT INBOX (QRESYNC (1 2 (1:2 3:4)))");
    assert.deepStrictEqual(q2.name === "SELECT" && q2.qresync, {
      uidValidity: 1,
      modseq: 2n,
      knownUids: null,
      seqMatch: { seqs: set([1, 2]), uids: set([3, 4]) },
    });
    bad("a SELECT INBOX (QRESYNC (0 5))", /non-zero/);
    bad("a SELECT INBOX (FOO)", /Unknown select parameter FOO/);
    bad("a SELECT", /SP/);
  });
  it("mailbox names stay as sent (no mUTF-7 decoding) and must be UTF-8", () => {
    assert.deepStrictEqual(ok("a DELETE &ZeVnLIqe-"), { name: "DELETE", mailbox: "&ZeVnLIqe-" });
    assert.deepStrictEqual(ok('a SUBSCRIBE "日本語"'), { name: "SUBSCRIBE", mailbox: "日本語" });
    const r = parseCommandText(Buffer.concat([b('a DELETE "'), Buffer.from([0xff, 0xfe]), b('"')]));
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.message, "Mailbox name is not valid UTF-8");
  });
  it("CREATE with USE, RENAME, UNSUBSCRIBE", () => {
    assert.deepStrictEqual(ok("a CREATE Drafts (USE (\\drafts))"), {
      name: "CREATE",
      mailbox: "Drafts",
      specialUse: ["\\Drafts"],
    });
    assert.deepStrictEqual(ok("a CREATE foo/bar"), { name: "CREATE", mailbox: "foo/bar", specialUse: [] });
    assert.deepStrictEqual(ok('a RENAME "a b" c'), { name: "RENAME", from: "a b", to: "c" });
    assert.deepStrictEqual(ok("a UNSUBSCRIBE x"), { name: "UNSUBSCRIBE", mailbox: "x" });
    bad("a CREATE x (FOO (bar))", /CREATE parameter/);
  });
  it("LIST basic and extended", () => {
    assert.deepStrictEqual(ok('a LIST "" *'), {
      name: "LIST",
      reference: "",
      patterns: ["*"],
      selection: { subscribed: false, remote: false, recursiveMatch: false, specialUse: false },
      returnOpts: { children: false, subscribed: false, specialUse: false, status: null },
      extended: false,
    });
    assert.deepStrictEqual(
      ok(
        'a LIST (SUBSCRIBED REMOTE RECURSIVEMATCH) "" (INBOX "foo/%" %/x) RETURN (CHILDREN SUBSCRIBED SPECIAL-USE STATUS (MESSAGES UNSEEN))',
      ),
      {
        name: "LIST",
        reference: "",
        patterns: ["INBOX", "foo/%", "%/x"],
        selection: { subscribed: true, remote: true, recursiveMatch: true, specialUse: false },
        returnOpts: { children: true, subscribed: true, specialUse: true, status: ["MESSAGES", "UNSEEN"] },
        extended: true,
      },
    );
    const x = ok('a LIST () "" % RETURN ()');
    assert.equal(x.name === "LIST" && x.extended, true);
    bad('a LIST (RECURSIVEMATCH) "" *', /RECURSIVEMATCH/);
    bad('a LIST (BOGUS) "" *', /selection option BOGUS/);
    bad('a LIST "" * RETURN (BOGUS)', /return option BOGUS/);
    bad('a LIST "" * FOO ()', /RETURN/);
  });
  it("LSUB and STATUS", () => {
    assert.deepStrictEqual(ok('a LSUB "" *'), { name: "LSUB", reference: "", pattern: "*" });
    assert.deepStrictEqual(
      ok(
        "a STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ RECENT APPENDLIMIT)",
      ),
      {
        name: "STATUS",
        mailbox: "INBOX",
        items: [
          "MESSAGES",
          "UIDNEXT",
          "UIDVALIDITY",
          "UNSEEN",
          "DELETED",
          "SIZE",
          "HIGHESTMODSEQ",
          "RECENT",
          "APPENDLIMIT",
        ],
      },
    );
    bad("a STATUS INBOX ()", /Empty status items/);
    bad("a STATUS INBOX (FOO)", /Unknown status item FOO/);
  });
  it("APPEND single, MULTIAPPEND, literal8, UTF8", () => {
    assert.deepStrictEqual(ok("a APPEND INBOX {5}\r\nhello"), {
      name: "APPEND",
      mailbox: "INBOX",
      messages: [{ flags: [], date: null, data: b("hello"), binary: false, utf8: false }],
    });
    const m = ok(
      'a APPEND saved (\\Seen $x) " 7-Feb-1994 21:52:25 -0800" {2+}\r\nab ~{1}\r\nc (\\Flagged) UTF8 (~{2}\r\nde)',
    );
    assert.deepStrictEqual(m, {
      name: "APPEND",
      mailbox: "saved",
      messages: [
        {
          flags: ["\\Seen", "$x"],
          date: new Date("1994-02-08T05:52:25Z"),
          data: b("ab"),
          binary: false,
          utf8: false,
        },
        { flags: [], date: null, data: b("c"), binary: true, utf8: false },
        { flags: ["\\Flagged"], date: null, data: b("de"), binary: true, utf8: true },
      ],
    });
    bad('a APPEND INBOX "hello"', /date-time/);
    bad("a APPEND INBOX", /SP/);
    bad("a APPEND INBOX () {1}\r\nx junk", /SP|literal|atom/);
    bad("a APPEND INBOX UTF8 ({1}\r\nx)", /literal8/);
    bad('a APPEND INBOX "31-Feb-2020 00:00:00 +0000" {1}\r\nx', /Invalid date-time/);
  });
  it("QUOTA commands", () => {
    assert.deepStrictEqual(ok('a GETQUOTA ""'), { name: "GETQUOTA", root: "" });
    assert.deepStrictEqual(ok("a GETQUOTAROOT INBOX"), { name: "GETQUOTAROOT", mailbox: "INBOX" });
    assert.deepStrictEqual(ok('a SETQUOTA "" (STORAGE 512 message 10)'), {
      name: "SETQUOTA",
      root: "",
      limits: [
        { resource: "STORAGE", limit: 512n },
        { resource: "MESSAGE", limit: 10n },
      ],
    });
  });
});

describe("parser: FETCH", () => {
  it("the nasty one", () => {
    assert.deepStrictEqual(
      ok("a UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (DATE FROM)]<0.512>) (CHANGEDSINCE 12345 VANISHED)"),
      {
        name: "FETCH",
        uid: true,
        set: set([1, "*"]),
        atts: [
          { type: "FLAGS" },
          {
            type: "BODY[]",
            peek: true,
            section: { part: [], kind: "HEADER.FIELDS", fields: ["DATE", "FROM"] },
            partial: { offset: 0, length: 512 },
          },
        ],
        changedSince: 12345n,
        vanished: true,
      },
    );
  });
  it("macros and single attributes", () => {
    const f = (s: string) => {
      const c = ok(s);
      return c.name === "FETCH" ? c.atts : null;
    };
    assert.deepStrictEqual(f("a FETCH 1 all"), [
      { type: "FLAGS" },
      { type: "INTERNALDATE" },
      { type: "RFC822.SIZE" },
      { type: "ENVELOPE" },
    ]);
    assert.deepStrictEqual(f("a FETCH 1 FAST"), [
      { type: "FLAGS" },
      { type: "INTERNALDATE" },
      { type: "RFC822.SIZE" },
    ]);
    assert.equal(f("a FETCH 1 FULL")?.length, 5);
    assert.deepStrictEqual(f("a FETCH 1 body[]"), [
      { type: "BODY[]", peek: false, section: { part: [], kind: "" }, partial: null },
    ]);
    assert.deepStrictEqual(
      f(
        "a FETCH 2:4 (UID RFC822 RFC822.HEADER RFC822.TEXT RFC822.SIZE BODY BODYSTRUCTURE ENVELOPE INTERNALDATE MODSEQ EMAILID THREADID SAVEDATE)",
      )?.map((a) => a.type),
      [
        "UID",
        "RFC822",
        "RFC822.HEADER",
        "RFC822.TEXT",
        "RFC822.SIZE",
        "BODY",
        "BODYSTRUCTURE",
        "ENVELOPE",
        "INTERNALDATE",
        "MODSEQ",
        "EMAILID",
        "THREADID",
        "SAVEDATE",
      ],
    );
  });
  it("sections", () => {
    const sec = (s: string) => {
      const c = ok(`a FETCH 1 (${s})`);
      return c.name === "FETCH" ? c.atts[0] : null;
    };
    assert.deepStrictEqual(sec("BODY[1.2.3]"), {
      type: "BODY[]",
      peek: false,
      section: { part: [1, 2, 3], kind: "" },
      partial: null,
    });
    assert.deepStrictEqual(sec("BODY[2.MIME]"), {
      type: "BODY[]",
      peek: false,
      section: { part: [2], kind: "MIME" },
      partial: null,
    });
    assert.deepStrictEqual(sec("BODY[4.2.HEADER]<10.20>"), {
      type: "BODY[]",
      peek: false,
      section: { part: [4, 2], kind: "HEADER" },
      partial: { offset: 10, length: 20 },
    });
    assert.deepStrictEqual(sec("body.peek[text]"), {
      type: "BODY[]",
      peek: true,
      section: { part: [], kind: "TEXT" },
      partial: null,
    });
    assert.deepStrictEqual(sec('BODY[1.HEADER.FIELDS.NOT ("X-A" {3}\r\nX-B)]'), {
      type: "BODY[]",
      peek: false,
      section: { part: [1], kind: "HEADER.FIELDS.NOT", fields: ["X-A", "X-B"] },
      partial: null,
    });
    assert.deepStrictEqual(sec("BINARY.PEEK[1.2]<0.100>"), {
      type: "BINARY[]",
      peek: true,
      part: [1, 2],
      partial: { offset: 0, length: 100 },
    });
    assert.deepStrictEqual(sec("BINARY[]"), { type: "BINARY[]", peek: false, part: [], partial: null });
    assert.deepStrictEqual(sec("BINARY.SIZE[3]"), { type: "BINARY.SIZE[]", part: [3] });
  });
  it("bad FETCH", () => {
    bad("a FETCH 1 (BODY[MIME])", /MIME requires a part/);
    bad("a FETCH 1 (BODY[0])", /non-zero/);
    bad("a FETCH 1 (BODY[HEADER.FIELDS ()])", /Empty header list/);
    bad("a FETCH 1 (BODY[FOO])", /Unknown section text "FOO"/);
    bad("a FETCH 1 (BODY[]<0.0>)", /Partial length/);
    bad("a FETCH 1 (BODY[]<5>)", /"\." in partial/);
    bad("a FETCH 1 (BODY.PEEK)", /requires a section/);
    bad("a FETCH 1 (FLAGS", /SP/);
    bad("a FETCH 1 ()", /Empty fetch attribute list/);
    bad("a FETCH 0 FLAGS", /non-zero/);
    bad("a FETCH 1:x FLAGS", /sequence set|number/);
    bad("a FETCH 1 FLAGS (VANISHED)", /UID FETCH/);
    bad("a UID FETCH 1 FLAGS (VANISHED)", /CHANGEDSINCE/);
    bad("a FETCH 1 FLAGS (CHANGEDSINCE 0)", /non-zero/);
    bad("a FETCH 1 FLAGS (FOO)", /FETCH modifier FOO/);
    bad("a FETCH 1 (UID BINARY[1]{3}\r\nabc)", /.+/);
    bad("a FETCH 1 (BODY[HEADER.FIELDS (A)] ~{1}\r\nx)", /.+/);
  });
});

describe("parser: STORE, COPY, MOVE", () => {
  it("STORE forms", () => {
    assert.deepStrictEqual(ok("a STORE 2:4 +FLAGS (\\Deleted)"), {
      name: "STORE",
      uid: false,
      set: set([2, 4]),
      unchangedSince: null,
      op: "add",
      silent: false,
      flags: ["\\Deleted"],
    });
    assert.deepStrictEqual(ok("a UID STORE 1,3:* (UNCHANGEDSINCE 0) -flags.silent \\SEEN $Junk"), {
      name: "STORE",
      uid: true,
      set: set([1, 1], [3, "*"]),
      unchangedSince: 0n,
      op: "remove",
      silent: true,
      flags: ["\\Seen", "$Junk"],
    });
    assert.deepStrictEqual(ok("a STORE $ FLAGS ()"), {
      name: "STORE",
      uid: false,
      set: { type: "saved" },
      unchangedSince: null,
      op: "replace",
      silent: false,
      flags: [],
    });
    bad("a STORE 1 XFLAGS (\\Seen)", /FLAGS/);
    bad("a STORE 1 +FLAGS", /SP/);
  });
  it("COPY / MOVE / UID forms", () => {
    assert.deepStrictEqual(ok("a COPY 1:2 Trash"), {
      name: "COPY",
      uid: false,
      set: set([1, 2]),
      mailbox: "Trash",
    });
    assert.deepStrictEqual(ok('a UID MOVE 4:* "Deleted Items"'), {
      name: "MOVE",
      uid: true,
      set: set([4, "*"]),
      mailbox: "Deleted Items",
    });
    bad("a UID BLAH 1", /Unknown UID command "BLAH"/);
  });
});

describe("parser: SEARCH", () => {
  const crit = (s: string): SearchKey => {
    const c = ok(`a SEARCH ${s}`);
    if (c.name !== "SEARCH") assert.fail("not SEARCH");
    return c.criteria;
  };
  it("the nasty one", () => {
    assert.deepStrictEqual(ok('a SEARCH CHARSET UTF-8 OR (FROM "x" SUBJECT {3}\r\nabc) NOT SEEN'), {
      name: "SEARCH",
      uid: false,
      charset: "UTF-8",
      returnOpts: null,
      criteria: {
        type: "or",
        left: {
          type: "and",
          keys: [
            { type: "header", field: "from", value: b("x"), address: true },
            { type: "header", field: "subject", value: b("abc") },
          ],
        },
        right: { type: "not", key: { type: "flag", flag: "\\Seen" } },
      },
    });
  });
  it("RETURN options and UID SEARCH", () => {
    const c = ok("a UID SEARCH RETURN (MIN MAX COUNT SAVE ALL MIN) 1:* UNDELETED");
    assert.deepStrictEqual(c.name === "SEARCH" && c.returnOpts, ["MIN", "MAX", "COUNT", "SAVE", "ALL"]);
    const c2 = ok("a SEARCH RETURN () ALL");
    assert.deepStrictEqual(c2.name === "SEARCH" && c2.returnOpts, []);
    bad("a SEARCH RETURN (FOO) ALL", /return option FOO/);
  });
  it("every key", () => {
    assert.deepStrictEqual(crit("ALL"), { type: "all" });
    assert.deepStrictEqual(crit("answered"), { type: "flag", flag: "\\Answered" });
    assert.deepStrictEqual(crit("UNFLAGGED"), { type: "not", key: { type: "flag", flag: "\\Flagged" } });
    assert.deepStrictEqual(crit("NEW"), {
      type: "and",
      keys: [
        { type: "flag", flag: "\\Recent" },
        { type: "not", key: { type: "flag", flag: "\\Seen" } },
      ],
    });
    assert.deepStrictEqual(crit("OLD"), { type: "not", key: { type: "flag", flag: "\\Recent" } });
    assert.deepStrictEqual(crit("KEYWORD $Forwarded"), { type: "flag", flag: "$Forwarded" });
    assert.deepStrictEqual(crit("UNKEYWORD foo"), { type: "not", key: { type: "flag", flag: "foo" } });
    // FROM/TO/CC/BCC search the envelope's (parsed) addresses, HEADER the field text
    assert.deepStrictEqual(crit("BCC bob"), { type: "header", field: "bcc", value: b("bob"), address: true });
    assert.deepStrictEqual(crit('HEADER Message-ID "<x@y>"'), {
      type: "header",
      field: "message-id",
      value: b("<x@y>"),
    });
    assert.deepStrictEqual(crit("BODY hello"), { type: "body", value: b("hello") });
    assert.deepStrictEqual(crit("TEXT {2}\r\nhi"), { type: "text", value: b("hi") });
    assert.deepStrictEqual(crit("BEFORE 1-Feb-2024"), {
      type: "date",
      field: "internal",
      op: "before",
      date: { year: 2024, month: 2, day: 1 },
    });
    assert.deepStrictEqual(crit('SENTON "29-feb-2024"'), {
      type: "date",
      field: "sent",
      op: "on",
      date: { year: 2024, month: 2, day: 29 },
    });
    assert.deepStrictEqual(crit("SAVEDSINCE 01-Jan-2000"), {
      type: "date",
      field: "saved",
      op: "since",
      date: { year: 2000, month: 1, day: 1 },
    });
    assert.deepStrictEqual(crit("SAVEDATESUPPORTED"), { type: "savedatesupported" });
    assert.deepStrictEqual(crit("LARGER 1000"), { type: "size", op: "larger", size: 1000 });
    assert.deepStrictEqual(crit("SMALLER 5"), { type: "size", op: "smaller", size: 5 });
    assert.deepStrictEqual(crit("OLDER 3600"), { type: "age", op: "older", seconds: 3600 });
    assert.deepStrictEqual(crit("YOUNGER 60"), { type: "age", op: "younger", seconds: 60 });
    assert.deepStrictEqual(crit("MODSEQ 620162338"), { type: "modseq", modseq: 620162338n, entry: null });
    assert.deepStrictEqual(crit('MODSEQ "/flags/\\\\draft" all 620162338'), {
      type: "modseq",
      modseq: 620162338n,
      entry: { name: "/flags/\\draft", type: "all" },
    });
    assert.deepStrictEqual(crit("EMAILID M6d99ac3275bb4e"), { type: "emailid", id: "M6d99ac3275bb4e" });
    assert.deepStrictEqual(crit("THREADID T64b478a75b7ea9"), { type: "threadid", id: "T64b478a75b7ea9" });
    assert.deepStrictEqual(crit("UID $"), { type: "uid", set: { type: "saved" } });
    assert.deepStrictEqual(crit("$"), { type: "seq", set: { type: "saved" } });
    assert.deepStrictEqual(crit("2,4:*"), { type: "seq", set: set([2, 2], [4, "*"]) });
    assert.deepStrictEqual(crit("((SEEN))"), { type: "flag", flag: "\\Seen" });
    assert.deepStrictEqual(crit("NOT NOT DRAFT"), {
      type: "not",
      key: { type: "not", key: { type: "flag", flag: "\\Draft" } },
    });
    assert.deepStrictEqual(crit("SEEN DELETED"), {
      type: "and",
      keys: [
        { type: "flag", flag: "\\Seen" },
        { type: "flag", flag: "\\Deleted" },
      ],
    });
  });
  it("bad SEARCH", () => {
    bad("a SEARCH", /SP/);
    bad("a SEARCH FOO", /Unknown search key "FOO"/);
    bad("a SEARCH BEFORE 31-Feb-2024", /Invalid date/);
    bad("a SEARCH BEFORE 2024-02-01", /Invalid date/);
    bad("a SEARCH OR SEEN", /SP/);
    bad("a SEARCH ()", /Empty search key list/);
    bad("a SEARCH (SEEN", /SP/);
    bad("a SEARCH OLDER 0", /non-zero/);
    bad('a SEARCH MODSEQ "/flags/x" bogus 5', /priv, shared or all/);
    bad("a SEARCH LARGER x", /number/);
    bad(`a SEARCH ${"(".repeat(100)}ALL${")".repeat(100)}`, /Too deeply nested/);
    bad(`a SEARCH ${"NOT ".repeat(100)}ALL`, /Too deeply nested/);
  });
  it("SORT and THREAD", () => {
    assert.deepStrictEqual(ok("a UID SORT (REVERSE DATE subject) UTF-8 SINCE 1-Feb-1994"), {
      name: "SORT",
      uid: true,
      returnOpts: null,
      criteria: [
        { key: "DATE", reverse: true },
        { key: "SUBJECT", reverse: false },
      ],
      charset: "UTF-8",
      search: { type: "date", field: "internal", op: "since", date: { year: 1994, month: 2, day: 1 } },
    });
    const s = ok("a SORT RETURN (MIN) (ARRIVAL) US-ASCII ALL");
    assert.deepStrictEqual(s.name === "SORT" && s.returnOpts, ["MIN"]);
    assert.deepStrictEqual(ok("a THREAD references utf-8 ALL"), {
      name: "THREAD",
      uid: false,
      algorithm: "REFERENCES",
      charset: "UTF-8",
      search: { type: "all" },
    });
    bad("a SORT (FOO) UTF-8 ALL", /sort key FOO/);
    bad("a SORT () UTF-8 ALL", /Empty sort criteria/);
  });
});

describe("parser: property tests", () => {
  const seqNum = fc.oneof(fc.integer({ min: 1, max: 0xffffffff }), fc.constant("*" as const));
  const seqSet = fc
    .array(fc.tuple(seqNum, fc.option(seqNum, { nil: undefined })), { minLength: 1, maxLength: 8 })
    .map(
      (rs): SequenceSet => ({
        type: "ranges",
        ranges: rs.map(([s, e]) => ({ start: s, end: e ?? s })),
      }),
    );
  it("sequence sets round-trip through text", () => {
    fc.assert(
      fc.property(seqSet, (s) => {
        const c = ok(`a UID EXPUNGE ${formatParsedSequenceSet(s)}`);
        assert.deepStrictEqual(c, { name: "EXPUNGE", uidSet: s });
      }),
    );
  });
  it("quoted / literal astrings round-trip arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 30 }), (pw) => {
        const lit = Buffer.from(pw, "utf8");
        const c = ok(`a LOGIN u {${lit.length}}\r\n${pw}`);
        assert.deepStrictEqual(c, { name: "LOGIN", username: "u", password: pw });
        if (!/[\r\n]/.test(pw)) {
          const q = `"${pw.replace(/[\\"]/g, (m) => `\\${m}`)}"`;
          assert.deepStrictEqual(ok(`a LOGIN u ${q}`), { name: "LOGIN", username: "u", password: pw });
        }
      }),
    );
  });
  it("never throws on arbitrary input", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        const r = parseCommandText(`a ${s}`);
        assert.equal(typeof r.ok, "boolean");
      }),
      { numRuns: 2000 },
    );
  });
});
