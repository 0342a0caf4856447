#!/usr/bin/env bash
# Model files on the command line: `nnlab models` lists the shipped ones and
# summarises every model named (Keras-style, rows that sum to the total);
# `nnlab train FILE.nnm` trains a file as it trains a name (the shipped
# mnist.nnm gives the same results as `train mnist`), its lines are defaults
# the options override, errors name the file's line and column; `nnlab eval`
# finds the dataset of a model trained from a file.
. "$(dirname "$0")/testlib.bash"
: "${NNLAB_SRC:?}" "${NNLAB_SHARED_DATA:?}"
D=$NNLAB_SHARED_DATA

expect_status 0 "$NNLAB" models
for m in mnist mnist-keras-paper cifar10 cifar10-keras-paper vgg-cifar10; do
  expect_grep "^  $m +(mnist|cifar10) +[A-Z]" "$TMP/out"
done

# every name summarised, not only the last; the rows add up to the total
expect_status 0 "$NNLAB" models mnist cifar10
expect_grep '^Model: "mnist"' "$TMP/out"
expect_grep '^Model: "cifar10"' "$TMP/out"
expect_grep '^ flatten \(Flatten\) \*' "$TMP/out"
expect_grep '^ batchnorm \(BatchNormalization\) +\(None, 30, 30, 32\) +128$' "$TMP/out"
expect_grep '^Total params: 167,946 \(671,784 bytes\)$' "$TMP/out"
expect_grep '^Trainable params: 167,754 ' "$TMP/out"
expect_grep '^Non-trainable params: 192 \(768 bytes\)$' "$TMP/out"
sum=$(awk '/^Model: "cifar10"/ {on = 1} on && /^=+$/ {n++; next} on && n == 1 {gsub(",", "", $NF); s += $NF} END {print s}' "$TMP/out")
[ "$sum" = 167946 ] && ok || bad "cifar10 rows sum to $sum, not 167946"
expect_status 2 "$NNLAB" models mnist nosuch
expect_grep "unknown workload 'nosuch'" "$TMP/err"
[ ! -s "$TMP/out" ] && ok || bad "models printed a summary before refusing 'nosuch'"

# a file trains as its name does
"$NNLAB" train mnist --data "$D" --epochs 1 --limit 2000 --threads 1 --json --quiet >"$TMP/a.json" || bad "train mnist"
"$NNLAB" train "$NNLAB_SRC/models/mnist.nnm" --data "$D" --epochs 1 --limit 2000 --threads 1 --json --quiet >"$TMP/b.json" ||
  bad "train mnist.nnm"
pick() { grep -o '"final_loss": [^,]*, "test_accuracy": \[[^]]*\]' "$1"; }
[ -n "$(pick "$TMP/a.json")" ] && [ "$(pick "$TMP/a.json")" = "$(pick "$TMP/b.json")" ] && ok ||
  bad "mnist.nnm and mnist differ: $(pick "$TMP/a.json") / $(pick "$TMP/b.json")"

# the file's lines are the defaults; options override them
cat >"$TMP/my.nnm" <<'NNM'
# a small MLP
dataset mnist
input 28 28 1
flatten
dense 16 relu
dense 10
softmax
optimizer sgd lr=0.05 momentum=0.9
batch 50
epochs 2
seed 7
NNM
expect_status 0 "$NNLAB" train "$TMP/my.nnm" --data "$D" --limit 500 --threads 1 --json --quiet --save "$TMP/m.nlm"
expect_grep '"epochs": 2, "batch": 50, "threads": 1, "seed": 7, "optimizer": "sgd", "lr": 0.05' "$TMP/out"
expect_status 0 "$NNLAB" train "$TMP/my.nnm" --data "$D" --limit 500 --threads 1 --json --quiet --epochs 1 --batch 20 --seed 3 --lr 0.01
expect_grep '"epochs": 1, "batch": 20, "threads": 1, "seed": 3, "optimizer": "sgd", "lr": 0.01' "$TMP/out"
expect_status 0 "$NNLAB" eval --model "$TMP/m.nlm" --data "$D" --json
expect_grep '"dataset": "mnist"' "$TMP/out"

# errors name the file, line and column; a layer that does not fit is exit 1, nothing trained
printf 'input 4 4 1\nmaxpool2d 8\n' >"$TMP/bad.nnm"
expect_status 1 "$NNLAB" train "$TMP/bad.nnm" --data "$D"
expect_grep "bad.nnm:2:1: maxpool2d 8 on a 4x4x1 input" "$TMP/err"
expect_status 1 "$NNLAB" models "$TMP/bad.nnm"
printf 'input 784\ndense 10 softmax\n' >"$TMP/nodata.nnm"
expect_status 2 "$NNLAB" train "$TMP/nodata.nnm" --data "$D"
expect_grep "names no dataset: pass --dataset" "$TMP/err"
expect_status 2 "$NNLAB" train "$TMP/my.nnm" --dataset cifar10 --data "$D"
expect_grep "model file '.*my.nnm' takes 28x28x1 inputs \(784 values\), dataset 'cifar10'" "$TMP/err"
expect_status 1 "$NNLAB" train "$TMP/missing.nnm" --data "$D"
finish
