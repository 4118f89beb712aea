import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bodyStructureImap, envelopeImap } from "../imap/protocol/body-structure.ts";
import {
  binarySize,
  getBinary,
  getSection,
  headerValues,
  parseMessage,
  searchText,
  sortKeys,
} from "./index.ts";
import { allPartPaths, invariantErrors } from "./test-helpers.ts";

/** Exercise every public function on one input; all must hold the invariants and not throw. */
function checkAll(raw: Uint8Array): void {
  const p = parseMessage(raw);
  assert.deepEqual(invariantErrors(raw, p), []);
  assert.deepEqual(JSON.parse(JSON.stringify(p)), p);
  bodyStructureImap(p, true, false);
  bodyStructureImap(p, false, true);
  envelopeImap(p.envelope, false);
  searchText(raw, p, { maxBodyChars: 4096 });
  headerValues(raw, p, "subject");
  sortKeys(raw, p);
  for (const kind of ["", "HEADER", "TEXT"] as const) getSection(raw, p, { part: [], kind });
  for (const path of allPartPaths(p, 50)) {
    const body = getSection(raw, p, { part: path, kind: "" });
    assert.ok(body !== null);
    getSection(raw, p, { part: path, kind: "MIME" });
    getSection(raw, p, { part: path, kind: "HEADER.FIELDS", fields: ["from"] });
    const b = getBinary(raw, p, path);
    const n = binarySize(raw, p, path);
    if (b === null || b === "unknown-cte") assert.equal(n, b);
    else assert.equal(n, b.length);
  }
}

// fragments that steer random messages into the interesting parser paths
const fragments = [
  "\r\n",
  "\n",
  "\r",
  "\r\n\r\n",
  "Content-Type: multipart/mixed; boundary=b\r\n",
  'Content-Type: multipart/digest; boundary="b"\n',
  "Content-Type: message/rfc822\r\n",
  "Content-Type: text/plain; charset*0*=utf-8''%C3; charset*1=x\r\n",
  "Content-Transfer-Encoding: base64\r\n",
  "Content-Transfer-Encoding: quoted-printable\r\n",
  'Content-Disposition: attachment; filename="a.txt"\r\n',
  "--b\r\n",
  "--b--\r\n",
  "--b",
  'From: "A" <a@b>, g: c@d;\r\n',
  "To: =?utf-8?B?w6k=?= <x@y>\r\n",
  "Subject: Re: [x] hi\r\n",
  " folded\r\n",
  "=?iso-8859-1?Q?=E9?=",
  "aGVsbG8=",
  "=3D=\r\n",
  "<html><p>x</p>",
  ":",
  "\u00e9",
  "\u0000",
];

describe("parseMessage properties (fast-check)", () => {
  it("random bytes: never throws, offsets in bounds and monotone", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        checkAll(bytes);
      }),
      { numRuns: 300 },
    );
  });

  it("random structured messages: never throws, offsets in bounds and monotone", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constantFrom(...fragments), fc.string({ maxLength: 20 })), { maxLength: 60 }),
        (parts) => {
          checkAll(Buffer.from(parts.join(""), "utf8"));
        },
      ),
      { numRuns: 500 },
    );
  });
});
