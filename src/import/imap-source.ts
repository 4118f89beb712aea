/**
 * Another IMAP server as an import source, through the imapflow client: every selectable folder
 * (hierarchy mapped to "/", special use from LIST — RFC 6154 — or imapflow's guess by name), each
 * message's flags and keywords, INTERNALDATE and octets (BODY.PEEK[], so nothing is marked
 * \Seen at the source; the folder is EXAMINEd). Skipped: `\All` folders (Gmail's `[Gmail]/All
 * Mail` holds every message again; Gmail labels are folders of their own and imported as such)
 * and `\Flagged` virtual folders.
 */
import { ImapFlow } from "imapflow";
import { isLoopback } from "../net/address.ts";
import { SPECIAL_USES, type SpecialUse } from "../store/types.ts";
import type { ImportSource, SourceFolder, SourceItem } from "./source.ts";

export interface ImapSourceOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  /** implicit TLS (imaps) */
  tls?: boolean;
  /** STARTTLS required */
  starttls?: boolean;
  /** accept any certificate (self-signed test servers) */
  insecure?: boolean;
}

/**
 * STARTTLS: required with --imap-starttls and for any host but loopback (the password must not
 * cross a network in clear); on loopback used when the server offers it. Not with implicit TLS.
 */
function startTls(o: ImapSourceOptions): boolean | undefined {
  if (o.tls) return undefined;
  if (o.starttls || !(isLoopback(o.host) || o.host === "localhost")) return true;
  return undefined;
}

/** messages per FETCH of content */
const CHUNK = 100;

const SKIPPED_USES = new Set(["\\All", "\\Flagged"]);

function specialUse(v: string | undefined): SpecialUse | null {
  return (SPECIAL_USES as readonly string[]).includes(v ?? "") ? (v as SpecialUse) : null;
}

/**
 * The source folder's name with "/" as delimiter, without the personal namespace prefix
 * (RFC 2342: Courier and Cyrus put every folder below "INBOX.", e.g. "INBOX.Sent" is Sent).
 */
export function folderName(path: string, delimiter: string, prefix: string): string {
  if (path.toUpperCase() === "INBOX") return "INBOX";
  const own =
    prefix && path.startsWith(prefix) && path.length > prefix.length ? path.slice(prefix.length) : path;
  return own.split(delimiter || "/").join("/");
}

function toItem(
  folder: SourceFolder,
  path: string,
  m: { uid: number; source?: Buffer; flags?: Set<string>; internalDate?: Date | string },
): SourceItem {
  const where = `${path} uid ${m.uid}`;
  if (!m.source) return { kind: "failed", where, reason: "the server sent no message content" };
  const date = m.internalDate ? new Date(m.internalDate) : null;
  return {
    kind: "message",
    folder,
    raw: m.source,
    flags: [...(m.flags ?? [])].filter((x) => x.toLowerCase() !== "\\recent"),
    ...(date && Number.isFinite(date.getTime()) ? { internalDate: date } : {}),
    where,
  };
}

export function imapSource(o: ImapSourceOptions): ImportSource {
  let client: ImapFlow | null = null;
  return {
    id: `imap:${o.user}@${o.host}:${o.port}`,
    async *items(): AsyncGenerator<SourceItem> {
      const c = new ImapFlow({
        host: o.host,
        port: o.port,
        secure: o.tls === true,
        doSTARTTLS: startTls(o),
        tls: { rejectUnauthorized: o.insecure !== true },
        auth: { user: o.user, pass: o.password },
        logger: false,
        disableAutoIdle: true,
      });
      client = c;
      c.on("error", () => {});
      try {
        await c.connect();
      } catch (e) {
        const failed = (e as { authenticationFailed?: boolean }).authenticationFailed === true;
        throw new Error(
          `IMAP ${o.host}:${o.port}: ${failed ? `login as ${o.user} failed` : (e as Error).message}`,
        );
      }
      const folders = await c.list();
      for (const f of folders) {
        if (f.flags.has("\\Noselect") || f.flags.has("\\NonExistent")) continue;
        if (SKIPPED_USES.has(f.specialUse ?? "")) continue;
        const name = folderName(f.path, f.delimiter, c.namespace?.prefix ?? "");
        const folder = { name, specialUse: specialUse(f.specialUse) };
        const lock = await c.getMailboxLock(f.path, { readOnly: true });
        try {
          const mb = c.mailbox;
          if (!mb || mb.exists === 0) continue;
          // uids first, then the content in chunks: a large folder is never buffered whole
          const uids: number[] = [];
          for await (const m of c.fetch("1:*", { uid: true })) uids.push(m.uid);
          for (let i = 0; i < uids.length; i += CHUNK) {
            const set = uids.slice(i, i + CHUNK).join(",");
            const query = { uid: true, flags: true, internalDate: true, source: true };
            for await (const m of c.fetch(set, query, { uid: true })) yield toItem(folder, f.path, m);
          }
        } finally {
          lock.release();
        }
      }
    },
    async close() {
      const c = client;
      client = null;
      if (c) await c.logout().catch(() => c.close());
    },
  };
}
