/**
 * SELECT and flag SEARCH answered from a worker's message-state cache (store/domain/state-cache.ts)
 * with a real `serve` of 2 workers: a session selects INBOX (its worker caches the states), a
 * connection that the logged pids show landed on the OTHER worker changes flags, expunges and
 * appends, and the first session's next SELECT / SEARCH / FETCH FLAGS show exactly that.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ImapClient } from "../kit/imap-client.ts";
import { listeningPort, run, type Server, startServe, tempEnv } from "./helpers.ts";

const USER = "alice@example.com";

describe("serve with 2 workers: SELECT and SEARCH see changes made in the other worker process", () => {
  let server: Server;
  let imap: number;
  const clients: ImapClient[] = [];
  before(async () => {
    const env = tempEnv(
      `[server]\nworkers = 2\n[imap]\nlisten = ["127.0.0.1:0"]\nlisten_tls = []\n[log]\nlevel = "info"\n`,
    );
    const c = ["--config", env.config];
    assert.equal((await run(["domain", "add", "example.com", ...c])).code, 0);
    assert.equal((await run(["user", "add", USER, ...c], { input: "pw1\n" })).code, 0);
    server = startServe(c);
    imap = await listeningPort(server, "imap");
    await server.waitForLog((l) => l.msg === "postkontor started");
  });
  after(async () => {
    for (const c of clients) c.destroy();
    assert.equal(await server.stop(), 0, server.stderr());
  });

  async function login(): Promise<{ c: ImapClient; pid: string }> {
    const before = server.logs.filter((l) => l.msg === "imap login").length;
    const c = await ImapClient.connect(imap);
    clients.push(c);
    const r = await c.cmd(`LOGIN ${USER} pw1`, 20_000);
    assert.ok(r.ok, r.text);
    const l = await server.waitForLog(
      (l) => l.msg === "imap login" && server.logs.filter((x) => x.msg === "imap login").indexOf(l) >= before,
    );
    return { c, pid: /^imap-(\d+)-/.exec(String(l.session))![1]! };
  }

  async function lines(c: ImapClient, command: string): Promise<string[]> {
    const r = await c.cmd(command, 20_000);
    assert.ok(r.ok, r.text);
    return r.lines;
  }

  it("flags, expunges and appends by the other worker show in the next SELECT and SEARCH", async () => {
    const watcher = await login();
    let changer: { c: ImapClient; pid: string } | null = null;
    for (let i = 0; i < 20 && !changer; i++) {
      const x = await login();
      if (x.pid !== watcher.pid) changer = x;
    }
    assert.ok(changer, "a connection on the other worker");
    const w = watcher.c;
    for (const b of ["one", "two", "three"])
      assert.ok((await w.append("INBOX", `Subject: ${b}\r\n\r\n${b}\r\n`)).ok);
    let sel = await lines(w, "SELECT INBOX");
    assert.ok(sel.includes("* 3 EXISTS"), sel.join("\n"));
    assert.ok(sel.includes("* OK [UNSEEN 1] First unseen"), sel.join("\n"));
    assert.deepEqual(await lines(w, "SEARCH UNSEEN"), ["* SEARCH 1 2 3"]);
    assert.ok((await w.cmd("UNSELECT")).ok);

    const ch = changer.c;
    assert.ok((await ch.cmd("SELECT INBOX")).ok);
    assert.ok((await ch.cmd("STORE 1 +FLAGS (\\Seen $Hot)")).ok);
    assert.ok((await ch.cmd("STORE 2 +FLAGS (\\Deleted)")).ok);
    assert.ok((await ch.cmd("EXPUNGE")).ok);
    assert.ok((await ch.append("INBOX", "Subject: four\r\n\r\nfour\r\n", "\\Flagged")).ok);
    assert.ok((await ch.cmd("UNSELECT")).ok);

    // uids now 1 (\Seen $Hot), 3, 4 (\Flagged)
    sel = await lines(w, "SELECT INBOX");
    assert.ok(sel.includes("* 3 EXISTS"), sel.join("\n"));
    assert.ok(sel.includes("* OK [UNSEEN 2] First unseen"), sel.join("\n"));
    assert.ok(
      sel.some((l) => l.startsWith("* FLAGS (") && l.includes("$Hot")),
      sel.join("\n"),
    );
    assert.deepEqual(await lines(w, "UID SEARCH UNSEEN"), ["* SEARCH 3 4"]);
    assert.deepEqual(await lines(w, "SEARCH KEYWORD $hot"), ["* SEARCH 1"]);
    assert.deepEqual(await lines(w, "UID SEARCH FLAGGED"), ["* SEARCH 4"]);
    assert.deepEqual(await lines(w, "UID FETCH 1:* (UID FLAGS)"), [
      "* 1 FETCH (UID 1 FLAGS (\\Seen $Hot))",
      "* 2 FETCH (UID 3 FLAGS ())",
      "* 3 FETCH (UID 4 FLAGS (\\Flagged))",
    ]);
  });
});
