/**
 * One IMAP connection: input pump (CommandReader), state machine, output with backpressure,
 * change-feed subscription, timeouts. Command handlers live in commands/*.ts and receive the
 * Session; the dispatch table (dispatch.ts) names each command's allowed states.
 *
 * Memory per idle connection (thousands of IDLE clients per worker): a connection that waits for
 * input keeps no suspended async frames — the pump returns when the reader needs more bytes, and
 * IDLE is a session mode (idleTag) answered by the pump when DONE arrives, not an awaiting
 * handler. Socket listeners are shared module functions (the session hangs off the socket by a
 * symbol), the autologout timer is one sweep per server (ServerContext), reader limits are shared
 * objects, and the view of an empty mailbox allocates no arrays.
 */
import type { Socket } from "node:net";
import { isLoopback } from "../../net/address.ts";
import { DeflateLayer } from "../../net/compress.ts";
import { upgradeToTls, Waiters, writeWithBackpressure } from "../../net/line-session.ts";
import { type Account, type Beacon, type Store, withOrigin } from "../../store/types.ts";
import type { Command } from "../protocol/commands.ts";
import { SYSTEM_FLAGS } from "../protocol/flags.ts";
import { CommandReader, type LineTooLong, type ReaderEvent } from "../protocol/reader.ts";
import { idleDone } from "./commands/idle.ts";
import type { ServerContext } from "./context.ts";
import { dispatch, expungeAllowed } from "./dispatch.ts";
import { bad, bye, type ImapError, mapError } from "./errors.ts";
import type { Notifier } from "./notify.ts";
import type { SelectedMailbox, ViewUpdate } from "./selected-mailbox.ts";
import { uidSetString } from "./selected-mailbox.ts";

/**
 * Session state (RFC 9051 §3): a discriminated union, so that what a state has is typed — an
 * account once authenticated, the selected mailbox's view once selected. dispatch.ts hands each
 * handler the state its command is allowed in.
 */
export type ImapState =
  | { readonly kind: "notAuthenticated" }
  | { readonly kind: "authenticated"; readonly account: Account }
  | { readonly kind: "selected"; readonly account: Account; readonly view: SelectedMailbox }
  | { readonly kind: "logout" };
export type StateKind = ImapState["kind"];
export type AuthenticatedState = Extract<ImapState, { kind: "authenticated" | "selected" }>;
export type SelectedState = Extract<ImapState, { kind: "selected" }>;

const NOT_AUTHENTICATED: ImapState = Object.freeze({ kind: "notAuthenticated" });
const LOGOUT: ImapState = Object.freeze({ kind: "logout" });

/** input bytes buffered while a command runs before the socket is paused */
const MAX_BUFFERED_INPUT = 256 * 1024;

let sessionCounter = 0;

/** the session of a socket, for the shared socket listeners */
const SESSION = Symbol("imap-session");
type SessionSocket = Socket & { [SESSION]?: Session };

export class Session {
  /** per-process session number; `id` (for logs) is built from it on demand */
  private readonly seq: number;
  readonly ctx: ServerContext;
  socket: Socket;
  readonly remoteAddress: string;
  private st: ImapState = NOT_AUTHENTICATED;
  /** IMAP4rev2 enabled (RFC 9051 §6.3.1 ENABLE IMAP4rev2) */
  rev2 = false;
  /** UTF8=ACCEPT or IMAP4rev2: mailbox names and strings in UTF-8 */
  utf8 = false;
  condstore = false;
  qresync = false;
  tls: boolean;
  /** COMPRESS=DEFLATE active (RFC 4978): all bytes after the tagged OK go through it */
  private deflate: DeflateLayer | null = null;
  private reader: CommandReader;
  private badCount = 0;
  private closed = false;
  private pumping = false;
  private lineWaiter: (() => void) | null = null;
  /** Date.now() of the last input (or state change): the autologout sweep measures from it */
  private activeAt = Date.now();
  private unsubscribe: (() => void) | null = null;
  /** the feed subscription of a selected shared mailbox's owner (RFC 4314; see shared.ts) */
  private unsubscribeOwner: (() => void) | null = null;
  /** inside IDLE: beacons are pushed at once */
  idling = false;
  /** NOTIFY SET active (RFC 5465, notify.ts): paused while a command runs */
  notifier: Notifier | null = null;
  /**
   * IDLE waiting for DONE (RFC 2177, RFC 9051 §6.3.13): the open command's tag and command. The
   * pump reads the DONE line and completes the command; nothing waits on a promise meanwhile.
   */
  private idleTag: string | null = null;
  private idleCmd: Command | null = null;
  /**
   * serialises view refreshes (feed-triggered and command-end): the last holder's release
   * promise; null when no refresh is running or queued
   */
  private viewLock: Promise<void> | null = null;
  /** writers waiting for 'drain' (no array while nobody waits) */
  private readonly drain = new Waiters();

