/**
 * Versioned schema migrations, one list for both dialects: each version has its statements for
 * SQLite (db/sqlite/migrations.ts applies them) and for PostgreSQL (db/postgres/migrate.ts). They
 * run in order, once, in one transaction, and each applied version is recorded in
 * schema_migrations. Never edit a released migration: add a new one (both arrays).
 *
 * PostgreSQL differences: ids are BIGINT identities (never reused, like AUTOINCREMENT), modseqs
 * BIGINT, bytes BYTEA, booleans BOOLEAN; text compared or ordered byte-wise (names, ids of the
 * change log, hashes) is COLLATE "C" so that orders match SQLite's BINARY; the unique indexes over
 * nullable keys use COALESCE where SQLite uses IFNULL; the search tables (SQLite FTS5) belong to
 * the search port's adapter and are not here. Data fix-ups of SQLite upgrades (versions 4–6) have
 * no PostgreSQL counterpart: a PostgreSQL schema is always created from version 1 on.
 */

import { PG_EDGE_DDL } from "../pg/edge-schema.ts";

export interface Migration {
  version: number;
  name: string;
  sqlite: string[];
  /** the same schema in PostgreSQL (BIGINT ids and modseqs, BYTEA, COLLATE "C" where compared byte-wise) */
  postgres: string[];
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
    postgres: [
      // BIGINT identities (never reused, as AUTOINCREMENT); modseqs BIGINT (RFC 7162: 63-bit);
      // names compared byte-wise (INBOX first, then by name; prefix scans) use COLLATE "C"
      `CREATE TABLE domain (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        name TEXT COLLATE "C" NOT NULL UNIQUE,
        created_at BIGINT NOT NULL
      )`,
      `CREATE TABLE account (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        domain_id BIGINT NOT NULL REFERENCES domain(id) ON DELETE CASCADE,
        address TEXT COLLATE "C" NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        quota_bytes BIGINT NOT NULL DEFAULT 0,
        quota_messages BIGINT NOT NULL DEFAULT 0,
        used_bytes BIGINT NOT NULL DEFAULT 0,
        used_messages BIGINT NOT NULL DEFAULT 0,
        settings TEXT NOT NULL DEFAULT '{}',
        credentials_version BIGINT NOT NULL DEFAULT 1,
        modseq BIGINT NOT NULL DEFAULT 1,
        last_uidvalidity BIGINT NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL
      )`,
      `CREATE INDEX account_domain ON account(domain_id)`,
      `CREATE TABLE mailbox (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        account_id BIGINT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        name TEXT COLLATE "C" NOT NULL,
        uidvalidity BIGINT NOT NULL,
        uidnext BIGINT NOT NULL DEFAULT 1,
        highestmodseq BIGINT NOT NULL,
        special_use TEXT,
        created_at BIGINT NOT NULL,
        UNIQUE (account_id, name)
      )`,
      `CREATE TABLE subscription (
        account_id BIGINT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        name TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (account_id, name)
      )`,
      `CREATE TABLE blob (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        sha256 TEXT COLLATE "C" NOT NULL UNIQUE,
        size BIGINT NOT NULL,
        parsed TEXT,
        parsed_version INTEGER NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL
      )`,
      `CREATE TABLE delivery_prefix (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        data BYTEA NOT NULL
      )`,
      `CREATE TABLE message (
        mailbox_id BIGINT NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
        uid BIGINT NOT NULL,
        account_id BIGINT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        email_id TEXT COLLATE "C" NOT NULL,
        thread_id TEXT COLLATE "C" NOT NULL,
        blob_id BIGINT NOT NULL REFERENCES blob(id),
        prefix_id BIGINT REFERENCES delivery_prefix(id),
        size BIGINT NOT NULL,
        internal_date BIGINT NOT NULL,
        save_date BIGINT NOT NULL,
        flags TEXT NOT NULL DEFAULT '',
        flag_bits INTEGER NOT NULL DEFAULT 0,
        modseq BIGINT NOT NULL,
        PRIMARY KEY (mailbox_id, uid)
      )`,
      `CREATE INDEX message_modseq ON message(mailbox_id, modseq)`,
      `CREATE INDEX message_blob ON message(blob_id)`,
      `CREATE INDEX message_prefix ON message(prefix_id) WHERE prefix_id IS NOT NULL`,
      `CREATE INDEX message_email ON message(account_id, email_id)`,
      `CREATE INDEX message_thread ON message(account_id, thread_id)`,
      `CREATE TABLE expunged (
        mailbox_id BIGINT NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
        uid BIGINT NOT NULL,
        modseq BIGINT NOT NULL,
        PRIMARY KEY (mailbox_id, uid)
      )`,
      `CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq)`,
      `CREATE TABLE thread_ref (
        account_id BIGINT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        msgid TEXT COLLATE "C" NOT NULL,
        thread_id TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (account_id, msgid)
      )`,
      // no FTS table: the search port's PostgreSQL adapter owns its own tables
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
    postgres: [
      `CREATE TABLE alias (
        source TEXT COLLATE "C" NOT NULL,
        target TEXT COLLATE "C" NOT NULL,
        domain_id BIGINT NOT NULL REFERENCES domain(id) ON DELETE CASCADE,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (source, target)
      )`,
      `CREATE INDEX alias_target ON alias(target)`,
      `CREATE INDEX alias_domain ON alias(domain_id)`,
      `CREATE TABLE outbound_queue (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        account_id BIGINT REFERENCES account(id) ON DELETE SET NULL,
        mail_from TEXT NOT NULL,
        recipients TEXT NOT NULL,
        envid TEXT,
        ret TEXT,
        message BYTEA NOT NULL,
        size BIGINT NOT NULL,
        status TEXT NOT NULL DEFAULT 'queued',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at BIGINT NOT NULL,
        last_error TEXT,
        created_at BIGINT NOT NULL
      )`,
      `CREATE INDEX outbound_queue_next ON outbound_queue(status, next_attempt_at)`,
      `CREATE TABLE send_log (
        account_id BIGINT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        at BIGINT NOT NULL,
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
    postgres: [
      `ALTER TABLE outbound_queue ADD COLUMN held BOOLEAN NOT NULL DEFAULT false`,
      `ALTER TABLE outbound_queue ADD COLUMN lease_owner TEXT`,
      `ALTER TABLE outbound_queue ADD COLUMN lease_until BIGINT`,
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
    postgres: [
      `ALTER TABLE blob ADD COLUMN gc_pending BOOLEAN NOT NULL DEFAULT false`,
      `CREATE INDEX blob_gc_pending ON blob(id) WHERE gc_pending`,
      `ALTER TABLE message ADD COLUMN crlf_size BIGINT`,
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
    postgres: [`ALTER TABLE mailbox ADD COLUMN first_recent_uid BIGINT NOT NULL DEFAULT 1`],
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
    postgres: [
      // obj_id COLLATE "C": the (modseq, obj_id) order that paging depends on is byte order, as in SQLite
      `CREATE TABLE change_log (
        account_id BIGINT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        kind SMALLINT NOT NULL,
        modseq BIGINT NOT NULL,
        obj_id TEXT COLLATE "C" NOT NULL,
        change SMALLINT NOT NULL,
        at BIGINT NOT NULL,
        PRIMARY KEY (account_id, kind, modseq, obj_id)
      )`,
      `ALTER TABLE account ADD COLUMN change_floor BIGINT NOT NULL DEFAULT 0`,
      `ALTER TABLE mailbox ADD COLUMN expunge_floor BIGINT NOT NULL DEFAULT 0`,
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
    postgres: [
      `CREATE TABLE secret_key (
        kind TEXT COLLATE "C" NOT NULL,
        name TEXT COLLATE "C" NOT NULL,
        secret BYTEA NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (kind, name)
      )`,
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
    postgres: [
      `CREATE TABLE metadata (
        account_id BIGINT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        mailbox_id BIGINT REFERENCES mailbox(id) ON DELETE CASCADE,
        name TEXT COLLATE "C" NOT NULL,
        value BYTEA NOT NULL
      )`,
      `CREATE UNIQUE INDEX metadata_key ON metadata (account_id, COALESCE(mailbox_id, 0), name)`,
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
    postgres: [
      `CREATE TABLE acl (
        mailbox_id BIGINT NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
        owner_id BIGINT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        grantee_id BIGINT REFERENCES account(id) ON DELETE CASCADE,
        rights TEXT NOT NULL
      )`,
      `CREATE UNIQUE INDEX acl_key ON acl (mailbox_id, COALESCE(grantee_id, 0))`,
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
    postgres: [
      `CREATE TABLE app_password (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        account_id BIGINT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        name TEXT COLLATE "C" NOT NULL,
        hash TEXT COLLATE "C" NOT NULL,
        created_at BIGINT NOT NULL,
        last_used_at BIGINT,
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
    postgres: [
      `CREATE TABLE import_ledger (
        account_id BIGINT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        source TEXT COLLATE "C" NOT NULL,
        item_key TEXT COLLATE "C" NOT NULL,
        mailbox_id BIGINT NOT NULL,
        uid BIGINT NOT NULL,
        imported_at BIGINT NOT NULL,
        PRIMARY KEY (account_id, source, item_key)
      )`,
    ],
  },
  // ---- per-mailbox counters (issue 16): STATUS without a scan -----------------------------------
  {
    version: 12,
    name: "mailbox counters (messages, unseen, deleted, size) kept by triggers",
    sqlite: [
      `ALTER TABLE mailbox ADD COLUMN n_messages INTEGER NOT NULL DEFAULT 0`,
      `ALTER TABLE mailbox ADD COLUMN n_unseen INTEGER NOT NULL DEFAULT 0`,
      `ALTER TABLE mailbox ADD COLUMN n_deleted INTEGER NOT NULL DEFAULT 0`,
      `ALTER TABLE mailbox ADD COLUMN total_size INTEGER NOT NULL DEFAULT 0`,
      // existing data: counted once here; from now on the triggers keep them, in the transaction of
      // every write of a message row, whichever code path (append, copy, move, expunge, flags,
      // REPLACE, mailbox deletion) and whichever process writes. flag_bits: 1 = \Seen, 8 = \Deleted
      `UPDATE mailbox SET (n_messages, n_unseen, n_deleted, total_size) = (
        SELECT COUNT(*), COALESCE(SUM((flag_bits & 1) = 0), 0), COALESCE(SUM((flag_bits & 8) <> 0), 0),
               COALESCE(SUM(size), 0)
        FROM message WHERE message.mailbox_id = mailbox.id)`,
      `CREATE TRIGGER message_counters_insert AFTER INSERT ON message BEGIN
        UPDATE mailbox SET n_messages = n_messages + 1, n_unseen = n_unseen + ((NEW.flag_bits & 1) = 0),
          n_deleted = n_deleted + ((NEW.flag_bits & 8) <> 0), total_size = total_size + NEW.size
        WHERE id = NEW.mailbox_id;
      END`,
      `CREATE TRIGGER message_counters_delete AFTER DELETE ON message BEGIN
        UPDATE mailbox SET n_messages = n_messages - 1, n_unseen = n_unseen - ((OLD.flag_bits & 1) = 0),
          n_deleted = n_deleted - ((OLD.flag_bits & 8) <> 0), total_size = total_size - OLD.size
        WHERE id = OLD.mailbox_id;
      END`,
      `CREATE TRIGGER message_counters_update AFTER UPDATE OF mailbox_id, flag_bits, size ON message
      WHEN OLD.mailbox_id <> NEW.mailbox_id OR OLD.size <> NEW.size OR (OLD.flag_bits & 9) <> (NEW.flag_bits & 9)
      BEGIN
        UPDATE mailbox SET n_messages = n_messages - 1, n_unseen = n_unseen - ((OLD.flag_bits & 1) = 0),
          n_deleted = n_deleted - ((OLD.flag_bits & 8) <> 0), total_size = total_size - OLD.size
        WHERE id = OLD.mailbox_id;
        UPDATE mailbox SET n_messages = n_messages + 1, n_unseen = n_unseen + ((NEW.flag_bits & 1) = 0),
          n_deleted = n_deleted + ((NEW.flag_bits & 8) <> 0), total_size = total_size + NEW.size
        WHERE id = NEW.mailbox_id;
      END`,
    ],
    postgres: [
      `ALTER TABLE mailbox ADD COLUMN n_messages BIGINT NOT NULL DEFAULT 0,
        ADD COLUMN n_unseen BIGINT NOT NULL DEFAULT 0,
        ADD COLUMN n_deleted BIGINT NOT NULL DEFAULT 0,
        ADD COLUMN total_size BIGINT NOT NULL DEFAULT 0`,
      `UPDATE mailbox SET (n_messages, n_unseen, n_deleted, total_size) = (
        SELECT COUNT(*), COALESCE(SUM(CASE WHEN (flag_bits & 1) = 0 THEN 1 ELSE 0 END), 0),
               COALESCE(SUM(CASE WHEN (flag_bits & 8) <> 0 THEN 1 ELSE 0 END), 0), COALESCE(SUM(size), 0)
        FROM message WHERE message.mailbox_id = mailbox.id)`,
      // one function for the three triggers: the old row leaves its mailbox's counters, the new
      // row enters its mailbox's (same rules as the SQLite triggers above)
      `CREATE FUNCTION message_counters() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP IN ('DELETE', 'UPDATE') THEN
          UPDATE mailbox SET n_messages = n_messages - 1,
            n_unseen = n_unseen - CASE WHEN (OLD.flag_bits & 1) = 0 THEN 1 ELSE 0 END,
            n_deleted = n_deleted - CASE WHEN (OLD.flag_bits & 8) <> 0 THEN 1 ELSE 0 END,
            total_size = total_size - OLD.size
          WHERE id = OLD.mailbox_id;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
          UPDATE mailbox SET n_messages = n_messages + 1,
            n_unseen = n_unseen + CASE WHEN (NEW.flag_bits & 1) = 0 THEN 1 ELSE 0 END,
            n_deleted = n_deleted + CASE WHEN (NEW.flag_bits & 8) <> 0 THEN 1 ELSE 0 END,
            total_size = total_size + NEW.size
          WHERE id = NEW.mailbox_id;
        END IF;
        RETURN NULL;
      END $$`,
      `CREATE TRIGGER message_counters_insert AFTER INSERT ON message
        FOR EACH ROW EXECUTE FUNCTION message_counters()`,
      `CREATE TRIGGER message_counters_delete AFTER DELETE ON message
        FOR EACH ROW EXECUTE FUNCTION message_counters()`,
      `CREATE TRIGGER message_counters_update AFTER UPDATE OF mailbox_id, flag_bits, size ON message
        FOR EACH ROW WHEN (OLD.mailbox_id <> NEW.mailbox_id OR OLD.size <> NEW.size
          OR (OLD.flag_bits & 9) <> (NEW.flag_bits & 9))
        EXECUTE FUNCTION message_counters()`,
    ],
  },
  // ---- PostgreSQL only: the edge adapters' tables (blob chunks, search text with pg_trgm) --------
  {
    version: 13,
    name: "PostgreSQL blob, search tables (the SQLite store keeps files and FTS5)",
    sqlite: [],
    postgres: [...PG_EDGE_DDL],
  },
  // ---- vacation responses (RFC 8621 §8, RFC 3834) ---------------------------------------------
  {
    version: 14,
    name: "vacation responses and the replied-to record",
    sqlite: [
      // one row per account that ever set its vacation response (none = disabled); dates in ms
      `CREATE TABLE vacation (
        account_id INTEGER PRIMARY KEY REFERENCES account(id) ON DELETE CASCADE,
        enabled INTEGER NOT NULL DEFAULT 0,
        from_date INTEGER,
        to_date INTEGER,
        subject TEXT,
        text_body TEXT,
        html_body TEXT,
        updated_at INTEGER NOT NULL
      )`,
      // whom an account auto-replied to and when (lower-case address); pruned by the background job
      `CREATE TABLE vacation_reply (
        account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        sender TEXT NOT NULL,
        replied_at INTEGER NOT NULL,
        PRIMARY KEY (account_id, sender)
      ) WITHOUT ROWID`,
      `CREATE INDEX vacation_reply_at ON vacation_reply (replied_at)`,
    ],
    postgres: [
      `CREATE TABLE vacation (
        account_id BIGINT PRIMARY KEY REFERENCES account(id) ON DELETE CASCADE,
        enabled INTEGER NOT NULL DEFAULT 0,
        from_date BIGINT,
        to_date BIGINT,
        subject TEXT,
        text_body TEXT,
        html_body TEXT,
        updated_at BIGINT NOT NULL
      )`,
      `CREATE TABLE vacation_reply (
        account_id BIGINT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        sender TEXT COLLATE "C" NOT NULL,
        replied_at BIGINT NOT NULL,
        PRIMARY KEY (account_id, sender)
      )`,
      `CREATE INDEX vacation_reply_at ON vacation_reply (replied_at)`,
    ],
  },
  // ---- undelete window (issue 14) ----------------------------------------------------------------
  {
    version: 15,
    name: "undelete window: expunged messages kept recoverable for store.undelete_window",
    sqlite: [
      // one row per expunged message (domain/messages-write.ts expunge), outside the quota; the
      // blob stays while a row references it (the sweeper re-checks this table, jobs.ts). The
      // prefix (delivery headers) is copied: prefix rows go with their last message row.
      `CREATE TABLE deleted_message (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        mailbox_id INTEGER NOT NULL,
        mailbox_name TEXT NOT NULL,
        blob_id INTEGER NOT NULL,
        prefix BLOB,
        size INTEGER NOT NULL,
        internal_date INTEGER NOT NULL,
        flags TEXT NOT NULL,
        expunged_at INTEGER NOT NULL
      )`,
      "CREATE INDEX deleted_message_account ON deleted_message (account_id, expunged_at)",
      "CREATE INDEX deleted_message_time ON deleted_message (expunged_at)",
      "CREATE INDEX deleted_message_blob ON deleted_message (blob_id)",
      // whatever removes a row (purge, undelete, the account's deletion) hands its blob to the
      // sweeper, which deletes it only when nothing references it any more
      `CREATE TRIGGER deleted_message_release AFTER DELETE ON deleted_message
       BEGIN UPDATE blob SET gc_pending = 1 WHERE id = OLD.blob_id; END`,
    ],
    // the same table; the PostgreSQL adapter keeps no rows in it yet (db/postgres/ops-deleted.ts)
    postgres: [
      `CREATE TABLE deleted_message (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account_id BIGINT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        mailbox_id BIGINT NOT NULL,
        mailbox_name TEXT COLLATE "C" NOT NULL,
        blob_id BIGINT NOT NULL,
        prefix BYTEA,
        size BIGINT NOT NULL,
        internal_date BIGINT NOT NULL,
        flags TEXT NOT NULL,
        expunged_at BIGINT NOT NULL
      )`,
      "CREATE INDEX deleted_message_account ON deleted_message (account_id, expunged_at)",
      "CREATE INDEX deleted_message_time ON deleted_message (expunged_at)",
      "CREATE INDEX deleted_message_blob ON deleted_message (blob_id)",
    ],
  },
  // ---- pending JMAP uploads (RFC 8620 §6.1) -------------------------------------------------------
  {
    version: 16,
    name: "jmap_upload: pending JMAP uploads (bytes in a blob-port file of their own)",
    sqlite: [
      // file: a random 256-bit name, so no message content hashes to it and the message blob GC
      // never meets it; the orphan scan keeps files a row names (jobs.ts), the expiry job deletes
      // row and file together
      `CREATE TABLE jmap_upload (
        account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        blob_id TEXT NOT NULL,
        file TEXT NOT NULL,
        size INTEGER NOT NULL,
        type TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (account_id, blob_id)
      ) WITHOUT ROWID`,
      `CREATE INDEX jmap_upload_expiry ON jmap_upload (expires_at)`,
      `CREATE INDEX jmap_upload_file ON jmap_upload (file)`,
    ],
    postgres: [
      `CREATE TABLE jmap_upload (
        account_id BIGINT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        blob_id TEXT COLLATE "C" NOT NULL,
        file TEXT COLLATE "C" NOT NULL,
        size BIGINT NOT NULL,
        type TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (account_id, blob_id)
      )`,
      `CREATE INDEX jmap_upload_expiry ON jmap_upload (expires_at)`,
      `CREATE INDEX jmap_upload_file ON jmap_upload (file)`,
    ],
  },
  // ---- JMAP objects without a mail table (Identity, EmailSubmission) -------------------------
  {
    version: 17,
    name: "jmap_object: per-account JMAP objects (JSON) with a state counter per type",
    sqlite: [
      // seq: the type's counter at the row's last change (the JMAP state); data NULL = destroyed,
      // kept as a tombstone for /changes (db/port-jmap-objects.ts)
      `CREATE TABLE jmap_object (
        account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        type TEXT NOT NULL,
        id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        created_seq INTEGER NOT NULL,
        data TEXT,
        PRIMARY KEY (account_id, type, id)
      )`,
      `CREATE INDEX jmap_object_seq ON jmap_object (account_id, type, seq)`,
    ],
    postgres: [
      `CREATE TABLE jmap_object (
        account_id BIGINT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        type TEXT COLLATE "C" NOT NULL,
        id TEXT COLLATE "C" NOT NULL,
        seq BIGINT NOT NULL,
        created_seq BIGINT NOT NULL,
        data TEXT,
        PRIMARY KEY (account_id, type, id)
      )`,
      `CREATE INDEX jmap_object_seq ON jmap_object (account_id, type, seq)`,
    ],
  },
  // ---- shared limit counters (issue 11): login throttling over all nodes of a cluster ---------
  {
    version: 18,
    name: "shared_counter: failure counters with a window, a lockout and an expiry (PostgreSQL only)",
    // a single SQLite node keeps its counters in memory (src/auth/throttle.ts ThrottleState)
    sqlite: [],
    postgres: [
      // key: a counter's name and subject ("ip:192.0.2.1", "pair:…", "user:…"); counts failures
      // since window_start; locked_until > now = locked out; rows past expires_at are dead
      // (counters/postgres.ts deletes them now and then)
      `CREATE TABLE shared_counter (
        key TEXT COLLATE "C" PRIMARY KEY,
        count INTEGER NOT NULL,
        window_start BIGINT NOT NULL,
        locked_until BIGINT NOT NULL DEFAULT 0,
        expires_at BIGINT NOT NULL
      )`,
      `CREATE INDEX shared_counter_expiry ON shared_counter (expires_at)`,
    ],
  },
];
