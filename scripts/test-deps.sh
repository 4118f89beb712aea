#!/usr/bin/env bash
# The Debian packages that the end-to-end tests drive as real clients. `npm test` runs this first
# (package.json "pretest"), and .ci/run goes through `npm test` too, so a fresh machine needs no
# other step. When everything is present it only checks and exits; otherwise it installs the
# missing packages with apt-get (as root, or through passwordless sudo) or says which command would.
set -euo pipefail

# command or perl module → Debian package
missing=()
need_cmd() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need_perl() { perl -M"$1" -e 1 >/dev/null 2>&1 || missing+=("$2"); }

need_cmd curl curl
need_cmd mbsync isync
need_cmd fetchmail fetchmail
need_cmd swaks swaks
need_cmd perl perl
# swaks' TLS (-tls, -tlsc) needs these; Debian only recommends them
need_perl Net::SSLeay libnet-ssleay-perl
need_perl IO::Socket::SSL libio-socket-ssl-perl
[ -e /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
# the PostgreSQL tests start a private cluster with initdb/pg_ctl (test/kit/postgres.ts); pg_trgm is in it
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
# a real Dovecot IMAP server as an import source (test/cli/import-imap.test.ts starts a private one)
[ -x /usr/sbin/dovecot ] || missing+=(dovecot-imapd)
# a real client with COMPRESS=DEFLATE (Python's imaplib + zlib, test/imap/compress-python.test.ts)
need_cmd python3 python3
# a real TCP balancer with PROXY protocol v2 in front of two nodes (test/pg/haproxy.test.ts)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
# the webmail's browser tests drive Debian's Chromium through playwright-core (test/webmail/)
[ -x /usr/bin/chromium ] || missing+=(chromium)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
# de-duplicate, keep order
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++')

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  echo "The tests need these Debian packages: ${missing[*]}" >&2
  echo "Install them with: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

echo "test-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
