/**
 * CLI for vacation responses (RFC 8621 §8 VacationResponse, answered by src/smtp/vacation.ts):
 * `vacation ADDRESS on [--subject S] [--text T | --text-file F] [--html-file F] [--from DATE]
 * [--to DATE]`, `vacation ADDRESS off`, `vacation ADDRESS show`. Options given with `on` or `off`
 * replace those properties; the others stay. DATE is ISO 8601 (e.g. 2026-12-20 or
 * 2026-12-20T08:00:00Z) or "none". Registered by commands.ts.
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import type { VacationResponse } from "../store/types.ts";
import type { CliHelpers } from "./outbound.ts";

interface VacationOpts {
  config?: string;
  subject?: string;
  text?: string;
  textFile?: string;
  htmlFile?: string;
  from?: string;
  to?: string;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

function dateArg(h: CliHelpers, flag: string, v: string): Date | null {
  if (v === "none" || v === "") return null;
  if (!ISO_DATE.test(v))
    h.usage(`${flag} expects an ISO 8601 date such as 2026-12-20 or 2026-12-20T08:00:00Z, or none`);
  const d = new Date(v);
  if (!Number.isFinite(d.getTime())) h.usage(`${flag}: not a valid date "${v}"`);
  return d;
}

function readText(h: CliHelpers, flag: string, file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    h.usage(`${flag}: cannot read ${file}: ${(e as Error).message}`);
  }
}

/** the properties the options set (undefined = left as they are) */
function patchOf(h: CliHelpers, o: VacationOpts): Partial<VacationResponse> {
  if (o.text !== undefined && o.textFile !== undefined) h.usage("give --text or --text-file, not both");
  const p: Partial<VacationResponse> = {};
  if (o.subject !== undefined) p.subject = o.subject === "" ? null : o.subject;
  if (o.text !== undefined) p.textBody = o.text.replace(/\\n/g, "\n");
  if (o.textFile !== undefined) p.textBody = readText(h, "--text-file", o.textFile);
  if (o.htmlFile !== undefined)
    p.htmlBody = o.htmlFile === "" ? null : readText(h, "--html-file", o.htmlFile);
  if (o.from !== undefined) p.fromDate = dateArg(h, "--from", o.from);
  if (o.to !== undefined) p.toDate = dateArg(h, "--to", o.to);
  return p;
}

function show(v: VacationResponse): string {
  const d = (x: Date | null) => (x ? x.toISOString() : "none");
  return (
    `enabled: ${v.isEnabled ? "yes" : "no"}\n` +
    `from: ${d(v.fromDate)}\n` +
    `to: ${d(v.toDate)}\n` +
    `subject: ${v.subject ?? "(Auto: and the original subject)"}\n` +
    `html: ${v.htmlBody === null ? "none" : `${v.htmlBody.length} characters`}\n` +
    `text:\n${v.textBody ?? "(none)"}\n`
  );
}

export function addVacationCommand(program: Command, h: CliHelpers): void {
  h.configOption(program.command("vacation <address> <action>"))
    .description(
      "the vacation response (auto-reply, RFC 3834) of ADDRESS: on, off or show. With on/off the options " +
        "set those properties; the reply goes once per sender per smtp.vacation_reply_interval",
    )
    .option("--subject <text>", "subject of the reply ('' = \"Auto: \" and the original subject)")
    .option("--text <text>", "plain-text body (\\n for a line break)")
    .option("--text-file <file>", "plain-text body from a UTF-8 file")
    .option("--html-file <file>", "HTML body from a file, sent beside the text ('' = none)")
    .option("--from <date>", "reply only to mail arriving from this date (ISO 8601, or none)")
    .option("--to <date>", "reply only to mail arriving before this date (ISO 8601, or none)")
    .action(async (address: string, action: string, o: VacationOpts) => {
      const a = action.toLowerCase();
      if (a !== "on" && a !== "off" && a !== "show")
        h.usage(`vacation: expected on, off or show, got "${action}"`);
      const patch = a === "show" ? null : { ...patchOf(h, o), isEnabled: a === "on" };
      const out = await h
        .withStore(h.load(o), async (s) => {
          const acc = await s.getAccount(address);
          if (!acc) h.notFound(`no such account: ${address}`);
          return patch ? s.setVacationResponse(acc.id, patch) : s.getVacationResponse(acc.id);
        })
        .catch(h.storeExit);
      process.stdout.write(show(out));
    });
}
