/**
 * POP3 drain benchmark (used by bench/run.ts, `--only pop3`), the same for postkontor and Dovecot:
 *
 *   pop3_drain_single      one user with N messages (~50 KB average, varied sizes): one session
 *                          USER/PASS, LIST, RETR all, DELE all, QUIT — timed from the first command
 *                          after the greeting to QUIT's +OK (RFC 1939 §6: the deletions happen in
 *                          UPDATE, so the QUIT answer is part of the cost).
 *   pop3_drain_concurrent  U users × M messages each, all drained at once; aggregate rates.
 *
 * Mail is put in place through IMAP MULTIAPPEND (RFC 3502) with LITERAL+ in batches to INBOX, as
 * bench/run.ts populateBig does. The client is a raw socket with RFC 2449 PIPELINING: RETR+DELE
 * are sent in windows of `window` messages, and responses are framed on bytes (multi-line
 * responses end at CRLF "." CRLF, RFC 1939 §3) without decoding the message.
 *
 * After each drain the maildrop is checked empty (STAT in a new session), so a server that does
 * not delete cannot look fast. Every loop is bounded; all traffic is on 127.0.0.1.
 */
import net from "node:net";
import { RawImap } from "./imap-client.ts";
import { treeCpuMs } from "./proc.ts";
import { settleServer } from "./server.ts";

// --- raw POP3 client --------------------------------------------------------------------------

const CRLF_DOT_CRLF = Buffer.from("\r\n.\r\n");

interface Pending {
  multi: boolean;
  resolve(r: { status: string; body: Buffer | null }): void;
  reject(e: Error): void;
}

export class RawPop3 {
  private sock: net.Socket;
  private chunks: Buffer[] = [];
  private buf: Buffer = Buffer.alloc(0);
  /** where to resume looking for the end of a multi-line response in buf */
  private scanFrom = 0;
  private pending: Pending[] = [];
  private closed = false;
  /** when set, multi-line bodies are only counted, not kept */
  countOnly = false;
  /** body octets received (dot-stuffed, as on the wire) */
  bodyBytes = 0;

  private constructor(sock: net.Socket) {
    this.sock = sock;
    sock.on("data", (d: Buffer) => {
      this.chunks.push(d);
      this.parse();
    });
    const fail = (e: Error) => {
      this.closed = true;
      for (const p of this.pending.splice(0)) p.reject(e);
    };
    sock.on("close", () => fail(new Error("pop3 connection closed")));
    sock.on("error", (e) => fail(e));
  }

