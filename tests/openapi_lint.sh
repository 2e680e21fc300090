#!/usr/bin/env bash
# docs/openapi.yaml (what GET /openapi.yaml serves) through a real OpenAPI 3 linter,
# @redocly/cli from npm: zero errors. Exits 77 (skipped) when npm ci has not installed it,
# unless RECTRACK_REQUIRE_TOOLS=1.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
redocly="$root/node_modules/.bin/redocly"
if [ ! -x "$redocly" ]; then
  [ "${RECTRACK_REQUIRE_TOOLS:-}" = 1 ] && { echo "redocly is not installed (npm ci)" >&2; exit 1; }
  echo "skipped: redocly is not installed (npm ci)"
  exit 77
fi
cd "$root"
# Offline: no telemetry, no update check.
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true "$redocly" lint --format=stylish \
  docs/openapi.yaml
