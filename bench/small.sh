#!/usr/bin/env bash
# Small answers against nginx (issue 19): the answers clients fetch most, where rectrack's fixed
# cost per request (not copying bytes) decides. At 10,000 recommendations, each of
#   page    GET /api/v1/recommendations?open=true&body=CPS  (the default page: 100 items)
#   list    the same with limit=1000 (bench/run.sh's large answer, here as a median too)
#   single  GET /api/v1/recommendations/{id}
#   304     the same with If-None-Match: its ETag (nginx: its own ETag for the same file)
#   healthz GET /healthz
# with wrk at 16 and 64 connections, against nginx (2 workers) serving the same bytes in the same
# run. wrk shares the two cores with the servers, so one run's figure moves by a third: each pair
# is measured BENCH_ROUNDS times, alternating, and the medians are compared. Prints requests/s,
# p50 and p99 (of the median run) and the ratio to nginx (target: 0.8 or better). Everything on
# 127.0.0.1, about four minutes.
#
#   make build && bench/small.sh
#
# Environment: RECTRACK (the binary, default build/cli/rectrack), BENCH_SECONDS (each wrk run,
# default 5), BENCH_ROUNDS (runs of each, default 3), BENCH_KEEP=1 (keep the temporary directory). Needs wrk, nginx, curl and python3
# (bench/run.sh installs them).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
bench_start small.sh 5

db="$work/bench.db"
python3 "$here/generate.py" --seed 1 "$work/data.yaml" >&2
"$rectrack" --db "$db" import "$work/data.yaml" >&2
token="$("$rectrack" --db "$db" token create --role reader --label bench | head -n 1)"
auth="Authorization: Bearer $token"

port="$(free_port)"
RECTRACK_RATE_PER_MINUTE=0 RECTRACK_RATE_BYTES_PER_MINUTE=0 RECTRACK_THREADS=2 \
  "$rectrack" --db "$db" serve --listen "127.0.0.1:$port" >"$work/serve.out" 2>&1 &
pids+=($!)
base="http://127.0.0.1:$port"
for _ in $(seq 600); do curl -fsS -o /dev/null "$base/readyz" 2>/dev/null && break; sleep 0.1; done
wait_for_start_alerts "$db" >/dev/null

# The answers, saved where nginx serves them under the same paths (it ignores the query).
mkdir -p "$work/www/api/v1/recommendations"
page="/api/v1/recommendations?open=true&body=CPS"
curl -fsS -H "$auth" -o "$work/www/api/v1/recommendations/index.json" "$base$page"
list="$page&limit=1000"
curl -fsS -H "$auth" -o "$work/www/list.json" "$base$list"  # nginx: /list.json
id="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["items"][0]["id"])' \
  "$work/www/api/v1/recommendations/index.json")"
single="/api/v1/recommendations/$id"
curl -fsS -H "$auth" -D "$work/single.headers" -o "$work/www$single" "$base$single"
etag="$(sed -n 's/^[Ee][Tt]ag: *\([^\r]*\).*/\1/p' "$work/single.headers")"
curl -fsS -o "$work/www/healthz" "$base/healthz"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "$auth" -H "If-None-Match: $etag" "$base$single")" = 304 ] ||
  { echo "rectrack does not answer 304 to its ETag" >&2; exit 1; }

read -r nginx_pid nginx_port < <(start_static_nginx "$nginx" "$work/nginx" "$work/www" \
  application/json /healthz \
  'location = /api/v1/recommendations { try_files /api/v1/recommendations/index.json =404; }')
pids+=("$nginx_pid")
nbase="http://127.0.0.1:$nginx_port"
for path in "$page" "$single" /healthz "$list"; do
  npath="$path"
  [ "$path" = "$list" ] && npath=/list.json
  cmp -s <(curl -fsS -H "$auth" "$base$path") <(curl -fsS "$nbase$npath") ||
    { echo "nginx does not serve the bytes rectrack does for $path" >&2; exit 1; }
done
nginx_etag="$(curl -fsS -D - -o /dev/null "$nbase$single" | sed -n 's/^[Ee][Tt]ag: *\([^\r]*\).*/\1/p')"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $nginx_etag" "$nbase$single")" = 304 ] ||
  { echo "nginx does not answer 304 to its ETag" >&2; exit 1; }

run_wrk() {  # connections url [header...] -> "requests_per_s p50_ms p99_ms"
  local connections="$1" url="$2" out="$work/wrk.out"
  shift 2
  local headers=()
  for h in "$@"; do headers+=(-H "$h"); done
  wrk -t2 -c"$connections" -d"${seconds}s" --latency "${headers[@]}" "$url" >"$out"
  read -r rps p50 p99 _ errors < <(parse_wrk "$out")
  [ "$errors" -eq 0 ] || echo "bench/small.sh: $errors failed requests to $url" >&2
  echo "$rps $p50 $p99"
}

rounds="${BENCH_ROUNDS:-3}"

echo "rectrack $(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown), $(nproc) CPUs, 10,000 recommendations, wrk -t2 ${seconds}s each, median of $rounds"
printf '%-8s %6s %6s %11s %8s %8s %9s %7s\n' answer bytes conns rectrack/s p50_ms p99_ms nginx/s ratio
for connections in 16 64; do
  for answer in list page single 304 healthz; do
    case "$answer" in
      list) path="$list"; r_extra=(); n_extra=() ;;
      page) path="$page"; r_extra=(); n_extra=() ;;
      single) path="$single"; r_extra=(); n_extra=() ;;
      304) path="$single"; r_extra=("If-None-Match: $etag"); n_extra=("If-None-Match: $nginx_etag") ;;
      healthz) path=/healthz; r_extra=(); n_extra=() ;;
    esac
    bytes="$(curl -fsS -H "$auth" "${r_extra[@]/#/-H}" -o /dev/null -w '%{size_download}' "$base$path" || echo 0)"
    : >"$work/r.runs"
    : >"$work/n.runs"
    for _ in $(seq "$rounds"); do
      run_wrk "$connections" "$base$path" "$auth" "${r_extra[@]}" >>"$work/r.runs"
      npath="$path"
      [ "$answer" = list ] && npath=/list.json
      run_wrk "$connections" "$nbase$npath" "$auth" "${n_extra[@]}" >>"$work/n.runs"
    done
    read -r r_rps r_p50 r_p99 < <(median_run <"$work/r.runs")
    read -r n_rps _ _ < <(median_run <"$work/n.runs")
    printf '%-8s %6s %6s %11s %8s %8s %9s %6sx\n' "$answer" "$bytes" "$connections" "$r_rps" \
      "$r_p50" "$r_p99" "$n_rps" "$(ratio "$r_rps" "$n_rps")"
  done
done
