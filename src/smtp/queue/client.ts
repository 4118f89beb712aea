/**
 * One delivery attempt to one destination domain: MX lookup, one SMTP connection carrying all the
 * domain's recipients (RFC 5321 §5.1 tries the MX hosts and their addresses in order until one
 * answers), opportunistic STARTTLS (RFC 3207; RFC 7435: certificates are not verified because
 * nothing tells us the peer must have a valid one — MTA-STS/DANE would), SMTPUTF8 / 8BITMIME
 * negotiation, DSN parameters passed on (RFC 3461 §5.2.1/§5.2.2), nodemailer's SMTPConnection as
 * the client. The outcome is per recipient: delivered, deferred (4xx / no connection) or failed.
 */
import { isIP } from "node:net";
import { domainToASCII } from "node:url";
import type SMTPConnection from "nodemailer/lib/smtp-connection";
import type { SMTPEnvelope } from "nodemailer/lib/smtp-connection";
import { requireCjs } from "../../net/without-fetch.ts";
import { type MtaSts, mxMatches } from "./mta-sts.ts";
import { lookupMx, type MxHost } from "./mx.ts";
import type { OutboundResolver } from "./resolver.ts";

export interface AttemptRecipient {
  address: string;
  notify?: string[];
  orcpt?: string;
}

export interface RecipientOutcome {
  address: string;
  state: "delivered" | "deferred" | "failed";
  code: number;
  /** RFC 3463 status, e.g. "5.1.1" */
  status: string;
  text: string;
  remoteMta: string | null;
}

export interface DomainAttempt {
  domain: string;
  mailFrom: string;
  recipients: AttemptRecipient[];
  envid: string | null;
  ret: "FULL" | "HDRS" | null;
  message: Uint8Array;
  /** RFC 8689 REQUIRETLS: validated STARTTLS and a next hop that offers REQUIRETLS, or a bounce */
  requireTls?: boolean;
}

export interface ClientOptions {
  resolver: OutboundResolver;
  /** our EHLO name */
  hostname: string;
  port: number;
  connectTimeoutMs: number;
  timeoutMs: number;
  /** send everything through this relay instead of the MX hosts */
  smarthost?: { host: string; port: number; user?: string; password?: string; implicitTls?: boolean } | null;
  log?: (o: object, msg: string) => void;
  /** MTA-STS policies (RFC 8461); null = not checked */
  mtaSts?: MtaSts | null;
  /** extra trusted CA certificates (PEM) for validated TLS (REQUIRETLS); absent = system CAs */
  ca?: string[];
  /** idle sessions kept for the next message to the same destination; absent = QUIT after each */
  cache?: ConnectionCache | null;
}

/** RFC 3461 §4 xtext: "+" and "=" and characters outside 33..126 as "+XX". */
export function xtext(s: string): string {
  let out = "";
  for (const b of Buffer.from(s, "utf8")) {
    out +=
      b < 33 || b > 126 || b === 43 || b === 61
        ? `+${b.toString(16).toUpperCase().padStart(2, "0")}`
        : String.fromCharCode(b);
  }
  return out;
}

const ENHANCED = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/;

function statusOf(code: number, response: string | undefined, fallback: string): string {
  const m = response ? ENHANCED.exec(response) : null;
  if (m) return m[1]!;
  if (code >= 500) return fallback.replace(/^\d/, "5");
  if (code >= 400) return fallback.replace(/^\d/, "4");
  return fallback;
}

/** 8-bit octets in the header section (RFC 6532 UTF-8 headers) and in the body. */
export function eightBit(message: Uint8Array): { headers: boolean; body: boolean } {
  let end = message.length;
  for (let i = 0; i + 3 < message.length; i++) {
    if (message[i] === 13 && message[i + 1] === 10 && message[i + 2] === 13 && message[i + 3] === 10) {
      end = i;
      break;
    }
  }
  let headers = false;
  let body = false;
  for (let i = 0; i < message.length; i++) {
    if (message[i]! > 127) {
      if (i < end) headers = true;
      else {
        body = true;
        break;
      }
    }
  }
  return { headers, body };
}