  constructor(ctx: ServerContext, socket: Socket, implicitTls: boolean) {
    this.seq = ++sessionCounter;
    this.ctx = ctx;
    this.socket = socket;
    this.remoteAddress = socket.remoteAddress ?? "";
    this.tls = implicitTls;
    this.reader = new CommandReader(ctx.readerLimitsUnauth);
  }

  get state(): ImapState {
    return this.st;
  }

  /** the account once authenticated (null before) */
  get account(): Account | null {
    return this.st.kind === "authenticated" || this.st.kind === "selected" ? this.st.account : null;
  }

  /** the selected mailbox's view (null when none is selected) */
  get view(): SelectedMailbox | null {
    return this.st.kind === "selected" ? this.st.view : null;
  }

  /** the authenticated state; BAD when not authenticated (dispatch checks this before handlers run) */
  get authenticated(): AuthenticatedState {
    const st = this.st;
    if (st.kind !== "authenticated" && st.kind !== "selected") throw bad("Command requires authentication");
    return st;
  }

  /** the selected state; BAD when no mailbox is selected (dispatch checks this before handlers run) */
  get selected(): SelectedState {
    const st = this.st;
    if (st.kind !== "selected") throw bad("No mailbox selected");
    return st;
  }

  get id(): string {
    return `imap-${process.pid}-${this.seq}`;
  }

  get store(): Store {
    return this.ctx.opts.store;
  }

  /** plaintext authentication allowed on this connection (RFC 9051 §11.1, docs/architecture.md) */
  get plaintextAuthAllowed(): boolean {
    return this.tls || this.ctx.opts.allowPlaintextAuth || isLoopback(this.remoteAddress);
  }

  start(): void {
    this.attach(this.socket);
    const greeting = `* OK [CAPABILITY ${this.ctx.capabilities(this)}] ${this.ctx.opts.hostname} IMAP4rev2 server ready\r\n`;
    void this.write(greeting);
    this.activeAt = Date.now();
  }

  // Shared socket listeners (no closures per connection): EventEmitter calls them with the socket
  // as `this`, so in these static methods `this` is the socket, not the class.
  private static onSocketData(this: SessionSocket, chunk: Buffer): void {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the emitting socket
    this[SESSION]?.onData(chunk);
  }
  private static onSocketGone(this: SessionSocket): void {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the emitting socket
    this[SESSION]?.destroy();
  }
  private static onSocketDrain(this: SessionSocket): void {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the emitting socket
    const s = this[SESSION];
    if (s?.deflate) s.deflate.socketDrained();
    else s?.drain.wake();
  }

  private attach(sock: SessionSocket): void {
    // responses are written in several pieces (untagged, then tagged): avoid Nagle + delayed-ACK stalls
    sock.setNoDelay(true);
    sock[SESSION] = this;
    sock.on("data", Session.onSocketData);
    sock.on("error", Session.onSocketGone);
    sock.on("close", Session.onSocketGone);
    sock.on("drain", Session.onSocketDrain);
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    if (this.deflate) this.deflate.input(chunk);
    else this.onPlain(chunk);
  }

