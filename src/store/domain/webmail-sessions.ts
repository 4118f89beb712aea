/**
 * Webmail sessions over the db port. The browser holds a 256-bit random value in its cookie; the
 * row is keyed by that value's SHA-256 (hex), so the database alone names no live session, and a
 * lookup is one primary-key read (a fast hash suits a random secret, as for app passwords).
 *
 * - Expiry: a session dies `idleMs` after its last use or `lifetimeMs` after its creation,
 *   whichever comes first; the row's expires_at holds that instant, so the pruning job deletes by
 *   one indexed column without knowing the config.
 * - A use is recorded (last seen, new expiry) at most every min(60 s, idle/4), so an open page
 *   polling the API does not write a transaction per request, and the idle timeout still holds
 *   to within a quarter of itself.
 * - CSRF: each session has its own random token (256 bits, stored with it), not one derived
 *   from the session id, so a session renewed over a password change (a new cookie value, the old
 *   one dead) keeps its token and the open page needs to learn nothing; and no server-wide key.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Id } from "../api/model.ts";
import type { WebmailSession, WebmailSessionTimes } from "../api/webmail-sessions.ts";
import type { WebmailSessionRow } from "../db/port.ts";
import type { DomainDeps } from "./context.ts";

const MAX_TOUCH_INTERVAL_MS = 60_000;
/** base64url of 32 bytes */
const TOKEN_LENGTH = 43;

function sessionId(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

function toSession(r: WebmailSessionRow): WebmailSession {
  return {
    accountId: r.accountId,
    credentialsVersion: r.credentialsVersion,
    csrf: r.csrf,
    createdAt: new Date(r.createdAt),
    lastSeenAt: new Date(r.lastSeenAt),
    expiresAt: new Date(r.expiresAt),
  };
}

function expiry(createdAt: number, seenAt: number, t: WebmailSessionTimes): number {
  return Math.min(createdAt + t.lifetimeMs, seenAt + t.idleMs);
}

export class WebmailSessions {
  readonly #d: DomainDeps;
  constructor(deps: DomainDeps) {
    this.#d = deps;
  }

  async createWebmailSession(
    account: { id: Id; credentialsVersion: number },
    times: WebmailSessionTimes,
  ): Promise<{ token: string; session: WebmailSession }> {
    const token = randomBytes(32).toString("base64url");
    const now = Date.now();
    const row: WebmailSessionRow = {
      id: sessionId(token),
      accountId: account.id,
      credentialsVersion: account.credentialsVersion,
      csrf: randomBytes(32).toString("base64url"),
      createdAt: now,
      lastSeenAt: now,
      expiresAt: expiry(now, now, times),
    };
    await this.#d.db.write((w) => w.webmailSessions.insert(row));
    return { token, session: toSession(row) };
  }

  async getWebmailSession(token: string, times: WebmailSessionTimes): Promise<WebmailSession | null> {
    if (token.length !== TOKEN_LENGTH) return null;
    const id = sessionId(token);
    const row = await this.#d.db.read((q) => q.webmailSessions.get(id));
    if (!row) return null;
    const now = Date.now();
    // the row's expiry, and the config's as it is now (a shortened timeout applies at once)
    if (row.expiresAt <= now || expiry(row.createdAt, row.lastSeenAt, times) <= now) {
      await this.#d.db.write((w) => w.webmailSessions.delete(id)).catch(() => {});
      return null;
    }
    const interval = Math.min(MAX_TOUCH_INTERVAL_MS, times.idleMs / 4);
    if (now - row.lastSeenAt >= interval) {
      row.lastSeenAt = now;
      row.expiresAt = expiry(row.createdAt, now, times);
      await this.#d.db
        .write((w) => w.webmailSessions.touch(id, row.lastSeenAt, row.expiresAt))
        .catch(() => {});
    }
    return toSession(row);
  }

  deleteWebmailSession(token: string): Promise<boolean> {
    if (token.length !== TOKEN_LENGTH) return Promise.resolve(false);
    const id = sessionId(token);
    return this.#d.db.write((w) => w.webmailSessions.delete(id));
  }

  async endWebmailSessions(
    accountId: Id,
    opts: { keepToken?: string; credentialsVersion: number },
  ): Promise<{ ended: number; renewed: string | null }> {
    const keepId =
      opts.keepToken !== undefined && opts.keepToken.length === TOKEN_LENGTH
        ? sessionId(opts.keepToken)
        : null;
    const token = randomBytes(32).toString("base64url");
    const newId = sessionId(token);
    return this.#d.db.write(async (w) => {
      const old = keepId === null ? null : await w.webmailSessions.get(keepId);
      if (!old || old.accountId !== accountId) {
        return { ended: await w.webmailSessions.deleteOfAccount(accountId, null), renewed: null };
      }
      await w.webmailSessions.insert({ ...old, id: newId, credentialsVersion: opts.credentialsVersion });
      // the old value of the kept session is one of those ended; it is not counted
      const ended = (await w.webmailSessions.deleteOfAccount(accountId, newId)) - 1;
      return { ended, renewed: token };
    });
  }

  expireWebmailSessions(now: Date): Promise<number> {
    return this.#d.db.write((w) => w.webmailSessions.deleteExpired(now.getTime()));
  }
}