/** local@domain with the domain as an A-label (RFC 5890), the local part as is. */
export function asciiDomainAddress(address: string): string {
  const at = address.lastIndexOf("@");
  if (at < 0) return address;
  const d = address.slice(at + 1);
  const ascii = d.startsWith("[") ? d : domainToASCII(d.toLowerCase()) || d;
  return `${address.slice(0, at)}@${ascii}`;
}

const NON_ASCII = /[^\x00-\x7f]/;

function all(
  rcpts: AttemptRecipient[],
  state: RecipientOutcome["state"],
  code: number,
  status: string,
  text: string,
  remoteMta: string | null,
): RecipientOutcome[] {
  return rcpts.map((r) => ({ address: r.address, state, code, status, text, remoteMta }));
}

interface Conn {
  c: SMTPConnection;
  host: string;
  /** messages sent over this session */
  uses: number;
  /** smarthost AUTH done */
  authed: boolean;
  /** per-delivery RCPT parameter lookup (installed once per session, see deliverDomain) */
  rcptArgs: ((rcpt: string) => string) | null;
  /** the cache listens for the server ending this session */
  watched?: boolean;
}

/**
 * Connection reuse: after a message was accepted (250 after DATA), the session is kept idle for
 * `idleMs` and the next delivery to the same destination (domain, or the smarthost) with the same
 * TLS requirements sends its transaction on it (RFC 5321 §3.3: several transactions per session)
 * instead of a new TCP + STARTTLS + EHLO. At most `maxMessages` per session, `maxIdle` sessions
 * in all. A session the server closed while idle is dropped; a send on a reused session that
 * breaks before any reply is retried once on a fresh connection.
 */
export interface ConnectionCache {
  take(key: string): Conn | null;
  put(key: string, conn: Conn): void;
  readonly maxMessages: number;
  /** QUITs every idle session */
  close(): void;
}

export function createConnectionCache(o: { idleMs: number; maxMessages: number; maxIdle?: number }) {
  const idle = new Map<string, Array<{ conn: Conn; timer: NodeJS.Timeout }>>();
  let count = 0;
  const maxIdle = o.maxIdle ?? 64;
  const drop = (key: string, conn: Conn) => {
    const list = idle.get(key);
    const i = list ? list.findIndex((x) => x.conn === conn) : -1;
    if (!list || i < 0) return false;
    clearTimeout(list[i]!.timer);
    list.splice(i, 1);
    if (list.length === 0) idle.delete(key);
    count--;
    return true;
  };
  const cache: ConnectionCache = {
    maxMessages: o.maxMessages,
    take(key) {
      const list = idle.get(key);
      // bounded: each pass removes one entry
      while (list && list.length > 0) {
        const { conn } = list[list.length - 1]!;
        drop(key, conn);
        const st = conn.c as unknown as { _destroyed?: boolean; _closing?: boolean };
        if (!st._destroyed && !st._closing) return conn;
      }
      return null;
    },
    put(key, conn) {
      if (count >= maxIdle || conn.uses >= o.maxMessages) return quietClose(conn.c);
      const timer = setTimeout(() => {
        if (drop(key, conn)) quietClose(conn.c);
      }, o.idleMs);
      timer.unref();
      const list = idle.get(key) ?? [];
      list.push({ conn, timer });
      idle.set(key, list);
      count++;
      // the server ended the idle session: forget it (one listener per session; key is fixed)
      if (!conn.watched) {
        conn.watched = true;
        conn.c.once("end", () => drop(key, conn));
      }
    },
    close() {
      for (const [key, list] of [...idle])
        for (const x of [...list]) if (drop(key, x.conn)) quietClose(x.conn.c);
    },
  };
  return cache;
}

/**
 * nodemailer's SMTP client, loaded for the first delivery (an idle server does not hold it), through
 * its CommonJS build so that it does not load Node's fetch (src/net/without-fetch.ts)
 */
let smtpClient: typeof SMTPConnection | null = null;

