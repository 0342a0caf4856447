#!/usr/bin/env bash
# nnlab bench against contestants that lie or misbehave (issue 15): events that
# contradict the run's own clock (F8), exit 0 with malformed output, a relative
# --out (F9), a run that never ends and a bench that is stopped (F11), a daemon
# left behind (F12), contestants files that are no files (F13); and the thread
# variants NAME@T. A few seconds, no Python, no training.
. "$(dirname "$0")/testlib.bash"
command -v gnuplot >/dev/null || { echo "FAIL: gnuplot not installed (Debian: gnuplot-nox)" >&2; exit 1; }
DATA=$TMP/data
mkdir -p "$DATA/mnist" && : > "$DATA/mnist/train-images-idx3-ubyte"  # the bench checks it exists
H="$(cd "$(dirname "$0")" && pwd)/bench_hostile_contestant.bash"
C=$TMP/contestants.txt
for m in good future past backwards nostop badlog badresult sleeper daemon daemon2; do
  echo "$m Shell bash $H $m {events} $TMP {threads}"
done > "$C"
B() { "$NNLAB" bench --contestants-file "$C" --workloads mnist --runs 1 --epochs 1 --threads 1 --data "$DATA" "$@"; }
alive() { kill -0 "$1" 2>/dev/null && [ "$(ps -o stat= -p "$1" | cut -c1)" != Z ]; }

# ---- F13: a contestants file must be a regular file of a sane size ----------------------
expect_status 2 timeout 10 "$NNLAB" bench --contestants-file /dev/zero --list
expect_grep '/dev/zero: not a regular file \(a character device\)' "$TMP/err"
expect_status 2 timeout 10 "$NNLAB" bench --contestants-file "$TMP" --list
expect_grep 'not a regular file \(a directory\)' "$TMP/err"
mkfifo "$TMP/fifo"
expect_status 2 timeout 10 "$NNLAB" bench --contestants-file "$TMP/fifo" --list
expect_grep 'not a regular file \(a FIFO\)' "$TMP/err"
head -c 1100000 /dev/zero | tr '\0' '#' > "$TMP/big.txt"
expect_status 2 timeout 10 "$NNLAB" bench --contestants-file "$TMP/big.txt" --list
expect_grep 'big.txt: 1100000 bytes, larger than the limit of 1048576' "$TMP/err"

# ---- F8 + malformed output: each liar fails with its reason, the good run is kept; -------
# ---- F9: a relative --out draws its figures ---------------------------------------------
cd "$TMP" || exit 1
expect_status 0 B --contestants good,future,past,backwards,nostop,badlog,badresult --out rel/out
cp "$TMP/err" "$TMP/liars.err"
expect_grep 'future on mnist, run 1 of 1: FAILED: event run_stop at \+946080000\.[0-9]+ s from the launch is outside the run' "$TMP/liars.err"
expect_grep 'past on mnist, run 1 of 1: FAILED: event run_start at -86[0-9]{3}\.[0-9]+ s from the launch is outside the run' "$TMP/liars.err"
expect_grep 'backwards on mnist, run 1 of 1: FAILED: event run_stop is 1\.[0-9]{3} s before run_start' "$TMP/liars.err"
expect_grep 'nostop on mnist, run 1 of 1: FAILED: no run_stop event' "$TMP/liars.err"
expect_grep 'badlog on mnist, run 1 of 1: FAILED: unparsable events: 2 malformed lines' "$TMP/liars.err"
expect_grep 'badresult on mnist, run 1 of 1: FAILED: unparsable result' "$TMP/liars.err"
grep -q 'not drawn\|cannot create' "$TMP/liars.err" && bad "figures with a relative --out: $(grep 'not drawn\|cannot create' "$TMP/liars.err")" || ok
[ -s rel/out/figures/usage_good_mnist.png ] && [ -s rel/out/figures/time.svg ] && ok || bad "relative --out: no figures in rel/out/figures"
python3 - rel/out <<'PY' && ok || bad "table of the liars"
import csv, os, sys
rows = {r["contestant"]: r for r in csv.DictReader(open(os.path.join(sys.argv[1], "table.csv")))}
assert rows["good"]["runs_ok"] == "1" and 0.2 < float(rows["good"]["time_to_train_mean_s"]) < 20, rows["good"]
for name in ("future", "past", "backwards", "nostop", "badlog", "badresult"):
    assert rows[name]["runs_ok"] == "0" and rows[name]["runs_failed"] == "1", rows[name]
