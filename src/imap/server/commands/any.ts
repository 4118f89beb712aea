/** Any-state commands: CAPABILITY, NOOP, LOGOUT (RFC 9051 §6.1), ID (RFC 2971), ENABLE (RFC 5161). */
import type { Command } from "../../protocol/commands.ts";
import { stringText } from "../../protocol/response.ts";
import type { OkResult } from "../dispatch.ts";
import type { Session } from "../session.ts";

export async function capability(s: Session): Promise<OkResult> {
  await s.write(`* CAPABILITY ${s.ctx.capabilities(s)}\r\n`);
  return { code: null, text: "CAPABILITY completed" };
}

/** RFC 9051 §6.1.2: NOOP is the polling point for pending updates (flushed by the session, forced) */
export async function noop(s: Session): Promise<OkResult> {
  if (s.view) await s.flushUpdates(true, true);
  return { code: null, text: "NOOP completed" };
}

export async function logout(s: Session): Promise<OkResult> {
  await s.write(`* BYE ${s.ctx.opts.hostname} logging out\r\n`);
  s.loggingOut();
  return { code: null, text: "LOGOUT completed" };
}

/** RFC 2971 §3.1: the server answers with its own ID; client values are logged (bounded) */
export async function id(s: Session, _tag: string, cmd: Extract<Command, { name: "ID" }>): Promise<OkResult> {
  if (cmd.params) {
    const client: Record<string, string | null> = {};
    for (const [k, v] of cmd.params.slice(0, 30))
      client[k.slice(0, 30)] = v === null ? null : v.slice(0, 256);
    s.ctx.opts.logger.info({ session: s.id, client }, "imap client id");
  }
  await s.write(`* ID (${stringText("name", false)} ${stringText("postkontor", false)})\r\n`);
  return { code: null, text: "ID completed" };
}

/** RFC 5161 §3.1; RFC 9051 §6.3.1 ENABLE IMAP4rev2; RFC 7162 §3.2.3 QRESYNC implies CONDSTORE */
export async function enable(
  s: Session,
  _tag: string,
  cmd: Extract<Command, { name: "ENABLE" }>,
): Promise<OkResult> {
  const done: string[] = [];
  for (const c of cmd.capabilities) {
    switch (c) {
      case "IMAP4REV2":
        if (!s.rev2) done.push("IMAP4rev2");
        s.rev2 = true;
        s.utf8 = true; // RFC 9051 §5.1: UTF-8 mailbox names
        break;
      case "UTF8=ACCEPT":
        if (!s.utf8) done.push("UTF8=ACCEPT");
        s.utf8 = true;
        break;
      case "CONDSTORE":
        if (!s.condstore) done.push("CONDSTORE");
        s.condstore = true;
        break;
      case "QRESYNC":
        if (!s.qresync) done.push("QRESYNC");
        s.qresync = true;
        s.condstore = true;
        break;
      default:
        break; // RFC 5161 §3.1: unknown capabilities are ignored
    }
  }
  await s.write(`* ENABLED${done.map((d) => " " + d).join("")}\r\n`);
  return { code: null, text: "ENABLE completed" };
}
