/**
 * Versioned schema migrations. Each migration is a list of statements per dialect; they run in
 * order, once, inside one write transaction at open (BEGIN IMMEDIATE on SQLite), and each applied
 * version is recorded in schema_migrations. Concurrent openers (server workers, the CLI)
 * serialize on the write lock; the loser finds the versions applied and does nothing.
 * Never edit a released migration: add a new one.
 */
import type BetterSqlite3 from "better-sqlite3";

export interface Migration {
  version: number;
  name: string;
  sqlite: string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "initial",
    // AUTOINCREMENT: ids of deleted domains/accounts/mailboxes are never reused, so a session or
    // beacon holding an old mailbox id can never address a newer mailbox
    sqlite: [
      `CREATE TABLE domain (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
      )`,
      `CREATE TABLE account (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        domain_id INTEGER NOT NULL REFERENCES domain(id) ON DELETE CASCADE,
        address TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        quota_bytes INTEGER NOT NULL DEFAULT 0,
        quota_messages INTEGER NOT NULL DEFAULT 0,
        used_bytes INTEGER NOT NULL DEFAULT 0,
        used_messages INTEGER NOT NULL DEFAULT 0,
        settings TEXT NOT NULL DEFAULT '{}',
        credentials_version INTEGER NOT NULL DEFAULT 1,
        modseq INTEGER NOT NULL DEFAULT 1,
        last_uidvalidity INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
      )`,
      `CREATE INDEX account_domain ON account(domain_id)`,
      `CREATE TABLE mailbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        uidvalidity INTEGER NOT NULL,
        uidnext INTEGER NOT NULL DEFAULT 1,
        highestmodseq INTEGER NOT NULL,
        special_use TEXT,
        created_at INTEGER NOT NULL,
        UNIQUE (account_id, name)
      )`,
      `CREATE TABLE subscription (
        account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        PRIMARY KEY (account_id, name)
      )`,
      `CREATE TABLE blob (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        parsed TEXT,
        parsed_version INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
      )`,
      `CREATE TABLE delivery_prefix (
        id INTEGER PRIMARY KEY,
        data BLOB NOT NULL
      )`,
      `CREATE TABLE message (
        mailbox_id INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
        uid INTEGER NOT NULL,
        account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        email_id TEXT NOT NULL,
        thread_id TEXT NOT NULL,
        blob_id INTEGER NOT NULL REFERENCES blob(id),
        prefix_id INTEGER REFERENCES delivery_prefix(id),
        size INTEGER NOT NULL,
        internal_date INTEGER NOT NULL,
        save_date INTEGER NOT NULL,
        flags TEXT NOT NULL DEFAULT '',
        flag_bits INTEGER NOT NULL DEFAULT 0,
        modseq INTEGER NOT NULL,
        PRIMARY KEY (mailbox_id, uid)
      ) WITHOUT ROWID`,
      `CREATE INDEX message_modseq ON message(mailbox_id, modseq)`,
      `CREATE INDEX message_blob ON message(blob_id)`,
      `CREATE INDEX message_prefix ON message(prefix_id) WHERE prefix_id IS NOT NULL`,
      `CREATE INDEX message_email ON message(account_id, email_id)`,
      `CREATE INDEX message_thread ON message(account_id, thread_id)`,
      `CREATE TABLE expunged (
        mailbox_id INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
        uid INTEGER NOT NULL,
        modseq INTEGER NOT NULL,
        PRIMARY KEY (mailbox_id, uid)
      ) WITHOUT ROWID`,
      `CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq)`,
      `CREATE TABLE thread_ref (
        account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        msgid TEXT NOT NULL,
        thread_id TEXT NOT NULL,
        PRIMARY KEY (account_id, msgid)
      ) WITHOUT ROWID`,
      // Full-text index keyed by blob.id (copies share it). trigram = substring MATCH;
      // case_sensitive 0 folds case (Unicode-aware), diacritics are kept.
      `CREATE VIRTUAL TABLE fts USING fts5(headers, body, tokenize = 'trigram case_sensitive 0')`,
    ],
  },
  {
    version: 2,
    name: "smtp: aliases, outbound queue, sending log",
    sqlite: [
      // source is "local@domain" or "@domain" (catch-all); one source may have several targets
      `CREATE TABLE alias (
        source TEXT NOT NULL,
        target TEXT NOT NULL,
        domain_id INTEGER NOT NULL REFERENCES domain(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (source, target)
      ) WITHOUT ROWID`,
      `CREATE INDEX alias_target ON alias(target)`,
      `CREATE INDEX alias_domain ON alias(domain_id)`,
      `CREATE TABLE outbound_queue (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id INTEGER REFERENCES account(id) ON DELETE SET NULL,
        mail_from TEXT NOT NULL,
        recipients TEXT NOT NULL,
        envid TEXT,
        ret TEXT,
        message BLOB NOT NULL,
        size INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'queued',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT,
        created_at INTEGER NOT NULL
      )`,
      `CREATE INDEX outbound_queue_next ON outbound_queue(status, next_attempt_at)`,
      `CREATE TABLE send_log (
        account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        at INTEGER NOT NULL,
        recipients INTEGER NOT NULL
      )`,
      `CREATE INDEX send_log_account ON send_log(account_id, at)`,
    ],
  },
  {
    version: 3,
    name: "outbound: hold flag and delivery lease (per-recipient state lives in recipients JSON)",
    sqlite: [
      `ALTER TABLE outbound_queue ADD COLUMN held INTEGER NOT NULL DEFAULT 0`,
      // a runner claims an entry by writing its owner id and a lease end in one write transaction;
      // an expired lease (crashed runner) makes the entry claimable again
      `ALTER TABLE outbound_queue ADD COLUMN lease_owner TEXT`,
      `ALTER TABLE outbound_queue ADD COLUMN lease_until INTEGER`,
    ],
  },
  {
    version: 4,
    name: "store performance: background blob GC, CRLF size per message, contentless FTS index",
    sqlite: [
      // a blob whose last message row went away; the background sweeper re-checks and deletes it
      `ALTER TABLE blob ADD COLUMN gc_pending INTEGER NOT NULL DEFAULT 0`,
      `CREATE INDEX blob_gc_pending ON blob(id) WHERE gc_pending <> 0`,
      // unreferenced blobs left by the old synchronous GC (crash between commit and GC)
      `UPDATE blob SET gc_pending = 1 WHERE NOT EXISTS (SELECT 1 FROM message WHERE blob_id = blob.id)`,
      // octets in CRLF form, delivery prefix included (POP3 LIST/STAT); NULL = unknown (older rows)
      `ALTER TABLE message ADD COLUMN crlf_size INTEGER`,
      // FTS: the text moves to a plain table; the trigram index becomes contentless with
      // contentless_delete (SQLite 3.43+), so deleting a blob's entry no longer re-tokenizes it
      `CREATE TABLE fts_text (id INTEGER PRIMARY KEY, headers TEXT NOT NULL, body TEXT NOT NULL)`,
      `INSERT INTO fts_text (id, headers, body) SELECT rowid, COALESCE(headers, ''), COALESCE(body, '') FROM fts`,
      `DROP TABLE fts`,
      `CREATE VIRTUAL TABLE fts USING fts5(headers, body, content = '', contentless_delete = 1, tokenize = 'trigram case_sensitive 0')`,
      `INSERT INTO fts (rowid, headers, body) SELECT id, headers, body FROM fts_text`,
      // blobs whose text is in fts_text but not yet in the trigram index: APPEND commits without
      // the index write, a background indexer adds them in batches; searches scan these rows
      `CREATE TABLE fts_pending (id INTEGER PRIMARY KEY)`,
    ],
  },
  {
    version: 5,
    name: "IMAP \\Recent: first uid not yet claimed by a read-write session (RFC 3501 §2.3.2)",
    sqlite: [
      // messages at or above first_recent_uid are \Recent for the next session that claims them;
      // existing mail counts as already seen by some session
      `ALTER TABLE mailbox ADD COLUMN first_recent_uid INTEGER NOT NULL DEFAULT 1`,
      `UPDATE mailbox SET first_recent_uid = uidnext`,
    ],
  },
  {
    version: 6,
    name: "account change log (JMAP /changes), pruning floors for the change and expunge logs",
    sqlite: [
      // one row per object changed by a transaction: kind 1 = email, 2 = mailbox, 3 = thread;
      // change 0 = created, 1 = updated, 2 = destroyed (net effect of that transaction); at = ms.
      // "what changed since state S" is one range scan of the primary key (RFC 8620 §5.2)
      `CREATE TABLE change_log (
        account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        kind INTEGER NOT NULL,
        modseq INTEGER NOT NULL,
        obj_id TEXT NOT NULL,
        change INTEGER NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (account_id, kind, modseq, obj_id)
      ) WITHOUT ROWID`,
      // lowest state still answerable: changes at or below it may have been pruned. Nothing was
      // recorded before this migration, so existing accounts start at their current modseq
      `ALTER TABLE account ADD COLUMN change_floor INTEGER NOT NULL DEFAULT 0`,
      `UPDATE account SET change_floor = modseq`,
      // the expunge log is complete for modseqs above this (rows at or below may be pruned)
      `ALTER TABLE mailbox ADD COLUMN expunge_floor INTEGER NOT NULL DEFAULT 0`,
    ],
  },
  // ---- keys port (issue 10) -------------------------------------------------------------------
  {
    version: 7,
    name: "shared secrets kept in the store (keys port: DKIM keys)",
    sqlite: [
      // (kind, name) e.g. ("dkim", "example.org/pk202611e"); secret: the key as bytes (PEM text)
      `CREATE TABLE secret_key (
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        secret BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (kind, name)
      ) WITHOUT ROWID`,
    ],
  },
  // ---- IMAP METADATA (RFC 5464) ---------------------------------------------------------------
  {
    version: 8,
    name: "IMAP METADATA entries (mailbox_id NULL = server entries)",
    sqlite: [
      // name lower-cased (RFC 5464 §3.2); by mailbox id, so RENAME keeps them and DELETE drops them
      `CREATE TABLE metadata (
        account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        mailbox_id INTEGER REFERENCES mailbox(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        value BLOB NOT NULL
      )`,
      `CREATE UNIQUE INDEX metadata_key ON metadata (account_id, IFNULL(mailbox_id, 0), name)`,
      `CREATE INDEX metadata_mailbox ON metadata (mailbox_id)`,
    ],
  },
  // ---- IMAP ACL (RFC 4314) --------------------------------------------------------------------
  {
    version: 9,
    name: "mailbox access control lists (grantee_id NULL = anyone)",
    sqlite: [
      // rights: the canonical RFC 4314 letters; the owner is never a row (it has every right).
      // Deleting the mailbox or the grantee account removes the rows.
      `CREATE TABLE acl (
        mailbox_id INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
        owner_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        grantee_id INTEGER REFERENCES account(id) ON DELETE CASCADE,
        rights TEXT NOT NULL
      )`,
      `CREATE UNIQUE INDEX acl_key ON acl (mailbox_id, IFNULL(grantee_id, 0))`,
      `CREATE INDEX acl_grantee ON acl (grantee_id)`,
    ],
  },
  {
    version: 10,
    name: "app passwords",
    sqlite: [
      // named per-account passwords (postkontor user app-password); hash = hex SHA-256 of the
      // generated secret; last use recorded at most once a minute
      `CREATE TABLE app_password (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER,
        last_used_by TEXT
      )`,
      `CREATE UNIQUE INDEX app_password_name ON app_password (account_id, name)`,
      `CREATE INDEX app_password_hash ON app_password (account_id, hash)`,
    ],
  },
  // ---- import ledger (postkontor import) -------------------------------------------------------
  {
    version: 11,
    name: "import ledger: one row per message imported from a source, written with its append",
    sqlite: [
      // item_key: target folder + content hash (src/import/ledger.ts); the row is inserted in the
      // transaction of the append, so an interrupted import resumes without duplicates
      `CREATE TABLE import_ledger (
        account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        source TEXT NOT NULL,
        item_key TEXT NOT NULL,
        mailbox_id INTEGER NOT NULL,
        uid INTEGER NOT NULL,
        imported_at INTEGER NOT NULL,
        PRIMARY KEY (account_id, source, item_key)
      ) WITHOUT ROWID`,
    ],
  },
  // ---- THREAD / SORT inputs (RFC 5256) --------------------------------------------------------
  {
    version: 15,
    name: "thread_input: a blob's RFC 5256 threading inputs, written with the append",
    sqlite: [
      // keyed by blob (copies share it; the row goes with the blob). message_id: the Message-ID's
      // msg-id; refs: the References msg-ids (else the first of In-Reply-To), space-separated,
      // oldest first; subject: the §2.1 base subject (i;ascii-casemap); sent_date: the Date
      // header in ms, NULL when absent or invalid (the internal date stands in). Older blobs get
      // their row on the first THREAD/SORT that needs it (domain/thread-inputs.ts).
      `CREATE TABLE thread_input (
        blob_id INTEGER PRIMARY KEY REFERENCES blob(id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        message_id TEXT,
        refs TEXT NOT NULL,
        subject TEXT NOT NULL,
        reply INTEGER NOT NULL,
        sent_date INTEGER
      )`,
    ],
  },
];

/** Applies pending migrations in one BEGIN IMMEDIATE transaction; returns versions applied now. */
export function migrateSqlite(
  db: BetterSqlite3.Database,
  migrations: readonly Migration[] = MIGRATIONS,
): number[] {
  const applied: number[] = [];
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at INTEGER NOT NULL
    )`);
    const done = new Set(
      (db.prepare("SELECT version FROM schema_migrations").raw().all() as unknown[][]).map((r) =>
        Number(r[0]),
      ),
    );
    const sorted = [...migrations].sort((a, b) => a.version - b.version);
    const insert = db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
    for (const m of sorted) {
      if (done.has(m.version)) continue;
      for (const stmt of m.sqlite) db.exec(stmt);
      insert.run(m.version, m.name, Date.now());
      applied.push(m.version);
    }
    db.exec("COMMIT");
  } catch (err) {
    if (db.inTransaction) db.exec("ROLLBACK");
    throw err;
  }
  return applied;
}
