#!/usr/bin/env bash
# The peers' reader of model files (peers/nnm.py): every directive, every error
# with its line and column, the schedule formula, and the shipped models/*.nnm
# against the workloads the peers know (peers/test_nnm.py). Then the peers on a
# model file with their own .csv / .npz data, as far as this machine's Python has
# the frameworks: bad data is an error naming file and row, a bad model file one
# naming file:line:col, and nothing is trained.
. "$(dirname "$0")/testlib.bash"
SRC=${NNLAB_SRC:?}
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
expect_status 0 $PY "$SRC/peers/test_nnm.py" -v
expect_grep '^OK' "$TMP/err"
grep -E ' \.\.\. (FAIL|ERROR)' "$TMP/err" >&2

if ! $PY -c 'import numpy' 2>/dev/null; then
  echo "note: no numpy for $PY: the data checks are not run"
  finish
  exit $?
fi
T="$SRC/peers/torch_train.py"
cd "$TMP" || exit 1
$PY - <<'PY'
import numpy as np
r = np.random.default_rng(1)
x = r.normal(size=(64, 3)).astype(np.float32)
np.savez("reg.npz", x=x, y=np.stack([x.sum(1), x[:, 0]], 1))
np.savez("cls.npz", x=x, y=(x[:, 0] > 0).astype(np.int64))
np.savez("short.npz", x=x, y=np.zeros(10))
np.savez("bad_dtype.npz", x=x.astype(np.float16), y=np.zeros(64))
with open("cls.csv", "w") as f:
    f.write("a,target,b,c\n")
    for i in range(64):
        f.write("%g,%d,%g,%g\n" % (x[i, 0], int(x[i, 0] > 0), x[i, 1], x[i, 2]))
PY
printf 'input 3\ndense 4 tanh\nbatchnorm\ndense 2\nloss mse\noptimizer sgd lr=0.05 momentum=0.9\nschedule step gamma=0.5\nepochs 2\n' >reg.nnm
printf 'input 3\ndense 4 relu\ndense 2 softmax\nepochs 2\nbatch 8\n' >cls.nnm
printf 'a,label\n1,0\n' >narrow.csv
printf 'a,b,c,label\n1,2,3,0\n1,nan,3,1\n' >nan.csv
printf 'a,b,c,label\n1,2,3,0\n1,2,3\n' >ragged.csv
printf 'PK\003\004 truncated' >trunc.npz
printf 'input 3\ndense 4 relu\nmaxpool2d 2\ndense 2 softmax\n' >bad.nnm

if $PY -c 'import torch' 2>/dev/null; then
  expect_status 0 $PY "$T" --model reg.nnm --train-data reg.npz --test-data reg.npz --json --events ev --quiet
  $PY -c 'import json,sys; d=json.loads(open(sys.argv[1]).read().splitlines()[-1]); h=d["history"]
assert d["loss"]=="mse" and d["epochs"]==2 and d["optimizer"]=="sgd" and d["test_accuracy"]==[], d
assert len(h["loss"])==2 and len(h["test_loss"])==2 and h["accuracy"]==[] and len(h["epoch_seconds"])==2, h' "$TMP/out" && ok || bad "mse JSON"
  expect_grep '"key": "eval_loss"' ev
  expect_status 0 $PY "$T" --model cls.nnm --train-data cls.csv --label target --test-data cls.csv --json --events /dev/null --quiet --epochs 3 --batch 16 --seed 3
  $PY -c 'import json,sys; d=json.loads(open(sys.argv[1]).read().splitlines()[-1]); h=d["history"]
assert (d["epochs"], d["batch"], d["seed"], d["train_samples"]) == (3, 16, 3, 64), d
assert len(h["accuracy"])==3 and len(h["test_accuracy"])==3 and len(h["test_loss"])==3, h' "$TMP/out" && ok || bad "crossentropy JSON (the CLI overrides the file)"
  expect_status 0 $PY "$T" --model cls.nnm --train-data cls.npz --events /dev/null --quiet
