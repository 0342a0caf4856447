#!/usr/bin/env bash
# nnlab stats, the command: what to watch, exit statuses, signals, output
# files, formats (parsed back; UnixStats layout), the fake NVML through
# NNLAB_NVML_LIB, --plot, and a PID the monitor may not read.
. "$(dirname "$0")/testlib.bash"
: "${NNLAB_BUILD:?}"
H="$NNLAB_BUILD/tests"
FAKE="$H/libnnlab_fake_nvml.so"
S() { "$NNLAB" stats "$@"; }
bg_pids=()
cleanup() {
    exec 2>/dev/null # no "Killed" notices from bash
    for p in "${bg_pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

# ---- usage errors (2) and start failures -----------------------------------------
expect_status 0 S --help;                          expect_grep 'unixstats-csv' "$TMP/out"
expect_grep "WATCHED PROCESS TREE's CPU and RAM as percentages" "$TMP/out"
expect_status 2 S;                                 expect_grep 'nothing to watch' "$TMP/err"
expect_status 2 S --interval 0.001 -- true;        expect_grep "invalid value '0.001' for --interval" "$TMP/err"
expect_status 2 S --format xml -- true;            expect_grep "unknown format 'xml'" "$TMP/err"
expect_status 2 S --pid 1 --name x;                expect_grep 'only one of' "$TMP/err"
expect_status 2 S --wait --pid 1;                  expect_grep 'wait goes with --name' "$TMP/err"
expect_status 2 S --plot fig.jpg -- true;          expect_grep '.png or .svg' "$TMP/err"
expect_status 2 S --bogus -- true;                 expect_grep "unknown option '--bogus'" "$TMP/err"
expect_status 127 S -- /nonexistent/cmd;           expect_grep "cannot run '/nonexistent/cmd': No such file" "$TMP/err"
expect_status 1 S --output "$TMP/no/such/x.csv" -- sh -c 'touch "$0"' "$TMP/ran"
expect_grep "cannot create $TMP/no/such/x.csv" "$TMP/err"
[ -e "$TMP/ran" ] && bad "the command ran although the output could not be created" || ok
PID_MAX=$(cat /proc/sys/kernel/pid_max)
expect_status 1 S --pid "$PID_MAX";                expect_grep "no process with PID $PID_MAX" "$TMP/err"
expect_status 1 S --name "nlst-none-$$";           expect_grep "no process named 'nlst-none-$$' \(use --wait" "$TMP/err"

# ---- the command's exit status is the monitor's ---------------------------------------
expect_status 3 S -q --output "$TMP/o.csv" -- sh -c 'exit 3'
expect_status 143 S -q --output "$TMP/o.csv" -- sh -c 'kill -TERM $$'
# a command that is over before the first sample: "no sample", a sane summary (no
# mean CPU beyond the cores, no 0 MiB peak, no "processes peak 0"), only the header
expect_status 0 S --output "$TMP/o.csv" -- true
expect_grep 'CPU +mean [0-9.]+ %' "$TMP/err"
expect_grep '^  no sample +the process ended after [0-9]+ ms' "$TMP/err"
expect_grep '^  memory +peak [0-9.]+ MiB RSS of its largest process' "$TMP/err"
grep -qE 'peak 0\.0 MiB|processes +peak 0|mean [0-9]{4,}\.' "$TMP/err" && bad "absurd summary of a short run: $(cat "$TMP/err")" || ok
mean=$(sed -nE 's/^  CPU +mean ([0-9.]+) %.*/\1/p' "$TMP/err")
awk -v m="$mean" 'BEGIN { exit !(m >= 0 && m <= 100 * '"$(nproc)"') }' && ok || bad "mean CPU $mean % of a short run"
[ "$(wc -l < "$TMP/o.csv")" = 1 ] && ok || bad "a run without samples wrote rows: $(cat "$TMP/o.csv")"
# the summary's sample count is the number of rows printed (the row after the exit is not one)
expect_status 0 S --interval 0.05 --output "$TMP/c.csv" -- sh -c 'sleep 0.33'
rows=$(( $(wc -l < "$TMP/c.csv") - 1 ))
expect_grep "^  duration +[0-9.]+ s, $rows samples?\$" "$TMP/err"
grep -q ',0\.0,[0-9.]*,[0-9.]*,[0-9.]*,[0-9.]*,[0-9.]*,[0-9.]*,0,' "$TMP/c.csv" && bad "a row with no memory and no threads (after the exit) was printed" || ok
expect_status 0 S --output "$TMP/o.csv" -- sh -c 'sleep 0.35'
expect_grep '^  duration +[0-9]+\.[0-9]+ s, [0-9]+ samples' "$TMP/err"
expect_grep 'mean .* peak .*one core' "$TMP/err"
expect_grep 'memory +peak [0-9.]+ MiB RSS' "$TMP/err"
expect_grep 'GPU +none' "$TMP/err"
[ "$(grep -c 'GPU cells are empty' "$TMP/err")" = 1 ] && ok || bad "the no-GPU notice is not printed exactly once"
# without --output the samples go to standard error: the command's stdout and stderr
# pass through untouched
expect_status 0 S -- echo hi
[ "$(cat "$TMP/out")" = hi ] && ok || bad "stdout of 'nnlab stats -- echo hi' is not exactly hi: $(head -3 "$TMP/out")"
expect_status 0 S --interval 0.05 -- sh -c 'echo from-the-command; echo to-stderr >&2; sleep 0.3'
[ "$(cat "$TMP/out")" = from-the-command ] && ok || bad "the command's stdout was changed: $(head -3 "$TMP/out")"
expect_grep '^to-stderr$' "$TMP/err"
expect_grep '^t_s,cpu_pct,rss_mib,' "$TMP/err"
expect_grep '^0\.[0-9]{3},[0-9.]+,[0-9.]+,' "$TMP/err"

# ---- formats, parsed back --------------------------------------------------------------
expect_status 0 S --interval 0.05 --output "$TMP/f.csv" -- sh -c 'sleep 0.5'
expect_status 0 "$H/stats_check" csv "$TMP/f.csv" 5
expect_status 0 S --interval 0.05 --format jsonl --output "$TMP/f.jsonl" -- sh -c 'sleep 0.5'
expect_status 0 "$H/stats_check" jsonl "$TMP/f.jsonl" 5
# json: one document (samples, session, summary), pidstat's figures in every sample
expect_status 0 S --interval 0.05 --format json --output "$TMP/f.json" -- sh -c 'sleep 0.3; i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done'
python3 - "$TMP/f.json" <<'PY' && ok || bad "--format json is not one document with the samples and the summary"
import json, sys
d = json.load(open(sys.argv[1]))
s, sm = d["samples"], d["summary"]
assert len(s) >= 4 and sm["samples"] == len(s), (len(s), sm)
assert all(x["alive"] for x in s), "a row after the exit"
for k in ("user_pct", "system_pct", "minflt_s", "majflt_s", "vcsw_s", "ivcsw_s", "read_mib_s", "write_mib_s"):
    assert all(isinstance(x[k], (int, float)) and x[k] >= 0 for x in s), k
assert sum(x["vcsw_s"] for x in s) > 0, "no voluntary context switch while sleeping"
assert sum(x["minflt_s"] for x in s) > 0, "no page fault at all"
assert sm["at_exit"]["maxrss_mib"] > 0 and sm["at_exit"]["minflt"] > 0, sm
assert d["info"]["pid"] > 0 and d["interval_s"] == 0.05
PY
expect_status 0 S --format json --output "$TMP/t.json" -- true
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["samples"] == [] and d["summary"]["samples"] == 0' "$TMP/t.json" && ok || bad "--format json of a run without samples"
expect_status 0 S --interval 0.05 --format pretty --output "$TMP/f.txt" -- sh -c 'sleep 0.3'
expect_grep '^ +0\.[0-9]+ s  CPU +[0-9.]+ %  RSS +[0-9.]+ MiB  threads +[0-9]+  \| machine CPU' "$TMP/f.txt"
expect_status 0 S --format unixstats-csv --output "$TMP/u.csv" -- sh -c 'sleep 0.45'
[ "$(head -1 "$TMP/u.csv")" = 'time(s);cpu;ram;gpu;graphic ram' ] && ok || bad "unixstats-csv header: $(head -1 "$TMP/u.csv")"
[ "$(sed -n 2p "$TMP/u.csv" | cut -d';' -f1)" = '0,1' ] && ok || bad "unixstats-csv first time is not 0,1"
n_bad=$(tail -n +2 "$TMP/u.csv" | grep -cvE '^[0-9]+,[0-9];[0-9]+,[0-9]+;[0-9]+,[0-9]+;;$')
[ "$n_bad" = 0 ] && ok || bad "unixstats-csv rows not in the study's layout: $(tail -n +2 "$TMP/u.csv" | head -3)"
expect_status 0 S --format unixstats-pretty --output "$TMP/u.txt" -- sh -c 'sleep 0.25'
expect_grep '^Elapsed Time: 0,1    CPU: [0-9]+,[0-9]+%    RAM: [0-9]+,[0-9]+%    GPU: n/a    Graphic RAM: n/a$' "$TMP/u.txt"

# ---- --no-children ------------------------------------------------------------------------
expect_status 0 S --interval 0.05 --format jsonl --output "$TMP/tree.jsonl" -- sh -c 'sleep 0.4 & sleep 0.4; wait'
expect_grep '"procs":[2-9]' "$TMP/tree.jsonl"
expect_status 0 S --no-children --interval 0.05 --format jsonl --output "$TMP/one.jsonl" -- sh -c 'sleep 0.4 & sleep 0.4; wait'
grep -q '"procs":[02-9]' "$TMP/one.jsonl" && bad "--no-children counted more than one process" || ok

# ---- --duration: sampling stops, the command is still waited for ------------------------------
start=$(date +%s%N)
expect_status 0 S --duration 0.5 --output "$TMP/d.csv" -- sleep 1.2
el=$(( ($(date +%s%N) - start) / 1000000 ))
rows=$(( $(wc -l < "$TMP/d.csv") - 1 ))
[ "$rows" -ge 2 ] && [ "$rows" -le 5 ] && ok || bad "--duration 0.5 gave $rows rows"
[ "$el" -ge 1150 ] && ok || bad "--duration: the command was not waited for ($el ms)"

# ---- signals: forwarded to the command; --pid mode stops on SIGINT -----------------------------
# (background jobs run "$NNLAB" itself, so that $! is the monitor)
"$NNLAB" stats -q --interval 0.05 --output "$TMP/sig.csv" -- \
    sh -c 'trap "exit 7" TERM; i=0; while [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done' &
mon=$!; bg_pids+=("$mon")
sleep 0.6
kill -TERM "$mon"
wait "$mon"; rc=$?
[ "$rc" = 7 ] && ok || bad "SIGTERM to the monitor: exit $rc, expected the command's 7"
[ "$(tail -c1 "$TMP/sig.csv" | od -An -c | tr -d ' ')" = '\n' ] && ok || bad "output does not end with a whole line"
[ "$(wc -l < "$TMP/sig.csv")" -ge 3 ] && ok || bad "too few rows before the signal"

sleep 30 & sl=$!; bg_pids+=("$sl")
"$NNLAB" stats --interval 0.05 --output "$TMP/int.csv" --pid "$sl" 2>"$TMP/int.err" &
mon=$!; bg_pids+=("$mon")
sleep 0.5
kill -INT "$mon"
wait "$mon"; rc=$?
[ "$rc" = 0 ] && ok || bad "SIGINT in --pid mode: exit $rc"
expect_grep 'duration' "$TMP/int.err"
[ "$(tail -c1 "$TMP/int.csv" | od -An -c | tr -d ' ')" = '\n' ] && ok || bad "--pid output does not end with a whole line"

# killed outright: what was written is whole lines
"$NNLAB" stats --interval 0.01 --output "$TMP/kill.csv" --pid "$sl" 2>/dev/null &
mon=$!
sleep 0.5
kill -KILL "$mon"; wait "$mon" 2>/dev/null
[ "$(tail -c1 "$TMP/kill.csv" | od -An -c | tr -d ' ')" = '\n' ] && ok || bad "after SIGKILL the output ends mid-line"
expect_status 0 "$H/stats_check" csv "$TMP/kill.csv" 3

# ---- --pid: stops when the process ends ----------------------------------------------------------
sleep 1 & p=$!
start=$(date +%s%N)
expect_status 0 S --interval 0.05 --output "$TMP/p.csv" --pid "$p"
el=$(( ($(date +%s%N) - start) / 1000000 ))
rows=$(( $(wc -l < "$TMP/p.csv") - 1 ))
[ "$rows" -ge 3 ] && [ "$rows" -le 22 ] && [ "$el" -lt 4000 ] && ok ||
    bad "--pid of a 1 s process: $rows rows, $el ms"

# ---- --name: several matches, --wait ----------------------------------------------------------------
NAME="nlst-multi-$$"
(exec -a "$NAME" sleep 30) & bg_pids+=($!); a=$!
sleep 0.05
(exec -a "$NAME" sleep 30) & bg_pids+=($!); b=$!
sleep 0.05
expect_status 0 S --name "$NAME" --duration 0.2 --output "$TMP/n.csv"
expect_grep "2 processes match '$NAME'; watching PID $b, the most recently started of $a, $b" "$TMP/err"
kill "$a" "$b" 2>/dev/null

NAME="nlst-wait-$$"
"$NNLAB" stats --name "$NAME" --wait --interval 0.05 --output "$TMP/w.csv" 2>"$TMP/w.err" &
mon=$!; bg_pids+=("$mon")
sleep 0.4
(exec -a "$NAME" sleep 0.5) &
wait "$mon"; rc=$?
[ "$rc" = 0 ] && ok || bad "--wait: exit $rc"
expect_grep "waiting for a process named '$NAME'" "$TMP/w.err"
expect_grep "watching PID [0-9]+" "$TMP/w.err"
[ "$(wc -l < "$TMP/w.csv")" -ge 3 ] && ok || bad "--wait: too few rows"

# ---- GPU through the fake NVML ----------------------------------------------------------------------
sleep 30 & g=$!; bg_pids+=("$g")
NNLAB_NVML_LIB="$FAKE" FAKE_NVML_PIDS="$g:1024,999999:64" FAKE_NVML_UTIL=42 \
    expect_status 0 S --pid "$g" --duration 0.35 --format unixstats-csv --output "$TMP/g.csv"
grep -q 'GPU cells are empty' "$TMP/err" && bad "GPU notice with a GPU present" || ok
n_bad=$(tail -n +2 "$TMP/g.csv" | grep -cvE '^[0-9]+,[0-9]+;0,0;[0-9]+,[0-9]+;42;12,5$')
[ "$n_bad" = 0 ] && [ "$(wc -l < "$TMP/g.csv")" -ge 2 ] && ok || bad "GPU columns (fake NVML): $(sed -n 2p "$TMP/g.csv")"
NNLAB_NVML_LIB="$FAKE" FAKE_NVML_PIDS="$g:1024" \
    expect_status 0 S --pid "$g" --duration 0.25 --output "$TMP/g2.csv"
expect_grep '^[0-9.]+,[0-9.]+,[0-9.]+,[0-9.]+,[0-9.]+,42\.0,1024\.0,12\.5,1,' "$TMP/g2.csv"
expect_grep 'utilisation mean 42.0 %, peak 42.0 %; memory peak 1024.0 MiB' "$TMP/err"
NNLAB_NVML_LIB="$FAKE" FAKE_NVML_PIDS="$g:1024" FAKE_NVML_FAIL_AFTER=1 \
    expect_status 0 S --pid "$g" --duration 0.6 --output "$TMP/g3.csv"
expect_grep 'GPU reading failed: .*GPU is lost' "$TMP/err"
[ "$(grep -c 'GPU reading failed' "$TMP/err")" = 1 ] && ok || bad "GPU failure noted more than once"
NNLAB_NVML_LIB="$FAKE" FAKE_NVML_INIT_FAIL=1 \
    expect_status 0 S --pid "$g" --duration 0.15 --output "$TMP/g4.csv"
expect_grep 'nvmlInit failed: Driver Not Loaded.*GPU cells are empty' "$TMP/err"

# ---- --plot --------------------------------------------------------------------------------------------
if command -v gnuplot >/dev/null; then
    expect_status 0 S --interval 0.05 --output "$TMP/pl.csv" --plot "$TMP/run.png" -- sh -c 'sleep 0.4'
    [ "$(head -c 8 "$TMP/run.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] && ok || bad "--plot did not write a PNG"
    ls "$TMP"/run.png.tmp* >/dev/null 2>&1 && bad "temporary plot file left behind" || ok
    NNLAB_NVML_LIB="$FAKE" FAKE_NVML_PIDS="$g:1024" \
        expect_status 0 S --pid "$g" --duration 0.4 --interval 0.05 --output "$TMP/pg.csv" --plot "$TMP/run.svg"
    expect_grep '<svg' "$TMP/run.svg"
    expect_grep 'GPU memory' "$TMP/run.svg"
    # a short run: always drawn, its time axis from 0 (not 0.099-0.101)
    expect_status 0 S --output "$TMP/ps.csv" --plot "$TMP/short.svg" -- sh -c 'sleep 0.15'
    expect_grep '<svg' "$TMP/short.svg"
    grep -q '>0\.099<\|>0\.1005<' "$TMP/short.svg" && bad "short run plot axis is not from 0" || ok
    expect_grep '> ?0(\.0+)? ?<' "$TMP/short.svg"
    expect_status 0 S --output "$TMP/pt.csv" --plot "$TMP/none.svg" -- true
    expect_grep 'no sample' "$TMP/none.svg"
    expect_status 1 S --output "$TMP/pl.csv" --plot "$TMP/no/such/dir/x.png" -- sh -c 'sleep 0.25'
    expect_grep 'plot: gnuplot failed' "$TMP/err"
else
    echo "note: gnuplot not installed, --plot not tested"
fi

# ---- a process the monitor may not read (needs root to switch to nobody) ----------------------------------
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null &&
    setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$NNLAB" 2>/dev/null; then
    NB() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
    expect_status 1 NB "$NNLAB" stats --pss --pid "$g" --duration 0.2
    expect_grep "cannot read /proc/$g/smaps_rollup for --pss: Permission denied \(another user's process" "$TMP/err"
    expect_status 0 NB "$NNLAB" stats --pid "$g" --duration 0.25
    expect_grep "cannot read /proc/$g/io: Permission denied" "$TMP/err"
    expect_grep '^0\.[0-9]+,[0-9.]+,[0-9.]+,[0-9.]+,[0-9.]+,,,,1,,,[0-9.]+,[0-9.]+,[0-9.]+,[0-9.]+,[0-9.]+,[0-9.]+,,$' "$TMP/err"
else
    echo "note: not root or $NNLAB not reachable by nobody: permission test skipped"
fi

# ---- --pss ----------------------------------------------------------------------------------------------------
expect_status 0 S --pss --interval 0.05 --format jsonl --output "$TMP/pss.jsonl" -- sh -c 'sleep 0.3'
expect_grep '"mem":"pss"' "$TMP/pss.jsonl"
finish
