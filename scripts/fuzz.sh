#!/usr/bin/env bash
# libFuzzer campaigns on the parsers of untrusted bytes (tests/fuzz/fuzz_*.c),
# built with clang -fsanitize=fuzzer,address,undefined in build-fuzz/.
#
# Usage: scripts/fuzz.sh build            configure and build build-fuzz/
#        scripts/fuzz.sh corpus           (re)write the seed corpus (tests/fuzz/make_seeds.c)
#        scripts/fuzz.sh list             the targets
#        scripts/fuzz.sh TARGET SECONDS   a campaign on one target (e.g. fuzz_tar 600)
#        scripts/fuzz.sh ci [SECONDS]     every target: its regression inputs once,
#                                         then SECONDS (default 20) on its corpus
# The corpus of TARGET lives in build-fuzz/corpus/TARGET (seeds plus what the
# campaigns add); a crash is written to build-fuzz/crashes/TARGET/ and fails
# the run. tests/fuzz/regressions/TARGET/ holds the inputs of fixed bugs: each
# must run clean. Environment: FUZZ_JOBS (parallel jobs of a campaign, default
# 1), FUZZ_BUILD (the build directory, default build-fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${FUZZ_BUILD:-build-fuzz}
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:print_stacktrace=1"
export OMP_NUM_THREADS=1
# most bytes one input may have, per target (default 64 KiB)
max_len() { case "$1" in fuzz_model) echo 262144 ;; *) echo 65536 ;; esac; }

build() {
  if ! command -v clang >/dev/null; then
    echo "fuzz.sh: clang is needed (scripts/deps.sh test installs it)" >&2
    exit 1
  fi
  local flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
  flags+=" -fno-omit-frame-pointer -g"
  cmake -S . -B "$B" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DNNLAB_FUZZ=ON -DNNLAB_NATIVE=OFF -DCMAKE_C_FLAGS="$flags" >/dev/null
  local targets=(make_seeds)
  for f in tests/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
  cmake --build "$B" -j"$(nproc)" --target "${targets[@]}" >/dev/null
}

list() { for f in tests/fuzz/fuzz_*.c; do basename "$f" .c; done; }

corpus() {
  local seeds="$B/seeds"
  rm -rf "$seeds"
  "$B/fuzz/make_seeds" "$seeds"
  for t in $(list); do
    mkdir -p "$B/corpus/$t"
    if [ -d "$seeds/$t" ]; then cp "$seeds/$t"/* "$B/corpus/$t/"; fi
    if [ -d "tests/fuzz/regressions/$t" ]; then cp "tests/fuzz/regressions/$t"/* "$B/corpus/$t/"; fi
  done
}

# run TARGET SECONDS: regression inputs first (each once), then the campaign.
run() {
  local t="$1" secs="$2" bin="$B/fuzz/$1"
  [ -x "$bin" ] || { echo "fuzz.sh: no target $t (scripts/fuzz.sh list)" >&2; exit 2; }
  local tmp="$B/tmp/$t" crashes="$B/crashes/$t"
  rm -rf "$tmp"
  mkdir -p "$tmp" "$crashes" "$B/corpus/$t"
  local common=(-max_len="$(max_len "$t")" -rss_limit_mb=3072 -malloc_limit_mb=3072 -timeout=30
    -artifact_prefix="$crashes/" ${FUZZ_SEED:+-seed=$FUZZ_SEED})
  if [ -d "tests/fuzz/regressions/$t" ] && [ -n "$(ls -A "tests/fuzz/regressions/$t")" ]; then
    TMPDIR="$tmp" "$bin" "${common[@]}" "tests/fuzz/regressions/$t"/* >"$tmp.regressions.log" 2>&1 ||
      { tail -40 "$tmp.regressions.log" >&2; echo "fuzz.sh: $t: a regression input fails" >&2; return 1; }
    echo "$t: $(ls "tests/fuzz/regressions/$t" | wc -l) regression inputs ok"
  fi
  local jobs=${FUZZ_JOBS:-1} rc=0
  TMPDIR="$tmp" "$bin" "${common[@]}" -max_total_time="$secs" -print_final_stats=1 \
    ${jobs:+$([ "$jobs" -gt 1 ] && echo "-fork=$jobs")} "$B/corpus/$t" >"$tmp.log" 2>&1 || rc=$?
  local runs
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$tmp.log" | awk '{s += $2} END {print s + 0}')
  rm -rf "$tmp"
  if [ "$rc" != 0 ]; then
    tail -60 "$tmp.log" >&2
    echo "fuzz.sh: $t: crash after $runs runs; input in $crashes/" >&2
    return 1
  fi
  echo "$t: $runs runs in $secs s, no crash ($(ls "$B/corpus/$t" | wc -l) inputs in the corpus)"
}

case "${1:-}" in
  build) build ;;
  corpus) corpus ;;
  list) list ;;
  ci)
    secs=${2:-20}
    # a fixed seed: CI mutates the same way every time (FUZZ_SEED=0 for a random one)
    export FUZZ_SEED=${FUZZ_SEED:-1}
    build
    corpus
    fail=0
    for t in $(list); do run "$t" "$secs" || fail=1; done
    exit $fail
    ;;
  fuzz_*)
    [ $# -eq 2 ] || { echo "usage: scripts/fuzz.sh TARGET SECONDS" >&2; exit 2; }
    [ -x "$B/fuzz/$1" ] || build
    [ -d "$B/corpus/$1" ] || corpus
    run "$1" "$2"
    ;;
  *)
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
