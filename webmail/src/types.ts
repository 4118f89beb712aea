/** The JMAP objects the webmail reads (RFC 8621), with the properties it asks for. */

export type Role =
  | "inbox"
  | "drafts"
  | "sent"
  | "trash"
  | "junk"
  | "archive"
  | "flagged"
  | "important"
  | "all"
  | null;

export interface Mailbox {
  id: string;
  name: string;
  parentId: string | null;
  role: Role;
  sortOrder: number;
  totalEmails: number;
  unreadEmails: number;
  totalThreads: number;
  unreadThreads: number;
  isSubscribed: boolean;
  myRights: Record<string, boolean>;
}

export interface EmailAddress {
  name: string | null;
  email: string;
}

export interface EmailSummary {
  id: string;
  threadId: string;
  mailboxIds: Record<string, true>;
  keywords: Record<string, true>;
  from: EmailAddress[] | null;
  to: EmailAddress[] | null;
  subject: string | null;
  receivedAt: string;
  size: number;
  preview: string;
  hasAttachment: boolean;
}

export interface BodyPart {
  partId: string | null;
  blobId: string | null;
  size: number;
  name: string | null;
  type: string;
  charset: string | null;
  disposition: string | null;
  cid: string | null;
}

/** What the compose view is opened for. */
export interface ComposeRequest {
  mode: "new" | "reply" | "replyAll" | "forward" | "draft";
  /** the message replied to / forwarded / the draft edited */
  emailId?: string;
  /** prefilled recipient (a mailto: link) */
  to?: string;
}
