/**
 * What every import source (mbox, Maildir, IMAP) yields to the import driver (run.ts): messages
 * with their source folder, flags and internal date, and items it could not read.
 */
import type { SpecialUse } from "../store/types.ts";

export interface SourceFolder {
  /** the folder's name in the source, hierarchy delimited by "/" ("INBOX" for the inbox) */
  name: string;
  /** special use the source declares (IMAP LIST, RFC 6154), if any */
  specialUse: SpecialUse | null;
}

export type SourceItem =
  | {
      kind: "message";
      folder: SourceFolder;
      raw: Uint8Array;
      /** system flags (\Seen …) and keywords */
      flags: string[];
      internalDate?: Date;
      /** per-recipient delivery headers kept beside the blob (a restore from a backup has them) */
      deliveryHeaders?: Uint8Array;
      /** where it came from, for messages about it (file, offset, uid) */
      where: string;
    }
  | { kind: "failed"; where: string; reason: string };

export interface ImportSource {
  /** identifies the source in the import ledger (same source again → same id) */
  readonly id: string;
  items(): AsyncIterable<SourceItem>;
  close?(): Promise<void>;
}

/** RFC 5322 §2.1: lines end in CRLF. Bare LF (Maildir and mbox files use LF) → CRLF; the rest is kept. */
export function toCrlf(src: Uint8Array): Uint8Array {
  let bare = 0;
  for (let i = 0; i < src.length; i++) if (src[i] === 0x0a && (i === 0 || src[i - 1] !== 0x0d)) bare++;
  if (bare === 0) return src;
  const out = Buffer.allocUnsafe(src.length + bare);
  let o = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === 0x0a && (i === 0 || src[i - 1] !== 0x0d)) out[o++] = 0x0d;
    out[o++] = c;
  }
  return out;
}
