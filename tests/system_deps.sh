#!/usr/bin/env bash
# System packages the tests need beyond the Python venv; idempotent and quiet when already there.
#   PostgreSQL server binaries (initdb, pg_ctl): tests/pg_server.py starts a throwaway cluster.
#   chromium: tests/browser.py drives Debian's chromium with Playwright.
#   fonts-wqy-microhei: a font with Chinese characters, for the report in Chinese (report.language: zh).
#   a Java runtime (17 or 21, Debian's default): pyspark starts Spark in it (tests/test_spark*.py).
# Called by `make test`; `make cjk-font` calls it with `cjk-font` to install the font alone.
# Needs root (or sudo) only when something is missing.
set -euo pipefail

wanted=("${@:-postgresql chromium cjk-font java}")
wanted=(${wanted[*]})
missing=()
has_cjk_font() {
  { command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh family 2>/dev/null)" ]; } ||
    compgen -G "/usr/share/fonts/truetype/wqy/*.tt[cf]" >/dev/null ||
    compgen -G "/usr/share/fonts/opentype/noto/*CJK*" >/dev/null
}
for item in "${wanted[@]}"; do
  case "$item" in
    postgresql)
      if ! command -v initdb >/dev/null 2>&1 && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
        missing+=(postgresql)
      fi ;;
    chromium) command -v chromium >/dev/null 2>&1 || missing+=(chromium) ;;
    cjk-font) has_cjk_font || missing+=(fonts-wqy-microhei) ;;
    java) command -v java >/dev/null 2>&1 || missing+=(default-jre-headless) ;;
    *) echo "tests/system_deps.sh: unknown item '$item' (postgresql, chromium, cjk-font, java)" >&2; exit 2 ;;
  esac
done
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
