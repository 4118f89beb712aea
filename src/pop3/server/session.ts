/**
 * One POP3 connection: AUTHORIZATION → TRANSACTION → UPDATE (RFC 1939 §3), the state a
 * discriminated union (state.ts); the command table (commands.ts) hands each handler its state
 * narrowed, TRANSACTION commands live in transaction.ts.
 * Commands are handled strictly in order (RFC 2449 §6.6 PIPELINING); small responses are batched
 * and flushed when the input is drained or before a large RETR/TOP body, which streams in slices
 * with backpressure. Input is paused when too much is buffered.
 */
import type { Socket } from "node:net";
import { hostname } from "node:os";
import { decodeSaslPlain, verifyHash } from "../../auth/index.ts";
import { isLoopback } from "../../net/address.ts";
import { upgradeToTls, Waiters, writeWithBackpressure } from "../../net/line-session.ts";
import { count } from "../../net/metrics.ts";
import { type Pop3Command, parseCommand } from "../protocol/command.ts";
import { LineReader, TOO_LONG } from "../protocol/line-reader.ts";
import { err, multiline, ok } from "../protocol/response.ts";
import { bind, COMMANDS } from "./commands.ts";
import type { ServerContext, SessionLike } from "./context.ts";
import { bad, mapError, Pop3Error } from "./errors.ts";
import { Maildrop } from "./maildrop.ts";
import {
  AUTHORIZATION,
  type AuthorizationState,
  CLOSED,
  MaildropLock,
  type Pop3State,
  type TransactionState,
} from "./state.ts";

/** input buffered while a command runs before the socket is paused */
const MAX_BUFFERED_INPUT = 64 * 1024;
/** queued output above this is written before the next command runs (bounded memory) */
const FLUSH_AT = 256 * 1024;

export class Session implements SessionLike {
  readonly id: string;
  readonly remoteAddress: string;
  tls: boolean;
  readonly ctx: ServerContext;
  private st: Pop3State = AUTHORIZATION;
  private socket: Socket;
  private reader: LineReader;
  private utf8 = false;
  private badCount = 0;
  private out: Buffer[] = [];
  private outBytes = 0;
  private busy = false;
  private closed = false;
  private shuttingDown = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly drain = new Waiters();
  private lineWaiter: (() => void) | null = null;
  private closedWaiters: Array<() => void> = [];

  constructor(ctx: ServerContext, socket: Socket, implicitTls: boolean) {
    this.ctx = ctx;
    this.socket = socket;
    this.tls = implicitTls;
    this.remoteAddress = socket.remoteAddress ?? "";
    this.id = ctx.sessionId();
    this.reader = new LineReader(ctx.opts.limits.maxLineLength);
  }

  get state(): Pop3State {
    return this.st;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get log() {
    return this.ctx.opts.logger;
  }

  logCtx(extra: object = {}): object {
    const st = this.st;
    const user = st.kind === "transaction" || st.kind === "update" ? st.account.address : undefined;
    return { session: this.id, remoteAddress: this.remoteAddress, user, ...extra };
  }

  /** plaintext USER/PASS/AUTH allowed here (docs/architecture.md; RFC 2595 §2.1 / RFC 8314) */
  private get plaintextAllowed(): boolean {
    return this.tls || this.ctx.opts.allowPlaintextAuth || isLoopback(this.remoteAddress);
  }

  start(): void {
    // small answers (DELE, +OK of a pipelined batch) must not wait for the peer's delayed ACK
    this.socket.setNoDelay(true);
    this.attach(this.socket);
    // RFC 1939 §4: greeting
    this.send(ok(`${this.ctx.opts.hostname} POP3 server ready`));
    void this.flush();
    this.armTimer();
  }

  private attach(sock: Socket): void {
    sock.on("data", (chunk: Buffer) => this.onData(chunk));
    sock.on("error", () => this.destroy());
    sock.on("close", () => this.destroy());
    sock.on("drain", () => {
      this.timer?.refresh(); // a long RETR to a slow client is activity, not idleness
      this.drain.wake();
    });
  }

  private armTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    // RFC 1939 §3: autologout timer of at least 10 minutes; expiry closes WITHOUT entering UPDATE
    this.timer = setTimeout(() => {
      this.log.info(this.logCtx(), "pop3 autologout");
      void this.shutdown("Autologout; idle for too long");
    }, this.ctx.opts.limits.idleTimeoutMs);
    this.timer.unref();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.timer?.refresh();
    this.reader.push(chunk);
    if (this.reader.bufferedBytes > MAX_BUFFERED_INPUT) this.socket.pause();
    if (this.lineWaiter) {
      const w = this.lineWaiter;
      this.lineWaiter = null;
      w();
      return;
    }
    void this.pump();
  }

