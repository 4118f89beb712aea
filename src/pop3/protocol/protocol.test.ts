import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { parseCommand, parseLineCount, parseMsgNumber } from "./command.ts";
import { LineReader, TOO_LONG } from "./line-reader.ts";
import { DotStuffer, isCrlfOnly, pop3Size, topEnd } from "./message.ts";
import { err, multiline, ok } from "./response.ts";

/** reference: LF → CRLF (unless preceded by CR), final line end added */
function normalise(b: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 10 && (i === 0 || b[i - 1] !== 13)) out.push(13);
    out.push(b[i]!);
  }
  if (b.length > 0 && b[b.length - 1] !== 10) out.push(13, 10);
  return Buffer.from(out);
}

/** reference un-stuffing of a full multi-line body including the terminator */
function unstuff(wire: Buffer): Buffer {
  const s = wire.toString("latin1");
  assert.ok(s.endsWith(".\r\n"), "terminator");
  assert.ok(s.length === 3 || s.endsWith("\r\n.\r\n"), "terminator on its own line");
  const body = s.slice(0, -3);
  const lines = body.split("\r\n");
  return Buffer.from(lines.map((l) => (l.startsWith(".") ? l.slice(1) : l)).join("\r\n"), "latin1");
}

function stuffAll(raw: Buffer, cuts: number[], crlfOnly = false): Buffer {
  const d = new DotStuffer({ crlfOnly });
  const parts: Buffer[] = [];
  let prev = 0;
  for (const c of [...cuts, raw.length]) {
    parts.push(d.transform(raw.subarray(prev, c)));
    prev = c;
  }
  parts.push(d.finish());
  return Buffer.concat(parts);
}

test("dot-stuffing and CRLF normalisation", () => {
  const raw = Buffer.from("Subject: x\n\n.hidden\r\n..two\nlast");
  const wire = stuffAll(raw, []);
  assert.equal(wire.toString("latin1"), "Subject: x\r\n\r\n..hidden\r\n...two\r\nlast\r\n.\r\n");
  assert.equal(pop3Size(raw), "Subject: x\r\n\r\n.hidden\r\n..two\r\nlast\r\n".length);
  assert.equal(stuffAll(Buffer.alloc(0), []).toString(), ".\r\n");
  assert.equal(pop3Size(Buffer.alloc(0)), 0);
  assert.equal(stuffAll(Buffer.from(".\r\n"), []).toString(), "..\r\n.\r\n");
});

test("dot-stuffing split at every offset gives the same bytes", () => {
  const raw = Buffer.from(".a\r\n.\n\r\n..b\rc\n.\r\nend.\n.");
  const whole = stuffAll(raw, []);
  for (let i = 0; i <= raw.length; i++) {
    for (let j = i; j <= raw.length; j += 3) {
      assert.deepEqual(stuffAll(raw, [i, j]), whole, `cuts ${i},${j}`);
    }
  }
});

test("property: unstuff(stuff(raw)) = normalised raw, and pop3Size = its length", () => {
  const byte = fc.constantFrom(10, 13, 46, 65, 32, 0xe4);
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 200 }).map(Buffer.from),
      fc.array(byte, { maxLength: 60 }),
      (a, b) => {
        const raw = Buffer.concat([a, Buffer.from(b)]);
        const wire = stuffAll(raw, [Math.floor(raw.length / 3), Math.floor(raw.length / 2)]);
        const expected = normalise(raw);
        assert.equal(pop3Size(raw), expected.length);
        assert.deepEqual(unstuff(wire), expected);
      },
    ),
  );
});

test("isCrlfOnly from the POP3 size", () => {
  const yes = ["", "a\r\n", "a\r\nb", ".\r\n.", "x\ry\r\n"];
  const no = ["a\n", "a\r\nb\n", "\n.", "a\nb"];
  for (const t of yes)
    assert.equal(isCrlfOnly(Buffer.from(t), pop3Size(Buffer.from(t))), true, JSON.stringify(t));
  for (const t of no)
    assert.equal(isCrlfOnly(Buffer.from(t), pop3Size(Buffer.from(t))), false, JSON.stringify(t));
});

test("crlfOnly fast path: same bytes as the general path at every split", () => {
  const raw = Buffer.from(".a\r\n.\r\n\r\n..b\rc\r\n.\r\nend.\r\n.");
  assert.equal(isCrlfOnly(raw, pop3Size(raw)), true);
  const whole = stuffAll(raw, []);
  for (let i = 0; i <= raw.length; i++) {
    for (let j = i; j <= raw.length; j += 2) {
      assert.deepEqual(stuffAll(raw, [i, j], true), whole, `cuts ${i},${j}`);
    }
  }
});

