/**
 * SMTP ingest benchmark (used by bench/run.ts, `--only smtp`), the same client for both targets:
 *
 *   postkontor   its MX listener (local delivery happens before the 250, docs/architecture.md "Mail store")
 *   dovecot      a private Postfix (bench/postfix.ts) in front of Dovecot LMTP (bench/dovecot.ts)
 *
 * N messages of ~10 KB (unique Message-ID each) go to random users of one domain over S parallel
 * SMTP sessions. The client is a raw socket with PIPELINING (RFC 2920): per message it sends
 * MAIL, RCPT and DATA in one write, then the dot-stuffed content (RFC 5321 §4.5.2) and waits for
 * the final reply. Two rates, both from the first connect:
 *
 *   accepted/s   until the last 250 after DATA
 *   delivered/s  until IMAP STATUS INBOX (MESSAGES) summed over all users (polled after the
 *                last 250 on connections logged in beforehand) shows every accepted message
 *
 * Then every acknowledged message is checked: each user's Message-IDs (UID FETCH
 * BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]) must contain exactly the ones acknowledged for that
 * user in this run, and the last message of each user must end with the body that was sent.
 * Every loop is bounded in count and by a deadline; all traffic is on 127.0.0.1.
 */
import net from "node:net";
import { RawImap } from "./imap-client.ts";
import { cpuDelta, treeCpu, waitCpuQuiet } from "./proc.ts";

export interface SmtpSizes {
  messages: number;
  sessions: number;
  users: number;
  /** approximate size of each message */
  messageBytes: number;
  /** repetitions (a summary row gives the medians) */
  reps: number;
  /** one message per SMTP connection (connect, EHLO, one transaction, QUIT) instead of reusing sessions */
  perConnection?: boolean;
  /** names the variant in the rows (e.g. "sender_auth_on") */
  variant?: string;
}

export function smtpSizes(quick: boolean): SmtpSizes {
  return quick
    ? { messages: 500, sessions: 20, users: 50, messageBytes: 10_240, reps: 3 }
    : { messages: 5000, sessions: 20, users: 50, messageBytes: 10_240, reps: 1 };
}

export interface SmtpFront {
  port: number;
  /** the front's own processes when they are not the target's (Postfix): counted in the CPU figure */
  pids?(): number[];
  stop(): Promise<void>;
}

export interface SmtpBenchTarget {
  name: string;
  imapPort: number;
  addUsers(users: Array<[string, string]>): Promise<void>;
  /** the SMTP server that accepts mail for `domain` (postkontor's MX, or Postfix → Dovecot LMTP) */
  smtpFront(domain: string, users: string[]): Promise<SmtpFront>;
  /** the server's processes (roots of the trees whose CPU time is counted per message) */
  pids(): number[];
}

const DOMAIN = "bench.test";
const PASS = "smtp-bench-pw";

// --- raw SMTP client --------------------------------------------------------------------------

export class RawSmtp {
  private sock: net.Socket;
  private buf = "";
  private waiter: (() => void) | null = null;
  private closed = false;

  private constructor(sock: net.Socket) {
    this.sock = sock;
    sock.on("data", (d: Buffer) => {
      // replies are ASCII; latin1 keeps it byte-for-byte
      this.buf += d.toString("latin1");
      this.wake();
    });
    sock.on("close", () => {
      this.closed = true;
      this.wake();
    });
    sock.on("error", () => {});
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  static async connect(port: number): Promise<RawSmtp> {
    const sock = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ port, host: "127.0.0.1" }, () => resolve(s));
      s.once("error", reject);
    });
    sock.setNoDelay(true);
    const c = new RawSmtp(sock);
    const greeting = await c.reply();
    if (!greeting.startsWith("220")) throw new Error(`SMTP greeting: ${greeting}`);
    return c;
  }

  /** the next complete reply (RFC 5321 §4.2: "ddd-" continuation lines, then "ddd "); bounded wait */
  async reply(timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /^(?:\d{3}-[^\n]*\n)*\d{3}(?: [^\n]*)?\r?\n/.exec(this.buf);
      if (m) {
        this.buf = this.buf.slice(m[0].length);
        return m[0].trimEnd();
      }
      if (this.closed) throw new Error(`SMTP connection closed; pending: ${JSON.stringify(this.buf)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`SMTP reply timeout; pending: ${JSON.stringify(this.buf)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 1000));
        this.waiter = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  }

  async command(line: string): Promise<string> {
    this.sock.write(`${line}\r\n`);
    return this.reply();
  }

  /**
   * One transaction with PIPELINING (RFC 2920 §3.1: MAIL, RCPT and DATA may be sent in one
   * group; DATA is the last command of it). Returns the final reply, or the first refusal.
   */
  async transaction(from: string, to: string, stuffed: Buffer): Promise<string> {
    this.sock.write(`MAIL FROM:<${from}>\r\nRCPT TO:<${to}>\r\nDATA\r\n`);
    const mail = await this.reply();
    const rcpt = await this.reply();
    const data = await this.reply();
    if (!data.startsWith("354")) {
      // RFC 2920 §3.1: DATA after a refused RCPT is refused too; nothing to send
      return mail.startsWith("250") ? (rcpt.startsWith("250") ? data : rcpt) : mail;
    }
    this.sock.write(Buffer.concat([stuffed, Buffer.from(".\r\n")]));
    return this.reply();
  }

  close(): void {
    this.sock.destroy();
  }
}

