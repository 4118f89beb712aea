/** Terminal and stdin helpers for the CLI: hidden password prompts, reading stdin as bytes. */

/** Reads a password: prompted twice without echo on a TTY; else the first line of stdin. */
export async function readNewPassword(opts: { confirm: boolean }): Promise<string> {
  if (process.stdin.isTTY) {
    const pw = await promptHidden("Password: ");
    if (opts.confirm) {
      const again = await promptHidden("Repeat password: ");
      if (again !== pw) throw new UsageError("passwords do not match");
    }
    if (pw.length === 0) throw new UsageError("empty password");
    return pw;
  }
  const data = await readStdin(64 * 1024);
  if (data === null) throw new UsageError("password on stdin is too long");
  const text = data.toString("utf8");
  const nl = text.search(/\r?\n/);
  const pw = nl >= 0 ? text.slice(0, nl) : text;
  if (pw.length === 0) throw new UsageError("no password on stdin (expected it on the first line)");
  return pw;
}

/** Asks a yes/no question on the terminal (stderr prompt, one line from the TTY); true only for y/yes. */
export async function confirm(prompt: string): Promise<boolean> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  const answer = await new Promise<string>((resolve) => {
    let line = "";
    const done = (v: string) => {
      stdin.off("data", onData);
      stdin.off("end", onEnd);
      stdin.pause();
      resolve(v);
    };
    const onData = (d: Buffer) => {
      line += d.toString("utf8");
      const nl = line.search(/\r|\n/);
      if (nl >= 0) done(line.slice(0, nl));
      else if (line.length > 1024) done("");
    };
    const onEnd = () => done(line);
    stdin.on("data", onData);
    stdin.on("end", onEnd);
    stdin.resume();
  });
  const a = answer.trim().toLowerCase();
  return a === "y" || a === "yes";
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Prompts on stderr and reads a line from the TTY in raw mode, echoing nothing. */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    process.stderr.write(prompt);
    let chars: string[] = [];
    const cleanup = () => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
    };
    const onData = (d: Buffer) => {
      for (const ch of d.toString("utf8")) {
        if (ch === "\r" || ch === "\n") {
          cleanup();
          resolve(chars.join(""));
          return;
        }
        if (ch === "\u0003" || (ch === "\u0004" && chars.length === 0)) {
          cleanup();
          reject(new UsageError("interrupted"));
          return;
        }
        if (ch === "\u007f" || ch === "\b") chars.pop();
        else if (ch === "\u0015")
          chars = []; // Ctrl-U
        else if (ch >= " ") chars.push(ch);
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on("data", onData);
  });
}

/** Reads all of stdin as bytes; null when it exceeds max bytes (reading stops there). */
export async function readStdin(max: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of process.stdin) {
    const b = chunk as Buffer;
    total += b.length;
    if (total > max) {
      process.stdin.destroy();
      return null;
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks, total);
}

/** Message bytes as an MTA hands them over: strips a leading mbox "From " line, bare LF → CRLF. */
export function normalizeDelivery(raw: Buffer): Buffer {
  let start = 0;
  if (raw.subarray(0, 5).toString("latin1") === "From ") {
    const nl = raw.indexOf(0x0a);
    start = nl < 0 ? raw.length : nl + 1;
  }
  const src = raw.subarray(start);
  let bare = 0;
  for (let i = 0; i < src.length; i++) if (src[i] === 0x0a && (i === 0 || src[i - 1] !== 0x0d)) bare++;
  if (bare === 0) return src;
  // RFC 5322 §2.1: lines end in CRLF
  const out = Buffer.allocUnsafe(src.length + bare);
  let o = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === 0x0a && (i === 0 || src[i - 1] !== 0x0d)) out[o++] = 0x0d;
    out[o++] = c;
  }
  return out;
}

/** "1.5 MiB" style. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}
