#!/usr/bin/env bash
# nnlab stats against ground truth: stats_load busies one core, then two
# threads, then sleeps, in a child process holding 96 MiB, and records its own
# CPU time every few ms. The monitor's mean CPU% per phase must be within 10
# points of that truth (measured over the same window, so a busy machine does
# not matter) and its RSS within 5 %.
set -euo pipefail
: "${NNLAB:?}" "${NNLAB_BUILD:?}"
H="$NNLAB_BUILD/tests"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

if ! "$NNLAB" stats --format jsonl --output "$T/run.jsonl" -- \
    "$H/stats_load" --timeline "$T/timeline.txt" --mem 96 --phase 1.2 2>"$T/err.txt"; then
    cat "$T/err.txt"
    echo "FAIL: nnlab stats -- stats_load failed"
    exit 1
fi
cat "$T/err.txt"
"$H/stats_check" jsonl "$T/run.jsonl" 25
"$H/stats_check" truth "$T/run.jsonl" "$T/timeline.txt"
echo "stats_truth: ok"
