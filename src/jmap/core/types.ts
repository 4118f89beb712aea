/**
 * JMAP (RFC 8620) shared types: the dependencies the sub-app is built from, the per-request
 * context handed to every method, and method-level errors (RFC 8620 §3.6.2).
 */
import type { Config } from "../../config/index.ts";
import type { SubmitLimits } from "../../smtp/submit.ts";
import type { Account, Store } from "../../store/types.ts";

export interface JmapLogger {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
  error(o: object, msg?: string): void;
}

export interface JmapDeps {
  store: Store;
  /**
   * the account of the request's credentials (Basic / Bearer), or null: 401. `env` is the hono
   * environment the app was called with (the HTTP service's carries the socket: TLS, client address).
   */
  authenticate(req: Request, env?: unknown): Promise<Account | null>;
  config: Pick<Config, "jmap">;
  logger: JmapLogger;
  /** aborted when the server shuts down: EventSource streams end (the client reconnects elsewhere) */
  shutdown?: AbortSignal;
  /**
   * The SMTP submission settings EmailSubmission sends with (the same pipeline as SMTP
   * submission, src/smtp/submit.ts); absent = no submission capability, no EmailSubmission.
   */
  submission?: JmapSubmission;
  /**
   * The vendor account capability (ACCOUNT: Credentials/changePassword, AppPassword/get|set;
   * src/jmap/account); absent = not offered.
   */
  account?: JmapAccountSettings;
}

export interface JmapAccountSettings {
  /** [auth] min_password_length (cli/policy.ts passwordProblem) */
  minPasswordLength: number;
  /**
   * whether password is the account's own password (an app password is not), checked like a login
   * (the login throttling counts a wrong one)
   */
  verifyAccountPassword(account: Account, password: string, remoteAddress: string): Promise<boolean>;
  /**
   * after a password change made by `request`: every webmail session of the account ends but the
   * request's own (when it came with the session cookie), which is renewed: its new cookie goes
   * into `responseHeaders` (Set-Cookie)
   */
  passwordChanged(
    account: Account,
    request: Request | undefined,
    responseHeaders: Headers | undefined,
  ): Promise<void>;
}

export interface JmapSubmission {
  /** the SMTP host name (Received "by", Message-ID fallback domain, authserv-id) */
  hostname: string;
  limits: SubmitLimits & {
    /** octets (SMTP SIZE) */
    maxMessageSize: number;
    /** recipients per message (SMTP RCPT limit) */
    maxRecipients: number;
  };
  /** RFC 8621 §7 submissionExtensions: the submission server's EHLO keywords and their args;
   *  absent = submission/settings.ts submissionExtensions */
  ehloKeywords?: Record<string, string[]>;
  /** vacation replies to local recipients: one per sender within this time (RFC 3834 §2); default 7 days */
  vacationReplyIntervalMs?: number;
}

export type JmapLimits = Config["jmap"];

/** JSON value as the API sees it */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

/** What a method gets: its arguments, the authenticated account and the request's shared state. */
export interface MethodContext {
  store: Store;
  account: Account;
  /** JMAP account id of the authenticated account */
  accountId: string;
  limits: JmapLimits;
  /** creation id → server id, for "#id" references inside /set (RFC 8620 §5.3) */
  createdIds: Map<string, string>;
  /** capabilities the request declared in "using" */
  using: Set<string>;
  /** the HTTP client's address when known (EmailSubmission's Received field) */
  remoteAddress?: string;
  /** the HTTP request being answered, when known (Credentials/changePassword keeps its session) */
  request?: Request;
  /** headers a method adds to the HTTP answer (Credentials/changePassword: the renewed cookie) */
  responseHeaders?: Headers;
}

/** A method response: [name, args]; a method may answer more than one (RFC 8620 §3.4). */
export type MethodResult = Array<[string, JsonObject]>;
export type MethodHandler = (args: JsonObject, ctx: MethodContext) => Promise<MethodResult | JsonObject>;

/** RFC 8620 §3.6.2 method-level error; thrown by a method, answered as ["error", {type, …}]. */
export class MethodError extends Error {
  readonly type: string;
  readonly extra: JsonObject;
  constructor(type: string, description?: string, extra: JsonObject = {}) {
    super(description ?? type);
    this.type = type;
    this.extra = description ? { description, ...extra } : extra;
  }
}

export function invalidArguments(description: string): MethodError {
  return new MethodError("invalidArguments", description);
}

/** SetError (RFC 8620 §5.3) */
export interface SetError extends JsonObject {
  type: string;
}

export const CORE = "urn:ietf:params:jmap:core";
export const MAIL = "urn:ietf:params:jmap:mail";
export const SUBMISSION = "urn:ietf:params:jmap:submission";
export const VACATION = "urn:ietf:params:jmap:vacationresponse";
/** vendor capability (RFC 8620 §2: a URL-like name the vendor owns): password and app passwords */
export const ACCOUNT = "urn:postkontor:params:jmap:account";
export const CAPABILITIES = [CORE, MAIL, SUBMISSION, VACATION, ACCOUNT] as const;

/** JMAP account id of a store account */
export function jmapAccountId(a: Pick<Account, "id">): string {
  return `A${a.id}`;
}
