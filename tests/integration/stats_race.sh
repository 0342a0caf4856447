#!/usr/bin/env bash
# nnlab stats on a process tree that forks and reaps children every ~2 ms for
# 3 s, sampled every 10 ms: no crash, no negative or absurd value, and the
# total CPU close to the tree's own getrusage figure (children that lived
# between two samples included). Then the same load watched with --pid.
set -euo pipefail
: "${NNLAB:?}" "${NNLAB_BUILD:?}"
H="$NNLAB_BUILD/tests"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
NCPU=$(getconf _NPROCESSORS_ONLN)

"$NNLAB" stats -q --interval 0.01 --format jsonl --output "$T/race.jsonl" -- \
    "$H/stats_forker" 3 "$T/truth.txt"
"$H/stats_check" race "$T/race.jsonl" "$T/truth.txt" "$NCPU"

# --pid: the monitor attaches to a running tree and stops when it ends
"$H/stats_forker" 2 &
fpid=$!
"$NNLAB" stats -q --interval 0.01 --format jsonl --output "$T/pid.jsonl" --pid "$fpid"
wait "$fpid"
"$H/stats_check" race "$T/pid.jsonl" - "$NCPU"
echo "stats_race: ok"
