/**
 * postkontor benchmarks (`npm run bench`). Prints one JSON object per measurement to stdout and
 * writes all results to bench/results/<target>.json.
 *
 *   npm run bench                          postkontor, default sizes
 *   npm run bench -- --target dovecot      the same scenarios against Debian's Dovecot 2.3
 *   npm run bench -- --quick               small sizes (smoke run)
 *   npm run bench -- --only pop3           one scenario (append, big, thread, push, memory, compress, pop3, smtp,
 *                                          smtp1, outbound, refill, fixedmem, crossnode; comma-separated)
 *   npm run bench -- --only jmap           JMAP Email/query+get of 50 in a 100k INBOX and push JMAP ⇄ IMAP
 *                                          (bench/jmap.ts on a filled store; postkontor only, not in the full run)
 *   npm run bench -- --only webmail        the webmail in Chromium: login → 50 message rows in a 10,000 (and --big)
 *                                          message INBOX, IMAP STORE → the browser showing it (bench/webmail.ts; its
 *                                          own server; postkontor only, not in the full run; --quick: 10,000 only)
 *   npm run bench -- --only import         `postkontor import` of N messages (--import N, default 10000) from an mbox
 *                                          file (our export) and from IMAP (postkontor, Dovecot if installed);
 *                                          its own server; postkontor only, not in the full run
 *   npm run bench -- --only refill         3 × (MULTIAPPEND --fill N messages, then DELETE the mailbox)
 *   npm run bench -- --only fixedmem       idle server PSS per process and part (no connections)
 *   npm run bench -- --only smtp1          one message per SMTP connection, 20 clients, sender auth off vs on (lossy local DNS)
 *   npm run bench -- --only smtp --target dovecot   SMTP ingest through a private Postfix → Dovecot LMTP
 *   npm run bench -- --backend postgres    postkontor on a private PostgreSQL cluster (test/kit/postgres.ts:
 *                                          initdb/pg_ctl in a temp dir) with [store] backend = "postgres"; the
 *                                          same scenarios (not smtp1, outbound, jmap: those start their own
 *                                          SQLite servers) plus crossnode
 *   npm run bench -- --backend postgres --only crossnode   IDLE push latency across two serve nodes on one
 *                                          database: APPEND on node B → * n EXISTS on node A (postgres only)
 *   options: --big N (messages in the large mailbox, default 100000) --conns 1000,10000
 *            --push N (IDLE push samples, default 200) --workers N (postkontor workers, default 2)
 *            --hibernate (dovecot: enable imap_hibernate_timeout=1s)
 *            --smtp-messages N (SMTP ingest messages, default 5000; e.g. 50000 for a sustained run)
 *            --pool-size N (postgres: [store] pool_size of each server process, default 10)
 *
 * Every loop is bounded in count and by a deadline; all traffic is on 127.0.0.1.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { type PgCluster, startPostgres } from "../test/kit/postgres.ts";
import { dovecotAvailable, startDovecot } from "./dovecot.ts";
import { benchFixedMemory } from "./fixed-memory.ts";
import { RawImap } from "./imap-client.ts";
import { benchImport, importSizes } from "./import.ts";
import { benchOutbound, outboundSizes } from "./outbound.ts";
import { benchPop3, pop3Sizes } from "./pop3.ts";
import { postfixAvailable, startPostfix } from "./postfix.ts";
import { benchRefill, refillSizes } from "./refill.ts";
import { anonKiB, pssKiB, repoRoot, runCliAsync, settleServer, startServer } from "./server.ts";
import { benchSmtp, type SmtpFront, smtpSizes } from "./smtp.ts";
import { benchSmtpPerConnection, smtpConnSizes } from "./smtp-conn.ts";

const { values: args } = parseArgs({
  options: {
    target: { type: "string", default: "postkontor" },
    quick: { type: "boolean", default: false },
    big: { type: "string" },
    conns: { type: "string" },
    push: { type: "string" },
    workers: { type: "string", default: "2" },
    hibernate: { type: "boolean", default: false },
    only: { type: "string" },
    "smtp-messages": { type: "string" },
    fill: { type: "string" },
    import: { type: "string" },
    backend: { type: "string", default: "sqlite" },
    "pool-size": { type: "string", default: "10" },
  },
});

const backend = args.backend;
if (backend !== "sqlite" && backend !== "postgres")
  throw new Error(`--backend: sqlite or postgres, not ${backend}`);
if (backend === "postgres" && args.target !== "postkontor")
  throw new Error("--backend postgres is a postkontor option (leave out --target)");

const quick = args.quick;
const BIG = Number(args.big ?? (quick ? 5000 : 100_000));
const CONNS = (args.conns ?? (quick ? "200" : "1000,10000")).split(",").map(Number);
const PUSH = Number(args.push ?? (quick ? 50 : 200));
const APPENDS = quick ? 300 : 2000;
const REPS = 5;
/** THREAD over the whole large mailbox takes seconds a run */
const THREAD_REPS = 4;
const only = args.only ? new Set(args.only.split(",")) : null;
const deadline = Date.now() + 45 * 60_000;