/** RFC 5321 §4.5.2: a line starting with "." gets one more; the content ends in CRLF. */
export function dotStuff(msg: Buffer): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  if (msg[0] === 0x2e) parts.push(Buffer.from("."));
  for (let i = msg.indexOf("\r\n."); i >= 0; i = msg.indexOf("\r\n.", i + 3)) {
    parts.push(msg.subarray(start, i + 2), Buffer.from("."));
    start = i + 2;
  }
  parts.push(msg.subarray(start));
  if (!(msg.length >= 2 && msg[msg.length - 2] === 0x0d && msg[msg.length - 1] === 0x0a))
    parts.push(Buffer.from("\r\n"));
  return Buffer.concat(parts);
}

// --- messages ---------------------------------------------------------------------------------

let seed = 4242;
function rnd(): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
}
const WORDS =
  "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu invoice meeting report budget lunch".split(
    " ",
  );
function line(n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(WORDS[Math.floor(rnd() * WORDS.length)]!);
  return out.join(" ");
}

interface Outgoing {
  to: string;
  messageId: string;
  body: Buffer;
  stuffed: Buffer;
}

function makeMessages(rep: number, sizes: SmtpSizes, users: string[]): Outgoing[] {
  const out: Outgoing[] = [];
  const stamp = Date.now().toString(36);
  for (let i = 0; i < sizes.messages; i++) {
    const to = users[Math.floor(rnd() * users.length)]!;
    const messageId = `smtp${rep}.${i}.${stamp}@sender.example`;
    const lines: string[] = [];
    let size = 400;
    while (size < sizes.messageBytes) {
      const l = line(11);
      lines.push(l);
      size += l.length + 2;
    }
    if (i % 50 === 3) lines.splice(2, 0, ".a line that needs dot-stuffing");
    const body = Buffer.from(`${lines.join("\r\n")}\r\n`);
    const head =
      `From: Sender ${i % 40} <sender${i % 40}@sender.example>\r\n` +
      `To: <${to}>\r\n` +
      `Subject: ingest ${rep}/${i} ${line(3)}\r\n` +
      `Date: Mon, 02 Mar 2026 10:${String(i % 60).padStart(2, "0")}:00 +0000\r\n` +
      `Message-ID: <${messageId}>\r\n` +
      "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n";
    const msg = Buffer.concat([Buffer.from(head), body]);
    out.push({ to, messageId, body, stuffed: dotStuff(msg) });
  }
  return out;
}

