#!/usr/bin/env bash
# `nnlab data fetch mnist` through the real catalog entry, from a local mirror
# (NNLAB_MIRROR) that first answers 404, then serves recompressed copies of the
# shared MNIST files: they pass through their pinned unpacked hashes. Then the
# cache: a corrupted file is caught by verify and replaced by fetch; an
# interrupted download is resumed.
source "$(dirname "$0")/data_common.bash"

SRC="$NNLAB_SHARED_DATA/mnist"
if [ ! -f "$SRC/train-images-idx3-ubyte" ]; then
    echo "SKIP: $SRC not found"
    echo "0 passed, 0 failed"
    exit 0
fi
mkdir -p "$TMP/srv/mnist"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    gzip -n -1 -c "$SRC/$f" >"$TMP/srv/mnist/$f.gz"
done
start_server "$TMP/srv"
C="$TMP/cache"

# 1. 404 on the first mirror, the second one works
run 0 env NNLAB_MIRROR="$BASE/404/ $BASE/good/" "$NNLAB" data fetch mnist --data "$C"
check "fetch says verified" out_has "mnist: verified"
check "404 was reported" err_has "HTTP 404"
check "first mirror tried first" test "$(head -1 "$SLOG")" = "GET /404/mnist/train-images-idx3-ubyte.gz range=None"
check "second mirror used" test "$(log_count "GET /good/mnist/")" = 4
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    check "$f.gz cached" cmp -s "$C/mnist/$f.gz" "$TMP/srv/mnist/$f.gz"
done
check "no partial files left" test -z "$(find "$C" -name '*.part')"

run 0 "$NNLAB" data verify mnist --data "$C"
check "verify: verified" out_has "mnist: verified"
check "verify explains the recompressed copy" out_has "recompressed copy"
run 0 "$NNLAB" data path mnist --data "$C"
check "path" test "$(cat "$TMP/out")" = "$C/mnist"
run 0 env NNLAB_DATA="$C" "$NNLAB" data list
check "list shows mnist verified" grep -qE "^mnist +[0-9.]+ MiB +[0-9.]+ MiB +verified +$C/mnist$" "$TMP/out"
check "list shows cifar10 missing" grep -qE "^cifar10 .* missing " "$TMP/out"

# 2. fetching again does not download anything
: >"$SLOG"
run 0 env NNLAB_MIRROR="$BASE/good/" "$NNLAB" data fetch mnist --data "$C"
check "nothing downloaded when verified" test ! -s "$SLOG"

# 3. a corrupted cached file: verify says which, fetch replaces only it
flip_byte "$C/mnist/t10k-labels-idx1-ubyte.gz" 2000
run 1 "$NNLAB" data verify mnist --data "$C"
check "verify names the corrupt file" grep -q "^  BAD .*mnist/t10k-labels-idx1-ubyte.gz" "$TMP/out"
check "verify suggests the repair" err_has "nnlab data fetch mnist"
: >"$SLOG"
run 0 env NNLAB_MIRROR="$BASE/good/" "$NNLAB" data fetch mnist --data "$C"
check "only the corrupt file fetched" test "$(cat "$SLOG")" = "GET /good/mnist/t10k-labels-idx1-ubyte.gz range=None"
run 0 "$NNLAB" data verify mnist --data "$C"

# 4. a corrupted uncompressed copy (the loader prefers it): sha256 mismatch, then
#    removed by fetch once the verified .gz is in place
gzip -dc "$C/mnist/train-labels-idx1-ubyte.gz" >"$C/mnist/train-labels-idx1-ubyte"
run 0 "$NNLAB" data verify mnist --data "$C"
python3 - "$C/mnist/train-labels-idx1-ubyte" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[100] = (b[100] + 1) % 10  # still a valid label: only the hash can tell
open(p, "wb").write(bytes(b))
EOF
run 1 "$NNLAB" data verify mnist --data "$C"
check "raw file: sha256 mismatch with expected and found" \
    grep -q "BAD .*mnist/train-labels-idx1-ubyte: sha256 mismatch: expected 65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5, found [0-9a-f]\{64\}" "$TMP/out"
: >"$SLOG"
run 0 env NNLAB_MIRROR="$BASE/good/" "$NNLAB" data fetch mnist --data "$C"
check "corrupt raw file removed" test ! -e "$C/mnist/train-labels-idx1-ubyte"
check "removal reported" err_has "train-labels-idx1-ubyte: removed"
check "the good .gz was not downloaded again" test ! -s "$SLOG"
run 0 "$NNLAB" data verify mnist --data "$C"

# 5. an interrupted download (connection cut midway) is resumed with Range
rm -rf "$C"
: >"$SLOG"
run 0 env NNLAB_MIRROR="$BASE/cut/" NNLAB_FETCH_BACKOFF=0.05 "$NNLAB" data fetch mnist --data "$C"
half=$(($(size_of "$TMP/srv/mnist/train-images-idx3-ubyte.gz") / 2))
check "cut reported" err_has "retrying"
check "resumed with a Range request" grep -qF "GET /cut/mnist/train-images-idx3-ubyte.gz range=bytes=$half-" "$SLOG"
run 0 "$NNLAB" data verify mnist --data "$C"

# 6. the same across two runs: the first gives up, the second resumes its .part
rm -rf "$C"
kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
start_server "$TMP/srv"
run 1 env NNLAB_MIRROR="$BASE/cut/" NNLAB_FETCH_RETRIES=1 "$NNLAB" data fetch mnist --data "$C"
check "failure names the file" err_has "mnist/train-images-idx3-ubyte.gz"
check "partial file kept" test -s "$C/mnist/.train-images-idx3-ubyte.gz.part"
: >"$SLOG"
run 0 env NNLAB_MIRROR="$BASE/good/" "$NNLAB" data fetch mnist --data "$C" --quiet
check "second run resumed" grep -qF "GET /good/mnist/train-images-idx3-ubyte.gz range=bytes=$half-" "$SLOG"
check "--quiet: no notes" test ! -s "$TMP/err"
run 0 "$NNLAB" data verify mnist --data "$C"

# 7. usage errors exit 2, missing data exits 1
run 2 "$NNLAB" data fetch
run 2 "$NNLAB" data fetch imagenet --data "$C"
check "unknown dataset lists the known ones" err_has "known: mnist, fashion-mnist, kmnist, cifar10, cifar100"
run 2 "$NNLAB" data verify mnist --force
run 2 "$NNLAB" data frobnicate
run 2 "$NNLAB" data list mnist
run 1 "$NNLAB" data verify kmnist --data "$C"
check "missing dataset: says how to fetch" err_has "nnlab data fetch kmnist"
run 1 "$NNLAB" data path kmnist --data "$C"
run 0 "$NNLAB" data --help
check "help mentions the cache layout" out_has "cifar-10-batches-bin"
finish