  static async connect(port: number, host = "127.0.0.1"): Promise<RawPop3> {
    const sock = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ port, host }, () => resolve(s));
      s.once("error", reject);
    });
    sock.setNoDelay(true);
    const c = new RawPop3(sock);
    const greeting = await c.expect(false);
    if (!greeting.status.startsWith("+OK")) throw new Error(`pop3 greeting: ${greeting.status}`);
    return c;
  }

  private parse(): void {
    if (this.chunks.length) {
      this.buf = this.buf.length ? Buffer.concat([this.buf, ...this.chunks]) : Buffer.concat(this.chunks);
      this.chunks = [];
    }
    // bounded: each iteration consumes one complete response or returns
    while (this.pending.length) {
      const p = this.pending[0]!;
      const eol = this.buf.indexOf("\r\n");
      if (eol < 0) return;
      const status = this.buf.toString("latin1", 0, eol);
      const ok = status.startsWith("+OK");
      if (!p.multi || !ok) {
        this.buf = this.buf.subarray(eol + 2);
        this.scanFrom = 0;
        this.pending.shift();
        p.resolve({ status, body: null });
        continue;
      }
      // RFC 1939 §3: the body follows the status line and ends with CRLF "." CRLF; the status
      // line's own CRLF may be the first half of the terminator (empty body)
      const from = Math.max(eol, this.scanFrom);
      const end = this.buf.indexOf(CRLF_DOT_CRLF, from);
      if (end < 0) {
        this.scanFrom = Math.max(eol, this.buf.length - 4);
        return;
      }
      const bodyLen = end + 2 - (eol + 2);
      this.bodyBytes += Math.max(0, bodyLen);
      const body = this.countOnly
        ? null
        : Buffer.from(this.buf.subarray(eol + 2, Math.max(eol + 2, end + 2)));
      this.buf = this.buf.subarray(end + 5);
      this.scanFrom = 0;
      this.pending.shift();
      p.resolve({ status, body });
    }
  }

  private expect(multi: boolean): Promise<{ status: string; body: Buffer | null }> {
    if (this.closed) return Promise.reject(new Error("pop3 connection closed"));
    return new Promise((resolve, reject) => {
      this.pending.push({ multi, resolve, reject });
      this.parse();
    });
  }

  /** sends one command; `multi` = a multi-line answer is expected on +OK */
  send(line: string, multi = false): Promise<{ status: string; body: Buffer | null }> {
    const r = this.expect(multi);
    this.sock.write(`${line}\r\n`);
    return r;
  }

  async ok(line: string, multi = false): Promise<{ status: string; body: Buffer | null }> {
    const r = await this.send(line, multi);
    if (!r.status.startsWith("+OK")) throw new Error(`pop3 ${line.split(" ")[0]} failed: ${r.status}`);
    return r;
  }

  async login(user: string, pass: string): Promise<void> {
    // RFC 2449 PIPELINING is only known after CAPA; USER and PASS are sent one after the other
    await this.ok(`USER ${user}`);
    await this.ok(`PASS ${pass}`);
  }

  /** LIST → [msg number, octets] */
  async list(): Promise<Array<[number, number]>> {
    const r = await this.ok("LIST", true);
    const out: Array<[number, number]> = [];
    for (const l of r.body!.toString("latin1").split("\r\n")) {
      const m = /^(\d+) (\d+)$/.exec(l);
      if (m) out.push([Number(m[1]), Number(m[2])]);
    }
    return out;
  }

  async stat(): Promise<{ count: number; octets: number }> {
    const r = await this.ok("STAT");
    const m = /^\+OK (\d+) (\d+)/.exec(r.status);
    if (!m) throw new Error(`bad STAT answer: ${r.status}`);
    return { count: Number(m[1]), octets: Number(m[2]) };
  }

  /** RETR + DELE for every message, pipelined in windows of `window` messages */
  async retrDeleAll(numbers: number[], window: number): Promise<void> {
    this.countOnly = true;
    for (let i = 0; i < numbers.length; i += window) {
      const batch = numbers.slice(i, i + window);
      const answers: Array<Promise<{ status: string; body: Buffer | null }>> = [];
      const lines: string[] = [];
      for (const n of batch) {
        answers.push(this.expect(true), this.expect(false));
        lines.push(`RETR ${n}\r\nDELE ${n}\r\n`);
      }
      this.sock.write(lines.join(""));
      const rs = await Promise.all(answers);
      for (const r of rs)
        if (!r.status.startsWith("+OK")) throw new Error(`pop3 RETR/DELE failed: ${r.status}`);
    }
    this.countOnly = false;
  }

  close(): void {
    this.sock.destroy();
  }
}

// --- messages ------------------------------------------------------------------------------------

function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

const WORDS =
  "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango invoice meeting report budget lunch project deadline server mail".split(
    " ",
  );

/** message size in octets: half small (2–10 KB), 30 % medium (10–60 KB), 20 % large (60–300 KB) ≈ 50 KB mean */
function pickSize(r: () => number): number {
  const x = r();
  if (x < 0.5) return 2048 + Math.floor(r() * 8 * 1024);
  if (x < 0.8) return 10 * 1024 + Math.floor(r() * 50 * 1024);
  return 60 * 1024 + Math.floor(r() * 240 * 1024);
}

