/**
 * End to end: Debian's curl (libcurl's IMAP client) against the real server process, over STARTTLS
 * on the plain port (`imap://` + `--ssl-reqd`: curl fails if STARTTLS is not offered or fails) and
 * over implicit TLS (`imaps://`, RFC 8314). `-k` because the certificate is the generated
 * self-signed one. Outputs are compared with what was delivered, byte for byte.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { deliver, type E2E, message, PASS_A, run, startE2E, USER_A } from "./helpers.ts";

const CURL = "/usr/bin/curl";

describe("e2e: curl", { skip: !fs.existsSync(CURL) && "curl is not installed" }, () => {
  let e: E2E;
  const m1 = message("hello curl", "hello world from the first message\r\n");
  // 8-bit body (raw UTF-8 bytes): must come back exactly as delivered (CRLF only: `deliver` turns
  // bare LF into CRLF on purpose, src/cli/io.ts normalizeDelivery)
  const m2 = Buffer.concat([
    Buffer.from(
      "From: x@remote.test\r\nTo: a@example.test\r\nSubject: second\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
    ),
    Buffer.from("Grüße aus Köln\r\nline two\r\n", "utf8"),
  ]);
  const m3 = message("third", "nothing to see; HELLO again in capitals\r\n");

  before(async () => {
    e = await startE2E({ workers: 1 });
    await deliver(e, USER_A, m1);
    await deliver(e, USER_A, m2);
    await deliver(e, USER_A, m3);
  });
  after(async () => {
    await e?.close();
  });

  const variants = [
    {
      name: "STARTTLS (imap:// --ssl-reqd)",
      url: () => `imap://127.0.0.1:${e.server.imapPort}`,
      extra: ["--ssl-reqd"],
    },
    { name: "implicit TLS (imaps://)", url: () => `imaps://127.0.0.1:${e.server.imapsPort}`, extra: [] },
  ];

  const curl = async (extra: string[], args: string[], input?: Buffer) => {
    const r = await run(CURL, ["-sS", "-k", "--user", `${USER_A}:${PASS_A}`, ...extra, ...args], {
      timeoutMs: 30_000,
      input,
    });
    assert.equal(r.code, 0, `curl ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };

  for (const v of variants) {
    describe(v.name, () => {
      it("lists the mailboxes", async () => {
        const out = (await curl(v.extra, [`${v.url()}/`])).toString();
        const names = [...out.matchAll(/^\* LIST \(([^)]*)\) "\/" "?([^"\r\n]*)"?\r?$/gm)].map((m) => m[2]);
        for (const n of ["INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive"]) {
          assert.ok(names.includes(n), `LIST has ${n}:\n${out}`);
        }
        assert.match(
          out,
          /^\* LIST \([^)]*\\Sent[^)]*\) "\/" "?Sent"?\r?$/m,
          "special-use attribute on Sent",
        );
      });

      it("fetches messages byte-identical to what was delivered", async () => {
        assert.deepEqual(await curl(v.extra, [`${v.url()}/INBOX;UID=1`]), m1);
        assert.deepEqual(await curl(v.extra, [`${v.url()}/INBOX;UID=2`]), m2);
        assert.deepEqual(await curl(v.extra, [`${v.url()}/INBOX;UID=3`]), m3);
      });

      it("fetches a section (BODY[TEXT])", async () => {
        const body = await curl(v.extra, [`${v.url()}/INBOX;UID=2;SECTION=TEXT`]);
        assert.deepEqual(body, m2.subarray(m2.indexOf("\r\n\r\n") + 4));
      });

      it("searches (URL form and UID SEARCH) case-insensitively in decoded text", async () => {
        const urlForm = (await curl(v.extra, [`${v.url()}/INBOX?TEXT%20hello`])).toString();
        assert.match(urlForm, /^\* SEARCH 1 3\r?$/m, urlForm);
        const uidForm = (await curl(v.extra, ["-X", "UID SEARCH TEXT hello", `${v.url()}/INBOX`])).toString();
        assert.match(uidForm, /^\* SEARCH 1 3\r?$/m, uidForm);
        const umlaut = (
          await curl(v.extra, ["-X", "UID SEARCH CHARSET UTF-8 BODY köln", `${v.url()}/INBOX`])
        ).toString();
        assert.match(umlaut, /^\* SEARCH 2\r?$/m, umlaut);
        const none = (
          await curl(v.extra, ["-X", "UID SEARCH SUBJECT nosuchthing", `${v.url()}/INBOX`])
        ).toString();
        assert.match(none, /^\* SEARCH\r?$/m, none);
      });

      it("examines INBOX", async () => {
        const out = (await curl(v.extra, ["-X", "EXAMINE INBOX", `${v.url()}/`])).toString();
        assert.match(out, /^\* 3 EXISTS\r?$/m, out);
        assert.match(out, /^\* OK \[UIDVALIDITY \d+\]/m, out);
        assert.match(out, /^\* OK \[UIDNEXT 4\]/m, out);
        assert.match(out, /^\* FLAGS \(/m, out);
      });
    });
  }

  it("--ssl-reqd on the plain port really upgrades with STARTTLS before logging in", async () => {
    const r = await run(
      CURL,
      [
        "-sS",
        "-v",
        "-k",
        "--ssl-reqd",
        "--user",
        `${USER_A}:${PASS_A}`,
        `imap://127.0.0.1:${e.server.imapPort}/`,
      ],
      { timeoutMs: 30_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    const log = r.stderr;
    const starttls = log.search(/^> \S+ STARTTLS\r?$/m);
    const login = log.search(/^> \S+ (LOGIN|AUTHENTICATE)\b/m);
    assert.ok(starttls >= 0, `curl sent STARTTLS:\n${log}`);
    assert.ok(login > starttls, "credentials only after STARTTLS");
  });

  it("creates a folder with a space in its name, uploads (APPEND) and fetches back", async () => {
    const v = variants[1]!;
    await curl(v.extra, ["-X", 'CREATE "Work Items"', `${v.url()}/`]);
    const up = message("uploaded by curl", "via APPEND\r\n");
    const file = path.join(e.server.dir, "upload.eml");
    fs.writeFileSync(file, up); // curl needs the size up front for the APPEND literal
    await curl(v.extra, ["-T", file, `${v.url()}/Work%20Items`]);
    assert.deepEqual(await curl(v.extra, [`${v.url()}/Work%20Items;UID=1`]), up);
    const out = (await curl(v.extra, [`${v.url()}/`])).toString();
    assert.match(out, /^\* LIST \([^)]*\) "\/" "Work Items"\r?$/m, out);
  });

  it("a 6 MiB message streams back byte-identical over both TLS modes", async () => {
    // 8-bit bytes (all values but CR/LF/NUL) in CRLF lines of 998 octets (RFC 5322 §2.1.1)
    const lines: Buffer[] = [
      Buffer.from(
        "From: big@remote.test\r\nTo: a@example.test\r\nSubject: big one\r\n" +
          "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
      ),
    ];
    let seed = 12345;
    for (let n = 0; n < 6 * 1024; n++) {
      const line = Buffer.alloc(1000);
      for (let i = 0; i < 998; i++) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        let c = (seed >>> 16) & 0xff;
        if (c === 0x0d || c === 0x0a || c === 0) c = 0x41;
        line[i] = c;
      }
      line[998] = 0x0d;
      line[999] = 0x0a;
      lines.push(line);
    }
    const big = Buffer.concat(lines);
    await deliver(e, USER_A, big);
    const out = (
      await curl([], ["-X", 'UID SEARCH SUBJECT "big one"', `${variants[1]!.url()}/INBOX`])
    ).toString();
    const uid = /^\* SEARCH (\d+)\r?$/m.exec(out)?.[1];
    assert.ok(uid, out);
    for (const v of variants) {
      const got = await curl(v.extra, [`${v.url()}/INBOX;UID=${uid}`]);
      assert.equal(got.length, big.length, v.name);
      assert.ok(got.equals(big), `${v.name}: identical bytes`);
    }
  });

  it("a wrong password is refused", async () => {
    const r = await run(
      CURL,
      ["-sS", "-k", "--user", `${USER_A}:wrong`, `imaps://127.0.0.1:${e.server.imapsPort}/INBOX;UID=1`],
      { timeoutMs: 30_000 },
    );
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout.length, 0);
  });
});