async function connect(
  host: MxHost,
  ip: string,
  o: ClientOptions,
  implicitTls: boolean,
  /** MTA-STS enforce (RFC 8461 §5): STARTTLS required, certificate valid for the MX host name */
  strictTls = false,
): Promise<
  { ok: true; conn: Conn } | { ok: false; err: Error & { responseCode?: number; response?: string } }
> {
  smtpClient ??= requireCjs("nodemailer/lib/smtp-connection") as typeof SMTPConnection;
  const Client = smtpClient;
  return new Promise((resolve) => {
    const c = new Client({
      host: ip,
      port: o.smarthost ? o.smarthost.port : o.port,
      secure: implicitTls,
      name: o.hostname,
      // credentials only over TLS (RFC 4954 §4): a smarthost with AUTH must offer STARTTLS
      ...((o.smarthost?.user || strictTls) && !implicitTls
        ? { requireTLS: true }
        : { opportunisticTLS: true }),
      // RFC 7435 opportunistic security: encrypt when offered, do not require a valid certificate —
      // unless an MTA-STS policy in enforce mode says the host must have one
      tls: {
        rejectUnauthorized: strictTls,
        ...(isIP(host.host) ? {} : { servername: host.host }),
        ...(strictTls && (o.ca ?? o.mtaSts?.ca) ? { ca: o.ca ?? o.mtaSts?.ca } : {}),
      },
      connectionTimeout: o.connectTimeoutMs,
      greetingTimeout: o.connectTimeoutMs,
      socketTimeout: o.timeoutMs,
      logger: false,
    });
    let done = false;
    c.on("error", (err: Error) => {
      if (!done) {
        done = true;
        resolve({ ok: false, err });
      }
    });
    c.connect((err?: Error) => {
      if (done) return;
      done = true;
      if (err) {
        c.close();
        resolve({ ok: false, err });
      } else resolve({ ok: true, conn: { c, host: host.host, uses: 0, authed: false, rcptArgs: null } });
    });
  });
}

const TLS_FAILURE = /ETLS|certificate|self.signed|altname|issuer|STARTTLS|TLS|SSL/i;

function quietClose(c: SMTPConnection): void {
  try {
    c.quit();
  } catch {
    c.close();
  }
  setTimeout(() => c.close(), 5_000).unref();
}

function extensions(c: SMTPConnection): string[] {
  return (c as unknown as { _supportedExtensions?: string[] })._supportedExtensions ?? [];
}

function sendOne(
  c: SMTPConnection,
  env: SMTPEnvelope,
  message: Uint8Array,
): Promise<
  | {
      ok: true;
      accepted: string[];
      rejected: Array<{ to: string; code: number; response: string }>;
      response: string;
    }
  | {
      ok: false;
      err: Error & { responseCode?: number; response?: string; command?: string; rejectedErrors?: unknown[] };
    }
> {
  return new Promise((resolve) => {
    c.send(env, Buffer.from(message.buffer, message.byteOffset, message.byteLength), (err, info) => {
      if (err || !info) return resolve({ ok: false, err: err as Error });
      const rejected = (info.rejectedErrors ?? []).map((e) => {
        const x = e as Error & { recipient?: string; responseCode?: number; response?: string };
        return { to: x.recipient ?? "", code: x.responseCode ?? 450, response: x.response ?? x.message };
      });
      resolve({ ok: true, accepted: info.accepted, rejected, response: info.response });
    });
  });
}

