#!/usr/bin/env bash
# Live streams against writers (issue 15, item 1): durable writes per second with no event
# stream open, then with 10 and 60 streams open (each reading every event as it commits), on a
# log of about 20,000 events. A stream must cost what is new, not the log: the target is 60
# streams within 2x of none. Everything on 127.0.0.1, about a minute.
#
#   make build && bench/streams.sh
#
# Environment:
#   RECTRACK         the binary (default build/cli/rectrack under the repository root)
#   BENCH_SECONDS    length of each write run (default 10)
#   BENCH_RECS       synthetic recommendations in the log (default 7000: about 20,000 events)
#
# Needs wrk, curl and python3 (bench/run.sh installs them). Writes nothing into the repository;
# the table goes to stdout. See bench/README.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
seconds="${BENCH_SECONDS:-10}"
recs="${BENCH_RECS:-7000}"
rectrack="${RECTRACK:-$root/build/cli/rectrack}"
say() { echo "== $*" >&2; }
die() {
  echo "bench/streams.sh: $*" >&2
  exit 1
}
[ -x "$rectrack" ] || die "no rectrack binary at $rectrack (make build, or set RECTRACK)"
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (bench/run.sh installs it)"
done

work="$(mktemp -d "${TMPDIR:-/tmp}/rectrack-streams.XXXXXX")"
serve_pid=""
readers=()
cleanup() {
  for pid in "${readers[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

say "Generating and importing $recs recommendations"
python3 "$here/generate.py" --recommendations "$recs" --inspections 100 "$work/data.yaml" >&2
db="$work/bench.db"
"$rectrack" --db "$db" import "$work/data.yaml" >&2
lead="$("$rectrack" --db "$db" token create --role body_lead --body CPS | head -n 1)"
reader="$("$rectrack" --db "$db" token create --role inspectorate | head -n 1)"
events="$("$rectrack" --db "$db" verify | sed -n 's/^OK: \([0-9]*\) events.*/\1/p')"

port="$(free_port)"
base="http://127.0.0.1:$port"
RECTRACK_MAX_STREAMS=200 RECTRACK_RATE_PER_MINUTE=0 RECTRACK_RATE_BYTES_PER_MINUTE=0 "$rectrack" --db "$db" serve \
  --listen "127.0.0.1:$port" >"$work/serve.out" 2>"$work/serve.err" &
serve_pid=$!
for _ in $(seq 100); do curl -fsS "$base/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$base/readyz" >/dev/null || die "serve did not start: $(cat "$work/serve.err")"

# Recommendations the CPS lead may `update`: its open ones.
curl -fsS -H "Authorization: Bearer $lead" "$base/api/v1/recommendations?open=true&body=CPS&limit=500" |
  python3 -c 'import json, sys; print("\n".join(i["id"] for i in json.load(sys.stdin)["items"]))' \
    >"$work/ids.txt"
[ -s "$work/ids.txt" ] || die "no open CPS recommendation to write to"

writes() {  # -> writes per second over BENCH_SECONDS at 8 connections
  wrk -t2 -c8 -d"${seconds}s" --timeout 10s --latency -H "Authorization: Bearer $lead" \
    -s "$here/post_event.lua" "$base" -- "$work/ids.txt" >"$work/wrk.txt" || die "wrk failed"
  parse_wrk "$work/wrk.txt" | cut -d' ' -f1
}

open_streams() {  # N: streams from now on, each reading (and discarding) every frame
  for _ in $(seq "$1"); do
    curl -sSN -H "Authorization: Bearer $reader" "$base/api/v1/stream" >/dev/null 2>&1 &
    readers+=($!)
  done
  sleep 1
}

say "Writes with no stream (${seconds}s)"
none="$(writes)"
open_streams 10
say "Writes with 10 streams (${seconds}s)"
ten="$(writes)"
open_streams 50
say "Writes with 60 streams (${seconds}s)"
sixty="$(writes)"
kill -0 "$serve_pid" 2>/dev/null || die "serve died: $(tail -n 20 "$work/serve.err")"

echo "| log | streams | writes/s | against none |"
echo "|---:|---:|---:|---:|"
echo "| $events events | 0 | $none | 1.00 |"
echo "| | 10 | $ten | $(ratio "$ten" "$none") |"
echo "| | 60 | $sixty | $(ratio "$sixty" "$none") |"
