/**
 * kysely table types. Integers are JS numbers on this path (ids, counters, ms timestamps);
 * 64-bit modseq values are read through statements with safe integers (bigint) or cast to text.
 */
import type { Generated } from "kysely";

export interface DomainTable {
  id: Generated<number>;
  name: string;
  created_at: number;
}

export interface AccountTable {
  id: Generated<number>;
  domain_id: number;
  address: string;
  password_hash: string;
  quota_bytes: Generated<number>;
  quota_messages: Generated<number>;
  used_bytes: Generated<number>;
  used_messages: Generated<number>;
  /** JSON of AccountSettings */
  settings: string;
  credentials_version: Generated<number>;
  /** per-account modseq counter (bigint range) */
  modseq: Generated<number | bigint>;
  /** last UIDVALIDITY handed out in this account (strictly increasing) */
  last_uidvalidity: Generated<number>;
  created_at: number;
}

export interface MailboxTable {
  id: Generated<number>;
  account_id: number;
  name: string;
  uidvalidity: number;
  uidnext: Generated<number>;
  highestmodseq: number | bigint;
  special_use: string | null;
  created_at: number;
  /** counters kept by triggers on message (migration 12) */
  n_messages: Generated<number>;
  n_unseen: Generated<number>;
  n_deleted: Generated<number>;
  total_size: Generated<number>;
  /** JMAP counters kept by triggers on message (migration 23): visible threads, duplicate Emails */
  n_threads: Generated<number>;
  n_dup_emails: Generated<number>;
}

export interface SubscriptionTable {
  account_id: number;
  name: string;
}

export interface BlobTable {
  id: Generated<number>;
  sha256: string;
  size: number;
  parsed: string | null;
  parsed_version: Generated<number>;
  created_at: number;
  /** 1 = no message referenced it at the last change; the background sweeper re-checks */
  gc_pending: Generated<number>;
}

export interface DeliveryPrefixTable {
  id: Generated<number>;
  data: Uint8Array;
}

export interface MessageTable {
  mailbox_id: number;
  uid: number;
  account_id: number;
  email_id: string;
  thread_id: string;
  blob_id: number;
  prefix_id: number | null;
  size: number;
  internal_date: number;
  save_date: number;
  flags: string;
  flag_bits: number;
  modseq: number | bigint;
  /** octets in CRLF form, delivery prefix included (POP3 LIST/STAT); null = unknown */
  crlf_size: number | null;
}

export interface ExpungedTable {
  mailbox_id: number;
  uid: number;
  modseq: number | bigint;
}

export interface ThreadRefTable {
  account_id: number;
  msgid: string;
  thread_id: string;
}

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  applied_at: number;
}

export interface SecretKeyTable {
  kind: string;
  name: string;
  secret: Uint8Array;
  created_at: number;
}

/** IMAP METADATA entries (RFC 5464, migration 8); mailbox_id null = server entries */
export interface MetadataTable {
  account_id: number;
  mailbox_id: number | null;
  name: string;
  value: Uint8Array;
}

/** mailbox ACL rows (RFC 4314, migration 9); grantee_id null = anyone */
export interface AclTable {
  mailbox_id: number;
  owner_id: number;
  grantee_id: number | null;
  rights: string;
}

/** expunged messages inside the undelete window (migration 15) */
export interface DeletedMessageTable {
  id: Generated<number>;
  account_id: number;
  mailbox_id: number;
  mailbox_name: string;
  blob_id: number;
  prefix: Uint8Array | null;
  size: number;
  internal_date: number;
  flags: string;
  expunged_at: number;
}

export interface DB {
  domain: DomainTable;
  account: AccountTable;
  mailbox: MailboxTable;
  subscription: SubscriptionTable;
  blob: BlobTable;
  delivery_prefix: DeliveryPrefixTable;
  message: MessageTable;
  expunged: ExpungedTable;
  thread_ref: ThreadRefTable;
  schema_migrations: SchemaMigrationsTable;
  secret_key: SecretKeyTable;
  metadata: MetadataTable;
  acl: AclTable;
  deleted_message: DeletedMessageTable;
}
