/**
 * FETCH BODY[] (and RFC822) of a 50 MB message streams it from the store as one literal with
 * backpressure: the server process never holds the message in memory. The client is a raw socket
 * that hashes the literal and keeps nothing.
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

test("FETCH BODY.PEEK[] and RFC822 of a 50 MB message: bounded memory, byte-exact literal", async () => {
  const t = await startServer();
  try {
    const inbox = (await t.store.getMailbox(t.accountId, "INBOX"))!.id;
    const big = await appendLarge(t.store, t.accountId, inbox, SIZE);
    for (const att of ["BODY.PEEK[]", "RFC822"]) {
      let got = { head: "", sha256: "", after: "" };
      const growth = await peakGrowth(async () => {
        got = await fetchLiteral(t.port, `FETCH ${big.uid} ${att}`);
      });
      const name = att === "RFC822" ? "RFC822" : "BODY\\[\\]";
      assert.match(got.head, new RegExp(`^\\* 1 FETCH \\(${name} \\{${big.size}\\}$`));
      assert.equal(got.sha256, big.sha256);
      // RFC822 sets \Seen (RFC 9051 §6.4.5): the new flags follow the literal
      assert.match(got.after, /^( FLAGS \([^)]*\))?\)\r\n/);
      assert.ok(growth < MAX_GROWTH, `${att}: memory grew by ${(growth / 1048576).toFixed(1)} MiB`);
    }
  } finally {
    await t.close();
  }
});

/** LOGIN, SELECT INBOX, the command; hashes the literal of the first FETCH response */
function fetchLiteral(
  port: number,
  command: string,
): Promise<{ head: string; sha256: string; after: string }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    const hash = createHash("sha256");
    let text = "";
    let head = "";
    let left = -1; // literal octets still to come; -1 = not in the literal yet
    let after = "";
    let done = false;
    sock.on("error", reject);
    sock.write(`a LOGIN ${USER} "${PASS}"\r\nb SELECT INBOX\r\nc ${command}\r\n`);
    const onText = () => {
      // bounded: each iteration consumes one line
      for (let nl = text.indexOf("\r\n"); nl >= 0 && left < 0; nl = text.indexOf("\r\n")) {
        const line = text.slice(0, nl);
        text = text.slice(nl + 2);
        if (/^[ab] (NO|BAD)/.test(line)) return reject(new Error(line));
        const m = /^\* \d+ FETCH .*\{(\d+)\}$/.exec(line);
        if (m) {
          head = line;
          left = Number(m[1]);
          const rest = Buffer.from(text, "latin1");
          text = "";
          onBody(rest);
        }
      }
    };
    const onBody = (d: Buffer) => {
      const take = Math.min(left, d.length);
      hash.update(d.subarray(0, take));
      left -= take;
      if (take < d.length) after += d.subarray(take).toString("latin1");
      if (left === 0 && after.includes("c OK")) {
        done = true;
        sock.end("d LOGOUT\r\n");
        resolve({ head, sha256: hash.digest("hex"), after });
      }
    };
    sock.on("data", (d: Buffer) => {
      if (done) return;
      if (left >= 0) return onBody(d);
      text += d.toString("latin1");
      onText();
    });
  });
}