test("property: crlfOnly path equals the general path for messages without bare LF", () => {
  const piece = fc.constantFrom("\r\n", ".", "..", "a", "\r", " ", "\u00e4");
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 80 }), fc.nat(), fc.nat(), (ps, x, y) => {
      const raw = Buffer.from(ps.join(""), "latin1");
      assert.equal(isCrlfOnly(raw, pop3Size(raw)), !/(^|[^\r])\n/.test(raw.toString("latin1")));
      if (!isCrlfOnly(raw, pop3Size(raw))) return; // "\r" + "\r\n" never yields a bare LF; defensive
      const a = raw.length ? x % (raw.length + 1) : 0;
      const b = raw.length ? Math.max(a, y % (raw.length + 1)) : 0;
      assert.deepEqual(stuffAll(raw, [a, b], true), stuffAll(raw, [a, b]));
      assert.deepEqual(
        Buffer.concat(new DotStuffer({ crlfOnly: true }).transformParts(raw)),
        new DotStuffer().transform(raw),
      );
    }),
  );
});

test("TOP boundaries", () => {
  const m = Buffer.from("A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\nl3\r\n");
  assert.equal(m.subarray(0, topEnd(m, 0)).toString(), "A: 1\r\nB: 2\r\n\r\n");
  assert.equal(m.subarray(0, topEnd(m, 2)).toString(), "A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n");
  assert.equal(topEnd(m, 10), m.length);
  const lf = Buffer.from("A: 1\n\nbody\nmore\n");
  assert.equal(lf.subarray(0, topEnd(lf, 1)).toString(), "A: 1\n\nbody\n");
  const noBody = Buffer.from("A: 1\r\nB: 2");
  assert.equal(topEnd(noBody, 0), noBody.length);
});

test("line reader: CRLF and LF, split input, limit", () => {
  const r = new LineReader(10);
  r.push(Buffer.from("STAT\r\nLI"));
  assert.equal(String(r.next()), "STAT");
  assert.equal(r.next(), null);
  r.push(Buffer.from("ST 1\nNOOP"));
  assert.equal(String(r.next()), "LIST 1");
  assert.equal(r.next(), null);
  r.push(Buffer.from("\r\n"));
  assert.equal(String(r.next()), "NOOP");
  r.push(Buffer.from("x".repeat(30)));
  assert.equal(r.next(), null);
  assert.ok(r.bufferedBytes === 0, "over-long input is discarded, not kept");
  r.push(Buffer.from("y".repeat(30)));
  assert.equal(r.next(), null);
  r.push(Buffer.from("zz\r\nQUIT\r\n"));
  assert.equal(r.next(), TOO_LONG); // reported when the line ends, in order with pipelined lines
  assert.equal(String(r.next()), "QUIT");
  r.push(Buffer.from("0123456789A\r\nOK\r\n"));
  assert.equal(r.next(), TOO_LONG);
  assert.equal(String(r.next()), "OK");
  assert.equal(r.bufferedBytes, 0);
});

test("line reader: every split offset yields the same lines", () => {
  const input = Buffer.from("USER a\r\nPASS b c\r\nLIST\nQUIT\r\n");
  for (let i = 0; i <= input.length; i++) {
    const r = new LineReader(100);
    r.push(input.subarray(0, i));
    const got: string[] = [];
    for (let l = r.next(); l; l = r.next()) got.push(String(l));
    r.push(input.subarray(i));
    for (let l = r.next(); l; l = r.next()) got.push(String(l));
    assert.deepEqual(got, ["USER a", "PASS b c", "LIST", "QUIT"]);
  }
});

test("command parsing", () => {
  const c = parseCommand(Buffer.from("pass my secret"));
  assert.ok(c.ok);
  assert.equal(c.command.keyword, "PASS");
  assert.deepEqual(c.command.args, ["my", "secret"]);
  assert.equal(c.command.rest.toString(), "my secret");
  assert.equal(parseCommand(Buffer.from("XY")).ok, false);
  assert.equal(parseCommand(Buffer.from("utf8")).ok, true);
  assert.equal(parseCommand(Buffer.from("1TOP")).ok, false);
  assert.equal(parseCommand(Buffer.from("RETRX 1")).ok, false);
  assert.equal(parseCommand(Buffer.from([0x55, 0x53, 0x45, 0x52, 0x20, 0xff])).ok, false);
  const u = parseCommand(Buffer.from("USER jürgen@example.com"));
  assert.ok(u.ok);
  assert.deepEqual(u.command.args, ["jürgen@example.com"]);
  assert.equal(parseMsgNumber("1"), 1);
  assert.equal(parseMsgNumber("0"), null);
  assert.equal(parseMsgNumber("-1"), null);
  assert.equal(parseMsgNumber("+1"), null);
  assert.equal(parseMsgNumber("1x"), null);
  assert.equal(parseMsgNumber("12345678901"), null);
  assert.equal(parseLineCount("0"), 0);
  assert.equal(parseLineCount("a"), null);
});

test("responses", () => {
  assert.equal(ok(), "+OK\r\n");
  assert.equal(err("locked", "IN-USE"), "-ERR [IN-USE] locked\r\n");
  assert.equal(err("a\r\nb"), "-ERR a b\r\n");
  assert.equal(multiline("2 messages", ["1 10", ".x"]), "+OK 2 messages\r\n1 10\r\n..x\r\n.\r\n");
});