/** A deterministic message of about `size` octets: text, some lines starting with "." (dot-stuffing), and a base64 part when large. */
export function makePop3Message(user: string, i: number, r: () => number): Buffer {
  const size = pickSize(r);
  const head =
    `From: Sender ${i % 37} <sender${i % 37}@example.org>\r\n` +
    `To: ${user}\r\n` +
    `Subject: pop3 bench message ${i}\r\n` +
    `Date: Mon, 02 Mar 2026 10:${String(i % 60).padStart(2, "0")}:00 +0000\r\n` +
    `Message-ID: <pop3.${i}.${user}>\r\n` +
    "MIME-Version: 1.0\r\n";
  const parts: string[] = [];
  let n = head.length;
  const text: string[] = [];
  const textTarget = size > 20_000 ? 6000 : size - n - 200;
  while (n < head.length + textTarget) {
    const words: string[] = [];
    for (let k = 0; k < 11; k++) words.push(WORDS[Math.floor(r() * WORDS.length)]!);
    let l = words.join(" ");
    if (r() < 0.03) l = `.${l}`; // needs dot-stuffing on the wire (RFC 1939 §3)
    text.push(l);
    n += l.length + 2;
  }
  if (size <= 20_000) {
    parts.push(head, "Content-Type: text/plain; charset=utf-8\r\n\r\n", text.join("\r\n"), "\r\n");
    return Buffer.from(parts.join(""), "latin1");
  }
  const b = "b0undary";
  parts.push(
    head,
    `Content-Type: multipart/mixed; boundary="${b}"\r\n\r\n`,
    `--${b}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n`,
    text.join("\r\n"),
    `\r\n--${b}\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n` +
      `Content-Disposition: attachment; filename="data${i}.bin"\r\n\r\n`,
  );
  const rawLen = Math.max(0, Math.floor((size - n - 300) / 78) * 57); // 57 octets = one 76-char line + CRLF
  const raw = Buffer.alloc(rawLen);
  for (let k = 0; k < rawLen; k++) raw[k] = Math.floor(r() * 256);
  const b64 = raw.toString("base64");
  const lines: string[] = [];
  for (let k = 0; k < b64.length; k += 76) lines.push(b64.slice(k, k + 76));
  parts.push(lines.join("\r\n"), `\r\n--${b}--\r\n`);
  return Buffer.from(parts.join(""), "latin1");
}

// --- population through IMAP ---------------------------------------------------------------------

/** Appends `count` generated messages to the user's INBOX with MULTIAPPEND batches of ≤ ~8 MB. */
export async function populateInbox(
  imapPort: number,
  user: string,
  pass: string,
  count: number,
  seed: number,
  deadline: number,
): Promise<number> {
  const c = await RawImap.connect(imapPort);
  let total = 0;
  try {
    await c.command(`LOGIN "${user}" "${pass}"`);
    const r = prng(seed);
    let i = 0;
    let batchNo = 0;
    while (i < count) {
      if (Date.now() > deadline) throw new Error("benchmark deadline exceeded (populate)");
      const tag = `m${batchNo++}`;
      const parts: Buffer[] = [Buffer.from(`${tag} APPEND INBOX`)];
      let bytes = 0;
      // bounded: at most `count` messages overall, ≤ 8 MB or 500 messages per batch
      while (i < count && bytes < 8 * 1024 * 1024 && parts.length < 1000) {
        const m = makePop3Message(user, i++, r);
        bytes += m.length;
        parts.push(Buffer.from(` {${m.length}+}\r\n`), m);
      }
      total += bytes;
      parts.push(Buffer.from("\r\n"));
      c.socket.write(Buffer.concat(parts));
      for (let k = 0; k < 10_000; k++) {
        const line = (await c.readLine()).toString("latin1");
        if (line.startsWith(`${tag} `)) {
          if (!/^\S+ OK/.test(line)) throw new Error(`MULTIAPPEND failed for ${user}: ${line}`);
          break;
        }
      }
    }
    await c.command("LOGOUT").catch(() => {});
  } finally {
    c.close();
  }
  return total;
}

