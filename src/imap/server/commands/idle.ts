/**
 * IDLE (RFC 2177, RFC 9051 §6.3.13). While idling, change-feed beacons for the selected
 * mailbox are turned into untagged EXISTS/FETCH/EXPUNGE at once (Session.onBeacon); the command
 * ends with the client's DONE.
 */
import type { OkResult } from "../dispatch.ts";
import { bad } from "../errors.ts";
import type { Session } from "../session.ts";

export async function idle(s: Session): Promise<OkResult> {
  await s.write("+ idling\r\n");
  s.idling = true;
  try {
    // pending changes first, then live pushes (RFC 9051 §6.3.13: EXPUNGE allowed during IDLE)
    if (s.view) await s.flushUpdates(true, true);
    for (;;) {
      const line = await s.readLine();
      if (line === null) throw bad("Connection closed");
      const word = line.toString("latin1").trim().toUpperCase();
      if (word === "DONE") break;
      // RFC 2177 §3: anything but DONE ends IDLE with BAD
      throw bad("Expected DONE");
    }
  } finally {
    s.idling = false;
  }
  return { code: null, text: "IDLE terminated" };
}
