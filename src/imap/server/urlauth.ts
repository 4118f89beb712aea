/**
 * URLAUTH (RFC 4467) core, shared by IMAP (GENURLAUTH, URLFETCH, RESETKEY, CATENATE) and SMTP
 * submission's BURL (RFC 4468, src/smtp/burl.ts): mailbox access keys, the INTERNAL token, and
 * the resolution of an authorized URL to the octets it names.
 *
 * - Mailbox access key (RFC 4467 §3): 256 random bits per user per mailbox (also per user on
 *   another user's shared mailbox), kept in the store's keys port as kind "urlauth", name
 *   "<account id>/<mailbox id>" (store/keys/port.ts), removed with the mailbox and with the
 *   account. Keyed by mailbox id, so a
 *   mailbox deleted and created again (new id) or a URL naming a renamed mailbox no longer
 *   resolves. Created on the first GENURLAUTH; RESETKEY replaces or removes them.
 * - INTERNAL token (RFC 4467 §3, §9 enc-urlauth): HMAC-SHA256 of the URL rump (the URL up to and including
 *   the access identifier, so ;EXPIRE= and the access are covered) under the mailbox key, in
 *   lower-case hex (64 HEXDIG); compared in constant time.
 * - Resolution (RFC 4467 §6, §7.3): only URLs of this server (its hostname, or one of the config's
 *   `url_hosts`: urlHosts below) whose owner (the URL's
 *   user) exists; the access identifier must admit the requester; not expired; the token must
 *   match the owner's current key; then the message / section / partial is read like FETCH.
 *   Every failure is the same null (URLFETCH answers NIL, BURL 554 5.6.6).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { ParsedMessage } from "../../mime/types.ts";
import { MAILBOX_KEY_KIND, mailboxKeyName } from "../../store/keys/port.ts";
import type { KeyStore, Mailbox, Store } from "../../store/types.ts";
import { StoreError } from "../../store/types.ts";
import { accessOf, type ImapUrl, parseImapUrl } from "../protocol/imap-url.ts";
import { bodySection } from "./commands/fetch.ts";
import { canonicalMailbox } from "./names.ts";
import { splitShared } from "./shared.ts";

const KIND = MAILBOX_KEY_KIND;
export const URLAUTH_MECHANISMS = ["INTERNAL"] as const;
/** RFC 4467 §8 URLMECH response code (RESETKEY's tagged OK, SELECT/EXAMINE untagged OK) */
export const URLMECH = `URLMECH ${URLAUTH_MECHANISMS.join(" ")}`;

const keyName = mailboxKeyName;

/** the mailbox access key; created when asked and missing (a concurrent creator's key wins) */
export async function mailboxKey(
  keys: KeyStore,
  accountId: number,
  mailboxId: number,
  create: boolean,
): Promise<Uint8Array | null> {
  const name = keyName(accountId, mailboxId);
  const k = await keys.get(KIND, name);
  if (k || !create) return k?.secret ?? null;
  await keys.put(KIND, name, randomBytes(32)); // never overwrites
  return (await keys.get(KIND, name))?.secret ?? null;
}

/** RESETKEY mailbox (RFC 4467 §7.1): a new key; every URL authorized with the old one is void */
export async function resetMailboxKey(keys: KeyStore, accountId: number, mailboxId: number): Promise<void> {
  await keys.put(KIND, keyName(accountId, mailboxId), randomBytes(32), { replace: true });
}

/** RESETKEY without arguments (RFC 4467 §7.1): all of the user's keys go */
export async function removeAllKeys(keys: KeyStore, accountId: number): Promise<number> {
  let n = 0;
  for (const k of await keys.list(KIND, `${accountId}/`)) if (await keys.delete(KIND, k.name)) n++;
  return n;
}

/** the INTERNAL mechanism's token for a URL rump */
export function urlauthToken(key: Uint8Array, rump: string): string {
  return createHmac("sha256", key).update(rump, "latin1").digest("hex");
}

function tokenMatches(key: Uint8Array, rump: string, token: string): boolean {
  const want = Buffer.from(urlauthToken(key, rump), "latin1");
  const got = Buffer.from(token.toLowerCase(), "latin1");
  return got.length === want.length && timingSafeEqual(got, want);
}

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/**
 * The host names URLs of this server may carry (RFC 5092 iserver): the configured list, or the
 * server's host name when the list is empty. Lower-cased.
 */
export function urlHosts(hostname: string, configured: readonly string[] = []): string[] {
  return (configured.length > 0 ? configured : [hostname]).map((h) => h.toLowerCase());
}

/** is the URL's host this server? (the port is not compared: one server, several listeners) */
export function isOwnHost(u: ImapUrl, hosts: readonly string[]): boolean {
  return u.server !== null && hosts.includes(u.server.host.toLowerCase());
}

/**
 * The URL's user (whose mailbox access key signs it) and the mailbox an absolute URL of this
 * server names; null when there is none. A `Shared/<owner>/<name>` mailbox (RFC 4314, as
 * imap/server/shared.ts names it) counts while the URL's user holds "l" and "r" on it, checked on
 * every resolution: a user who lost access can no longer hand out its messages (RFC 4467 §6).
 */
