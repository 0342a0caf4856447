#!/usr/bin/env bash
# Installs the Debian packages nnlab needs, when they are missing.
# Usage: scripts/deps.sh [build|test|bench]   (each level includes the previous)
# As root it runs apt-get; otherwise it prints the exact command and fails.
set -euo pipefail
level=${1:-build}

# build: compiler, CMake, OpenBLAS (OpenMP flavour), zlib, libzip (.npz files),
# libcurl, OpenSSL's libcrypto (hashes), jansson (JSON), gnuplot (figures),
# python3 (test scripts).
pkgs=(gcc make cmake pkg-config libopenblas-openmp-dev zlib1g-dev libzip-dev
      libcurl4-openssl-dev libssl-dev libjansson-dev gnuplot-nox python3)
if [ "$level" = test ] || [ "$level" = bench ]; then
  # test: clang + libomp (second compiler; libomp for bench/sgemm_peak, which
  # sets OpenBLAS's OpenMP threads; gcc brings the sanitizer runtimes),
  # the PyTorch peer (the tiny bench runs nnlab against it), headless Chromium
  # and fonts (report.html is rendered and checked), Debian's Fashion-MNIST
  # (a third real dataset for the data tests).
  pkgs+=(clang libomp-dev python3-torch chromium fonts-dejavu-core dataset-fashion-mnist)
  # clang's libFuzzer and sanitizer runtimes (scripts/fuzz.sh)
  pkgs+=(libclang-rt-dev)
  # Open MPI: mpirun and the headers (nnlab train under mpirun, tests/integration/mpi_*.sh)
  pkgs+=(openmpi-bin libopenmpi-dev)
fi
if [ "$level" = bench ]; then
  # bench: sysstat (pidstat, compared with nnlab stats in bench/results).
  pkgs+=(sysstat)
fi
for extra in ${NNLAB_EXTRA_PACKAGES:-}; do pkgs+=("$extra"); done

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "nnlab: missing Debian packages: ${missing[*]}" >&2
  echo "nnlab: not root, so not installing them. Run as root:" >&2
  echo "  sudo sh -c '$cmd'" >&2
  exit 1
fi
echo "nnlab: installing missing Debian packages: ${missing[*]}" >&2
sh -c "$cmd" >&2
