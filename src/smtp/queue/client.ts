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
import SMTPConnection, { type SMTPEnvelope } from "nodemailer/lib/smtp-connection";
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
}

function connect(
  host: MxHost,
  ip: string,
  o: ClientOptions,
  implicitTls: boolean,
  /** MTA-STS enforce (RFC 8461 §5): STARTTLS required, certificate valid for the MX host name */
  strictTls = false,
): Promise<
  { ok: true; conn: Conn } | { ok: false; err: Error & { responseCode?: number; response?: string } }
> {
  return new Promise((resolve) => {
    const c = new SMTPConnection({
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
        ...(strictTls && o.mtaSts?.ca ? { ca: o.mtaSts.ca } : {}),
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
      } else resolve({ ok: true, conn: { c, host: host.host } });
    });
  });
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
  // RFC 5321 §4.5.4.1 / §5.1: try each address of each host until one gives a session
  let conn: Conn | null = null;
  let lastErr = "no mail host reachable";
  let lastCode = 451;
  outer: for (const h of hosts) {
    for (const ip of h.ips) {
      const r = await connect(h, ip, o, o.smarthost?.implicitTls === true, strict);
      if (r.ok) {
        conn = r.conn;
        break outer;
      }
      lastErr = `${h.host}[${ip}]: ${r.err.message}`;
      if (r.err.responseCode) lastCode = r.err.responseCode;
      log({ domain: a.domain, host: h.host, ip, err: r.err.message }, "outbound connect failed");
    }
  }
  if (!conn) {
    // a 5xx greeting from every host is still treated as temporary (RFC 5321 §3.8: try later)
    return all(
      a.recipients,
      "deferred",
      lastCode >= 400 && lastCode < 500 ? lastCode : 451,
      // RFC 3463 4.7.5: cryptographic failure (MTA-STS enforce and no valid TLS)
      strict && /certificate|TLS|self.signed|altname|issuer/i.test(lastErr) ? "4.7.5" : "4.4.1",
      lastErr,
      null,
    );
  }
  const { c, host } = conn;
  try {
    if (o.smarthost?.user) {
      const auth = { user: o.smarthost.user, pass: o.smarthost.password ?? "" };
      const ok = await new Promise<Error | null>((res) => c.login(auth, (err) => res(err ?? null)));
      if (ok)
        return all(a.recipients, "deferred", 454, "4.7.0", `smarthost login failed: ${ok.message}`, host);
    }
    const ext = extensions(c);
    const eb = eightBit(a.message);
    const utf8Needed =
      eb.headers ||
      NON_ASCII.test(a.mailFrom) ||
      a.recipients.some((r) => NON_ASCII.test(r.address.split("@")[0] ?? ""));
    // RFC 6531 §3.2: a message that needs SMTPUTF8 cannot go to a server without it (no downgrade)
    if (utf8Needed && !ext.includes("SMTPUTF8"))
      return all(
        a.recipients,
        "failed",
        553,
        "5.6.7",
        `${host} does not support SMTPUTF8, which this message needs`,
        host,
      );
    // RFC 6152 §3: 8-bit content to a 7-bit-only server: we do not convert, the message bounces
    if (eb.body && !ext.includes("8BITMIME"))
      return all(
        a.recipients,
        "failed",
        554,
        "5.6.3",
        `${host} does not support 8BITMIME, which this message needs`,
        host,
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
    inst._getDsnRcptToArgs = () => {
      const r = current === null ? undefined : perRcpt.get(current);
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
    const r = await sendOne(c, env, a.message);
    if (r.ok) {
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
      return out;
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
      return out;
    }
    if (code >= 500) out.push(...all(g, "failed", code, statusOf(code, err.response, "5.0.0"), text, host));
    else if (code >= 400)
      out.push(...all(g, "deferred", code, statusOf(code, err.response, "4.0.0"), text, host));
    else {
      // no SMTP reply: the connection broke (RFC 5321 §6.1: the message is not delivered, retry)
      out.push(...all(g, "deferred", 451, "4.4.2", `${host}: ${err.message}`, host));
    }
    return out;
  } finally {
    try {
      c.quit();
    } catch {
      c.close();
    }
    // the socket closes after QUIT's reply or its own timeout; do not wait for it
    setTimeout(() => c.close(), 5_000).unref();
  }
}