/** Delivers one message to the recipients of one domain; never throws. */
export async function deliverDomain(a: DomainAttempt, o: ClientOptions): Promise<RecipientOutcome[]> {
  const log = o.log ?? (() => {});
  let hosts: MxHost[];
  let strict = false;
  if (o.smarthost) {
    const h = o.smarthost.host;
    let ips = isIP(h) ? [h] : [];
    if (ips.length === 0) {
      for (const rr of ["A", "AAAA"]) {
        try {
          ips.push(...((await o.resolver(h, rr)) as string[]));
        } catch {
          // next family
        }
      }
    }
    ips = ips.filter((x) => isIP(x));
    if (ips.length === 0)
      return all(a.recipients, "deferred", 451, "4.4.3", `smarthost ${h} has no address`, null);
    hosts = [{ host: h, ips }];
  } else {
    const mx = await lookupMx(a.domain, o.resolver);
    if (!mx.ok)
      return all(
        a.recipients,
        mx.permanent ? "failed" : "deferred",
        mx.permanent ? 550 : 451,
        mx.status,
        mx.message,
        null,
      );
    hosts = mx.hosts;
    // RFC 8689 §4.2.1: REQUIRETLS asks for a validated certificate (no MTA-STS/DANE needed for it)
    if (a.requireTls) strict = true;
    // RFC 8461 §4, §5: an MTA-STS policy restricts the MX hosts and requires validated TLS
    if (o.mtaSts) {
      const policy = await o.mtaSts.policyFor(a.domain).catch(() => null);
      if (policy) {
        const allowed = hosts.filter((h) => policy.mx.some((p) => mxMatches(p, h.host)));
        if (policy.mode === "enforce") {
          strict = true;
          if (allowed.length === 0)
            return all(
              a.recipients,
              "deferred",
              451,
              "4.7.5",
              `no MX host of ${a.domain} matches its MTA-STS policy`,
              null,
            );
          hosts = allowed;
        } else if (allowed.length < hosts.length) {
          log({ domain: a.domain, mode: policy.mode }, "outbound MTA-STS (testing): MX outside the policy");
        }
      }
    }
  }
  if (a.requireTls) strict = true; // the smarthost is the next hop too (RFC 8689 §4.2.1)
  const key = `${o.smarthost ? "relay" : a.domain}|${strict ? 1 : 0}|${a.requireTls ? 1 : 0}`;
  const cached = o.cache?.take(key) ?? null;
  if (cached) {
    const r = await transact(a, o, cached, key, true);
    if (!r.broken) return r.out;
    log({ domain: a.domain, host: cached.host }, "outbound reused session broke; trying a new one");
  }
  const fresh = await openFresh(a, o, hosts, strict);
  if ("fail" in fresh) return fresh.fail;
  return (await transact(a, o, fresh.conn, key, false)).out;
}

/** RFC 5321 §4.5.4.1 / §5.1: try each address of each host until one gives a session */
async function openFresh(
  a: DomainAttempt,
  o: ClientOptions,
  hosts: MxHost[],
  strict: boolean,
): Promise<{ conn: Conn } | { fail: RecipientOutcome[] }> {
  const log = o.log ?? (() => {});
  let conn: Conn | null = null;
  let lastErr = "no mail host reachable";
  let lastCode = 451;
  // REQUIRETLS: set when a host answered but TLS could not be negotiated or validated
  let tlsRefused = false;
  outer: for (const h of hosts) {
    for (const ip of h.ips) {
      const r = await connect(h, ip, o, o.smarthost?.implicitTls === true, strict);
      if (r.ok) {
        // RFC 8689 §4.2.1: the next hop must offer REQUIRETLS after STARTTLS; else try the next host
        if (a.requireTls && !extensions(r.conn.c).includes("REQUIRETLS")) {
          lastErr = `${h.host}[${ip}] does not offer REQUIRETLS`;
          tlsRefused = true;
          quietClose(r.conn.c);
          log({ domain: a.domain, host: h.host, ip }, "outbound REQUIRETLS: host lacks the extension");
          continue;
        }
        conn = r.conn;
        break outer;
      }
      if (a.requireTls && TLS_FAILURE.test(`${(r.err as { code?: string }).code ?? ""} ${r.err.message}`))
        tlsRefused = true;
      lastErr = `${h.host}[${ip}]: ${r.err.message}`;
      if (r.err.responseCode) lastCode = r.err.responseCode;
      log({ domain: a.domain, host: h.host, ip, err: r.err.message }, "outbound connect failed");
    }
  }
  if (!conn && a.requireTls && tlsRefused) {
    // RFC 8689 §4.2.1 / §5: the message must not travel without REQUIRETLS-grade TLS; it bounces.
    // RFC 3463 5.7.10 "encryption needed" (RFC 8689 §7.3 also registers 5.7.30 for the missing
    // extension; we use 5.7.10 for both, the diagnostic says which)
    return { fail: all(a.recipients, "failed", 550, "5.7.10", `REQUIRETLS: ${lastErr}`, null) };
  }
  if (!conn) {
    // a 5xx greeting from every host is still treated as temporary (RFC 5321 §3.8: try later)
    const fail = all(
      a.recipients,
      "deferred",
      lastCode >= 400 && lastCode < 500 ? lastCode : 451,
      // RFC 3463 4.7.5: cryptographic failure (MTA-STS enforce and no valid TLS)
      strict && /certificate|TLS|self.signed|altname|issuer/i.test(lastErr) ? "4.7.5" : "4.4.1",
      lastErr,
      null,
    );
    return { fail };
  }
  return { conn };
}

