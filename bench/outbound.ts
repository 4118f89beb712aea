/**
 * Outbound throughput (`npm run bench -- --only outbound`): a real postkontor server process with
 * the queue runner on, N messages of ~10 KB submitted over SMTP submission (implicit TLS, a few
 * pooled connections) to recipients at 10 remote domains, delivered by the queue runner (DKIM
 * signing, STARTTLS) to a local sink: smtp-server on 127.0.0.1 and 127.0.0.2 (one port on both),
 * reached through a `file:` DNS fixture via `[outbound] resolver` / `port` — never the system
 * resolver. Measures messages/s from the first submission to the sink's last 250, and shows the
 * per-connection recipient batching (RCPTs per transaction, transactions per connection).
 *
 * Every loop is bounded in count and by the caller's deadline; all traffic is on loopback.
 */
import fs from "node:fs";
import type { AddressInfo } from "node:net";
import path from "node:path";
import nodemailer from "nodemailer";
import { SMTPServer } from "smtp-server";
import { runCliAsync, startServer } from "./server.ts";

export interface OutboundSizes {
  messages: number;
  /** recipients per message, all at the message's domain (batched into one transaction) */
  recipients: number;
  domains: number;
  messageBytes: number;
  /** concurrent submission connections */
  sessions: number;
}

export function outboundSizes(quick: boolean): OutboundSizes {
  return quick
    ? { messages: 200, recipients: 2, domains: 10, messageBytes: 10_240, sessions: 4 }
    : { messages: 2000, recipients: 2, domains: 10, messageBytes: 10_240, sessions: 8 };
}

const SENDER = "sender@outbench.test";
const PASS = "bench-password-1";

interface Sink {
  port: number;
  connections: number;
  transactions: number;
  recipients: number;
  /** messages accepted (one per transaction) and when the last one was */
  accepted: number;
  lastAt: number;
  waitFor(n: number, deadline: number): Promise<void>;
  close(): Promise<void>;
}

/** smtp-server on 127.0.0.1:P and 127.0.0.2:P (same port: the runner has one outbound port). */
async function startSink(): Promise<Sink> {
  const st = { connections: 0, transactions: 0, recipients: 0, accepted: 0, lastAt: 0 };
  const make = () => {
    const s = new SMTPServer({
      logger: false,
      authOptional: true,
      disabledCommands: ["AUTH"],
      disableReverseLookup: true,
      hideDSN: false,
      size: 50 * 1024 * 1024,
      onConnect(_s, cb) {
        st.connections++;
        cb();
      },
      onData(stream, session, cb) {
        stream.on("data", () => {});
        stream.on("end", () => {
          st.transactions++;
          st.recipients += session.envelope.rcptTo.length;
          st.accepted++;
          st.lastAt = performance.now();
          cb();
        });
      },
    });
    s.on("error", () => {});
    return s;
  };
  const listen = (s: SMTPServer, host: string, port: number) =>
    new Promise<number>((resolve, reject) => {
      s.server.once("error", reject);
      s.listen(port, host, () => resolve((s.server.address() as AddressInfo).port));
    });
  // the second address must get the same port; bounded retries when it is taken there
  for (let i = 0; i < 20; i++) {
    const a = make();
    const port = await listen(a, "127.0.0.1", 0);
    const b = make();
    try {
      await listen(b, "127.0.0.2", port);
    } catch {
      await new Promise<void>((r) => a.close(() => r()));
      continue;
    }
    return {
      port,
      get connections() {
        return st.connections;
      },
      get transactions() {
        return st.transactions;
      },
      get recipients() {
        return st.recipients;
      },
      get accepted() {
        return st.accepted;
      },
      get lastAt() {
        return st.lastAt;
      },
      async waitFor(n, deadline) {
        while (st.accepted < n) {
          if (Date.now() > deadline) throw new Error(`sink got ${st.accepted} of ${n} messages`);
          await new Promise((r) => setTimeout(r, 20));
        }
      },
      async close() {
        await Promise.all([a, b].map((s) => new Promise<void>((r) => s.close(() => r()))));
      },
    };
  }
  throw new Error("no port free on both 127.0.0.1 and 127.0.0.2");
}

function body(i: number, bytes: number): string {
  const line = `outbound benchmark message ${i} lorem ipsum dolor sit amet consectetur adipiscing\r\n`;
  return line.repeat(Math.max(1, Math.ceil(bytes / line.length)));
}

