import type { Id } from "./model.ts";

/** A logged-in webmail browser (docs/architecture.md "Webmail"). */
export interface WebmailSession {
  accountId: Id;
  /** the account's credentials version the session belongs to (a password change ends it) */
  credentialsVersion: number;
  /** the session's CSRF token (sent back by the page in X-CSRF-Token) */
  csrf: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
}

/** how long a session lives: idle (since its last use) and at most (since its creation) */
export interface WebmailSessionTimes {
  idleMs: number;
  lifetimeMs: number;
}

export interface WebmailSessionStore {
  /** a new session of the account; the cookie value is returned only here (the store keeps its hash) */
  createWebmailSession(
    account: { id: Id; credentialsVersion: number },
    times: WebmailSessionTimes,
  ): Promise<{ token: string; session: WebmailSession }>;
  /** the live session of a cookie value, its use recorded (the idle expiry moves on), or null */
  getWebmailSession(token: string, times: WebmailSessionTimes): Promise<WebmailSession | null>;
  /** logout: false when there was no such session */
  deleteWebmailSession(token: string): Promise<boolean>;
  /**
   * After a password change: ends every session of the account. With `keepToken` (a live session
   * of the account) that session goes on under a new cookie value — same CSRF token, the new
   * `credentialsVersion` — returned as `renewed`; its old value is dead like the others (a copy of
   * the cookie someone else holds stops working). `ended` counts the sessions ended.
   */
  endWebmailSessions(
    accountId: Id,
    opts: { keepToken?: string; credentialsVersion: number },
  ): Promise<{ ended: number; renewed: string | null }>;
  /** removes the sessions that expired before `now` (the pruning job); how many */
  expireWebmailSessions(now: Date): Promise<number>;
}
