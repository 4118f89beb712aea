/**
 * NOTIFY SET / NOTIFY NONE (RFC 5465 §3): checks the client's event groups and installs the
 * session's Notifier (imap/server/notify.ts), replacing any earlier one.
 */
import type { Command, NotifyGroup } from "../../protocol/commands.ts";
import type { OkResult } from "../dispatch.ts";
import { bad, no } from "../errors.ts";
import { mailboxIn } from "../names.ts";
import { Notifier, type NotifyGroupSpec, type NotifySpec, SUPPORTED_EVENTS } from "../notify.ts";
import type { Session } from "../session.ts";

const MESSAGE_EVENTS = new Set(["MESSAGENEW", "MESSAGEEXPUNGE", "FLAGCHANGE", "ANNOTATIONCHANGE"]);

/** RFC 5465 §3.1 / §5: the rules for one group's events (BAD) */
function checkEvents(g: NotifyGroup, selected: boolean): Set<string> {
  const ev = new Set(g.events.map((e) => e.name));
  // RFC 5465 §5: MessageNew and MessageExpunge go together; FlagChange / AnnotationChange need both
  if (ev.has("MESSAGENEW") !== ev.has("MESSAGEEXPUNGE"))
    throw bad("MessageNew and MessageExpunge must be requested together");
  if ((ev.has("FLAGCHANGE") || ev.has("ANNOTATIONCHANGE")) && !ev.has("MESSAGENEW"))
    throw bad("FlagChange and AnnotationChange require MessageNew and MessageExpunge");
  // RFC 5465 §6.1: the selected-mailbox filters take message events only
  if (selected && [...ev].some((e) => SUPPORTED_EVENTS.has(e) && !MESSAGE_EVENTS.has(e)))
    throw bad("SELECTED and SELECTED-DELAYED take message events only");
  // RFC 5465 §5.2: fetch attributes only for the selected mailbox
  if (!selected && g.events.some((e) => e.fetch !== null))
    throw bad("MessageNew fetch attributes are only allowed for SELECTED or SELECTED-DELAYED");
  return ev;
}

export async function notify(
  s: Session,
  _tag: string,
  cmd: Extract<Command, { name: "NOTIFY" }>,
): Promise<OkResult> {
  if (cmd.set === null) {
    s.endNotify(s.notifier);
    return { code: null, text: "NOTIFY completed" };
  }
  const spec: NotifySpec = { selected: null, groups: [] };
  let unsupported = false;
  for (const g of cmd.set.groups) {
    const isSelected = g.filter.kind === "SELECTED" || g.filter.kind === "SELECTED-DELAYED";
    const events = checkEvents(g, isSelected);
    for (const e of events) if (!SUPPORTED_EVENTS.has(e)) unsupported = true;
    if (isSelected) {
      // one selected-mailbox filter per NOTIFY (RFC 5465 §6.1/§6.2 describe a single one)
      if (spec.selected !== null) throw bad("SELECTED or SELECTED-DELAYED given twice");
      const fetch = g.events.find((e) => e.name === "MESSAGENEW")?.fetch ?? null;
      spec.selected = { delayed: g.filter.kind === "SELECTED-DELAYED", events, fetch };
      continue;
    }
    const f = g.filter;
    const filter: NotifyGroupSpec["filter"] =
      f.kind === "SUBTREE" || f.kind === "MAILBOXES"
        ? { kind: f.kind, names: f.names.map((n) => mailboxIn(s, n)) }
        : { kind: f.kind as "INBOXES" | "PERSONAL" | "SUBSCRIBED" };
    spec.groups.push({ filter, events });
  }
  // RFC 5465 §3.1: an event the server does not support → NO [BADEVENT (the supported ones)]
  if (unsupported) {
    throw no(`BADEVENT (${[...SUPPORTED_EVENTS.values()].join(" ")})`, "Unsupported NOTIFY event");
  }
  const n = new Notifier(s, spec);
  s.endNotify(s.notifier);
  s.notifier = n;
  // RFC 5465 §3.1: a successful NOTIFY SET implies a NOOP (pending changes of the selected mailbox now)
  if (s.view) await s.flushUpdates(true, true);
  await n.start(cmd.set.status);
  return { code: null, text: "NOTIFY completed" };
}
