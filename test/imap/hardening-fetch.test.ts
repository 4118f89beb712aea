/**
 * Issue 9 hardening, over real sockets: binary content (RFC 3516) is served content-transfer-
 * encoded by BODY[]/RFC822 and raw only by BINARY[]; HIGHESTMODSEQ after the first
 * CONDSTORE-enabling command on a selected mailbox (RFC 7162 §3.1); ESEARCH MIN/MAX with MODSEQ
 * (RFC 7162 §3.1.5); SEARCH FROM/TO/CC/BCC on parsed addresses; SORT on group names and with
 * i;ascii-casemap (RFC 5256 §3, RFC 5957); ENVELOPE source routes (RFC 3501 §7.4.2).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Client, message, startServer, type TestServer } from "./helpers.ts";

/** The literal that follows `name ` in a response line (the helper inlines literals as latin1). */
function literalAfter(line: string, name: string): { size: number; data: Buffer; binary: boolean } {
  const at = line.indexOf(name + " ");
  assert.ok(at !== -1, `${name} in ${JSON.stringify(line.slice(0, 300))}`);
  const m = /^(~?)\{(\d+)\}\r\n/.exec(line.slice(at + name.length + 1));
  assert.ok(m, `${name} is a literal`);
  const start = at + name.length + 1 + m[0].length;
  const size = Number(m[2]);
  return { size, data: Buffer.from(line.slice(start, start + size), "latin1"), binary: m[1] === "~" };
}

async function appendBinary(c: Client, mailbox: string, data: Buffer): Promise<string> {
  const tag = c.nextTag();
  c.write(
    Buffer.concat([
      Buffer.from(`${tag} APPEND ${mailbox} ~{${data.length}+}\r\n`),
      data,
      Buffer.from("\r\n"),
    ]),
  );
  return (await c.collect(tag)).tagged;
}

