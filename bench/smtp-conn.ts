/**
 * SMTP ingest with one message per connection (`--only smtp1`): 20 parallel clients, each
 * connecting, sending EHLO, one transaction and QUIT per message (bench/smtp.ts perConnection).
 * Two postkontor servers run side by side and are measured interleaved (off, on, off, on …):
 *
 *   sender_auth_off   smtp.sender_authentication = false
 *   sender_auth_on    SPF/DKIM/DMARC/ARC on, [dns] pointing at a local DNS server
 *                     (test/kit/dns-server.ts) that drops every 4th UDP query
 *
 * Before every repetition both servers are left to finish what earlier ones deferred (CPU quiet,
 * at most 60 s). The medians of both go to the report; the issue-16 target is "on" within 20 % of "off".
 * Everything is on 127.0.0.1; loops are bounded by count and deadline.
 */
import fs from "node:fs";
import { startDnsServer } from "../test/kit/dns-server.ts";
import { waitCpuQuiet } from "./proc.ts";
import { runCliAsync, startServer } from "./server.ts";
import { benchSmtp, newSmtpRunState, type SmtpBenchTarget, type SmtpSizes } from "./smtp.ts";

/** the issue-16 workload: 5,000 messages of 10 KB per repetition (a one-time cost such as loading the checks' code is spread as there) */
export function smtpConnSizes(quick: boolean): SmtpSizes {
  return quick
    ? { messages: 300, sessions: 20, users: 20, messageBytes: 10_240, reps: 3, perConnection: true }
    : { messages: 5000, sessions: 20, users: 50, messageBytes: 10_240, reps: 3, perConnection: true };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export async function benchSmtpPerConnection(
  sizes: SmtpSizes,
  workers: number,
  report: (r: Record<string, unknown>) => void,
  deadline: number,
): Promise<void> {
  let n = 0;
  const dns = await startDnsServer(
    {
      "sender.example": [{ type: "TXT", ttl: 300, data: "v=spf1 ip4:127.0.0.1 -all" }],
      "_dmarc.sender.example": [{ type: "TXT", ttl: 300, data: "v=DMARC1; p=none" }],
    },
    { negativeTtl: 300, policy: (q) => (!q.tcp && ++n % 4 === 0 ? "drop" : "answer") },
  );
  const variants = [
    { name: "sender_auth_off", smtpToml: "sender_authentication = false\nreverse_lookup = false\n" },
    { name: "sender_auth_on", smtpToml: "sender_authentication = true\nreverse_lookup = false\n" },
  ];
  const servers = await Promise.all(
    variants.map(async (v) => {
      const s = await startServer({
        fixedPorts: true,
        workers,
        smtpToml: v.smtpToml,
        extraToml: `[dns]\nservers = "${dns.address}"\ntimeout = "500ms"\n`,
      });
      for (const cmd of [["domain", "add", "bench.test"]]) {
        const r = await runCliAsync(s.configPath, cmd);
        if (r.status !== 0 && !/exist/i.test(r.stderr + r.stdout)) throw new Error(`cli: ${r.stderr}`);
      }
      const target: SmtpBenchTarget = {
        name: `postkontor ${v.name}`,
        imapPort: s.imapPort,
        async addUsers(users) {
          let next = 0;
          await Promise.all(
            Array.from({ length: 8 }, async () => {
              while (next < users.length) {
                const [u, p] = users[next++]!;
                const r = await runCliAsync(s.configPath, ["user", "add", u], `${p}\n${p}\n`);
                if (r.status !== 0) throw new Error(`cli user add ${u} failed: ${r.stderr}${r.stdout}`);
              }
            }),
          );
        },
        smtpFront: async () => ({ port: s.smtpPort, stop: async () => {} }),
        pids: () => s.pids(),
      };
      return {
        v,
        s,
        target,
        state: newSmtpRunState(),
        rows: [] as Array<{ accepted: number; delivered: number; cpuPerMessage: number }>,
      };
    }),
  );
  try {
    for (let rep = 0; rep < sizes.reps; rep++) {
      for (const x of servers) {
        // both servers idle first: the rep before left search indexing and checkpoints behind,
        // which would otherwise run beside the next variant's rep and count against it
        await waitCpuQuiet(
          () => servers.flatMap((y) => y.s.pids()),
          Math.min(60_000, Math.max(0, deadline - Date.now())),
        );
        const rows = await benchSmtp(
          x.target,
          { ...sizes, reps: 1, variant: x.v.name },
          report,
          deadline,
          x.state,
        );
        x.rows.push(...rows);
      }
    }
    const med = Object.fromEntries(servers.map((x) => [x.v.name, median(x.rows.map((r) => r.accepted))]));
    for (const x of servers)
      report({
        bench: "smtp_ingest_per_connection_median",
        variant: x.v.name,
        reps: x.rows.length,
        messages: sizes.messages,
        sessions: sizes.sessions,
        accepted_per_second: median(x.rows.map((r) => r.accepted)),
        delivered_per_second: median(x.rows.map((r) => r.delivered)),
        server_cpu_ms_per_message: median(x.rows.map((r) => r.cpuPerMessage)),
      });
    report({
      bench: "smtp_ingest_per_connection_auth_ratio",
      on_over_off: +(med.sender_auth_on! / med.sender_auth_off!).toFixed(3),
      dns_queries: dns.queries.length,
      dns_dropped: Math.floor(n / 4),
    });
  } finally {
    for (const x of servers) {
      await x.s.stop();
      fs.rmSync(x.s.dir, { recursive: true, force: true });
    }
    await dns.close();
  }
}
