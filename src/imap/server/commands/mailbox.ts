/**
 * Authenticated-state commands (RFC 9051 §6.3): SELECT/EXAMINE (+CONDSTORE/QRESYNC, RFC 7162),
 * CREATE (+USE, RFC 6154), DELETE, RENAME, SUBSCRIBE/UNSUBSCRIBE, LIST (LIST-EXTENDED RFC 5258,
 * LIST-STATUS RFC 5819, SPECIAL-USE RFC 6154), LSUB (RFC 3501), NAMESPACE (RFC 2342), STATUS
 * (+SIZE RFC 8438, HIGHESTMODSEQ, APPENDLIMIT RFC 7889, MAILBOXID RFC 8474), APPEND
 * (+MULTIAPPEND RFC 3502, APPENDUID RFC 4315), QUOTA (RFC 9208).
 */

import { encodeNulParts } from "../../../mime/index.ts";
import { type Mailbox, type MessageStates, SPECIAL_USES, type SpecialUse } from "../../../store/types.ts";
import type {
  Command,
  ListCommand,
  SelectCommand,
  SequenceSet,
  StatusItem,
} from "../../protocol/commands.ts";
import { SYSTEM_FLAGS } from "../../protocol/flags.ts";
import { flagList } from "../../protocol/response.ts";
import type { OkResult } from "../dispatch.ts";
import { bad, no } from "../errors.ts";
import { clientFlags, objectId } from "../format.ts";
import {
  compileListPattern,
  DELIM,
  joinReference,
  type MatchCounter,
  mailboxIn,
  mailboxOut,
  matchListPattern,
  patternIn,
} from "../names.ts";
import { SelectedMailbox, uidSetString } from "../selected-mailbox.ts";
import type { Session } from "../session.ts";
import {
  type Access,
  permittedFlags,
  requireRights,
  resolveMailbox,
  SHARED_ROOT,
  sharedCreateTarget,
  splitShared,
} from "../shared.ts";
import { URLMECH } from "../urlauth.ts";
import { withCatenated } from "./catenate.ts";

export function mailboxObjectId(mb: Pick<Mailbox, "id">): string {
  return objectId(`M${mb.id}`);
}

/**
 * The mailbox a client names (own, or shared with the session: shared.ts) with the session's
 * rights; NO when it does not exist or is not visible, NO [NOPERM] without the rights in `need`
 * (RFC 4314 §4).
 */
export async function requireAccess(s: Session, raw: string, tryCreate = false, need = ""): Promise<Access> {
  const acc = await resolveMailbox(s, mailboxIn(s, raw));
  // RFC 9051 §6.3.12 / §6.4.7: TRYCREATE for APPEND/COPY/MOVE targets (not for shared ones)
  if (!acc)
    throw no(
      tryCreate && !splitShared(mailboxIn(s, raw)) ? "TRYCREATE" : "NONEXISTENT",
      "Mailbox does not exist",
    );
  requireRights(acc.rights, need, need);
  return acc;
}

/** requireAccess's mailbox (named as the session sees it) */
export async function requireMailbox(
  s: Session,
  raw: string,
  tryCreate = false,
  need = "",
): Promise<Mailbox> {
  return (await requireAccess(s, raw, tryCreate, need)).mailbox;
}

// --- SELECT / EXAMINE -----------------------------------------------------------------------

