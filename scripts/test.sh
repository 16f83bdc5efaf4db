#!/usr/bin/env bash
# Runs every test: typecheck, lint, unit, integration (real MariaDB, OpenLDAP, OpenSSH) and
# end-to-end (the console in Chromium). Installs what a fresh Debian machine lacks when run as
# root; otherwise names the packages to install.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the lab and the browser tests need, by the command that proves each is there.
declare -A needs=(
  [mariadbd]=mariadb-server [mariadb]=mariadb-client [slapd]=slapd [ldapsearch]=ldap-utils
  [sshd]=openssh-server [ssh]=openssh-client [chromium]=chromium [unzip]=unzip [zip]=zip
  [crontab]=cron [unshare]=util-linux
)
missing=()
for cmd in "${!needs[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("${needs[$cmd]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "Missing Debian packages: ${missing[*]} (run as root to install them, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi
# slapd's package starts a system slapd; the lab starts its own, so the system one is not needed.
# cron: the schedule tests run the real crontab command, but only inside a private mount namespace
# (unshare) with a temp dir over /var/spool/cron/crontabs: the machine's own crontabs are never written.

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # Tests never launch Electron; its binary download is the postinstall npm does not run here.
  # npm 11's ci rejects this lock over rollup's optional platform packages it lists without
  # versions; npm install from the same lock installs the same tree. (To mend: see the lock.)
  ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm ci --no-audit --no-fund 2>/dev/null ||
    ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm install --no-audit --no-fund
fi

echo "== typecheck"; npx tsc -p tsconfig.json --noEmit
echo "== lint"; npx eslint .
echo "== build"; npx electron-vite build >/dev/null
echo "== tests"; npx vitest run "$@"
