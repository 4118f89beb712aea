/**
 * Dispatch table: each command's allowed states (RFC 9051 §6) and handler. Handlers return the
 * tagged OK's code/text, or undefined when they wrote the tagged response themselves.
 */
import type { Command, CommandName } from "../protocol/commands.ts";
import { capability, enable, id, logout, noop } from "./commands/any.ts";
import { authenticate, login, starttls } from "./commands/auth.ts";
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
import { search } from "./commands/search.ts";
import { sort } from "./commands/sort.ts";
import { bad } from "./errors.ts";
import type { Session, SessionState } from "./session.ts";

export interface OkResult {
  code: string | null;
  text: string;
}

// biome-ignore lint/suspicious/noExplicitAny: each handler narrows its own command type
type Handler = (s: Session, tag: string, cmd: any) => Promise<OkResult | undefined>;

const ANY: SessionState[] = ["notauth", "auth", "selected"];
const NOTAUTH: SessionState[] = ["notauth"];
const AUTH: SessionState[] = ["auth", "selected"];
const SELECTED: SessionState[] = ["selected"];

/**
 * seq: the command's non-UID form works on message sequence numbers, so pending EXPUNGEs must
 * wait (RFC 9051 §7.5.1: not while responding to FETCH, STORE or SEARCH; the UID forms are exempt).
 */
const table: Record<CommandName, { states: SessionState[]; h: Handler; seq?: boolean }> = {
  CAPABILITY: { states: ANY, h: capability },
  NOOP: { states: ANY, h: noop },
  LOGOUT: { states: ANY, h: logout },
  ID: { states: ANY, h: id },
  STARTTLS: { states: NOTAUTH, h: starttls },
  AUTHENTICATE: { states: NOTAUTH, h: authenticate },
  LOGIN: { states: NOTAUTH, h: login },
  ENABLE: { states: AUTH, h: enable },
  NAMESPACE: { states: AUTH, h: namespace },
  SELECT: { states: AUTH, h: select },
  EXAMINE: { states: AUTH, h: select },
  CREATE: { states: AUTH, h: create },
  DELETE: { states: AUTH, h: deleteMailbox },
  RENAME: { states: AUTH, h: rename },
  SUBSCRIBE: { states: AUTH, h: subscribe },
  UNSUBSCRIBE: { states: AUTH, h: subscribe },
  LIST: { states: AUTH, h: list },
  LSUB: { states: AUTH, h: lsub },
  STATUS: { states: AUTH, h: status },
  APPEND: { states: AUTH, h: append },
  IDLE: { states: AUTH, h: idle },
  GETQUOTA: { states: AUTH, h: getquota },
  GETQUOTAROOT: { states: AUTH, h: getquotaroot },
  SETQUOTA: { states: AUTH, h: setquota },
  CHECK: { states: SELECTED, h: check },
  CLOSE: { states: SELECTED, h: close },
  UNSELECT: { states: SELECTED, h: unselect },
  EXPUNGE: { states: SELECTED, h: expunge },
  SEARCH: { states: SELECTED, h: search, seq: true },
  FETCH: { states: SELECTED, h: fetch, seq: true },
  STORE: { states: SELECTED, h: store, seq: true },
  COPY: { states: SELECTED, h: copyMove },
  MOVE: { states: SELECTED, h: copyMove },
  SORT: { states: SELECTED, h: sort, seq: true },
  THREAD: { states: SELECTED, h: notSupported, seq: true },
};

async function notSupported(): Promise<OkResult> {
  throw bad("Command not supported");
}

export async function dispatch(s: Session, tag: string, cmd: Command): Promise<OkResult | undefined> {
  const entry = table[cmd.name];
  if (!entry) throw bad("Unknown command");
  if (!entry.states.includes(s.state)) {
    throw bad(
      s.state === "notauth"
        ? "Command requires authentication"
        : s.state === "auth" && entry.states === SELECTED
          ? "No mailbox selected"
          : "Command not valid in this state",
    );
  }
  return entry.h(s, tag, cmd);
}

/** RFC 9051 §7.5.1: may untagged EXPUNGE be sent while answering this command? */
export function expungeAllowed(cmd: Command): boolean {
  if (!table[cmd.name]?.seq) return true;
  return "uid" in cmd && cmd.uid === true;
}
