#!/usr/bin/env bash
# The peers find their framework in the virtual environments that peers/README.md
# has the user make, with /usr/bin first on PATH (a plain Debian machine): a
# venv's bin/python is a symlink to /usr/bin/python3, the very interpreter that
# runs first, and only started through the venv's own path does it see the venv.
# Stand-in packages (keras + tensorflow, torch 2.15.0) in venvs made as the README
# says prove the re-run: each stand-in exits 42 and names sys.prefix. Without the
# venvs the peers are "skipped" (exit 3) with the install hint. Then the peers'
# --device cuda on a machine without CUDA: skipped, "no CUDA device".
. "$(dirname "$0")/testlib.bash"
SRC=${NNLAB_SRC:?}
DATA=${NNLAB_SHARED_DATA:?}
if ! /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null; then
  echo "SKIP: /usr/bin/python3 cannot make virtual environments (apt-get install python3-venv)"
  echo "0 passed, 0 failed"
  exit 0
fi
export PATH=/usr/bin:/bin:$PATH
R=$TMP/repo # a copy of the source tree's peers/, with its own .venv-peers/
mkdir -p "$R/peers"
cp "$SRC"/peers/*.py "$SRC"/peers/requirements-*.txt "$R/peers/"
printf 'a,b,label\n0,1,0\n1,0,1\n1,1,1\n0,0,0\n' >"$TMP/d.csv"
printf 'input 2\ndense 2 softmax\n' >"$TMP/m.nnm"
ARGS=(--model "$TMP/m.nnm" --train-data "$TMP/d.csv" --epochs 1 --events /dev/null --quiet)

# no venvs: skipped, with the README's install line
expect_status 3 python3 "$R/peers/keras_train.py" --backend tensorflow "${ARGS[@]}"
expect_grep '^skipped: Keras 3 with tensorflow is not installed; install with: /usr/bin/python3 -m venv \.venv-peers/keras-tf' "$TMP/err"
expect_status 3 python3 "$R/peers/keras_train.py" --backend jax "${ARGS[@]}"
expect_grep 'requirements-keras-jax\.txt' "$TMP/err"
expect_status 3 python3 "$R/peers/torch_train.py" --torch2 "${ARGS[@]}"
expect_grep '^skipped: PyTorch 2 .*install with: /usr/bin/python3 -m venv \.venv-peers/torch2 .*requirements-torch2\.txt' "$TMP/err"

# the venvs, made as peers/README.md says, with stand-ins for the frameworks
standin() { # DIR: a package that reports where it was imported from and exits 42
  mkdir -p "$1"
  printf 'import sys\nsys.stderr.write("stand-in %s imported, sys.prefix=%%s\\n" %% sys.prefix)\nsys.exit(42)\n' \
    "$(basename "$1")" >"$1/__init__.py"
}
for v in keras-tf torch2; do
  (cd "$R" && /usr/bin/python3 -m venv ".venv-peers/$v") || { bad "venv $v"; continue; }
done
site() { echo "$R/.venv-peers/$1/lib/python$(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')/site-packages"; }
[ "$(readlink -f "$R/.venv-peers/keras-tf/bin/python")" = "$(readlink -f /usr/bin/python3)" ] && ok ||
  bad "the venv's python is not a link to /usr/bin/python3 (the case this test is about)"
standin "$(site keras-tf)/keras"
mkdir -p "$(site keras-tf)/tensorflow" && : >"$(site keras-tf)/tensorflow/__init__.py"
standin "$(site torch2)/torch"
mkdir -p "$(site torch2)/torch-2.15.0.dist-info"
printf 'Metadata-Version: 2.1\nName: torch\nVersion: 2.15.0\n' >"$(site torch2)/torch-2.15.0.dist-info/METADATA"

[ "$(command -v python3)" = /usr/bin/python3 ] && ok || bad "python3 on PATH is $(command -v python3)"
expect_status 42 python3 "$R/peers/keras_train.py" --backend tensorflow "${ARGS[@]}"
expect_grep "^stand-in keras imported, sys.prefix=$R/.venv-peers/keras-tf\$" "$TMP/err"
expect_status 42 python3 "$R/peers/torch_train.py" --torch2 "${ARGS[@]}"
expect_grep "^stand-in torch imported, sys.prefix=$R/.venv-peers/torch2\$" "$TMP/err"
# started by the venv's own python: no second run, the stand-in directly
expect_status 42 "$R/.venv-peers/keras-tf/bin/python" "$R/peers/keras_train.py" "${ARGS[@]}"
# the jax venv is still missing: skipped, not run in the tensorflow one
expect_status 3 python3 "$R/peers/keras_train.py" --backend jax "${ARGS[@]}"

# --device cuda without a CUDA device: skipped (Debian's PyTorch, when here)
if /usr/bin/python3 -c 'import torch, sys; sys.exit(torch.cuda.is_available())' 2>/dev/null; then
  expect_status 3 python3 "$SRC/peers/torch_train.py" --device cuda "${ARGS[@]}"
  expect_grep '^skipped: no CUDA device' "$TMP/err"
  expect_status 0 python3 "$SRC/peers/torch_train.py" --device cpu "${ARGS[@]}"
else
  echo "note: no CPU-only PyTorch here: --device cuda not checked"
fi
expect_status 2 python3 "$SRC/peers/torch_train.py" --device tpu "${ARGS[@]}"
finish
