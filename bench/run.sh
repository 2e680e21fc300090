#!/usr/bin/env bash
# rectrack benchmark (issue 3, item 6): reads against nginx serving the same bytes, durable writes
# against a plain loop of single-row SQLite commits. Everything on 127.0.0.1, about three minutes.
#
#   make build && bench/run.sh
#
# Environment:
#   RECTRACK       the binary (default build/cli/rectrack under the repository root)
#   BENCH_SECONDS  length of each wrk run and of the SQLite loop (default 10)
#   BENCH_BODY     the body whose open list is read and whose lead writes (default CPS)
#   BENCH_KEEP=1   keep the temporary directory (database, wrk output, nginx.conf) for a look
#
# Installs wrk, nginx-light (or nginx), python3 and curl with apt-get when missing, never starting
# nginx as a system service. Builds nothing, writes nothing into the repository: the table goes
# to stdout. See bench/README.md for how to read it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
seconds="${BENCH_SECONDS:-10}"
body="${BENCH_BODY:-CPS}"
rectrack="${RECTRACK:-$root/build/cli/rectrack}"
# A relative path is taken from the current directory when it names a file there, else from the
# repository root.
case "$rectrack" in
  /*) ;;
  *) if [ -e "$rectrack" ]; then rectrack="$PWD/$rectrack"; else rectrack="$root/$rectrack"; fi ;;
esac

say() { echo "== $*" >&2; }
die() {
  echo "bench/run.sh: $*" >&2
  exit 1
}

[[ "$seconds" =~ ^[1-9][0-9]{0,2}$ ]] || die "BENCH_SECONDS must be a whole number of seconds (1-999)"
if [ ! -x "$rectrack" ]; then
  die "no rectrack binary at $rectrack. Run 'make build' first (or set RECTRACK=/path/to/rectrack)."
fi

# --- Packages: only what is missing, and nginx never started as a service ----------------------
find_nginx() { command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true; }
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ -z "$(find_nginx)" ]; then
  if apt-cache show nginx-light >/dev/null 2>&1; then missing+=(nginx-light); else missing+=(nginx); fi
fi
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  say "Installing missing packages: ${missing[*]}"
  # Debian starts nginx on 0.0.0.0:80 when the package is installed; a policy-rc.d that says
  # "no" (exit 101) stops that. Add one only for the install, and only if there is none.
  policy_added=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod 755 /usr/sbin/policy-rc.d
    policy_added=1
  fi
  install_status=0
  { $sudo apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"; } ||
    install_status=$?
  [ -n "$policy_added" ] && $sudo rm -f /usr/sbin/policy-rc.d
  [ "$install_status" -eq 0 ] || die "apt-get install ${missing[*]} failed"
  # The package also enables nginx.service (port 80 on every address) for the next boot; the
  # benchmark needs only the binary, so switch off the service it just installed.
  if [[ " ${missing[*]} " == *" nginx"* ]] && command -v systemctl >/dev/null 2>&1; then
    $sudo systemctl disable --quiet nginx >/dev/null 2>&1 || true
  fi
fi
nginx="$(find_nginx)"
[ -n "$nginx" ] || die "nginx is not installed"

# Settings from the caller's environment must not change what is measured.
for var in $(compgen -e); do
  case "$var" in RECTRACK_*) unset "$var" ;; esac
done

# --- Temporary directory, processes, cleanup -------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/rectrack-bench.XXXXXX")"
rectrack_pid=""
nginx_pid=""
stopped_status=""
stop_pid() {  # pid, name: TERM, wait up to 15 s, then KILL; the exit status in $stopped_status
  local pid="$1" i
  stopped_status=""
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "bench/run.sh: $2 (pid $pid) did not stop within 15 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  stopped_status=0
  wait "$pid" 2>/dev/null || stopped_status=$?
}
cleanup() {
  local status=$?
  set +e
  [ -n "$nginx_pid" ] && stop_pid "$nginx_pid" nginx
  [ -n "$rectrack_pid" ] && stop_pid "$rectrack_pid" rectrack
  if [ "${BENCH_KEEP:-}" = 1 ]; then
    echo "bench/run.sh: kept $work" >&2
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

count_events() {  # rows in the events table, read-only (WAL allows it while rectrack runs)
  python3 -c 'import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True, timeout=10)
print(db.execute("SELECT count(*) FROM events").fetchone()[0])' "$1"
}
at_least() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "n/a" && a + 0 >= b + 0) }'; }
int() { awk -v a="$1" 'BEGIN { printf "%d", a + 0.5 }'; }

load_start="$(cut -d' ' -f1-3 /proc/loadavg)"

# Others may rebuild the binary while this runs: take a copy, so that one binary is measured and
# `verify` at the end does not find a half-written file. It still finds its bundled data where the
# original would (rectrack looks next to the executable, in ../share/rectrack, before the
# source tree it was built from).
mkdir -p "$work/bin"
cp "$rectrack" "$work/bin/rectrack"
rectrack_built="$(date -u -r "$rectrack" +%Y-%m-%dT%H:%MZ)"
if [ -d "$(dirname "$rectrack")/../share/rectrack" ]; then
  RECTRACK_DATA_DIR="$(cd "$(dirname "$rectrack")/../share/rectrack" && pwd)"
  export RECTRACK_DATA_DIR
fi
rectrack_given="$rectrack"
rectrack="$work/bin/rectrack"

# --- a. Data, import, tokens -----------------------------------------------------------------
db="$work/bench.db"
say "Generating 10,000 synthetic recommendations"
python3 "$here/generate.py" --seed 1 "$work/data.yaml" >&2
say "Importing into $db"
timeout 300 "$rectrack" --db "$db" import "$work/data.yaml" >&2 || die "import failed"
events_loaded="$(count_events "$db")"
inspectorate_out="$(timeout 30 "$rectrack" --db "$db" token create --role inspectorate --label bench)"
lead_out="$(timeout 30 "$rectrack" --db "$db" token create --role body_lead --body "$body" --label bench)"
inspectorate_token="${inspectorate_out%%$'\n'*}"
lead_token="${lead_out%%$'\n'*}"
if [ -z "$inspectorate_token" ] || [ -z "$lead_token" ]; then die "token create printed no token"; fi

# --- b. rectrack serve -----------------------------------------------------------------------
say "Starting rectrack serve (RECTRACK_RATE_PER_MINUTE=0, RECTRACK_THREADS=2)"
RECTRACK_RATE_PER_MINUTE=0 RECTRACK_RATE_BYTES_PER_MINUTE=0 RECTRACK_THREADS=2 \
  "$rectrack" --db "$db" serve --listen 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve.err" &
rectrack_pid=$!
port=""
for _ in $(seq 600); do  # up to 60 s: the server replays the whole log at start
  port="$(sed -n 's#.* on http://127\.0\.0\.1:\([0-9][0-9]*\).*#\1#p' "$work/serve.out" | head -n 1)"
  [ -n "$port" ] && break
  kill -0 "$rectrack_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$port" ]; then
  cat "$work/serve.err" >&2
  die "rectrack serve did not start listening within 60 s"
fi
base="http://127.0.0.1:$port"
curl -fsS --max-time 10 "$base/healthz" >/dev/null || die "rectrack does not answer $base/healthz"

# --- c. Reads against nginx ------------------------------------------------------------------
path="/api/v1/recommendations?open=true&body=$body&limit=1000"
mkdir -p "$work/www/api/v1" "$work/nginx/tmp"
list="$work/www/api/v1/recommendations"
say "Fetching GET $path once"
status="$(curl -sS --max-time 60 -o "$list" -D "$work/read.headers" -w '%{http_code}' \
  -H "Authorization: Bearer $inspectorate_token" "$base$path")"
[ "$status" = 200 ] || die "GET $path answered $status: $(head -c 500 "$list")"
content_type="$(sed -n 's/^[Cc]ontent-[Tt]ype: *\([^\r]*\).*/\1/p' "$work/read.headers" | head -n 1)"
[ "$content_type" = application/json ] || die "GET $path has Content-Type '$content_type', expected application/json"
read -r items next_cursor < <(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
ids = [item["id"] for item in d["items"]]
open(sys.argv[2], "w").write("\n".join(ids) + "\n")
print(len(ids), d["next_cursor"] is not None)' "$list" "$work/ids.txt")
list_bytes="$(stat -c %s "$list")"
[ "$items" -gt 0 ] || die "the open list of $body is empty"

nginx_port="$(free_port)"
nginx_user=""
[ "$(id -u)" -eq 0 ] && nginx_user="user $(id -un) $(id -gn);"
cat >"$work/nginx/nginx.conf" <<EOF
# Generated by bench/run.sh: serves the saved rectrack response as a static file.
$nginx_user
daemon off;
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  types { }
  default_type application/json;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  client_body_temp_path $work/nginx/tmp/body;
  proxy_temp_path $work/nginx/tmp/proxy;
  server {
    listen 127.0.0.1:$nginx_port;
    root $work/www;
    location / { try_files \$uri =404; }
  }
}
EOF
say "Starting nginx on 127.0.0.1:$nginx_port"
"$nginx" -p "$work/nginx" -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf" \
  >"$work/nginx/stdout" 2>&1 &
