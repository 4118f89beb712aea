/**
 * COMPRESS=DEFLATE (RFC 4978) with a second, independent real client: Python's imaplib with a
 * zlib wrapper (raw DEFLATE, window 2^15, sync flush per command — what Python clients such as
 * offlineimap do). Login, COMPRESS, then SELECT, APPEND, SEARCH, FETCH of the body (a literal
 * through the compressed stream), NOOP and LOGOUT; every answer is checked by the script and
 * printed, and the server's copy of the appended message is compared byte for byte.
 * Skipped where python3 is not installed.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { PASS, startServer, type TestServer, USER } from "./helpers.ts";

const hasPython = spawnSync("python3", ["-c", "import imaplib, zlib"]).status === 0;

const SCRIPT = String.raw`
import imaplib, zlib, sys
imaplib.Commands['COMPRESS'] = ('AUTH', 'SELECTED')

class Z(imaplib.IMAP4):
    z = None
    def compress(self):
        typ, dat = self._simple_command('COMPRESS', 'DEFLATE')
        assert typ == 'OK', dat
        self.z = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.u = zlib.decompressobj(-15)
        self.buf = b''
    def send(self, data):
        if self.z:
            data = self.z.compress(data) + self.z.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)
    def _fill(self):
        chunk = self.sock.recv(4096)
        if not chunk:
            raise EOFError('server closed')
        self.buf += self.u.decompress(chunk)
    def read(self, size):
        if not self.z:
            return super().read(size)
        while len(self.buf) < size:
            self._fill()
        out, self.buf = self.buf[:size], self.buf[size:]
        return out
    def readline(self):
        if not self.z:
            return super().readline()
        while b'\n' not in self.buf:
            self._fill()
        i = self.buf.index(b'\n') + 1
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
m = Z('127.0.0.1', port)
m.login(user, password)
m.compress()
typ, dat = m.select('INBOX')
assert typ == 'OK', dat
body = b'Subject: via python\r\nFrom: py@example.com\r\n\r\n' + b'compressed line\r\n' * 200
typ, dat = m.append('INBOX', None, None, body)
assert typ == 'OK', dat
typ, dat = m.uid('SEARCH', None, 'SUBJECT', '"via python"')
assert typ == 'OK', dat
uid = dat[0].split()[-1]
typ, dat = m.uid('FETCH', uid, '(BODY.PEEK[])')
assert typ == 'OK', dat
assert dat[0][1] == body, 'body round trip'
typ, dat = m.noop()
assert typ == 'OK', dat
print('uid', uid.decode())
m.logout()
print('done')
`;

describe("COMPRESS=DEFLATE with Python's imaplib (zlib wrapper)", () => {
  let t: TestServer;
  before(async () => {
    t = await startServer();
  });
  after(async () => {
    await t.close();
  });

  it("login, COMPRESS, SELECT, APPEND, SEARCH, FETCH a 3 KiB body, NOOP, LOGOUT", {
    skip: !hasPython && "python3 is not installed",
  }, async () => {
    const p = spawn("python3", ["-c", SCRIPT, String(t.port), USER, PASS]);
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    p.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => p.on("close", resolve));
    assert.equal(code, 0, err);
    const uid = /^uid (\d+)$/m.exec(out)?.[1];
    assert.ok(uid, out);
    assert.match(out, /^done$/m);
    // the server stored exactly what went through the compressed stream
    const inbox = (await t.store.getMailbox(t.accountId, "INBOX"))!;
    const stored = Buffer.from(await t.store.readMessage(inbox.id, Number(uid))).toString("latin1");
    assert.equal(
      stored,
      `Subject: via python\r\nFrom: py@example.com\r\n\r\n${"compressed line\r\n".repeat(200)}`,
    );
    // and the server logged the switch for this connection
    assert.ok(
      t.logs.some((l) => /compress/i.test(String(l.msg))),
      t.logs.map((l) => l.msg).join("\n"),
    );
  });
});
