#!/usr/bin/env bash
# `nnlab predict`: a model trained on MNIST (--save) predicts the 10000 test
# images written as a CSV and as an NPZ (tests/integration/owndata_gen.py):
# - the classes it writes agree with `nnlab eval`'s accuracy on the same set;
# - the header is class,p0..p9, one row per sample, probabilities sum to 1;
# - CSV with or without a label column, NPZ with or without y, stdout and
#   --output give the same rows; --output replaces a regular file only, and
#   leaves no temporary file behind;
# - errors: missing --model or INPUT (exit 2), a table of the wrong width, a
#   missing model file (exit 1).
. "$(dirname "$0")/testlib.bash"
DATA=${NNLAB_SHARED_DATA:?}
[ -f "$DATA/mnist/t10k-images-idx3-ubyte" ] || { echo "FAIL: no MNIST in $DATA" >&2; exit 1; }
GEN="python3 $(dirname "$0")/owndata_gen.py $DATA/mnist"

expect_status 0 "$NNLAB" train mnist --data "$DATA" --offline --epochs 1 --limit 3000 --threads 2 \
  --quiet --save "$TMP/m.nlm"
expect_status 0 "$NNLAB" eval --model "$TMP/m.nlm" --data "$DATA" --threads 2 --json
acc=$(python3 -c 'import json,sys; print("%.4f" % json.load(open(sys.argv[1]))["test_accuracy"])' "$TMP/out")
echo "eval: test accuracy $acc"

mkdir -p "$TMP/csv" "$TMP/nolabel" "$TMP/npz" "$TMP/npzx"
$GEN "$TMP/csv" test 10000 csv && $GEN "$TMP/nolabel" test 10000 csv-nolabel &&
  $GEN "$TMP/npz" test 10000 npz && $GEN "$TMP/npzx" test 10000 npz-x && ok || bad "writing the tables"

expect_status 0 "$NNLAB" predict --model "$TMP/m.nlm" "$TMP/csv/test.csv" --threads 2 \
  --output "$TMP/pred.csv"
[ ! -s "$TMP/out" ] && ok || bad "predict --output wrote to stdout"
python3 - "$TMP/pred.csv" "$TMP/csv/test.csv" "$acc" <<'PY' && ok || bad "predictions vs eval"
import sys
pred = open(sys.argv[1]).read().splitlines()
assert pred[0] == "class," + ",".join("p%d" % k for k in range(10)), pred[0]
rows = [r.split(",") for r in pred[1:]]
assert len(rows) == 10000, len(rows)
labels = [int(l.rsplit(",", 1)[1]) for l in open(sys.argv[2]).read().splitlines()[1:]]
right = 0
for r, lab in zip(rows, labels):
    c, p = int(r[0]), [float(v) for v in r[1:]]
    assert len(p) == 10 and abs(sum(p) - 1) < 1e-5, r
    assert p[c] == max(p), r
    right += c == lab
got = "%.4f" % (right / 10000)
print("predict: accuracy", got)
assert got == sys.argv[3], (got, sys.argv[3])
PY

# the other inputs and stdout give the same rows
for input in nolabel/test.csv npz/test.npz npzx/test.npz; do
  expect_status 0 "$NNLAB" predict --model "$TMP/m.nlm" "$TMP/$input" --threads 2
  cmp -s "$TMP/out" "$TMP/pred.csv" && ok || bad "predict $input differs from the CSV's rows"
done
expect_status 0 "$NNLAB" predict --model "$TMP/m.nlm" "$TMP/csv/test.csv" --threads 2 --batch 7
# another batch size may round the last bits otherwise: the classes stay
cut -d, -f1 "$TMP/out" >"$TMP/c7"
cut -d, -f1 "$TMP/pred.csv" >"$TMP/c256"
cmp -s "$TMP/c7" "$TMP/c256" && ok || bad "predict --batch 7 gives other classes"

# --output: replaces a regular file, refuses a FIFO or a directory
echo old >"$TMP/old.csv"
expect_status 0 "$NNLAB" predict --model "$TMP/m.nlm" "$TMP/npz/test.npz" --output "$TMP/old.csv"
cmp -s "$TMP/old.csv" "$TMP/pred.csv" && ok || bad "--output did not replace the file"
mkfifo "$TMP/fifo"
expect_status 1 timeout 20 "$NNLAB" predict --model "$TMP/m.nlm" "$TMP/npz/test.npz" --output "$TMP/fifo"
expect_grep 'is a FIFO; only a regular file is replaced' "$TMP/err"
[ -p "$TMP/fifo" ] && ok || bad "the FIFO was replaced"
mkdir "$TMP/dir"
expect_status 1 "$NNLAB" predict --model "$TMP/m.nlm" "$TMP/npz/test.npz" --output "$TMP/dir"
if ls "$TMP" | grep -q '\.tmp\.'; then bad "a temporary file was left: $(ls "$TMP")"; else ok; fi

# errors
expect_status 2 "$NNLAB" predict "$TMP/csv/test.csv"
expect_grep 'missing --model FILE' "$TMP/err"
expect_status 2 "$NNLAB" predict --model "$TMP/m.nlm"
expect_grep 'missing INPUT' "$TMP/err"
printf 'a,b\n1,2\n' >"$TMP/narrow.csv"
expect_status 1 "$NNLAB" predict --model "$TMP/m.nlm" "$TMP/narrow.csv"
expect_grep 'narrow.csv: the table has 2 features a sample, the model takes 28x28x1 = 784 inputs' "$TMP/err"
expect_status 1 "$NNLAB" predict --model "$TMP/missing.nlm" "$TMP/narrow.csv"
expect_grep 'missing.nlm' "$TMP/err"
finish
