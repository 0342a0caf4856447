#!/usr/bin/env bash
# `nnlab train --train-data/--test-data/--label/--val-split` on tables the test
# writes from the shared MNIST files (tests/integration/owndata_gen.py):
# - a CSV and an NPZ (flat and [n][28][28][1]) of the first 2000 training images
#   train step for step as `nnlab train mnist --limit 2000` does (the step logs
#   are identical: the table holds the pixels scaled as nnlab scales them);
# - --label names another target column; --val-split holds out the last part
#   of a table or of a built-in dataset as the evaluation set;
# - usage errors exit 2, bad data (non-numeric, ragged, label out of range,
#   wrong feature count, truncated zip, a FIFO, unknown extension) exits 1 with
#   a message naming the file and the place, and trains nothing.
. "$(dirname "$0")/testlib.bash"
DATA=${NNLAB_SHARED_DATA:?}
[ -f "$DATA/mnist/train-images-idx3-ubyte" ] || { echo "FAIL: no MNIST in $DATA" >&2; exit 1; }
GEN="python3 $(dirname "$0")/owndata_gen.py $DATA/mnist"
T="$NNLAB train mnist --epochs 1 --threads 2 --seed 3"

mkdir -p "$TMP/csv" "$TMP/npz" "$TMP/npz4"
$GEN "$TMP/csv" train 2000 csv && $GEN "$TMP/csv" test 500 csv && ok || bad "writing the CSV files"
$GEN "$TMP/npz" train 2000 npz && $GEN "$TMP/npz" test 500 npz && ok || bad "writing the NPZ files"
$GEN "$TMP/npz4" train 2000 npz4 && ok || bad "writing the rank-4 NPZ file"

# the built-in reference: the same 2000 samples, the same steps
expect_status 0 $T --data "$DATA" --offline --limit 2000 --quiet --step-log "$TMP/ref.log"
[ "$(wc -l <"$TMP/ref.log")" = 64 ] && ok || bad "reference step log: $(wc -l <"$TMP/ref.log") lines"

expect_status 0 $T --train-data "$TMP/csv/train.csv" --test-data "$TMP/csv/test.csv" --json \
  --step-log "$TMP/csv.log"
cp "$TMP/out" "$TMP/csv.json"
cmp -s "$TMP/ref.log" "$TMP/csv.log" && ok || bad "CSV training differs from the built-in one"
python3 - "$TMP/csv.json" <<'PY' && ok || bad "CSV run's JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["train_samples"] == 2000, d
assert d["dataset"].endswith("train.csv"), d
assert d["test_accuracy"][-1] > 0.7, d
PY
expect_status 0 $T --train-data "$TMP/npz/train.npz" --test-data "$TMP/npz/test.npz" --quiet \
  --step-log "$TMP/npz.log"
cmp -s "$TMP/ref.log" "$TMP/npz.log" && ok || bad "NPZ training differs from the built-in one"
expect_grep '^test accuracy 0\.[7-9]' "$TMP/out"
expect_status 0 $T --train-data "$TMP/npz4/train.npz" --test-data "$TMP/npz/test.npz" --quiet \
  --step-log "$TMP/npz4.log"
cmp -s "$TMP/ref.log" "$TMP/npz4.log" && ok || bad "rank-4 NPZ training differs"

# --label: another column name
sed '1s/,label$/,digit/' "$TMP/csv/test.csv" >"$TMP/digit.csv"
expect_status 0 $T --train-data "$TMP/digit.csv" --label digit --val-split 0.2 --quiet
expect_status 1 $T --train-data "$TMP/digit.csv" --val-split 0.2 --quiet
expect_grep "digit.csv: line 1 \(the header\) has no column named 'label'" "$TMP/err"

# --val-split on a table: the last 20% is the evaluation set
expect_status 0 $T --train-data "$TMP/csv/train.csv" --val-split 0.2
expect_grep '1600 training, 400 test samples' "$TMP/err"
# ... and on a built-in dataset (held out before --limit cuts the rest)
expect_status 0 $T --data "$DATA" --offline --val-split 0.05 --limit 1000
expect_grep '1000 training, 3000 test samples' "$TMP/err"

# usage errors: exit 2
expect_status 2 $T --train-data "$TMP/csv/train.csv" --test-data "$TMP/csv/test.csv" --val-split 0.1
expect_grep '--val-split and --test-data: pick one' "$TMP/err"
expect_status 2 $T --test-data "$TMP/csv/test.csv"
expect_grep '--test-data needs --train-data' "$TMP/err"
expect_status 2 $T --train-data "$TMP/csv/train.csv"
expect_grep '--test-data PATH or --val-split F' "$TMP/err"
expect_status 2 $T --train-data "$TMP/csv/train.csv" --val-split 1.5
expect_status 2 $T --train-data "$TMP/csv/train.csv" --val-split 0
expect_status 2 $T --train-data "$TMP/csv/train.csv" --dataset mnist --val-split 0.1
expect_status 2 $T --label digit

