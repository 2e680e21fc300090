#!/usr/bin/env bash
# How rectrack's costs grow with the log (issue 17): builds a database of SCALE_RECOMMENDATIONS
# synthetic recommendations (default 100,000; bench/generate.py) and prints, as a Markdown table,
# each command's wall time and peak memory as a whole process beside a plain sqlite3 SELECT over
# the same rows, measured in the same run. Never builds; writes nothing into the repository.
#
#   make build && bench/scale.sh                 # 100,000 recommendations, about 2 minutes
#   SCALE_RECOMMENDATIONS=20000 bench/scale.sh   # smaller
#
# Above SCALE_CHUNK recommendations (default 100,000) the file is imported in chunks of that many,
# one import each (one import of a million would need about 25 GB); the import row is the first
# chunk's, into an empty database.
#
# Variables: RECTRACK (binary, default build/cli/rectrack), SCALE_RECOMMENDATIONS, SCALE_CHUNK,
# SCALE_INSPECTIONS (default recommendations / 100), SCALE_REPEAT (runs per figure, median
# reported; default 5), BENCH_KEEP=1 (keep the temporary directory).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
rectrack="${RECTRACK:-$here/../build/cli/rectrack}"
recommendations="${SCALE_RECOMMENDATIONS:-100000}"
inspections="${SCALE_INSPECTIONS:-$((recommendations / 100 > 0 ? recommendations / 100 : 1))}"
repeat="${SCALE_REPEAT:-5}"
say() { echo "== $*" >&2; }
die() { echo "bench/scale.sh: $*" >&2; exit 1; }
[ -x "$rectrack" ] || die "no rectrack binary at $rectrack: run \`make build\` first"
for tool in sqlite3 curl python3; do
  command -v "$tool" >/dev/null || die "needs $tool (apt-get install sqlite3 curl python3)"
done
[ -x /usr/bin/time ] || die "needs GNU time (apt-get install time)"

work="$(mktemp -d /tmp/rectrack-scale.XXXXXX)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  if [ "${BENCH_KEEP:-0}" = 1 ]; then say "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
db="$work/scale.db"
# Every run of rectrack uses the same fixed clock, so the answers do not move with the date.
rt=("$rectrack" --db "$db" --clock 2026-07-01)

# Runs a command SCALE_REPEAT times; prints "median_ms peak_rss_kb" (the largest peak seen).
# Wall time from the shell's clock in nanoseconds (GNU time's is in hundredths of a second).
measure() {
  local times=() rss=0 start kb
  for _ in $(seq "$repeat"); do
    start="$(date +%s%N)"
    /usr/bin/time -o "$work/time" -f '%M' "$@" >/dev/null 2>"$work/err" ||
      die "failed: $* ($(tail -n 3 "$work/err"))"
    times+=("$(( ($(date +%s%N) - start) / 100000 ))")  # tenths of a millisecond
    kb="$(cat "$work/time")"
    [ "$kb" -gt "$rss" ] && rss="$kb"
  done
  printf '%s\n' "${times[@]}" | sort -n |
    awk -v rss="$rss" '{ a[NR] = $1 } END { printf "%.1f %d\n", a[int((NR + 1) / 2)] / 10, rss }'
}

say "Generating $recommendations recommendations over $inspections inspections"
python3 "$here/generate.py" --recommendations "$recommendations" --inspections "$inspections" \
  "$work/data.yaml" >&2
chunk="${SCALE_CHUNK:-100000}"
if [ "$recommendations" -le "$chunk" ]; then
  chunks=("$work/data.yaml")
else
  # generate.py writes bodies:, inspections:, recommendations: (each "  - id: ..." and its
  # indented lines), then events: ("  - {rec: ID, ...}" one per line): cut it by recommendation.
  python3 - "$work/data.yaml" "$chunk" <<'SPLIT'
import sys
path, size = sys.argv[1], int(sys.argv[2])
head, recs, events, section = [], [], {}, None
for line in open(path, encoding="utf-8"):
    if not line.startswith(" "):
        section = line.strip()
        if section not in ("recommendations:", "events:"):
            head.append(line)
        continue
    if section == "recommendations:":
        if line.startswith("  - id: "):
            recs.append([line.split()[2], [line]])
        else:
            recs[-1][1].append(line)
    elif section == "events:":
        events.setdefault(line.split("rec: ", 1)[1].split(",", 1)[0], []).append(line)
    else:
        head.append(line)
for n, start in enumerate(range(0, len(recs), size)):
    with open(f"{path}.{n:03d}", "w", encoding="utf-8") as out:
        out.writelines(head if n == 0 else [])
        out.write("recommendations:\n")
        for rec_id, lines in recs[start:start + size]:
            out.writelines(lines)
        out.write("events:\n")
        for rec_id, lines in recs[start:start + size]:
            out.writelines(events.get(rec_id, []))
SPLIT
  chunks=("$work"/data.yaml.[0-9][0-9][0-9])
fi
say "Importing ${#chunks[@]} file(s), each all or nothing in one transaction"
read -r import_ms import_kb <<<"$(repeat=1 measure "$rectrack" --db "$db" import "${chunks[0]}")"
for file in "${chunks[@]:1}"; do
  say "  ... $file"
  "$rectrack" --db "$db" import "$file" >/dev/null 2>"$work/import.err" ||
    die "import of $file failed: $(tail -n 3 "$work/import.err")"
done
events="$(sqlite3 "$db" 'SELECT count(*) FROM events')"
db_mb="$(du -m "$db" | cut -f1)"

