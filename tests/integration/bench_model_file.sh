#!/usr/bin/env bash
# nnlab bench on a user's model file: `--workloads mnist,FILE.nnm` gives every
# contestant {model} (the file; for mnist the shipped models/mnist.nnm, or the name
# before the source tree has it), the data options and --peer-device pass through,
# and a contestant that cannot build a layer (exit 3, "skipped: X has no Y") is
# reported as skipped on that workload only. Checked with fake contestants (no
# training), then a tiny real bench of nnlab and the PyTorch peer on the file
# (that part needs nnlab's model-file reader: without it, it says SKIP).
. "$(dirname "$0")/testlib.bash"
SRC=${NNLAB_SRC:?}
DATA=${NNLAB_SHARED_DATA:?}
command -v gnuplot >/dev/null || { echo "FAIL: gnuplot not installed (Debian: gnuplot-nox)" >&2; exit 1; }
FAKE="$(cd "$(dirname "$0")" && pwd)/bench_fake_contestant.bash"
cat >"$TMP/tiny.nnm" <<'NNM'
# a small user model on MNIST
dataset mnist
input 28 28 1
conv2d 4 3 relu padding=same
maxpool2d 2
flatten
dense 16 gelu
dense 10 softmax
loss crossentropy
optimizer adam lr=0.002
NNM
# argv: records its arguments; nogelu: cannot build gelu (a grep of the model file)
cat >"$TMP/contestants.txt" <<EOF2
argv    Shell  sh -c 'printf "%s\\n" "\$@" >>"{out}/argv-{workload}.txt"; exec bash $FAKE fast {events} {seed} {epochs}' argv --model {model} [--dataset {dataset}] [--device {device}] [--train-data {train_data}] [--test-data {test_data}] [--label {label}]
nogelu  Shell  sh -c 'if grep -qw gelu "\$1" 2>/dev/null; then echo "skipped: FakeFW has no gelu" >&2; exit 3; fi; exec bash $FAKE fast {events} {seed} {epochs}' nogelu {model}
EOF2
OUT=$TMP/fake
expect_status 0 "$NNLAB" bench --contestants-file "$TMP/contestants.txt" --contestants argv,nogelu \
  --workloads "mnist,$TMP/tiny.nnm" --dataset mnist --peer-device cuda --runs 1 --epochs 1 \
  --threads 1 --data "$DATA" --out "$OUT"
cp "$TMP/err" "$TMP/stderr"
expect_grep 'nogelu on tiny: SKIPPED: skipped: FakeFW has no gelu' "$TMP/stderr"
expect_grep "^$TMP/tiny.nnm\$" "$OUT/argv-tiny.txt"
if [ -f "$SRC/models/mnist.nnm" ]; then W="$SRC/models/mnist.nnm"; else W=mnist; fi
expect_grep "^$W\$" "$OUT/argv-mnist.txt"
for f in argv-mnist argv-tiny; do
  tr '\n' ' ' <"$OUT/$f.txt" | grep -q -- '--dataset mnist --device cuda $' && ok || bad "$f: $(cat "$OUT/$f.txt")"
done
python3 - "$OUT" <<'PY' && ok || bad "table of the model-file bench"
import csv, os, sys
rows = {(r["contestant"], r["workload"]): r for r in csv.DictReader(open(os.path.join(sys.argv[1], "table.csv")))}
assert rows[("nogelu", "tiny")]["status"] == "skipped", rows[("nogelu", "tiny")]
assert rows[("nogelu", "mnist")]["status"] == "ok" and rows[("nogelu", "mnist")]["runs_ok"] == "1"
assert rows[("argv", "tiny")]["runs_ok"] == "1", rows[("argv", "tiny")]
PY
expect_grep 'nogelu.*tiny.*FakeFW has no gelu' "$OUT/report.md"
[ -e "$OUT/argv_tiny_run1.events" ] && ok || bad "no argv_tiny_run1.events"

# own data: the files and the label column reach the contestants; no data directory needed
printf 'a,y\n1,0\n' >"$TMP/train.csv"
cp "$TMP/train.csv" "$TMP/test.csv"
expect_status 0 "$NNLAB" bench --contestants-file "$TMP/contestants.txt" --contestants argv \
  --workloads "$TMP/tiny.nnm" --train-data "$TMP/train.csv" --test-data "$TMP/test.csv" --label y \
  --runs 1 --epochs 1 --threads 1 --data "$TMP/nodata" --out "$TMP/own"
tr '\n' ' ' <"$TMP/own/argv-tiny.txt" | grep -q -- "^--model $TMP/tiny.nnm --train-data $TMP/train.csv --test-data $TMP/test.csv --label y \$" &&
  ok || bad "own data options: $(cat "$TMP/own/argv-tiny.txt")"

# the options' errors
expect_status 1 "$NNLAB" bench --workloads "$TMP/missing.nnm" --data "$DATA" --out "$TMP/x"
expect_grep 'model file .*missing.nnm: No such file' "$TMP/err"
expect_status 2 "$NNLAB" bench --workloads "$TMP/tiny.nnm,$TMP/tiny.nnm" --data "$DATA" --out "$TMP/x"
expect_status 2 "$NNLAB" bench --dataset imagenet --data "$DATA" --out "$TMP/x"
expect_status 2 "$NNLAB" bench --test-data "$TMP/tiny.nnm" --data "$DATA" --out "$TMP/x"
expect_status 2 "$NNLAB" bench --dataset mnist --train-data "$TMP/tiny.nnm" --data "$DATA" --out "$TMP/x"
expect_status 2 "$NNLAB" bench --peer-device tpu --data "$DATA" --out "$TMP/x"
expect_status 1 "$NNLAB" bench --train-data "$TMP/none.csv" --data "$DATA" --out "$TMP/x"

# the real thing: nnlab and the PyTorch peer train the file
if ! "$NNLAB" models "$TMP/tiny.nnm" >/dev/null 2>&1; then
  echo "SKIP: this nnlab cannot read model files yet (nnlab models FILE fails): no real bench"
elif ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "SKIP: no PyTorch for /usr/bin/python3: no real bench"
else
  OUT=$TMP/real
  expect_status 0 "$NNLAB" bench --contestants nnlab,pytorch --workloads "$TMP/tiny.nnm" --runs 1 \
    --epochs 1 --limit 512 --threads 2 --data "$DATA" --out "$OUT"
  python3 - "$OUT" <<'PY' && ok || bad "the real model-file bench"
import csv, os, sys
rows = {r["contestant"]: r for r in csv.DictReader(open(os.path.join(sys.argv[1], "table.csv")))}
for c in ("nnlab", "pytorch"):
    r = rows[c]
    assert r["workload"] == "tiny" and r["status"] == "ok" and r["runs_ok"] == "1", r
    assert 0.1 < float(r["test_accuracy_mean"]) <= 1, r  # 512 samples: better than chance
PY
fi
finish