// --- the scenario -----------------------------------------------------------------------------

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function statusSum(conns: RawImap[]): Promise<number> {
  const counts = await Promise.all(
    conns.map(async (c) => {
      const r = await c.command("STATUS INBOX (MESSAGES)");
      const m = /MESSAGES (\d+)/.exec(r.untagged.map((b) => b.toString("latin1")).join(" "));
      return m ? Number(m[1]) : 0;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

async function verify(
  imapPort: number,
  users: string[],
  acked: Map<string, Outgoing[]>,
  before: Map<string, Set<string>>,
): Promise<void> {
  for (const u of users) {
    const c = await RawImap.connect(imapPort);
    try {
      await c.command(`LOGIN ${u} ${PASS}`);
      const sel = await c.command("SELECT INBOX");
      const exists = Number(
        /^\* (\d+) EXISTS/m.exec(sel.untagged.map((b) => b.toString("latin1")).join("\n"))?.[1] ?? 0,
      );
      const r = exists > 0 ? await c.command("UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])") : null;
      const ids = new Set<string>();
      for (const l of r?.untagged ?? [])
        for (const m of l.toString("latin1").matchAll(/Message-ID:\s*<([^>\r\n]+)>/gi)) ids.add(m[1]!);
      const old = before.get(u) ?? new Set<string>();
      const fresh = [...ids].filter((id) => !old.has(id));
      const want = acked.get(u) ?? [];
      const missing = want.filter((m) => !ids.has(m.messageId));
      if (missing.length > 0)
        throw new Error(
          `${u}: ${missing.length} acknowledged messages missing, e.g. ${missing[0]!.messageId}`,
        );
      if (fresh.length !== want.length)
        throw new Error(`${u}: ${fresh.length} new messages in INBOX, ${want.length} acknowledged`);
      before.set(u, ids);
      const last = want.at(-1);
      if (last) {
        // the stored text of one message per user, byte for byte
        const s = await c.command(`UID SEARCH HEADER Message-ID "${last.messageId}"`);
        const uid = /^\* SEARCH (\d+)/m.exec(s.untagged.map((b) => b.toString("latin1")).join("\n"))?.[1];
        if (!uid) throw new Error(`${u}: SEARCH did not find ${last.messageId}`);
        const f = await c.command(`UID FETCH ${uid} (BODY.PEEK[TEXT])`);
        const all = Buffer.concat(f.untagged);
        if (all.indexOf(last.body) < 0) throw new Error(`${u}: body of ${last.messageId} differs`);
      }
    } finally {
      c.close();
    }
  }
}

export interface SmtpRunState {
  usersReady: boolean;
  seen: Map<string, Set<string>>;
  rep: number;
}

export function newSmtpRunState(): SmtpRunState {
  return { usersReady: false, seen: new Map(), rep: 0 };
}

export async function benchSmtp(
  t: SmtpBenchTarget,
  sizes: SmtpSizes,
  report: (r: Record<string, unknown>) => void,
  deadline: number,
  /** carried over between calls on one target (interleaved runs): users exist, ids seen, rep number */
  state: SmtpRunState = newSmtpRunState(),
): Promise<Array<{ accepted: number; delivered: number; cpuPerMessage: number }>> {
  const check = () => {
    if (Date.now() > deadline) throw new Error("benchmark deadline exceeded");
  };
  const users = Array.from({ length: sizes.users }, (_, i) => `smtp${i}@${DOMAIN}`);
  if (!state.usersReady) await t.addUsers(users.map((u) => [u, PASS]));
  state.usersReady = true;
  const front = await t.smtpFront(DOMAIN, users);
  const rows: Array<{ accepted: number; delivered: number; cpuPerMessage: number }> = [];
  const seenIds = state.seen;
  try {
    for (let i = 0; i < sizes.reps; i++) {
      const rep = state.rep++;
      check();
      const msgs = makeMessages(rep, sizes, users);
      // IMAP sessions for the visibility poll, logged in before the clock starts
      const imap: RawImap[] = [];
      try {
        for (const u of users) {
          const c = await RawImap.connect(t.imapPort);
          imap.push(c);
          await c.command(`LOGIN ${u} ${PASS}`);
        }
        const baseline = await statusSum(imap);
        const acked = new Map<string, Outgoing[]>();
        let ackedCount = 0;
        let refused = 0;
        let firstRefusal = "";
        let next = 0;
        let lastAck = 0;
        const cpuRoots = () => [...t.pids(), ...(front.pids?.() ?? [])];
        const cpu0 = treeCpu(cpuRoots());
        const t0 = performance.now();
        const record = (m: Outgoing, r: string): boolean => {
          if (r.startsWith("250")) {
            lastAck = performance.now();
            ackedCount++;
            const list = acked.get(m.to) ?? [];
            list.push(m);
            acked.set(m.to, list);
            return true;
          }
          refused++;
          firstRefusal ||= r;
          return false;
        };
        const oneEach = async (): Promise<void> => {
          while (next < msgs.length) {
            check();
            const m = msgs[next++]!;
            const c = await RawSmtp.connect(front.port);
            try {
              await c.command("EHLO bench.client.example");
              record(m, await c.transaction(`bounce@sender.example`, m.to, m.stuffed));
              await c.command("QUIT").catch(() => "");
            } finally {
              c.close();
            }
          }
        };
        await Promise.all(
          Array.from({ length: sizes.sessions }, async () => {
            if (sizes.perConnection) return oneEach();
            const c = await RawSmtp.connect(front.port);
            try {
              const ehlo = await c.command("EHLO bench.client.example");
              if (!/^250[- ]PIPELINING/m.test(ehlo)) throw new Error(`no PIPELINING: ${ehlo}`);
              while (next < msgs.length) {
                check();
                const m = msgs[next++]!;
                const r = await c.transaction(`bounce@sender.example`, m.to, m.stuffed);
                if (!record(m, r)) await c.command("RSET");
              }
              await c.command("QUIT").catch(() => "");
            } finally {
              c.close();
            }
          }),
        );
        const acceptedSeconds = (lastAck - t0) / 1000;
        // visibility: poll STATUS until every acknowledged message is counted (bounded)
        const visibleBy = Math.min(deadline, Date.now() + 300_000);
        let visible = await statusSum(imap);
        for (let i = 0; i < 100_000 && visible < baseline + ackedCount; i++) {
          if (Date.now() > visibleBy)
            throw new Error(
              `${t.name}: only ${visible - baseline} of ${ackedCount} messages visible in time`,
            );
          await new Promise((r) => setTimeout(r, 10));
          visible = await statusSum(imap);
        }
        const visibleSeconds = (performance.now() - t0) / 1000;
        // every server process from the first connect until all is visible and the servers are
        // idle again (work deferred after the answer, like search indexing, is counted)
        await waitCpuQuiet(cpuRoots, Math.max(0, Math.min(60_000, deadline - Date.now())));
        const cpu1 = treeCpu(cpuRoots());
        const cpuMs = cpu1.total - cpu0.total;
        await verify(t.imapPort, users, acked, seenIds);
        const row = {
          bench: sizes.perConnection ? "smtp_ingest_per_connection" : "smtp_ingest",
          ...(sizes.variant ? { variant: sizes.variant } : {}),
          rep,
          messages: sizes.messages,
          sessions: sizes.sessions,
          users: sizes.users,
          message_bytes: msgs[0]?.stuffed.length ?? 0,
          accepted: ackedCount,
          refused,
          ...(firstRefusal ? { first_refusal: firstRefusal } : {}),
          accepted_seconds: +acceptedSeconds.toFixed(3),
          accepted_per_second: +(ackedCount / acceptedSeconds).toFixed(1),
          visible_seconds: +visibleSeconds.toFixed(3),
          delivered_per_second: +(ackedCount / visibleSeconds).toFixed(1),
          server_cpu_ms: cpuMs,
          server_cpu_ms_per_message: +(cpuMs / Math.max(1, ackedCount)).toFixed(2),
          server_cpu_ms_by_process: cpuDelta(cpu0, cpu1),
          verified: true,
        };
        report(row);
        rows.push({
          accepted: row.accepted_per_second,
          delivered: row.delivered_per_second,
          cpuPerMessage: row.server_cpu_ms_per_message,
        });
      } finally {
        for (const c of imap) c.close();
      }
    }
  } finally {
    await front.stop();
  }
  if (rows.length > 1)
    report({
      bench: sizes.perConnection ? "smtp_ingest_per_connection_median" : "smtp_ingest_median",
      ...(sizes.variant ? { variant: sizes.variant } : {}),
      reps: rows.length,
      messages: sizes.messages,
      sessions: sizes.sessions,
      accepted_per_second: median(rows.map((r) => r.accepted)),
      delivered_per_second: median(rows.map((r) => r.delivered)),
      server_cpu_ms_per_message: median(rows.map((r) => r.cpuPerMessage)),
      note: "medians of the smtp_ingest rows; every acknowledged message verified over IMAP",
    });
  return rows;
}
