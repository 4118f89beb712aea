/**
 * The configuration schema. It IS the defaults and the documentation: every key carries its default
 * (as it is written in TOML) and a description; `config defaults` and docs/config.md are generated
 * from it (see render.ts).
 */
import { z } from "zod";
import {
  bool,
  cidr,
  duration,
  expirePolicy,
  int,
  listeners,
  num,
  proxyKeys,
  section,
  size,
  str,
} from "./fields.ts";

export { parseDuration, parseSize } from "./fields.ts";

export const configSchema = z.strictObject({
  data_dir: str(
    "./data",
    "Directory holding the database, message blobs, the generated TLS certificate (tls/) and the " +
      "change-feed socket (run/); created by `serve` only (mode 0700), never by the admin commands. A " +
      "relative path in a config file resolves against that file's directory (so does this default when " +
      "a config file is used); without any config file, or from the environment or --data-dir, against " +
      "the current working directory.",
  ),
  hostname: str(
    "",
    "Host name announced in greetings, in MAILER-DAEMON@… and used as the certificate name; should be " +
      "a fully qualified domain name (serve warns otherwise). Empty = the OS host name.",
  ),
  url_hosts: z
    .array(z.string().min(1).max(253))
    .prefault([])
    .describe(
      "Host names IMAP URLs of this server may carry (CATENATE, URLAUTH/URLFETCH, submission BURL; RFC 5092, " +
        "RFC 4467, RFC 4468), e.g. the name clients connect to when it differs from `hostname`. URLs naming any " +
        "other host are refused. Empty = [hostname].",
    ),

  server: section("Process model.", {
    workers: int(
      0,
      "Worker processes sharing the listeners (node:cluster). 0 = one per CPU core; 1 = a single process, no cluster.",
    ),
    reuse_port: bool(
      true,
      "Cluster (workers ≠ 1) on Linux: each worker binds the fixed-port listeners itself (SO_REUSEPORT) and the " +
        "kernel spreads new connections over the workers, instead of the primary accepting every connection and " +
        "handing it to a worker. The primary first binds every fixed port once without it, so a port held by " +
        "another process still stops the server (EADDRINUSE). Listeners on port 0 are always shared through the primary.",
    ),
    shutdown_timeout: duration(
      "10s",
      "On SIGTERM/SIGINT: how long to wait for sessions to close before workers are killed.",
    ),
    worker_stall_s: num(
      30,
      "Watchdog (workers ≠ 1): a worker whose event loop has sent the primary no heartbeat for this " +
        "many seconds is logged, killed (SIGKILL) and replaced like a crashed one; its connections are dropped. " +
        "Fractions allowed; 0 = off.",
    ),
    max_semi_space_mb: int(
      1,
      "V8 young-generation semi-space limit of each worker process, in MiB (node --max-semi-space-size). " +
        "Without a limit V8 grows the young generation to tens of MiB per process under a burst of logins " +
        "and keeps it, which dominates the memory of idle connections; 1 keeps an idle IMAP connection at a " +
        "few KiB for a small cost in garbage-collection work. 0 = V8's default. Applies to the cluster " +
        "workers and the primary, which re-executes itself with it (workers ≠ 1); a single-process server (workers = 1) takes it from NODE_OPTIONS instead, and an explicit --max-semi-space-size in NODE_OPTIONS overrides this.",
    ),
    v8_pool_size: int(
      1,
      "V8 platform threads of each worker process (node --v8-pool-size: concurrent garbage-collection marking " +
        "and background compilation). Each thread keeps a malloc arena and a stack; one per worker keeps the " +
        "idle server small. 0 = V8's default (one per core). Applies to the cluster workers and the primary (workers ≠ 1); an " +
        "explicit --v8-pool-size in NODE_OPTIONS overrides this.",
    ),
    malloc_arenas: int(
      2,
      "glibc malloc arenas of each worker process (MALLOC_ARENA_MAX): without a limit every thread that " +
        "allocates gets an arena of its own that keeps what it freed. 0 = glibc's default (8 per core). " +
        "Applies to the cluster workers and the primary (workers ≠ 1); MALLOC_ARENA_MAX in the environment " +
        "overrides this.",
    ),
  }),

  log: section("Logging on stdout.", {
    level: z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
      .prefault("info")
      .describe("Log level: fatal, error, warn, info, debug, trace or silent."),
    format: z
      .enum(["auto", "json", "pretty"])
      .prefault("auto")
      .describe(
        'Log format: "json" (one JSON object per line), "pretty" (`HH:MM:SS.mmm LEVEL message key=value…`) ' +
          'or "auto" (pretty when stdout is a terminal, else JSON).',
      ),
  }),

  tls: section("TLS certificate for implicit TLS and STARTTLS on every protocol.", {
    cert: str(
      "",
      "PEM certificate chain file. Empty (with key empty) = a self-signed certificate is generated on first " +
        "start into <data_dir>/tls/ and reused afterwards (regenerated when it expires or the hostname changes; " +
        "a certificate postkontor did not generate is never replaced). The files are re-read when they change, " +
        "no restart needed.",
    ),
    key: str("", "PEM private key file belonging to cert."),
  }),

  imap: section("IMAP4rev2/IMAP4rev1 server.", {
    enabled: bool(true, "Start the IMAP listeners."),
    listen: listeners(
      ["0.0.0.0:1143"],
      "Plain listeners offering STARTTLS, as host:port ([v6]:port for IPv6). Production port: 143.",
    ),
    listen_tls: listeners(["0.0.0.0:1993"], "Implicit-TLS listeners (RFC 8314). Production port: 993."),
    allow_plaintext_auth: bool(
      false,
      "Allow LOGIN/AUTHENTICATE PLAIN before TLS from non-loopback clients. Loopback is always allowed.",
    ),
    compress: bool(
      true,
      "Offer COMPRESS=DEFLATE (RFC 4978) to logged-in clients. Compression saves bandwidth on slow links but " +
        "keeps zlib state for the whole connection: about 165 KiB more per idle connection than without " +
        "(docs/benchmarks.md); set false on servers that hold very many idle connections.",
    ),
    ...proxyKeys("IMAP"),
    limits: section("IMAP protocol limits.", {
      max_line_length: size(65536, "Longest command line in bytes (excluding literals)."),
      max_literal_size: size(
        52428800,
        "Largest literal after login, in bytes; also announced as APPENDLIMIT.",
      ),
      max_literal_size_unauth: size(8192, "Largest literal before login, in bytes."),
      max_bad_commands: int(20, "Consecutive bad commands before the server says BYE."),
      idle_timeout: duration(
        "30m",
        "Inactivity timeout of an authenticated session (RFC 9051 §5.4: at least 30 minutes).",
      ),
      unauth_timeout: duration("60s", "Inactivity timeout before login."),
      max_connections_per_user: int(
        50,
        "Concurrent logged-in IMAP sessions per account, counted for the whole server (all worker " +
          "processes); beyond it LOGIN answers NO [LIMIT]. 0 = unlimited.",
      ),
      max_connections_per_ip: int(
        100,
        "Concurrent IMAP connections per remote IP, counted for the whole server (all worker processes); " +
          "beyond it the greeting is BYE [UNAVAILABLE]. 0 = unlimited.",
      ),
      max_metadata_size: size(
        65536,
        "Largest METADATA entry value (RFC 5464) in bytes; SETMETADATA beyond it answers NO [METADATA MAXSIZE n].",
      ),
      max_metadata_entries: int(
        100,
        "METADATA entries (RFC 5464) per mailbox, and for the server, per account; SETMETADATA beyond it " +
          "answers NO [METADATA TOOMANY].",
        1,
      ),
      max_notify_queue: int(
        1000,
        "NOTIFY (RFC 5465): changed mailboxes waiting to be reported per connection; beyond it " +
          "* OK [NOTIFICATIONOVERFLOW] and NOTIFY is off.",
        1,
      ),
      max_search_contexts: int(
        10,
        "Live search contexts (RFC 5267 CONTEXT=SEARCH/SORT, RETURN (UPDATE)) per IMAP session; each is " +
          "searched again whenever its mailbox changes. Beyond it the command answers without updates " +
          'and an untagged NO [NOUPDATE "tag"].',
        1,
      ),
      max_urls: int(
        100,
        "URLs in one GENURLAUTH or URLFETCH command (RFC 4467), each resolved from the store; beyond it the " +
          "command is BAD. At most 1000.",
        1,
      ),
    }),
  }),

  pop3: section("POP3 server (RFC 1939): INBOX only; what DELE does is a per-account setting (`user set`).", {
    enabled: bool(true, "Start the POP3 listeners."),
    listen: listeners(["0.0.0.0:1110"], "Plain listeners offering STLS (RFC 2595). Production port: 110."),
    listen_tls: listeners(["0.0.0.0:1995"], "Implicit-TLS listeners (RFC 8314). Production port: 995."),
    allow_plaintext_auth: bool(
      false,
      "Allow USER/PASS and AUTH PLAIN before TLS from non-loopback clients. Loopback is always allowed.",
    ),
    ...proxyKeys("POP3"),
    limits: section("POP3 protocol limits.", {
      max_line_length: size(
        4096,
        "Longest command line in bytes (RFC 2449 §4 needs at least 255; SASL PLAIN responses need more).",
      ),
      max_bad_commands: int(
        20,
        "Invalid, unknown or wrong-state commands before the server closes the connection.",
      ),
      idle_timeout: duration(
        "10m",
        "Inactivity autologout (RFC 1939 §3: at least 10 minutes; smaller values are refused).",
        600_000,
        "10 minutes (RFC 1939 §3)",
      ),
      max_connections_per_ip: int(
        100,
        "Concurrent POP3 connections per remote IP, counted for the whole server (all worker processes); " +
          "beyond it the greeting is -ERR [SYS/TEMP]. 0 = unlimited.",
      ),
      login_delay: duration(
        "0s",
        "RFC 2449 LOGIN-DELAY: minimum time between logins of one account (per worker process). " +
          "0 = not advertised, not enforced.",
      ),
      expire: expirePolicy(
        "NEVER",
        'RFC 2449 EXPIRE policy advertised in CAPA: "NEVER" or a number of days (informational; ' +
          "postkontor never expires mail on its own).",
      ),
    }),
  }),

  smtp: section("SMTP server: MX for hosted domains (never relays) and authenticated submission.", {
    enabled: bool(true, "Start the SMTP listeners."),
    listen: listeners(
      ["0.0.0.0:2525"],
      "MX listeners: inbound mail for hosted domains, never relays. Production port: 25.",
    ),
    submission: listeners(
      ["0.0.0.0:1587"],
      "Submission listeners with STARTTLS, AUTH required. Production port: 587.",
    ),
    submissions: listeners(
      ["0.0.0.0:1465"],
      "Implicit-TLS submission listeners (RFC 8314). Production port: 465.",
    ),
    allow_plaintext_auth: bool(
      false,
      "Allow AUTH on submission before STARTTLS (any client, loopback included). Off: 538 5.7.11.",
    ),
    sender_authentication: bool(
      true,
      "Check SPF, DKIM, DMARC and ARC of inbound MX mail; add Authentication-Results; DMARC p=reject " +
        "failures are refused (550 5.7.1), p=quarantine failures go to Junk.",
    ),
    sender_authentication_budget: duration(
      "5s",
      "Time budget of the DNS lookups of one message's sender authentication; when spent, the checks " +
        "still open end as temperror in Authentication-Results (the message is accepted) instead of " +
        "holding the connection.",
      100,
      "100ms",
    ),
    reverse_lookup: bool(
      true,
      "Look up the client's host name (reverse DNS, through the [dns] resolver) for the Received header.",
    ),
    greeting_delay: duration(
      "0s",
      "How long the MX holds its 220 greeting to catch clients that talk first (refused with 421). " +
        "Never on submission nor for loopback clients. Input before the greeting is refused at any value " +
        "(the greeting also waits for the reverse lookup); a longer pause catches more bots but holds " +
        "every sender's connection that long.",
    ),
    vacation_reply_interval: duration(
      "7d",
      "Vacation responses (RFC 3834 §2): a sender gets at most one auto-reply from an account within this " +
        "time; the record of whom an account answered is pruned after it.",
      60_000,
      "1m",
    ),
    ...proxyKeys("SMTP"),
    limits: section("SMTP limits.", {
      max_recipients: int(100, "RCPT commands per message (RFC 5321 §4.5.3.1.8: at least 100).", 1),
      messages_per_hour: int(
        500,
        "Messages one user may submit per sliding hour (451 4.7.0 beyond). 0 = unlimited.",
      ),
      recipients_per_hour: int(
        2000,
        "Recipients one user may submit to per sliding hour (451 4.7.0 beyond). 0 = unlimited.",
      ),
      domain_messages_per_hour: int(
        5000,
        "Messages all users of one domain together may submit per sliding hour (451 4.7.0 beyond). " +
          "0 = unlimited.",
      ),
      domain_recipients_per_hour: int(
        20000,
        "Recipients all users of one domain together may submit to per sliding hour (451 4.7.0 beyond). " +
          "0 = unlimited.",
      ),
      max_queued: int(
        100000,
        "Outbound queue entries overall; a submission with remote recipients beyond it gets 452 4.3.1 " +
          "and nothing is stored. 0 = unlimited.",
      ),
      max_queued_per_user: int(
        1000,
        "Outbound queue entries submitted by one user; beyond it 452 4.3.1, nothing stored. 0 = unlimited.",
      ),
      idle_timeout: duration(
        "5m",
        "Inactivity timeout of a session (RFC 5321 §4.5.3.2: at least 5 minutes).",
      ),
      max_connections_per_ip: int(
        50,
        "Concurrent connections per remote IP over all SMTP listeners, counted for the whole server " +
          "(all worker processes); beyond it the greeting is 421. 0 = unlimited.",
      ),
    }),
  }),

  dns: section(
    "The server's own DNS resolver (sender authentication, outbound MX lookups, MTA-STS): a cache " +
      "honouring TTLs, negative caching (RFC 2308), coalescing of identical queries, a bound on concurrent " +
      "queries, short UDP timeouts with retries and TCP (RFC 7766).",
    {
      servers: str(
        "",
        'Recursive DNS servers, "ip[:port],…"; "" = the nameservers of /etc/resolv.conf (127.0.0.1 when ' +
          "there are none).",
      ),
      timeout: duration(
        "800ms",
        "Longest wait for an answer before the next attempt, and after the last one. A server that has " +
          "answered before is asked again sooner: after a few of its measured round trips (at least 50ms).",
        10,
        "10ms",
      ),
      attempts: int(
        3,
        "Attempts per query, rotating over the servers; the last one goes over TCP when UDP answers were lost.",
        1,
      ),
      max_concurrent: int(
        64,
        "DNS queries on the wire at the same time (per process); more wait in a queue.",
        1,
      ),
      max_queued: int(
        2000,
        "Queries waiting for a free slot; beyond it a lookup fails at once as a temporary error.",
      ),
      cache_entries: int(20000, "Answers kept in the cache (per process). 0 = no cache."),
      max_ttl: duration("1d", "Longest time an answer is cached, whatever its TTL."),
      negative_ttl: duration(
        "15m",
        "Longest time an NXDOMAIN/NODATA answer is cached (RFC 2308 §5: the SOA minimum, capped by this).",
      ),
    },
  ),

  http: section(
    "HTTP service: client autoconfiguration (Thunderbird, Autodiscover, Apple profile), the MTA-STS policy " +
      "file, /healthz, Prometheus /metrics, JMAP and the webmail.",
    {
      enabled: bool(true, "Start the HTTP listeners."),
      listen: listeners(
        ["0.0.0.0:1080"],
        "Plain HTTP listeners: redirect to HTTPS (308) except for loopback clients, the autoconfig " +
          "paths, the MTA-STS policy and /healthz. Production port: 80.",
      ),
      listen_tls: listeners(
        ["0.0.0.0:1443"],
        "HTTPS listeners (same certificate as every other listener). Production port: 443.",
      ),
      https_port: int(
        0,
        "Port named in the redirect from plain HTTP to HTTPS. 0 = the port of the first listen_tls " +
          "address (443 leaves it out of the URL).",
      ),
      ...proxyKeys("HTTP"),
      metrics_networks: z
        .array(cidr)
        .prefault(["127.0.0.1/32", "::1/128"])
        .describe("Client networks (CIDR blocks) allowed to read /metrics; every other client gets 404."),
      mta_sts_mode: z
        .enum(["testing", "enforce", "none"])
        .prefault("testing")
        .describe(
          "mode of the MTA-STS policy served at https://mta-sts.<domain>/.well-known/mta-sts.txt (RFC 8461 §3.2) " +
            "for every hosted domain; `postkontor dns` prints the matching _mta-sts TXT record.",
        ),
      mta_sts_max_age: duration(
        "7d",
        "max_age of the MTA-STS policy (RFC 8461 §3.2; whole seconds, at most 31557600).",
        1000,
      ),
      limits: section("HTTP limits.", {
        max_body_size: size(1048576, "Largest request body in bytes (413 beyond it)."),
        max_upload_size: size(
          52428800,
          "Largest upload in bytes (reserved for the JMAP upload endpoint, RFC 8620 §6.1).",
        ),
        requests_per_minute: int(
          600,
          "Requests one client IP may make per minute, counted per worker process (429 with Retry-After " +
            "beyond it). 0 = unlimited.",
        ),
        max_concurrent_requests: int(
          256,
          "Requests handled at the same time by one worker process (503 beyond it). 0 = unlimited.",
        ),
        request_timeout: duration("30s", "How long a client may take to send a whole request.", 1000),
        idle_timeout: duration("5s", "How long an idle keep-alive connection stays open."),
      }),
    },
  ),

  outbound: section(
    "Outbound delivery of submitted mail to other domains: persistent queue, MX delivery, retries, " +
      "bounces (RFC 3464 DSNs) and DKIM signing.",
    {
      enabled: bool(
        true,
        "Run the queue runner (one per server: the cluster worker in slot 0, or the single process). Off: mail is queued but not sent.",
      ),
      port: int(25, "TCP port of the remote MX hosts (RFC 5321 §4.5.4: 25; other values only for tests).", 1),
      resolver: str(
        "",
        'DNS for MX/A/AAAA lookups and inbound sender authentication: "" = the [dns] resolver; "ip[:port],…" = these DNS servers (with the ' +
          "[dns] timeouts and cache); " +
          '"file:/path.json" = a static fixture ({"MX": {"example.org": [{"exchange": …, "priority": …}]}, ' +
          '"A": {…}, "AAAA": {…}, "TXT": {…}}) for tests and closed networks.',
      ),
      poll_interval: duration("5s", "How often the runner looks for due queue entries."),
      concurrency: int(8, "Queue entries delivered at the same time.", 1),
      retry_base: duration(
        "5m",
        "First retry delay after a temporary failure; doubles with each attempt up to retry_max.",
      ),
      retry_max: duration("2h", "Longest delay between two attempts."),
      lifetime: duration(
        "5d",
        "How long a message is retried before it bounces (RFC 5321 §4.5.4.1: at least 4-5 days).",
      ),
      delay_warning: duration(
        "4h",
        "Send the sender one delay notice (RFC 3464 Action: delayed) for a recipient still not delivered " +
          "after this long. 0 = never.",
      ),
      lease: duration(
        "10m",
        "How long a runner's claim on an entry holds; a runner that died loses its entries after this " +
          "(at once when it ran on this host and its process is gone).",
      ),
      connect_timeout: duration("30s", "TCP connect and greeting timeout per MX host."),
      timeout: duration(
        "5m",
        "Inactivity timeout of an outbound SMTP session (RFC 5321 §4.5.3.2 suggests 5-10 minutes).",
      ),
      reuse_idle: duration(
        "5s",
        "Keep an SMTP session to a destination open this long after a message for the next message to " +
          "the same domain (RFC 5321 §3.3: several transactions per session). 0 = QUIT after each message.",
      ),
      reuse_max_messages: int(100, "Messages sent over one reused outbound session.", 1),
      dkim: bool(true, "Sign outbound mail with the sender domain's DKIM keys (ed25519 and rsa-sha256)."),
      mta_sts: bool(
        true,
        "Honour the recipient domains' MTA-STS policies (RFC 8461): in enforce mode deliver only to the " +
          "policy's MX hosts over STARTTLS with a valid certificate.",
      ),
      tls_ca: str(
        "",
        "PEM file with extra CA certificates trusted for MTA-STS policy fetches and enforced TLS " +
          "(besides the system CAs). Empty = system CAs only.",
      ),
      smarthost: str(
        "",
        'Send all outbound mail through this relay, "host:port" (e.g. "smtp.provider.net:587"), instead ' +
          "of the recipients' MX hosts. Empty = direct delivery.",
      ),
      smarthost_tls: z
        .enum(["starttls", "implicit"])
        .prefault("starttls")
        .describe(
          'TLS to the smarthost: "starttls" (port 587/25; required when smarthost_user is set) or "implicit" (port 465).',
        ),
      smarthost_user: str("", "AUTH user name at the smarthost (RFC 4954). Empty = no authentication."),
      smarthost_password: str("", "AUTH password at the smarthost."),
    },
  ),

  store: section("Mail store.", {
    backend: z
      .enum(["sqlite", "postgres"])
      .prefault("sqlite")
      .describe(
        'Storage backend: "sqlite" (metadata in <data_dir>/store.sqlite, message files under <data_dir>/blobs, ' +
          'one host) or "postgres" (metadata, keys and locks in the PostgreSQL database at `url`, shared by ' +
          "every node; `serve` on a fresh database creates the schema). On PostgreSQL message content, " +
          "the search index and the change feed (LISTEN/NOTIFY) are in the database too: every node gets " +
          "the same [store] settings and nothing of the store is kept under data_dir.",
      ),
    url: str(
      "",
      'PostgreSQL connection URL for backend = "postgres", e.g. "postgres://postkontor@db.example:5432/mail" ' +
        "(libpq-style URL: user, password, host, port, database, sslmode). Every node uses the same one.",
    ),
    pool_size: int(
      10,
      'Connections of this process\'s pool to PostgreSQL (backend = "postgres"); the change feed keeps one ' +
        "of them for LISTEN.",
      2,
    ),
    feed_heartbeat: duration(
      "10s",
      'How often a node checks its LISTEN connection to PostgreSQL (backend = "postgres"); a check ' +
        "unanswered this long drops it, and the node reconnects and resynchronises its sessions.",
      100,
      "100ms",
    ),
    max_message_size: size(52428800, "Largest message accepted by delivery and APPEND, in bytes."),
    feed_socket: str("", "Unix socket of the cross-process change feed. Empty = <data_dir>/run/feed.sock."),
    blob_writer_threads: int(
      4,
      "Threads per server process that write message files (write, fsync, rename, directory fsync), " +
        "so that this disk work never waits on or blocks the protocol event loop. Several at once let " +
        "concurrent fsyncs share the file system's journal commits; a thread idle for a minute ends.",
      1,
    ),
    small_blob_max_bytes: size(
      131072,
      "Messages up to this size (octets) are stored in one SQLite database beside the message files " +
        "(blobs/small.sqlite) instead of a file each: a writer thread commits the messages that arrive " +
        "together in one transaction, one fsync instead of two per message. 0 = every message in a file of its own.",
    ),
    change_log_days: int(
      90,
      "Days of per-account change history kept (JMAP /changes states, the IMAP expunge log for QRESYNC). " +
        "Older entries are pruned hourly in small batches; a client state from before the window gets " +
        '"cannot calculate changes" (JMAP) or every missing UID as VANISHED (QRESYNC). 0 = keep forever.',
      0,
    ),
    state_cache_messages: int(
      500_000,
      "Messages whose state (UID, flags, modseq) each server process keeps between commands, over all " +
        "mailboxes, so that SELECT and flag SEARCHes of a large mailbox read only what changed since the " +
        "last look (about 20 bytes a message; least recently used mailboxes dropped first). 0 = none.",
      0,
    ),
    undelete_window: duration(
      "7d",
      "Expunged messages stay recoverable this long (`postkontor undelete`), outside the user's quota; the " +
        "background sweeper purges them afterwards and only then deletes their files. 0 = expunged at once.",
    ),
    sqlite_cache_kib: int(
      16384,
      "Upper bound of the SQLite page cache of each process's writing connection, in KiB. Pages are cached " +
        "as they are read, so an idle server holds far less; a busy one holds up to this much per process.",
      64,
    ),
    sqlite_reader_cache_kib: int(
      2048,
      "Upper bound of the SQLite page cache of each process's read-only connection (message content " +
        "locations for FETCH and POP3 RETR), in KiB.",
      64,
    ),
    wal_limit_mb: int(
      64,
      "Bound of the SQLite write-ahead log file, in MiB: after a burst of writes (a large DELETE, a bulk " +
        "import) left it larger, a background checkpoint copies it into the database and truncates it, and " +
        "SQLite truncates it to this size whenever it starts the log over. 0 = no bound (the file keeps its " +
        "largest size).",
      0,
    ),
  }),

  jmap: section("JMAP (RFC 8620 core, RFC 8621 mail), served by the HTTP service.", {
    max_size_upload: size(52428800, "Largest blob one upload may carry, in bytes (RFC 8620 maxSizeUpload)."),
    max_concurrent_upload: int(4, "Uploads one account may run at the same time (maxConcurrentUpload).", 1),
    max_size_request: size(10485760, "Largest API request body, in bytes (maxSizeRequest)."),
    max_concurrent_requests: int(
      4,
      "API requests one account may run at the same time (maxConcurrentRequests).",
      1,
    ),
    max_calls_in_request: int(32, "Method calls one API request may hold (maxCallsInRequest).", 1),
    max_objects_in_get: int(500, "Ids one /get call may ask for (maxObjectsInGet).", 1),
    max_objects_in_set: int(
      500,
      "Objects one /set call may create, update and destroy (maxObjectsInSet).",
      1,
    ),
    max_changes: int(
      5000,
      "Most ids one /changes answer lists when the client gives no smaller maxChanges.",
      1,
    ),
    event_source_ping_min: duration(
      "5s",
      "Shortest EventSource ping interval a client may ask for.",
      1000,
      "1s",
    ),
    token_lifetime: duration(
      "8h",
      "How long a Bearer token from POST /jmap/token is valid. A password change voids every token of the account.",
      60_000,
      "1m",
    ),
    max_pending_uploads: size(
      268435456,
      "Most octets of uploads one account may have pending (not yet expired); they also count against its quota.",
    ),
    upload_ttl: duration(
      "1h",
      "How long an uploaded blob is kept when nothing references it (RFC 8620 §6.1 asks for at least 1h).",
      3_600_000,
      "1h",
    ),
  }),

  webmail: section(
    'The webmail (a JMAP client served by the HTTP service at /; docs/architecture.md "Webmail").',
    {
      enabled: bool(
        true,
        "Serve the webmail app at / (built into webmail/dist by `npm run build:webmail`; a 503 page says so " +
          "when it is missing) and its login endpoints under /webmail/.",
      ),
      session_idle_timeout: duration(
        "2h",
        "A webmail session ends this long after its last request (an open page keeps it alive).",
        1000,
        "1s",
      ),
      session_lifetime: duration(
        "7d",
        "A webmail session ends this long after the login, used or not. A password change ends every " +
          "session of the account (the one changing it stays).",
        1000,
        "1s",
      ),
    },
  ),

  backup: section(
    "Built-in backups (docs/backup.md): daily snapshots taken by `serve`, `postkontor backup …`.",
    {
      enabled: bool(
        true,
        "`serve` takes a snapshot every day at `time` (the primary process, on a thread of its own).",
      ),
      dir: str(
        "",
        "Backup directory (snapshots/ and the shared, content-addressed blobs/). Empty = <data_dir>/backups. " +
          "A directory on another disk survives the loss of the data disk. On PostgreSQL every node runs the " +
          "schedule and one takes each day's snapshot (docs/cluster.md): give them the same shared directory.",
      ),
      time: z
        .string()
        .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected "HH:MM"')
        .prefault("03:30")
        .describe('Time of day (server local time, "HH:MM") of the daily snapshot.'),
      keep_daily: int(7, "Daily snapshots kept (the newest of each of the last N days that have one).", 1),
      keep_weekly: int(0, "Weekly snapshots kept besides (the newest of each of the last N ISO weeks).", 0),
      compress: bool(
        false,
        "gzip message blobs in the backup directory (the metadata copy stays a plain SQLite file).",
      ),
      retry: duration(
        "5m",
        "First retry of a failed daily snapshot; each further retry waits twice as long (at most 6h).",
      ),
    },
  ),

  auth: section("Login verification, cache and throttling; password policy of the admin commands.", {
    min_password_length: int(
      12,
      "Shortest password `user add` and `user passwd` accept (in characters). These also refuse a password " +
        "that is one character repeated, a run of consecutive characters (abcdef…, 123456…), or the address, " +
        "its local part or its domain. 0 = no checks. Hashes given with --password-hash are not checked.",
    ),
    cache_ttl: duration(
      "5m",
      "How long a successful password verification is remembered (keyed by a salted hash of the credentials). " +
        "A password change invalidates it at once. 0 disables the cache.",
    ),
    cache_max_entries: int(10000, "Most remembered successful logins per process."),
    failure_delay: duration("1s", "Delay before answering a failed login."),
    max_failures_per_ip: int(
      20,
      "Failed logins from one IP (any usernames; IPv6: its /64) inside failure_window before that IP is " +
        "refused for `lockout`. Counted for the whole server (all worker processes; on PostgreSQL all nodes). " +
        "0 = no limit.",
    ),
    max_failures_per_user: int(
      10,
      "Failed logins for one username from one IP inside failure_window before that IP is refused for that " +
        "username for `lockout` (the username still works from other IPs). From this many failures over all " +
        "IPs on, logins for the username are answered after a growing delay (max_user_delay) instead of being " +
        "refused, so a flood from one address cannot lock the owner out. Counted for the whole server (on " +
        "PostgreSQL: all nodes). 0 = no limit.",
    ),
    max_user_delay: duration(
      "15s",
      "Longest delay before answering a login for a username with max_failures_per_user or more failures " +
        "over all IPs inside failure_window: 0.2 s at the threshold, doubling with each further failure up to " +
        "this. Applies to the right password too. 0 = no delay.",
    ),
    failure_window: duration("15m", "Window in which failed logins are counted."),
    lockout: duration("15m", "How long a locked-out IP, or IP and username, is refused."),
  }),
});

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
