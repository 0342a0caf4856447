#!/usr/bin/env bash
# `nnlab data fetch` against a local HTTP server, with a test catalog
# (NNLAB_CATALOG) whose downloads are pinned to fixture files made here:
# a good download, catalog mirrors in order (404 then a working one), a wrong
# hash, a connection cut midway then resumed (with and without Range support),
# a partial file left by an earlier run, a stale partial file, a 503 retried
# with backoff, a server that never answers (timeout), a refused connection,
# offline mode, bad settings, a server sending too much.
source "$(dirname "$0")/data_common.bash"

mkdir -p "$TMP/srv/tidx"
python3 - "$TMP/srv/tidx" <<'EOF'
import gzip, os, random, struct, sys
d = sys.argv[1]
rng = random.Random(6)
n = 500
img = struct.pack(">BBBBIII", 0, 0, 8, 3, n, 28, 28) + bytes(rng.randrange(256) for _ in range(n * 784))
lab = struct.pack(">BBBBI", 0, 0, 8, 1, n) + bytes(rng.randrange(10) for _ in range(n))
open(os.path.join(d, "img-idx3-ubyte.gz"), "wb").write(gzip.compress(img, mtime=0))
open(os.path.join(d, "lab-idx1-ubyte.gz"), "wb").write(gzip.compress(lab, mtime=0))
EOF
start_server "$TMP/srv"
IMG="$TMP/srv/tidx/img-idx3-ubyte.gz"
LAB="$TMP/srv/tidx/lab-idx1-ubyte.gz"
cat >"$TMP/test.cat" <<EOF
# made by data_fetch_errors.sh
[tidx]
title = test IDX set
kind = idx
mirror = $BASE/404/tidx/
mirror = $BASE/good/tidx
download = tidx/img-idx3-ubyte.gz size=$(size_of "$IMG") sha256=$(sha256_of "$IMG") md5=$(md5_of "$IMG")
download = tidx/lab-idx1-ubyte.gz size=$(size_of "$LAB") sha256=$(sha256_of "$LAB")
member = img-idx3-ubyte record_size=784 records=500
member = lab-idx1-ubyte record_size=1 records=500

[tsmall]
subdir = tidx
kind = idx
download = tidx/lab-idx1-ubyte.gz size=100 sha256=$(sha256_of "$LAB")
member = lab-idx1-ubyte record_size=1 records=500
EOF
export NNLAB_CATALOG="$TMP/test.cat"
C="$TMP/cache"
HALF=$(($(size_of "$IMG") / 2))

# good download through the catalog's mirrors, in order
run 0 "$NNLAB" data fetch tidx --data "$C"
check "verified" out_has "tidx: verified"
check "404 mirror tried first" test "$(sed -n 1p "$SLOG")" = "GET /404/tidx/img-idx3-ubyte.gz range=None"
check "then the next mirror" test "$(sed -n 2p "$SLOG")" = "GET /good/tidx/img-idx3-ubyte.gz range=None"
check "file in the cache" cmp -s "$C/tidx/img-idx3-ubyte.gz" "$IMG"
run 0 "$NNLAB" data verify tidx --data "$C"
check "verify: pinned hashes" out_has "matches the pinned value"

# --force downloads again
: >"$SLOG"
run 0 env NNLAB_MIRROR="$BASE/good/" "$NNLAB" data fetch tidx --data "$C" --force
check "--force re-downloads" test "$(log_count "GET /good/")" = 2

# wrong hash: deleted, and the message says which file, expected and found
rm -rf "$C"
run 1 env NNLAB_MIRROR="$BASE/bad/" "$NNLAB" data fetch tidx --data "$C"
check "mismatch names the file" err_has "tidx/img-idx3-ubyte.gz"
check "mismatch gives the expected hash" err_has "expected $(sha256_of "$IMG")"
check "mismatch gives the found hash" grep -q "found [0-9a-f]\{64\}" "$TMP/err"
check "mismatch says deleted" err_has "deleted"
check "nothing cached" test ! -e "$C/tidx/img-idx3-ubyte.gz"
check "no partial file" test -z "$(find "$C" -name '*.part')"

# connection cut midway, resumed with Range
rm -rf "$C"
: >"$SLOG"
run 0 env NNLAB_MIRROR="$BASE/cut/" NNLAB_FETCH_BACKOFF=0.05 "$NNLAB" data fetch tidx --data "$C"
check "resume request" grep -qF "GET /cut/tidx/img-idx3-ubyte.gz range=bytes=$HALF-" "$SLOG"
check "resumed file is right" cmp -s "$C/tidx/img-idx3-ubyte.gz" "$IMG"

# the same with a server that ignores Range: starts over, still right
rm -rf "$C"
: >"$SLOG"
run 0 env NNLAB_MIRROR="$BASE/cutnorange/" NNLAB_FETCH_BACKOFF=0.05 "$NNLAB" data fetch tidx --data "$C"
check "asked for a range" grep -qF "GET /cutnorange/tidx/img-idx3-ubyte.gz range=bytes=$HALF-" "$SLOG"
check "whole file after a 200" cmp -s "$C/tidx/img-idx3-ubyte.gz" "$IMG"

