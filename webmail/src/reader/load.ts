/**
 * What the reader fetches over JMAP (RFC 8621): one message with its body values (§4.2:
 * fetchHTMLBodyValues / fetchTextBodyValues, capped by maxBodyValueBytes), its thread's members
 * (Thread/get, §3.1) as summaries, and the live keywords/mailboxes of a message.
 */
import { jmap } from "../state.ts";
import type { BodyPart, EmailAddress } from "../types.ts";

/** bytes of each body value the server sends; longer values come truncated (isTruncated) */
export const MAX_BODY_VALUE_BYTES = 1_000_000;

export interface BodyValue {
  value: string;
  isEncodingProblem: boolean;
  isTruncated: boolean;
}

export interface FullEmail {
  id: string;
  blobId: string;
  threadId: string;
  mailboxIds: Record<string, true>;
  keywords: Record<string, true>;
  from: EmailAddress[] | null;
  to: EmailAddress[] | null;
  cc: EmailAddress[] | null;
  subject: string | null;
  sentAt: string | null;
  receivedAt: string;
  textBody: BodyPart[];
  htmlBody: BodyPart[];
  attachments: BodyPart[];
  bodyValues: Record<string, BodyValue>;
}

export interface ThreadMember {
  id: string;
  from: EmailAddress[] | null;
  receivedAt: string;
  preview: string;
  keywords: Record<string, true>;
}

const FULL_PROPERTIES = [
  "id",
  "blobId",
  "threadId",
  "mailboxIds",
  "keywords",
  "from",
  "to",
  "cc",
  "subject",
  "sentAt",
  "receivedAt",
  "textBody",
  "htmlBody",
  "attachments",
  "bodyValues",
];

interface GetAnswer<T> {
  list: T[];
  notFound: string[] | null;
}

/** The message with its bodies, or null when it does not exist (any more). */
export async function loadEmail(id: string): Promise<FullEmail | null> {
  const r = await jmap.call<GetAnswer<FullEmail>>("Email/get", {
    ids: [id],
    properties: FULL_PROPERTIES,
    fetchHTMLBodyValues: true,
    fetchTextBodyValues: true,
    maxBodyValueBytes: MAX_BODY_VALUE_BYTES,
  });
  return r.list[0] ?? null;
}

/** The live keywords and mailboxes of a message; null when it was destroyed. */
export async function loadFlags(
  id: string,
): Promise<Pick<FullEmail, "keywords" | "mailboxIds" | "threadId"> | null> {
  const r = await jmap.call<GetAnswer<FullEmail>>("Email/get", {
    ids: [id],
    properties: ["keywords", "mailboxIds", "threadId"],
  });
  return r.list[0] ?? null;
}

/** The messages of a thread, oldest first (one request: Thread/get, then Email/get by back-reference). */
export async function loadThread(threadId: string): Promise<ThreadMember[]> {
  const res = await jmap.request([
    ["Thread/get", { accountId: jmap.accountId, ids: [threadId] }, "t"],
    [
      "Email/get",
      {
        accountId: jmap.accountId,
        "#ids": { resultOf: "t", name: "Thread/get", path: "/list/*/emailIds" },
        properties: ["id", "from", "receivedAt", "preview", "keywords"],
      },
      "e",
    ],
  ]);
  const e = res.find((r) => r[2] === "e");
  if (e?.[0] !== "Email/get") return [];
  const list = (e[1] as unknown as GetAnswer<ThreadMember>).list;
  return [...list].sort((a, b) => a.receivedAt.localeCompare(b.receivedAt));
}

/** The download URL of a body part (our origin; `download` names it). */
export function partUrl(p: BodyPart, fallbackName: string): string {
  return jmap.downloadUrl(p.blobId ?? "", p.name ?? fallbackName, p.type);
}
