/**
 * The mail-store API — the only storage interface that protocol code (IMAP, POP3, SMTP, CLI)
 * imports. Split by role in store/api/ (a module that needs one role imports that one, e.g. the
 * queue runner takes a QueueStore); `Store` is all roles together. The data model is in
 * api/model.ts; see docs/architecture.md "Store layers".
 */
import type { AccountStore } from "./api/accounts.ts";
import type { AclStore } from "./api/acl.ts";
import type { JmapObjectStore } from "./api/jmap-objects.ts";
import type { LimitsStore } from "./api/limits.ts";
import type { MailStore } from "./api/mail.ts";
import type { QueueStore } from "./api/queue.ts";
import type { UploadStore } from "./api/uploads.ts";
import type { VacationStore } from "./api/vacation.ts";
import type { WebmailSessionStore } from "./api/webmail-sessions.ts";
import type { KeyStore } from "./keys/port.ts";
import type { LockService } from "./locks/port.ts";

export type { AccountImportResult, AccountStore, NewAccount } from "./api/accounts.ts";
export {
  type AclEntry,
  type AclStore,
  ALL_RIGHTS,
  ANYONE,
  canonicalRights,
  rightsForDisplay,
  type SharedMailbox,
} from "./api/acl.ts";
export type { JmapObject, JmapObjectChanges, JmapObjectStore } from "./api/jmap-objects.ts";
export type { LimitsStore } from "./api/limits.ts";
export type { MailStore, MetadataDepth, MetadataEntry, MetadataUpdate } from "./api/mail.ts";
export * from "./api/model.ts";
export type { QueueStore } from "./api/queue.ts";
export type { Upload, UploadStore } from "./api/uploads.ts";
export type { VacationStore } from "./api/vacation.ts";
export type { WebmailSession, WebmailSessionStore, WebmailSessionTimes } from "./api/webmail-sessions.ts";

export interface Store
  extends MailStore,
    AccountStore,
    QueueStore,
    LimitsStore,
    AclStore,
    VacationStore,
    UploadStore,
    JmapObjectStore,
    WebmailSessionStore {
  /** leases shared by every process/node (POP3 [IN-USE]) — the locks port */
  readonly locks: LockService;
  /** secrets every node shares (DKIM keys), kept in the store — the keys port */
  readonly keys: KeyStore;
  close(): Promise<void>;
}
