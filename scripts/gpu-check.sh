#!/usr/bin/env bash
# The GPU path against a real NVIDIA GPU and the real NVML (the test suite only
# ever meets tests/fake_nvml). On a machine with one NVIDIA GPU, in under 8
# minutes: builds nnlab (Release, build-gpu/), runs
#
#     nnlab bench --runs 2 --workloads mnist --epochs 1 --peer-device cuda
#
# with nnlab on the CPU and every peer that has CUDA here on the GPU, and checks
# that the monitor saw, through the real libnvidia-ml, GPU utilisation and GPU
# memory of each peer's process tree (non-empty gpu_pct and vram_mib in its
# per-run CSVs, a peak GPU memory in table.csv). Prints what it saw; exit 0 when
# every check passed, 1 when one failed or there is no GPU / no CUDA peer here
# (said in one line, before anything is built).
#
#     scripts/gpu-check.sh [OUT_DIR]      (default: gpu-check-DATE-TIME)
#
# Environment: NNLAB_DATA (the datasets: mnist/ is needed; default ../shared/datasets
# beside the source tree when it has them, else nnlab's cache), GPU_CHECK_WORKLOADS
# (default mnist), GPU_CHECK_LIMIT (training samples per run, default: all).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
OUT=${1:-gpu-check-$(date +%Y%m%d-%H%M%S)}
WORKLOADS=${GPU_CHECK_WORKLOADS:-mnist}
LIMIT=${GPU_CHECK_LIMIT:-}
T0=$(date +%s)
say() { echo "gpu-check: $*"; }
die() { echo "gpu-check: FAILED: $*" >&2; exit 1; }

# ---- 1. a GPU, its driver's NVML, and a peer with CUDA (fast: nothing built yet)
command -v nvidia-smi >/dev/null 2>&1 ||
  die "no NVIDIA GPU here: nvidia-smi is not installed (this check needs a machine with an NVIDIA GPU and its driver)"
GPUS=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1) ||
  die "nvidia-smi finds no usable GPU: $GPUS"
[ -n "$GPUS" ] || die "nvidia-smi lists no GPU"
say "GPU: $GPUS"
ldconfig -p 2>/dev/null | grep -q 'libnvidia-ml\.so\.1' ||
  die "libnvidia-ml.so.1 (NVML, part of the NVIDIA driver) is not in the loader's path"
unset NNLAB_NVML_LIB # the real NVML, never the test suite's fake one

cuda_python() { # PYTHON MODULE-CHECK: 0 when that Python's framework sees a CUDA device
  [ -x "$1" ] && timeout 120 "$1" -c "$2" >/dev/null 2>&1
}
TORCH_CUDA='import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'
PEERS=()
cuda_python /usr/bin/python3 "$TORCH_CUDA" && PEERS+=(pytorch)
cuda_python "$ROOT/.venv-peers/torch2/bin/python" "$TORCH_CUDA" && PEERS+=(pytorch2)
cuda_python "$ROOT/.venv-peers/keras-tf/bin/python" \
  'import tensorflow as tf, sys; sys.exit(0 if tf.config.list_physical_devices("GPU") else 1)' &&
  PEERS+=(keras-tf)
