#!/usr/bin/env bash
# rectrack alert scheduler benchmark: memory per pending alert, start-up (against a plain SELECT
# of the same rows), idle CPU, and due-to-commit delay, at 1,000,000 pending milestones by
# default. Builds bench/alerts_bench (Release) and runs it; about 3 minutes with the defaults
# (half of it generating the data), 4 GB of memory and 1.4 GB of disk in $TMPDIR.
#
#   bench/alerts.sh                      # N = 1,000,000
#   bench/alerts.sh --n 100000           # a quicker run; any alerts_bench flag passes through
#   bench/alerts.sh --dir /tmp/ab        # keep the generated database there and reuse it
#
# Environment:
#   BENCH_BUILD_DIR  where to build (default build-bench under the repository root)
#   JOBS             parallel compile jobs (default 2)
#
# The table goes to stdout, progress to stderr. See bench/README.md for how to read it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
build="${BENCH_BUILD_DIR:-$root/build-bench}"

say() { echo "== $*" >&2; }
die() {
  echo "bench/alerts.sh: $*" >&2
  exit 1
}

launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

if grep -Eq '^[[:space:]]*add_subdirectory\(bench\)' "$root/CMakeLists.txt"; then
  source_dir="$root"
  binary="$build/bench/alerts_bench"
  binary_dir="$build"
else
  # The top level does not add bench/ (yet): build it beside the repository from a small
  # project in the build directory, which adds both.
  mkdir -p "$build/harness"
  cat >"$build/harness/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.25)
project(rectrack_bench LANGUAGES CXX)
add_subdirectory("$root" rectrack)
add_subdirectory("$root/bench" bench)
EOF
  source_dir="$build/harness"
  binary_dir="$build/out"
  binary="$binary_dir/bench/alerts_bench"
fi

say "Building alerts_bench (Release) in $binary_dir"
cmake -S "$source_dir" -B "$binary_dir" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
  "${launcher[@]}" >/dev/null || die "cmake configure failed"
cmake --build "$binary_dir" -j"${JOBS:-2}" --target alerts_bench >&2 || die "build failed"
[ -x "$binary" ] || die "no binary at $binary"

exec "$binary" "$@"
