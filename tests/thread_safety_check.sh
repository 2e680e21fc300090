#!/usr/bin/env bash
# Clang's thread-safety analysis (-Wthread-safety) over every source file that uses the
# annotated locks of common/mutex.h, directly or through a header: a lock rule broken (a
# GUARDED_BY member touched without its mutex, a REQUIRES function called without it) fails the
# build of this test. It first checks that the analysis is on at all: a file that breaks a rule
# on purpose (tests/data/thread_safety_probe.cpp) must be refused.
#
#   tests/thread_safety_check.sh SOURCE_DIR
set -euo pipefail
root="$1"
cd "$root"

if ! command -v clang++ >/dev/null 2>&1; then
  echo "clang++ not found (Debian package clang)"
  [ "${RECTRACK_REQUIRE_TOOLS:-0}" = 1 ] && exit 1
  exit 77  # skipped
fi
flags=(-std=c++20 -fsyntax-only -Wthread-safety -Werror=thread-safety -I"$root"
  -DRECTRACK_SOURCE_DATA_DIR=\"\")

if clang++ "${flags[@]}" tests/data/thread_safety_probe.cpp 2>/dev/null; then
  echo "FAIL: the analysis let tests/data/thread_safety_probe.cpp through: it is not on"
  exit 1
fi

dirs=(common storage engine http alerts web cli)
# Headers that declare annotated members, and the sources that use them or those headers.
mapfile -t headers < <(grep -rlE 'GUARDED_BY|REQUIRES\(|EXCLUDES\(|common/mutex\.h' \
  --include='*.h' "${dirs[@]}")
pattern='GUARDED_BY|MutexLock|REQUIRES\(|EXCLUDES\('
for h in "${headers[@]}"; do pattern+="|#include \"${h//./\\.}\""; done
mapfile -t sources < <(grep -rlE "$pattern" --include='*.cpp' "${dirs[@]}" | sort)
[ ${#sources[@]} -gt 0 ] || { echo "FAIL: no source uses the annotated locks"; exit 1; }

# Two at a time (the machine has two cores); each prints its own verdict.
export RT_FLAGS="${flags[*]}"
failed=0
printf '%s\n' "${sources[@]}" | xargs -P 2 -I{} bash -c \
  'out=$(clang++ $RT_FLAGS "{}" 2>&1) && echo "ok: {}" || { echo "FAIL: {}"; echo "$out"; exit 1; }' \
  || failed=1
echo "thread-safety analysis: ${#sources[@]} files checked"
exit "$failed"
