/**
 * IMAP NOTIFY (RFC 5465) for one session: which changes the client asked for (NotifySpec, built
 * and checked by commands/notify.ts) and the Notifier that turns change-feed beacons into
 * unsolicited responses.
 *
 * - Beacons come from the change feed (store/feed: every worker process sees every commit of the
 *   account). onBeacon only records WHAT is waiting — a set of mailbox ids, a flag for
 *   account-level changes (create/rename/delete/subscribe), METADATA targets — never response
 *   text; the responses are computed from the store when sent. The waiting set is bounded
 *   (imap.limits.max_notify_queue): beyond it the client gets `* OK [NOTIFICATIONOVERFLOW]` and
 *   NOTIFY is off (RFC 5465 §5.8), as if it had sent NOTIFY NONE.
 * - Responses go out whenever no command is running: between commands and during IDLE (RFC 5465
 *   §1: no need to IDLE). The session pauses the notifier while a command runs (pause/resume), so
 *   notifications never split a command's responses.
 * - Selected mailbox (SELECTED / SELECTED-DELAYED, RFC 5465 §6.1/§6.2): the session's own view
 *   updates (EXISTS, FETCH FLAGS with MODSEQ under CONDSTORE, EXPUNGE or VANISHED under QRESYNC)
 *   are pushed; with SELECTED-DELAYED expunges wait for a command that may carry them (or IDLE).
 *   MessageNew's fetch attributes are answered by the FETCH handler for the new uids.
 * - Other mailboxes: STATUS (MESSAGES UIDNEXT UIDVALIDITY, UNSEEN with FlagChange, HIGHESTMODSEQ
 *   under CONDSTORE), sent only when an item the client asked about moved (RFC 5465 §5.1–§5.3); LIST for MailboxName / SubscriptionChange (§5.4, §5.5;
 *   OLDNAME for renames, \NonExistent for deletions) found by comparing the account's mailbox
 *   list with the previous one; METADATA (RFC 5464 §4.4.2, entry names only) for
 *   MailboxMetadataChange / ServerMetadataChange (§5.10, §5.11).
 * - The client's own changes (beacons whose origin is this session, store/feed/origin.ts) are not
 *   reported for other mailboxes, the mailbox list or METADATA (RFC 5465 §5: the server SHOULD
 *   omit notifying the client of events it caused); the selected mailbox's own updates are the
 *   ordinary IMAP responses and stay.
 * - Shared mailboxes (RFC 4314, imap/server/shared.ts): SUBTREE / MAILBOXES naming
 *   `Shared/<owner>/…` subscribe to the owner's feed; a change there is reported (STATUS, message
 *   events only) while the session holds "l" and "r" on the mailbox, read when it is sent — a
 *   mailbox the user lost access to is not monitored until access comes back (RFC 5465 §5.9).
 *   SUBSCRIBED covers the shared names the user subscribed to (§6.5); PERSONAL and INBOXES cover
 *   the user's own mailboxes only (§6.3, §6.4).
 */
import type { Beacon, Mailbox } from "../../store/types.ts";
import type { FetchAtt, NotifyFilter } from "../protocol/commands.ts";
import { astring } from "../protocol/response.ts";
import { fetch } from "./commands/fetch.ts";
import { statusLine } from "./commands/mailbox.ts";
import { DELIM, mailboxOut } from "./names.ts";
import type { SelectedMailbox } from "./selected-mailbox.ts";
import type { Session } from "./session.ts";
import { SHARED_ROOT, sharedName, splitShared } from "./shared.ts";

export const DEFAULT_MAX_NOTIFY_QUEUE = 1000;

/** RFC 5465 §5 events this server reports (upper-cased) → as named in BADEVENT */
export const SUPPORTED_EVENTS: ReadonlyMap<string, string> = new Map([
  ["MESSAGENEW", "MessageNew"],
  ["MESSAGEEXPUNGE", "MessageExpunge"],
  ["FLAGCHANGE", "FlagChange"],
  ["MAILBOXNAME", "MailboxName"],
  ["SUBSCRIPTIONCHANGE", "SubscriptionChange"],
  ["MAILBOXMETADATACHANGE", "MailboxMetadataChange"],
  ["SERVERMETADATACHANGE", "ServerMetadataChange"],
]);

