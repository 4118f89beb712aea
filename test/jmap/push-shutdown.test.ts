/** At shutdown (the HTTP service's closeAll) an open EventSource stream ends and its connection closes. */
import assert from "node:assert/strict";
import http from "node:http";
import { test } from "node:test";
import { within } from "../kit/temp.ts";
import { startJmap } from "./helpers.ts";

test("closeAll ends EventSource streams", async () => {
  const t = await startJmap();
  try {
    const url = new URL(`${t.base}/jmap/eventsource?types=*&closeafter=no&ping=0`);
    let text = "";
    const closed = new Promise<void>((resolve, reject) => {
      const req = http.get(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          headers: { authorization: t.auth() },
        },
        (res) => {
          res.setEncoding("utf8");
          res.on("data", (d: string) => (text += d));
          res.on("end", () => resolve());
        },
      );
      req.on("error", reject);
    });
    while (!text.includes(": subscribed")) await new Promise((r) => setTimeout(r, 10));
    await t.http.closeAll("shutdown");
    await within(closed, 5000, "the event stream ends at shutdown");
    assert.ok(text.includes(": subscribed"));
  } finally {
    await t.close();
  }
});
