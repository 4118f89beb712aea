/**
 * mailauth's search for the end of a message's header section, without garbage per byte.
 *
 * Every check (DKIM verification feeds SPF, DMARC and ARC too) writes the message through
 * mailauth's MessageParser, whose processChunk looks for the empty line byte by byte and keeps
 * "the last four bytes" as an array it re-slices at every byte: ~70 KiB of short-lived arrays for
 * a 300-octet header block, half of all the checks allocate for an unsigned message. In a worker
 * with a small young generation that garbage, not the checks, was most of their cost per message
 * (docs/benchmarks.md, sender checks).
 *
 * installHeaderScan() replaces that method with one that looks only at the line feeds and gives
 * the same results: the same header block and body chunks, and the same parser state. It does so
 * only when the method is the one it was written against (a hash of its source), so an upgrade
 * of mailauth that changes the method keeps mailauth's own. src/smtp/mailauth-header-scan.test.ts
 * compares both on every split of a set of inputs.
 */
import { createHash } from "node:crypto";
import { requireCjs } from "../net/without-fetch.ts";

/** the parser fields processChunk reads and writes (mailauth/lib/dkim/message-parser.js) */
export interface HeaderScanState {
  state: string;
  /** the last (up to) four bytes seen in the header section */
  stateBytes: number[];
  /** header-section bytes seen so far */
  headerBytes: number;
  headerChunks: Buffer[];
  emitHeaders(chunk?: Buffer): Promise<void>;
  nextChunk(chunk: Buffer): Promise<void>;
}

type ProcessChunk = (this: HeaderScanState, chunk: Buffer) => Promise<void>;

/** sha256 of MessageParser.prototype.processChunk's source in mailauth 7.1.0 */
const KNOWN_SOURCE = "3eb0ab88fc518e738aec958c6cf4299cf6d478dd1a68b45b9596ad33c9e0f690";

/** the byte `k` places from the chunk's start (negative: from the bytes before it), or false */
function byteAt(prev: readonly number[], chunk: Buffer, k: number): number | false {
  if (k >= 0) return chunk[k]!;
  const j = prev.length + k;
  return j >= 0 ? prev[j]! : false;
}

/** the last four of `prev` followed by chunk[0, end) */
function lastFour(prev: readonly number[], chunk: Buffer, end: number): number[] {
  const out: number[] = [];
  for (let k = end - 4; k < end; k++) {
    const b = byteAt(prev, chunk, k);
    if (b !== false) out.push(b);
  }
  return out;
}

/** processChunk with the same results, visiting only the line feeds of the header section */
export const scanHeader: ProcessChunk = async function (this: HeaderScanState, input: Buffer) {
  let chunk = input;
  if (!chunk?.length) return;
  if (this.state === "header") {
    const prev = this.stateBytes;
    const before = this.headerBytes;
    let end = -1;
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) {
      const seen = before + i + 1;
      const b1 = byteAt(prev, chunk, i - 1);
      // RFC 5322 §2.1: an empty line ends the header section (LF LF, CRLF CRLF, or a first line
      // that is empty), exactly the byte-wise test's cases
      if (
        b1 === 0x0a ||
        (b1 === 0x0d && byteAt(prev, chunk, i - 2) === 0x0a) ||
        seen === 1 ||
        (seen === 2 && b1 === 0x0d)
      ) {
        end = i;
        break;
      }
    }
    const scanned = end === -1 ? chunk.length : end + 1;
    this.headerBytes = before + scanned;
    this.stateBytes = lastFour(prev, chunk, scanned);
    if (end !== -1) {
      if (end === chunk.length - 1) {
        await this.emitHeaders(chunk);
        return;
      }
      await this.emitHeaders(chunk.subarray(0, end + 1));
      chunk = chunk.subarray(end + 1);
    }
  }
  if (this.state !== "body") {
    this.headerChunks.push(chunk);
    return;
  }
  await this.nextChunk(chunk);
};

let installed: boolean | null = null;
let original: ProcessChunk | null = null;

function parserPrototype(): { processChunk: ProcessChunk } {
  const { MessageParser } = requireCjs("mailauth/lib/dkim/message-parser.js") as {
    MessageParser: { prototype: { processChunk: ProcessChunk } };
  };
  return MessageParser.prototype;
}

/**
 * Puts scanHeader in place of mailauth's MessageParser.prototype.processChunk (once per
 * process); false when mailauth's method is not the known one and stays.
 */
export function installHeaderScan(): boolean {
  if (installed !== null) return installed;
  const proto = parserPrototype();
  original = proto.processChunk;
  installed = createHash("sha256").update(original.toString()).digest("hex") === KNOWN_SOURCE;
  if (installed) proto.processChunk = scanHeader;
  return installed;
}

/** mailauth's own method, installed or not (the equivalence test runs both) */
export function originalProcessChunk(): ProcessChunk {
  return original ?? parserPrototype().processChunk;
}