/** a filter with its mailbox names in store form */
export type ResolvedFilter =
  | { kind: "INBOXES" | "PERSONAL" | "SUBSCRIBED" }
  | { kind: "SUBTREE" | "MAILBOXES"; names: string[] };

export interface NotifyGroupSpec {
  filter: ResolvedFilter;
  events: ReadonlySet<string>;
}

export interface NotifySpec {
  /** SELECTED / SELECTED-DELAYED group, if any */
  selected: { delayed: boolean; events: ReadonlySet<string>; fetch: FetchAtt[] | null } | null;
  /** the other groups in the client's order: the first matching a mailbox applies (RFC 5465 §6) */
  groups: NotifyGroupSpec[];
}

export function filterMatches(f: ResolvedFilter | NotifyFilter, name: string, subscribed: boolean): boolean {
  switch (f.kind) {
    case "INBOXES":
      // RFC 5465 §6.3: where the MDA delivers: INBOX, and Junk for spam (smtp/server.ts)
      return name === "INBOX" || name === "Junk";
    case "PERSONAL":
      // RFC 5465 §6.4: the personal namespace only, never other users' mailboxes
      return name !== SHARED_ROOT && !name.startsWith(SHARED_ROOT + DELIM);
    case "SUBSCRIBED":
      return subscribed;
    case "SUBTREE":
      return f.names.some((n) => name === n || name.startsWith(n + DELIM));
    case "MAILBOXES":
      return f.names.includes(name);
    default:
      return false;
  }
}

const hasMessageEvents = (ev: ReadonlySet<string>) => ev.has("MESSAGENEW") || ev.has("MESSAGEEXPUNGE");

interface MailboxFacts {
  name: string;
  subscribed: boolean;
}

export class Notifier {
  readonly #s: Session;
  readonly spec: NotifySpec;
  readonly #limit: number;
  #paused = true;
  #closed = false;
  #running: Promise<void> | null = null;
  /** waiting: non-selected mailboxes with message changes */
  #mailboxes = new Set<number>();
  /** waiting: an account-level change (mailbox created/renamed/deleted, subscriptions) */
  #account = false;
  /** waiting: only this session's own account-level changes (the known list is refreshed silently) */
  #accountOwn = false;
  /** waiting: other users' mailboxes (shared, RFC 4314) with message changes: id → owner id */
  #shared = new Map<number, number>();
  /** watched shared mailboxes the user can see ("l"), and those reported as lost (\NoAccess) */
  readonly #sharedVisible = new Set<number>();
  readonly #sharedLost = new Set<number>();
  /** owners whose feeds the SUBTREE / MAILBOXES filters watch (shared mailboxes) → unsubscribe */
  readonly #owners = new Map<number, () => void>();
  /** waiting: METADATA targets (mailbox id, or -1 = server) → entry names (null = unknown) */
  #metadata = new Map<number, Set<string> | null>();
  #selectedDirty = false;
  #overflow = false;
  /** the account's mailboxes as last reported (MailboxName / SubscriptionChange), by id */
  #known: Map<number, MailboxFacts> | null = null;
  /** last STATUS line sent per mailbox (no repeats) */
  readonly #lastStatus = new Map<number, string>();
  /** MessageNew fetch attributes: the view they were last sent for and its uidNext then */
  #fetchView: SelectedMailbox | null = null;
  #fetchedUpTo = 0;

  constructor(s: Session, spec: NotifySpec) {
    this.#s = s;
    this.spec = spec;
    this.#limit = s.ctx.opts.limits.maxNotifyQueue ?? DEFAULT_MAX_NOTIFY_QUEUE;
  }

  /** SELECTED / SELECTED-DELAYED asks for message events: the notifier pushes the view's updates */
  get coversSelected(): boolean {
    return this.spec.selected !== null && hasMessageEvents(this.spec.selected.events);
  }