# bad data: exit 1, the file and the place named, nothing trained
bad_data() { # FILE PATTERN
  expect_status 1 $T --train-data "$1" --val-split 0.5
  expect_grep "$2" "$TMP/err"
  if grep -q '^epoch' "$TMP/out"; then bad "$1: trained anyway"; else ok; fi
}
head -3 "$TMP/csv/test.csv" >"$TMP/three.csv"
sed '3s/^[^,]*,/x,/' "$TMP/three.csv" >"$TMP/nonnum.csv"
bad_data "$TMP/nonnum.csv" "nonnum.csv: line 3, column 1: 'x' is not a number"
sed '3s/,[^,]*$//' "$TMP/three.csv" >"$TMP/ragged.csv"
bad_data "$TMP/ragged.csv" "ragged.csv: line 3 has 784 cells, the header has 785"
sed '3s/,[^,]*$/,10/' "$TMP/three.csv" >"$TMP/label10.csv"
bad_data "$TMP/label10.csv" "label10.csv: line 3, column 785 \('label'\): label 10 is too large; expected a class index 0..9"
sed '2s/^[^,]*,/nan,/' "$TMP/three.csv" >"$TMP/nan.csv"
bad_data "$TMP/nan.csv" "nan.csv: line 2, column 1: 'nan' is NaN"
printf 'a,b,label\n1,2,0\n3,4,1\n' >"$TMP/small.csv"
bad_data "$TMP/small.csv" "small.csv: the table has 2 features a sample, the model takes 28x28x1 = 784 inputs"
head -c 5000 "$TMP/npz/test.npz" >"$TMP/cut.npz"
bad_data "$TMP/cut.npz" "cut.npz: not a readable zip archive"
mkfifo "$TMP/fifo.csv"
expect_status 1 timeout 20 $T --train-data "$TMP/fifo.csv" --val-split 0.5
expect_grep "fifo.csv: is a FIFO, not a regular file" "$TMP/err"
cp "$TMP/three.csv" "$TMP/three.txt"
bad_data "$TMP/three.txt" "three.txt: unknown kind of data file: expected a name ending in .csv or .npz"
bad_data "$TMP/missing.csv" "missing.csv: cannot open"
# regression: a model file with the mse loss on a CSV of y = 3a - 2b + 0.5; the
# loss falls, the output speaks of losses (no accuracy, no nan), --json's
# accuracy is null and predict writes one value a row
python3 - "$TMP/reg.csv" <<'PY'
import random, sys
random.seed(1)
with open(sys.argv[1], "w") as f:
    f.write("a,b,label\n")
    for _ in range(400):
        a, b = random.random(), random.random()
        f.write("%r,%r,%r\n" % (a, b, 3 * a - 2 * b + 0.5))
PY
printf 'input 2\ndense 8 tanh\ndense 1\nloss mse\noptimizer adam lr=0.01\nepochs 20\nbatch 16\n' >"$TMP/reg.nnm"
expect_status 0 "$NNLAB" train "$TMP/reg.nnm" --train-data "$TMP/reg.csv" --val-split 0.2 --quiet --save "$TMP/reg.nlm"
"$NNLAB" train "$TMP/reg.nnm" --train-data "$TMP/reg.csv" --val-split 0.2 --quiet >"$TMP/reg.txt" 2>&1
expect_grep '^test loss 0\.0' "$TMP/reg.txt"
grep -qi 'nan' "$TMP/reg.txt" && bad "mse output prints nan" || ok
"$NNLAB" train "$TMP/reg.nnm" --train-data "$TMP/reg.csv" --val-split 0.2 --quiet --json >"$TMP/reg.json" 2>&1
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); h=d['history']; assert h['test_loss'][-1] < h['test_loss'][0] / 10, h['test_loss']; assert 'accuracy' not in h or all(a is None for a in h['accuracy'])" "$TMP/reg.json" && ok || bad "mse --json: history or accuracy wrong"
"$NNLAB" predict --model "$TMP/reg.nlm" "$TMP/reg.csv" >"$TMP/reg.pred" 2>&1
[ "$(head -1 "$TMP/reg.pred")" = y0 ] && [ "$(wc -l <"$TMP/reg.pred")" = 401 ] && ok || bad "predict of an mse model: not y0 and 400 rows"
finish
