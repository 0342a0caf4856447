#!/usr/bin/env bash
# nnlab bench with contestants of the user's own (--contestants-file), faked by a shell
# script: a skipped one (exit 3 + install hint), one whose second run fails (reported,
# excluded from the means), one that logs no events (aligned on its launch). No Python,
# no training: a few seconds.
. "$(dirname "$0")/testlib.bash"
command -v gnuplot >/dev/null || { echo "FAIL: gnuplot not installed (Debian: gnuplot-nox)" >&2; exit 1; }
DATA=$TMP/data
mkdir -p "$DATA/mnist" && : > "$DATA/mnist/train-images-idx3-ubyte"  # the bench checks it exists

FAKE="$(cd "$(dirname "$0")" && pwd)/bench_fake_contestant.bash"
cat > "$TMP/contestants.txt" <<EOF2
# test contestants
fast     Shell  bash $FAKE fast {events} {seed} {epochs}
broken   Shell  bash $FAKE broken {events} {seed} \\
                {epochs}
absent   Shell  bash $FAKE absent {events} {seed} {epochs}
plain    Shell  bash $FAKE plain {events} {seed} {epochs} [--limit {limit}]
blink    Shell  bash $FAKE blink {events} {seed} {epochs}
pyfake   Python bash $FAKE fast {events} {seed} {epochs} --quiet
EOF2

# a bad contestants file is a usage error naming the line
printf 'ok C true\nbad C run {epoch}\n' > "$TMP/bad.txt"
expect_status 2 "$NNLAB" bench --contestants-file "$TMP/bad.txt" --list
expect_grep 'bad.txt:2' "$TMP/err"
expect_status 0 "$NNLAB" bench --contestants-file "$TMP/contestants.txt" --list
expect_grep '^broken +Shell +bash .*bench_fake_contestant.bash broken \{events\} \{seed\} +\{epochs\}' "$TMP/out"

OUT=$TMP/out-bench
expect_status 0 "$NNLAB" bench --contestants-file "$TMP/contestants.txt" \
  --contestants fast,broken,absent,plain --workloads mnist --runs 2 --epochs 2 --threads 1 \
  --data "$DATA" --out "$OUT" --baseline fast
cp "$TMP/err" "$TMP/stderr"
expect_grep 'absent on mnist: SKIPPED: skipped: FakeFW is not installed; install with: apt-get install fakefw' "$TMP/stderr"
expect_grep 'broken on mnist, run 2 of 2: FAILED: exit status 1: fake crash on purpose' "$TMP/stderr"
expect_grep 'note: no run_start event: aligned on the launch' "$TMP/stderr"
[ "$(grep -c 'absent on mnist' "$TMP/stderr")" = 2 ] && ok || bad "the skipped contestant was run again"
[ ! -e "$OUT/absent_mnist_run2.csv" ] && ok || bad "a skipped contestant got a second run"
expect_grep 'apt-get install fakefw' "$OUT/report.html"
expect_grep 'broken.*run 2: failed' "$OUT/report.md"

python3 - "$OUT" <<'PY' && ok || bad "table of the fake bench"
import csv, json, os, sys
out = sys.argv[1]
rows = {r["contestant"]: r for r in csv.DictReader(open(os.path.join(out, "table.csv")))}
assert rows["absent"]["status"] == "skipped" and rows["absent"]["runs"] == "0", rows["absent"]
b = rows["broken"]
assert b["status"] == "ok" and b["runs"] == "2" and b["runs_ok"] == "1" and b["runs_failed"] == "1", b
assert b["time_to_train_sd_s"] == "" and b["framework_version"] == "1.0-broken", b  # one run left
f = rows["fast"]
assert f["runs_ok"] == "2" and float(f["pct_vs_baseline"]) == 0 and f["baseline"] == "fast", f
assert 0.5 < float(f["time_to_train_mean_s"]) < 20, f  # two epochs of 0.25 s, plus the events
assert abs(float(f["test_accuracy_mean"]) - 0.82) < 1e-9, f
assert float(f["cpu_mean_pct"]) > 10, f  # the busy loop shows
p = rows["plain"]
assert p["runs_ok"] == "2" and 0.25 < float(p["time_to_train_mean_s"]) < 20, p
j = json.load(open(os.path.join(out, "table.json")))
jr = {r["contestant"]: r for r in j["rows"]}
assert "install with: apt-get install fakefw" in jr["absent"]["message"]
runs = jr["broken"]["runs"]
assert [r["status"] for r in runs] == ["ok", "failed"] and runs[1]["exit_status"] == 1, runs
assert runs[1]["message"] == "exit status 1: fake crash on purpose", runs[1]
assert all(r["aligned_on_events"] is False for r in jr["plain"]["runs"])
# the failed run is not in the mean timeline: one run contributes everywhere
mean = list(csv.DictReader(open(os.path.join(out, "broken_mnist_mean.csv"))))
assert mean[0]["t_s"] == "0.000" and {m["runs"] for m in mean} == {"1"}, mean[:2]
fm = list(csv.DictReader(open(os.path.join(out, "fast_mnist_mean.csv"))))
assert fm[0]["runs"] == "2" and fm[0]["cpu_pct_sd"] != "", fm[0]
PY

