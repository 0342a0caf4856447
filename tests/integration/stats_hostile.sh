#!/usr/bin/env bash
# nnlab stats on processes that make the monitor's life hard (issue 15): a tree
# whose children often vanish before their /proc/PID/io is read loses only
# those children's readings, not the I/O columns of the run (F16); a process
# name with control characters is escaped in the summary (F17).
. "$(dirname "$0")/testlib.bash"
: "${NNLAB_BUILD:?}"
H="$NNLAB_BUILD/tests"

# ---- F16 ------------------------------------------------------------------------------------
expect_status 0 "$NNLAB" stats --interval 0.02 --output "$TMP/f.csv" -- "$H/stats_forker" 2
grep -q 'I/O unknown\|read/write columns are empty' "$TMP/err" && bad "I/O turned off: $(grep -m1 'columns are empty' "$TMP/err")" || ok
rows=$(tail -n +2 "$TMP/f.csv" | wc -l)
empty=$(tail -n +2 "$TMP/f.csv" | awk -F, '$10 == "" || $11 == ""' | wc -l)
[ "$rows" -ge 5 ] && [ "$empty" = 0 ] && ok || bad "F16: $empty of $rows rows without read/write"

# ---- F17 ------------------------------------------------------------------------------------
name=$'nl\nname\tx'
cp "$(command -v sleep)" "$TMP/$name"
expect_status 0 "$NNLAB" stats --interval 0.05 -- "$TMP/$name" 0.3
expect_grep 'nnlab stats: PID [0-9]+ \(nl\\nname\\tx\) and its children' "$TMP/err"
[ "$(grep -c '^name' "$TMP/err")" = 0 ] && ok || bad "F17: the name's newline reached the summary raw"
finish
