/**
 * The queue runner: claims due entries from the store under a lease, delivers each entry's open
 * recipients domain by domain (client.ts), records per-recipient outcomes, schedules retries with
 * exponential backoff, expires entries after the configured lifetime and sends RFC 3464 bounces.
 */
import { randomBytes } from "node:crypto";
import { hostname as osHostname } from "node:os";
import { domainToASCII } from "node:url";
import { parseMessage } from "../../mime/index.ts";
import type { KeyStore, QueueClaim, QueueEntry, QueueRecipient, Store } from "../../store/types.ts";
import { deliverAll } from "../deliver.ts";
import { activeDkimKeys, type DkimKey, signMessage } from "../dkim/index.ts";
import type { SmtpLogger } from "../server.ts";
import { buildDsn, type DsnRecipient, wantsNotify } from "./bounce.ts";
import { type ClientOptions, createConnectionCache, deliverDomain, type RecipientOutcome } from "./client.ts";
import type { MtaSts } from "./mta-sts.ts";
import type { OutboundResolver } from "./resolver.ts";

export interface QueueRunnerOptions {
  store: Store;
  logger: SmtpLogger;
  /** our host name: EHLO, Reporting-MTA, MAILER-DAEMON address */
  hostname: string;
  resolver: OutboundResolver;
  port: number;
  pollIntervalMs: number;
  concurrency: number;
  retryBaseMs: number;
  retryMaxMs: number;
  lifetimeMs: number;
  leaseMs: number;
  connectTimeoutMs: number;
  timeoutMs: number;
  /** sign with the domain's DKIM keys from this keys port (the store's); null = do not sign */
  dkim: { keys: KeyStore } | null;
  smarthost?: ClientOptions["smarthost"];
  /** MTA-STS policies (RFC 8461); null/absent = not checked */
  mtaSts?: MtaSts | null;
  /** send one delay DSN (RFC 3464 Action: delayed) per recipient still deferred after this long; 0 = never */
  delayWarningMs?: number;
  /** extra trusted CA certificates (PEM) for validated TLS (REQUIRETLS, RFC 8689) */
  ca?: string[];
  /** keep a session idle this long for the next message to the same destination; 0/absent = no reuse */
  reuseIdleMs?: number;
  /** messages per reused session (default 100) */
  reuseMaxMessages?: number;
}

export interface QueueRunner {
  /** the lease owner id of this runner: host/pid/random */
  readonly owner: string;
  start(): Promise<void>;
  /** one pass: claim due entries (up to concurrency), deliver them; returns how many were processed */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

/** how often a running runner looks for leases of dead runners on this host (releaseDead) */
const DEAD_CHECK_MS = 5_000;

const open = (r: QueueRecipient) => !r.state || r.state === "pending" || r.state === "deferred";

function domainOf(address: string): string {
  const at = address.lastIndexOf("@");
  const d = at >= 0 ? address.slice(at + 1).toLowerCase() : "";
  if (d.startsWith("[")) return d;
  return domainToASCII(d) || d;
}

/** attempts so far → delay before the next one: base · 2^attempts, capped */
export function backoff(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempts, 30));
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === "EPERM";
  }
}

