#!/usr/bin/env bash
# System packages the tests need beyond the Python venv; idempotent and quiet when already there.
#   PostgreSQL server binaries (initdb, pg_ctl): tests/pg_server.py starts a throwaway cluster.
#   chromium: tests/browser.py drives Debian's chromium with Playwright.
# Called by `make test`; needs root (or sudo) only when something is missing.
set -euo pipefail

missing=()
if ! command -v initdb >/dev/null 2>&1 && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  missing+=(postgresql)
fi
if ! command -v chromium >/dev/null 2>&1; then
  missing+=(chromium)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "tests/system_deps.sh: ${missing[*]} missing; install them as root (apt-get install ${missing[*]})." >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
apt_install() { $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
echo "tests/system_deps.sh: installing ${missing[*]} with apt-get" >&2
# A fresh machine often has no package lists yet: update only when the first attempt fails.
apt_install 2>/dev/null || { $SUDO apt-get update -q >/dev/null && apt_install; }