nginx_pid=$!
nginx_base="http://127.0.0.1:$nginx_port"
for _ in $(seq 100); do
  curl -fsS --max-time 2 -o "$work/nginx-copy" "$nginx_base$path" 2>/dev/null && break
  kill -0 "$nginx_pid" 2>/dev/null || break
  sleep 0.1
done
if ! cmp -s "$list" "$work/nginx-copy"; then
  cat "$work/nginx/stdout" "$work/nginx/error.log" >&2 2>/dev/null || true
  die "nginx on $nginx_base does not serve the same bytes as rectrack"
fi
nginx_type="$(curl -sS --max-time 5 -o /dev/null -w '%{content_type}' "$nginx_base$path")"
[ "$nginx_type" = application/json ] || die "nginx answers Content-Type '$nginx_type'"

auth=(-H "Authorization: Bearer $inspectorate_token")
# wrk shares the two cores with the server it measures, and one run of either server moves by
# as much as a half from the next (by where the threads land): the servers take turns, and
# each one's median run is compared.
read_rounds=3
: >"$work/read-rectrack.runs"
: >"$work/read-nginx.runs"
for round in $(seq "$read_rounds"); do
  for server in rectrack nginx; do
    url="$base$path"
    [ "$server" = nginx ] && url="$nginx_base$path"
    out="$work/wrk-read-$server-$round.txt"
    say "wrk reads: $server, run $round of $read_rounds (${seconds}s)"
    timeout $((seconds + 60)) wrk -t2 -c16 -d"${seconds}s" --timeout 10s --latency "${auth[@]}" \
      "$url" >"$out" || die "wrk against $server failed"
    parse_wrk "$out" >>"$work/read-$server.runs" || die "cannot read $out"
  done