  /** input bytes (decompressed when COMPRESS is active) */
  private onPlain(chunk: Buffer): void {
    if (this.closed) return;
    this.activeAt = Date.now();
    this.reader.push(chunk);
    if (this.reader.bufferedBytes > MAX_BUFFERED_INPUT) this.pauseInput();
    if (this.lineWaiter) {
      const w = this.lineWaiter;
      this.lineWaiter = null;
      w();
      return;
    }
    void this.pump();
  }

  /**
   * Called by the server's autologout sweep (ServerContext): RFC 9051 §5.4 autologout timer,
   * measured from the last input; shorter before authentication.
   */
  checkIdle(now: number): void {
    if (this.closed) return;
    const l = this.ctx.opts.limits;
    const ms = this.st.kind === "notAuthenticated" ? l.unauthTimeoutMs : l.idleTimeoutMs;
    if (now - this.activeAt >= ms) void this.byeAndClose("Autologout; idle for too long");
  }

  /** Reads one raw line (AUTHENTICATE continuation, IDLE DONE); null when the connection closed. */
  async readLine(): Promise<Buffer | null> {
    // each iteration waits for input; ends when a line arrives or the connection closes
    while (!this.closed) {
      const line = this.reader.nextLine();
      if (line !== null) {
        if (this.reader.bufferedBytes < MAX_BUFFERED_INPUT) this.resumeInput();
        if (!Buffer.isBuffer(line)) {
          await this.write("* BAD Line too long\r\n");
          if (this.countBad()) return null;
          continue;
        }
        return line;
      }
      this.resumeInput();
      await new Promise<void>((resolve) => {
        this.lineWaiter = resolve;
      });
    }
    return null;
  }

  private async pump(): Promise<void> {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    try {
      // bounded by the input: each event consumes bytes
      while (!this.closed) {
        if (this.idleTag !== null) {
          // in IDLE: only the DONE line is read; without it the pump returns (nothing suspended)
          const line = this.reader.nextLine();
          if (line === null) break;
          await this.idleInput(line);
          continue;
        }
        const ev = this.reader.next();
        if (ev === null) break;
        await this.onEvent(ev);
      }
    } catch (e) {
      this.ctx.opts.logger.error(
        { session: this.id, err: String((e as Error)?.stack ?? e) },
        "imap input error",
      );
      this.destroy();
    } finally {
      this.pumping = false;
    }
    if (!this.closed && this.reader.bufferedBytes < MAX_BUFFERED_INPUT) this.resumeInput();
  }

  private pauseInput(): void {
    if (this.deflate) this.deflate.pause();
    else this.socket.pause();
  }

  private resumeInput(): void {
    if (this.deflate) this.deflate.resume();
    else this.socket.resume();
  }

  private async onEvent(ev: ReaderEvent): Promise<void> {
    switch (ev.type) {
      case "command":
        this.badCount = 0;
        await this.execute(ev.tag, ev.command);
        return;
      case "literal":
        // RFC 9051 §7.5: continuation request only for synchronizing literals
        this.reader.acceptLiteral();
        if (ev.sync) await this.write("+ Ready for literal data\r\n");
        return;
      case "bad":
        await this.write(`${ev.tag ?? "*"} BAD ${ev.message.replace(/[\r\n]/g, " ")}\r\n`);
        this.countBad();
        return;
      case "error":
        if (ev.kind === "line-too-long") {
          await this.write(`${ev.tag ?? "*"} BAD [TOOBIG] Command line too long\r\n`);
          this.countBad();
          return;
        }
        // literal too large: RFC 7888 §4 / RFC 9051 §7.1 TOOBIG. A refused sync literal was never
        // sent; a non-sync one is skipped by the reader unless it is absurdly large.
        if (!ev.sync && ev.size > Math.max(4 * ev.limit, 1024 * 1024)) {
          await this.byeAndClose("[TOOBIG] Literal too large");
          return;
        }
        await this.write(`${ev.tag ?? "*"} NO [TOOBIG] Literal too large (limit ${ev.limit} octets)\r\n`);
        this.countBad();
        return;
    }
  }