cuda_python "$ROOT/.venv-peers/keras-jax/bin/python" 'import jax; jax.devices("gpu")' && PEERS+=(keras-jax)
[ ${#PEERS[@]} -gt 0 ] ||
  die "no peer here sees the GPU: Debian's python3-torch is CPU-only; make .venv-peers/torch2 with /usr/bin/python3 -m venv .venv-peers/torch2 && .venv-peers/torch2/bin/pip install -r peers/requirements-torch2.txt (from the default index that is PyTorch's CUDA build)"
say "peers on CUDA: ${PEERS[*]}"

if [ -z "${NNLAB_DATA:-}" ] && [ -d "$ROOT/../shared/datasets/mnist" ]; then
  export NNLAB_DATA=$ROOT/../shared/datasets
fi
DATA=${NNLAB_DATA:-${XDG_CACHE_HOME:-$HOME/.cache}/nnlab}
for w in ${WORKLOADS//,/ }; do
  case $w in
    cifar10*) f=cifar-10-batches-bin/data_batch_1.bin ;;
    *) f=mnist/train-images-idx3-ubyte ;;
  esac
  [ -e "$DATA/$f" ] || [ -e "$DATA/$f.gz" ] ||
    die "no $f in $DATA (set NNLAB_DATA, or fetch it with nnlab data fetch)"
done

# ---- 2. build
say "building nnlab (build-gpu/)"
{ cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DNNLAB_TESTS=OFF >/dev/null &&
  cmake --build build-gpu -j"$(nproc)" >/dev/null; } || die "the build failed"
NNLAB=$ROOT/build-gpu/nnlab

# ---- 3. the bench: nnlab on the CPU, the peers on the GPU
CONTESTANTS=nnlab$(printf ',%s' "${PEERS[@]}")
say "nnlab bench --runs 2 --workloads $WORKLOADS --epochs 1 --contestants $CONTESTANTS --peer-device cuda"
NNLAB_ROOT=$ROOT "$NNLAB" bench --runs 2 --workloads "$WORKLOADS" --epochs 1 \
  --contestants "$CONTESTANTS" --peer-device cuda ${LIMIT:+--limit "$LIMIT"} --timeout 300 \
  --out "$OUT" >"$OUT.table.md" 2>"$OUT.log"
rc=$?
cat "$OUT.table.md"
[ $rc = 0 ] || { tail -20 "$OUT.log" >&2; die "nnlab bench exited $rc (log: $OUT.log)"; }
mv "$OUT.table.md" "$OUT.log" "$OUT/" 2>/dev/null

# ---- 4. what the monitor saw
/usr/bin/python3 - "$OUT" "$WORKLOADS" "${PEERS[@]}" <<'PY'
import csv, glob, math, os, sys

out, workloads, peers = sys.argv[1], sys.argv[2].split(","), sys.argv[3:]
fails = []

def readings(path, col):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    vals = []
    for r in rows:
        try:
            v = float(r.get(col, "") or "nan")
        except ValueError:
            v = math.nan
        if not math.isnan(v):
            vals.append(v)
    return len(rows), vals

with open(os.path.join(out, "report.md")) as f:
    gpu_line = [l.strip() for l in f if l.startswith("- GPU:")][:1]
print("gpu-check: the report's machine line: %s" % (gpu_line[0] if gpu_line else "(none)"))
for w in workloads:
    for c in ["nnlab"] + peers:
        runs = sorted(glob.glob(os.path.join(out, "%s_%s_run*.csv" % (c, w))))
        if not runs:
            fails.append("%s on %s: no per-run CSV (the run failed? see %s/*.log)" % (c, w, out))
            continue
        for p in runs:
            n, util = readings(p, "gpu_pct")
            _, vram = readings(p, "vram_mib")
            line = ("%s: %d samples, gpu_pct %d readings (max %.0f%%), vram_mib %d readings "
                    "(max %.0f MiB)" % (os.path.basename(p), n, len(util), max(util, default=0),
                                         len(vram), max(vram, default=0)))
            print("gpu-check:   " + line)
            if c == "nnlab":
                continue  # on the CPU: no GPU memory expected
            if not util or max(util) <= 0:
                fails.append("%s: no GPU utilisation seen" % p)
            if not vram or max(vram) <= 0:
                fails.append("%s: no GPU memory of the process tree seen" % p)
with open(os.path.join(out, "table.csv"), newline="") as f:
    for r in csv.DictReader(f):
        if r.get("contestant") in peers and not (r.get("peak_vram_mib_mean") or "").strip():
            fails.append("table.csv: %s on %s has no peak GPU memory" % (r["contestant"],
                                                                         r.get("workload")))
for f in fails:
    print("gpu-check: FAILED: " + f)
sys.exit(1 if fails else 0)
PY
rc=$?
say "$( [ $rc = 0 ] && echo OK || echo FAILED ) in $(( $(date +%s) - T0 )) s; results in $OUT/"
exit $rc
