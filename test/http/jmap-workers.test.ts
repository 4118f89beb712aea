/**
 * JMAP over `serve` with two worker processes: an upload made on one worker is downloaded from the
 * other (uploads live in the store), and an IMAP STORE on one worker reaches an EventSource client
 * connected to the other as a StateChange.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import { deliver, imapClient, message, servingPid, within } from "../e2e/helpers.ts";
import { type HttpE2E, PASS_A, request, startHttpE2E, USER_A } from "./helpers.ts";

const AUTH = `Basic ${Buffer.from(`${USER_A}:${PASS_A}`).toString("base64")}`;

/** the pid of the worker that logged the access line for this exact path */
async function pidOf(e: HttpE2E, path: string): Promise<number> {
  const l = await e.server.waitForLog((l) => l.msg === "http request" && l.path === path, 10_000);
  assert.ok(Number.isInteger(l.pid), `no pid in ${JSON.stringify(l)}`);
  return Number(l.pid);
}

describe("JMAP with two worker processes", () => {
  let e: HttpE2E;
  let accountId = "";
  before(async () => {
    e = await startHttpE2E({ workers: 2 });
    await deliver(e, USER_A, Buffer.from(message("to flag", "body\r\n")));
    const s = await request(e.httpPort, { path: "/.well-known/jmap", headers: { authorization: AUTH } });
    assert.equal(s.status, 200, s.body);
    accountId = JSON.parse(s.body).primaryAccounts["urn:ietf:params:jmap:mail"];
  });
  after(async () => {
    await e?.close();
  });

  it("downloads an upload from either worker", async () => {
    const data = "uploaded once, read anywhere\r\n";
    const up = await request(e.httpPort, {
      method: "POST",
      path: `/jmap/upload/${accountId}/`,
      headers: { authorization: AUTH, "content-type": "text/plain" },
      body: data,
    });
    assert.equal(up.status, 201, up.body);
    const { blobId } = JSON.parse(up.body);
    const uploader = await pidOf(e, `/jmap/upload/${accountId}/`);
    const pids = new Set<number>();
    for (let i = 0; i < 20 && !(pids.size > 0 && [...pids].some((p) => p !== uploader)); i++) {
      const path = `/jmap/download/${accountId}/${blobId}/n${i}.txt`;
      const r = await request(e.httpPort, { path, headers: { authorization: AUTH } });
      assert.equal(r.status, 200, r.body);
      assert.equal(r.body, data);
      pids.add(await pidOf(e, path));
    }
    assert.ok(
      [...pids].some((p) => p !== uploader),
      "a download was served by the worker that did not take the upload",
    );
  });

  it("pushes an IMAP STORE on one worker to an EventSource on the other", async () => {
    const esPath = `/jmap/eventsource?types=*&closeafter=no&ping=0`;
    let received = "";
    let gotState: () => void = () => {};
    const state = new Promise<void>((r) => (gotState = r));
    const req = http.get(
      { host: "127.0.0.1", port: e.httpPort, path: esPath, headers: { authorization: AUTH }, agent: false },
      (res) => {
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          received += d;
          if (received.includes("event: state")) gotState();
        });
      },
    );
    req.on("error", () => {});
    try {
      const esPid = await pidOf(e, "/jmap/eventsource");
      await within(
        new Promise<void>((r) => {
          const t = setInterval(() => {
            if (received.includes(": subscribed")) {
              clearInterval(t);
              r();
            }
          }, 20);
        }),
        10_000,
        "the event stream starts",
      );
      // an IMAP client on the other worker (connections are spread over the workers)
      let flagged = false;
      for (let i = 0; i < 20 && !flagged; i++) {
        const { client, name } = imapClient(e);
        await client.connect();
        const pid = await servingPid(e, name);
        if (pid !== esPid) {
          await client.mailboxOpen("INBOX");
          await client.messageFlagsAdd("1:*", ["\\Flagged"]);
          flagged = true;
        }
        await client.logout();
      }
      assert.ok(flagged, "an IMAP connection reached the other worker");
      await within(state, 10_000, "a StateChange on the event stream");
      const data = received.slice(received.indexOf("event: state"));
      const json = JSON.parse(
        data.slice(data.indexOf("data: ") + 6, data.indexOf("\n", data.indexOf("data: "))),
      );
      assert.equal(json["@type"], "StateChange");
      assert.ok(json.changed[accountId].Email, JSON.stringify(json));
    } finally {
      req.destroy();
    }
  });
});