const USER = "bench@bench.test";
const PASS = "bench-password-1";

const results: Array<Record<string, unknown>> = [];
function report(r: Record<string, unknown>): void {
  const row = { target: args.target, ...(args.target === "postkontor" ? { backend } : {}), ...r };
  results.push(row);
  console.log(JSON.stringify(row));
}
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
function checkDeadline(): void {
  if (Date.now() > deadline) throw new Error("benchmark deadline exceeded");
}

// deterministic message generator --------------------------------------------------------------
let seed = 12345;
function rnd(): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
}
const WORDS =
  "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu invoice meeting report budget lunch project deadline server mail client update weekly review".split(
    " ",
  );
function words(n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(WORDS[Math.floor(rnd() * WORDS.length)]!);
  return out.join(" ");
}
interface MessageOpts {
  messageId?: string;
  subject?: string;
  date?: string;
  /** more header lines (each ending in CRLF) */
  extra?: string;
}
function makeMessage(i: number, bodyBytes = 3500, o: MessageOpts = {}): Buffer {
  const lines: string[] = [];
  let size = 0;
  while (size < bodyBytes) {
    const l = words(12);
    lines.push(l);
    size += l.length + 2;
  }
  if (i % 100 === 7) lines.splice(3, 0, "the zebrafish report is attached");
  const msg =
    `From: Sender ${i % 50} <sender${i % 50}@example.org>\r\n` +
    `To: ${USER}\r\n` +
    `Subject: ${o.subject ?? `${words(4)} #${i}`}\r\n` +
    `Date: ${o.date ?? `Mon, 02 Mar 2026 10:${String(i % 60).padStart(2, "0")}:00 +0000`}\r\n` +
    `Message-ID: ${o.messageId ?? `<m${i}.${seed}@example.org>`}\r\n` +
    (o.extra ?? "") +
    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
    lines.join("\r\n") +
    "\r\n";
  return Buffer.from(msg);
}

interface Target {
  name: string;
  port: number;
  pop3Port: number;
  /** creates accounts (POP3 and SMTP scenarios) */
  addUsers(users: Array<[string, string]>): Promise<void>;
  /** the SMTP server accepting mail for a domain (SMTP scenario) */
  smtpFront(domain: string, users: string[]): Promise<SmtpFront>;
  pids(): number[];
  /** postkontor's data directory (file sizes); null for other targets and on PostgreSQL */
  dataDir: string | null;
  /** postgres backend: starts another `serve` node on the same database (crossnode scenario) */
  startPeer?(): Promise<{ port: number; stop(): Promise<void> }>;
  stop(): Promise<void>;
}

