/** RFC 8620 §3.6.1 limit maxConcurrentRequests: a request over the limit is refused while another runs. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Store } from "../../src/store/types.ts";
import { type JmapServer, startJmap, USING } from "./helpers.ts";

describe("JMAP concurrent request limit", () => {
  let t: JmapServer;
  /** while set, the next currentState call of the JMAP app signals `entered` and waits for `gate` */
  let hold: { entered: () => void; gate: Promise<void> } | null = null;
  before(async () => {
    const wrap = (s: Store): Store =>
      new Proxy(s, {
        get(target, key) {
          const v = Reflect.get(target, key, target);
          if (typeof v !== "function") return v;
          if (key !== "currentState") return v.bind(target);
          return async (id: number) => {
            const h = hold;
            hold = null;
            if (h) {
              h.entered();
              await h.gate;
            }
            return target.currentState(id);
          };
        },
      });
    t = await startJmap({ max_concurrent_requests: 1 }, wrap);
  });
  after(() => t.close());

  it("second request while the first runs: limit maxConcurrentRequests; afterwards fine again", async () => {
    let entered!: () => void;
    let release!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    hold = { entered, gate: new Promise<void>((r) => (release = r)) };
    const first = t.call([["Mailbox/get", { accountId: t.accountId }, "a"]]);
    await inside; // the first request is running (inside a store call)
    const second = await t.api({ using: USING, methodCalls: [["Core/echo", {}, "b"]] });
    assert.equal(second.status, 400);
    assert.equal(second.json.type, "urn:ietf:params:jmap:error:limit");
    assert.equal(second.json.limit, "maxConcurrentRequests");
    release();
    const [[name]] = await first;
    assert.equal(name, "Mailbox/get");
    const third = await t.api({ using: USING, methodCalls: [["Core/echo", {}, "c"]] });
    assert.equal(third.status, 200);
  });
});
