#!/usr/bin/env bash
# The whole test suite: set up, build (Release, gcc), run every test; then the
# unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer, a
# warnings-as-errors build with clang, the layer tests on the AVX2 and
# portable vector paths, and a short run of every fuzz target.
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

echo "== layer tests on the other vector paths (AVX2+FMA, portable) =="
# The Release build above uses this machine's widest vectors (-march=native);
# the layers also have AVX2 and portable code paths, built and tested here.
layer_tests='^unit\.test_(conv2d|layers|model|batchnorm|maxpool)$'
variants=(portable)
if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then variants+=(avx2); fi
for v in "${variants[@]}"; do
  flags=""
  [ "$v" = avx2 ] && flags="-mavx2 -mfma"
  cmake -S . -B "build-$v" -DCMAKE_BUILD_TYPE=Release -DNNLAB_NATIVE=OFF \
    -DCMAKE_C_FLAGS="$flags" >/dev/null
  cmake --build "build-$v" -j"$jobs" --target test_conv2d test_layers test_model \
    test_batchnorm test_maxpool >/dev/null
  (cd "build-$v" && ctest -R "$layer_tests" --output-on-failure -j"$jobs")
done

# ---- fuzzing (issue 15; tests/fuzz, scripts/fuzz.sh) ------------------------------
# Every libFuzzer target (clang, ASan + UBSan) runs the inputs of the bugs it
# has caught (tests/fuzz/regressions/TARGET/) once, then 10 s on its corpus.
echo "== fuzz targets: regression inputs, then 10 s each =="
scripts/fuzz.sh ci 10
# ---- end of fuzzing ---------------------------------------------------------------

echo "== all tests =="
cd build && ctest --output-on-failure