export async function benchOutbound(
  sizes: OutboundSizes,
  report: (r: Record<string, unknown>) => void,
  deadline: number,
): Promise<void> {
  const sink = await startSink();
  const domains = Array.from({ length: sizes.domains }, (_, i) => `d${i}.remote-bench.test`);
  // fixture DNS: MX of every domain → mx.<domain> → 127.0.0.1 / 127.0.0.2 alternately
  const fixture = {
    MX: Object.fromEntries(domains.map((d) => [d, [{ exchange: `mx.${d}`, priority: 10 }]])),
    A: Object.fromEntries(domains.map((d, i) => [`mx.${d}`, [i % 2 ? "127.0.0.2" : "127.0.0.1"]])),
  };
  const dir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? "/tmp", "pk-outbench-"));
  const fixturePath = path.join(dir, "dns.json");
  fs.writeFileSync(fixturePath, JSON.stringify(fixture));
  const s = await startServer({
    pop3: false,
    smtpToml: [
      "limits.messages_per_hour = 0",
      "limits.recipients_per_hour = 0",
      "limits.domain_messages_per_hour = 0",
      "limits.domain_recipients_per_hour = 0",
      "limits.max_queued = 0",
      "limits.max_queued_per_user = 0",
      "limits.max_connections_per_ip = 0",
    ].join("\n"),
    extraToml: `[outbound]
enabled = true
resolver = ${JSON.stringify(`file:${fixturePath}`)}
port = ${sink.port}
poll_interval = "100ms"
concurrency = 32
mta_sts = false
dkim = true
`,
  });
  try {
    for (const args of [
      ["domain", "add", "outbench.test"],
      ["user", "add", SENDER],
    ]) {
      const r = await runCliAsync(s.configPath, args, `${PASS}\n${PASS}\n`);
      if (r.status !== 0) throw new Error(`${args.join(" ")}: ${r.stderr}`);
    }
    const line = await s.waitForLog((l) => /\bsubmissions listening on /.test(String(l.msg ?? "")), 10_000);
    const m = /:(\d+)$/.exec(String(line.msg));
    if (!m) throw new Error(`no submissions port in ${JSON.stringify(line)}`);
    const subPort = Number(m[1]);
    const tr = nodemailer.createTransport({
      pool: true,
      maxConnections: sizes.sessions,
      maxMessages: Number.POSITIVE_INFINITY,
      host: "127.0.0.1",
      port: subPort,
      secure: true,
      auth: { user: SENDER, pass: PASS },
      tls: { rejectUnauthorized: false },
    });
    const t0 = performance.now();
    let next = 0;
    const submitOne = async (i: number) => {
      const d = domains[i % domains.length]!;
      const to = Array.from({ length: sizes.recipients }, (_, k) => `u${i}-${k}@${d}`);
      await tr.sendMail({
        from: SENDER,
        to,
        subject: `outbound bench ${i}`,
        text: body(i, sizes.messageBytes),
      });
    };
    // `sessions` submitters over the pool; each loop bounded by the message count
    await Promise.all(
      Array.from({ length: sizes.sessions * 2 }, async () => {
        for (let k = 0; k < sizes.messages && next < sizes.messages; k++) {
          if (Date.now() > deadline) throw new Error("benchmark deadline exceeded");
          await submitOne(next++);
        }
      }),
    );
    const submitted = performance.now();
    tr.close();
    await sink.waitFor(sizes.messages, Math.min(deadline, Date.now() + 10 * 60_000));
    const end = sink.lastAt;
    const secs = (end - t0) / 1000;
    report({
      scenario: "outbound",
      messages: sizes.messages,
      recipients_per_message: sizes.recipients,
      domains: sizes.domains,
      message_bytes: sizes.messageBytes,
      submit_sessions: sizes.sessions,
      runner_concurrency: 32,
      submit_s: Number(((submitted - t0) / 1000).toFixed(2)),
      total_s: Number(secs.toFixed(2)),
      messages_per_s: Number((sizes.messages / secs).toFixed(1)),
      sink_connections: sink.connections,
      sink_transactions: sink.transactions,
      sink_recipients: sink.recipients,
      rcpts_per_transaction: Number((sink.recipients / Math.max(1, sink.transactions)).toFixed(2)),
      transactions_per_connection: Number((sink.transactions / Math.max(1, sink.connections)).toFixed(2)),
    });
  } finally {
    await s.stop();
    await sink.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