export async function locateUrl(
  store: Store,
  hosts: readonly string[],
  u: ImapUrl,
): Promise<{ accountId: number; mailbox: Mailbox } | null> {
  if (!u.server || u.mailbox === null || !isOwnHost(u, hosts)) return null;
  const user = await store.getAccount(u.server.user);
  if (!user) return null;
  const name = canonicalMailbox(u.mailbox);
  const mailbox = (await sharedMailbox(store, user.id, name)) ?? (await store.getMailbox(user.id, name));
  if (!mailbox) return null;
  // RFC 5092 §6: a UIDVALIDITY that does not match means the URL no longer names that message
  if (u.uidValidity !== null && u.uidValidity !== mailbox.uidValidity) return null;
  return { accountId: user.id, mailbox };
}

/** another user's mailbox by its shared name, if userId may read it ("l" and "r") */
async function sharedMailbox(store: Store, userId: number, name: string): Promise<Mailbox | null> {
  const sh = splitShared(name);
  if (!sh || sh[1] === "") return null;
  const owner = await store.getAccount(sh[0]);
  if (!owner || owner.id === userId) return null;
  const mb = await store.getMailbox(owner.id, sh[1]);
  if (!mb) return null;
  const rights = await store.rightsOf(userId, mb);
  return rights.includes("l") && rights.includes("r") ? mb : null;
}

/**
 * The octets a message URL names (whole message, section, partial), read like FETCH BODY[…];
 * null when the message or section does not exist; "TOOBIG" when a whole message is larger
 * than `room` (checked by its stored size before it is read).
 */
export async function readUrlData(
  store: Store,
  mailboxId: number,
  u: Pick<ImapUrl, "uid" | "section" | "partial">,
  room = Number.POSITIVE_INFINITY,
): Promise<Uint8Array | null | "TOOBIG"> {
  const [meta] = await store.getMessages(mailboxId, [u.uid]);
  if (!meta) return null;
  const whole = u.section === null;
  if (whole && u.partial === null && meta.size > room) return "TOOBIG";
  let data: Uint8Array | null;
  try {
    const raw = await store.readMessage(mailboxId, u.uid);
    let parsed: ParsedMessage | null = null;
    if (!whole) parsed = await store.getParsed(meta.blobId);
    data = whole ? raw : bodySection(raw, parsed!, u.section!);
  } catch (e) {
    // expunged by another session meanwhile
    if (e instanceof StoreError && (e.code === "NOTFOUND" || e.code === "NONEXISTENT")) return null;
    throw e;
  }
  if (data === null) return null; // no such section
  if (u.partial) {
    const { offset, length } = u.partial;
    data = data.subarray(Math.min(offset, data.length), length === null ? undefined : offset + length);
  }
  return data;
}

/** who resolves a URL: a logged-in IMAP user, or submission acting for its AUTH user (BURL) */
export interface Requester {
  kind: "imap" | "submit";
  address: string;
}

/** RFC 4467 §3: does the access identifier admit this requester? */
function admits(access: string, who: Requester): boolean {
  const a = accessOf(access);
  if (!a) return false;
  // both requesters are authenticated users of this server
  if (!("user" in a)) return true; // anonymous, authuser
  // user+X: only X in an IMAP session; submit+X: only a submit server acting for X
  const kindOk = a.kind === "user" ? who.kind === "imap" : who.kind === "submit";
  return kindOk && sameAddress(a.user, who.address);
}

/** Why a URLAUTH URL did not resolve (for logs and BURL's reply); the client sees NIL/5.6.6. */
export type UrlAuthFailure = "syntax" | "not-authorized-url" | "other-host" | "refused" | "too-big";

/**
 * Resolves a URLAUTH-authorized URL (RFC 4467 §6) for a requester. A whole message larger than
 * `room` octets is not read ("too-big"); `now` for tests of EXPIRE.
 */
export async function resolveAuthorizedUrl(
  store: Store,
  hosts: readonly string[],
  url: string,
  who: Requester,
  room = Number.POSITIVE_INFINITY,
  now = Date.now(),
): Promise<{ data: Uint8Array } | { failure: UrlAuthFailure }> {
  const u = parseImapUrl(url);
  if (!u) return { failure: "syntax" };
  if (!u.server) return { failure: "syntax" };
  if (!isOwnHost(u, hosts)) return { failure: "other-host" };
  const ua = u.urlauth;
  if (!ua || ua.mechanism === null || ua.token === null) return { failure: "not-authorized-url" };
  if (ua.mechanism.toUpperCase() !== "INTERNAL") return { failure: "refused" };
  // RFC 4467 ;EXPIRE=: an expired URL is invalid
  if (u.expire !== null && now >= u.expire) return { failure: "refused" };
  if (!admits(ua.access, who)) return { failure: "refused" };
  const loc = await locateUrl(store, hosts, u);
  if (!loc) return { failure: "refused" };
  const key = await mailboxKey(store.keys, loc.accountId, loc.mailbox.id, false);
  if (!key || !tokenMatches(key, ua.rump, ua.token)) return { failure: "refused" };
  const data = await readUrlData(store, loc.mailbox.id, u, room);
  if (data === "TOOBIG") return { failure: "too-big" };
  if (data === null) return { failure: "refused" };
  return { data };
}