describe("IMAP hardening: binary content served encoded (RFC 3516)", () => {
  let t: TestServer;
  let c: Client;
  before(async () => {
    t = await startServer();
    c = await t.login();
    assert.ok((await c.cmd("CREATE Bin")).ok);
  });
  after(async () => {
    await t.close();
  });

  const payload = Buffer.from([0x00, 0x01, 0x02, 0xff, 0x00, 0x0d, 0x0a, 0x41, 0x00]);

  it("a single-part binary message: BODY[]/RFC822 base64 without NUL, BINARY[] raw in literal8", async () => {
    const msg = Buffer.concat([
      Buffer.from(
        "From: a@example.org\r\nSubject: bin\r\nContent-Type: application/octet-stream\r\n" +
          "Content-Transfer-Encoding: binary\r\n\r\n",
      ),
      payload,
    ]);
    assert.match(await appendBinary(c, "Bin", msg), /OK \[APPENDUID \d+ 1\]/);
    await c.cmd("SELECT Bin");
    const r = await c.cmd("FETCH 1 (RFC822.SIZE BODY.PEEK[] BODY.PEEK[HEADER] BODY.PEEK[1] BODYSTRUCTURE)");
    assert.ok(r.ok, r.text);
    const l = r.lines[0]!;
    const whole = literalAfter(l, "BODY[]");
    assert.equal(whole.binary, false);
    assert.equal(whole.data.indexOf(0), -1, "no NUL in BODY[]");
    assert.equal(Number(/RFC822\.SIZE (\d+)/.exec(l)![1]), whole.size, "RFC822.SIZE = size of BODY[]");
    const header = literalAfter(l, "BODY[HEADER]").data.toString("latin1");
    assert.match(header, /Content-Transfer-Encoding: base64\r\n\r\n$/);
    assert.doesNotMatch(header, /binary/i);
    const body = literalAfter(l, "BODY[1]");
    assert.deepEqual(Buffer.from(body.data.toString("latin1"), "base64"), payload);
    // BODYSTRUCTURE describes what BODY[1] returns
    assert.match(
      l,
      new RegExp(`BODYSTRUCTURE \\("APPLICATION" "OCTET-STREAM" NIL NIL NIL "BASE64" ${body.size} `),
    );

    const b = await c.cmd("FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1] BINARY.PEEK[] BINARY.SIZE[])");
    const bl = b.lines[0]!;
    const bin = literalAfter(bl, "BINARY[1]");
    assert.equal(bin.binary, true);
    assert.deepEqual(bin.data, payload);
    assert.match(bl, new RegExp(`BINARY\\.SIZE\\[1\\] ${payload.length}\\b`));
    const binWhole = literalAfter(bl, "BINARY[]");
    assert.equal(binWhole.binary, true);
    assert.ok(binWhole.data.includes(payload), "BINARY[] decodes the part back");
    assert.match(binWhole.data.toString("latin1"), /Content-Transfer-Encoding: binary\r\n\r\n/);
    assert.match(bl, new RegExp(`BINARY\\.SIZE\\[\\] ${binWhole.size}\\b`));

    const r2 = await c.cmd("FETCH 1 (RFC822)");
    const rfc = literalAfter(r2.lines[0]!, "RFC822");
    assert.equal(rfc.binary, false);
    assert.equal(rfc.data.indexOf(0), -1);
    assert.deepEqual(rfc.data, whole.data);
  });

  it("a binary part of a multipart: only that part re-encoded, its MIME header says base64", async () => {
    const msg = Buffer.concat([
      Buffer.from(
        "From: a@example.org\r\nSubject: mixed\r\nMIME-Version: 1.0\r\n" +
          'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nplain text\r\n' +
          "--b1\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: binary\r\n" +
          "Content-Disposition: attachment; filename=x.png\r\n\r\n",
      ),
      payload,
      Buffer.from("\r\n--b1--\r\n"),
    ]);
    assert.match(await appendBinary(c, "Bin", msg), /OK \[APPENDUID \d+ 2\]/);
    await c.cmd("NOOP");
    const r = await c.cmd(
      "FETCH 2 (RFC822.SIZE BODY.PEEK[] BODY.PEEK[1] BODY.PEEK[2] BODY.PEEK[2.MIME] BODYSTRUCTURE BINARY.PEEK[2] BINARY.SIZE[2])",
    );
    assert.ok(r.ok, r.text);
    const l = r.lines[0]!;
    const whole = literalAfter(l, "BODY[]");
    assert.equal(whole.data.indexOf(0), -1);
    assert.equal(Number(/RFC822\.SIZE (\d+)/.exec(l)![1]), whole.size);
    assert.equal(literalAfter(l, "BODY[1]").data.toString("latin1"), "plain text");
    const p2 = literalAfter(l, "BODY[2]");
    assert.equal(p2.binary, false);
    assert.deepEqual(Buffer.from(p2.data.toString("latin1"), "base64"), payload);
    const mime = literalAfter(l, "BODY[2.MIME]").data.toString("latin1");
    assert.match(mime, /Content-Transfer-Encoding: base64\r\n/);
    assert.match(mime, /Content-Disposition: attachment; filename=x.png\r\n/);
    assert.doesNotMatch(mime, /: binary/);
    assert.match(l, new RegExp(`\\("IMAGE" "PNG" NIL NIL NIL "BASE64" ${p2.size} `));
    const bin = literalAfter(l, "BINARY[2]");
    assert.equal(bin.binary, true);
    assert.deepEqual(bin.data, payload);
    assert.match(l, new RegExp(`BINARY\\.SIZE\\[2\\] ${payload.length}\\b`));
  });

  it("a NUL the encoding cannot remove (in a header) is refused with UNKNOWN-CTE, nothing stored", async () => {
    const msg = Buffer.from("Subject: a\x00b\r\n\r\nbody\r\n", "latin1");
    assert.match(await appendBinary(c, "Bin", msg), /NO \[UNKNOWN-CTE\]/);
    const st = await c.cmd("STATUS Bin (MESSAGES)");
    assert.match(st.lines[0]!, /\(MESSAGES 2\)/);
  });

  it("a message that came with NUL by another path (store append) is served without NUL", async () => {
    const mb = (await t.store.getMailbox(t.accountId, "Bin"))!;
    await t.store.append(t.accountId, mb.id, {
      raw: Buffer.concat([Buffer.from("Subject: via store\r\n\r\nline\x00one\r\n", "latin1")]),
    });
    await c.cmd("NOOP");
    const r = await c.cmd("FETCH 3 (BODY.PEEK[] BODY.PEEK[TEXT] BINARY.PEEK[1])");
    const l = r.lines[0]!;
    assert.equal(literalAfter(l, "BODY[]").data.indexOf(0), -1);
    assert.equal(literalAfter(l, "BODY[TEXT]").data.indexOf(0), -1);
    assert.deepEqual(literalAfter(l, "BINARY[1]").data, Buffer.from("line\x00one\r\n", "latin1"));
  });
});

