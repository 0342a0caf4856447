#!/usr/bin/env bash
# --resume and --save-every-epoch on real MNIST (--limit keeps it short):
# training 3 epochs equals training 2, saving, and resuming with --epochs 3
# (the total), bit for bit: the saved files are compared byte for byte and the
# --json histories to every digit. Also: a checkpoint written after every
# epoch, a step schedule carried by the checkpoint, and the errors of a
# resume that does not fit (another model, other data, changed options).
. "$(dirname "$0")/testlib.bash"
DATA=${NNLAB_SHARED_DATA:?}
[ -f "$DATA/mnist/train-images-idx3-ubyte" ] || { echo "FAIL: no MNIST in $DATA" >&2; exit 1; }
T=(train mnist --data "$DATA" --offline --limit 1500 --threads 2 --quiet --seed 3)

expect_status 0 "$NNLAB" "${T[@]}" --epochs 3 --json --save "$TMP/full.nnlab" --save-every-epoch "$TMP/every.nnlab"
cp "$TMP/out" "$TMP/full.json"
expect_status 0 "$NNLAB" "${T[@]}" --epochs 2 --save "$TMP/two.nnlab"
expect_status 0 "$NNLAB" "${T[@]}" --epochs 3 --json --resume "$TMP/two.nnlab" --save "$TMP/resumed.nnlab"
cp "$TMP/out" "$TMP/resumed.json"
cmp "$TMP/full.nnlab" "$TMP/resumed.nnlab" && ok || bad "2 epochs + resume to 3 differs from 3 epochs"
# the checkpoint of the last epoch is the --save file
cmp "$TMP/full.nnlab" "$TMP/every.nnlab" && ok || bad "--save-every-epoch's last checkpoint differs from --save"
python3 - "$TMP/full.json" "$TMP/resumed.json" <<'PY' && ok || bad "history"
import json, sys
f = json.load(open(sys.argv[1])); r = json.load(open(sys.argv[2]))
h, g = f["history"], r["history"]
for k in ["loss", "accuracy", "test_loss", "test_accuracy", "epoch_seconds"]:
    assert len(h[k]) == 3 and len(g[k]) == 1, (k, h[k], g[k])
for k in ["loss", "accuracy", "test_loss", "test_accuracy"]:
    assert repr(h[k][2]) == repr(g[k][0]), (k, h[k][2], g[k][0])  # every digit
assert h["loss"][0] > h["loss"][2]
assert f["initial_epoch"] == 0 and r["initial_epoch"] == 2 and r["epochs"] == 3
assert f["final_loss"] == r["final_loss"] and f["test_accuracy"][2] == r["test_accuracy"][0]
for k in ["workload", "epochs", "batch", "threads", "seed", "train_seconds", "total_seconds",
          "samples_per_second", "final_loss", "test_accuracy", "epoch_seconds", "peak_rss_mib"]:
    assert k in r, k
PY

# a step schedule with warm-up: the checkpoint carries it (not given again)
S=(--schedule step --step-size 1 --gamma 0.5 --warmup 20)
expect_status 0 "$NNLAB" "${T[@]}" --epochs 3 "${S[@]}" --save "$TMP/sfull.nnlab"
expect_status 0 "$NNLAB" "${T[@]}" --epochs 1 "${S[@]}" --save "$TMP/sone.nnlab"
expect_status 0 "$NNLAB" "${T[@]}" --epochs 3 --resume "$TMP/sone.nnlab" --save "$TMP/sres.nnlab"
cmp "$TMP/sfull.nnlab" "$TMP/sres.nnlab" && ok || bad "step schedule: resumed run differs"
cmp -s "$TMP/sfull.nnlab" "$TMP/full.nnlab" && bad "the schedule changed nothing" || ok

# resumes that do not fit: named, exit 1 (2 for options a resume cannot change)
expect_status 1 "$NNLAB" train mnist-keras-paper --data "$DATA" --offline --limit 1500 --quiet --epochs 3 --resume "$TMP/two.nnlab"
expect_grep "its model \('mnist'\) has 3 layers, the model of 'mnist-keras-paper' 4" "$TMP/err"
expect_status 1 "$NNLAB" train mnist --data "$DATA" --offline --limit 1000 --quiet --epochs 3 --resume "$TMP/two.nnlab"
expect_grep "trained on 1500 samples an epoch, this training set has 1000" "$TMP/err"
expect_status 1 "$NNLAB" "${T[@]}" --epochs 2 --resume "$TMP/two.nnlab"
expect_grep "nothing left to train" "$TMP/err"
expect_status 1 "$NNLAB" "${T[@]}" --epochs 3 --batch 64 --resume "$TMP/two.nnlab"
expect_grep "seed 3, batch 32" "$TMP/err"
expect_status 2 "$NNLAB" "${T[@]}" --epochs 3 --lr 0.01 --resume "$TMP/two.nnlab"
expect_grep "\-\-lr cannot be given with --resume" "$TMP/err"
expect_status 0 "$NNLAB" "${T[@]}" --epochs 1 --save-init "$TMP/init.nnlab"
expect_status 1 "$NNLAB" "${T[@]}" --epochs 3 --resume "$TMP/init.nnlab"
expect_grep "holds no training state" "$TMP/err"
expect_status 1 "$NNLAB" "${T[@]}" --epochs 3 --resume "$TMP/missing.nnlab"
expect_grep "missing.nnlab" "$TMP/err"
# --save-every-epoch refuses what --save refuses (a directory), before any damage
mkdir "$TMP/adir"
expect_status 1 "$NNLAB" "${T[@]}" --epochs 1 --save-every-epoch "$TMP/adir"
expect_grep "is a directory" "$TMP/err"
finish
