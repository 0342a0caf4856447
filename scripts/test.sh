#!/usr/bin/env bash
# The whole test suite: set up, build (Release, gcc), run every test; then the
# unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer, and a
# warnings-as-errors build with clang.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
jobs=$(nproc)

echo "== build (gcc, Release) =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc >/dev/null
cmake --build build -j"$jobs"

echo "== build (clang, -Werror) =="
cmake -S . -B build-clang -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang \
  -DCMAKE_C_FLAGS=-Werror -DNNLAB_TESTS=OFF >/dev/null
cmake --build build-clang -j"$jobs" >/dev/null

echo "== unit tests under ASan + UBSan =="
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DNNLAB_SANITIZE=ON -DCMAKE_C_COMPILER=gcc >/dev/null
cmake --build build-asan -j"$jobs" >/dev/null
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest -L unit --output-on-failure -j"$jobs")

echo "== all tests =="
cd build && ctest --output-on-failure
