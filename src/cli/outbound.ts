/**
 * CLI for outbound mail: `queue list|show|retry|delete|hold|release` and `dns DOMAIN [--check]`
 * (every DNS record a hosted domain should publish). Registered by commands.ts.
 */
import type { Command } from "commander";
import type { ResolvedConfig } from "../config/index.ts";
import { firstPort } from "../http/advertised.ts";
import { mtaStsId } from "../http/mta-sts.ts";
import { activeDkimKeys, dkimTxtRecord } from "../smtp/dkim/index.ts";
import { createResolver, type OutboundResolver } from "../smtp/queue/resolver.ts";
import type { QueueEntry, Store } from "../store/types.ts";

export interface CliHelpers {
  configOption(cmd: Command): Command;
  load(o: { config?: string }): ResolvedConfig;
  withStore<T>(config: ResolvedConfig, fn: (store: Store) => Promise<T>, bulk?: boolean): Promise<T>;
  storeExit(e: unknown): never;
  /** throws the CLI's "no such thing" error (exit 67) */
  notFound(message: string): never;
  usage(message: string): never;
}

function entryState(q: QueueEntry): string {
  if (q.held) return "held";
  if (q.leaseOwner && q.leaseUntil && q.leaseUntil.getTime() > Date.now()) return "sending";
  const states = q.recipients.map((r) => r.state ?? "pending");
  if (states.includes("deferred")) return "deferred";
  return "pending";
}

function idArg(h: CliHelpers, v: string): number {
  if (!/^\d+$/.test(v)) h.usage(`expected a queue id, got "${v}"`);
  return Number(v);
}

export function addQueueCommands(program: Command, h: CliHelpers): void {
  const queue = program.command("queue").description("the outbound mail queue");
  h.configOption(queue.command("list"))
    .description(
      "list queued outbound messages, one per line: id, status, attempts, size, <sender>, recipients, " +
        "created, state (pending, deferred, sending, held), next attempt, recipient=state,…",
    )
    .action(async (o: { config?: string }) => {
      const rows = await h.withStore(h.load(o), (s) => s.listQueue()).catch(h.storeExit);
      for (const q of rows) {
        const rcpts = q.recipients.map((r) => r.address).join(",");
        const states = q.recipients.map((r) => `${r.address}=${r.state ?? "pending"}`).join(",");
        process.stdout.write(
          `${q.id}\t${q.status}\t${q.attempts}\t${q.size}\t<${q.mailFrom}>\t${rcpts}\t${q.createdAt.toISOString()}` +
            `\t${entryState(q)}\t${q.nextAttemptAt.toISOString()}\t${states}\n`,
        );
      }
    });
  h.configOption(queue.command("show <id>"))
    .description("show one queued message: envelope, per-recipient state, last errors, message header")
    .action(async (id: string, o: { config?: string }) => {
      const n = idArg(h, id);
      const r = await h
        .withStore(h.load(o), async (s) => ({ e: await s.getQueueEntry(n), m: await s.getQueuedMessage(n) }))
        .catch(h.storeExit);
      if (!r.e) h.notFound(`no queue entry ${id}`);
      const e = r.e;
      const lines: Array<[string, string]> = [
        ["id", String(e.id)],
        ["state", entryState(e)],
        ["from", `<${e.mailFrom}>`],
        ["size", String(e.size)],
        ["created", e.createdAt.toISOString()],
        ["attempts", String(e.attempts)],
        ["next-attempt", e.nextAttemptAt.toISOString()],
        ["envid", e.envid ?? "-"],
        ["ret", e.ret ?? "-"],
        // RFC 8689: set on every recipient of a REQUIRETLS message
        ["requiretls", e.recipients.some((r) => r.requireTls === true) ? "yes" : "no"],
        ["last-error", e.lastError ?? "-"],
      ];
      let out = lines.map(([k, v]) => `${`${k}:`.padEnd(14)}${v}\n`).join("");
      for (const rc of e.recipients) {
        out +=
          `recipient:    ${rc.address} ${rc.state ?? "pending"} attempts=${rc.attempts ?? 0}` +
          `${rc.status ? ` status=${rc.status}` : ""}${rc.remoteMta ? ` mta=${rc.remoteMta}` : ""}` +
          `${rc.notify ? ` notify=${rc.notify.join(",")}` : ""}${rc.lastError ? ` error=${JSON.stringify(rc.lastError)}` : ""}\n`;
      }
      if (r.m) {
        // the header section only, as bytes (it may be UTF-8, RFC 6532)
        const m = Buffer.from(r.m);
        const end = m.indexOf("\r\n\r\n");
        out += `\n${m.subarray(0, end >= 0 ? end + 2 : m.length).toString("utf8")}`;
      }
      process.stdout.write(out);
    });
  const op = (name: "retry" | "hold" | "release", what: string) =>
    h
      .configOption(queue.command(`${name} <ids...>`))
      .description(what)
      .action(async (ids: string[], o: { config?: string }) => {
        const ns = ids.map((i) => idArg(h, i));
        const missing = await h
          .withStore(h.load(o), async (s) => {
            const miss: number[] = [];
            for (const n of ns) if (!(await s.updateOutbound(n, name))) miss.push(n);
            return miss;
          })
          .catch(h.storeExit);
        if (missing.length) h.notFound(`no queue entry ${missing.join(", ")}`);
      });
  op("retry", "attempt delivery now (also releases a held entry)");
  op("hold", "stop delivering these entries until released");
  op("release", "resume delivery of held entries");
  h.configOption(queue.command("delete <ids...>"))
    .description("remove entries from the queue without sending a bounce")
    .action(async (ids: string[], o: { config?: string }) => {
      const ns = ids.map((i) => idArg(h, i));
      const missing = await h
        .withStore(h.load(o), async (s) => {
          const miss: number[] = [];
          for (const n of ns) if (!(await s.deleteOutbound(n))) miss.push(n);
          return miss;
        })
        .catch(h.storeExit);
      if (missing.length) h.notFound(`no queue entry ${missing.join(", ")}`);
    });
}

