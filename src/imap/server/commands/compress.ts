/** COMPRESS (RFC 4978): DEFLATE compression of the connection, authenticated states only. */
import type { Command } from "../../protocol/commands.ts";
import type { OkResult } from "../dispatch.ts";
import { bad, no } from "../errors.ts";
import type { AuthenticatedState, Session } from "../session.ts";

export async function compress(
  s: Session,
  tag: string,
  cmd: Extract<Command, { name: "COMPRESS" }>,
  _st: AuthenticatedState,
): Promise<OkResult | undefined> {
  // not offered (imap.compress = false): an unknown command, as for any extension not advertised
  if (s.ctx.opts.compress === false) throw bad("COMPRESS is not enabled on this server");
  // RFC 4978 §3: an unknown mechanism is a syntax error (BAD)
  if (cmd.mechanism !== "DEFLATE") throw bad(`Unknown compression mechanism ${cmd.mechanism}`);
  // RFC 4978 §3: NO [COMPRESSIONACTIVE] when compression is already on
  if (s.compressed) throw no("COMPRESSIONACTIVE", "DEFLATE is already active");
  await s.startCompression(tag);
  return undefined;
}
