/**
 * Runs Debian's Dovecot 2.3 (if installed: apt-get install dovecot-imapd, dovecot-pop3d for POP3, dovecot-lmtpd for LMTP) side by side with
 * postkontor for comparison benchmarks. Standalone config in a temp dir, loopback only,
 * Maildir, passwd-file auth, mail owned by `nobody`. Nothing here is used by postkontor itself.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { hashPassword } from "../src/auth/index.ts";
import { descendants, freePort, waitForListener } from "./proc.ts";

/**
 * passwd-file lines with the password stored as postkontor stores it (`{ARGON2ID}`, the same
 * parameters; Dovecot 2.3 verifies it with libsodium), so a login costs both servers the same
 * hash — with `{PLAIN}` Dovecot's logins were free and postkontor's each an argon2id verify.
 */
async function passwdLines(users: Array<[string, string]>): Promise<string> {
  const lines = await Promise.all(users.map(async ([u, p]) => `${u}:${await hashPassword(p)}::::::\n`));
  return lines.join("");
}

export interface DovecotInstance {
  dir: string;
  imapPort: number;
  /** POP3 (plain; dovecot-pop3d) */
  pop3Port: number;
  /** LMTP on 127.0.0.1 (dovecot-lmtpd; opts.lmtp), 0 when not started */
  lmtpPort: number;
  /** appends accounts to the passwd-file (Dovecot re-reads it when it changes) */
  addUsers(users: Array<[string, string]>): Promise<void>;
  pids(): number[];
  stop(): Promise<void>;
}

export function dovecotAvailable(): boolean {
  return fs.existsSync("/usr/sbin/dovecot");
}

export async function startDovecot(
  users: Array<[string, string]>,
  opts: { hibernate?: boolean; lmtp?: boolean; compress?: boolean } = {},
): Promise<DovecotInstance> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pk-dovecot-"));
  fs.chmodSync(dir, 0o755);
  const port = await freePort();
  const pop3Port = await freePort();
  const pop3 = fs.existsSync("/usr/lib/dovecot/pop3");
  // LMTP (RFC 2033) for the SMTP ingest comparison: Postfix hands mail to Dovecot over it
  const lmtp = opts.lmtp === true;
  if (lmtp && !fs.existsSync("/usr/lib/dovecot/lmtp"))
    throw new Error("dovecot LMTP is not installed (apt-get install dovecot-lmtpd)");
  const lmtpPort = lmtp ? await freePort() : 0;
  const home = path.join(dir, "home");
  fs.mkdirSync(home);
  spawnSync("chown", ["nobody:nogroup", home]);
  fs.writeFileSync(path.join(dir, "passwd"), await passwdLines(users));
  const conf = `
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
protocols = imap${pop3 ? " pop3" : ""}${lmtp ? " lmtp" : ""}
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
mail_uid = nobody
mail_gid = nogroup
first_valid_uid = 1
mail_max_userip_connections = 20000
default_process_limit = 20000
default_client_limit = 40000
default_vsz_limit = 0
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=${home}/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
  service_count = 0
  process_min_avail = 2
}
service imap {
  process_limit = 20000
  client_limit = 1
}
${
  // COMPRESS=DEFLATE (RFC 4978): Dovecot 2.3's imap_zlib plugin (it needs the zlib plugin loaded)
  opts.compress
    ? `mail_plugins = $mail_plugins zlib
protocol imap {
  mail_plugins = $mail_plugins imap_zlib
}`
    : ""
}
${
  pop3
    ? `service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${pop3Port}
  }
  inet_listener pop3s {
    port = 0
  }
  service_count = 0
  process_min_avail = 2
}
service pop3 {
  process_limit = 20000
  client_limit = 1
}`
    : ""
}
${
  lmtp
    ? `service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${lmtpPort}
  }
  process_min_avail = 2
}`
    : ""
}
${
  opts.hibernate
    ? `imap_hibernate_timeout = 1s
service imap-hibernate {
  unix_listener imap-hibernate {
    mode = 0666
  }
  process_limit = 20000
  client_limit = 20000
}
service imap {
  unix_listener imap-master {
    user = nobody
  }
}`
    : ""
}
`;
  const confPath = path.join(dir, "dovecot.conf");
  fs.writeFileSync(confPath, conf);
  // the master daemonizes: give it a file, not a pipe, or spawnSync waits for the daemon to exit
  const outFd = fs.openSync(path.join(dir, "start.out"), "w");
  const r = spawnSync("/usr/sbin/dovecot", ["-c", confPath], { stdio: ["ignore", outFd, outFd] });
  fs.closeSync(outFd);
  if (r.status !== 0)
    throw new Error(`dovecot failed to start: ${fs.readFileSync(path.join(dir, "start.out"), "utf8")}`);
  const masterPidFile = path.join(dir, "run", "master.pid");
  for (let i = 0; i < 100 && !fs.existsSync(masterPidFile); i++)
    await new Promise((res) => setTimeout(res, 50));
  const masterPid = Number(fs.readFileSync(masterPidFile, "utf8").trim());
  await waitForListener(port);
  const passwdPath = path.join(dir, "passwd");
  return {
    dir,
    imapPort: port,
    pop3Port: pop3 ? pop3Port : 0,
    lmtpPort,
    async addUsers(more) {
      fs.appendFileSync(passwdPath, await passwdLines(more));
    },
    pids: () => descendants(masterPid),
    async stop() {
      spawnSync("/usr/sbin/dovecot", ["-c", confPath, "stop"], { stdio: "ignore" });
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(masterPid, 0);
        } catch {
          break;
        }
        await new Promise((res) => setTimeout(res, 50));
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