export async function select(s: Session, _tag: string, cmd: SelectCommand): Promise<OkResult> {
  // RFC 7162 §3.2.5: QRESYNC parameter only after ENABLE QRESYNC
  if (cmd.qresync && !s.qresync) throw bad("QRESYNC is not enabled");
  if (cmd.condstore) s.condstore = true; // RFC 7162 §3.1.8
  const hadView = s.view !== null;
  s.closeView();
  // RFC 9051 §7.1 CLOSED: the previously selected mailbox is now closed
  if (hadView) await s.write("* OK [CLOSED] Previous mailbox closed\r\n");
  // RFC 4314 §4 SELECT/EXAMINE need "r"; without any right to change messages it is read-only
  const access = await requireAccess(s, cmd.mailbox, false, "r");
  const mb = access.mailbox;
  const readOnly = cmd.name === "EXAMINE" || ![..."stwe"].some((r) => access.rights.includes(r));
  // compact rows (parallel arrays, flags serialised): no per-message objects on 100k mailboxes
  const rows = await s.store.listMessageStates(mb.id);
  const n = rows.uids.length;
  // rows may include messages appended after getMailbox(): UIDNEXT must stay above them
  const uidNext = Math.max(mb.uidNext, (n > 0 ? rows.uids[n - 1]! : 0) + 1);
  const view = new SelectedMailbox(
    mb.id,
    mb.name,
    readOnly,
    mb.uidValidity,
    uidNext,
    mb.highestModseq,
    rows.uids,
  );
  view.ownerId = mb.accountId;
  view.rights = access.rights;

  const { firstUnseen, keywords } = summaryOf(rows);
  // RFC 9051 §7.3.5: FLAGS lists every keyword in use (keywords compare case-insensitively);
  // later FETCHes that show a new keyword are preceded by a fresh FLAGS (Session.keywordAnnouncement)
  view.addKeywords(keywords);
  const flags = [...SYSTEM_FLAGS, ...view.keywordList()];
  // RFC 3501 §2.3.2: a read-write SELECT claims the messages no session has seen yet
  await s.claimRecent(view);
  let out = `* ${view.exists} EXISTS\r\n`;
  if (!s.rev2) out += `* ${view.recentCount()} RECENT\r\n`; // RFC 3501 §6.3.1 (RECENT removed in RFC 9051)
  out += `* FLAGS ${flagList(flags)}\r\n`;
  // RFC 9051 §7.1 PERMANENTFLAGS: \* = new keywords may be created
  const permanent = permittedFlags(access.rights, [...flags, "\\*"]);
  out += `* OK [PERMANENTFLAGS ${readOnly ? "()" : flagList(permanent)}] Flags permitted\r\n`;
  if (!s.rev2 && firstUnseen > 0) out += `* OK [UNSEEN ${firstUnseen}] First unseen\r\n`;
  out += `* OK [UIDVALIDITY ${mb.uidValidity}] UIDs valid\r\n`;
  out += `* OK [UIDNEXT ${uidNext}] Predicted next UID\r\n`;
  // RFC 7162 §3.1.2.1: HIGHESTMODSEQ on every successful SELECT/EXAMINE
  out += `* OK [HIGHESTMODSEQ ${mb.highestModseq}] Highest\r\n`;
  out += `* OK [MAILBOXID (${mailboxObjectId(mb)})] Ok\r\n`; // RFC 8474 §4.2
  out += `* OK [${URLMECH}] Ok\r\n`; // RFC 4467 §8 URLMECH: the URLAUTH mechanisms
  if (s.rev2) out += `* LIST (${(await attributesOf(s, mb)).join(" ")}) "/" ${mailboxOut(s, mb.name)}\r\n`;
  await s.write(out);

  // RFC 7162 §3.2.5.2: QRESYNC resynchronisation when UIDVALIDITY matches
  const q = cmd.qresync;
  if (q && q.uidValidity === mb.uidValidity) {
    const ch = await s.store.changesSince(mb.id, q.modseq);
    let vanished = ch.expunged;
    if (q.knownUids) {
      const ranges = uidRangesOf(q.knownUids, Math.max(view.maxUid(), mb.uidNext - 1));
      vanished = vanished.filter((u) => ranges.some(([a, b]) => u >= a && u <= b));
    }
    if (vanished.length > 0) await s.write(`* VANISHED (EARLIER) ${uidSetString(vanished)}\r\n`);
    let buf = "";
    const since = q.modseq;
    for (let i = 0; i < n; i++) {
      const m = rows.modseqs[i]!;
      if (m <= since) continue;
      const uid = rows.uids[i]!;
      const seq = i + 1; // the view was built from these rows
      const fl = rows.flags[i]!;
      buf += `* ${seq} FETCH (UID ${uid} FLAGS ${recentFlags(s, view, uid, fl)} MODSEQ (${m}))\r\n`;
      if (buf.length > 65536) {
        await s.write(buf);
        buf = "";
      }
    }
    if (buf) await s.write(buf);
  }
  view.keepSnapshot(rows);
  s.selectView(view);
  return { code: readOnly ? "READ-ONLY" : "READ-WRITE", text: `${cmd.name} completed` };
}