done
read -r r_rps r_p50 r_p99 r_total _ < <(median_run <"$work/read-rectrack.runs")
read -r n_rps n_p50 n_p99 n_total _ < <(median_run <"$work/read-nginx.runs")
r_runs="$(awk '{ printf "%s%d", (NR > 1 ? ", " : ""), $1 + 0.5 }' "$work/read-rectrack.runs")"
n_runs="$(awk '{ printf "%s%d", (NR > 1 ? ", " : ""), $1 + 0.5 }' "$work/read-nginx.runs")"
stop_pid "$nginx_pid" nginx
nginx_pid=""

# --- d. Durable writes against a plain SQLite commit loop ------------------------------------
# The disk's fsync rate drifts (other work on the machine can change it many times over within
# a minute), so the baseline runs before and after every write run and each ratio uses the mean
# of the two runs that bracket it.
baseline_run() {  # fresh db file -> commits per second
  local out
  out="$(timeout $((seconds + 60)) python3 "$here/sqlite_loop.py" --seconds "$seconds" "$1")" ||
    die "sqlite_loop.py failed"
  out="$(sed -n 's/.*commits_per_second=\([0-9.]*\).*/\1/p' <<<"$out")"
  [ -n "$out" ] || die "sqlite_loop.py printed nothing usable"
  echo "$out"
}