  /** returns true when the connection was closed for too many bad commands */
  private countBad(): boolean {
    this.badCount++;
    if (this.badCount > this.ctx.opts.limits.maxBadCommands) {
      void this.byeAndClose("Too many invalid commands");
      return true;
    }
    return false;
  }

  /** IDLE (RFC 2177 §3): the line that ends it; anything but DONE ends IDLE with BAD */
  private async idleInput(line: Buffer | LineTooLong): Promise<void> {
    if (!Buffer.isBuffer(line)) {
      await this.write("* BAD Line too long\r\n");
      this.countBad();
      return; // still idling
    }
    const tag = this.idleTag!;
    const cmd = this.idleCmd!;
    this.idleTag = null;
    this.idleCmd = null;
    this.idling = false;
    this.deflate?.quiet(false);
    await this.execute(tag, cmd, async () => idleDone(line));
  }

  /** IDLE handler: the command stays open until the pump reads DONE (see idleInput) */
  suspendForIdle(tag: string, cmd: Command): void {
    this.idleTag = tag;
    this.idleCmd = cmd;
    // COMPRESS: the deflater's state is released while idling (net/compress.ts, quiet release)
    this.deflate?.quiet(true);
  }

  private async execute(
    tag: string,
    cmd: Command,
    run: () => Promise<{ code: string | null; text: string } | undefined> = () => dispatch(this, tag, cmd),
  ): Promise<void> {
    // RFC 5465: notifications go out between commands, never inside one's responses
    await this.notifier?.pause();
    try {
      // the store marks this command's beacons as ours (NOTIFY skips own changes, RFC 5465 §5)
      await withOrigin(this.id, () => this.runCommand(tag, cmd, run));
    } finally {
      this.notifier?.resume();
    }
  }

  private async runCommand(
    tag: string,
    cmd: Command,
    run: () => Promise<{ code: string | null; text: string } | undefined>,
  ): Promise<void> {
    let ok: { code: string | null; text: string } | undefined;
    // the SELECT snapshot serves only an immediately following FETCH; an IDLE (or anything else)
    // drops it, so an idle connection keeps no per-message arrays
    if (cmd.name === "FETCH") this.view?.ageSnapshot();
    else this.view?.dropSnapshot();
    try {
      ok = await run();
      if (this.closed || this.idleTag !== null) return; // closed, or IDLE now waits for DONE
      if (this.st.kind === "logout") {
        await this.write(`${tag} OK LOGOUT completed\r\n`);
        this.close();
        return;
      }
      await this.flushUpdates(expungeAllowed(cmd));
      if (ok === undefined) return; // handler wrote its own tagged response (STARTTLS)
      const code = ok.code ? `[${ok.code}] ` : "";
      await this.write(`${tag} OK ${code}${ok.text}\r\n`);
    } catch (e) {
      if (this.closed) return;
      const m = mapError(e);
      if (m.unexpected) {
        this.ctx.opts.logger.error(
          { session: this.id, command: cmd.name, err: String((e as Error)?.stack ?? e) },
          "imap command failed unexpectedly",
        );
      }
      if (m.kind === "BYE") {
        await this.byeAndClose(m.code ? `[${m.code}] ${m.text}` : m.text);
        return;
      }
      try {
        if (this.st.kind === "selected") await this.flushUpdates(expungeAllowed(cmd));
      } catch {
        // ignore: answering the command matters more
      }
      const code = m.code ? `[${m.code}] ` : "";
      await this.write(`${tag} ${m.kind} ${code}${m.text}\r\n`);
      if (m.kind === "BAD") this.countBad();
    }
  }

  // --- authentication state ------------------------------------------------------------------

