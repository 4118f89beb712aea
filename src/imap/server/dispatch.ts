/**
 * Dispatch table: each command's allowed states (RFC 9051 §6) and handler. Handlers return the
 * tagged OK's code/text, or undefined when they wrote the tagged response themselves.
 */

import { count } from "../../net/metrics.ts";
import type { Command, CommandName } from "../protocol/commands.ts";
import { deleteacl, getacl, listrights, myrights, setacl } from "./commands/acl.ts";
import { capability, enable, id, logout, noop } from "./commands/any.ts";
import { authenticate, login, starttls } from "./commands/auth.ts";
import { compress } from "./commands/compress.ts";
import { cancelUpdate } from "./commands/context.ts";
import { fetch } from "./commands/fetch.ts";
import { idle } from "./commands/idle.ts";
import {
  append,
  create,
  deleteMailbox,
  getquota,
  getquotaroot,
  list,
  lsub,
  namespace,
  rename,
  select,
  setquota,
  status,
  subscribe,
} from "./commands/mailbox.ts";
import { check, close, copyMove, expunge, store, unselect } from "./commands/message.ts";
import { getmetadata, setmetadata } from "./commands/metadata.ts";
import { notify } from "./commands/notify.ts";
import { replace } from "./commands/replace.ts";
import { search } from "./commands/search.ts";
import { sort } from "./commands/sort.ts";
import { thread } from "./commands/thread.ts";
import { genurlauth, resetkey, urlfetch } from "./commands/urlauth.ts";
import { bad } from "./errors.ts";
import type { AuthenticatedState, ImapState, SelectedState, Session, StateKind } from "./session.ts";
import { refreshRights } from "./shared.ts";

export interface OkResult {
  code: string | null;
  text: string;
}

// biome-ignore lint/suspicious/noExplicitAny: each handler narrows its own command type
type AnyCommand = any;

/**
 * A handler gets the session, the tag, its command and the session state its command is allowed
 * in, narrowed: an account in authenticated states, the account and the view when selected.
 */
type Handler<S> = (s: Session, tag: string, cmd: AnyCommand, st: S) => Promise<OkResult | undefined>;

interface Entry {
  /** the states the command is allowed in (RFC 9051 §6) */
  states: readonly StateKind[];
  run(s: Session, tag: string, cmd: Command): Promise<OkResult | undefined>;
  /** seq: see table */
  seq?: boolean;
}

const ANY: readonly StateKind[] = ["notAuthenticated", "authenticated", "selected"];
const NOTAUTH: readonly StateKind[] = ["notAuthenticated"];
const AUTH: readonly StateKind[] = ["authenticated", "selected"];
const SELECTED: readonly StateKind[] = ["selected"];

function any(h: Handler<ImapState>): Entry {
  return { states: ANY, run: (s, tag, cmd) => h(s, tag, cmd, s.state) };
}
function notAuth(h: Handler<ImapState>): Entry {
  return { states: NOTAUTH, run: (s, tag, cmd) => h(s, tag, cmd, s.state) };
}
function auth(h: Handler<AuthenticatedState>): Entry {
  return { states: AUTH, run: (s, tag, cmd) => h(s, tag, cmd, s.authenticated) };
}
function selected(h: Handler<SelectedState>, seq = false): Entry {
  return {
    states: SELECTED,
    seq,
    run: async (s, tag, cmd) => {
      await refreshRights(s, cmd.name); // a shared mailbox's rights as they are now (shared.ts)
      return h(s, tag, cmd, s.selected);
    },
  };
}

/**
 * seq: the command's non-UID form works on message sequence numbers, so pending EXPUNGEs must
 * wait (RFC 9051 §7.5.1: not while responding to FETCH, STORE or SEARCH; the UID forms are exempt).
 */
const table: Record<CommandName, Entry> = {
  CAPABILITY: any(capability),
  NOOP: any(noop),
  LOGOUT: any(logout),
  ID: any(id),
  STARTTLS: notAuth(starttls),
  AUTHENTICATE: notAuth(authenticate),
  LOGIN: notAuth(login),
  ENABLE: auth(enable),
  COMPRESS: auth(compress),
  NAMESPACE: auth(namespace),
  SELECT: auth(select),
  EXAMINE: auth(select),
  CREATE: auth(create),
  DELETE: auth(deleteMailbox),
  RENAME: auth(rename),
  SUBSCRIBE: auth(subscribe),
  UNSUBSCRIBE: auth(subscribe),
  LIST: auth(list),
  LSUB: auth(lsub),
  STATUS: auth(status),
  APPEND: auth(append),
  IDLE: auth(idle),
  GETQUOTA: auth(getquota),
  GETQUOTAROOT: auth(getquotaroot),
  SETQUOTA: auth(setquota),
  GETMETADATA: auth(getmetadata),
  SETMETADATA: auth(setmetadata),
  NOTIFY: auth(notify),
  SETACL: auth(setacl), // RFC 4314 §3
  DELETEACL: auth(deleteacl),
  GETACL: auth(getacl),
  LISTRIGHTS: auth(listrights),
  MYRIGHTS: auth(myrights),
  GENURLAUTH: auth(genurlauth),
  RESETKEY: auth(resetkey),
  URLFETCH: auth(urlfetch),
  CHECK: selected(check),
  CLOSE: selected(close),
  UNSELECT: selected(unselect),
  EXPUNGE: selected(expunge),
  SEARCH: selected(search, true),
  FETCH: selected(fetch, true),
  STORE: selected(store, true),
  COPY: selected(copyMove),
  MOVE: selected(copyMove),
  REPLACE: selected(replace),
  SORT: selected(sort, true),
  THREAD: selected(thread, true),
  CANCELUPDATE: selected(cancelUpdate), // RFC 5267 §4.3.5
};

export async function dispatch(s: Session, tag: string, cmd: Command): Promise<OkResult | undefined> {
  const entry = table[cmd.name];
  if (!entry) throw bad("Unknown command");
  count("postkontor_commands_total", { protocol: "imap", command: cmd.name });
  const kind = s.state.kind;
  if (!entry.states.includes(kind)) {
    throw bad(
      kind === "notAuthenticated"
        ? "Command requires authentication"
        : kind === "authenticated" && entry.states === SELECTED
          ? "No mailbox selected"
          : "Command not valid in this state",
    );
  }
  return entry.run(s, tag, cmd);
}

/** RFC 9051 §7.5.1: may untagged EXPUNGE be sent while answering this command? */
export function expungeAllowed(cmd: Command): boolean {
  if (!table[cmd.name]?.seq) return true;
  return "uid" in cmd && cmd.uid === true;
}
