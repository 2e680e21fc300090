#!/usr/bin/env bash
# Installs the Debian 12 packages rectrack needs to build, test and run, and only those missing.
# Safe to run again: with everything present it only checks and returns.
set -euo pipefail

packages=(
  build-essential cmake ccache
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsqlite3-dev libyaml-cpp-dev libssl-dev
  libyaml-dev  # import files read a piece at a time (yaml-cpp builds whole trees)
  libcurl4-openssl-dev  # email alerts: libcurl's SMTP with STARTTLS and AUTH
  googletest libgtest-dev
  sqlite3  # the shell, used by the tamper test of `rectrack verify` and by operators
  python3-feedparser python3-icalendar  # real parsers for the feed tests
  python3-jsonschema python3-yaml  # answers validated against docs/openapi.yaml's schemas
  python3-aiosmtpd openssl  # real SMTP servers (STARTTLS, AUTH) for the email tests
  prometheus  # promtool checks /metrics in the tests (the server is never started)
  jing  # RELAX NG: /feed.atom checked against RFC 4287's grammar (tests/data/atom.rnc)
  clang  # the thread-safety analysis test (-Wthread-safety)
  libsodium-dev libkainjow-mustache-dev  # the web workspace: Argon2id passwords, templates
  libxlsxwriter-dev python3-openpyxl  # reports as XLSX, and a real reader for them in the tests
  # Reports as DOCX and ODT (pandoc) and accessible PDF (WeasyPrint). WeasyPrint's fonttools
  # wants python3-scipy or python3-munkres; named first, munkres keeps apt from taking scipy,
  # whose pythran needs libboost1.74-dev, which conflicts with the 1.81 above.
  python3-munkres pandoc weasyprint
  docx2txt odt2txt poppler-utils qpdf  # real readers of those documents in the tests
  chromium chromium-driver python3-selenium  # the web workspace's browser tests
)
# Node builds the web workspace's stylesheet (sass over GOV.UK Frontend) and is never needed to
# run rectrack; a machine that already has node and npm (e.g. from NodeSource) keeps them.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
install_web_packages() {
  # GOV.UK Frontend, sass and axe-core, at the versions package-lock.json pins.
  local root
  root="$(cd "$(dirname "$0")/.." && pwd)"
  if [ ! -f "$root/node_modules/.package-lock.json" ] ||
     [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]; then
    (cd "$root" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
if [ ${#missing[@]} -eq 0 ]; then
  install_web_packages
  exit 0
fi

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "Installing missing packages: ${missing[*]}"
$sudo apt-get update -qq
# Debian starts a package's service on install (prometheus would listen on every interface); a
# policy-rc.d that says no (exit 101), only for this install and only if there is none, stops it.
policy_added=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  policy_added=1
fi
status=0
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
  status=$?
[ -n "$policy_added" ] && $sudo rm -f /usr/sbin/policy-rc.d
[ "$status" -eq 0 ] || exit "$status"
install_web_packages
