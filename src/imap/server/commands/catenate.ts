/**
 * CATENATE (RFC 4469): assembles the message of an APPEND / MULTIAPPEND / REPLACE from TEXT
 * literals and IMAP URLs (RFC 5092, parsed by protocol/imap-url.ts) naming messages or sections
 * in the same account, or URLAUTH-authorized URLs (RFC 4467, ../urlauth.ts) of any account here;
 * the result then takes the normal append path. A URL naming another server, or another user
 * without URLAUTH, cannot be resolved: NO [BADURL].
 *
 * Memory: the parts are collected until their total passes the APPEND limit (maxLiteralSize,
 * RFC 7889 APPENDLIMIT), then NO [TOOBIG]; a whole-message URL is checked by its stored size
 * before it is read, so at most one referenced message plus the limit is held at a time.
 */
import type { AppendMessage } from "../../protocol/commands.ts";
import { parseImapUrl } from "../../protocol/imap-url.ts";
import { no } from "../errors.ts";
import { canonicalMailbox } from "../names.ts";
import type { Session } from "../session.ts";
import { resolveMailbox } from "../shared.ts";
import { isOwnHost, readUrlData, resolveAuthorizedUrl } from "../urlauth.ts";

/** The messages with every CATENATE form replaced by its assembled bytes (others unchanged). */
export async function withCatenated(s: Session, messages: AppendMessage[]): Promise<AppendMessage[]> {
  if (!messages.some((m) => m.catenate)) return messages;
  const out: AppendMessage[] = [];
  // sequentially: MULTIAPPEND is all or nothing (RFC 3502 §6.3.11), the first failure ends it
  for (const m of messages) {
    if (!m.catenate) {
      out.push(m);
      continue;
    }
    const { catenate: parts, ...rest } = m;
    out.push({ ...rest, data: await assemble(s, parts) });
  }
  return out;
}

async function assemble(s: Session, parts: NonNullable<AppendMessage["catenate"]>): Promise<Buffer> {
  const limit = s.ctx.opts.limits.maxLiteralSize;
  const chunks: Uint8Array[] = [];
  let total = 0;
  const add = (b: Uint8Array) => {
    total += b.length;
    // RFC 4469 §5 / RFC 7889: the assembled message is subject to the APPEND size limit
    if (total > limit) throw no("TOOBIG", "Catenated message too large");
    chunks.push(b);
  };
  for (const p of parts) {
    if (p.type === "TEXT") {
      add(p.data);
      continue;
    }
    add(await resolveUrl(s, p.url, limit - total));
  }
  // a NUL (TEXT literal8) is handled on the assembled message by storableForm (RFC 3516 §4.4)
  return Buffer.concat(chunks, total);
}

/** RFC 4469 §5: a URL that cannot be resolved fails the command with NO [BADURL url] */
function badUrl(url: string): never {
  throw no(`BADURL ${respText(url)}`, "Cannot resolve URL");
}

/** RFC 4469 §6 url-resp-text excludes "]" and CR/LF; keep to printable ASCII besides */
function respText(url: string): string {
  let out = "";
  for (const ch of url.slice(0, 1000)) {
    const c = ch.charCodeAt(0);
    out += c < 0x21 || c > 0x7e || ch === "]" ? `%${c.toString(16).toUpperCase().padStart(2, "0")}` : ch;
  }
  return out === "" ? '""' : out;
}

async function resolveUrl(s: Session, url: string, room: number): Promise<Uint8Array> {
  const u = parseImapUrl(url);
  if (!u) badUrl(url);
  if (u.urlauth) {
    // RFC 4469 §5 / RFC 4467: a URLAUTH-authorized URL is resolved with the URL's authorization
    // (so it may name another user's message), like URLFETCH
    const who = { kind: "imap", address: s.authenticated.account.address } as const;
    const r = await resolveAuthorizedUrl(s.store, s.ctx.urlHosts, url, who, room);
    if ("failure" in r && r.failure === "too-big") throw no("TOOBIG", "Catenated message too large");
    if ("failure" in r) badUrl(url);
    if (r.data.length > room) throw no("TOOBIG", "Catenated message too large");
    return r.data;
  }
  let mailboxId: number;
  if (u.mailbox === null) {
    // RFC 4469 §5: a relative URL is relative to the selected mailbox
    const v = s.view;
    if (!v) badUrl(url);
    if (u.uidValidity !== null && u.uidValidity !== v.uidValidity) badUrl(url);
    mailboxId = v.mailboxId;
  } else {
    // without URLAUTH: only this server and the logged-in user (RFC 5092 §3.2 iuserinfo)
    if (u.server && !(isOwnHost(u, s.ctx.urlHosts) && sameUser(s, u.server.user))) badUrl(url);
    // the user's own mailbox, or another user's shared with it (RFC 4314 §4: reading needs "r")
    const acc = await resolveMailbox(s, canonicalMailbox(u.mailbox));
    if (!acc?.rights.includes("r")) badUrl(url);
    const mb = acc.mailbox;
    // RFC 5092 §6: a UIDVALIDITY that does not match means the URL no longer names that message
    if (u.uidValidity !== null && u.uidValidity !== mb.uidValidity) badUrl(url);
    mailboxId = mb.id;
  }
  const data = await readUrlData(s.store, mailboxId, u, room);
  if (data === "TOOBIG") throw no("TOOBIG", "Catenated message too large");
  if (data === null) badUrl(url);
  return data;
}

function sameUser(s: Session, user: string): boolean {
  return user.toLowerCase() === s.authenticated.account.address.toLowerCase();
}