# The recommendation with the newest creation, and one with a long history.
newest="$(sqlite3 "$db" 'SELECT subject_id FROM events WHERE kind = 3 ORDER BY seq DESC LIMIT 1')"
newest_seq="$(sqlite3 "$db" "SELECT seq FROM events WHERE kind = 3 ORDER BY seq DESC LIMIT 1")"
busy="$(sqlite3 "$db" 'SELECT subject_id FROM events WHERE kind = 3 GROUP BY subject_id ORDER BY count(*) DESC, subject_id LIMIT 1')"

rows=()
add_row() {  # what, rectrack "ms kb", baseline label, baseline "ms kb"
  local r_ms r_kb b_ms
  read -r r_ms r_kb <<<"$2"
  read -r b_ms _ <<<"$4"
  rows+=("| $1 | $r_ms | $((r_kb / 1024)) | $3 | $b_ms | $(ratio "$r_ms" "$b_ms") |")
}

say "show (one recommendation) against one row by primary key"
one_row="$(measure sqlite3 "$db" "SELECT * FROM events WHERE seq = $newest_seq")"
add_row "\`show $newest\`" "$(measure "${rt[@]}" show "$newest")" "one row by seq" "$one_row"
add_row "\`show $busy\` (longest history)" "$(measure "${rt[@]}" show "$busy")" "one row by seq" "$one_row"

say "record (one event, durable) against one durable single-row INSERT"
sqlite3 "$work/scratch.db" 'PRAGMA journal_mode = WAL; CREATE TABLE t (x TEXT)' >/dev/null
one_insert="$(measure sqlite3 "$work/scratch.db" \
  "PRAGMA synchronous = FULL; BEGIN IMMEDIATE; INSERT INTO t VALUES ('bench'); COMMIT")"
add_row "\`record $newest update --note bench\`" \
  "$(measure "${rt[@]}" record "$newest" update --note bench)" "one durable INSERT" "$one_insert"

say "a list of 100, from the item heads, against a SELECT of 100 rows"
hundred_rows="$(measure sqlite3 "$db" 'SELECT subject_id, payload FROM events WHERE kind = 3 LIMIT 100')"
add_row "\`list --open --body CPS --limit 100 --format json\`" \
  "$(measure "${rt[@]}" list --open --body CPS --limit 100 --format json)" "100 rows" "$hundred_rows"

say "whole-log commands against a SELECT of every recommendation's events"
all_rows="$(measure sqlite3 "$db" 'SELECT subject_id, payload FROM events WHERE kind IN (3, 4)')"
add_row "\`list --open --body CPS --format json\`" \
  "$(measure "${rt[@]}" list --open --body CPS --format json)" "every item event" "$all_rows"
add_row "\`report annex --body CPS --as-of 2025-03-31\`" \
  "$(measure "${rt[@]}" report annex --body CPS --as-of 2025-03-31)" "every item event" "$all_rows"

say "serve: until /healthz and a first list answer, then its resident memory"
token="$("${rt[@]}" token create --role inspectorate --label scale | head -n 1)"
port="$(free_port)"
start_ns="$(date +%s%N)"
RECTRACK_RATE_PER_MINUTE=0 "$rectrack" --db "$db" serve --listen "127.0.0.1:$port" \
  >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
for _ in $(seq 1200); do
  curl -fsS --max-time 1 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || die "serve exited: $(tail -n 5 "$work/serve.err")"
  sleep 0.05
done
curl -fsS --max-time 900 -H "Authorization: Bearer $token" \
  "http://127.0.0.1:$port/api/v1/recommendations?limit=100" >/dev/null ||
  die "serve did not answer the first list"
listed_ms="$(( ($(date +%s%N) - start_ns) / 1000000 ))"
# It answers lists from the item heads while it reads the log; /readyz is 200 once it has, and
# it answers everything.
for _ in $(seq 6000); do
  curl -fsS --max-time 1 "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || die "serve exited: $(tail -n 5 "$work/serve.err")"
  sleep 0.05
done
ready_ms="$(( ($(date +%s%N) - start_ns) / 1000000 ))"
# Steady state: the histories the start read are let go in turns once it answers
# (rectrack_histories_to_let_go falls to 0), then malloc hands the pages back.
for _ in $(seq 1200); do
  left="$(curl -fsS --max-time 5 -H "Authorization: Bearer $token" "http://127.0.0.1:$port/metrics" |
    awk '/^rectrack_histories_to_let_go / { print $2 }')"
  [ "${left:-1}" = 0 ] && break
  sleep 0.1
done
settled_ms="$(( ($(date +%s%N) - start_ns) / 1000000 ))"
sleep 1
serve_kb="$(awk '/^VmRSS/ { print $2 }' "/proc/$server_pid/status")"
kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
server_pid=""
rows+=("| \`serve\` until \`/healthz\` and a first list of 100 answer | $listed_ms | $((serve_kb / 1024)) | every item event | ${all_rows%% *} | $(ratio "$listed_ms" "${all_rows%% *}") |")
rows+=("| \`serve\` until \`/readyz\` (the log read: everything answered) | $ready_ms | | every item event | ${all_rows%% *} | $(ratio "$ready_ms" "${all_rows%% *}") |")
rows+=("| \`import\` of $(grep -c '^  - id: ' "${chunks[0]}") recommendations into an empty database | $import_ms | $((import_kb / 1024)) | | | |")

cat <<TABLE
$recommendations recommendations, $events events, a $db_mb MB database ($(date -u +%Y-%m-%dT%H:%MZ), median of $repeat runs as whole processes)

| what | rectrack ms | peak MB | baseline (sqlite3) | baseline ms | ratio |
|---|---:|---:|---|---:|---:|
$(printf '%s\n' "${rows[@]}")

serve resident: $((serve_kb * 1024 / recommendations)) bytes per recommendation, once every history its start read was let go (after $settled_ms ms).
TABLE
