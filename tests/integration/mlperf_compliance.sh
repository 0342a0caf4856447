#!/usr/bin/env bash
# The event logs pass the official MLPerf compliance checker (mlperf-logging,
# pinned in mlperf/requirements.txt) with nnlab's rules file mlperf/nnlab.yaml:
# nnlab's own log, and the PyTorch peer's when /usr/bin/python3 has torch. The
# checker runs in a venv this test makes (kept in the build directory for the
# next run); skipped, with the reason, when the package cannot be installed.
# Also: the rules are not vacuous (a log without the standard keys, or with a
# benchmark that is not an nnlab workload, fails).
. "$(dirname "$0")/testlib.bash"
DATA=${NNLAB_SHARED_DATA:?}
SRC=${NNLAB_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
RULES="$SRC/mlperf/nnlab.yaml"
REQ="$SRC/mlperf/requirements.txt"
if [ ! -e "$DATA/mnist/train-images-idx3-ubyte" ] && [ ! -e "$DATA/mnist/train-images-idx3-ubyte.gz" ]; then
    echo "SKIP: no MNIST in $DATA"
    finish
    exit 0
fi
VENV="${NNLAB_BUILD:-$TMP}/mlperf-venv"
if ! cmp -s "$REQ" "$VENV/requirements.txt" 2>/dev/null; then
    rm -rf "$VENV"
    if ! /usr/bin/python3 -m venv "$VENV" >"$TMP/venv.log" 2>&1; then
        echo "SKIP: /usr/bin/python3 -m venv failed (python3-venv missing?): $(tail -1 "$TMP/venv.log")"
        rm -rf "$VENV"
        finish
        exit 0
    fi
    if ! timeout 600 "$VENV/bin/pip" install --disable-pip-version-check -q -r "$REQ" >"$TMP/pip.log" 2>&1; then
        echo "SKIP: cannot install $(grep -v '^#' "$REQ" | head -1) (no package index?): $(tail -2 "$TMP/pip.log" | tr '\n' ' ')"
        rm -rf "$VENV"
        finish
        exit 0
    fi
    cp "$REQ" "$VENV/requirements.txt"
fi
checker() { # LOG: the checker's verdict on LOG, its output in $TMP/cc.out
    "$VENV/bin/python" -m mlperf_logging.compliance_checker --usage training --config "$RULES" \
        --log_output "$TMP/cc.log" "$1" >"$TMP/cc.out" 2>&1
}

# nnlab's log, with the default submission fields and with options
expect_status 0 "$NNLAB" train mnist --data "$DATA" --offline --epochs 2 --limit 2000 --quiet --events "$TMP/nnlab.ev"
checker "$TMP/nnlab.ev" && ok || bad "checker rejects nnlab's log: $(tail -20 "$TMP/cc.out")"
expect_grep "SUCCESS" "$TMP/cc.out"
for k in submission_org submission_platform submission_division submission_status cache_clear \
    global_batch_size opt_name opt_base_learning_rate seed train_samples eval_samples eval_start \
    eval_stop block_start block_stop epoch_count; do
    expect_grep "\"$k\"" "$TMP/nnlab.ev"
done
expect_grep '"key": "global_batch_size", "value": 32,' "$TMP/nnlab.ev"
expect_grep '"key": "train_samples", "value": 2000,' "$TMP/nnlab.ev"
expect_grep '"key": "eval_samples", "value": 10000,' "$TMP/nnlab.ev"
expect_grep '"key": "opt_name", "value": "adam",' "$TMP/nnlab.ev"
expect_status 0 "$NNLAB" train mnist --data "$DATA" --offline --epochs 1 --limit 500 --quiet --batch 50 \
    --optimizer sgd --lr 0.05 --seed 7 --submission-org "ACME \"labs\"" --submission-platform "test rig" \
    --submission-division closed --submission-status onprem --events "$TMP/opts.ev"
checker "$TMP/opts.ev" && ok || bad "checker rejects the log with options: $(tail -20 "$TMP/cc.out")"
expect_grep '"key": "submission_org", "value": "ACME \\"labs\\"",' "$TMP/opts.ev"
expect_grep '"key": "submission_division", "value": "closed",' "$TMP/opts.ev"
expect_grep '"key": "opt_base_learning_rate", "value": 0.05,' "$TMP/opts.ev"
expect_grep '"key": "seed", "value": 7,' "$TMP/opts.ev"
expect_status 2 "$NNLAB" train mnist --submission-division private

# the rules check something: each of these logs fails
grep -v '"key": "\(submission_org\|cache_clear\|eval_samples\|train_samples\)"' "$TMP/nnlab.ev" >"$TMP/old.ev"
checker "$TMP/old.ev" && bad "checker accepts a log without the standard keys" || ok
grep -v '"key": "eval_stop"' "$TMP/nnlab.ev" >"$TMP/noeval.ev"
checker "$TMP/noeval.ev" && bad "checker accepts a log without eval_stop" || ok
sed 's/"key": "submission_benchmark", "value": "mnist"/"key": "submission_benchmark", "value": "resnet"/' "$TMP/nnlab.ev" >"$TMP/resnet.ev"
checker "$TMP/resnet.ev" && bad "checker accepts a benchmark that is not an nnlab workload" || ok
sed 's/"status": "success"/"status": "aborted"/' "$TMP/nnlab.ev" >"$TMP/aborted.ev"
checker "$TMP/aborted.ev" && bad "checker accepts an aborted run" || ok

# the PyTorch peer's log
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    expect_status 0 timeout 300 /usr/bin/python3 "$SRC/peers/torch_train.py" --workload mnist --data "$DATA" \
        --epochs 2 --limit 2000 --threads 2 --quiet --events "$TMP/torch.ev"
    checker "$TMP/torch.ev" && ok || bad "checker rejects the torch peer's log: $(tail -20 "$TMP/cc.out")"
else
    echo "SKIP: /usr/bin/python3 has no torch: the peer's log is not checked"
fi
finish