# the report (issue 16): ratios with their spread, samples/s consistent with the time,
# the CPU band clipped at the machine's cores, every run's background CPU, the
# compiler, flags and Python version, a Method section without Markdown backticks
expect_grep '(plain|fast) takes [0-9.]+× ± [0-9.]+ as long' "$OUT/report.md"
expect_grep '(plain|fast) takes [0-9.]+× ± [0-9.]+ as long' "$OUT/report.html"
grep -q 'Test accuracy: .*nan' "$OUT/report.md" && bad "an unknown accuracy printed as nan" || ok
expect_grep '\(\$2\+\$3>'"$(( $(nproc) * 100 ))"'\?'"$(( $(nproc) * 100 ))"':\$2\+\$3\)' "$OUT/figures/compare_mnist_cpu_pct.gp"
expect_grep '<h2 id="runs">Runs</h2>' "$OUT/report.html"
expect_grep '^\| mnist \| fast \| 2 \| ok \| [0-9.]+ \| [0-9]+ \| [0-9]+ \| [0-9]+ \|$' "$OUT/report.md"
expect_grep '<tr><th>compiler</th><td>[^<]+</td></tr>' "$OUT/report.html"
expect_grep '<tr><th>flags</th><td>[^<]+</td></tr>' "$OUT/report.html"
expect_grep '<tr><th>Python</th><td>(Python [0-9.]+|none on PATH)</td></tr>' "$OUT/report.html"
expect_grep 'samples/s<br><small>trained ÷ time-to-train</small>' "$OUT/report.html"
sed -n '/<h2 id="method">/,/<h2 id="files">/p' "$OUT/report.html" > "$TMP/method.html"
expect_grep '<code>run_start</code>' "$TMP/method.html"
grep -q '`' "$TMP/method.html" && bad "raw Markdown backticks in the Method section" || ok
expect_grep '<span class="w">\[--limit</span> <span class="w">\{limit\}\]</span>' "$OUT/report.html"
python3 - "$OUT" <<'PY' && ok || bad "samples/s is not samples trained / time-to-train"
import json, os, sys
j = json.load(open(os.path.join(sys.argv[1], "table.json")))
f = next(r for r in j["rows"] if r["contestant"] == "fast")
for x in f["runs"]:
    assert x["samples_trained"] == 200, x  # two epochs of 100
    assert abs(x["samples_per_second"] * x["time_to_train_s"] - 200) < 1e-6, x
    assert x["reported_samples_per_second"] == 400, x
assert abs(f["samples_per_second"]["mean"] - sum(200 / x["time_to_train_s"] for x in f["runs"]) / 2) < 1e-6
PY

# --paper: the Python contestant trains another model; the headline says so, and a
# command word such as --quiet is never broken inside
OUTP=$TMP/out-paper
expect_status 0 "$NNLAB" bench --contestants-file "$TMP/contestants.txt" --contestants fast,pyfake \
  --workloads mnist --runs 1 --epochs 1 --threads 1 --data "$DATA" --out "$OUTP" --paper
expect_grep '^<h1>nnlab bench: .* on mnist \(different models\)</h1>' "$OUTP/report.html"
expect_grep '^# nnlab bench: .* on mnist \(different models\)' "$OUTP/report.md"
expect_grep '<span class="w">--quiet</span>' "$OUTP/report.html"

# a run shorter than one monitor interval still gets its usage figure (its time axis
# is the run, not an empty range) and a peak RSS: sampled, else its own figure
OUT2=$TMP/out-blink
expect_status 0 "$NNLAB" bench --contestants-file "$TMP/contestants.txt" --contestants blink \
  --workloads mnist --runs 1 --epochs 1 --threads 1 --data "$DATA" --out "$OUT2"
cp "$TMP/err" "$TMP/stderr-blink"
grep -q 'figure.* not drawn' "$TMP/stderr-blink" && bad "figures not drawn: $(grep 'not drawn' "$TMP/stderr-blink")"
python3 - "$OUT2" <<'PY' && ok || bad "results of a run shorter than one sample"
import csv, os, sys
out = sys.argv[1]
figs = [l.split("\t")[1] for l in open(os.path.join(out, "figures/index.txt")) if l.strip()]
assert "usage_blink_mnist" in figs, figs
for ext in ("png", "svg"):
    assert os.path.getsize(os.path.join(out, "figures", "usage_blink_mnist." + ext)) > 0
row = next(csv.DictReader(open(os.path.join(out, "table.csv"))))
ttt, rss = float(row["time_to_train_mean_s"]), float(row["peak_rss_mib_mean"])
assert 0 < ttt < 1, row
samples = list(csv.DictReader(open(os.path.join(out, "blink_mnist_run1.csv"))))
seen = [float(s["rss_mib"]) for s in samples if s["rss_mib"] and float(s["rss_mib"]) > 0]
assert rss == (max(seen) if seen else 12.5), (rss, seen)
# it appears in the side-by-side figures too (a flat line at its runs' figure, marked),
# and with one epoch its accuracy is a bar, not stacked error bars
assert "compare_mnist_rss_mib" in figs and "compare_mnist_cpu_pct" in figs, figs
gp = open(os.path.join(out, "figures", "compare_mnist_rss_mib.gp")).read()
assert "title 'blink (" in gp, gp[-600:]
acc = open(os.path.join(out, "figures", "accuracy.gp")).read()
assert "with boxes" in acc and "yerrorlines" not in acc, acc[-600:]
# no row after the exit in the run's CSV (no memory, no threads)
assert all(s["threads"] != "0" for s in samples), samples
PY
finish