// --- drain ---------------------------------------------------------------------------------------

export interface DrainResult {
  messages: number;
  /** sum of the LIST sizes (the octets the server announces for RETR) */
  octets: number;
  /** body octets received on the wire (dot-stuffed) */
  wireOctets: number;
  loginMs: number;
  /** first command after the greeting (USER) to QUIT's +OK */
  totalMs: number;
}

/** One POP3 session: login, LIST, RETR+DELE all (pipelined), QUIT; then checks the maildrop is empty. */
export async function drainMailbox(
  pop3Port: number,
  user: string,
  pass: string,
  opts: { window?: number; expect?: number } = {},
): Promise<DrainResult> {
  const c = await RawPop3.connect(pop3Port);
  let res: DrainResult;
  try {
    const t0 = performance.now();
    await c.login(user, pass);
    const t1 = performance.now();
    const list = await c.list();
    if (opts.expect !== undefined && list.length !== opts.expect)
      throw new Error(`${user}: LIST shows ${list.length} messages, expected ${opts.expect}`);
    await c.retrDeleAll(
      list.map(([n]) => n),
      opts.window ?? 50,
    );
    await c.ok("QUIT");
    const t2 = performance.now();
    res = {
      messages: list.length,
      octets: list.reduce((a, [, s]) => a + s, 0),
      wireOctets: c.bodyBytes,
      loginMs: t1 - t0,
      totalMs: t2 - t0,
    };
  } finally {
    c.close();
  }
  // RFC 1939 §6: the DELEs took effect in UPDATE — the next session sees an empty maildrop
  const check = await RawPop3.connect(pop3Port);
  try {
    await check.login(user, pass);
    const st = await check.stat();
    if (st.count !== 0) throw new Error(`${user}: ${st.count} messages left after QUIT`);
    await check.ok("QUIT");
  } finally {
    check.close();
  }
  return res;
}

// --- the scenario --------------------------------------------------------------------------------

export interface Pop3BenchTarget {
  name: string;
  imapPort: number;
  pop3Port: number;
  /** makes sure these accounts exist (password as given) */
  addUsers(users: Array<[string, string]>): Promise<void>;
  /** the server's processes, to wait for its deferred work after populating */
  pids?: () => number[];
  /** postkontor's data directory: its search indexing of the populated mail is waited for */
  dataDir?: string | null;
}

/**
 * After populating, what the server defers (postkontor's search indexing of the appended texts)
 * is waited for, at most a minute: the drain is of mail that arrived earlier, as a POP3 user's
 * is, not a race with the indexing of mail appended a moment ago. Seconds waited.
 */
async function settle(t: Pop3BenchTarget, deadline: number): Promise<number> {
  if (!t.pids) return 0;
  const r = await settleServer(
    { pids: t.pids, dataDir: t.dataDir },
    Math.max(0, Math.min(60_000, deadline - Date.now())),
  );
  return r.seconds;
}

export interface Pop3BenchSizes {
  singleMessages: number;
  users: number;
  perUser: number;
  window: number;
}

export function pop3Sizes(quick: boolean): Pop3BenchSizes {
  return quick
    ? { singleMessages: 200, users: 10, perUser: 20, window: 50 }
    : { singleMessages: 2000, users: 50, perUser: 100, window: 50 };
}

/** the accounts the scenario uses (so a target can create them up front) */
export function pop3Users(sizes: Pop3BenchSizes): Array<[string, string]> {
  const out: Array<[string, string]> = [["pop3single@bench.test", "pop3-bench-pw"]];
  for (let u = 0; u < sizes.users; u++) out.push([`pop3u${u}@bench.test`, "pop3-bench-pw"]);
  return out;
}