  /** runs queued command lines one at a time, in order */
  private async pump(): Promise<void> {
    if (this.busy || this.closed) return;
    this.busy = true;
    try {
      // each iteration handles one line; ends when the input is drained or the session closed
      while (!this.closed && !this.shuttingDown) {
        let line = this.reader.next();
        if (line === null) {
          await this.flush(); // batch: responses to pipelined commands go out together
          line = this.reader.next();
          if (line === null) break;
        }
        if (this.reader.bufferedBytes < MAX_BUFFERED_INPUT) this.socket.resume();
        await this.handleLine(line);
        if (this.outBytes >= FLUSH_AT) await this.flush();
      }
    } finally {
      this.busy = false;
    }
    await this.flush();
    if (this.shuttingDown) this.close();
    else if (!this.closed) this.socket.resume();
  }

  private async handleLine(line: Buffer | typeof TOO_LONG): Promise<void> {
    if (line === TOO_LONG) {
      this.send(err("Line too long"));
      this.countBad();
      return;
    }
    if (line.length === 0) {
      this.send(err("Empty command"));
      this.countBad();
      return;
    }
    const p = parseCommand(line);
    if (!p.ok) {
      this.send(err(p.message));
      this.countBad();
      return;
    }
    const h = COMMANDS[p.command.keyword];
    try {
      if (!h) throw bad("Unknown command");
      count("postkontor_commands_total", { protocol: "pop3", command: p.command.keyword });
      const run = bind(h, this, p.command, this.st);
      if (!run) {
        throw bad(
          this.st.kind === "authorization"
            ? "Not logged in"
            : `${p.command.keyword} is not valid in this state`,
        );
      }
      await run();
    } catch (e) {
      const m = mapError(e);
      if (m.unexpected) {
        this.log.error(
          this.logCtx({ err: (e as Error)?.stack ?? String(e), command: p.command.keyword }),
          "pop3 command failed",
        );
      }
      this.send(m.line);
      if (m.bad) this.countBad();
    }
  }

  private countBad(): void {
    this.badCount++;
    if (this.badCount >= this.ctx.opts.limits.maxBadCommands) {
      this.send(err("Too many invalid commands, closing the connection"));
      this.log.warn(this.logCtx({ bad: this.badCount }), "pop3 too many bad commands");
      this.shuttingDown = true; // pump closes after flushing (no UPDATE)
    }
  }

  // --- output -----------------------------------------------------------------------------------

  send(data: string | Buffer): void {
    const b = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    this.out.push(b);
    this.outBytes += b.length;
  }

  /** writes the queued responses in one writev (cork/uncork), waiting for drain if needed */
  async flush(): Promise<void> {
    if (this.out.length === 0) return;
    const parts = this.out;
    this.out = [];
    this.outBytes = 0;
    if (this.closed || this.socket.destroyed) return;
    if (parts.length === 1) {
      await this.write(parts[0]!);
      return;
    }
    const sock = this.socket;
    sock.cork();
    let ok = true;
    for (const p of parts) ok = sock.write(p);
    sock.uncork();
    if (!ok && !this.closed) await this.drain.wait();
  }

  /** writes with backpressure: resolves when the socket accepted the data (or the session closed) */
  write(data: Buffer): Promise<void> {
    return writeWithBackpressure(this.socket, data, this.drain, () => this.closed);
  }

  /** next raw line (AUTH continuation, RFC 5034 §4); null when the connection closed */
  private async readLine(): Promise<Buffer | null> {
    await this.flush();
    // each iteration waits for input; ends with a line or when the connection closes
    while (!this.closed && !this.shuttingDown) {
      const line = this.reader.next();
      if (line === TOO_LONG) return Buffer.from("*"); // over-long SASL response: treat as cancelled
      if (line !== null) return line;
      this.socket.resume();
      await new Promise<void>((resolve) => {
        this.lineWaiter = resolve;
      });
    }
    return null;
  }

  // --- AUTHORIZATION ----------------------------------------------------------------------------

  capa(): void {
    this.send(multiline("Capability list follows", this.ctx.capabilities(this)));
  }

  private requirePlaintext(): void {
    if (!this.plaintextAllowed) {
      throw new Pop3Error(
        this.ctx.opts.tls
          ? "Plaintext authentication is not allowed on an unencrypted connection; use STLS first"
          : "Plaintext authentication is not allowed on an unencrypted connection; use the TLS port",
        { code: "AUTH" },
      );
    }
  }

