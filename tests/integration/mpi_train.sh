#!/usr/bin/env bash
# mpirun -np 2 nnlab train on this machine (docs/distributed.md): per-step
# losses within 1e-5 relative of one process with the same global batch (a
# model without batch norm, with dropout; an even and an uneven split of the
# batch), the same test accuracy; bit-identical run after run; rank 0 the only
# writer (each rank in its own working directory: the other one stays empty).
. "$(dirname "$0")/mpi_common.bash"
need_mpi_build
[ -f "$DATA/mnist/train-images-idx3-ubyte" ] || { echo "FAIL: no MNIST in $DATA" >&2; exit 1; }
T=(train mnist --data "$DATA" --offline --threads 1 --quiet --seed 5 --epochs 2)

for cfg in "--limit 1600 --batch 32" "--limit 1000 --batch 33"; do
  # shellcheck disable=SC2086
  expect_status 0 "$NNLAB" "${T[@]}" $cfg --json --step-log "$TMP/one.csv"
  cp "$TMP/out" "$TMP/one.json"
  # shellcheck disable=SC2086
  expect_status 0 "${MPIRUN[@]}" -np 2 "$NNLAB" "${T[@]}" $cfg --json --step-log "$TMP/two.csv"
  cp "$TMP/out" "$TMP/two.json"
  same_losses "$TMP/one.csv" "$TMP/two.csv" 1e-5 && ok || bad "$cfg: per-step losses of 2 ranks"
  python3 - "$TMP/one.json" "$TMP/two.json" <<'PY' && ok || bad "$cfg: the JSON of 2 ranks"
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
assert "ranks" not in a and b["ranks"] == 2 and b["sync_bn"] is False, b
assert a["train_samples"] == b["train_samples"] and a["batch"] == b["batch"]
for x, y in zip(a["history"]["loss"], b["history"]["loss"]):
    assert abs(x - y) <= 1e-5 * abs(x), (x, y)
# evaluation split across the ranks, counts summed: the whole test set
for x, y in zip(a["test_accuracy"], b["test_accuracy"]):
    assert abs(x - y) <= 0.002, (x, y)
PY
done

# cifar10 (batch norm): --sync-bn takes the statistics over the whole global
# batch and matches one process, fused (conv -> BN -> pool as one step) and
# not (NNLAB_FUSE=0); without it each rank normalises its own slice (as DDP
# without SyncBatchNorm), which differs
if [ -f "$DATA/cifar-10-batches-bin/data_batch_1.bin" ]; then
  C=(train cifar10 --data "$DATA" --offline --threads 1 --quiet --seed 4 --epochs 1 --limit 320)
  for fuse in 1 0; do
    expect_status 0 env NNLAB_FUSE=$fuse "$NNLAB" "${C[@]}" --step-log "$TMP/c1.csv"
    expect_status 0 env NNLAB_FUSE=$fuse "${MPIRUN[@]}" -np 2 "$NNLAB" "${C[@]}" --sync-bn \
      --step-log "$TMP/c2.csv"
    same_losses "$TMP/c1.csv" "$TMP/c2.csv" 1e-5 && ok || bad "cifar10 --sync-bn (NNLAB_FUSE=$fuse)"
  done
  expect_status 0 "${MPIRUN[@]}" -np 2 "$NNLAB" "${C[@]}" --step-log "$TMP/c3.csv"
  same_losses "$TMP/c1.csv" "$TMP/c3.csv" 1e-3 >/dev/null 2>&1 &&
    bad "cifar10 without --sync-bn matches one process: the statistics are not per rank" || ok
else
  bad "no CIFAR-10 in $DATA"
fi

# a batch that leaves a rank without a sample is refused
expect_status 1 "${MPIRUN[@]}" -np 2 "$NNLAB" "${T[@]}" --limit 65 --batch 32
expect_grep 'a batch of 1 samples \(the last batch of the epoch\): every process needs at least one' "$TMP/err"

# bit-identical run after run (2 ranks, 1 thread each)
R=(--limit 1000 --batch 33)
for i in 1 2; do
  expect_status 0 "${MPIRUN[@]}" -np 2 "$NNLAB" "${T[@]}" "${R[@]}" --json \
    --step-log "$TMP/r$i.csv" --save "$TMP/r$i.nnlab"
  sed -E 's/"[a-z_]*seconds[a-z_]*": (\[[^]]*\]|[0-9.]+)//g; s/"(samples_per_second|peak_rss_mib)": [0-9.]+//g' \
    "$TMP/out" >"$TMP/r$i.json"
done
cmp "$TMP/r1.nnlab" "$TMP/r2.nnlab" && ok || bad "two runs with 2 ranks saved different models"
cmp "$TMP/r1.csv" "$TMP/r2.csv" && ok || bad "two runs with 2 ranks logged different losses"
cmp "$TMP/r1.json" "$TMP/r2.json" && ok || bad "two runs with 2 ranks printed different results"

# rank 0 alone prints and writes: each rank in its own directory, relative paths
mkdir -p "$TMP/w0" "$TMP/w1"
W=(train mnist --data "$DATA" --offline --threads 1 --seed 5 --epochs 2 --limit 300 --json
   --save m.nnlab --save-init init.nnlab --save-every-epoch ck.nnlab --step-log steps.csv
   --save-steps . --events events.txt)
expect_status 0 "${MPIRUN[@]}" -np 1 --wdir "$TMP/w0" "$NNLAB" "${W[@]}" : \
  -np 1 --wdir "$TMP/w1" "$NNLAB" "${W[@]}"
[ "$(ls -A "$TMP/w1")" = "" ] && ok || bad "rank 1 wrote files: $(ls -A "$TMP/w1")"
for f in m.nnlab init.nnlab ck.nnlab steps.csv events.txt step-1.nlm step-20.nlm; do
  [ -s "$TMP/w0/$f" ] && ok || bad "rank 0 did not write $f"
done
[ "$(grep -c '"framework": "nnlab"' "$TMP/out")" = 1 ] && ok || bad "not one JSON object on stdout"
[ "$(grep -c 'run_start' "$TMP/w0/events.txt")" = 1 ] && ok || bad "events not written once"
# progress on stderr comes from rank 0 alone: one line per epoch
[ "$(grep -c '^epoch 1/2' "$TMP/err")" = 1 ] && ok || bad "progress from more than one rank"
finish