export function createQueueRunner(o: QueueRunnerOptions): QueueRunner {
  const host = osHostname();
  const owner = `${host}/${process.pid}/${randomBytes(6).toString("hex")}`;
  const log = o.logger;
  let timer: NodeJS.Timeout | null = null;
  let stopping = false;
  let running: Promise<number> | null = null;

  const cache =
    (o.reuseIdleMs ?? 0) > 0
      ? createConnectionCache({ idleMs: o.reuseIdleMs ?? 0, maxMessages: o.reuseMaxMessages ?? 100 })
      : null;
  const clientOpts: ClientOptions = {
    cache,
    resolver: o.resolver,
    hostname: o.hostname,
    port: o.port,
    connectTimeoutMs: o.connectTimeoutMs,
    timeoutMs: o.timeoutMs,
    smarthost: o.smarthost ?? null,
    mtaSts: o.mtaSts ?? null,
    ...(o.ca ? { ca: o.ca } : {}),
    log: (x, msg) => log.info(x, msg),
  };

  async function sign(message: Uint8Array, mailFrom: string): Promise<Uint8Array> {
    if (!o.dkim) return message;
    // DMARC alignment (RFC 7489 §3.1.1): sign as the From header's domain
    let domain = "";
    try {
      domain = parseMessage(message).envelope.from?.[0]?.host ?? "";
    } catch {
      domain = "";
    }
    if (!domain) domain = domainOf(mailFrom);
    if (!domain) return message;
    let keys: DkimKey[] = [];
    try {
      keys = await activeDkimKeys(o.dkim.keys, domain);
    } catch {
      keys = [];
    }
    if (keys.length === 0) return message;
    const r = await signMessage(message, keys);
    if (r.errors.length > 0) log.warn({ domain, errors: r.errors }, "outbound dkim signing problem");
    return r.message;
  }

  async function bounce(e: QueueEntry, message: Uint8Array, failed: DsnRecipient[]): Promise<void> {
    // RFC 5321 §4.5.5: never bounce a bounce (null reverse-path)
    if (e.mailFrom === "" || failed.length === 0) return;
    // RFC 8689 §5: the bounce of a REQUIRETLS message returns headers only (as RET=HDRS) and
    // travels with REQUIRETLS itself
    const requireTls = e.recipients.some((r) => r.requireTls === true);
    const dsn = buildDsn({
      reportingMta: o.hostname,
      mailFrom: e.mailFrom,
      envid: e.envid,
      ret: requireTls ? "HDRS" : e.ret,
      arrivalDate: e.createdAt,
      recipients: failed,
      original: message,
    });
    const local = await o.store.resolveRecipient(e.mailFrom).catch(() => []);
    if (local.length > 0) {
      try {
        await deliverAll(
          o.store,
          dsn,
          local.map((account) => ({ account })),
        );
        log.info(
          { id: e.id, to: e.mailFrom, recipients: failed.map((f) => f.address) },
          "outbound bounce delivered",
        );
        return;
      } catch (err) {
        log.warn(
          { id: e.id, to: e.mailFrom, err: String(err) },
          "outbound bounce: local delivery failed; queueing it",
        );
      }
    }
    await o.store.enqueueOutbound({
      accountId: null,
      mailFrom: "",
      recipients: [{ address: e.mailFrom, ...(requireTls ? { requireTls: true } : {}) }],
      envid: null,
      ret: null,
      message: dsn,
    });
    log.info({ id: e.id, to: e.mailFrom }, "outbound bounce queued");
  }

  async function processEntry(c: QueueClaim): Promise<void> {
    const e = c.entry;
    const now = Date.now();
    const recipients = e.recipients.map((r) => ({ ...r }));
    const todo = recipients.filter(open);
    const outcomes = new Map<string, RecipientOutcome>();
    // Lease renewal: while this attempt runs, the lease is pushed forward every third of its length,
    // so a slow delivery is never claimed (and sent again) by another runner. When a renewal finds
    // the lease gone, no further domain is tried; what was already sent is recorded by nobody
    // (finishOutbound answers "lost"), the new owner may resend those — the documented window.
    let leaseLost = false;
    const renew = setInterval(
      () => {
        void o.store
          .renewOutboundLease(e.id, owner, o.leaseMs)
          .then((ok) => {
            if (!ok) leaseLost = true;
          })
          .catch(() => {});
      },
      Math.max(50, Math.floor(o.leaseMs / 3)),
    );
    renew.unref();
    try {
      await attempt();
    } finally {
      clearInterval(renew);
    }
    async function attempt(): Promise<void> {
      if (todo.length > 0) {
        const signed = await sign(c.message, e.mailFrom);
        const byDomain = new Map<string, QueueRecipient[]>();
        for (const r of todo) {
          const d = domainOf(r.address);
          const g = byDomain.get(d);
          if (g) g.push(r);
          else byDomain.set(d, [r]);
        }
        // one connection per destination domain carrying all of its recipients
        for (const [domain, rcpts] of byDomain) {
          if (leaseLost) break;
          const res = await deliverDomain(
            {
              domain,
              mailFrom: e.mailFrom,
              recipients: rcpts.map((r) => ({
                address: r.address,
                ...(r.notify ? { notify: r.notify } : {}),
                ...(r.orcpt ? { orcpt: r.orcpt } : {}),
              })),
              envid: e.envid,
              ret: e.ret,
              message: signed,
              // RFC 8689: the flag is set on every recipient of a REQUIRETLS message
              requireTls: rcpts.some((r) => r.requireTls === true),
            },
            clientOpts,
          );
          for (const x of res) outcomes.set(x.address, x);
        }
      }
    }
    const expired = now - e.createdAt.getTime() >= o.lifetimeMs;
    const newlyFailed: DsnRecipient[] = [];
    let lastError: string | null = null;
    for (const r of recipients) {
      if (!open(r)) continue;
      const x = outcomes.get(r.address);
      if (!x) continue;
      r.attempts = (r.attempts ?? 0) + 1;
      r.lastAttemptAt = now;
      r.code = x.code;
      r.status = x.status;
      r.lastError = x.state === "delivered" ? null : x.text;
      if (x.remoteMta) r.remoteMta = x.remoteMta;
      r.state = x.state;
      // RFC 5321 §4.5.4.1: give up after the lifetime; the DSN says 4.4.7 with the last reason
      if (r.state === "deferred" && expired) {
        r.state = "failed";
        r.status = "4.4.7";
        r.lastError = `delivery time expired; last error: ${x.text}`;
      }
      if (r.state === "deferred") lastError = `${r.address}: ${x.text}`;
      log.info(
        {
          id: e.id,
          to: r.address,
          state: r.state,
          code: x.code,
          status: r.status,
          mta: x.remoteMta,
          reply: x.text,
        },
        `outbound ${r.state}`,
      );
      const delayMs = o.delayWarningMs ?? 0;
      if (
        r.state === "deferred" &&
        delayMs > 0 &&
        !r.delayNotified &&
        now - e.createdAt.getTime() >= delayMs &&
        wantsNotify(r.notify, "DELAY")
      ) {
        r.delayNotified = true;
        newlyFailed.push({
          address: r.address,
          ...(r.orcpt ? { orcpt: r.orcpt } : {}),
          action: "delayed",
          status: r.status,
          remoteMta: x.remoteMta,
          diagnostic: x.text,
          code: x.code,
          lastAttempt: new Date(now),
          willRetryUntil: new Date(e.createdAt.getTime() + o.lifetimeMs),
        });
      }
      if (r.state === "failed" && wantsNotify(r.notify, "FAILURE")) {
        newlyFailed.push({
          address: r.address,
          ...(r.orcpt ? { orcpt: r.orcpt } : {}),
          action: "failed",
          status: r.status,
          remoteMta: x.remoteMta,
          diagnostic: r.lastError ?? x.text,
          code: x.code,
          lastAttempt: new Date(now),
        });
      }
    }
    // bounce before the entry is finished: a crash in between may duplicate a bounce, never lose one
    if (newlyFailed.length > 0) {
      await bounce(e, c.message, newlyFailed).catch((err) =>
        log.error({ id: e.id, err: String(err) }, "outbound bounce failed"),
      );
    }
    const next = new Date(now + backoff(e.attempts, o.retryBaseMs, o.retryMaxMs));
    const r = await o.store.finishOutbound(e.id, owner, { recipients, nextAttemptAt: next, lastError });
    if (r === "lost") log.warn({ id: e.id }, "outbound lease lost before the attempt was recorded");
  }

  async function runOnce(): Promise<number> {
    let total = 0;
    // bounded: at most 100 rounds of `concurrency` entries per pass
    for (let round = 0; round < 100 && !stopping; round++) {
      const claims = await o.store.claimOutbound({ owner, leaseMs: o.leaseMs, limit: o.concurrency });
      if (claims.length === 0) break;
      await Promise.all(
        claims.map((c) =>
          processEntry(c).catch(async (err) => {
            log.error(
              { id: c.entry.id, err: err instanceof Error ? (err.stack ?? err.message) : String(err) },
              "outbound attempt failed",
            );
            // keep the states as they were; try again after the base delay
            await o.store
              .finishOutbound(c.entry.id, owner, {
                recipients: c.entry.recipients,
                nextAttemptAt: new Date(Date.now() + o.retryBaseMs),
                lastError: String(err),
              })
              .catch(() => {});
          }),
        ),
      );
      total += claims.length;
      if (claims.length < o.concurrency) break;
    }
    return total;
  }

  /**
   * Leases of runners on this host whose process is gone are released at once: at start, and
   * every DEAD_CHECK_MS while running (a runner in another process — a cluster worker the primary
   * lost, another server on the same data — can end while this one runs).
   */
  let deadCheckedAt = 0;
  async function releaseDead(): Promise<void> {
    deadCheckedAt = Date.now();
    for (const e of await o.store.listQueue()) {
      if (!e.leaseOwner) continue;
      const [h, pidText] = e.leaseOwner.split("/");
      const pid = Number(pidText);
      if (h !== host || !Number.isSafeInteger(pid) || pid === process.pid) continue;
      if (!pidAlive(pid)) {
        await o.store.releaseOutboundLease(e.id, e.leaseOwner);
        log.info({ id: e.id, owner: e.leaseOwner }, "outbound lease of a dead runner released");
      }
    }
  }

  const tick = () => {
    timer = null;
    if (stopping) return;
    const cleanup =
      Date.now() - deadCheckedAt >= DEAD_CHECK_MS
        ? releaseDead().catch((err) => log.warn({ err: String(err) }, "outbound lease cleanup failed"))
        : Promise.resolve();
    running = cleanup.then(runOnce).catch((err) => {
      log.error({ err: String(err) }, "outbound queue pass failed");
      return 0;
    });
    void running.then(() => {
      running = null;
      if (!stopping) timer = setTimeout(tick, o.pollIntervalMs);
    });
  };

  return {
    owner,
    runOnce,
    async start() {
      stopping = false;
      await releaseDead().catch((err) => log.warn({ err: String(err) }, "outbound lease cleanup failed"));
      log.info({ owner, pollMs: o.pollIntervalMs }, "outbound queue runner started");
      tick();
    },
    async stop() {
      stopping = true;
      if (timer) clearTimeout(timer);
      timer = null;
      if (running) await running;
      cache?.close();
    },
  };
}
