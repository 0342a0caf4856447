#!/usr/bin/env bash
# Failures under mpirun -np 2 end the whole job, never a hang: a rank killed
# mid-epoch ends it within 10 s with a non-zero status and a message naming
# the rank; a rank that cannot load its data (the dataset missing on its
# host) ends it with a message naming the rank and the host.
. "$(dirname "$0")/mpi_common.bash"
need_mpi_build
[ -f "$DATA/mnist/train-images-idx3-ubyte" ] || { echo "FAIL: no MNIST in $DATA" >&2; exit 1; }
T=(train mnist --data "$DATA" --offline --threads 1 --quiet --seed 1 --epochs 50)

# kill -9 rank 1 once it has started training (the step log has lines)
"${MPIRUN[@]}" -np 2 "$NNLAB" "${T[@]}" --step-log "$TMP/steps.csv" >"$TMP/out" 2>"$TMP/err" &
job=$!
for _ in $(seq 300); do
  [ "$(cat "$TMP/steps.csv" 2>/dev/null | wc -l)" -gt 20 ] && break
  sleep 0.1
done
victim=$(rank_pid "$job" 1)
if [ -z "$victim" ]; then
  bad "rank 1 not found among mpirun's processes"
  kill "$job"
else
  kill -9 "$victim"
  t0=$(date +%s%N)
  # the job must be gone within 10 s
  for _ in $(seq 100); do kill -0 "$job" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$job" 2>/dev/null; then
    bad "mpirun still running 10 s after rank 1 was killed"
    kill -9 "$job"
  fi
  wait "$job"
  rc=$?
  t1=$(date +%s%N)
  echo "job ended $(( (t1 - t0) / 1000000 )) ms after rank 1 was killed, status $rc"
  [ "$rc" -ne 0 ] && ok || bad "status 0 after a rank was killed"
  expect_grep 'rank 1' "$TMP/err"
fi

# the dataset missing on one host: rank 1 gets a data directory without it
mkdir -p "$TMP/empty"
start=$(date +%s)
expect_status 1 timeout 60 "${MPIRUN[@]}" -np 1 "$NNLAB" "${T[@]}" : \
  -np 1 "$NNLAB" "${T[@]}" --data "$TMP/empty"
[ $(( $(date +%s) - start )) -lt 30 ] && ok || bad "the job took $(( $(date +%s) - start )) s to end"
expect_grep "rank 1 of 2 on host $(hostname)" "$TMP/err"
expect_grep "$TMP/empty" "$TMP/err"
finish