async function inParallel<T>(
  items: T[],
  limit: number,
  fn: (x: T, i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

const mb = (octets: number) => octets / 1_000_000;

export async function benchPop3(
  t: Pop3BenchTarget,
  sizes: Pop3BenchSizes,
  report: (r: Record<string, unknown>) => void,
  deadline: number,
): Promise<void> {
  const users = pop3Users(sizes);
  await t.addUsers(users);
  const [single, ...many] = users as [[string, string], ...Array<[string, string]>];

  // one user, many messages
  const tp = performance.now();
  const populated = await populateInbox(
    t.imapPort,
    single[0],
    single[1],
    sizes.singleMessages,
    4242,
    deadline,
  );
  const popSec = (performance.now() - tp) / 1000;
  const settled = await settle(t, deadline);
  const cpu0 = t.pids ? treeCpuMs(t.pids()) : 0;
  const r = await drainMailbox(t.pop3Port, single[0], single[1], {
    window: sizes.window,
    expect: sizes.singleMessages,
  });
  const cpuMs = t.pids ? treeCpuMs(t.pids()) - cpu0 : null;
  report({
    bench: "pop3_drain_single",
    messages: r.messages,
    mb: +mb(r.octets).toFixed(1),
    avg_kb: +(r.octets / r.messages / 1024).toFixed(1),
    seconds: +(r.totalMs / 1000).toFixed(3),
    mb_per_s: +(mb(r.octets) / (r.totalMs / 1000)).toFixed(1),
    messages_per_s: +(r.messages / (r.totalMs / 1000)).toFixed(0),
    login_ms: +r.loginMs.toFixed(1),
    ...(cpuMs !== null ? { server_cpu_ms_per_message: +(cpuMs / r.messages).toFixed(3) } : {}),
    window: sizes.window,
    populate_seconds: +popSec.toFixed(1),
    populate_mb: +mb(populated).toFixed(1),
    settle_seconds: +settled.toFixed(1),
    note: "USER/PASS, LIST, RETR+DELE all (pipelined), QUIT +OK; maildrop verified empty afterwards",
  });

  // many users at once
  const tp2 = performance.now();
  await inParallel(many, 8, async ([u, p], k) => {
    await populateInbox(t.imapPort, u, p, sizes.perUser, 1000 + k, deadline);
  });
  const popSec2 = (performance.now() - tp2) / 1000;
  const settled2 = await settle(t, deadline);
  const cpu1 = t.pids ? treeCpuMs(t.pids()) : 0;
  const t0 = performance.now();
  const results = await Promise.all(
    many.map(([u, p]) => drainMailbox(t.pop3Port, u, p, { window: sizes.window, expect: sizes.perUser })),
  );
  // the drains are timed to QUIT; the emptiness check after each is outside its totalMs, so the
  // aggregate wall time is the slowest session's start-to-QUIT
  const wall = Math.max(...results.map((x) => x.totalMs)) / 1000;
  const sumWall = (performance.now() - t0) / 1000;
  const octets = results.reduce((a, x) => a + x.octets, 0);
  const msgs = results.reduce((a, x) => a + x.messages, 0);
  // the server's CPU over the drains and the emptiness checks after them
  const cpuMs2 = t.pids ? treeCpuMs(t.pids()) - cpu1 : null;
  report({
    bench: "pop3_drain_concurrent",
    users: many.length,
    messages_per_user: sizes.perUser,
    messages: msgs,
    mb: +mb(octets).toFixed(1),
    seconds: +wall.toFixed(3),
    mb_per_s: +(mb(octets) / wall).toFixed(1),
    messages_per_s: +(msgs / wall).toFixed(0),
    slowest_session_s: +wall.toFixed(3),
    fastest_session_s: +(Math.min(...results.map((x) => x.totalMs)) / 1000).toFixed(3),
    ...(cpuMs2 !== null ? { server_cpu_ms_per_message: +(cpuMs2 / msgs).toFixed(3) } : {}),
    wall_with_checks_s: +sumWall.toFixed(3),
    window: sizes.window,
    populate_seconds: +popSec2.toFixed(1),
    settle_seconds: +settled2.toFixed(1),
    note: "all sessions started together; rates over the slowest session's USER..QUIT +OK",
  });
}
