/**
 * A private Postfix instance (Debian's postfix package, installed for the benchmark only, with
 * debconf "No configuration" so no system MTA runs) as the SMTP front of Dovecot LMTP, for the
 * "SMTP ingest" comparison (bench/smtp.ts). Everything lives in a temp dir: config_directory,
 * queue_directory, data_directory, the log file. It listens on 127.0.0.1 on a free high port,
 * accepts mail for one virtual mailbox domain (listed users only, never relays) and hands it to
 * `lmtp:inet:127.0.0.1:<port>`. Started with `postfix -c DIR start`, stopped with
 * `postfix -c DIR stop` (then the master pid is waited for, bounded). Postfix's own defaults are
 * kept otherwise (in_flow_delay, fsync of queue files, concurrency limits). Nothing here is used
 * by postkontor itself.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { descendants, freePort, waitForListener } from "./proc.ts";

export interface PostfixInstance {
  dir: string;
  smtpPort: number;
  pids(): number[];
  stop(): Promise<void>;
}

export function postfixAvailable(): boolean {
  return fs.existsSync("/usr/sbin/postfix") && fs.existsSync("/usr/lib/postfix/sbin/master");
}

export async function startPostfix(o: {
  domain: string;
  users: string[];
  lmtpPort: number;
}): Promise<PostfixInstance> {
  if (!postfixAvailable())
    throw new Error(
      "postfix is not installed (echo 'postfix postfix/main_mailer_type select No configuration' | " +
        "debconf-set-selections; apt-get install -y postfix)",
    );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pk-postfix-"));
  fs.chmodSync(dir, 0o755);
  const etc = path.join(dir, "etc");
  const queue = path.join(dir, "queue");
  const data = path.join(dir, "data");
  fs.mkdirSync(etc);
  fs.mkdirSync(queue);
  fs.mkdirSync(data);
  spawnSync("chown", ["postfix:postfix", data]);
  const port = await freePort();
  fs.writeFileSync(path.join(etc, "vmailbox"), o.users.map((u) => `${u} ok\n`).join(""));
  const mainCf = `compatibility_level = 3.6
queue_directory = ${queue}
data_directory = ${data}
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
daemon_directory = /usr/lib/postfix/sbin
command_directory = /usr/sbin
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.${o.domain}
mydomain = ${o.domain}
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
virtual_mailbox_domains = ${o.domain}
virtual_mailbox_maps = texthash:${etc}/vmailbox
virtual_transport = lmtp:inet:127.0.0.1:${o.lmtpPort}
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions =
alias_maps =
alias_database =
local_recipient_maps =
relayhost =
biff = no
smtputf8_enable = no
maillog_file = ${dir}/maillog
maillog_file_prefixes = ${dir}
`;
  // chroot off: the queue is in the temp dir; services as in Debian's master.cf otherwise
  const masterCf = `${port} inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
lmtp unix - - n - - lmtp
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
`;
  fs.writeFileSync(path.join(etc, "main.cf"), mainCf);
  fs.writeFileSync(path.join(etc, "master.cf"), masterCf);
  const outFd = fs.openSync(path.join(dir, "start.out"), "w");
  const r = spawnSync("/usr/sbin/postfix", ["-c", etc, "start"], {
    stdio: ["ignore", outFd, outFd],
    timeout: 60_000,
  });
  fs.closeSync(outFd);
  const log = () =>
    `${fs.readFileSync(path.join(dir, "start.out"), "utf8")}\n${fs.existsSync(path.join(dir, "maillog")) ? fs.readFileSync(path.join(dir, "maillog"), "utf8").slice(-3000) : ""}`;
  const pidFile = path.join(queue, "pid", "master.pid");
  const cleanup = () => {
    spawnSync("/usr/sbin/postfix", ["-c", etc, "stop"], { stdio: "ignore", timeout: 30_000 });
    fs.rmSync(dir, { recursive: true, force: true });
  };
  if (r.status !== 0) {
    const text = log();
    cleanup();
    throw new Error(`postfix failed to start (${r.status}): ${text}`);
  }
  for (let i = 0; i < 100 && !fs.existsSync(pidFile); i++) await new Promise((res) => setTimeout(res, 50));
  const ok = await waitForListener(port);
  if (!ok || !fs.existsSync(pidFile)) {
    const text = log();
    cleanup();
    throw new Error(`postfix did not start listening: ${text}`);
  }
  const masterPid = Number(fs.readFileSync(pidFile, "utf8").trim());
  return {
    dir,
    smtpPort: port,
    pids: () => descendants(masterPid),
    async stop() {
      spawnSync("/usr/sbin/postfix", ["-c", etc, "stop"], { stdio: "ignore", timeout: 30_000 });
      for (let i = 0; i < 200; i++) {
        try {
          process.kill(masterPid, 0);
        } catch {
          break;
        }
        await new Promise((res) => setTimeout(res, 50));
      }
      // bounded: a master that ignored "stop" is killed by its pid
      try {
        process.kill(masterPid, "SIGKILL");
      } catch {}
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