  userCmd(c: Pop3Command): void {
    this.requirePlaintext();
    const name = c.rest.length ? c.args.join(" ") : "";
    if (!name) throw bad("USER needs a user name");
    this.st = { kind: "authorization", user: name };
    this.send(ok("Send your password"));
  }

  async passCmd(c: Pop3Command, st: AuthorizationState): Promise<void> {
    this.requirePlaintext();
    const user = st.user;
    this.st = AUTHORIZATION; // RFC 1939 §7: after PASS (success or not) a new USER is needed
    if (user === undefined) throw bad("Send USER first");
    if (c.rest.length === 0) throw bad("PASS needs a password");
    let password: string;
    try {
      password = new TextDecoder("utf-8", { fatal: true }).decode(c.rest);
    } catch {
      throw bad("Password is not valid UTF-8");
    }
    await this.authenticate(user, password, "USER");
  }

  async authCmd(c: Pop3Command): Promise<void> {
    if (c.args.length === 0) {
      // RFC 1734 / common practice (fetchmail, Outlook): bare AUTH lists the SASL mechanisms
      this.send(multiline("Authentication mechanisms follow", ["PLAIN"]));
      return;
    }
    const mech = c.args[0]!.toUpperCase();
    if (mech !== "PLAIN") throw new Pop3Error("Unsupported authentication mechanism");
    this.requirePlaintext();
    let b64: string;
    if (c.args.length >= 2) {
      b64 = c.args[1]!; // RFC 5034 §4: initial response; "=" is an empty one
    } else {
      this.send("+ \r\n"); // RFC 5034 §4 continuation with an empty challenge
      const line = await this.readLine();
      if (line === null) return;
      b64 = line.toString("latin1");
    }
    if (b64 === "*") throw new Pop3Error("Authentication cancelled"); // RFC 5034 §4
    if (b64 === "=") b64 = "";
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) {
      throw new Pop3Error("Invalid base64 in SASL response");
    }
    const plain = decodeSaslPlain(Buffer.from(b64, "base64"));
    if (!plain) throw new Pop3Error("Malformed SASL PLAIN response", { code: "AUTH" });
    if (plain.authzid && plain.authzid.toLowerCase() !== plain.authcid.toLowerCase()) {
      throw new Pop3Error("Authorization as another user is not allowed", { code: "AUTH" });
    }
    await this.authenticate(plain.authcid, plain.password, "PLAIN");
  }

  private async authenticate(username: string, password: string, method: string): Promise<void> {
    const { store, auth } = this.ctx.opts;
    const account = await auth.verifyPassword(username, password, {
      protocol: "pop3",
      remoteAddress: this.remoteAddress,
    });
    if (this.closed) return;
    if (!account) {
      // The authenticator refuses disabled protocols like wrong passwords. To give the clear
      // message the issue asks for, check whether POP3 is disabled for an account whose password
      // is right (only then: no information for someone without the password).
      const acc = await store.getAccount(username.trim().toLowerCase());
      if (acc && !acc.settings.pop3Enabled && (await verifyHash(acc.passwordHash, password))) {
        this.log.warn(
          this.logCtx({ user: acc.address }),
          "pop3 login refused: POP3 disabled for this account",
        );
        throw new Pop3Error("POP3 access is disabled for this account", { code: "AUTH" });
      }
      this.log.warn(this.logCtx({ user: username, method }), "pop3 login failed");
      throw new Pop3Error("Authentication failed", { code: "AUTH" }); // RFC 3206 §4 [AUTH]
    }
    if (!account.settings.pop3Enabled) {
      this.log.warn(
        this.logCtx({ user: account.address }),
        "pop3 login refused: POP3 disabled for this account",
      );
      throw new Pop3Error("POP3 access is disabled for this account", { code: "AUTH" });
    }
    // RFC 2449 §8.1.1 LOGIN-DELAY
    const wait = this.ctx.loginDelayLeft(account.id);
    if (wait > 0) {
      throw new Pop3Error(
        `Logins are limited to one per ${this.ctx.opts.limits.loginDelaySeconds} seconds; wait ${wait} s`,
        {
          code: "LOGIN-DELAY",
        },
      );
    }
    // RFC 1939 §8 exclusive-access lock; RFC 2449 §8.1.2 [IN-USE]
    const lease = await this.ctx.locks.acquire(
      `pop3/${account.id}`,
      `${hostname()}/${this.id}`,
      this.ctx.lockTtlMs,
    );
    if (!lease) {
      this.log.info(this.logCtx({ user: account.address }), "pop3 login refused: maildrop in use");
      throw new Pop3Error("Mailbox is locked by another POP3 session", { code: "IN-USE" });
    }
    const lock = new MaildropLock(lease, this.ctx.lockTtlMs, (extra, msg) =>
      this.log.warn(this.logCtx(extra), msg),
    );
    let drop: Maildrop;
    try {
      drop = await Maildrop.open(store, account);
    } catch (e) {
      lock.release();
      throw e;
    }
    if (this.closed) {
      lock.release();
      return;
    }
    lock.keep();
    this.st = { kind: "transaction", account, maildrop: drop, lock };
    this.ctx.recordLogin(account.id);
    this.log.info(
      this.logCtx({ method, messages: drop.entries.length, tls: this.tls, utf8: this.utf8 }),
      "pop3 login",
    );
    this.send(ok(`Logged in, ${drop.entries.length} message${drop.entries.length === 1 ? "" : "s"}`));
  }

  async stls(): Promise<void> {
    const tlsOpt = this.ctx.opts.tls;
    if (!tlsOpt) throw new Pop3Error("STLS is not available");
    if (this.tls) throw bad("Already using TLS"); // RFC 2595 §4
    // stop reading plaintext first: the client's TLS handshake must reach the TLSSocket untouched
    const plain = this.socket;
    plain.pause();
    plain.removeAllListeners("data");
    // RFC 2595 §4 / RFC 3207 §4.2 lesson: anything pipelined after STLS is discarded (injection)
    this.reader.clear();
    this.st = AUTHORIZATION;
    this.send(ok("Begin TLS negotiation"));
    await this.flush();
    if (this.closed) return;
    const secure = upgradeToTls(plain, tlsOpt.context());
    this.socket = secure;
    this.tls = true;
    this.attach(secure);
  }

  utf8Cmd(): void {
    // RFC 6856 §2: UTF8 in AUTHORIZATION state; message content is passed unchanged (no downgrade)
    this.utf8 = true;
    this.send(ok("UTF8 enabled"));
  }

  // --- state changes (transaction.ts) --------------------------------------------------------

  /** QUIT in AUTHORIZATION: no UPDATE (RFC 1939 §4) */
  quitAuthorization(): void {
    this.send(ok("Bye"));
    this.shuttingDown = true;
  }

  /** RFC 1939 §6: QUIT enters UPDATE; the lock stays held until transaction.ts releases it */
  enterUpdate(st: TransactionState): void {
    this.st = { kind: "update", account: st.account, lock: st.lock };
  }

  /** the pump closes the connection once the queued responses are flushed */
  closeAfterResponses(): void {
    this.shuttingDown = true;
  }

  /** a half-sent response: nothing sensible can follow on this connection */
  abort(): void {
    this.socket.destroy();
  }

  // --- closing ----------------------------------------------------------------------------------

  /** server shutdown or autologout: no UPDATE (RFC 1939 §3); a running command finishes first */
  async shutdown(reason: string): Promise<void> {
    if (this.closed) return;
    const done = new Promise<void>((r) => this.closedWaiters.push(r));
    if (!this.shuttingDown) {
      this.shuttingDown = true;
      if (!this.busy) {
        this.send(err(reason, "SYS/TEMP"));
        await this.flush();
        this.close();
      } else {
        // the pump closes after the running command; wake a pending AUTH continuation read
        const w = this.lineWaiter;
        this.lineWaiter = null;
        w?.();
        // a command stuck on a client that stopped reading must not hold the shutdown forever
        setTimeout(() => this.socket.destroy(), 5000).unref();
      }
    }
    await done;
  }

  close(): void {
    if (this.closed) return;
    const s = this.socket;
    s.end();
    this.destroy();
    setTimeout(() => s.destroy(), 2000).unref();
  }

  private destroy(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // a dropped connection deletes nothing (RFC 1939 §6: only QUIT enters UPDATE); while UPDATE
    // runs, quit() releases the lock when it is done
    if (this.st.kind === "transaction") this.st.lock.release();
    this.st = CLOSED;
    this.drain.wake();
    const lw = this.lineWaiter;
    this.lineWaiter = null;
    lw?.();
    if (!this.socket.writableEnded) this.socket.end();
    this.ctx.sessionClosed(this);
    const cw = this.closedWaiters;
    this.closedWaiters = [];
    for (const w of cw) w();
  }
}