describe("IMAP hardening: CONDSTORE enabling and ESEARCH MODSEQ (RFC 7162)", () => {
  let t: TestServer;
  before(async () => {
    t = await startServer();
    const c = await t.login();
    for (let i = 1; i <= 3; i++) await c.append("INBOX", message(`m${i}`));
    await c.cmd("SELECT INBOX");
    // message 1 changes last: the highest modseq of all
    await c.cmd("STORE 2 +FLAGS (\\Flagged)");
    await c.cmd("STORE 1 +FLAGS (\\Seen)");
    c.destroy();
  });
  after(async () => {
    await t.close();
  });

  async function highest(c: Client): Promise<bigint> {
    const s = await c.cmd("STATUS INBOX (HIGHESTMODSEQ)");
    return BigInt(/HIGHESTMODSEQ (\d+)/.exec(s.text)![1]!);
  }

  for (const [what, command] of [
    ["FETCH (MODSEQ)", "FETCH 1 (MODSEQ)"],
    ["FETCH (CHANGEDSINCE)", "FETCH 1:* (FLAGS) (CHANGEDSINCE 1)"],
    ["SEARCH MODSEQ", "SEARCH MODSEQ 1"],
    ["STORE (UNCHANGEDSINCE)", "STORE 3 (UNCHANGEDSINCE 100000) +FLAGS (x)"],
  ] as const) {
    it(`${what} on a selected mailbox sends OK [HIGHESTMODSEQ] once`, async () => {
      const c = await t.login();
      assert.ok((await c.cmd("SELECT INBOX")).ok);
      const want = await highest(c);
      const r = await c.cmd(command);
      assert.ok(r.ok, r.text);
      const oks = r.lines.filter((x) => x.startsWith("* OK [HIGHESTMODSEQ "));
      assert.deepEqual(oks.length, 1, r.text);
      assert.ok(BigInt(/HIGHESTMODSEQ (\d+)/.exec(oks[0]!)![1]!) >= want);
      const again = await c.cmd(command.startsWith("STORE") ? "FETCH 1 (MODSEQ)" : command);
      assert.ok(!again.text.includes("[HIGHESTMODSEQ"), again.text);
      c.destroy();
    });
  }

  it("ESEARCH MIN/MAX with MODSEQ return the modseq of the message(s) returned", async () => {
    const c = await t.login();
    await c.cmd("SELECT INBOX");
    await c.cmd("STORE 1 +FLAGS (\\Answered)"); // message 1: the highest modseq of all
    const f = await c.cmd("FETCH 1:3 (MODSEQ)");
    const ms = f.lines
      .map((l) => /^\* (\d+) FETCH \(MODSEQ \((\d+)\)\)/.exec(l))
      .filter((m) => m !== null)
      .map((m) => BigInt(m[2]!));
    assert.equal(ms.length, 3, f.text);
    // biome-ignore lint/complexity/useMathMinMax: bigint operands (Math.max takes numbers)
    const top = ms.reduce((a, b) => (a > b ? a : b));
    assert.equal(top, ms[0], "message 1 has the highest modseq");
    const min = await c.cmd("SEARCH RETURN (MIN) MODSEQ 1");
    assert.match(min.lines[0]!, new RegExp(`MIN 1 MODSEQ ${ms[0]}$`));
    const max = await c.cmd("SEARCH RETURN (MAX) MODSEQ 1");
    assert.match(max.lines[0]!, new RegExp(`MAX 3 MODSEQ ${ms[2]}$`));
    assert.notEqual(ms[2], top);
    const both = await c.cmd("SEARCH RETURN (MIN MAX) MODSEQ 1");
    // biome-ignore lint/complexity/useMathMinMax: bigint operands (Math.max takes numbers)
    const hi2 = ms[0]! > ms[2]! ? ms[0] : ms[2];
    assert.match(both.lines[0]!, new RegExp(`MIN 1 MAX 3 MODSEQ ${hi2}$`));
    const mid = await c.cmd("SEARCH RETURN (MIN) 2:3 MODSEQ 1");
    assert.match(mid.lines[0]!, new RegExp(`MIN 2 MODSEQ ${ms[1]}$`));
    const all = await c.cmd("SEARCH RETURN (ALL) 2:3 MODSEQ 1");
    // biome-ignore lint/complexity/useMathMinMax: bigint operands (Math.max takes numbers)
    const hiAll = ms[1]! > ms[2]! ? ms[1] : ms[2];
    assert.match(all.lines[0]!, new RegExp(`ALL 2:3 MODSEQ ${hiAll}$`));
    c.destroy();
  });
});