export interface DnsRecord {
  name: string;
  type: "MX" | "TXT" | "SRV" | "CNAME";
  value: string;
  comment?: string;
}

/** Every record to publish for a hosted domain. */
export function dnsRecords(
  config: ResolvedConfig,
  domain: string,
  dkimTxt: Array<[string, string]>,
): DnsRecord[] {
  const host = config.hostname.replace(/\.$/, "");
  const d = domain.toLowerCase().replace(/\.$/, "");
  const srv = (service: string, port: number, enabled: boolean): DnsRecord =>
    enabled
      ? { name: `_${service}._tcp.${d}`, type: "SRV", value: `0 1 ${port} ${host}.` }
      : // RFC 6186 §4: target "." = service not provided
        { name: `_${service}._tcp.${d}`, type: "SRV", value: "0 0 0 .", comment: "not offered" };
  const out: DnsRecord[] = [
    { name: d, type: "MX", value: `10 ${host}.`, comment: "RFC 5321 §5.1" },
    { name: d, type: "TXT", value: "v=spf1 mx -all", comment: "SPF, RFC 7208" },
    ...dkimTxt.map(
      ([selector, txt]): DnsRecord => ({
        name: `${selector}._domainkey.${d}`,
        type: "TXT",
        value: txt,
        comment: "DKIM, RFC 6376 / RFC 8463",
      }),
    ),
    {
      name: `_dmarc.${d}`,
      type: "TXT",
      value: `v=DMARC1; p=quarantine; adkim=s; aspf=s; rua=mailto:postmaster@${d}`,
      comment: "DMARC, RFC 7489",
    },
    {
      name: `_mta-sts.${d}`,
      type: "TXT",
      value: `v=STSv1; id=${mtaStsId(config)}`,
      comment: `MTA-STS, RFC 8461: the policy (mode: ${config.http.mta_sts_mode}, mx: ${host}) is served by the HTTP service at https://mta-sts.${d}/.well-known/mta-sts.txt`,
    },
    { name: `mta-sts.${d}`, type: "CNAME", value: `${host}.` },
    {
      name: `_smtp._tls.${d}`,
      type: "TXT",
      value: `v=TLSRPTv1; rua=mailto:postmaster@${d}`,
      comment: "RFC 8460",
    },
    // RFC 6186 §3 service records (RFC 8314 §5.1 for the implicit-TLS ones)
    srv("imap", firstPort(config.imap.listen, 143), config.imap.enabled && config.imap.listen.length > 0),
    srv(
      "imaps",
      firstPort(config.imap.listen_tls, 993),
      config.imap.enabled && config.imap.listen_tls.length > 0,
    ),
    srv("pop3", firstPort(config.pop3.listen, 110), config.pop3.enabled && config.pop3.listen.length > 0),
    srv(
      "pop3s",
      firstPort(config.pop3.listen_tls, 995),
      config.pop3.enabled && config.pop3.listen_tls.length > 0,
    ),
    srv(
      "submission",
      firstPort(config.smtp.submission, 587),
      config.smtp.enabled && config.smtp.submission.length > 0,
    ),
    srv(
      "submissions",
      firstPort(config.smtp.submissions, 465),
      config.smtp.enabled && config.smtp.submissions.length > 0,
    ),
    { name: `autoconfig.${d}`, type: "CNAME", value: `${host}.`, comment: "Thunderbird autoconfig" },
    { name: `autodiscover.${d}`, type: "CNAME", value: `${host}.`, comment: "Outlook autodiscover" },
  ];
  return out;
}