for name in ("future", "past"):  # no 86400 s or 30-year series from a liar
    assert os.path.getsize(os.path.join(sys.argv[1], name + "_mnist_run1.csv")) < 100000
PY
cd - >/dev/null || exit 1

# ---- thread variants: NAME@T runs NAME with {threads} = T, reported as NAME-tT ---------------
expect_status 0 B --contestants good@3 --out "$TMP/variants"
[ "$(cat "$TMP/threads.good")" = 3 ] && ok || bad "good@3 ran with {threads} = $(cat "$TMP/threads.good")"
expect_grep '^mnist,mnist,good-t3,' "$TMP/variants/table.csv"
expect_grep '1 thread \(NAME-tT: T threads\)' "$TMP/variants/table.md"
python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["config"]["contestants"]; assert [(x["name"], x["threads"]) for x in c] == [("good-t3", 3)], c' "$TMP/variants/table.json" && ok || bad "table.json: the variant's threads"


# ---- F11: a run that never ends is stopped, its whole process group with it -------------------
rm -f "$TMP/sleeper.pid"
expect_status 1 timeout 60 "$NNLAB" bench --contestants-file "$C" --contestants sleeper --workloads mnist \
  --runs 1 --epochs 1 --threads 1 --data "$DATA" --out "$TMP/slow" --timeout 1
expect_grep 'sleeper on mnist, run 1 of 1: FAILED: timed out after 1 s' "$TMP/err"
sp=$(cat "$TMP/sleeper.pid" 2>/dev/null)
[ -n "$sp" ] && ! alive "$sp" && ok || bad "the timed-out run's child $sp still runs"
"$NNLAB" bench --help | grep -q 'default: 10 min + 5 min per epoch on mnist' && ok || bad "the default timeout is not documented in --help"
# the bench stopped by SIGTERM, and killed by SIGKILL: nothing of the run is left
for sig in TERM KILL; do
  rm -f "$TMP/sleeper.pid"
  "$NNLAB" bench --contestants-file "$C" --contestants sleeper --workloads mnist --runs 1 --epochs 1 \
    --threads 1 --data "$DATA" --out "$TMP/stopped$sig" >/dev/null 2>&1 &
  bp=$!
  for _ in $(seq 100); do [ -s "$TMP/sleeper.pid" ] && break; sleep 0.05; done
  sleep 0.3
  leader=$(pgrep -f "bench_hostile_contestant.bash sleeper|^sleep 300" -P "$bp" | head -1)
  kill -$sig "$bp"; wait "$bp" 2>/dev/null
  sleep 0.5
  sp=$(cat "$TMP/sleeper.pid" 2>/dev/null)
  [ -n "$leader" ] && ! alive "$leader" && ok || bad "SIG$sig to the bench: the contestant ($leader) still runs"
  if [ $sig = TERM ]; then
    [ -n "$sp" ] && ! alive "$sp" && ok || bad "SIGTERM to the bench: the contestant's child $sp still runs"
  fi
  [ -n "$sp" ] && kill "$sp" 2>/dev/null
done

# ---- F12: a daemon that escaped with setsid is ended after the run, and reported -------------
rm -f "$TMP/daemon.pid"
expect_status 0 B --contestants daemon --out "$TMP/daemon"
dp=$(cat "$TMP/daemon.pid" 2>/dev/null)
sleep 0.2
[ -n "$dp" ] && ! alive "$dp" && ok || { bad "the daemon $dp still runs after the bench"; kill "$dp" 2>/dev/null; }
expect_grep 'note: .*1 process of its tree still ran after it exited' "$TMP/err"
# forked twice: its parent gone before the monitor saw it, adopted by the bench (subreaper)
rm -f "$TMP/daemon2.pid"
expect_status 0 B --contestants daemon2 --out "$TMP/daemon2"
dp=$(cat "$TMP/daemon2.pid" 2>/dev/null)
sleep 0.2
[ -n "$dp" ] && ! alive "$dp" && ok || { bad "the double-forked daemon $dp still runs after the bench"; kill "$dp" 2>/dev/null; }
expect_grep 'note: .*1 process of its tree still ran after it exited' "$TMP/err"
finish
