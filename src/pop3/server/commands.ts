/**
 * The command table: each command with a handler per state it is valid in (RFC 1939 §4–§7,
 * RFC 2449, 2595, 5034, 6856). A handler gets the session state narrowed to its state; a command
 * without a handler for the current state is answered "-ERR" by the session.
 */
import type { Pop3Command } from "../protocol/command.ts";
import { ok } from "../protocol/response.ts";
import type { Session } from "./session.ts";
import type { AuthorizationState, Pop3State, TransactionState } from "./state.ts";
import * as tx from "./transaction.ts";

type Run<S> = (s: Session, c: Pop3Command, st: S) => Promise<void> | void;

export interface Handler {
  readonly authorization?: Run<AuthorizationState>;
  readonly transaction?: Run<TransactionState>;
}

export const COMMANDS: Readonly<Record<string, Handler>> = {
  CAPA: { authorization: (s) => s.capa(), transaction: (s) => s.capa() },
  QUIT: { authorization: (s) => s.quitAuthorization(), transaction: (s, _c, st) => tx.quit(s, st) },
  USER: { authorization: (s, c) => s.userCmd(c) },
  PASS: { authorization: (s, c, st) => s.passCmd(c, st) },
  AUTH: { authorization: (s, c) => s.authCmd(c) },
  STLS: { authorization: (s) => s.stls() },
  UTF8: { authorization: (s) => s.utf8Cmd() },
  STAT: { transaction: (s, _c, st) => tx.stat(s, st) },
  LIST: { transaction: (s, c, st) => tx.list(s, st, c) },
  UIDL: { transaction: (s, c, st) => tx.uidl(s, st, c) },
  RETR: { transaction: (s, c, st) => tx.retr(s, st, c) },
  TOP: { transaction: (s, c, st) => tx.top(s, st, c) },
  DELE: { transaction: (s, c, st) => tx.dele(s, st, c) },
  NOOP: { transaction: (s) => s.send(ok()) },
  RSET: { transaction: (s, _c, st) => tx.rset(s, st) },
};

/** the handler of h for the state st, bound to it; null when the command is not valid there */
export function bind(
  h: Handler,
  s: Session,
  c: Pop3Command,
  st: Pop3State,
): (() => Promise<void> | void) | null {
  switch (st.kind) {
    case "authorization": {
      const run = h.authorization;
      return run ? () => run(s, c, st) : null;
    }
    case "transaction": {
      const run = h.transaction;
      return run ? () => run(s, c, st) : null;
    }
    default:
      return null; // RFC 1939 §6: nothing after QUIT
  }
}
