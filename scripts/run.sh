#!/usr/bin/env bash
# The main job: set up, build, train both workloads with the study's settings
# and print the results. Data comes from NNLAB_DATA, the cache
# (~/.cache/nnlab), or a download into the cache.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
scripts/build.sh
for w in mnist cifar10; do
  echo "== nnlab train $w =="
  ./build/nnlab train "$w"
done
