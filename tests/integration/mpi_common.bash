# Shared part of the tests/integration/mpi_*.sh (sourced): Open MPI's mpirun
# with 2 ranks on this machine, skipped (status 77) when mpirun or MPI is
# absent. NNLAB_HAVE_MPI (from CMake) says whether $NNLAB was built with MPI.
. "$(dirname "$0")/testlib.bash"
DATA=${NNLAB_SHARED_DATA:?}
skip() { echo "SKIP: $*"; echo "0 passed, 0 failed"; exit 77; }
need_mpirun() {
  command -v mpirun >/dev/null ||
    skip "mpirun not found (apt-get install openmpi-bin libopenmpi-dev; scripts/deps.sh test)"
  MPIRUN=(mpirun --oversubscribe)
  [ "$(id -u)" = 0 ] && MPIRUN+=(--allow-run-as-root)
  # no network interfaces needed: the ranks are on this machine
  MPIRUN+=(--mca btl self,vader)
}
need_mpi_build() {
  need_mpirun
  [ "${NNLAB_HAVE_MPI:-OFF}" = ON ] ||
    skip "$NNLAB was built without MPI (libopenmpi-dev absent when CMake ran)"
}
# The descendants of pid $1 (its whole process tree below it).
descendants() {
  local kids
  kids=$(ps -o pid= --ppid "$1" 2>/dev/null) || return 0
  for k in $kids; do echo "$k"; descendants "$k"; done
}
# The pid of rank $2 among the descendants of $1 (empty if not there yet).
rank_pid() {
  for p in $(descendants "$1"); do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2" &&
      { echo "$p"; return; }
  done
}
# max relative difference of the step logs $1 and $2 (CSV step,loss): fails
# unless they have the same steps and every loss is within $3 relative
same_losses() {
  python3 - "$@" <<'PY'
import csv, sys
a = [(int(r["step"]), float(r["loss"])) for r in csv.DictReader(open(sys.argv[1]))]
b = [(int(r["step"]), float(r["loss"])) for r in csv.DictReader(open(sys.argv[2]))]
tol = float(sys.argv[3])
assert len(a) == len(b) and len(a) > 0, (len(a), len(b))
worst = 0.0
for (sa, la), (sb, lb) in zip(a, b):
    assert sa == sb, (sa, sb)
    worst = max(worst, abs(la - lb) / abs(la))
print(f"{len(a)} steps, largest relative difference {worst:.3g} (allowed {tol:g})")
assert worst <= tol
PY
}