# a partial file left by an earlier run is resumed
rm -rf "$C"
mkdir -p "$C/tidx"
head -c "$HALF" "$IMG" >"$C/tidx/.img-idx3-ubyte.gz.part"
: >"$SLOG"
run 0 env NNLAB_MIRROR="$BASE/good/" "$NNLAB" data fetch tidx --data "$C"
check "earlier partial file resumed" test "$(sed -n 1p "$SLOG")" = "GET /good/tidx/img-idx3-ubyte.gz range=bytes=$HALF-"
check "resumed file right" cmp -s "$C/tidx/img-idx3-ubyte.gz" "$IMG"

# a stale partial file (not a prefix of the file): detected by the hash, started over
rm -rf "$C"
mkdir -p "$C/tidx"
head -c 1000 /dev/zero >"$C/tidx/.img-idx3-ubyte.gz.part"
: >"$SLOG"
run 0 env NNLAB_MIRROR="$BASE/good/" "$NNLAB" data fetch tidx --data "$C"
check "stale part: resumed first" test "$(sed -n 1p "$SLOG")" = "GET /good/tidx/img-idx3-ubyte.gz range=bytes=1000-"
check "stale part: then from scratch" test "$(sed -n 2p "$SLOG")" = "GET /good/tidx/img-idx3-ubyte.gz range=None"
check "stale part: said so" err_has "starting over"
check "stale part: right file" cmp -s "$C/tidx/img-idx3-ubyte.gz" "$IMG"

# 503 then success: retried after a backoff
rm -rf "$C"
: >"$SLOG"
run 0 env NNLAB_MIRROR="$BASE/flaky/" NNLAB_FETCH_BACKOFF=0.05 "$NNLAB" data fetch tidx --data "$C"
check "503 retried" err_has "HTTP 503; retrying in 0.05 s"
check "two requests for the image file" test "$(log_count "GET /flaky/tidx/img-idx3-ubyte.gz")" = 2

# a server that accepts and never answers: timeout, retries, then a clear error
rm -rf "$C"
start=$(date +%s)
run 1 env NNLAB_MIRROR="$BASE/hang/" NNLAB_FETCH_TIMEOUT=1 NNLAB_FETCH_RETRIES=2 NNLAB_FETCH_BACKOFF=0.1 \
    "$NNLAB" data fetch tidx --data "$C"
elapsed=$(($(date +%s) - start))
check "timeout is quick ($elapsed s)" test "$elapsed" -lt 20
check "timeout: gave up after the retries" err_has "after 2 attempts"
check "timeout: names the URL" err_has "$BASE/hang/tidx/img-idx3-ubyte.gz"
check "timeout: nothing cached" test ! -e "$C/tidx/img-idx3-ubyte.gz"

# nobody listening
run 1 env NNLAB_MIRROR="http://127.0.0.1:1/" NNLAB_FETCH_RETRIES=2 NNLAB_FETCH_BACKOFF=0 \
    "$NNLAB" data fetch tidx --data "$C"
check "refused: names the URL" err_has "http://127.0.0.1:1/tidx/img-idx3-ubyte.gz"

# offline: no request at all, and the command to run
rm -rf "$C"
: >"$SLOG"
run 1 "$NNLAB" data fetch tidx --data "$C" --offline
check "offline says how to fetch" err_has "nnlab data fetch tidx"
run 1 env NNLAB_OFFLINE=1 "$NNLAB" data fetch tidx --data "$C"
check "NNLAB_OFFLINE=1 works too" err_has "NNLAB_OFFLINE"
check "offline: no request" test ! -s "$SLOG"
# a failed fetch into a --data directory that did not exist leaves none behind
# (issue 15), but keeps a directory that was there
run 1 "$NNLAB" data fetch tidx --data "$TMP/new/deeper/cache" --offline
check "failed fetch: the directories it made are gone" test ! -e "$TMP/new"
mkdir -p "$TMP/kept"
run 1 "$NNLAB" data fetch tidx --data "$TMP/kept/cache" --offline
check "failed fetch: an existing parent stays" test -d "$TMP/kept"
check "failed fetch: the directory it made is gone" test ! -e "$TMP/kept/cache"

# malformed settings
run 1 env NNLAB_FETCH_TIMEOUT=soon "$NNLAB" data fetch tidx --data "$C"
check "bad NNLAB_FETCH_TIMEOUT named" err_has "NNLAB_FETCH_TIMEOUT='soon'"
printf '[broken\n' >"$TMP/broken.cat"
run 1 env NNLAB_CATALOG="$TMP/broken.cat" "$NNLAB" data list --data "$C"
check "bad catalog file named" err_has "broken.cat:1"

# a server sending more than the pinned size is cut off
run 1 env NNLAB_MIRROR="$BASE/good/" "$NNLAB" data fetch tsmall --data "$C"
check "oversize cut off" err_has "more than the expected 100 bytes"

# default data directory: $XDG_CACHE_HOME/nnlab, created on demand
run 0 env NNLAB_MIRROR="$BASE/good/" "$NNLAB" data fetch tidx
check "default cache dir" test -f "$XDG_CACHE_HOME/nnlab/tidx/img-idx3-ubyte.gz"
run 0 "$NNLAB" data path tidx
check "path in the default cache" test "$(cat "$TMP/out")" = "$XDG_CACHE_HOME/nnlab/tidx"
finish
