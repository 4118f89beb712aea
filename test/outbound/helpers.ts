/**
 * Test fixtures for outbound delivery: an SMTP receiver (smtp-server) playing the remote MX on a
 * loopback address, and a DNS fixture pointing the remote domain's MX at it.
 */
import type { AddressInfo } from "node:net";
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from "smtp-server";
import type { DnsFixture } from "../../src/smtp/queue/index.ts";

export interface Received {
  mailFrom: string;
  mailArgs: Record<string, string>;
  rcpts: Array<{ address: string; args: Record<string, string> }>;
  data: Buffer;
  secure: boolean;
  connection: string;
  /** the authenticated user (smarthost), or null */
  user: string | null;
}

export interface ReceiverOpts {
  host?: string;
  /** return an SMTP error (code + text starting with the enhanced code) to refuse a recipient */
  onRcpt?: (address: string, session: SMTPServerSession) => { code: number; text: string } | null;
  /** refuse after DATA, or hold the reply (return a promise) */
  onData?: (
    data: Buffer,
    session: SMTPServerSession,
  ) => { code: number; text: string } | null | Promise<null>;
  hideSMTPUTF8?: boolean;
  hide8BITMIME?: boolean;
  /** STARTTLS certificate (default: smtp-server's built-in self-signed one) */
  tls?: { key: string; cert: string };
  /** require AUTH (after STARTTLS) with these credentials (a smarthost) */
  auth?: { user: string; pass: string };
  /** offer REQUIRETLS (RFC 8689) after STARTTLS */
  requireTls?: boolean;
  /** no STARTTLS (not offered, and refused when tried) */
  hideSTARTTLS?: boolean;
}

export interface Receiver {
  host: string;
  port: number;
  /** messages accepted with 250 */
  received: Received[];
  connections: number;
  /** resolves when `n` messages have been accepted; rejects after timeoutMs */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  /** ends every open session from the server side (an MX dropping idle clients) */
  dropConnections(): void;
  close(): Promise<void>;
}

function smtpErr(code: number, text: string): Error {
  const e = new Error(text) as Error & { responseCode: number };
  e.responseCode = code;
  return e;
}

export async function startReceiver(o: ReceiverOpts = {}): Promise<Receiver> {
  const host = o.host ?? "127.0.0.2";
  const received: Received[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  let connections = 0;
  const notify = () => {
    for (const w of [...waiters]) {
      if (received.length >= w.n) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  const server = new SMTPServer({
    logger: false,
    authOptional: !o.auth,
    disabledCommands: [...(o.auth ? [] : ["AUTH"]), ...(o.hideSTARTTLS ? ["STARTTLS"] : [])],
    onAuth(auth, _session, cb) {
      if (o.auth && auth.username === o.auth.user && auth.password === o.auth.pass)
        return cb(null, { user: auth.username });
      cb(smtpErr(535, "5.7.8 authentication failed"));
    },
    disableReverseLookup: true,
    hideSMTPUTF8: o.hideSMTPUTF8 === true,
    hide8BITMIME: o.hide8BITMIME === true,
    hideDSN: false,
    hideREQUIRETLS: o.requireTls !== true,
    hideSTARTTLS: o.hideSTARTTLS === true,
    ...(o.tls ? { key: o.tls.key, cert: o.tls.cert } : {}),
    onConnect(_s, cb) {
      connections++;
      cb();
    },
    onRcptTo(address: SMTPServerAddress, session, cb) {
      const r = o.onRcpt?.(address.address, session) ?? null;
      if (r) return cb(smtpErr(r.code, r.text));
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const data = Buffer.concat(chunks);
        void (async () => {
          const r = o.onData ? await o.onData(data, session) : null;
          if (r) return cb(smtpErr(r.code, r.text));
          const mf = session.envelope.mailFrom;
          received.push({
            mailFrom: mf ? mf.address : "",
            mailArgs: mf ? ((mf.args || {}) as Record<string, string>) : {},
            rcpts: session.envelope.rcptTo.map((r) => ({
              address: r.address,
              args: (r.args || {}) as Record<string, string>,
            })),
            data,
            secure: session.secure,
            connection: session.id,
            user: typeof session.user === "string" ? session.user : null,
          });
          cb();
          notify();
        })();
      });
    },
  });
  server.on("error", () => {});
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    host,
    port,
    received,
    get connections() {
      return connections;
    },
    waitFor(n, timeoutMs = 20_000) {
      if (received.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const w = {
          n,
          resolve: () => {
            clearTimeout(t);
            resolve();
          },
        };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`receiver got ${received.length} of ${n} messages within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    dropConnections() {
      for (const c of server.connections) (c as unknown as { close(): void }).close();
    },
    close() {
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** MX of `domain` → mx.<domain> → the receiver's address; extra records merged in. */
export function dnsFixture(domain: string, ip: string, extra: DnsFixture = {}): DnsFixture {
  return {
    ...extra,
    MX: { ...(extra.MX ?? {}), [domain]: [{ exchange: `mx.${domain}`, priority: 10 }] },
    A: { ...(extra.A ?? {}), [`mx.${domain}`]: [ip] },
  };
}
