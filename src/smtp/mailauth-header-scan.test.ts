/**
 * The header scan that replaces mailauth's byte-wise one (mailauth-header-scan.ts) gives the same
 * results: for inputs with every kind of line ending and empty first lines, split into chunks at
 * every place, both hand out the same header block and body chunks and leave the same state.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { checkSender } from "./authn.ts";
import {
  type HeaderScanState,
  installHeaderScan,
  originalProcessChunk,
  scanHeader,
} from "./mailauth-header-scan.ts";

/** a parser stand-in with processChunk's fields; records what it hands out */
function parser(): HeaderScanState & { out: string[] } {
  const p = {
    state: "header",
    stateBytes: [] as number[],
    headerBytes: 0,
    headerChunks: [] as Buffer[],
    out: [] as string[],
    async emitHeaders(chunk?: Buffer) {
      p.state = "body";
      if (chunk) p.headerChunks.push(chunk);
      p.out.push(`H:${Buffer.concat(p.headerChunks).toString("latin1")}`);
    },
    async nextChunk(chunk: Buffer) {
      p.out.push(`B:${chunk.toString("latin1")}`);
    },
  };
  return p;
}

type Scan = (this: HeaderScanState, chunk: Buffer) => Promise<void>;

async function run(scan: Scan, input: Buffer, cuts: number[]) {
  const p = parser();
  let at = 0;
  for (const cut of [...cuts, input.length]) {
    await scan.call(p, input.subarray(at, cut));
    at = cut;
  }
  return {
    out: p.out,
    state: p.state,
    headerBytes: p.headerBytes,
    stateBytes: p.stateBytes,
    pending: Buffer.concat(p.headerChunks).toString("latin1"),
  };
}

const SAMPLES = [
  "From: a@x\r\nTo: b@y\r\n\r\nbody\r\n",
  "From: a@x\nTo: b@y\n\nbody\n",
  "\r\nbody only\r\n",
  "\nbody only\n",
  "From: a@x\r\n",
  "A: 1\r\n B: folded\r\n\r\n\r\n\r\nx",
  "A: 1\n\r\nB\r\n\r\n",
  "A: 1\r\r\n\r\nbody",
  "\r\r\n\r\n",
  "",
  "x",
];

describe("mailauth header scan", () => {
  test("installed on the mailauth version it was written for", () => {
    // a failure here means mailauth changed the method: check the replacement against its new
    // source and update KNOWN_SOURCE, or drop the replacement
    assert.equal(installHeaderScan(), true);
  });

  test("same results as mailauth's byte-wise scan for every split of the samples", async () => {
    const original = originalProcessChunk();
    assert.notEqual(original, scanHeader);
    for (const s of SAMPLES) {
      const input = Buffer.from(s, "latin1");
      for (let a = 0; a <= input.length; a++) {
        for (let b = a; b <= input.length; b++) {
          const cuts = [a, b];
          assert.deepEqual(
            await run(scanHeader, input, cuts),
            await run(original, input, cuts),
            `${JSON.stringify(s)} cut at ${a}, ${b}`,
          );
        }
      }
    }
  });

  test("same results on random inputs and chunkings", async () => {
    const original = originalProcessChunk();
    const bytes = fc.array(fc.constantFrom(0x0d, 0x0a, 0x41, 0x3a, 0x20), { maxLength: 40 });
    await fc.assert(
      fc.asyncProperty(bytes, fc.array(fc.nat(40), { maxLength: 6 }), async (b, raw) => {
        const input = Buffer.from(b);
        const cuts = raw.map((c) => Math.min(c, input.length)).sort((x, y) => x - y);
        assert.deepEqual(await run(scanHeader, input, cuts), await run(original, input, cuts));
      }),
      { numRuns: 500 },
    );
  });

  test("the sender checks run with it and read the header section", async () => {
    const txt: Record<string, string> = {
      "sender.example": "v=spf1 ip4:192.0.2.1 -all",
      "_dmarc.sender.example": "v=DMARC1; p=reject",
    };
    const resolver = async (name: string, type: string) => {
      if (type === "TXT" && txt[name]) return [[txt[name]]];
      throw Object.assign(new Error(`${type} ${name}: ENOTFOUND`), { code: "ENOTFOUND" });
    };
    const check = (from: string) =>
      checkSender({
        message: Buffer.from(`From: ${from}\r\nSubject: s\r\n\r\nFrom: <c@other.example>\r\n`),
        ip: "192.0.2.1",
        helo: "mx.sender.example",
        sender: "a@sender.example",
        mta: "mx.test",
        resolver,
      });
    // the From field of the header section decides DMARC; the "From:" line of the body does not
    const pass = await check("<a@sender.example>");
    assert.equal(pass.dmarc, "pass");
    assert.equal(pass.action, "accept");
    const fail = await check("<a@elsewhere.example>");
    assert.equal(fail.spf, "pass");
    assert.notEqual(fail.dmarc, "pass");
  });
});
