/**
 * IDLE (RFC 2177, RFC 9051 §6.3.13). While idling, change-feed beacons for the selected
 * mailbox are turned into untagged EXISTS/FETCH/EXPUNGE at once (Session.onBeacon); the command
 * ends with the client's DONE.
 *
 * The handler does not wait for DONE itself: it puts the session in IDLE mode and returns, and
 * the session's input pump completes the command with idleDone() when the line arrives. An idle
 * connection thus holds no suspended async frames (memory per idle connection).
 */
import type { Command } from "../../protocol/commands.ts";
import type { OkResult } from "../dispatch.ts";
import { bad } from "../errors.ts";
import type { Session } from "../session.ts";

export async function idle(s: Session, tag: string, cmd: Command): Promise<OkResult | undefined> {
  await s.write("+ idling\r\n");
  s.idling = true;
  try {
    // pending changes first, then live pushes (RFC 9051 §6.3.13: EXPUNGE allowed during IDLE)
    if (s.view) await s.flushUpdates(true, true);
  } catch (e) {
    s.idling = false;
    throw e;
  }
  s.suspendForIdle(tag, cmd);
  return undefined; // answered by idleDone once DONE arrives
}

/** The line that ends IDLE: DONE completes the command; RFC 2177 §3: anything else is BAD. */
export function idleDone(line: Buffer): OkResult {
  const word = line.toString("latin1").trim().toUpperCase();
  if (word === "DONE") return { code: null, text: "IDLE terminated" };
  throw bad("Expected DONE");
}