/** TXT values longer than 255 octets are split into several strings (RFC 1035 §3.3.14). */
function zoneValue(r: DnsRecord): string {
  if (r.type !== "TXT") return r.value;
  const parts: string[] = [];
  for (let i = 0; i < r.value.length; i += 255) parts.push(`"${r.value.slice(i, i + 255)}"`);
  return parts.join(" ");
}

export function formatZone(records: DnsRecord[]): string {
  return records
    .map(
      (r) =>
        `${`${r.name}.`.padEnd(40)} IN ${r.type.padEnd(5)} ${zoneValue(r)}${r.comment ? ` ; ${r.comment}` : ""}\n`,
    )
    .join("");
}

function norm(s: string): string {
  return s.replace(/\s+/g, " ").replace(/\.$/, "").trim().toLowerCase();
}

/** Looks a record up; "ok" / "missing" / "differs: <what DNS has>". */
export async function checkRecord(resolver: OutboundResolver, r: DnsRecord): Promise<string> {
  let got: unknown[];
  try {
    got = await resolver(r.name, r.type);
  } catch (e) {
    return `missing (${(e as { code?: string }).code ?? String(e)})`;
  }
  const values = got.map((g) => {
    if (r.type === "TXT") return Array.isArray(g) ? g.join("") : String(g);
    if (r.type === "MX") {
      const m = g as { exchange: string; priority: number };
      return `${m.priority} ${m.exchange}`;
    }
    if (r.type === "SRV") {
      const s = g as { priority: number; weight: number; port: number; name: string };
      return `${s.priority} ${s.weight} ${s.port} ${s.name}`;
    }
    return String(g);
  });
  if (r.type === "TXT" && r.name.includes("._domainkey.")) {
    if (values.some((v) => norm(v) === norm(r.value))) return "ok";
  } else if (r.type === "TXT") {
    // SPF/DMARC/...: one record of that kind should exist; report it when it is not ours
    const prefix = r.value.split(/[;\s]/)[0]!.toLowerCase();
    const same = values.filter((v) => v.toLowerCase().startsWith(prefix));
    if (same.length > 0)
      return same.some((v) => norm(v) === norm(r.value)) ? "ok" : `differs: ${same.join(" | ")}`;
    return "missing";
  } else if (values.some((v) => norm(v) === norm(r.value))) return "ok";
  return `differs: ${values.join(" | ")}`;
}

export function addDnsCommand(program: Command, h: CliHelpers): void {
  h.configOption(program.command("dns <domain>"))
    .description(
      "print the DNS records to publish for a hosted domain (MX, SPF, DKIM, DMARC, MTA-STS, SRV, autoconfig)",
    )
    .option("--check", "look each record up in DNS (outbound.resolver) and report ok / missing / differs")
    .action(async (domain: string, o: { config?: string; check?: boolean }) => {
      const config = h.load(o);
      const found = await h
        .withStore(config, async (s) => {
          const d = await s.getDomain(domain);
          return d ? { d, keys: await activeDkimKeys(s.keys, d.name) } : null;
        })
        .catch(h.storeExit);
      if (!found) h.notFound(`not a hosted domain: ${domain}`);
      const { d, keys } = found;
      const records = dnsRecords(
        config,
        d.name,
        keys.map((k) => [k.selector, dkimTxtRecord(k)]),
      );
      if (keys.length === 0)
        process.stderr.write(
          `postkontor: ${d.name} has no DKIM keys (postkontor domain dkim ${d.name} creates them)\n`,
        );
      if (!o.check) {
        process.stdout.write(
          `; DNS records for ${d.name} (mail host ${config.hostname})\n${formatZone(records)}`,
        );
        return;
      }
      const resolver = createResolver(config.outbound.resolver, config.dns);
      let bad = 0;
      for (const r of records) {
        const v = await checkRecord(resolver, r);
        if (v !== "ok") bad++;
        process.stdout.write(
          `${v === "ok" ? "ok     " : "FAIL   "} ${r.name} ${r.type} ${v === "ok" ? "" : v}\n`,
        );
      }
      if (bad > 0) process.exitCode = 1;
    });
}