describe("IMAP hardening: address SEARCH, SORT collation, ENVELOPE routes", () => {
  let t: TestServer;
  let c: Client;
  const mk = (headers: string, subject: string) =>
    `${headers}\r\nSubject: ${subject}\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nbody\r\n`;
  before(async () => {
    t = await startServer();
    c = await t.login();
    await c.append("INBOX", mk('From: "Joe Q. Public" (his comment) <joe@example.com>', "A")); // 1
    await c.append(
      "INBOX",
      mk("From: jane(nick)@example.org\r\nTo: =?utf-8?q?J=C3=BCrgen?= <j@x.example>", "b"),
    ); // 2
    await c.append("INBOX", mk("From: Zeta Team: bob@example.net;\r\nCc: <@r1,@r2:route@example.com>", "[y")); // 3
    await c.append("INBOX", mk("From: mike@example.com", "_x")); // 4
    await c.cmd("SELECT INBOX");
  });
  after(async () => {
    await t.close();
  });

  const search = async (q: string) =>
    (await c.cmd(`SEARCH ${q}`)).lines.find((l) => l.startsWith("* SEARCH"));

  it("FROM/TO/CC match the parsed addresses, not comments or quoting; HEADER keeps the raw text", async () => {
    assert.equal(await search('FROM "his comment"'), "* SEARCH");
    assert.equal(await search('HEADER FROM "his comment"'), "* SEARCH 1");
    assert.equal(await search('FROM "Joe Q. Public <joe@example.com>"'), "* SEARCH 1");
    assert.equal(await search('FROM "\\"Joe"'), "* SEARCH");
    assert.equal(await search('FROM "jane@example.org"'), "* SEARCH 2");
    assert.equal(await search('TO "J@X.EXAMPLE"'), "* SEARCH 2");
    assert.equal(await search('FROM "Zeta Team"'), "* SEARCH 3");
    assert.equal(await search("CC route@example.com"), "* SEARCH 3");
    assert.equal(await search("CC r1"), "* SEARCH");
  });

  it("SORT: i;ascii-casemap order ('[' and '_' after letters) and groups by group name", async () => {
    const sub = await c.cmd("SORT (SUBJECT) UTF-8 ALL");
    assert.ok(sub.lines.includes("* SORT 1 2 3 4"), sub.text); // A b [y _x
    const from = await c.cmd("SORT (FROM) UTF-8 ALL");
    // addr-mailbox: JANE, JOE, MIKE, ZETA TEAM (the group's name, not bob)
    assert.ok(from.lines.includes("* SORT 2 1 4 3"), from.text);
    const disp = await c.cmd("SORT (DISPLAYFROM) UTF-8 ALL");
    // JOE Q. PUBLIC, MIKE@EXAMPLE.COM, NICK (the ENVELOPE's name for "jane(nick)@…"), ZETA TEAM
    assert.ok(disp.lines.includes("* SORT 1 4 2 3"), disp.text);
    const rev = await c.cmd("SORT (REVERSE SUBJECT) UTF-8 ALL");
    assert.ok(rev.lines.includes("* SORT 4 3 2 1"), rev.text);
  });

  it("ENVELOPE keeps an obsolete source route as the adl field", async () => {
    const r = await c.cmd("FETCH 3 (ENVELOPE)");
    assert.match(r.lines[0]!, /\(\(NIL "@r1,@r2" "route" "example\.com"\)\)/);
    assert.match(
      r.lines[0]!,
      /\(\(NIL NIL "Zeta Team" NIL\)\(NIL NIL "bob" "example\.net"\)\(NIL NIL NIL NIL\)\)/,
    );
  });
});
