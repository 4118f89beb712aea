/**
 * URLAUTH (RFC 4467 §7): GENURLAUTH, URLFETCH, RESETKEY. Keys, tokens and URL resolution are in
 * ../urlauth.ts (shared with SMTP BURL); URL syntax in protocol/imap-url.ts.
 */
import type { Command } from "../../protocol/commands.ts";
import { parseImapUrl } from "../../protocol/imap-url.ts";
import { MAX_URLS } from "../../protocol/parse/urlauth.ts";
import { literal, stringText } from "../../protocol/response.ts";
import type { OkResult } from "../dispatch.ts";
import { bad, no } from "../errors.ts";
import { mailboxIn } from "../names.ts";
import type { AuthenticatedState, Session } from "../session.ts";
import { resolveMailbox } from "../shared.ts";
import {
  isOwnHost,
  locateUrl,
  mailboxKey,
  removeAllKeys,
  resetMailboxKey,
  resolveAuthorizedUrl,
  URLAUTH_MECHANISMS,
  URLMECH,
  urlauthToken,
} from "../urlauth.ts";

/** URLs one GENURLAUTH / URLFETCH may carry (imap.limits.max_urls; the parser's MAX_URLS bounds it) */
export const DEFAULT_MAX_URLS = 100;

function maxUrls(s: Session): number {
  return Math.min(s.ctx.opts.limits.maxUrls ?? DEFAULT_MAX_URLS, MAX_URLS);
}

function checkMechanism(m: string): void {
  // RFC 4467 §7.1, §7.2: a mechanism the server does not support fails the command
  if (!(URLAUTH_MECHANISMS as readonly string[]).includes(m))
    throw no(null, `Unsupported URLAUTH mechanism ${m.slice(0, 40)}`);
}

/**
 * RFC 4467 §7.2: every URL must be an absolute IMAP URL of this server and of the logged-in user
 * with a ;URLAUTH= access identifier and no verifier yet; the mailbox must exist (its key is
 * created on first use). All are checked before any is answered: one failure fails the command.
 */
export async function genurlauth(
  s: Session,
  _tag: string,
  cmd: Extract<Command, { name: "GENURLAUTH" }>,
  st: AuthenticatedState,
): Promise<OkResult> {
  const out: string[] = [];
  const hosts = s.ctx.urlHosts;
  if (cmd.items.length > maxUrls(s)) throw bad(`At most ${maxUrls(s)} URLs per command`);
  for (const { url, mechanism } of cmd.items) {
    checkMechanism(mechanism);
    const u = parseImapUrl(url);
    if (!u?.server || u.mailbox === null) throw no(null, "Invalid IMAP URL");
    if (!u.urlauth) throw no(null, "URL has no ;URLAUTH= access identifier");
    if (u.urlauth.mechanism !== null) throw no(null, "URL is already authorized");
    if (!isOwnHost(u, hosts)) throw no(null, "URL names another server");
    if (u.server.user.toLowerCase() !== st.account.address.toLowerCase())
      throw no(null, "URL names another user");
    const loc = await locateUrl(s.store, hosts, u);
    if (!loc) throw no("NONEXISTENT", "URL names no mailbox of yours");
    const key = await mailboxKey(s.store.keys, st.account.id, loc.mailbox.id, true);
    if (!key) throw no(null, "Cannot create the mailbox access key");
    // RFC 4467 §9: url-full = rump ":" mechanism ":" token (the RFC's examples write "internal")
    out.push(`${u.urlauth.rump}:${mechanism.toLowerCase()}:${urlauthToken(key, u.urlauth.rump)}`);
  }
  await s.write(`* GENURLAUTH ${out.map((u) => stringText(u, false)).join(" ")}\r\n`);
  return { code: null, text: "GENURLAUTH completed" };
}

/**
 * RFC 4467 §7.3, §8: one `* URLFETCH url data` per URL; a URL that is invalid, not authorized for
 * this user, expired or names nothing gets NIL — the command itself does not fail.
 */
export async function urlfetch(
  s: Session,
  _tag: string,
  cmd: Extract<Command, { name: "URLFETCH" }>,
  st: AuthenticatedState,
): Promise<OkResult> {
  if (cmd.urls.length > maxUrls(s)) throw bad(`At most ${maxUrls(s)} URLs per command`);
  for (const url of cmd.urls) {
    const r = await resolveAuthorizedUrl(s.store, s.ctx.urlHosts, url, {
      kind: "imap",
      address: st.account.address,
    });
    const head = `* URLFETCH ${stringText(url, false)} `;
    if ("failure" in r) {
      s.ctx.opts.logger.info({ session: s.id, reason: r.failure }, "imap urlfetch refused");
      await s.write(`${head}NIL\r\n`);
    } else {
      await s.write(
        Buffer.concat([Buffer.from(head, "latin1"), literal(Buffer.from(r.data)), Buffer.from("\r\n")]),
      );
    }
  }
  return { code: null, text: "URLFETCH completed" };
}

/**
 * RFC 4467 §7.1: without arguments every mailbox access key of the user is removed (new ones are
 * made by the next GENURLAUTH); with a mailbox its key is replaced. Either way the URLs
 * authorized with the old keys stop resolving.
 */
export async function resetkey(
  s: Session,
  _tag: string,
  cmd: Extract<Command, { name: "RESETKEY" }>,
  st: AuthenticatedState,
): Promise<OkResult> {
  if (cmd.mailbox === null) {
    await removeAllKeys(s.store.keys, st.account.id);
    return { code: null, text: "All keys removed" };
  }
  for (const m of cmd.mechanisms) checkMechanism(m);
  // the user's key for its own mailbox or for one shared with it (shared.ts: no "l" = none)
  const acc = await resolveMailbox(s, mailboxIn(s, cmd.mailbox));
  if (!acc) throw no("NONEXISTENT", "Mailbox does not exist");
  await resetMailboxKey(s.store.keys, st.account.id, acc.mailbox.id);
  return { code: URLMECH, text: "RESETKEY completed" };
}
