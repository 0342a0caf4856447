#!/usr/bin/env bash
# The CLI contract: help, version, usage errors (exit 2), runtime errors (exit 1).
. "$(dirname "$0")/testlib.bash"

expect_status 0 "$NNLAB" --help;          expect_grep 'Usage: nnlab COMMAND' "$TMP/out"
expect_status 0 "$NNLAB" --version;       expect_grep '^nnlab [0-9]+\.[0-9]+' "$TMP/out"
expect_status 2 "$NNLAB";                 expect_grep 'Usage' "$TMP/err"
expect_status 2 "$NNLAB" frobnicate;      expect_grep "unknown command 'frobnicate'" "$TMP/err"
expect_status 0 "$NNLAB" train --help;    expect_grep 'epochs N' "$TMP/out"
expect_status 0 "$NNLAB" eval --help;     expect_grep 'model FILE' "$TMP/out"
expect_status 0 "$NNLAB" models --help
expect_status 2 "$NNLAB" train;           expect_grep 'missing MODEL' "$TMP/err"
expect_status 2 "$NNLAB" train mnist --epochs 0;     expect_grep "invalid value '0' for --epochs" "$TMP/err"
expect_status 2 "$NNLAB" train mnist --batch x;      expect_grep "Try 'nnlab train --help'" "$TMP/err"
expect_status 2 "$NNLAB" train mnist --bogus;        expect_grep "unknown option '--bogus'" "$TMP/err"
expect_status 2 "$NNLAB" train resnet;               expect_grep "unknown workload 'resnet'" "$TMP/err"
expect_status 2 "$NNLAB" train mnist --optimizer rmsprop; expect_grep "rmsprop" "$TMP/err"
expect_status 2 "$NNLAB" train mnist --epochs;       expect_grep "needs a value" "$TMP/err"
expect_status 2 "$NNLAB" eval;                       expect_grep "missing --model" "$TMP/err"

# models: a Keras-style summary with the right parameter totals
expect_status 0 "$NNLAB" models mnist mnist-keras-paper
expect_grep 'Total params: 101,770' "$TMP/out"
expect_grep 'Total params: 118,282' "$TMP/out"
expect_grep 'dense \(Dense, relu\) +\(None, 128\) +100,480' "$TMP/out"

# missing data: runtime error naming where it looked and how to get the files
mkdir -p "$TMP/empty"
expect_status 1 "$NNLAB" train mnist --data "$TMP/empty" --quiet --offline
expect_grep "$TMP/empty/mnist" "$TMP/err"
expect_grep 'nnlab data fetch mnist' "$TMP/err"
expect_status 1 "$NNLAB" train mnist --data "$TMP/does-not-exist" --quiet
expect_grep 'not a directory' "$TMP/err"
NNLAB_OFFLINE=1 NNLAB_DATA="$TMP/empty" expect_status 1 "$NNLAB" train mnist --quiet
expect_grep "$TMP/empty/mnist" "$TMP/err"

# eval on files that are not models
echo "not a model" > "$TMP/junk.nnlab"
expect_status 1 "$NNLAB" eval --model "$TMP/junk.nnlab" --data "$TMP/empty"
expect_grep 'junk.nnlab' "$TMP/err"
expect_status 1 "$NNLAB" eval --model "$TMP/none.nnlab"
expect_grep 'none.nnlab: cannot open' "$TMP/err"
finish
