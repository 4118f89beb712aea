// `serve` with [store] backend = "postgres" on a fresh database: admin commands refuse to run
// before the schema exists, serve creates it, and mail appended over IMAP is in PostgreSQL.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { ImapClient } from "../kit/imap-client.ts";
import { type PgCluster, postgresAvailable, startPostgres } from "../kit/postgres.ts";
import { runCli } from "../kit/process.ts";
import { listeningPort, type Server, startServe, writeServeConfig } from "../kit/serve.ts";
import { tempDir } from "../kit/temp.ts";

describe("serve on PostgreSQL", { skip: !postgresAvailable() && "PostgreSQL binaries missing" }, () => {
  let cluster: PgCluster;
  let server: Server | null = null;
  const t = tempDir("pk-pg-serve-");
  before(async () => {
    cluster = await startPostgres();
  });
  after(async () => {
    await server?.stop();
    await cluster?.stop();
    t.cleanup();
  });

  it("creates the schema on a fresh database and serves IMAP from it", async () => {
    const url = await cluster.createDatabase();
    const config = writeServeConfig(t.dir, {
      pop3: false,
      http: false,
      extraToml: `[store]\nbackend = "postgres"\nurl = ${JSON.stringify(url)}\npool_size = 4\n`,
    });
    const c = ["--config", config];
    const early = await runCli(["domain", "add", "example.com", ...c]);
    assert.notEqual(early.code, 0, "no store yet: admin commands do not create one");
    assert.match(early.stderr, /serve/);

    server = startServe(["--config", config]);
    const port = await listeningPort(server, "imap");
    assert.equal((await runCli(["domain", "add", "example.com", ...c])).code, 0);
    const add = await runCli(["user", "add", "alice@example.com", ...c], { input: "pw one\n" });
    assert.equal(add.code, 0, add.stderr);

    const imap = await ImapClient.connect(port);
    try {
      assert.ok((await imap.cmd('LOGIN alice@example.com "pw one"')).ok);
      const body = "From: a@example.com\r\nSubject: pg\r\n\r\nstored in PostgreSQL\r\n";
      const a = await imap.append("INBOX", body, "\\Flagged");
      assert.match(a.tagged, /OK \[APPENDUID \d+ 1\]/);
      const s = await imap.cmd("SELECT INBOX");
      assert.ok(s.lines.includes("* 1 EXISTS"), s.text);
      const f = await imap.cmd("FETCH 1 (FLAGS BODY.PEEK[])");
      assert.ok(f.ok, f.text);
      assert.match(f.lines[0]!, /stored in PostgreSQL/);
      assert.match(f.lines[0]!, /\\Flagged/);
    } finally {
      imap.destroy();
    }

    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const r = await db.query(
        "SELECT a.address, COUNT(m.uid)::int AS n FROM account a JOIN message m ON m.account_id = a.id GROUP BY a.address",
      );
      assert.deepEqual(r.rows, [{ address: "alice@example.com", n: 1 }]);
    } finally {
      await db.end();
    }
  });
});
