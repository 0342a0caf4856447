# Shared helpers for the integration tests (sourced, not a test itself).
set -u
: "${NNLAB:?NNLAB must name the nnlab binary}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/nnlab-it-XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fails=0
passes=0
ok() { passes=$((passes + 1)); }
bad() { fails=$((fails + 1)); echo "FAIL: $*" >&2; }
# expect_status WANT CMD... : runs CMD, stdout/stderr into $TMP/out $TMP/err
expect_status() {
  local want=$1; shift
  "$@" >"$TMP/out" 2>"$TMP/err"
  local got=$?
  if [ "$got" = "$want" ]; then ok; else bad "exit $got (want $want): $*"; sed 's/^/  stderr: /' "$TMP/err" | head -5 >&2; fi
}
expect_grep() { # PATTERN FILE
  if grep -qE -- "$1" "$2"; then ok; else bad "'$1' not in $2:"; head -5 "$2" | sed 's/^/  /' >&2; fi
}
finish() {
  echo "$passes passed, $fails failed"
  [ "$fails" = 0 ]
}
