#!/usr/bin/env bash
# Real data: `nnlab train cifar10 --epochs 1` on ../shared/datasets reaches at
# least 45% test accuracy (the CNN with batch norm; PyTorch, same model, is at
# about 50-55% after one epoch). Also checks the JSON and that the data
# directory is required: CI always has it, so its absence is a failure.
. "$(dirname "$0")/testlib.bash"
DATA=${NNLAB_SHARED_DATA:?}
for f in data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin test_batch.bin; do
  [ -f "$DATA/cifar-10-batches-bin/$f" ] || { echo "FAIL: no $DATA/cifar-10-batches-bin/$f" >&2; exit 1; }
done

expect_status 0 "$NNLAB" train cifar10 --epochs 1 --data "$DATA" --json --quiet
cp "$TMP/out" "$TMP/result.json"
python3 - "$TMP/result.json" <<'PY' && ok || bad "cifar10 after one epoch"
import json, sys
d = json.load(open(sys.argv[1]))
acc = d["test_accuracy"][-1]
print("cifar10 test accuracy after 1 epoch: %.4f, train %.1f s, peak RSS %.0f MiB"
      % (acc, d["train_seconds"], d["peak_rss_mib"]))
assert d["workload"] == "cifar10" and d["epochs"] == 1 and len(d["test_accuracy"]) == 1, d
assert acc >= 0.45, "accuracy %.4f < 0.45" % acc
assert d["peak_rss_mib"] <= 400, "peak RSS %.0f MiB > 400" % d["peak_rss_mib"]
PY

# a data directory without CIFAR-10 is an error naming what is missing (offline:
# no download attempt)
mkdir -p "$TMP/empty"
NNLAB_OFFLINE=1 expect_status 1 "$NNLAB" train cifar10 --epochs 1 --data "$TMP/empty" --quiet
expect_grep "cifar-10" "$TMP/err"
finish
