#!/usr/bin/env bash
# nnlab bench with its multi-process contestants (docs/distributed.md, "The
# bench"): nnlab-mpi (mpirun) and pytorch-ddp (torchrun) at 2 ranks x 1 thread
# on a tiny mnist, in one table beside nnlab; the monitor sums the launcher's
# whole tree (a 2-rank run's peak RSS is well above what rank 0 reports of
# itself); the names and table.json carry the ranks; a launcher that is not
# installed, and an nnlab without MPI asked for 2 ranks, give "skipped" with
# the reason. Skipped (77) without mpirun, an MPI build or PyTorch.
. "$(dirname "$0")/mpi_common.bash"
need_mpi_build
/usr/bin/python3 -c 'import torch.distributed as d; assert d.is_available() and d.is_gloo_available()' \
  2>/dev/null || skip "no PyTorch with torch.distributed and gloo for /usr/bin/python3 (apt-get install python3-torch)"
[ -f "$DATA/mnist/train-images-idx3-ubyte" ] || { echo "FAIL: no MNIST in $DATA" >&2; exit 1; }
OUT=$TMP/bench

# usage: ranks only for a contestant whose command has {ranks}
expect_status 2 "$NNLAB" bench --contestants nnlab@2x1 --data "$DATA" --out "$TMP/x"
expect_grep 'runs one process' "$TMP/err"
expect_status 2 "$NNLAB" bench --ranks 0 --data "$DATA" --out "$TMP/x"
expect_status 0 "$NNLAB" bench --list
expect_grep '^nnlab-mpi +C +mpirun -np \{ranks\} \[--hostfile \{hostfile\}\]' "$TMP/out"
expect_grep '^pytorch-ddp +Python +python3 \{root\}/peers/torchrun.py --standalone --nproc_per_node \{ranks\}' "$TMP/out"

# 8192 samples twice: long enough (a few tenths of a second) that the monitor's
# 0.1 s samples see both ranks at once (with 512 the ranks could live mostly apart)
start=$(date +%s)
expect_status 0 "$NNLAB" bench --runs 1 --workloads mnist --contestants nnlab,nnlab-mpi@2x1,pytorch-ddp@2x1 \
  --limit 8192 --epochs 2 --threads 1 --data "$DATA" --out "$OUT"
echo "bench at 2 ranks: $(( $(date +%s) - start )) s"
cp "$TMP/out" "$TMP/stdout"; cp "$TMP/err" "$TMP/stderr"
for c in nnlab nnlab-mpi-r2-t1 pytorch-ddp-r2-t1; do
  expect_grep "^\| mnist \| $c \| (C|Python) \| 1/1 \|" "$TMP/stdout"
done
expect_grep '1 thread per process \(NAME-rR-tT: R ranks x T threads\)' "$TMP/stdout"
python3 - "$OUT" <<'PY' && ok || bad "table.json, the runs' output or the monitor's samples"
import csv, json, os, sys
out = sys.argv[1]
t = json.load(open(os.path.join(out, "table.json")))
cs = {c["name"]: c for c in t["config"]["contestants"]}
assert cs["nnlab"]["ranks"] == 1 and cs["nnlab"]["total_threads"] == 1, cs["nnlab"]
for name in ("nnlab-mpi-r2-t1", "pytorch-ddp-r2-t1"):
    assert cs[name]["ranks"] == 2 and cs[name]["threads"] == 1 and cs[name]["total_threads"] == 2, cs[name]
    # rank 0 alone prints the result (one JSON object) and writes the events (once)
    res = [json.loads(l) for l in open(os.path.join(out, name + "_mnist_run1.out")) if l.startswith("{")]
    assert len(res) == 1 and res[0]["ranks"] == 2 and res[0]["train_samples"] == 8192, res
    ev = open(os.path.join(out, name + "_mnist_run1.events")).read()
    assert ev.count('"run_start"') == 1 and ev.count('"run_stop"') == 1, name
    # the monitor follows the launcher's whole tree: its peak RSS holds both ranks
    # (each about the size rank 0 reports of itself) and the launcher
    rows = list(csv.DictReader(open(os.path.join(out, name + "_mnist_run1.csv"))))
    peak = max(float(r["rss_mib"]) for r in rows if r["rss_mib"])
    own = res[0]["peak_rss_mib"]
    print("%s: tree peak RSS %.0f MiB, rank 0's own %.0f MiB" % (name, peak, own))
    assert peak > 1.5 * own, (name, peak, own)
    assert max(int(r["threads"]) for r in rows if r["threads"]) >= 3, name
rows = {r["contestant"]: r for r in csv.DictReader(open(os.path.join(out, "table.csv")))}
# 2 ranks of the same global batch train the same model: the same accuracy as one process
a, b = float(rows["nnlab"]["test_accuracy_mean"]), float(rows["nnlab-mpi-r2-t1"]["test_accuracy_mean"])
assert abs(a - b) <= 0.01, (a, b)
PY

# not installed: skipped with the reason (mpirun not on PATH here)
mkdir -p "$TMP/bin"
ln -s "$(command -v python3)" "$TMP/bin/python3"
expect_status 0 env PATH="$TMP/bin" "$NNLAB" bench --runs 1 --workloads mnist --ranks 2 \
  --contestants nnlab,nnlab-mpi --limit 256 --epochs 1 --threads 1 --data "$DATA" --out "$TMP/nompirun"
expect_grep 'nnlab-mpi-r2 on mnist: SKIPPED: skipped: mpirun not found on PATH: install Open MPI' "$TMP/err"
expect_grep '^\| mnist \| nnlab \| C \| 1/1 \|' "$TMP/out"

# an nnlab built without MPI (mpi_nompi.sh builds one): nnlab-mpi at 2 ranks is skipped
if [ -x "${NNLAB_BUILD:?}/mpi-off/nnlab" ]; then
  expect_status 1 "$NNLAB_BUILD/mpi-off/nnlab" bench --runs 1 --workloads mnist --contestants nnlab-mpi@2x1 \
    --limit 256 --epochs 1 --data "$DATA" --out "$TMP/nompi"
  expect_grep 'nnlab-mpi-r2-t1 on mnist: SKIPPED: .*this nnlab was built without MPI and cannot train as 2 ranks' "$TMP/err"
else
  echo "note: no $NNLAB_BUILD/mpi-off/nnlab (mpi_nompi.sh builds it): the no-MPI skip is not checked"
fi
finish