interface StatesSummary {
  /** sequence number of the first message without \\Seen in the rows; 0 = none */
  firstUnseen: number;
  /** keywords in use */
  keywords: string[];
}

/**
 * per states snapshot: the store hands the same MessageStates again while the mailbox is
 * unchanged (its state cache), so a warm SELECT does not scan 100k flag texts again
 */
const summaries = new WeakMap<MessageStates, StatesSummary>();

function summaryOf(rows: MessageStates): StatesSummary {
  const known = summaries.get(rows);
  if (known) return known;
  // flag texts repeat (a handful of combinations per mailbox): inspect each distinct text once
  let firstUnseen = 0;
  const texts = new Set<string>();
  const n = rows.uids.length;
  for (let i = 0; i < n; i++) {
    const t = rows.flags[i]!;
    // stored flags are normalised ("\\Seen" canonical) and keywords are atoms without "\\"
    if (firstUnseen === 0 && !t.includes("\\Seen")) firstUnseen = i + 1;
    texts.add(t);
  }
  const keywords: string[] = [];
  for (const t of texts) {
    if (t === "") continue;
    for (const f of t.split(" ")) if (!f.startsWith("\\")) keywords.push(f);
  }
  const s = { firstUnseen, keywords };
  summaries.set(rows, s);
  return s;
}

/** stored flag text as a FLAGS list for this session (\\Recent added for IMAP4rev1) */
function recentFlags(s: Session, view: SelectedMailbox, uid: number, text: string): string {
  if (!s.rev2 && view.isRecent(uid)) return text === "" ? "(\\Recent)" : `(${text} \\Recent)`;
  return `(${text})`;
}

/** uid ranges of a client-supplied set (for QRESYNC known-uids); "*" = maxUid */
export function uidRangesOf(set: SequenceSet, maxUid: number): Array<[number, number]> {
  if (set.type !== "ranges") return [];
  return set.ranges.map((r) => {
    const a = r.start === "*" ? maxUid : r.start;
    const b = r.end === "*" ? maxUid : r.end;
    return a <= b ? [a, b] : [b, a];
  });
}

// --- CREATE / DELETE / RENAME / SUBSCRIBE ----------------------------------------------------

function validateNewName(name: string): void {
  if (
    name === "" ||
    name.includes("*") ||
    name.includes("%") ||
    name.startsWith(DELIM) ||
    name.includes("//")
  ) {
    throw no("CANNOT", "Invalid mailbox name");
  }
  if ([...name].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f))
    throw no("CANNOT", "Invalid mailbox name");
}

export async function create(
  s: Session,
  _tag: string,
  cmd: Extract<Command, { name: "CREATE" }>,
): Promise<OkResult> {
  const name = mailboxIn(s, cmd.mailbox);
  if (name === "INBOX") throw no("ALREADYEXISTS", "INBOX always exists");
  validateNewName(name);
  let use: SpecialUse | null = null;
  for (const u of cmd.specialUse) {
    const canon = SPECIAL_USES.find((x) => x.toLowerCase() === u.toLowerCase());
    // RFC 6154 §3: USEATTR when the attribute is not supported
    if (!canon) throw no("USEATTR", `Unsupported special-use attribute ${u}`);
    if (use !== null && use !== canon) throw no("USEATTR", "Only one special-use attribute per mailbox");
    use = canon as SpecialUse;
  }
  // RFC 4314 §4 CREATE: "k" on the parent of a mailbox created in another user's namespace
  const target = await sharedCreateTarget(s, name);
  const mb = target
    ? await s.store.createMailbox(target[0], target[1], use)
    : await s.store.createMailbox(s.authenticated.account.id, name, use);
  // RFC 8474 §4.1: the new mailbox's MAILBOXID in the tagged OK
  return { code: `MAILBOXID (${mailboxObjectId(mb)})`, text: "CREATE completed" };
}

