# Shell helpers shared by the bench scripts (sourced, not run).

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wrk output -> "requests_per_s p50_ms p99_ms requests errors" (errors: non-2xx/3xx + socket)
median_run() {  # lines that begin with requests per second, on stdin -> the line with the median
  sort -n -k1,1 | awk '{ line[NR] = $0 } END { print line[int((NR + 1) / 2)] }'
}

parse_wrk() {
  awk '
    function ms(v) {
      if (v ~ /us$/) { sub(/us$/, "", v); return v / 1000 }
      if (v ~ /ms$/) { sub(/ms$/, "", v); return v + 0 }
      if (v ~ /m$/)  { sub(/m$/, "", v);  return v * 60000 }
      if (v ~ /s$/)  { sub(/s$/, "", v);  return v * 1000 }
      return v + 0
    }
    /^ *50% / { p50 = ms($2) }
    /^ *99% / { p99 = ms($2) }
    / requests in / { total = $1 }
    /Socket errors:/ { gsub(/,/, ""); errors += $4 + $6 + $8 + $10 }
    /Non-2xx or 3xx responses:/ { errors += $5 }
    /^Requests\/sec:/ { rps = $2 }
    END {
      if (rps == "") exit 1
      printf "%.1f %.2f %.2f %d %d\n", rps, p50, p99, total, errors
    }' "$1"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'; }

# serve raises the alerts that fell due across the generated history when it starts (each one a
# new generation of the GET cache): waits until the count in DB stops changing, up to 2 minutes,
# and prints it.
wait_for_start_alerts() {  # db
  local previous=-1 now
  for _ in $(seq 120); do
    now="$(python3 -c 'import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True, timeout=10)
print(db.execute("SELECT count(*) FROM alerts").fetchone()[0])' "$1")"
    [ "$now" = "$previous" ] && break
    previous="$now"
    sleep 1
  done
  echo "$previous"
}

# Starts nginx (2 workers, no access log, keep-alive without limit) serving ROOT on a free port
# of 127.0.0.1, with DEFAULT_TYPE and any extra server-block lines; its files go in DIR. Prints
# "PID PORT" once it answers PROBE_PATH.
start_static_nginx() {  # nginx_binary dir root default_type probe_path [server lines]
  local nginx="$1" dir="$2" root="$3" type="$4" probe="$5" extra="${6:-}" port user=""
  port="$(free_port)"
  mkdir -p "$dir/tmp"
  [ "$(id -u)" -eq 0 ] && user="user $(id -un) $(id -gn);"
  cat >"$dir/nginx.conf" <<CONF
$user
daemon off;
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  types { }
  default_type $type;
  sendfile on;
  keepalive_requests 1000000;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  server {
    listen 127.0.0.1:$port;
    root $root;
    $extra
  }
}
CONF
  "$nginx" -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port$probe" 2>/dev/null && break
    sleep 0.1
  done
  echo "$pid $port"
}

# The preamble of a script that measures the binary against nginx on 127.0.0.1 (web.sh,
# small.sh): checks RECTRACK (default build/cli/rectrack), BENCH_SECONDS (default DEFAULT) and
# the tools, clears RECTRACK_* settings so they cannot change what is measured, makes the
# temporary directory $work, and on exit stops every pid in $pids and removes $work (kept with
# BENCH_KEEP=1). Sets rectrack, seconds, nginx, work and pids.
bench_start() {  # script_name default_seconds
  local name="$1" tool var
  seconds="${BENCH_SECONDS:-$2}"
  rectrack="${RECTRACK:-$root/build/cli/rectrack}"
  [[ "$seconds" =~ ^[1-9][0-9]{0,2}$ ]] || { echo "BENCH_SECONDS must be 1-999" >&2; exit 1; }
  [ -x "$rectrack" ] || { echo "no rectrack binary at $rectrack (make build)" >&2; exit 1; }
  nginx="$(command -v nginx || echo /usr/sbin/nginx)"
  for tool in wrk curl python3 "$nginx"; do
    command -v "$tool" >/dev/null 2>&1 ||
      { echo "bench/$name needs $tool (bench/run.sh installs it)" >&2; exit 1; }
  done
  for var in $(compgen -e); do case "$var" in RECTRACK_*) unset "$var" ;; esac; done
  work="$(mktemp -d "${TMPDIR:-/tmp}/rectrack-$name.XXXXXX")"
  pids=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  local status=$? pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "${BENCH_KEEP:-}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
  exit "$status"
}
