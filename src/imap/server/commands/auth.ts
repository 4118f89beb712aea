/** Not-authenticated state: STARTTLS, AUTHENTICATE (PLAIN, SASL-IR), LOGIN (RFC 9051 §6.2). */
import { decodeSaslPlain } from "../../../auth/index.ts";
import type { Command } from "../../protocol/commands.ts";
import type { OkResult } from "../dispatch.ts";
import { bad, no } from "../errors.ts";
import type { Session } from "../session.ts";

export async function starttls(s: Session, tag: string): Promise<OkResult | undefined> {
  if (s.tls) throw bad("Already using TLS");
  if (!s.ctx.opts.tls) throw bad("STARTTLS not available");
  await s.startTls(tag);
  return undefined;
}

export async function login(
  s: Session,
  _tag: string,
  cmd: Extract<Command, { name: "LOGIN" }>,
): Promise<OkResult> {
  // RFC 9051 §6.2.3: LOGINDISABLED → the server MUST NOT accept LOGIN on this connection
  if (!s.plaintextAuthAllowed)
    throw no("PRIVACYREQUIRED", "Plaintext login is disabled; use STARTTLS or TLS");
  return authenticateWith(s, cmd.username, cmd.password);
}

export async function authenticate(
  s: Session,
  _tag: string,
  cmd: Extract<Command, { name: "AUTHENTICATE" }>,
): Promise<OkResult> {
  if (cmd.mechanism !== "PLAIN") throw no(null, "Unsupported authentication mechanism");
  if (!s.plaintextAuthAllowed) throw no("PRIVACYREQUIRED", "Plaintext authentication is disabled; use TLS");
  let resp = cmd.initialResponse;
  if (resp === null) {
    // RFC 9051 §6.2.2: empty continuation, the client answers with base64 (or "*" to cancel)
    await s.write("+ \r\n");
    const line = await s.readLine();
    if (line === null) throw no(null, "Connection closed");
    const text = line.toString("latin1").trim();
    if (text === "*") throw bad("AUTHENTICATE cancelled");
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw bad("Invalid base64 response");
    resp = Buffer.from(text, "base64");
  }
  const plain = decodeSaslPlain(resp);
  if (!plain) throw bad("Malformed SASL PLAIN response");
  // RFC 4616 §2: an authorization identity other than the authenticated one is refused
  if (plain.authzid !== "" && plain.authzid.toLowerCase() !== plain.authcid.toLowerCase()) {
    throw no("AUTHORIZATIONFAILED", "Authorization identity not permitted");
  }
  return authenticateWith(s, plain.authcid, plain.password);
}

async function authenticateWith(s: Session, username: string, password: string): Promise<OkResult> {
  const log = s.ctx.opts.logger;
  const account = await s.ctx.opts.auth.verifyPassword(username, password, {
    protocol: "imap",
    remoteAddress: s.remoteAddress,
  });
  if (!account) {
    // The authenticator also refuses accounts with IMAP switched off (without telling which), so
    // the client gets one text for both cases (no account probing); the log line says which.
    const acc = await s.store.getAccount(username.trim().toLowerCase()).catch(() => null);
    const disabled = acc !== null && acc.settings.imapEnabled === false;
    log.warn(
      { session: s.id, user: username.slice(0, 100), remoteAddress: s.remoteAddress },
      disabled ? "imap login refused: IMAP disabled for this account" : "imap login failed",
    );
    throw no("AUTHENTICATIONFAILED", "Authentication failed, or IMAP access is disabled for this account");
  }
  if (account.settings.imapEnabled === false) {
    log.warn(
      { session: s.id, user: account.address, remoteAddress: s.remoteAddress },
      "imap login refused: IMAP disabled",
    );
    throw no("AUTHENTICATIONFAILED", "IMAP access is disabled for this account");
  }
  const shared = await s.ctx.addUser(s, account);
  if (!shared) {
    log.warn({ session: s.id, user: account.address }, "imap login refused: too many connections for user");
    throw no("LIMIT", "Too many connections for this user");
  }
  s.loggedIn(shared);
  log.info({ session: s.id, user: account.address, remoteAddress: s.remoteAddress }, "imap login");
  // RFC 9051 §6.2.3: CAPABILITY response code in the tagged OK after login
  return { code: `CAPABILITY ${s.ctx.capabilities(s)}`, text: "Logged in" };
}