export async function deleteMailbox(
  s: Session,
  _tag: string,
  cmd: Extract<Command, { name: "DELETE" }>,
): Promise<OkResult> {
  const name = mailboxIn(s, cmd.mailbox);
  if (name === "INBOX") throw no("CANNOT", "INBOX cannot be deleted"); // RFC 9051 §6.3.5
  const { mailbox: mb, ownerName } = await requireAccess(s, cmd.mailbox, false, "x"); // RFC 4314 §4 DELETE
  await s.store.deleteMailbox(mb.accountId, ownerName);
  if (s.view && s.view.mailboxId === mb.id) {
    s.closeView();
    await s.write("* OK [CLOSED] Selected mailbox was deleted\r\n");
  }
  return { code: null, text: "DELETE completed" };
}

export async function rename(
  s: Session,
  _tag: string,
  cmd: Extract<Command, { name: "RENAME" }>,
): Promise<OkResult> {
  const to = mailboxIn(s, cmd.to);
  if (to === "INBOX") throw no("ALREADYEXISTS", "INBOX exists");
  validateNewName(to);
  // RFC 4314 §4 RENAME: "x" on the old name, "k" on the new parent (within one owner's mailboxes)
  const src = await requireAccess(s, cmd.from, false, "x");
  const target = await sharedCreateTarget(s, to);
  if ((target?.[0] ?? s.authenticated.account.id) !== src.mailbox.accountId)
    throw no("CANNOT", "Cannot rename a mailbox into another user's mailboxes");
  await s.store.renameMailbox(src.mailbox.accountId, src.ownerName, target?.[1] ?? to);
  return { code: null, text: "RENAME completed" };
}

export async function subscribe(
  s: Session,
  _tag: string,
  cmd: Extract<Command, { name: "SUBSCRIBE" | "UNSUBSCRIBE" }>,
): Promise<OkResult> {
  const name = mailboxIn(s, cmd.mailbox);
  const on = cmd.name === "SUBSCRIBE";
  if (on) await requireMailbox(s, cmd.mailbox); // RFC 9051 §6.3.7: MAY refuse nonexistent
  // a shared mailbox (checked just above) is subscribed under the name this account sees
  await s.store.setSubscribed(s.authenticated.account.id, name, on, { anyName: !!splitShared(name) });
  return { code: null, text: `${cmd.name} completed` };
}

export async function namespace(s: Session): Promise<OkResult> {
  // RFC 2342 / RFC 9051 §6.3.10: one personal namespace and the other users' one (shared.ts), "/"
  await s.write(`* NAMESPACE (("" "/")) (("${SHARED_ROOT}/" "/")) NIL\r\n`);
  return { code: null, text: "NAMESPACE completed" };
}

/** shared mailboxes listed without the "r" right: LIST-STATUS leaves them out (RFC 4314 §4 STATUS) */
const unreadable = new WeakSet<Mailbox>();

/** mailboxes of other users visible to the session ("l"), named `Shared/<owner>/<name>` */
async function sharedMailboxes(s: Session): Promise<Mailbox[]> {
  const out: Mailbox[] = [];
  for (const sh of await s.store.sharedWith(s.authenticated.account.id)) {
    if (!sh.rights.includes("l")) continue;
    const mb = { ...sh.mailbox, name: `${SHARED_ROOT}/${sh.ownerAddress}/${sh.mailbox.name}` };
    if (!sh.rights.includes("r")) unreadable.add(mb);
    out.push(mb);
  }
  return out;
}

// --- LIST / LSUB -----------------------------------------------------------------------------

interface Node {
  name: string;
  mailbox: Mailbox | null;
  subscribed: boolean;
  hasChildren: boolean;
  /** a descendant is subscribed (RFC 5258 §3.5 CHILDINFO) */
  childSubscribed: boolean;
}

function parentsOf(name: string): string[] {
  const parts = name.split(DELIM);
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join(DELIM));
  return out;
}

