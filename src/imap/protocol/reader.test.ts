import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { CommandReader, type ReaderEvent, type ReaderLimits } from "./reader.ts";

type Decision = "accept" | "reject";

/** Drive a reader over the given chunks; literal events are accepted unless `decide` says otherwise. */
function run(
  limits: ReaderLimits,
  chunks: Buffer[],
  decide: (ev: Extract<ReaderEvent, { type: "literal" }>) => Decision = () => "accept",
): ReaderEvent[] {
  const r = new CommandReader(limits);
  const events: ReaderEvent[] = [];
  const drain = () => {
    for (let ev = r.next(); ev; ev = r.next()) {
      events.push(ev);
      if (ev.type === "literal") {
        if (decide(ev) === "accept") r.acceptLiteral();
        else r.rejectLiteral();
      }
    }
  };
  for (const c of chunks) {
    r.push(c);
    drain();
  }
  return events;
}

function splits(input: Buffer): Buffer[][] {
  const out: Buffer[][] = [[input]];
  for (let i = 0; i <= input.length; i++) out.push([input.subarray(0, i), input.subarray(i)]);
  out.push(Array.from(input, (b) => Buffer.from([b])));
  return out;
}

/** Assert that every split of input gives the same events as feeding it whole; return them. */
function allSplits(limits: ReaderLimits, input: string | Buffer, decide?: () => Decision): ReaderEvent[] {
  const buf = typeof input === "string" ? Buffer.from(input, "latin1") : input;
  const whole = run(limits, [buf], decide);
  for (const chunks of splits(buf)) {
    assert.deepStrictEqual(
      run(limits, chunks, decide),
      whole,
      `split ${chunks.map((c) => c.length).join("+")}`,
    );
  }
  return whole;
}

const L: ReaderLimits = { maxLineLength: 200, maxLiteralSize: 50 };

