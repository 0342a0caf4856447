#!/usr/bin/env bash
# The build without MPI (-DNNLAB_MPI=OFF; built here in $NNLAB_BUILD/mpi-off
# when $NNLAB has MPI): it links no MPI, trains as always alone and under
# mpirun -np 1, and under mpirun -np 2 it ends with status 1 and one clear
# message (from rank 0) that it has no MPI, instead of training twice alone.
. "$(dirname "$0")/mpi_common.bash"
need_mpirun
BIN=$NNLAB
if [ "${NNLAB_HAVE_MPI:-OFF}" = ON ]; then
  B=${NNLAB_BUILD:?}/mpi-off
  { cmake -S "${NNLAB_SRC:?}" -B "$B" -DNNLAB_MPI=OFF -DNNLAB_TESTS=OFF -DCMAKE_BUILD_TYPE=Release &&
    cmake --build "$B" -j2 --target nnlab; } >"$TMP/build.log" 2>&1 ||
    { tail -20 "$TMP/build.log" >&2; bad "building without MPI failed"; finish; exit 1; }
  BIN=$B/nnlab
fi
[ -f "$DATA/mnist/train-images-idx3-ubyte" ] || { echo "FAIL: no MNIST in $DATA" >&2; exit 1; }
T=(train mnist --data "$DATA" --offline --threads 1 --quiet --seed 2 --epochs 1 --limit 200)

ldd "$BIN" | grep -q libmpi && bad "the build without MPI links $(ldd "$BIN" | grep libmpi)" || ok
expect_status 0 "$BIN" "${T[@]}" --json
expect_grep '"framework": "nnlab"' "$TMP/out"
grep -q '"ranks"' "$TMP/out" && bad "one process reports ranks" || ok
expect_status 0 "${MPIRUN[@]}" -np 1 "$BIN" "${T[@]}" --json
expect_grep '"framework": "nnlab"' "$TMP/out"
expect_status 1 "${MPIRUN[@]}" -np 2 "$BIN" "${T[@]}" --json --save "$TMP/m.nnlab"
expect_grep 'nnlab train: this nnlab was built without MPI, but it was started as one of 2 processes' "$TMP/err"
[ "$(grep -c 'built without MPI' "$TMP/err")" = 1 ] && ok || bad "the message is not there once"
[ -s "$TMP/out" ] && bad "it printed results: $(head -2 "$TMP/out")" || ok
[ -e "$TMP/m.nnlab" ] && bad "it trained and saved a model" || ok
finish