  #wants(event: string): boolean {
    return this.spec.groups.some((g) => g.events.has(event)) || !!this.spec.selected?.events.has(event);
  }

  /**
   * Called at NOTIFY SET (inside the command): the mailbox list MailboxName / SubscriptionChange
   * compare against, and with STATUS (RFC 5465 §3.1) a STATUS for each mailbox with message events.
   */
  async start(status: boolean): Promise<void> {
    const s = this.#s;
    await this.#watchOwners();
    if (this.#owners.size > 0) {
      for (const m of await s.store.sharedWith(s.authenticated.account.id))
        if (this.#owners.has(m.mailbox.accountId) && m.rights.includes("l"))
          this.#sharedVisible.add(m.mailbox.id);
    }
    const needList = status || this.#wants("MAILBOXNAME") || this.#wants("SUBSCRIPTIONCHANGE");
    if (!needList) return;
    const mbs = await s.store.listMailboxes(s.authenticated.account.id);
    if (this.#wants("MAILBOXNAME") || this.#wants("SUBSCRIPTIONCHANGE")) this.#known = factsOf(mbs);
    if (!status) return;
    for (const mb of mbs) {
      const line = await this.#statusFor(mb);
      if (line) await s.write(line);
    }
    for (const ownerId of this.#owners.keys()) {
      for (const mb of await s.store.listMailboxes(ownerId)) {
        const line = await this.#sharedStatus(mb);
        if (line) await s.write(line);
      }
    }
  }

  /**
   * SUBTREE / MAILBOXES names in the shared namespace (RFC 5465 §6.6, §6.7) and subscribed shared
   * names (SUBSCRIBED, §6.5): their owners' feeds
   */
  async #watchOwners(): Promise<void> {
    const s = this.#s;
    const self = s.authenticated.account.id;
    for (const g of this.spec.groups) {
      if (!hasMessageEvents(g.events)) continue;
      if (g.filter.kind === "SUBSCRIBED") {
        // RFC 5465 §6.5 SUBSCRIBED: the user's subscriptions include shared names it subscribed to
        for (const name of await s.store.listSubscriptions(self)) {
          const sh = splitShared(name);
          const acc = sh && sh[1] !== "" ? await s.store.getAccount(sh[0]) : null;
          if (acc && acc.id !== self && !this.#owners.has(acc.id))
            this.#owners.set(
              acc.id,
              s.store.feed.subscribe(acc.id, (b) => this.onBeacon(b)),
            );
        }
        continue;
      }
      if (g.filter.kind !== "SUBTREE" && g.filter.kind !== "MAILBOXES") continue;
      for (const name of g.filter.names) {
        const ids: number[] = [];
        if (g.filter.kind === "SUBTREE" && name === SHARED_ROOT) {
          // the whole other users' namespace: every owner sharing something with the user now
          for (const m of await s.store.sharedWith(self)) ids.push(m.mailbox.accountId);
        } else {
          const sh = splitShared(name);
          const acc = sh ? await s.store.getAccount(sh[0]) : null;
          if (acc) ids.push(acc.id);
        }
        for (const id of ids) {
          if (id === self || this.#owners.has(id)) continue;
          this.#owners.set(
            id,
            s.store.feed.subscribe(id, (b) => this.onBeacon(b)),
          );
        }
      }
    }
  }

  onBeacon(b: Beacon): void {
    if (this.#closed) return;
    const view = this.#s.view;
    // RFC 5465 §5: the client's own changes are not reported (its selected mailbox aside)
    const own = b.origin !== undefined && b.origin === this.#s.id;
    if (b.accountId !== this.#s.authenticated.account.id) {
      // another user's feed: the selected shared mailbox, or one a SUBTREE / MAILBOXES filter names
      if (view && b.mailboxId === view.mailboxId && this.spec.selected !== null) {
        if (!hasMessageEvents(this.spec.selected.events)) return;
        this.#selectedDirty = true;
      } else if (b.mailboxId !== null && b.metadata === undefined && !own && this.#owners.has(b.accountId)) {
        this.#shared.set(b.mailboxId, b.accountId);
      } else return;
    } else if (
      own &&
      !(view && b.mailboxId === view.mailboxId && b.metadata === undefined && this.spec.selected !== null)
    ) {
      if (b.mailboxId === null && b.metadata === undefined && this.#known !== null) this.#accountOwn = true;
      else return;
    } else if (b.metadata !== undefined) {
      const key = b.mailboxId ?? -1;
      const want = b.mailboxId === null ? "SERVERMETADATACHANGE" : "MAILBOXMETADATACHANGE";
      if (!this.#wants(want)) return;
      const names = this.#metadata.has(key) ? this.#metadata.get(key)! : new Set<string>();
      if (names === null || b.metadata.length === 0) this.#metadata.set(key, null);
      else {
        for (const n of b.metadata) names.add(n);
        this.#metadata.set(key, names);
      }
    } else if (b.mailboxId === null) {
      if (this.#known === null) return;
      this.#account = true;
    } else if (view && b.mailboxId === view.mailboxId && this.spec.selected !== null) {
      if (!hasMessageEvents(this.spec.selected.events)) return;
      this.#selectedDirty = true;
    } else {
      if (!this.spec.groups.some((g) => hasMessageEvents(g.events))) return;
      if (b.modseq === "0") return; // no message changed (an ACL change of the user's own mailbox)
      this.#mailboxes.add(b.mailboxId);
    }
    if (this.#mailboxes.size + this.#metadata.size + this.#shared.size > this.#limit) {
      this.#overflow = true;
      this.#mailboxes.clear();
      this.#metadata.clear();
      this.#shared.clear();
    }
    this.#kick();
  }

  /** a command starts: no notification until resume(); resolves when a running batch is out */
  pause(): Promise<void> {
    this.#paused = true;
    return this.#running ?? Promise.resolve();
  }

  /** the command ended (or IDLE started): send what waits */
  resume(): void {
    this.#paused = false;
    // a NOOP/FETCH may have announced new messages: their MessageNew fetch attributes are due
    if (this.spec.selected?.fetch) this.#selectedDirty = true;
    this.#kick();
  }

  close(): void {
    this.#closed = true;
    for (const unsubscribe of this.#owners.values()) unsubscribe();
    this.#owners.clear();
    this.#shared.clear();
    this.#mailboxes.clear();
    this.#metadata.clear();
    this.#known = null;
  }

  #pending(): boolean {
    return (
      this.#overflow ||
      this.#selectedDirty ||
      this.#account ||
      this.#accountOwn ||
      this.#mailboxes.size > 0 ||
      this.#shared.size > 0 ||
      this.#metadata.size > 0
    );
  }

  #kick(): void {
    if (this.#paused || this.#closed || this.#running || !this.#pending()) return;
    this.#running = this.#drain().finally(() => {
      this.#running = null;
    });
  }

  async #drain(): Promise<void> {
    const s = this.#s;
    try {
      // bounded: each round takes everything waiting; new beacons during a round make another
      while (!this.#paused && !this.#closed && !s.isClosed && s.account && this.#pending())
        await this.#round();
    } catch (e) {
      s.ctx.opts.logger.warn({ session: s.id, err: String(e) }, "imap notify failed");
    }
  }

  async #round(): Promise<void> {
    const s = this.#s;
    if (this.#overflow) {
      // RFC 5465 §5.8: the server stops notifying, as after NOTIFY NONE
      this.close();
      s.endNotify(this);
      await s.write("* OK [NOTIFICATIONOVERFLOW] Too many changes; NOTIFY is off\r\n");
      return;
    }
    if (this.#selectedDirty) {
      this.#selectedDirty = false;
      await this.#selectedUpdates();
    }
    if (this.#account) {
      this.#account = false;
      this.#accountOwn = false;
      await this.#mailboxEvents();
    } else if (this.#accountOwn) {
      // only our own CREATE/RENAME/DELETE/SUBSCRIBE: the list moves on without a report
      this.#accountOwn = false;
      if (this.#known) this.#known = factsOf(await s.store.listMailboxes(s.authenticated.account.id));
    }
    if (this.#mailboxes.size > 0) {
      const ids = [...this.#mailboxes].sort((a, b) => a - b);
      this.#mailboxes.clear();
      for (const id of ids) {
        const mb = await s.store.getMailboxById(id);
        if (!mb || this.#closed) continue;
        const v = s.view;
        if (v && v.mailboxId === id && this.spec.selected !== null) continue; // the view's own updates
        const line = await this.#statusFor(mb);
        if (line) await s.write(line);
      }
    }
    if (this.#shared.size > 0) {
      const ids = [...this.#shared.keys()].sort((a, b) => a - b);
      this.#shared.clear();
      for (const id of ids) {
        const mb = await s.store.getMailboxById(id);
        if (!mb || this.#closed) continue;
        const line = await this.#sharedStatus(mb);
        if (line) await s.write(line);
      }
    }
    if (this.#metadata.size > 0) {
      const items = [...this.#metadata];
      this.#metadata.clear();
      for (const [key, names] of items) await this.#metadataEvent(key === -1 ? null : key, names);
    }
  }

  /** RFC 5465 §6.1/§6.2: the view's updates; MessageNew fetch attributes for new messages */
  async #selectedUpdates(): Promise<void> {
    const s = this.#s;
    const sel = this.spec.selected;
    const v = s.view;
    if (!sel || !v) return;
    if (this.#fetchView !== v) {
      this.#fetchView = v;
      this.#fetchedUpTo = v.uidNext;
    }
    // SELECTED: expunges at once (the client uses UIDs, RFC 5465 §6.1); SELECTED-DELAYED: only
    // where RFC 9051 §7.5.1 allows them (IDLE here; commands as without NOTIFY)
    await s.flushUpdates(!sel.delayed || s.idling);
    if (!sel.fetch || s.view !== v || v.uidNext <= this.#fetchedUpTo) return;
    const from = this.#fetchedUpTo;
    this.#fetchedUpTo = v.uidNext;
    if (v.exists === 0 || v.maxUid() < from) return;
    const st = s.selected;
    await fetch(
      s,
      "*",
      {
        name: "FETCH",
        uid: true,
        set: { type: "ranges", ranges: [{ start: from, end: "*" }] },
        atts: sel.fetch,
        changedSince: null,
        vanished: false,
      },
      st,
    );
  }

  /**
   * Whether the first group matching the mailbox asks for event (mailbox and metadata events:
   * RFC 5465 §6.1, the selected-mailbox filters take message events only)
   */
  #groupWith(event: string, name: string, subscribed: boolean): boolean {
    const g = this.spec.groups.find((g) => filterMatches(g.filter, name, subscribed));
    return !!g?.events.has(event);
  }

  /**
   * Another user's mailbox (as `Shared/<owner>/<name>`): STATUS only while the session has "l"
   * and "r" on it (RFC 4314 §4 STATUS needs "r"), never for the selected one. RFC 5465 §5.9: a
   * monitored mailbox the user could see that loses "l" is announced by `LIST (\NoAccess)`, and
   * by a LIST without it when "l" comes back; monitoring stops and resumes with the rights.
   */
  async #sharedStatus(mb: Mailbox): Promise<string | null> {
    const s = this.#s;
    const v = s.view;
    if (v && v.mailboxId === mb.id && this.spec.selected !== null) return null;
    const owner = await s.store.getAccountById(mb.accountId);
    if (!owner) return null;
    const name = sharedName(owner.address.toLowerCase(), mb.name);
    // the grantee's subscription is to the shared name (SUBSCRIBE stores it in its own list)
    const subscribed =
      this.spec.groups.some((g) => g.filter.kind === "SUBSCRIBED") &&
      (await s.store.listSubscriptions(s.authenticated.account.id)).includes(name);
    const monitored = this.spec.groups.find((g) => filterMatches(g.filter, name, subscribed));
    if (!monitored || !hasMessageEvents(monitored.events)) return null;
    const rights = await s.store.rightsOf(s.authenticated.account.id, mb);
    if (!rights.includes("l")) {
      if (!this.#sharedVisible.delete(mb.id)) return null; // never seen: do not reveal it
      this.#sharedLost.add(mb.id);
      this.#lastStatus.delete(mb.id);
      return `* LIST (\\NoAccess) "/" ${mailboxOut(s, name)}\r\n`;
    }
    let out = "";
    if (!this.#sharedVisible.has(mb.id)) {
      this.#sharedVisible.add(mb.id);
      if (this.#sharedLost.delete(mb.id)) out = `* LIST () "/" ${mailboxOut(s, name)}\r\n`;
    }
    if (!rights.includes("r")) return out || null;
    const line = await this.#statusFor({ ...mb, name, subscribed });
    return out + (line ?? "") || null;
  }

  /** RFC 5465 §5.2/§5.3: STATUS of a non-selected mailbox; null when not asked for or unchanged */
  async #statusFor(mb: Mailbox): Promise<string | null> {
    const s = this.#s;
    const v = s.view;
    if (v && v.mailboxId === mb.id && this.spec.selected !== null) return null;
    const g = this.spec.groups.find((g) => filterMatches(g.filter, mb.name, mb.subscribed));
    if (!g || !hasMessageEvents(g.events)) return null;
    // RFC 5465 §5.1–§5.3: HIGHESTMODSEQ whenever CONDSTORE/QRESYNC is on; a change only counts
    // when an item the client asked about moved (flags and modseq only with FlagChange)
    const flags = g.events.has("FLAGCHANGE");
    const base = await statusLine(s, mb, [
      "MESSAGES",
      "UIDNEXT",
      "UIDVALIDITY",
      ...(flags ? (["UNSEEN"] as const) : []),
    ]);
    const key = flags ? `${base} ${mb.highestModseq}` : base;
    if (this.#lastStatus.get(mb.id) === key) return null;
    this.#lastStatus.set(mb.id, key);
    return s.condstore ? `${base.slice(0, -3)} HIGHESTMODSEQ ${mb.highestModseq})\r\n` : base;
  }

  /** RFC 5465 §5.4 MailboxName, §5.5 SubscriptionChange: LIST responses from the list's changes */
  async #mailboxEvents(): Promise<void> {
    const s = this.#s;
    const before = this.#known;
    if (!before) return;
    const mbs = await s.store.listMailboxes(s.authenticated.account.id);
    const now = factsOf(mbs);
    this.#known = now;
    const names = new Set(mbs.map((m) => m.name));
    const children = (name: string) => {
      for (const n of names) if (n.startsWith(name + DELIM)) return "\\HasChildren";
      return "\\HasNoChildren";
    };
    const attrs = (f: MailboxFacts, extra: string[] = []) =>
      `(${[children(f.name), ...(f.subscribed ? ["\\Subscribed"] : []), ...extra].join(" ")})`;
    let out = "";
    for (const [id, old] of before) {
      if (now.has(id) || !this.#groupWith("MAILBOXNAME", old.name, old.subscribed)) continue;
      out += `* LIST (\\NonExistent) "/" ${mailboxOut(s, old.name)}\r\n`;
    }
    for (const [id, cur] of now) {
      const old = before.get(id);
      if (!old) {
        if (this.#groupWith("MAILBOXNAME", cur.name, cur.subscribed))
          out += `* LIST ${attrs(cur)} "/" ${mailboxOut(s, cur.name)}\r\n`;
        continue;
      }
      if (old.name !== cur.name) {
        if (this.#groupWith("MAILBOXNAME", cur.name, cur.subscribed)) {
          // RFC 5465 §5.4 with RFC 5258's OLDNAME extended data item
          out += `* LIST ${attrs(cur)} "/" ${mailboxOut(s, cur.name)} ("OLDNAME" (${mailboxOut(s, old.name)}))\r\n`;
        }
      } else if (old.subscribed !== cur.subscribed) {
        if (this.#groupWith("SUBSCRIPTIONCHANGE", cur.name, true))
          out += `* LIST ${attrs(cur)} "/" ${mailboxOut(s, cur.name)}\r\n`;
      }
    }
    if (out) await s.write(out);
  }

  /** RFC 5464 §4.4.2 unsolicited METADATA: the mailbox (or "" = server) and the entry names */
  async #metadataEvent(mailboxId: number | null, names: Set<string> | null): Promise<void> {
    const s = this.#s;
    const account = s.authenticated.account.id;
    let target = '""';
    if (mailboxId !== null) {
      const mb = await s.store.getMailboxById(mailboxId);
      if (!mb || mb.accountId !== account) return;
      if (!this.#groupWith("MAILBOXMETADATACHANGE", mb.name, mb.subscribed)) return;
      target = mailboxOut(s, mb.name);
    }
    let list = names ? [...names] : null;
    if (list === null) {
      // the beacon could not carry the names: every entry there is now (a removed one is missing)
      const entries = await s.store.getMetadata(account, mailboxId, ["/private", "/shared"], "infinity");
      list = entries.filter((e) => e.value !== null).map((e) => e.name);
      if (list.length === 0) list = ["/private", "/shared"];
    }
    const parts = list.sort().map((n) => astring(n, s.utf8).toString("utf8"));
    await s.write(`* METADATA ${target} ${parts.join(" ")}\r\n`);
  }
}

function factsOf(mbs: Mailbox[]): Map<number, MailboxFacts> {
  return new Map(mbs.map((m) => [m.id, { name: m.name, subscribed: m.subscribed }]));
}