function buildTree(mbs: Mailbox[], subs: Set<string> | null): Map<string, Node> {
  const nodes = new Map<string, Node>();
  const get = (name: string): Node => {
    let n = nodes.get(name);
    if (!n) {
      n = { name, mailbox: null, subscribed: false, hasChildren: false, childSubscribed: false };
      nodes.set(name, n);
    }
    return n;
  };
  for (const mb of mbs) get(mb.name).mailbox = mb;
  if (subs) for (const n of subs) get(n).subscribed = true;
  for (const n of [...nodes.values()]) {
    if (!n.mailbox && !n.subscribed) continue;
    for (const p of parentsOf(n.name)) {
      const pn = get(p);
      if (n.mailbox) pn.hasChildren = true;
      if (n.subscribed) pn.childSubscribed = true;
    }
  }
  return nodes;
}

function sortNames(a: string, b: string): number {
  if (a === "INBOX") return -1;
  if (b === "INBOX") return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

async function attributesOf(s: Session, mb: Mailbox): Promise<string[]> {
  const mbs = await s.store.listMailboxes(s.authenticated.account.id);
  const prefix = mb.name + DELIM;
  const attrs = [mbs.some((m) => m.name.startsWith(prefix)) ? "\\HasChildren" : "\\HasNoChildren"];
  if (mb.specialUse) attrs.push(mb.specialUse);
  return attrs;
}

/** matcher work between two yields to the event loop (other sessions of this worker go on) */
const MATCH_STEPS_PER_TURN = 1 << 20;

/**
 * A name matcher for the client's patterns (reference joined to each, RFC 9051 §6.3.9), matched
 * in bounded work (list-pattern.ts); `pause()` yields to the event loop after much work.
 */
function patternMatcher(s: Session, reference: string, patterns: string[]) {
  const ref = patternIn(s, reference);
  const compiled = [
    ...new Set(patterns.filter((p) => p !== "").map((p) => joinReference(ref, patternIn(s, p)))),
  ].map(compileListPattern);
  const counter: MatchCounter = { steps: 0 };
  let turnStart = 0;
  return {
    matches: (name: string) => compiled.some((p) => matchListPattern(p, name, counter)),
    async pause(): Promise<void> {
      if (counter.steps - turnStart < MATCH_STEPS_PER_TURN) return;
      turnStart = counter.steps;
      await new Promise<void>((resolve) => setImmediate(resolve));
    },
  };
}

export async function list(s: Session, _tag: string, cmd: ListCommand): Promise<OkResult> {
  const acc = s.authenticated.account;
  const sel = cmd.selection;
  const ret = cmd.returnOpts;
  // RFC 9051 §6.3.9: an empty pattern asks for the delimiter and root
  if (cmd.patterns.length === 1 && cmd.patterns[0] === "" && !sel.subscribed && !sel.specialUse) {
    await s.write(`* LIST (\\Noselect) "/" ""\r\n`);
    return { code: null, text: "LIST completed" };
  }
  const mbs = [...(await s.store.listMailboxes(acc.id)), ...(await sharedMailboxes(s))];
  const wantSubs = sel.subscribed || ret.subscribed;
  const subs = wantSubs ? new Set(await s.store.listSubscriptions(acc.id)) : null;
  const nodes = buildTree(mbs, subs);
  const pm = patternMatcher(s, cmd.reference, cmd.patterns);
  const names = [...nodes.keys()].sort(sortNames);
  const matched = new Set<string>();
  for (const name of names) {
    if (pm.matches(name)) matched.add(name);
    await pm.pause();
  }
  const restricted = sel.subscribed || sel.specialUse;
  // RFC 5258 §3.1 selection criteria (SUBSCRIBED; RFC 6154 §5.1 SPECIAL-USE)
  const meets = (n: Node) =>
    (!sel.subscribed || n.subscribed) && (!sel.specialUse || !!n.mailbox?.specialUse);
  // RFC 5258 §3.5 CHILDINFO (with RECURSIVEMATCH): which names have a descendant meeting the
  // criteria, and which have one that this response does not return itself (its name does not
  // match a pattern). A name that does not meet the criteria is returned for its children only
  // in the second case: "servers SHOULD suppress redundant LIST responses".
  const childMeets = new Set<string>();
  const childHidden = new Set<string>();
  if (sel.recursiveMatch && restricted) {
    for (const n of nodes.values()) {
      if (!meets(n)) continue;
      const hidden = !matched.has(n.name);
      for (const p of parentsOf(n.name)) {
        childMeets.add(p);
        if (hidden) childHidden.add(p);
      }
    }
  }
  let out = "";
  for (const name of names) {
    if (!matched.has(name)) continue;
    const n = nodes.get(name)!;
    let childInfo = false;
    if (restricted) {
      if (meets(n))
        childInfo = childMeets.has(name); // RFC 9051 §6.3.9 table: (<attr>) + CHILDINFO
      else if (childHidden.has(name)) childInfo = true;
      else continue;
    } else if (!n.mailbox && !n.hasChildren) {
      continue; // subscribed-only name, not in a plain LIST
    }
    const attrs: string[] = [];
    if (!n.mailbox) {
      // RFC 5258 §3.4: \NonExistent (implies \Noselect); IMAP4rev1 clients know \Noselect
      attrs.push(s.rev2 || cmd.extended ? "\\NonExistent" : "\\Noselect");
    }
    // RFC 3348 CHILDREN / RFC 5258 §4
    attrs.push(n.hasChildren ? "\\HasChildren" : "\\HasNoChildren");
    if (n.subscribed && wantSubs) attrs.push("\\Subscribed");
    // RFC 6154 §2: special-use attributes are returned by default (and with RETURN (SPECIAL-USE))
    if (n.mailbox?.specialUse) attrs.push(n.mailbox.specialUse);
    out += `* LIST (${attrs.join(" ")}) "/" ${mailboxOut(s, name)}`;
    if (childInfo) out += ` ("CHILDINFO" (${childInfoTags(sel).join(" ")}))`;
    out += "\r\n";
    if (ret.status && n.mailbox && !unreadable.has(n.mailbox)) {
      await s.write(out);
      out = "";
      // RFC 5819 §2: STATUS after the LIST response of each selectable mailbox
      await s.write(await statusLine(s, n.mailbox, ret.status));
    }
    if (out.length > 65536) {
      await s.write(out);
      out = "";
    }
  }
  if (out) await s.write(out);
  return { code: null, text: "LIST completed" };
}

/** RFC 5258 §3.5: CHILDINFO names the selection criteria its children meet */
function childInfoTags(sel: ListCommand["selection"]): string[] {
  const tags: string[] = [];
  if (sel.subscribed) tags.push('"SUBSCRIBED"');
  if (sel.specialUse) tags.push('"SPECIAL-USE"');
  return tags;
}

export async function lsub(
  s: Session,
  _tag: string,
  cmd: Extract<Command, { name: "LSUB" }>,
): Promise<OkResult> {
  const acc = s.authenticated.account;
  if (cmd.pattern === "") {
    await s.write(`* LSUB (\\Noselect) "/" ""\r\n`);
    return { code: null, text: "LSUB completed" };
  }
  const pm = patternMatcher(s, cmd.reference, [cmd.pattern]);
  const subs = await s.store.listSubscriptions(acc.id);
  const existing = new Set((await s.store.listMailboxes(acc.id)).map((m) => m.name));
  for (const m of await sharedMailboxes(s)) existing.add(m.name);
  const subSet = new Set(subs);
  const entries = new Map<string, string[]>();
  for (const name of subs) {
    if (pm.matches(name)) {
      entries.set(name, existing.has(name) ? [] : ["\\Noselect"]);
    } else {
      // RFC 3501 §6.3.9: with "%", a parent of a matching subscribed child is listed \Noselect
      for (const p of parentsOf(name)) {
        if (!subSet.has(p) && !entries.has(p) && pm.matches(p)) entries.set(p, ["\\Noselect"]);
      }
    }
    await pm.pause();
  }
  let out = "";
  for (const name of [...entries.keys()].sort(sortNames)) {
    out += `* LSUB (${entries.get(name)!.join(" ")}) "/" ${mailboxOut(s, name)}\r\n`;
  }
  if (out) await s.write(out);
  return { code: null, text: "LSUB completed" };
}

// --- STATUS ----------------------------------------------------------------------------------

export async function statusLine(s: Session, mb: Mailbox, items: StatusItem[]): Promise<string> {
  const needCounts = items.some((i) => i === "MESSAGES" || i === "UNSEEN" || i === "SIZE" || i === "DELETED");
  const counts = needCounts ? await s.store.mailboxCounts(mb.id) : null;
  const parts: string[] = [];
  for (const it of items) {
    switch (it) {
      case "MESSAGES":
        parts.push(`MESSAGES ${counts!.messages}`);
        break;
      case "UIDNEXT":
        parts.push(`UIDNEXT ${mb.uidNext}`);
        break;
      case "UIDVALIDITY":
        parts.push(`UIDVALIDITY ${mb.uidValidity}`);
        break;
      case "UNSEEN":
        parts.push(`UNSEEN ${counts!.unseen}`);
        break;
      case "DELETED":
        parts.push(`DELETED ${counts!.deleted}`);
        break;
      case "SIZE":
        parts.push(`SIZE ${counts!.size}`); // RFC 8438
        break;
      case "HIGHESTMODSEQ":
        parts.push(`HIGHESTMODSEQ ${mb.highestModseq}`); // RFC 7162 §3.1.9
        break;
      case "RECENT":
        // RFC 3501 §6.3.10: messages not yet claimed by a read-write session (§2.3.2)
        parts.push(`RECENT ${await s.store.countUnclaimed(mb.id)}`);
        break;
      case "APPENDLIMIT":
        parts.push(`APPENDLIMIT ${s.ctx.opts.limits.maxLiteralSize}`); // RFC 7889 §3
        break;
      case "MAILBOXID":
        parts.push(`MAILBOXID (${mailboxObjectId(mb)})`); // RFC 8474 §4
        break;
    }
  }
  return `* STATUS ${mailboxOut(s, mb.name)} (${parts.join(" ")})\r\n`;
}

export async function status(
  s: Session,
  _tag: string,
  cmd: Extract<Command, { name: "STATUS" }>,
): Promise<OkResult> {
  const mb = await requireMailbox(s, cmd.mailbox, false, "r"); // RFC 4314 §4 STATUS
  await s.write(await statusLine(s, mb, cmd.items));
  return { code: null, text: "STATUS completed" };
}

// --- APPEND ----------------------------------------------------------------------------------

export async function append(
  s: Session,
  _tag: string,
  cmd: Extract<Command, { name: "APPEND" }>,
): Promise<OkResult> {
  const mb = await requireMailbox(s, cmd.mailbox, true, "i"); // RFC 4314 §4 APPEND
  const limit = s.ctx.opts.limits.maxLiteralSize;
  const messages = await withCatenated(s, cmd.messages); // RFC 4469 CATENATE
  const inputs = messages.map((m) => {
    if (m.data.length > limit) throw no("TOOBIG", "Message too large"); // RFC 7889
    if (m.data.length === 0) throw no("CANNOT", "Empty message");
    return {
      raw: storableForm(m.data),
      flags: clientFlags(m.flags),
      ...(m.date ? { internalDate: m.date } : {}),
    };
  });
  const results =
    inputs.length === 1
      ? [await s.store.append(mb.accountId, mb.id, inputs[0]!)] // a shared mailbox's owner pays the quota
      : await s.store.appendMany(mb.accountId, mb.id, inputs);
  if (s.view && s.view.mailboxId === mb.id) s.view.dirty = true;
  const first = results[0]!;
  // RFC 4315 §3 APPENDUID (uid-set in message order for MULTIAPPEND)
  const uids = results.map((r) => r.uid);
  const sorted = uids.every((u, i) => i === 0 || u > uids[i - 1]!);
  const set = sorted ? uidSetString(uids) : uids.join(",");
  return { code: `APPENDUID ${first.uidValidity} ${set}`, text: "APPEND completed" };
}

/**
 * Binary content (RFC 3516 §4.4, literal8): parts holding NUL octets are stored base64-encoded
 * (mime encodeNulParts) so BODY[] can serve them in ordinary literals. A NUL the encoding cannot
 * take away (in a header, a multipart preamble, a part in an unknown encoding) cannot be stored:
 * NO [UNKNOWN-CTE], as §4.4 requires of a server that cannot store the binary content.
 */
export function storableForm(data: Buffer): Uint8Array {
  if (data.indexOf(0) === -1) return data;
  const enc = encodeNulParts(data) ?? data;
  if (enc.indexOf(0) !== -1) throw no("UNKNOWN-CTE", "NUL octets outside a MIME part body cannot be stored");
  return enc;
}

// --- QUOTA (RFC 9208) ------------------------------------------------------------------------

/**
 * RFC 9208: each account is one quota root: the user's own is named "", another user's (whose
 * mailboxes are shared with this one, RFC 4314) `Shared/<owner address>` — a shared mailbox is
 * charged to its owner. In the formal syntax quota-list holds at least one quota-resource and
 * each one has a limit, so a resource without a limit is not reported and an account without any
 * limit has no quota root: GETQUOTAROOT (§4.1.2) answers `* QUOTAROOT <mailbox>` naming no root
 * (§4.2.2), GETQUOTA (§4.1.1) NO [NONEXISTENT]. Another user's root is shown only to a user with
 * "r" on at least one of that user's mailboxes (the usage is the owner's information).
 */
async function quotaLine(s: Session, accountId: number, root: string): Promise<string | null> {
  const acc = await s.store.getAccountById(accountId);
  if (!acc) return null;
  const res: string[] = [];
  // RFC 9208 §5.1 STORAGE in units of 1024 octets; §5.2 MESSAGE
  if (acc.quotaBytes > 0)
    res.push(`STORAGE ${Math.ceil(acc.usedBytes / 1024)} ${Math.floor(acc.quotaBytes / 1024)}`);
  if (acc.quotaMessages > 0) res.push(`MESSAGE ${acc.usedMessages} ${acc.quotaMessages}`);
  return res.length > 0 ? `* QUOTA ${mailboxOut(s, root)} (${res.join(" ")})\r\n` : null;
}

/** the account a quota root names, if the session may see it: "" = its own, `Shared/<owner>` */
async function quotaRootAccount(s: Session, root: string): Promise<number | null> {
  const self = s.authenticated.account.id;
  if (root === "") return self;
  const sh = splitShared(root);
  if (sh?.[1] !== "") return null; // the owner's root only, not a mailbox below it
  const owner = sh[0];
  const shared = await s.store.sharedWith(self);
  const m = shared.find((x) => x.ownerAddress.toLowerCase() === owner && x.rights.includes("r"));
  return m ? m.mailbox.accountId : null;
}

export async function getquota(
  s: Session,
  _tag: string,
  cmd: Extract<Command, { name: "GETQUOTA" }>,
): Promise<OkResult> {
  const root = mailboxIn(s, cmd.root);
  const id = await quotaRootAccount(s, root);
  const line = id === null ? null : await quotaLine(s, id, root);
  if (line === null) throw no("NONEXISTENT", "No such quota root");
  await s.write(line);
  return { code: null, text: "GETQUOTA completed" };
}

export async function getquotaroot(
  s: Session,
  _tag: string,
  cmd: Extract<Command, { name: "GETQUOTAROOT" }>,
): Promise<OkResult> {
  const acc = await requireAccess(s, cmd.mailbox);
  const mb = acc.mailbox;
  // RFC 9208 §4.1.2 with RFC 4314: a shared mailbox's root is its owner's (charged there), shown
  // with "r" on it (as STATUS, §4 of RFC 4314)
  let line: string | null = null;
  let root = "";
  if (acc.owner === null) line = await quotaLine(s, mb.accountId, "");
  else if (acc.rights.includes("r")) {
    root = `${SHARED_ROOT}${DELIM}${acc.owner}`;
    line = await quotaLine(s, mb.accountId, root);
  }
  const name = mailboxOut(s, mb.name);
  await s.write(
    line === null ? `* QUOTAROOT ${name}\r\n` : `* QUOTAROOT ${name} ${mailboxOut(s, root)}\r\n${line}`,
  );
  return { code: null, text: "GETQUOTAROOT completed" };
}

export async function setquota(): Promise<OkResult> {
  // RFC 9208 §4.1.3: quotas are set by the administrator
  throw no("NOPERM", "Quota is set by the administrator");
}
