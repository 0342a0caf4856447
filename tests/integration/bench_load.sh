#!/usr/bin/env bash
# nnlab bench --load N / --load-command CMD: every measured run done idle and then
# with the load alongside; recorded in table.md, table.csv, table.json and the
# report (figure "speed under load"); the load processes never outlive a run or the
# bench (killed with SIGKILL). bench compare of the result against itself.
. "$(dirname "$0")/testlib.bash"
command -v gnuplot >/dev/null || { echo "FAIL: gnuplot not installed (Debian: gnuplot-nox)" >&2; exit 1; }
DATA=$TMP/data
mkdir -p "$DATA/mnist" && : > "$DATA/mnist/train-images-idx3-ubyte"
FAKE="$(cd "$(dirname "$0")" && pwd)/bench_fake_contestant.bash"
cat > "$TMP/contestants.txt" <<EOF2
fast     Shell  bash $FAKE fast {events} {seed} {epochs}
other    Shell  bash $FAKE fast {events} {seed} {epochs}
EOF2
MARK="3$$"  # a sleep no one else runs
cleanup() { for p in $(pgrep -f "sleep $MARK"); do kill -KILL "$p" 2>/dev/null; done; rm -rf "$TMP"; }
trap cleanup EXIT

expect_status 2 "$NNLAB" bench --load 0
expect_status 2 "$NNLAB" bench --load-command ''
expect_status 0 "$NNLAB" bench --help
expect_grep '^  --load N +speed under load' "$TMP/out"

OUT=$TMP/out-load
expect_status 0 "$NNLAB" bench --contestants-file "$TMP/contestants.txt" --contestants fast,other \
  --workloads mnist --runs 2 --epochs 1 --threads 1 --data "$DATA" --out "$OUT" --load 1
cp "$TMP/err" "$TMP/stderr"
expect_grep 'each run also under load: 1 busy process \(a plain CPU spin\) alongside' "$TMP/stderr"
expect_grep '\[2/8\] fast on mnist, under load, run 1 of 2: [0-9.]+ s to train' "$TMP/stderr"
grep -q 'still ran after it exited' "$TMP/stderr" && bad "the load processes were taken for leftovers of a run" || ok
expect_grep '^## Speed under load' "$OUT/table.md"
expect_grep '^\| mnist \| fast \| 2/2 \| [0-9]+ \| [0-9]+ \| [0-9]+ %' "$OUT/table.md"
expect_grep 'Speed under load' "$OUT/report.html"
expect_grep '^## Speed under load' "$OUT/report.md"
expect_grep 'Under load \(1 busy process\): (fast|other) keeps [0-9]+% ± [0-9]+, (fast|other) keeps [0-9]+% ± [0-9]+ of its idle samples/s\.' "$OUT/report.md"
expect_grep 'figures/load_speed.png' "$OUT/report.md"
expect_grep '<img class="figure" alt="Speed under load"' "$OUT/report.html"
[ -s "$OUT/fast_mnist_load_run1.csv" ] && [ -s "$OUT/fast_mnist_run2.csv" ] && ok || bad "per-run files of the loaded runs"
python3 - "$OUT" <<'PY' && ok || bad "table.json / table.csv of a bench with --load"
import csv, json, os, sys
out = sys.argv[1]
j = json.load(open(os.path.join(out, "table.json")))
assert j["config"]["load"] == {"processes": 1, "kind": "spin", "command": None}, j["config"]["load"]
for r in j["rows"]:
    ul = r["under_load"]
    assert ul["runs_ok"] == 2 and len(ul["runs"]) == 2, ul
    assert ul["samples_per_second"]["n"] == 2 and ul["samples_per_second"]["mean"] > 0, ul
    assert ul["kept"] > 0, ul
    # the load is visible as other processes' CPU in the loaded runs
    assert ul["background_cpu_pct"]["mean"] >= 30, ul["background_cpu_pct"]
    # samples/s = samples trained / time-to-train, in every run
    for x in r["runs"]:
        assert abs(x["samples_per_second"] - x["samples_trained"] / x["time_to_train_s"]) < 1e-6 * x["samples_per_second"], x
        assert x["samples_trained"] == 100 and x["reported_samples_per_second"] == 400, x
row = next(csv.DictReader(open(os.path.join(out, "table.csv"))))
assert row["load_processes"] == "1" and row["load_runs_ok"] == "2" and float(row["load_samples_per_s_mean"]) > 0, row
figs = [l.split("\t")[1] for l in open(os.path.join(out, "figures/index.txt")) if l.strip()]
assert "load_speed" in figs, figs
PY

# compare the result with itself: every change is zero, within the noise, exit 0
expect_status 0 "$NNLAB" bench compare "$OUT" "$OUT" --threshold 1
expect_grep '^\| mnist \| fast \| .* \| \+0\.0 % \| ± [0-9.]+ % \| within the noise \|' "$TMP/out"

# --load-command: the command runs alongside and is gone after every run and the bench
expect_status 0 "$NNLAB" bench --contestants-file "$TMP/contestants.txt" --contestants fast \
  --workloads mnist --runs 1 --epochs 1 --threads 1 --data "$DATA" --out "$TMP/out-cmd" \
  --load-command "sleep $MARK & sleep $MARK"
python3 -c 'import json,sys; l=json.load(open(sys.argv[1]))["config"]["load"]; assert l["processes"] == 1 and l["kind"] == "command" and l["command"].startswith("sleep "), l' "$TMP/out-cmd/table.json" && ok || bad "--load-command not recorded"
pgrep -f "sleep $MARK" >/dev/null && bad "a load command outlived the bench: $(pgrep -af "sleep $MARK")" || ok

# the bench killed outright during a loaded run: its load dies with it
"$NNLAB" bench --contestants-file "$TMP/contestants.txt" --contestants fast --workloads mnist \
  --runs 1 --epochs 12 --threads 1 --data "$DATA" --out "$TMP/out-kill" \
  --load-command "sleep $MARK & sleep $MARK" >/dev/null 2>&1 &
bench=$!
for i in $(seq 1 100); do grep -q 'under load' "$TMP/out-kill/"*.log 2>/dev/null; pgrep -f "sleep $MARK" >/dev/null && [ -e "$TMP/out-kill/fast_mnist_load_run1.log" ] && break; sleep 0.1; done
pgrep -f "sleep $MARK" >/dev/null && ok || bad "the load command never started"
kill -KILL "$bench"; wait "$bench" 2>/dev/null
for i in $(seq 1 50); do pgrep -f "sleep $MARK" >/dev/null || break; sleep 0.1; done
pgrep -f "sleep $MARK" >/dev/null && bad "load processes outlived a killed bench: $(pgrep -af "sleep $MARK")" || ok
finish