lead_auth=(-H "Authorization: Bearer $lead_token")
probe_id="$(head -n 1 "$work/ids.txt")"
status="$(curl -sS --max-time 30 -o "$work/probe.json" -w '%{http_code}' -X POST "${lead_auth[@]}" \
  -H 'Content-Type: application/json' --data '{"do":"update","note":"bench"}' \
  "$base/api/v1/recommendations/$probe_id/events")"
[ "$status" = 201 ] || die "POST .../$probe_id/events answered $status: $(head -c 500 "$work/probe.json")"

declare -A w_rps w_p50 w_p99 w_total w_err w_appended
baseline=()  # baseline[i] before the i-th write run, baseline[i+1] after it
say "SQLite baseline: single-row commits, WAL, synchronous=FULL (${seconds}s)"
baseline+=("$(baseline_run "$work/loop-0.db")")
for connections in 1 16 64; do
  threads=2
  [ "$connections" -lt 2 ] && threads=1
  say "wrk writes: $connections connection(s) (${seconds}s)"
  before="$(count_events "$db")"
  timeout $((seconds + 60)) wrk -t"$threads" -c"$connections" -d"${seconds}s" --timeout 10s --latency \
    "${lead_auth[@]}" -s "$here/post_event.lua" "$base" -- "$work/ids.txt" \
    >"$work/wrk-write-$connections.txt" || die "wrk writes at $connections connections failed"
  sleep 0.5 # let requests in flight when wrk stopped finish
  after="$(count_events "$db")"
  read -r w_rps[$connections] w_p50[$connections] w_p99[$connections] w_total[$connections] \
    w_err[$connections] < <(parse_wrk "$work/wrk-write-$connections.txt") ||
    die "cannot read $work/wrk-write-$connections.txt"
  w_appended[$connections]=$((after - before))
  say "SQLite baseline: single-row commits, WAL, synchronous=FULL (${seconds}s)"
  baseline+=("$(baseline_run "$work/loop-${#baseline[@]}.db")")
done
kill -0 "$rectrack_pid" 2>/dev/null || die "rectrack serve died during the benchmark: $(tail -n 20 "$work/serve.err")"
stop_started="$(date +%s.%N)"
stop_pid "$rectrack_pid" rectrack
rectrack_pid=""
stop_seconds="$(awk -v a="$stop_started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
stop_note="exited with status $stopped_status, $stop_seconds s after SIGTERM"
[ "$stopped_status" = 0 ] || stop_note="$stop_note (**not 0**; stderr: $(tail -n 3 "$work/serve.err" | tr '\n' ' '))"
verify="$(timeout 120 "$rectrack" --db "$db" verify 2>&1 | head -n 1)" || true

# --- e. The table ----------------------------------------------------------------------------
met() { if at_least "$1" "$2"; then echo "**yes**"; else echo "**no**"; fi; }
read_ratio="$(ratio "$r_rps" "$n_rps")"
version="$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)"
rectrack_rel="${rectrack_given#"$root"/}"
{
  echo "## rectrack benchmark, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "One run on $(nproc) CPU(s) ($(uname -m), $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || echo unknown CPU)), load average $load_start at the start;"
  echo "rectrack binary $rectrack_rel built $rectrack_built (tree $version), wrk $(wrk -v 2>&1 | awk 'NR == 1 {sub(/^debian\//, "", $2); print $2}'), $("$nginx" -v 2>&1 | sed 's#.*: ##'), SQLite $(python3 -c 'import sqlite3; print(sqlite3.sqlite_version)') (baseline). Data: 10,000 recommendations, 5 bodies,"
  echo "100 inspections, $events_loaded events; the read returns $items open recommendations of $body ($list_bytes bytes$([ "$next_cursor" = True ] && echo ', first page of more')). Each run ${seconds} s."
  echo
  echo "**Reads**: \`GET $path\`, \`wrk -t2 -c16 -d${seconds}s --latency\`, $read_rounds runs of each server taking turns;"
  echo "each row is the server's median run (errors: in all its runs)."
  echo
  echo "| server | requests/s | each run | p50 | p99 | requests | errors |"
  echo "|---|---:|---|---:|---:|---:|---:|"
  echo "| rectrack (2 threads) | $(int "$r_rps") | $r_runs | $r_p50 ms | $r_p99 ms | $r_total | $(awk '{ n += $5 } END { print n + 0 }' "$work/read-rectrack.runs") |"
  echo "| nginx, same bytes from a file (2 workers) | $(int "$n_rps") | $n_runs | $n_p50 ms | $n_p99 ms | $n_total | $(awk '{ n += $5 } END { print n + 0 }' "$work/read-nginx.runs") |"
  echo
  echo "| ratio rectrack/nginx | target | met |"
  echo "|---:|---|---|"
  echo "| $read_ratio | ≥ 0.8 | $(met "$read_ratio" 0.8) |"
  echo
  echo "**Durable writes**: \`POST /api/v1/recommendations/{id}/events\` \`{\"do\":\"update\",\"note\":\"bench\"}\` as the $body body lead over $items recommendations,"
  echo "\`wrk -d${seconds}s --latency -s bench/post_event.lua\`. Baseline: \`bench/sqlite_loop.py\`, one single-row \`INSERT\` per commit into a fresh file,"
  echo "WAL, synchronous=FULL, ${seconds} s, run before and after every write run; the ratio is to the mean of the two."
  echo
  echo "| connections | rectrack commits/s | p50 | p99 | errors | events appended | baseline commits/s before / after | ratio | target | met |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
  i=0
  for connections in 1 16 64; do
    b0="${baseline[$i]}"
    b1="${baseline[$((i + 1))]}"
    i=$((i + 1))
    r="$(ratio "${w_rps[$connections]}" "$(awk -v a="$b0" -v b="$b1" 'BEGIN { print (a + b) / 2 }')")"
    target="-"
    verdict="-"
    if [ "$connections" = 64 ]; then
      target="≥ 2.0"
      verdict="$(met "$r" 2.0)"
    fi
    echo "| $connections | $(int "${w_rps[$connections]}") | ${w_p50[$connections]} ms | ${w_p99[$connections]} ms | ${w_err[$connections]} | ${w_appended[$connections]} | $(int "$b0") / $(int "$b1") | $r | $target | $verdict |"
  done
  echo
  echo "Errors are non-2xx answers plus socket errors as wrk counts them. Events appended is the growth"
  echo "of the events table during the run (wrk counts only answers it read before stopping). After"
  echo "the writes, rectrack serve $stop_note; \`rectrack verify\`: ${verify:-no output}"
  for connections in 1 16 64; do
    ok=$((w_total[$connections] - w_err[$connections]))
    if [ "${w_appended[$connections]}" -lt "$ok" ]; then
      echo
      echo "**Lost writes at $connections connections**: wrk saw $ok successful answers but the events table grew by only ${w_appended[$connections]}."
    fi
  done
  spread="$(printf '%s\n' "${baseline[@]}" | sort -n | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%d %d %.1f", lo + 0.5, hi + 0.5, (lo > 0 ? hi / lo : 0)}')"
  read -r lo hi factor <<<"$spread"
  echo
  steady="."
  if at_least "$factor" 1.5; then steady=": the disk was not steady, so read the write ratios as rough."; fi
  echo "The baseline ranged from $lo to $hi commits/s during this run (x$factor)$steady"
} | tee "$work/table.md"

# The answers clients fetch most (the default page, one recommendation, a 304, /healthz: issue
# 19) have their own script; it runs once this one's servers are stopped. BENCH_SMALL=0 skips it.
if [ "${BENCH_SMALL:-1}" = 1 ]; then
  if [ -n "$nginx_pid" ]; then stop_pid "$nginx_pid" nginx; fi
  nginx_pid=""
  echo
  BENCH_SECONDS="${BENCH_SMALL_SECONDS:-5}" "$here/small.sh"
fi
