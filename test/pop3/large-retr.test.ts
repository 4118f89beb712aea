/**
 * POP3 RETR of a 50 MB message streams it from the store (prefix, then the blob in chunks) with
 * backpressure: the server process never holds the message in memory. The client here is a raw
 * socket that hashes what it receives and keeps nothing.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import net from "node:net";
import { test } from "node:test";
import { appendLarge, peakGrowth } from "../../src/store/testing/large.ts";
import { PASS, startServer, USER } from "./helpers.ts";

const SIZE = 50_000_000;
/** generous: the message is 50 MB; streaming holds a few chunks of 256 KB */
const MAX_GROWTH = 25 * 1024 * 1024;

test("RETR of a 50 MB message is served with bounded memory and byte-exact", async () => {
  const t = await startServer();
  try {
    const big = await appendLarge(t.store, t.accountId, t.inboxId, SIZE);
    let got = { status: "", sha256: "", tail: "" };
    const growth = await peakGrowth(async () => {
      got = await retr(t.port, big.size);
    });
    assert.equal(got.status, `+OK ${big.size} octets`);
    // CRLF-only, no line starting with ".": the content as stored, then the terminator
    assert.equal(got.sha256, big.sha256);
    assert.equal(got.tail, ".\r\n");
    assert.ok(growth < MAX_GROWTH, `memory grew by ${(growth / 1048576).toFixed(1)} MiB while streaming`);
  } finally {
    await t.close();
  }
});

/** logs in, RETR 1; hashes the first `size` octets of the body, returns the rest (the terminator) */
function retr(port: number, size: number): Promise<{ status: string; sha256: string; tail: string }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    const hash = createHash("sha256");
    let text = "";
    let phase: "login" | "status" | "body" = "login";
    let oks = 0;
    let status = "";
    let hashed = 0;
    let tail = Buffer.alloc(0);
    sock.on("error", reject);
    let done = false;
    sock.on("data", (d: Buffer) => {
      if (done) return;
      if (phase === "body") {
        const take = Math.min(size - hashed, d.length);
        hash.update(d.subarray(0, take));
        hashed += take;
        tail = Buffer.concat([tail, d.subarray(take)]);
      } else {
        text += d.toString("latin1");
        // bounded: each iteration consumes one line
        for (let nl = text.indexOf("\r\n"); nl >= 0 && phase !== "body"; nl = text.indexOf("\r\n")) {
          const line = text.slice(0, nl);
          text = text.slice(nl + 2);
          if (phase === "login") {
            if (!line.startsWith("+OK")) return reject(new Error(line));
            oks++;
            if (oks === 1) sock.write(`USER ${USER}\r\n`);
            else if (oks === 2) sock.write(`PASS ${PASS}\r\n`);
            else {
              phase = "status";
              sock.write("RETR 1\r\n");
            }
          } else {
            status = line;
            phase = "body";
            const rest = Buffer.from(text, "latin1");
            text = "";
            const take = Math.min(size, rest.length);
            hash.update(rest.subarray(0, take));
            hashed = take;
            tail = rest.subarray(take);
          }
        }
      }
      if (phase === "body" && hashed === size && tail.length >= 3) {
        done = true;
        sock.end("QUIT\r\n");
        resolve({ status, sha256: hash.digest("hex"), tail: tail.toString("latin1") });
      }
    });
  });
}
