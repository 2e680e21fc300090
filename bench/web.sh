#!/usr/bin/env bash
# The web workspace's pages under load (issue 14, item 8): the dashboard and a 100-row
# recommendations page at 10,000 recommendations, signed in, with wrk at 16 connections, against
# nginx serving the same bytes in the same run. Prints requests/s, p50 and p99 of each and the
# ratio to nginx. Everything on 127.0.0.1, about a minute.
#
#   make build && bench/web.sh
#
# Then the dashboard and /metrics after each of 5 writes (so neither is cached: what a write makes
# the next one cost), against the cached dashboard in the same run.
#
# Environment: RECTRACK (the binary, default build/cli/rectrack), BENCH_SECONDS (each wrk run,
# default 10), BENCH_KEEP=1 (keep the temporary directory), BENCH_DB (a database to copy and
# use instead of generating 10,000 recommendations). Needs wrk, nginx, curl and python3
# (bench/run.sh installs them).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
bench_start web.sh 10

db="$work/bench.db"
if [ -n "${BENCH_DB:-}" ]; then
  cp "$BENCH_DB" "$db"  # a database bench/scale.sh kept (100,000 or 1,000,000 recommendations)
else
  python3 "$here/generate.py" --seed 1 "$work/data.yaml" >&2
  "$rectrack" --db "$db" import "$work/data.yaml" >&2
fi
echo "bench password 1" | "$rectrack" --db "$db" user add --email bench@hmcpsi.example --role inspectorate >&2

port="$(free_port)"
RECTRACK_RATE_PER_MINUTE=0 RECTRACK_RATE_BYTES_PER_MINUTE=0 RECTRACK_THREADS=2 "$rectrack" --db "$db" serve --listen "127.0.0.1:$port" \
  >"$work/serve.out" 2>&1 &
pids+=($!)
base="http://127.0.0.1:$port"
for _ in $(seq 600); do curl -fsS -o /dev/null "$base/readyz" 2>/dev/null && break; sleep 0.1; done
echo "alerts raised at start: $(wait_for_start_alerts "$db")" >&2
curl -fsS -o /dev/null -c "$work/cookies" --data-urlencode email=bench@hmcpsi.example \
  --data-urlencode "password=bench password 1" "$base/sign-in"
cookie="rectrack_session=$(awk '$6 == "rectrack_session" { print $7 }' "$work/cookies")"
[ "$cookie" != "rectrack_session=" ] || { echo "sign-in failed" >&2; exit 1; }

mkdir -p "$work/www"
pages=("/" "/recommendations?per_page=100")
names=("dashboard" "recommendations-100")
for i in "${!pages[@]}"; do
  curl -fsS -H "Cookie: $cookie" -o "$work/www/${names[$i]}.html" "$base${pages[$i]}"
done
read -r nginx_pid nginx_port < <(start_static_nginx "$nginx" "$work/nginx" "$work/www" text/html \
  /dashboard.html)
pids+=("$nginx_pid")

run_wrk() {  # url [header] -> "requests_per_s p50_ms p99_ms" (parse_wrk, bench/lib.sh)
  local out="$work/wrk.out"
  if [ $# -gt 1 ]; then
    wrk -t2 -c16 -d"${seconds}s" --latency -H "$2" "$1" >"$out"
  else
    wrk -t2 -c16 -d"${seconds}s" --latency "$1" >"$out"
  fi
  read -r rps p50 p99 _ errors < <(parse_wrk "$out")
  [ "$errors" -eq 0 ] || echo "bench/web.sh: $errors failed requests to $1" >&2
  echo "$rps $p50 $p99"
}

printf '%-22s %8s %12s %10s %10s %12s %8s\n' page bytes rectrack/s p50_ms p99_ms nginx/s ratio
for i in "${!pages[@]}"; do
  bytes="$(stat -c %s "$work/www/${names[$i]}.html")"
  read -r r_rps r_p50 r_p99 < <(run_wrk "$base${pages[$i]}" "Cookie: $cookie")
  read -r n_rps _ _ < <(run_wrk "http://127.0.0.1:$nginx_port/${names[$i]}.html")
  ratio="$(ratio "$r_rps" "$n_rps")"
  printf '%-22s %8s %12s %10s %10s %12s %8s\n' "${names[$i]}" "$bytes" "$r_rps" "$r_p50" "$r_p99" "$n_rps" "${ratio}x"
done

# What a write makes the next dashboard and metrics scrape cost (both are cached until the log
# changes), against the cached dashboard.
token="$("$rectrack" --db "$db" token create --role inspectorate --label bench | head -1)"
id="$(curl -fsS -H "Authorization: Bearer $token" "$base/api/v1/recommendations?limit=1" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["items"][0]["id"])')"
seconds_of() { curl -fsS -o /dev/null -w '%{time_total}' "$@"; }
fresh_dashboard=0 fresh_metrics=0 cached=0
for _ in 1 2 3 4 5; do
  curl -fsS -o /dev/null -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"do":"update","note":"bench"}' "$base/api/v1/recommendations/$id/events"
  fresh_dashboard="$(awk -v a="$fresh_dashboard" -v b="$(seconds_of -H "Cookie: $cookie" "$base/")" 'BEGIN { print a + b }')"
  fresh_metrics="$(awk -v a="$fresh_metrics" -v b="$(seconds_of -H "Authorization: Bearer $token" "$base/metrics")" 'BEGIN { print a + b }')"
  cached="$(awk -v a="$cached" -v b="$(seconds_of -H "Cookie: $cookie" "$base/")" 'BEGIN { print a + b }')"
done
ms() { awk -v s="$1" 'BEGIN { printf "%.1f", s * 1000 / 5 }'; }
echo "after a write: dashboard $(ms "$fresh_dashboard") ms, /metrics $(ms "$fresh_metrics") ms;" \
  "the cached dashboard $(ms "$cached") ms (ratio $(ratio "$fresh_dashboard" "$cached")x)"
