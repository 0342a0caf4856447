# Shared by tests/integration/data_*.sh (sourced; not a test of its own).
# Provides: $TMP (removed at exit), start_server ROOT (sets $PORT, $BASE, $SLOG),
# run EXPECTED_RC CMD... (output in $TMP/out, $TMP/err), ok/bad/check, finish.
set -u
: "${NNLAB:?NNLAB must name the nnlab binary}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/nnlab-data-test.XXXXXX")"
SERVER_PID=""
PASSED=0
FAILED=0

cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; fi
    rm -rf "$TMP"
}
trap cleanup EXIT

# Nothing may reach the internet: every HTTP(S) request that is not for
# 127.0.0.1 goes to a proxy that refuses connections, and the catalog's mirrors
# are replaced (NNLAB_MIRROR) or come from a test catalog (NNLAB_CATALOG).
export http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9
export HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 ALL_PROXY=http://127.0.0.1:9
export NO_PROXY=127.0.0.1 no_proxy=127.0.0.1
unset NNLAB_DATA NNLAB_MIRROR NNLAB_CATALOG NNLAB_OFFLINE NNLAB_FETCH_TIMEOUT NNLAB_FETCH_RETRIES \
    NNLAB_FETCH_BACKOFF
export XDG_CACHE_HOME="$TMP/xdg" # never the user's real cache
# Sanitizer builds: an error must not hide behind an expected exit status 1.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=86"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}exitcode=87:print_stacktrace=1"

ok() { PASSED=$((PASSED + 1)); }
bad() {
    FAILED=$((FAILED + 1))
    echo "FAIL: $*" >&2
    if [ -f "$TMP/out" ]; then sed 's/^/  stdout: /' "$TMP/out" | head -40 >&2; fi
    if [ -f "$TMP/err" ]; then sed 's/^/  stderr: /' "$TMP/err" | head -40 >&2; fi
}
# check DESCRIPTION CMD...: passes when CMD succeeds.
check() {
    local what="$1"
    shift
    if "$@"; then ok; else bad "$what"; fi
}

# run RC CMD...: runs CMD, output in $TMP/out and $TMP/err; checks the exit status.
run() {
    local want="$1"
    shift
    local rc=0
    "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
    LAST_RC=$rc
    if grep -qE "Sanitizer|runtime error:" "$TMP/err"; then
        bad "sanitizer report: $*"
    elif [ "$rc" = "$want" ]; then ok; else bad "exit $rc, expected $want: $*"; fi
}

out_has() { grep -qF -- "$1" "$TMP/out"; }
err_has() { grep -qF -- "$1" "$TMP/err"; }
# Lines of the server log matching a fixed string.
log_count() { grep -cF -- "$1" "$SLOG" || true; }

start_server() {
    local root="$1"
    SLOG="$TMP/server.log"
    : >"$SLOG"
    rm -f "$TMP/port"
    python3 "$HERE/data_server.py" "$root" "$TMP/port" "$SLOG" &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        [ -s "$TMP/port" ] && break
        sleep 0.05
    done
    if [ ! -s "$TMP/port" ]; then
        echo "FAIL: the test HTTP server did not start" >&2
        exit 1
    fi
    PORT="$(cat "$TMP/port")"
    BASE="http://127.0.0.1:$PORT"
}

sha256_of() { sha256sum "$1" | cut -c1-64; }
md5_of() { md5sum "$1" | cut -c1-32; }
size_of() { stat -c %s "$1"; }

# flip_byte FILE OFFSET: xor one byte with 0x01.
flip_byte() {
    python3 - "$1" "$2" <<'EOF'
import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read())
b[off] ^= 1
open(p, "wb").write(bytes(b))
EOF
}

finish() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" = 0 ]
}
