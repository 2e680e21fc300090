# Shell helpers shared by bench/run.sh and bench/web.sh (sourced, not run).

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wrk output -> "requests_per_s p50_ms p99_ms requests errors" (errors: non-2xx/3xx + socket)
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
