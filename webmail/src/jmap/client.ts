/**
 * The webmail's JMAP client (RFC 8620): the session resource, method calls, uploads with progress,
 * downloads and the EventSource push channel. It speaks only standard JMAP plus the server's
 * documented vendor capability; authentication is the session cookie set by /webmail/login, and
 * every POST carries the CSRF token that login answered (docs/architecture.md "Webmail").
 */

export type Invocation = [name: string, args: Record<string, unknown>, callId: string];

export interface Session {
  username: string;
  apiUrl: string;
  downloadUrl: string;
  uploadUrl: string;
  eventSourceUrl: string;
  state: string;
  capabilities: Record<string, Record<string, unknown>>;
  accounts: Record<string, { name: string; accountCapabilities: Record<string, unknown> }>;
  primaryAccounts: Record<string, string>;
}

export class JmapError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 0,
  ) {
    super(message);
  }
}

export const USING = [
  "urn:ietf:params:jmap:core",
  "urn:ietf:params:jmap:mail",
  "urn:ietf:params:jmap:submission",
  "urn:ietf:params:jmap:vacationresponse",
];

export class Jmap {
  session: Session | null = null;
  accountId = "";
  /** called when a request finds the login gone (401): the app shows the login screen */
  onUnauthorized: () => void = () => {};

  constructor(private csrf: string) {}

  setCsrf(token: string): void {
    this.csrf = token;
  }

  async connect(): Promise<Session> {
    const res = await fetch("/.well-known/jmap", {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (res.status === 401) {
      this.onUnauthorized();
      throw new JmapError("unauthorized", "not logged in", 401);
    }
    if (!res.ok) throw new JmapError("http", `session: HTTP ${res.status}`, res.status);
    const s = (await res.json()) as Session;
    this.session = s;
    this.accountId = s.primaryAccounts["urn:ietf:params:jmap:mail"] ?? Object.keys(s.accounts)[0] ?? "";
    return s;
  }

  /** Sends method calls in one request; answers the responses in order. Method errors stay in place as ["error", {...}, id]. */
  async request(calls: Invocation[], using: string[] = USING): Promise<Invocation[]> {
    if (!this.session) await this.connect();
    const res = await fetch(this.session!.apiUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": this.csrf },
      body: JSON.stringify({ using, methodCalls: calls }),
    });
    if (res.status === 401) {
      this.onUnauthorized();
      throw new JmapError("unauthorized", "not logged in", 401);
    }
    if (!res.ok) {
      let detail = `HTTP ${res.status}`;
      try {
        const p = (await res.json()) as { type?: string; detail?: string };
        detail = p.detail ?? p.type ?? detail;
      } catch {
        // not JSON
      }
      throw new JmapError("request", detail, res.status);
    }
    const body = (await res.json()) as { methodResponses: Invocation[]; sessionState: string };
    if (this.session && body.sessionState !== this.session.state) void this.connect().catch(() => {});
    return body.methodResponses;
  }

  /** One method call; throws JmapError on a method-level error. */
  async call<T = Record<string, unknown>>(
    name: string,
    args: Record<string, unknown>,
    using?: string[],
  ): Promise<T> {
    const [r] = await this.request([[name, { accountId: this.accountId, ...args }, "0"]], using);
    if (!r) throw new JmapError("serverFail", "no response");
    if (r[0] === "error") {
      const e = r[1] as { type: string; description?: string };
      throw new JmapError(e.type, e.description ?? e.type);
    }
    return r[1] as T;
  }

  /** Uploads a blob (RFC 8620 §6.1), reporting progress in [0, 1]. XHR: fetch has no upload progress. */
  upload(
    data: Blob,
    onProgress?: (fraction: number) => void,
    signal?: AbortSignal,
  ): Promise<{ blobId: string; type: string; size: number }> {
    const url = this.session!.uploadUrl.replace("{accountId}", encodeURIComponent(this.accountId));
    return new Promise((resolve, reject) => {
      const x = new XMLHttpRequest();
      x.open("POST", url);
      x.withCredentials = true;
      x.setRequestHeader("Content-Type", data.type || "application/octet-stream");
      x.setRequestHeader("X-CSRF-Token", this.csrf);
      x.upload.onprogress = (e) => {
        if (e.lengthComputable) onProgress?.(e.loaded / e.total);
      };
      x.onload = () => {
        if (x.status === 401) this.onUnauthorized();
        if (x.status < 200 || x.status >= 300) {
          reject(new JmapError("upload", `upload: HTTP ${x.status}`, x.status));
          return;
        }
        resolve(JSON.parse(x.responseText));
      };
      x.onerror = () => reject(new JmapError("network", "upload failed: network error"));
      x.onabort = () => reject(new JmapError("aborted", "upload cancelled"));
      signal?.addEventListener("abort", () => x.abort());
      x.send(data);
    });
  }

  downloadUrl(blobId: string, name: string, type: string): string {
    return this.session!.downloadUrl.replace("{accountId}", encodeURIComponent(this.accountId))
      .replace("{blobId}", encodeURIComponent(blobId))
      .replace("{name}", encodeURIComponent(name || "download"))
      .replace("{type}", encodeURIComponent(type || "application/octet-stream"));
  }

  /**
   * Opens the push channel (RFC 8620 §7.3) for all types; calls onChange with the changed type →
   * state map of this account, onConnection(true/false) as the stream opens and drops (the browser
   * reconnects by itself). Answers a function that closes it.
   */
  events(
    onChange: (changed: Record<string, string>) => void,
    onConnection: (up: boolean) => void,
  ): () => void {
    const url = this.session!.eventSourceUrl.replace("{types}", "*")
      .replace("{closeafter}", "no")
      .replace("{ping}", "30");
    const es = new EventSource(url, { withCredentials: true });
    es.onopen = () => onConnection(true);
    es.onerror = () => onConnection(false);
    es.addEventListener("state", (ev) => {
      try {
        const data = JSON.parse((ev as MessageEvent<string>).data) as {
          changed?: Record<string, Record<string, string>>;
        };
        const mine = data.changed?.[this.accountId];
        if (mine) onChange(mine);
      } catch {
        // a malformed event is ignored
      }
    });
    return () => es.close();
  }
}
