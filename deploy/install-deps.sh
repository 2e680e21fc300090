#!/usr/bin/env bash
# Installs the Debian 12 packages rectrack needs to build, test and run, and only those missing.
# Safe to run again: with everything present it only checks and returns.
set -euo pipefail

packages=(
  build-essential cmake ccache
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsqlite3-dev libyaml-cpp-dev libssl-dev
  googletest libgtest-dev
  sqlite3  # the shell, used by the tamper test of `rectrack verify` and by operators
  python3-feedparser python3-icalendar  # real parsers for the feed tests
  clang  # the thread-safety analysis test (-Wthread-safety)
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "Installing missing packages: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