async function startTarget(): Promise<Target> {
  if (args.target === "dovecot") {
    if (!dovecotAvailable()) throw new Error("dovecot is not installed (apt-get install dovecot-imapd)");
    // the fixed memory counts the whole mail service: Dovecot with LMTP and an idle Postfix
    const smtp = !only || only.has("smtp") || only.has("smtp1") || only.has("fixedmem");
    if (smtp && !postfixAvailable())
      throw new Error("postfix is not installed (see bench/postfix.ts); or leave out --only smtp");
    const d = await startDovecot([[USER, PASS]], {
      hibernate: args.hibernate,
      lmtp: smtp,
      // COMPRESS=DEFLATE needs the imap_zlib plugin: loaded only for that scenario
      compress: only?.has("compress") ?? false,
    });
    return {
      name: "dovecot",
      port: d.imapPort,
      pop3Port: d.pop3Port,
      addUsers: async (users) => d.addUsers(users),
      // Postfix → Dovecot LMTP on the same machine: the usual open-source MX + mailbox pair
      async smtpFront(domain, users) {
        const p = await startPostfix({ domain, users, lmtpPort: d.lmtpPort });
        return { port: p.smtpPort, pids: p.pids, stop: p.stop };
      },
      pids: d.pids,
      dataDir: null,
      stop: d.stop,
    };
  }
  // postgres: a private cluster in a temp dir, one database shared by every node of this run
  let cluster: PgCluster | null = null;
  let storeToml = "";
  if (backend === "postgres") {
    cluster = await startPostgres();
    const url = await cluster.createDatabase("bench");
    storeToml = `[store]\nbackend = "postgres"\nurl = ${JSON.stringify(url)}\npool_size = ${Number(args["pool-size"])}\n`;
  }
  const serverOpts = {
    workers: Number(args.workers),
    // fixed ports, as a deployment listens (its cluster then binds them with SO_REUSEPORT)
    fixedPorts: true,
    extraToml: `[imap.limits]\nmax_connections_per_user = 30000\nmax_connections_per_ip = 30000\n${storeToml}`,
    // no DNS from the benchmark (SPF/DKIM/DMARC need it; Postfix checks none of them by default)
    smtpToml: "sender_authentication = false\nreverse_lookup = false\n",
  };
  let s: Awaited<ReturnType<typeof startServer>>;
  try {
    s = await startServer(serverOpts);
  } catch (e) {
    await cluster?.stop();
    throw e;
  }
  for (const [cmd, input] of [
    [["domain", "add", "bench.test"], undefined],
    [["user", "add", USER], `${PASS}\n${PASS}\n`],
  ] as const) {
    const r = s.cli([...cmd], input);
    if (r.status !== 0) throw new Error(`cli ${cmd.join(" ")} failed: ${r.stderr}${r.stdout}`);
  }
  return {
    name: "postkontor",
    port: s.imapPort,
    pop3Port: s.pop3Port,
    async addUsers(users) {
      // bounded parallelism: each is one CLI process (argon2id hash)
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
    async smtpFront(domain) {
      const r = await runCliAsync(s.configPath, ["domain", "add", domain]);
      // the domain may exist already (bench.test is created above)
      if (r.status !== 0 && !/exist/i.test(r.stderr + r.stdout))
        throw new Error(`cli domain add ${domain} failed: ${r.stderr}${r.stdout}`);
      return { port: s.smtpPort, stop: async () => {} };
    },
    pids: () => s.pids(),
    dataDir: cluster ? null : path.join(s.dir, "data"),
    startPeer: cluster
      ? async () => {
          const peer = await startServer(serverOpts);
          return {
            port: peer.imapPort,
            async stop() {
              await peer.stop();
              fs.rmSync(peer.dir, { recursive: true, force: true });
            },
          };
        }
      : undefined,
    async stop() {
      try {
        await s.stop();
        fs.rmSync(s.dir, { recursive: true, force: true });
      } finally {
        await cluster?.stop();
      }
    },
  };
}

async function login(t: Target, port = t.port): Promise<RawImap> {
  const c = await RawImap.connect(port);
  await c.command(`LOGIN ${USER} ${PASS}`);
  return c;
}

async function benchAppend(t: Target): Promise<void> {
  const c = await login(t);
  await c.command("CREATE appendtest").catch(() => {});
  const msgs = Array.from({ length: APPENDS }, (_, i) => makeMessage(i));
  const t0 = performance.now();
  for (const m of msgs) {
    checkDeadline();
    await c.command("APPEND appendtest", m);
  }
  const dt = (performance.now() - t0) / 1000;
  report({
    bench: "append_sequential",
    messages: APPENDS,
    seconds: +dt.toFixed(3),
    per_second: +(APPENDS / dt).toFixed(1),
  });

  // 4 parallel connections
  const conns = await Promise.all([0, 1, 2, 3].map(() => login(t)));
  const per = Math.floor(APPENDS / 4);
  const t1 = performance.now();
  await Promise.all(
    conns.map(async (cc, k) => {
      for (let i = 0; i < per; i++) {
        checkDeadline();
        await cc.command("APPEND appendtest", msgs[k * per + i]!);
      }
    }),
  );
  const dt1 = (performance.now() - t1) / 1000;
  report({
    bench: "append_4_parallel",
    messages: per * 4,
    seconds: +dt1.toFixed(3),
    per_second: +((per * 4) / dt1).toFixed(1),
  });
  for (const cc of conns) cc.close();
  c.close();
}

/**
 * The large mailbox's messages form reply threads (for THREAD): a thread starts at every tenth
 * message; each reply answers an earlier message of its thread (References: that message's
 * References plus its Message-ID; "Re: " + the thread's subject); one thread in 50 starts with a
 * reply to a message that is not in the mailbox. Dates rise by a minute a message.
 */
function makeBigMessage(i: number, refs: Map<number, string[]>, subjects: Map<number, string>): Buffer {
  const start = i - (i % 10);
  const messageId = `<big${i}@example.org>`;
  const date = new Date(Date.UTC(2026, 0, 1) + i * 60_000).toUTCString().replace("GMT", "+0000");
  if (i === start) {
    refs.clear();
    subjects.clear();
    const lost = (i / 10) % 50 === 3 ? [`<lost${i}@example.org>`] : [];
    refs.set(i, [...lost, messageId]);
    const subject = `${lost.length ? "Re: " : ""}${words(4)} #${i}`;
    subjects.set(start, subject.replace(/^Re: /, ""));
    const extra = lost.length ? `References: ${lost[0]}\r\nIn-Reply-To: ${lost[0]}\r\n` : "";
    return makeMessage(i, 1500, { messageId, subject, date, extra });
  }
  const parent = start + ((i * 7919) % (i - start));
  const chain = refs.get(parent)!;
  refs.set(i, [...chain, messageId]);
  const extra = `References: ${chain.join(" ")}\r\nIn-Reply-To: ${chain[chain.length - 1]}\r\n`;
  return makeMessage(i, 1500, { messageId, subject: `Re: ${subjects.get(start)}`, date, extra });
}

async function populateBig(t: Target): Promise<void> {
  const c = await login(t);
  await c.command("CREATE big").catch(() => {});
  const batch = 500;
  const refs = new Map<number, string[]>();
  const subjects = new Map<number, string>();
  const t0 = performance.now();
  for (let i = 0; i < BIG; i += batch) {
    checkDeadline();
    const n = Math.min(batch, BIG - i);
    const parts: Buffer[] = [Buffer.from(`p${i} APPEND big`)];
    for (let k = 0; k < n; k++) {
      const m = makeBigMessage(i + k, refs, subjects);
      parts.push(Buffer.from(` (${(i + k) % 3 === 0 ? "\\Seen" : ""}) {${m.length}+}\r\n`), m);
    }
    parts.push(Buffer.from("\r\n"));
    c.write(Buffer.concat(parts).toString("latin1"));
    for (;;) {
      const line = (await c.readLine()).toString();
      if (line.startsWith(`p${i} `)) {
        if (!/^\S+ OK/.test(line)) throw new Error(`MULTIAPPEND failed: ${line}`);
        break;
      }
    }
  }
  const dt = (performance.now() - t0) / 1000;
  report({
    bench: "populate_multiappend",
    messages: BIG,
    seconds: +dt.toFixed(2),
    per_second: +(BIG / dt).toFixed(0),
  });
  c.close();
}

async function benchBig(t: Target): Promise<void> {
  // "warm": after the work a server defers past the fill (postkontor's search indexer catching
  // up on 100,000 texts; Dovecot defers none) — at most two minutes, the wait reported
  const settled = await settleServer(
    { pids: () => t.pids(), dataDir: t.dataDir },
    Math.min(120_000, Math.max(0, deadline - Date.now())),
  );
  report({
    bench: "settle_after_fill",
    seconds: +settled.seconds.toFixed(1),
    ...(settled.indexed !== null ? { search_index_done: settled.indexed } : {}),
  });
  const c = await login(t);
  const sel: number[] = [];
  const fetch: number[] = [];
  let fetched = 0;
  for (let r = 0; r < REPS; r++) {
    checkDeadline();
    const t0 = performance.now();
    await c.command("SELECT big");
    sel.push(performance.now() - t0);
    const t1 = performance.now();
    const res = await c.commandCount("UID FETCH 1:* (UID FLAGS)");
    fetch.push(performance.now() - t1);
    fetched = res.lines;
    await c.command("UNSELECT");
  }
  report({
    bench: "select_100k",
    messages: BIG,
    median_ms: +median(sel).toFixed(2),
    runs_ms: sel.map((x) => +x.toFixed(1)),
  });
  report({
    bench: "uid_fetch_uid_flags_100k",
    messages: BIG,
    lines: fetched,
    median_ms: +median(fetch).toFixed(2),
    runs_ms: fetch.map((x) => +x.toFixed(1)),
  });
  await c.command("SELECT big");
  // issue 16 item 4: a flag search and the ENVELOPE of the last 1,000 messages, warm (after one
  // untimed round), on the selected 100k mailbox
  const unseen: number[] = [];
  const env: number[] = [];
  let unseenHits = 0;
  for (let r = 0; r <= REPS; r++) {
    checkDeadline();
    const t0 = performance.now();
    const res = await c.command("SEARCH UNSEEN");
    const t1 = performance.now();
    await c.commandCount(`FETCH ${Math.max(1, BIG - 999)}:${BIG} ENVELOPE`);
    const t2 = performance.now();
    if (r === 0) continue;
    unseen.push(t1 - t0);
    env.push(t2 - t1);
    const line = res.untagged.map((b) => b.toString()).find((l) => l.startsWith("* SEARCH")) ?? "";
    unseenHits = line.split(" ").length - 2;
  }
  report({
    bench: "search_unseen_100k",
    messages: BIG,
    hits: unseenHits,
    median_ms: +median(unseen).toFixed(2),
    runs_ms: unseen.map((x) => +x.toFixed(1)),
  });
  report({
    bench: "fetch_envelope_1000",
    messages: BIG,
    median_ms: +median(env).toFixed(2),
    runs_ms: env.map((x) => +x.toFixed(1)),
  });
  for (const needle of ["zebrafish", "deadline"]) {
    const times: number[] = [];
    let hits = 0;
    for (let r = 0; r < REPS; r++) {
      checkDeadline();
      const t0 = performance.now();
      const res = await c.command(`UID SEARCH TEXT ${needle}`);
      times.push(performance.now() - t0);
      const line = res.untagged.map((b) => b.toString()).find((l) => /^\* (E?SEARCH)/.test(l)) ?? "";
      hits = line
        .replace(/^\* SEARCH ?/, "")
        .split(" ")
        .filter(Boolean).length;
    }
    report({
      bench: `uid_search_text_${needle}`,
      messages: BIG,
      hits,
      median_ms: +median(times).toFixed(2),
      runs_ms: times.map((x) => +x.toFixed(1)),
    });
  }
  c.close();
}

/** root-level threads in a `* THREAD` line (RFC 5256 §4): the parentheses opened at depth 0 */
function countThreads(line: Buffer): number {
  let depth = 0;
  let roots = 0;
  for (const b of line) {
    if (b === 0x28) {
      if (depth === 0) roots++;
      depth++;
    } else if (b === 0x29) depth--;
  }
  return roots;
}

/**
 * UID THREAD over the whole large mailbox, REFERENCES and (where offered) REFS, 4 runs each; the
 * first run is reported apart (Dovecot builds its thread index then). The response's hash lets
 * runs against different servers be compared for the same threads.
 */
async function benchThread(t: Target): Promise<void> {
  const c = await login(t);
  const caps = (await c.command("CAPABILITY")).untagged.map((b) => b.toString()).join(" ");
  await c.command("SELECT big");
  for (const alg of ["REFERENCES", "REFS"]) {
    if (!caps.includes(` THREAD=${alg}`)) continue;
    const times: number[] = [];
    let line: Buffer = Buffer.alloc(0);
    for (let r = 0; r < THREAD_REPS; r++) {
      checkDeadline();
      const t0 = performance.now();
      const res = await c.command(`UID THREAD ${alg} UTF-8 ALL`);
      times.push(performance.now() - t0);
      line = res.untagged.find((l) => l.subarray(0, 8).toString() === "* THREAD") ?? Buffer.alloc(0);
    }
    report({
      bench: `uid_thread_${alg.toLowerCase()}_100k`,
      messages: BIG,
      threads: countThreads(line),
      response_bytes: line.length,
      response_sha256: createHash("sha256").update(line).digest("hex").slice(0, 16),
      first_ms: +times[0]!.toFixed(1),
      median_ms: +median(times).toFixed(2),
      median_after_first_ms: +median(times.slice(1)).toFixed(2),
      runs_ms: times.map((x) => +x.toFixed(1)),
    });
  }
  // SORT by base subject over the same mailbox (RFC 5256 §3): the other per-message-input command
  const sortTimes: number[] = [];
  let sortLine: Buffer = Buffer.alloc(0);
  for (let r = 0; r < THREAD_REPS; r++) {
    checkDeadline();
    const t0 = performance.now();
    const res = await c.command("UID SORT (SUBJECT) UTF-8 ALL");
    sortTimes.push(performance.now() - t0);
    sortLine = res.untagged.find((l) => l.subarray(0, 6).toString() === "* SORT") ?? Buffer.alloc(0);
  }
  report({
    bench: "uid_sort_subject_100k",
    messages: BIG,
    response_bytes: sortLine.length,
    response_sha256: createHash("sha256").update(sortLine).digest("hex").slice(0, 16),
    first_ms: +sortTimes[0]!.toFixed(1),
    median_ms: +median(sortTimes).toFixed(2),
    runs_ms: sortTimes.map((x) => +x.toFixed(1)),
  });
  c.close();
}

/**
 * Idle connections (LOGIN, SELECT INBOX, IDLE): server memory per connection. `compress`: each
 * connection turns on COMPRESS=DEFLATE (RFC 4978) right after LOGIN.
 */
async function benchMemory(t: Target, compress = false): Promise<void> {
  for (const n of CONNS) {
    checkDeadline();
    await new Promise((r) => setTimeout(r, 500));
    const before = t.pids().reduce((a, p) => a + pssKiB(p), 0);
    const anonBefore = t.pids().reduce((a, p) => a + anonKiB(p), 0);
    const conns: RawImap[] = [];
    const t0 = performance.now();
    try {
      for (let i = 0; i < n; i += 50) {
        checkDeadline();
        const chunk = await Promise.all(
          Array.from({ length: Math.min(50, n - i) }, async () => {
            const c = await login(t);
            if (compress) await c.compress();
            await c.command("SELECT INBOX");
            c.write("idle1 IDLE\r\n");
            await c.readLine(); // "+ idling"
            return c;
          }),
        );
        conns.push(...chunk);
      }
      const setup = (performance.now() - t0) / 1000;
      await new Promise((r) => setTimeout(r, 3000)); // let hibernation / GC settle
      if (globalThis.gc) globalThis.gc();
      const after = t.pids().reduce((a, p) => a + pssKiB(p), 0);
      const anonAfter = t.pids().reduce((a, p) => a + anonKiB(p), 0);
      report({
        bench: compress ? "memory_idle_connection_compress" : "memory_idle_connection",
        connections: n,
        server_pss_before_kib: before,
        server_pss_after_kib: after,
        per_connection_kib: +((after - before) / n).toFixed(2),
        per_connection_anon_kib: +((anonAfter - anonBefore) / n).toFixed(2),
        setup_seconds: +setup.toFixed(1),
        server_processes: t.pids().length,
      });
    } finally {
      for (const c of conns) c.close();
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** IDLE push latency; appendPort: the node the APPENDs go to (crossnode: another serve node) */
async function benchPush(
  t: Target,
  appendPort = t.port,
  bench = "idle_push_latency",
  note = "from APPEND sent on one connection to * n EXISTS received on another in IDLE (after_ok_*: from its tagged OK)",
): Promise<void> {
  const idler = await login(t);
  await idler.command("SELECT INBOX");
  const appender = await login(t, appendPort);
  const samples: number[] = [];
  /** from the APPEND's tagged OK on the appending connection to the EXISTS (0 when the EXISTS came first) */
  const afterOk: number[] = [];
  let gotAt = 0;
  let waiting: (() => void) | null = null;
  idler.write("idle2 IDLE\r\n");
  await idler.readLine();
  idler.onUntagged = (line) => {
    if (/^\* \d+ EXISTS/.test(line.toString())) {
      gotAt = performance.now();
      const w = waiting;
      waiting = null;
      w?.();
    }
  };
  const msg = makeMessage(1, 2000);
  for (let i = 0; i < PUSH; i++) {
    checkDeadline();
    const seen = new Promise<void>((r) => {
      waiting = r;
    });
    const t0 = performance.now();
    let okAt = 0;
    const appendDone = appender.command("APPEND INBOX", msg).then(() => {
      okAt = performance.now();
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((_, rej) => {
      timer = setTimeout(() => rej(new Error("no EXISTS within 5 s")), 5000);
    });
    await Promise.race([seen, timeout]).finally(() => clearTimeout(timer));
    await appendDone;
    samples.push(gotAt - t0);
    // the EXISTS may reach the idler before the appender has read its tagged OK
    afterOk.push(Math.max(0, gotAt - okAt));
  }
  report({
    bench,
    samples: PUSH,
    p50_ms: +pct(samples, 50).toFixed(2),
    p99_ms: +pct(samples, 99).toFixed(2),
    max_ms: +Math.max(...samples).toFixed(2),
    after_ok_p50_ms: +pct(afterOk, 50).toFixed(2),
    after_ok_p99_ms: +pct(afterOk, 99).toFixed(2),
    note,
  });
  idler.close();
  appender.close();
}

async function main(): Promise<void> {
  console.error(
    `bench: node ${process.version}, target ${args.target}, backend ${backend}, big=${BIG}, conns=${CONNS.join(",")}`,
  );
  const t = await startTarget();
  try {
    const want = (n: string) => !only || only.has(n);
    // first: the idle server before any scenario grew it
    if (want("fixedmem")) {
      // Dovecot alone does not receive mail: its side of the comparison is Dovecot + Postfix
      const front = t.name === "dovecot" ? await t.smtpFront("bench.test", []) : null;
      try {
        await benchFixedMemory([...t.pids(), ...(front?.pids?.() ?? [])], report);
      } finally {
        await front?.stop();
      }
    }
    if (want("append")) await benchAppend(t);
    if (want("big") || want("thread")) await populateBig(t);
    if (want("big")) await benchBig(t);
    if (want("thread")) await benchThread(t);
    if (want("refill"))
      await benchRefill(
        () => login(t),
        makeMessage,
        t.dataDir,
        refillSizes(quick, args.fill ? Number(args.fill) : undefined),
        report,
        checkDeadline,
      );
    if (want("push")) await benchPush(t);
    if (want("crossnode")) {
      if (!t.startPeer) {
        if (only) throw new Error("--only crossnode needs --backend postgres");
      } else {
        const peer = await t.startPeer();
        try {
          await benchPush(
            t,
            peer.port,
            "idle_push_latency_crossnode",
            "from APPEND sent (after_ok_*: from its tagged OK) on node B to * n EXISTS in IDLE on node A (two serve nodes, one PostgreSQL database)",
          );
        } finally {
          await peer.stop();
        }
      }
    }
    if (want("memory")) await benchMemory(t);
    if (want("compress")) await benchMemory(t, true);
    if (want("pop3")) {
      if (!t.pop3Port)
        throw new Error(`${t.name}: no POP3 listener (dovecot: apt-get install dovecot-pop3d)`);
      await benchPop3({ ...t, imapPort: t.port }, pop3Sizes(quick), report, deadline);
    }
    if (want("smtp")) {
      const sizes = smtpSizes(quick);
      if (args["smtp-messages"]) sizes.messages = Number(args["smtp-messages"]);
      await benchSmtp({ ...t, imapPort: t.port }, sizes, report, deadline);
    }
    // one message per connection, sender authentication off vs on (lossy local DNS), interleaved
    if (want("smtp1")) {
      const sizes = smtpConnSizes(quick);
      if (args["smtp-messages"]) sizes.messages = Number(args["smtp-messages"]);
      if (args.target === "postkontor" && backend === "postgres") {
        if (only) throw new Error("--only smtp1 starts its own SQLite servers: not with --backend postgres");
      } else if (args.target === "postkontor")
        await benchSmtpPerConnection(sizes, Number(args.workers), report, deadline);
      else await benchSmtp({ ...t, imapPort: t.port }, { ...sizes, variant: "postfix" }, report, deadline);
    }
    // outbound queue → local sink; its own postkontor process (queue runner on, fixture DNS)
    if (want("outbound") && args.target === "postkontor" && backend === "sqlite")
      await benchOutbound(outboundSizes(quick), report, deadline);
    // postkontor import (CLI) from mbox and IMAP into its own server; only when asked for
    if (only?.has("import") && args.target === "postkontor")
      await benchImport(
        (i) => makeMessage(i),
        importSizes(quick, args.import ? Number(args.import) : undefined),
        report,
        deadline,
      );
    // a filled 100k store in its own process (bench/jmap.ts); bounded by its own timeouts and this one
    if (only?.has("jmap") && args.target === "postkontor" && backend === "sqlite") {
      const outText = execFileSync(
        process.execPath,
        [path.join(repoRoot, "bench", "jmap.ts"), quick ? "3" : "7", quick ? "5000" : String(BIG)],
        { timeout: Math.max(60_000, deadline - Date.now()), encoding: "utf8" },
      );
      report({ bench: "jmap_100k", ...JSON.parse(outText.trim().split("\n").pop()!) });
    }
    // the webmail in Chromium against its own server (bench/webmail.ts), one report per INBOX size
    if (only?.has("webmail") && args.target === "postkontor" && backend === "sqlite") {
      const outText = execFileSync(
        process.execPath,
        [
          path.join(repoRoot, "bench", "webmail.ts"),
          quick ? "3" : "7",
          quick ? "10000" : `10000,${BIG}`,
          "30",
        ],
        { timeout: Math.max(60_000, deadline - Date.now()), encoding: "utf8" },
      );
      const { sizes } = JSON.parse(outText.trim().split("\n").pop()!) as { sizes: Record<string, unknown>[] };
      for (const r of sizes) report({ bench: "webmail", ...r });
    }
  } finally {
    await t.stop();
  }
  const dir = path.join(repoRoot, "bench", "results");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(
    dir,
    // a partial run (--only) gets its own file and leaves the full results alone
    `${args.target}${backend === "postgres" ? "-postgres" : ""}${quick ? "-quick" : ""}${only ? `-${[...only].join("-")}` : ""}.json`,
  );
  fs.writeFileSync(
    file,
    JSON.stringify(
      { date: new Date().toISOString(), node: process.version, argv: process.argv.slice(2), results },
      null,
      2,
    ),
  );
  console.error(`bench: results written to ${path.relative(repoRoot, file)}`);
}

await main();