describe("CommandReader", () => {
  it("parses simple pipelined commands at every split", () => {
    const ev = allSplits(L, "a1 NOOP\r\na2 CAPABILITY\r\n\r\na3 LOGOUT\r\n");
    assert.deepStrictEqual(ev, [
      { type: "command", tag: "a1", command: { name: "NOOP" } },
      { type: "command", tag: "a2", command: { name: "CAPABILITY" } },
      { type: "command", tag: "a3", command: { name: "LOGOUT" } },
    ]);
  });

  it("accepts bare LF line endings", () => {
    const ev = allSplits(L, "a1 NOOP\n");
    assert.deepStrictEqual(ev, [{ type: "command", tag: "a1", command: { name: "NOOP" } }]);
  });

  it("handles sync, non-sync literals and literal8 at every split", () => {
    const input = "t1 LOGIN {3}\r\nbob {4+}\r\np\r\nw\r\nt2 APPEND INBOX ~{3}\r\na\0c\r\n";
    const ev = allSplits(L, input);
    assert.equal(ev.length, 5);
    assert.deepStrictEqual(ev[0], {
      type: "literal",
      tag: "t1",
      size: 3,
      sync: true,
      binary: false,
      commandName: "LOGIN",
    });
    assert.deepStrictEqual(ev[1], {
      type: "literal",
      tag: "t1",
      size: 4,
      sync: false,
      binary: false,
      commandName: "LOGIN",
    });
    assert.deepStrictEqual(ev[2], {
      type: "command",
      tag: "t1",
      command: { name: "LOGIN", username: "bob", password: "p\r\nw" },
    });
    assert.deepStrictEqual(ev[3], {
      type: "literal",
      tag: "t2",
      size: 3,
      sync: true,
      binary: true,
      commandName: "APPEND",
    });
    assert.equal(ev[4]?.type, "command");
    if (ev[4]?.type === "command" && ev[4].command.name === "APPEND") {
      assert.deepStrictEqual(ev[4].command.messages[0]?.data, Buffer.from("a\0c", "latin1"));
      assert.equal(ev[4].command.messages[0]?.binary, true);
    } else assert.fail("expected APPEND");
  });

  it("parses the nasty commands identically at every split", () => {
    const input =
      "n1 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (DATE FROM)]<0.512>) (CHANGEDSINCE 12345 VANISHED)\r\n" +
      'n2 SEARCH CHARSET UTF-8 OR (FROM "x" SUBJECT {3}\r\nabc) NOT SEEN\r\n' +
      'n3 APPEND Sent (\\Seen) "05-Jan-2024 10:00:00 +0100" {5+}\r\nhello ~{2}\r\nhi\r\n' +
      "n4 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n";
    const ev = allSplits({ maxLineLength: 200, maxLiteralSize: 50 }, input);
    const cmds = ev.filter((e) => e.type === "command");
    assert.deepStrictEqual(
      cmds.map((e) => e.type === "command" && `${e.tag} ${e.command.name}`),
      ["n1 FETCH", "n2 SEARCH", "n3 APPEND", "n4 SELECT"],
    );
    assert.equal(ev.filter((e) => e.type === "literal").length, 3);
  });

  it("handles zero-length literals", () => {
    const ev = allSplits(L, 'a LOGIN {0}\r\n ""\r\n');
    assert.deepStrictEqual(ev.at(-1), {
      type: "command",
      tag: "a",
      command: { name: "LOGIN", username: "", password: "" },
    });
  });

  it("reports line-too-long with the tag and recovers at the next line", () => {
    const long = `a1 LOGIN ${"x".repeat(250)} y\r\na2 NOOP\r\n`;
    const ev = allSplits(L, long);
    assert.deepStrictEqual(ev, [
      { type: "error", kind: "line-too-long", tag: "a1" },
      { type: "command", tag: "a2", command: { name: "NOOP" } },
    ]);
  });

  it("counts command text across literals against maxLineLength", () => {
    const input = `a1 LOGIN {1}\r\nx ${"y".repeat(198)}\r\na2 NOOP\r\n`;
    const ev = allSplits(L, input);
    assert.deepStrictEqual(ev.slice(1), [
      { type: "error", kind: "line-too-long", tag: "a1" },
      { type: "command", tag: "a2", command: { name: "NOOP" } },
    ]);
  });

  it("a line of exactly maxLineLength is accepted", () => {
    const cmd = `a SEARCH SUBJECT ${"z".repeat(200 - 17)}`;
    assert.equal(cmd.length, 200);
    const ev = allSplits(L, `${cmd}\r\n`);
    assert.equal(ev[0]?.type, "command");
    const ev2 = allSplits(L, `${cmd}z\r\n`);
    assert.deepStrictEqual(ev2, [{ type: "error", kind: "line-too-long", tag: "a" }]);
  });

  it("refuses a too-large sync literal without reading data", () => {
    const ev = allSplits(L, "a1 APPEND INBOX {51}\r\na2 NOOP\r\n");
    assert.deepStrictEqual(ev, [
      { type: "error", kind: "literal-too-large", tag: "a1", size: 51, sync: true, limit: 50 },
      { type: "command", tag: "a2", command: { name: "NOOP" } },
    ]);
  });

  it("skips a too-large non-sync literal and the rest of its command", () => {
    const data = "Z".repeat(60);
    const ev = allSplits(L, `a1 APPEND INBOX {60+}\r\n${data} (\\Seen) {3+}\r\nabc\r\na2 NOOP\r\n`);
    assert.deepStrictEqual(ev, [
      { type: "error", kind: "literal-too-large", tag: "a1", size: 60, sync: false, limit: 50 },
      { type: "command", tag: "a2", command: { name: "NOOP" } },
    ]);
  });

  it("enforces LITERAL- (non-sync literal > 4096)", () => {
    const limits = { maxLineLength: 200, maxLiteralSize: 10000, literalMinus: true };
    const ev = run(limits, [Buffer.from(`a1 APPEND INBOX {4097+}\r\n${"q".repeat(4097)}\r\na2 NOOP\r\n`)]);
    assert.deepStrictEqual(ev, [
      { type: "error", kind: "literal-too-large", tag: "a1", size: 4097, sync: false, limit: 4096 },
      { type: "command", tag: "a2", command: { name: "NOOP" } },
    ]);
    // a sync literal of the same size is fine under LITERAL-
    const ev2 = run(limits, [Buffer.from(`a1 APPEND INBOX {4097}\r\n${"q".repeat(4097)}\r\n`)]);
    assert.equal(ev2[1]?.type, "command");
    // and 4096 non-sync is fine
    const ev3 = run(limits, [Buffer.from(`a1 APPEND INBOX {4096+}\r\n${"q".repeat(4096)}\r\n`)]);
    assert.equal(ev3[1]?.type, "command");
  });

  it("enforces the total literal size of one command", () => {
    const limits = { maxLineLength: 200, maxLiteralSize: 10, maxCommandSize: 15 };
    const ev = allSplits(limits, "a1 APPEND INBOX {10}\r\n0123456789 {6}\r\na2 NOOP\r\n");
    assert.deepStrictEqual(ev.slice(1), [
      { type: "error", kind: "literal-too-large", tag: "a1", size: 6, sync: true, limit: 5 },
      { type: "command", tag: "a2", command: { name: "NOOP" } },
    ]);
  });

  it("rejectLiteral on a sync literal ends the command; on a non-sync one skips its data", () => {
    const ev = allSplits(L, "a1 APPEND INBOX {5}\r\na2 NOOP\r\n", () => "reject" as const);
    assert.deepStrictEqual(ev.slice(1), [{ type: "command", tag: "a2", command: { name: "NOOP" } }]);
    const ev2 = allSplits(L, "a1 APPEND INBOX {5+}\r\nhello\r\na2 NOOP\r\n", () => "reject" as const);
    assert.deepStrictEqual(ev2.slice(1), [{ type: "command", tag: "a2", command: { name: "NOOP" } }]);
  });

  it("setLimits raises the literal limit (after login)", () => {
    const r = new CommandReader({ maxLineLength: 100, maxLiteralSize: 5 });
    r.setLimits({ maxLiteralSize: 100 });
    r.push(Buffer.from("a APPEND INBOX {20+}\r\n01234567890123456789\r\n"));
    const ev = r.next();
    assert.equal(ev?.type, "literal");
    r.acceptLiteral();
    assert.equal(r.next()?.type, "command");
    assert.equal(r.next(), null);
    assert.equal(r.idle, true);
  });

  it("reports syntax errors as bad events and continues", () => {
    const ev = allSplits(L, "a1 FETCH 1 (FLAGS\r\n+plus NOOP\r\n{3}\r\na3 NOOP\r\n");
    assert.equal(ev[0]?.type, "bad");
    assert.equal(ev[0]?.type === "bad" && ev[0].tag, "a1");
    assert.deepStrictEqual(ev[1], { type: "bad", tag: null, message: "Missing or invalid tag" });
    // a literal without a tag is refused at once (sync: nothing more read)
    assert.deepStrictEqual(ev[2], { type: "bad", tag: null, message: "Missing or invalid tag" });
    assert.deepStrictEqual(ev[3], { type: "command", tag: "a3", command: { name: "NOOP" } });
  });

  it("throws when next() is called with a literal pending", () => {
    const r = new CommandReader(L);
    r.push(Buffer.from("a LOGIN {3}\r\n"));
    assert.equal(r.next()?.type, "literal");
    assert.throws(() => r.next());
  });

  it("nextLine returns raw lines (IDLE DONE, AUTHENTICATE) and bounds them", () => {
    const r = new CommandReader({ maxLineLength: 10, maxLiteralSize: 10 });
    r.push(Buffer.from("a IDLE\r\nDO"));
    assert.deepStrictEqual(r.next(), { type: "command", tag: "a", command: { name: "IDLE" } });
    assert.equal(r.nextLine(), null);
    r.push(Buffer.from("NE\r\n"));
    assert.deepStrictEqual(r.nextLine(), Buffer.from("DONE"));
    r.push(Buffer.from("xxxxxxxxxxxxxxxxxxxxx"));
    assert.deepStrictEqual(r.nextLine(), { type: "error", kind: "line-too-long", tag: null });
    r.push(Buffer.from("yyy\r\nc NOOP\r\n"));
    // still in line mode: the rest of the long line is discarded, the next line is returned raw
    assert.deepStrictEqual(r.nextLine(), Buffer.from("c NOOP"));
    r.push(Buffer.from("b NOOP\r\n"));
    assert.deepStrictEqual(r.next(), { type: "command", tag: "b", command: { name: "NOOP" } });
  });

  it("does not retain more than the line limit while discarding", () => {
    const r = new CommandReader({ maxLineLength: 100, maxLiteralSize: 10 });
    r.push(Buffer.from("a1 "));
    for (let i = 0; i < 100; i++) {
      r.push(Buffer.alloc(1000, 0x78));
      for (let ev = r.next(); ev; ev = r.next()) assert.equal(ev.type, "error");
      assert.ok(r.bufferedBytes <= 102, `buffered ${r.bufferedBytes}`);
    }
  });

  it("property: random splits of a command stream give identical events", () => {
    const commands = [
      "a1 NOOP\r\n",
      "a2 LOGIN {3}\r\nbob {2+}\r\npw\r\n",
      "a3 APPEND Drafts (\\Draft) {4}\r\ntest ~{2}\r\nxy\r\n",
      "a4 FETCH 1:* (FLAGS BODY.PEEK[1.MIME])\r\n",
      "a5 SEARCH SUBJECT {3}\r\n\u00e4\u00f6\u00fc\r\n",
      `a6 NOOP ${"x".repeat(300)}\r\n`,
      "a7 APPEND INBOX {99}\r\n",
      "a8 APPEND INBOX {99+}\r\n" + "q".repeat(99) + "\r\n",
      "bad line\r\n",
      "\r\n",
    ];
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...commands), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (cmds, cuts) => {
          const input = Buffer.from(cmds.join(""), "latin1");
          const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
          const chunks: Buffer[] = [];
          let prev = 0;
          for (const p of points) {
            chunks.push(input.subarray(prev, p));
            prev = p;
          }
          chunks.push(input.subarray(prev));
          assert.deepStrictEqual(run(L, chunks), run(L, [input]));
        },
      ),
      { numRuns: 300 },
    );
  });
});