/** One transaction on a session; the session is kept for reuse after a full success. */
async function transact(
  a: DomainAttempt,
  o: ClientOptions,
  conn: Conn,
  key: string,
  reused: boolean,
): Promise<{ out: RecipientOutcome[]; broken: boolean }> {
  const { c, host } = conn;
  let keep = false;
  let broken = false;
  const done = (out: RecipientOutcome[]) => ({ out, broken });
  try {
    if (o.smarthost?.user && !conn.authed) {
      const auth = { user: o.smarthost.user, pass: o.smarthost.password ?? "" };
      const ok = await new Promise<Error | null>((res) => c.login(auth, (err) => res(err ?? null)));
      if (ok)
        return done(
          all(a.recipients, "deferred", 454, "4.7.0", `smarthost login failed: ${ok.message}`, host),
        );
      conn.authed = true;
    }
    const ext = extensions(c);
    const eb = eightBit(a.message);
    const utf8Needed =
      eb.headers ||
      NON_ASCII.test(a.mailFrom) ||
      a.recipients.some((r) => NON_ASCII.test(r.address.split("@")[0] ?? ""));
    // RFC 6531 §3.2: a message that needs SMTPUTF8 cannot go to a server without it (no downgrade)
    if (utf8Needed && !ext.includes("SMTPUTF8"))
      return done(
        all(
          a.recipients,
          "failed",
          553,
          "5.6.7",
          `${host} does not support SMTPUTF8, which this message needs`,
          host,
        ),
      );
    // RFC 6152 §3: 8-bit content to a 7-bit-only server: we do not convert, the message bounces
    if (eb.body && !ext.includes("8BITMIME"))
      return done(
        all(
          a.recipients,
          "failed",
          554,
          "5.6.3",
          `${host} does not support 8BITMIME, which this message needs`,
          host,
        ),
      );

    // RFC 3461 §4.1/§4.2: NOTIFY and ORCPT are per recipient. nodemailer would put one set on every
    // RCPT of a transaction, so its RCPT argument builder is replaced on this connection by one
    // that looks the recipient up: all recipients of the domain still share one transaction.
    const perRcpt = new Map<string, AttemptRecipient>();
    const to = a.recipients.map((r) => {
      const w = utf8Needed ? r.address : asciiDomainAddress(r.address);
      perRcpt.set(w, r);
      return w;
    });
    // installed once per session; each transaction sets its own lookup (conn.rcptArgs)
    if (!conn.rcptArgs) {
      const inst = c as unknown as {
        _sendRcpt(rcpt: string, cb: unknown): void;
        _getDsnRcptToArgs(): string;
      };
      const origSendRcpt = inst._sendRcpt.bind(c);
      let current: string | null = null;
      inst._sendRcpt = (rcpt, cb) => {
        current = rcpt;
        try {
          origSendRcpt(rcpt, cb);
        } finally {
          current = null;
        }
      };
      inst._getDsnRcptToArgs = () => (current === null ? "" : (conn.rcptArgs?.(current) ?? ""));
    }
    conn.rcptArgs = (rcpt) => {
      const r = perRcpt.get(rcpt);
      if (!r || !ext.includes("DSN")) return "";
      const args: string[] = [];
      if (r.notify && r.notify.length > 0)
        args.push(`NOTIFY=${r.notify.map((n) => n.toUpperCase()).join(",")}`);
      if (r.orcpt) args.push(`ORCPT=${xtext(r.orcpt)}`);
      return args.length ? ` ${args.join(" ")}` : "";
    };
    const out: RecipientOutcome[] = [];
    const g = a.recipients;
    const byWire = perRcpt;
    const dsn =
      a.ret || a.envid
        ? { ...(a.ret ? { ret: a.ret } : {}), ...(a.envid ? { envid: a.envid } : {}) }
        : undefined;
    const env: SMTPEnvelope = {
      from: a.mailFrom === "" ? false : utf8Needed ? a.mailFrom : asciiDomainAddress(a.mailFrom),
      to,
      size: a.message.byteLength,
      use8BitMime: eb.body || eb.headers,
      ...(dsn ? { dsn } : {}),
    };
    // RFC 8689 §4.2.1: MAIL FROM:<…> REQUIRETLS (nodemailer checks TLS + the EHLO keyword again)
    if (a.requireTls)
      (env as SMTPEnvelope & { requireTLSExtensionEnabled?: boolean }).requireTLSExtensionEnabled = true;
    const r = await sendOne(c, env, a.message);
    conn.uses++;
    if (r.ok) {
      keep = true; // the transaction completed: the session can carry the next one
      for (const w of r.accepted) {
        const rc = byWire.get(w);
        if (rc)
          out.push({
            address: rc.address,
            state: "delivered",
            code: 250,
            status: statusOf(250, r.response, "2.0.0"),
            text: r.response,
            remoteMta: host,
          });
      }
      for (const rj of r.rejected) {
        const rc = byWire.get(rj.to);
        if (!rc) continue;
        const perm = rj.code >= 500;
        out.push({
          address: rc.address,
          state: perm ? "failed" : "deferred",
          code: rj.code,
          status: statusOf(rj.code, rj.response, perm ? "5.0.0" : "4.0.0"),
          text: rj.response,
          remoteMta: host,
        });
      }
      // anything the library did not report either way is retried
      const seen = new Set(out.map((x) => x.address));
      for (const rc of g)
        if (!seen.has(rc.address))
          out.push(...all([rc], "deferred", 451, "4.0.0", "no reply for recipient", host));
      return done(out);
    }
    const err = r.err;
    const code = err.responseCode ?? 0;
    const text = err.response ?? err.message;
    if (Array.isArray(err.rejectedErrors) && err.rejectedErrors.length > 0 && err.command === "RCPT TO") {
      // every recipient refused, each with its own reply
      for (const e of err.rejectedErrors as Array<{
        recipient?: string;
        responseCode?: number;
        response?: string;
        message: string;
      }>) {
        const rc = byWire.get(e.recipient ?? "");
        if (!rc) continue;
        const rcode = e.responseCode ?? 450;
        const perm = rcode >= 500;
        out.push({
          address: rc.address,
          state: perm ? "failed" : "deferred",
          code: rcode,
          status: statusOf(rcode, e.response, perm ? "5.0.0" : "4.0.0"),
          text: e.response ?? e.message,
          remoteMta: host,
        });
      }
      const seen = new Set(out.map((x) => x.address));
      for (const rc of g)
        if (!seen.has(rc.address)) out.push(...all([rc], "deferred", 451, "4.0.0", text, host));
      return done(out);
    }
    if (code >= 500) out.push(...all(g, "failed", code, statusOf(code, err.response, "5.0.0"), text, host));
    else if (code >= 400)
      out.push(...all(g, "deferred", code, statusOf(code, err.response, "4.0.0"), text, host));
    else {
      // no SMTP reply: the connection broke (RFC 5321 §6.1: the message is not delivered, retry);
      // on a reused idle session the caller tries once more on a fresh one
      broken = reused;
      out.push(...all(g, "deferred", 451, "4.4.2", `${host}: ${err.message}`, host));
    }
    return done(out);
  } finally {
    if (keep && o.cache && conn.uses < o.cache.maxMessages) o.cache.put(key, conn);
    // the socket closes after QUIT's reply or its own timeout; do not wait for it
    else quietClose(c);
  }
}