fi
# Keras, where a venv of peers/README.md has it (not in CI): the same files
for b in jax tensorflow; do
  v=keras-$([ $b = jax ] && echo jax || echo tf)
  KERAS_BACKEND=$b "$SRC/.venv-peers/$v/bin/python" -c "import keras, $b" 2>/dev/null || { echo "note: no .venv-peers/$v: Keras on $b not run"; continue; }
  K="$SRC/peers/keras_train.py"
  expect_status 0 $PY "$K" --backend $b --model reg.nnm --train-data reg.npz --test-data reg.npz --json --events ev --quiet
  $PY -c 'import json,sys; d=json.loads(open(sys.argv[1]).read().splitlines()[-1]); h=d["history"]
assert d["loss"]=="mse" and d["framework"].startswith("keras") and len(h["test_loss"])==2 and h["accuracy"]==[], d' "$TMP/out" && ok || bad "keras $b mse JSON"
  expect_status 0 $PY "$K" --backend $b --model cls.nnm --train-data cls.csv --label target --test-data cls.csv --json --events /dev/null --quiet
  $PY -c 'import json,sys; d=json.loads(open(sys.argv[1]).read().splitlines()[-1]); h=d["history"]
assert len(h["accuracy"])==2 and len(h["test_accuracy"])==2 and d["batch"]==8, d' "$TMP/out" && ok || bad "keras $b crossentropy JSON"
done

# errors come before the framework is imported or the data is trained on
expect_status 1 $PY "$T" --model cls.nnm --train-data cls.csv --events /dev/null
expect_grep "cls.csv: no column 'label' for the target \(columns: a, target, b, c" "$TMP/err"
expect_status 1 $PY "$T" --model cls.nnm --train-data nan.csv --events /dev/null
expect_grep "nan.csv: row 3, column 2 \(b\): 'nan' is not a finite number" "$TMP/err"
expect_status 1 $PY "$T" --model cls.nnm --train-data ragged.csv --events /dev/null
expect_grep "ragged.csv: row 3 has 3 cells, the header has 4" "$TMP/err"
expect_status 1 $PY "$T" --model cls.nnm --train-data narrow.csv --events /dev/null
expect_grep "narrow.csv: 1 values per sample .*the model's input is 3" "$TMP/err"
expect_status 1 $PY "$T" --model cls.nnm --train-data short.npz --events /dev/null
expect_grep "short.npz: x has 64 samples, y has 10" "$TMP/err"
expect_status 1 $PY "$T" --model cls.nnm --train-data bad_dtype.npz --events /dev/null
expect_grep "bad_dtype.npz: array x has dtype float16" "$TMP/err"
expect_status 1 $PY "$T" --model cls.nnm --train-data trunc.npz --events /dev/null
expect_grep "trunc.npz: not a readable .npz file" "$TMP/err"
expect_status 1 $PY "$T" --model reg.nnm --train-data cls.npz --events /dev/null
expect_grep "cls.npz: 1 targets per sample, the model has 2 outputs" "$TMP/err"
expect_status 1 $PY "$T" --model bad.nnm --train-data cls.csv --events /dev/null
expect_grep "bad.nnm:3:1: maxpool2d 2 on a flat input" "$TMP/err"
expect_status 1 $PY "$T" --model cls.nnm --events /dev/null
expect_grep "cls.nnm names no dataset: give --dataset NAME or --train-data FILE" "$TMP/err"
expect_status 1 $PY "$T" --model missing.nnm --events /dev/null
expect_grep "missing.nnm: cannot read the model file" "$TMP/err"
expect_status 2 $PY "$T" --model cls.nnm --test-data cls.csv --events /dev/null
expect_status 2 $PY "$T" --model cls.nnm --dataset mnist --train-data cls.csv --events /dev/null
expect_status 2 $PY "$T" --model cls.nnm --workload mnist --events /dev/null
finish