  /** switches to authenticated state: raises literal limits, subscribes to the change feed */
  loggedIn(account: Account): void {
    this.st = { kind: "authenticated", account };
    this.reader.useLimits(this.ctx.readerLimitsAuth);
    this.unsubscribe = this.store.feed.subscribe(account.id, (b) => this.onBeacon(b));
    this.activeAt = Date.now();
  }

  private onBeacon(b: Beacon): void {
    const v = this.view;
    if (v && b.mailboxId === v.mailboxId && BigInt(b.modseq) > v.knownModseq) v.dirty = true;
    this.notifier?.onBeacon(b);
    if (!v?.dirty || b.mailboxId !== v.mailboxId) return;
    if (this.idling && !this.notifier?.coversSelected) void this.pushIdleUpdates();
  }

  /** NOTIFY NONE, a replacing NOTIFY SET or NOTIFICATIONOVERFLOW: n stops */
  endNotify(n: Notifier | null): void {
    n?.close();
    if (this.notifier === n) this.notifier = null;
  }

  private async pushIdleUpdates(): Promise<void> {
    try {
      await this.flushUpdates(true);
    } catch (e) {
      this.ctx.opts.logger.warn({ session: this.id, err: String(e) }, "imap idle refresh failed");
    }
  }

  /** Closes the selected mailbox view (UNSELECT/CLOSE/SELECT of another). */
  closeView(): void {
    const st = this.st;
    if (st.kind !== "selected") return;
    this.unsubscribeOwner?.();
    this.unsubscribeOwner = null;
    st.view.release();
    this.st = { kind: "authenticated", account: st.account };
  }

  /** SELECT/EXAMINE done: the view becomes the selected mailbox (the previous one is closed). */
  selectView(view: SelectedMailbox): void {
    const account = this.authenticated.account;
    this.closeView();
    this.st = { kind: "selected", account, view };
    // a shared mailbox's changes are published on its owner's feed
    if (view.ownerId !== 0 && view.ownerId !== account.id)
      this.unsubscribeOwner = this.store.feed.subscribe(view.ownerId, (b) => this.onBeacon(b));
  }

  /** LOGOUT (RFC 9051 §6.1.3): the tagged OK follows, then the connection closes. */
  loggingOut(): void {
    this.closeView();
    this.st = LOGOUT;
  }

  // --- selected-mailbox updates ---------------------------------------------------------------

  /** Runs fn with the view lock held (refreshes must not interleave). */
  async withViewLock<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.viewLock;
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    this.viewLock = mine;
    if (prev) await prev;
    try {
      return await fn();
    } finally {
      // the last holder leaves no settled promise behind on an idle session
      if (this.viewLock === mine) this.viewLock = null;
      release();
    }
  }

  /** Pulls changes from the store when the view is dirty (or forced); true when there were any. */
  async refreshView(force: boolean): Promise<boolean> {
    const v = this.view;
    if (!v || (!force && !v.dirty)) return false;
    v.dirty = false;
    const ch = await this.store.changesSince(v.mailboxId, v.knownModseq);
    if (this.view !== v) return false;
    v.applyChanges(ch);
    // new messages: this session may be the first to see them (RFC 3501 §2.3.2)
    await this.claimRecent(v);
    return ch.changed.length > 0 || ch.expunged.length > 0;
  }

  /**
   * RFC 3501 §2.3.2 \Recent, IMAP4rev1 sessions only (RFC 9051 has no \Recent): a read-write
   * session claims every uid below the view's UIDNEXT that no session claimed before; the
   * store's claim is atomic, so each message is \Recent in exactly one such session.
   * RFC 3501 §6.3.2: EXAMINE must not make messages lose \Recent, so a read-only view only
   * looks (its uids stay recent for the next read-write session too).
   */
  async claimRecent(v: SelectedMailbox): Promise<void> {
    if (this.rev2 || v.uidNext <= v.recentUpto) return;
    const upto = v.uidNext;
    const from = await this.store.claimNewMessages(v.mailboxId, v.readOnly ? 0 : upto);
    v.addRecent(from, upto);
  }

  /**
   * A CONDSTORE-enabling command (RFC 7162 §3.1: FETCH MODSEQ / CHANGEDSINCE, SEARCH MODSEQ,
   * STORE UNCHANGEDSINCE) turns CONDSTORE on. The first time this happens while a mailbox is
   * selected, the server MUST send `* OK [HIGHESTMODSEQ n]` (RFC 7162 §3.1): the client had no
   * mod-sequence for the mailbox yet (SELECT without CONDSTORE did not send one).
   */
  async enableCondstore(): Promise<void> {
    if (this.condstore) return;
    this.condstore = true;
    const v = this.view;
    if (v) await this.write(`* OK [HIGHESTMODSEQ ${v.knownModseq}] CONDSTORE enabled\r\n`);
  }

  /** FLAGS list of a message as this session shows it: `\Recent` added for IMAP4rev1 */
  flagsOut(uid: number, flags: readonly string[]): string {
    const v = this.view;
    if (!this.rev2 && v?.isRecent(uid))
      return flags.length === 0 ? "(\\Recent)" : `(${flags.join(" ")} \\Recent)`;
    return `(${flags.join(" ")})`;
  }

  /** Refreshes if needed and writes pending untagged updates. */
  async flushUpdates(allowExpunge: boolean, force = false): Promise<void> {
    if (!this.view) return;
    await this.withViewLock(async () => {
      const changed = await this.refreshView(force);
      const v = this.view;
      if (!v) return;
      // RFC 5267 §4.3: live search contexts — REMOVEFROM before EXPUNGE, ADDTO after EXISTS
      const cx = changed && v.contexts ? await v.contexts.update(v, (e) => this.contextFailed(e)) : null;
      if (cx?.before) await this.write(cx.before);
      const ups = v.takeUpdates(allowExpunge, this.qresync);
      if (ups.length > 0) await this.write(this.formatUpdates(ups));
      const added = cx?.after(v);
      if (added) await this.write(added);
    });
  }

  private contextFailed(e: unknown): void {
    this.ctx.opts.logger.warn({ session: this.id, err: String(e) }, "imap search context update failed");
  }

  /**
   * `* FLAGS` + PERMANENTFLAGS when the given flag lists contain keywords the client has not been
   * told about (RFC 9051 §7.3.5, RFC 3501 §7.2.6); "" otherwise. Write it before the FETCH lines.
   */
  keywordAnnouncement(lists: Iterable<readonly string[]>): string {
    const v = this.view;
    if (!v) return "";
    let added = false;
    for (const fl of lists) if (v.learnKeywords(fl)) added = true;
    if (!added) return "";
    const flags = [...SYSTEM_FLAGS, ...v.keywordList()];
    // RFC 9051 §7.1 PERMANENTFLAGS: \* = new keywords may be created
    const perm = v.readOnly ? "()" : `(${[...flags, "\\*"].join(" ")})`;
    return `* FLAGS (${flags.join(" ")})\r\n* OK [PERMANENTFLAGS ${perm}] Flags permitted\r\n`;
  }

  formatUpdates(ups: ViewUpdate[]): string {
    let out = this.keywordAnnouncement(ups.flatMap((u) => (u.type === "fetch" ? [u.flags] : [])));
    for (const u of ups) {
      switch (u.type) {
        case "expunge":
          out += `* ${u.seq} EXPUNGE\r\n`;
          break;
        case "vanished":
          out += `* VANISHED ${uidSetString(u.uids)}\r\n`;
          break;
        case "exists":
          out += `* ${u.count} EXISTS\r\n`;
          // RFC 3501 §7.3.2: IMAP4rev1 clients get RECENT with EXISTS
          if (!this.rev2) out += `* ${this.view?.recentCount() ?? 0} RECENT\r\n`;
          break;
        case "fetch": {
          // RFC 7162 §3.2.4: with QRESYNC every FETCH carries UID; §3.1.4: MODSEQ with CONDSTORE.
          // CONDSTORE clients (imapflow, Thunderbird) key their flag caches by UID: send it too.
          const uid = this.qresync || this.condstore ? `UID ${u.uid} ` : "";
          const ms = this.condstore ? ` MODSEQ (${u.modseq})` : "";
          out += `* ${u.seq} FETCH (${uid}FLAGS ${this.flagsOut(u.uid, u.flags)}${ms})\r\n`;
          break;
        }
      }
    }
    return out;
  }

  // --- output --------------------------------------------------------------------------------

  /** Writes with backpressure: resolves once the socket accepted the data (drain when needed). */
  write(data: string | Uint8Array): Promise<void> {
    if (this.deflate) return this.writeCompressed(this.deflate, data);
    // the connection may die while waiting for drain; destroy() wakes the waiters too
    return writeWithBackpressure(this.socket, data, this.drain, () => this.closed);
  }

  private async writeCompressed(z: DeflateLayer, data: string | Uint8Array): Promise<void> {
    if (this.closed) return;
    if (!z.write(data) && !this.closed) await this.drain.wait();
  }

  get compressed(): boolean {
    return this.deflate !== null;
  }

  /**
   * COMPRESS DEFLATE (RFC 4978 §3): the tagged OK goes out uncompressed, everything after it is
   * compressed in both directions. Bytes the client pipelined after the command are already
   * compressed: they are taken from the reader and fed to the inflater first.
   */
  async startCompression(tag: string): Promise<void> {
    await this.write(`${tag} OK DEFLATE active\r\n`);
    if (this.closed) return;
    const pipelined = this.reader.takeBuffered();
    this.deflate = new DeflateLayer(this.socket, {
      onPlain: (chunk) => this.onPlain(chunk),
      onDrain: () => this.drain.wake(),
      onError: (err) => {
        this.ctx.opts.logger.warn({ session: this.id, err: String(err) }, "imap compression failed");
        this.deflate?.destroy();
        this.socket.destroy();
        this.destroy();
      },
    });
    this.ctx.opts.logger.info({ session: this.id }, "imap compression active");
    this.deflate.input(pipelined);
  }

  /** STARTTLS (RFC 9051 §6.2.1): tagged OK is written, then TLS negotiated on the same socket. */
  async startTls(tag: string): Promise<void> {
    const tlsOpt = this.ctx.opts.tls;
    if (!tlsOpt) throw bye("no TLS");
    // RFC 9051 §6.2.1 / RFC 2595: pipelined data after STARTTLS must not be used (injection)
    const plain = this.socket;
    await this.write(`${tag} OK Begin TLS negotiation now\r\n`);
    (plain as SessionSocket)[SESSION] = undefined;
    this.reader = new CommandReader(this.ctx.readerLimitsUnauth);
    const secure = upgradeToTls(plain, tlsOpt.context());
    this.socket = secure;
    this.tls = true;
    this.attach(secure);
  }

  /** BYE then close (autologout, too many errors, shutdown) */
  async byeAndClose(text: string): Promise<void> {
    if (this.closed) return;
    await this.write(`* BYE ${text}\r\n`);
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.endOutput();
    this.destroy();
    // give the FIN a moment; then hard-destroy
    const s = this.socket;
    setTimeout(() => s.destroy(), 2000).unref();
  }

  private destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.idleTag = null;
    this.idleCmd = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.endNotify(this.notifier);
    this.closeView();
    this.drain.wake();
    const lw = this.lineWaiter;
    this.lineWaiter = null;
    lw?.();
    this.endOutput();
    this.ctx.sessionClosed(this);
  }

  /** ends the output: through the deflater (its last bytes first) when compressed */
  private endOutput(): void {
    if (this.deflate) this.deflate.end();
    else if (!this.socket.writableEnded) this.socket.end();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

export type { ImapError };
