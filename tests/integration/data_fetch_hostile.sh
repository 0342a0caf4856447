#!/usr/bin/env bash
# `nnlab data fetch` in a data directory where someone planted symbolic links
# (issue 15, F1/F2): a link where the store keeps a partial file, its lock, its
# unpack or old directory, or a dataset directory is an error that names it, and
# nothing outside the data directory is read, truncated, appended to, created or
# deleted. The data directory itself may be a link. Also: an endless HTTP body
# stops at the catalog's size plus a margin (F7), a failed fetch leaves the
# directory as it found it, and a FIFO where a file should be never hangs (F6).
source "$(dirname "$0")/data_common.bash"

mkdir -p "$TMP/srv/tidx" "$TMP/srv/members/tc-bin"
python3 - "$TMP/srv" <<'EOF'
import gzip, io, os, random, struct, sys, tarfile
d = sys.argv[1]
rng = random.Random(15)
n = 300
img = struct.pack(">BBBBIII", 0, 0, 8, 3, n, 28, 28) + bytes(rng.randrange(256) for _ in range(n * 784))
lab = struct.pack(">BBBBI", 0, 0, 8, 1, n) + bytes(rng.randrange(10) for _ in range(n))
open(os.path.join(d, "tidx", "img-idx3-ubyte.gz"), "wb").write(gzip.compress(img, mtime=0))
open(os.path.join(d, "tidx", "lab-idx1-ubyte.gz"), "wb").write(gzip.compress(lab, mtime=0))
open(os.path.join(d, "members", "img-idx3-ubyte"), "wb").write(img)
open(os.path.join(d, "members", "lab-idx1-ubyte"), "wb").write(lab)
rec = bytearray()
for i in range(20):
    rec.append(i % 10)
    rec += bytes(rng.randrange(256) for _ in range(3072))
open(os.path.join(d, "members", "tc-bin", "data.bin"), "wb").write(rec)
with tarfile.open(os.path.join(d, "tc-binary.tar.gz"), "w:gz", format=tarfile.USTAR_FORMAT) as t:
    info = tarfile.TarInfo("tc-bin/data.bin")
    info.size = len(rec)
    info.mtime = 0
    t.addfile(info, io.BytesIO(bytes(rec)))
EOF
start_server "$TMP/srv"
IMG="$TMP/srv/tidx/img-idx3-ubyte.gz"
LAB="$TMP/srv/tidx/lab-idx1-ubyte.gz"
A="$TMP/srv/tc-binary.tar.gz"
cat >"$TMP/test.cat" <<EOF
[tidx]
kind = idx
mirror = $BASE/good/tidx
download = tidx/img-idx3-ubyte.gz size=$(size_of "$IMG") sha256=$(sha256_of "$IMG")
download = tidx/lab-idx1-ubyte.gz size=$(size_of "$LAB") sha256=$(sha256_of "$LAB")
member = img-idx3-ubyte record_size=784 records=300
member = lab-idx1-ubyte record_size=1 records=300

# members pinned: a recompressed copy may pass, so the size is not exact
[tpinned]
subdir = tidx
kind = idx
mirror = $BASE/good/tidx
download = tidx/img-idx3-ubyte.gz size=$(size_of "$IMG") sha256=$(sha256_of "$IMG")
download = tidx/lab-idx1-ubyte.gz size=$(size_of "$LAB") sha256=$(sha256_of "$LAB")
member = img-idx3-ubyte record_size=784 records=300 sha256=$(sha256_of "$TMP/srv/members/img-idx3-ubyte")
member = lab-idx1-ubyte record_size=1 records=300 sha256=$(sha256_of "$TMP/srv/members/lab-idx1-ubyte")

[tc]
kind = cifar10
subdir = tc-bin
mirror = $BASE/good/
download = tc-binary.tar.gz size=$(size_of "$A") sha256=$(sha256_of "$A")
member = data.bin record_size=3073 records=20 sha256=$(sha256_of "$TMP/srv/members/tc-bin/data.bin")
EOF
export NNLAB_CATALOG="$TMP/test.cat"
C="$TMP/cache"
V="$TMP/victim"

victim() { # a directory outside the cache with a file in it
    rm -rf "$V"
    mkdir -p "$V/dir"
    head -c 100000 /dev/urandom >"$V/big.bin"
    echo keep >"$V/dir/keep.txt"
    VSUM="$(sha256_of "$V/big.bin")"
}
victim_intact() {
    test -f "$V/dir/keep.txt" && test "$(cat "$V/dir/keep.txt")" = keep &&
        test "$(sha256_of "$V/big.bin")" = "$VSUM" && test "$(ls -A "$V" | sort | tr '\n' ' ')" = "big.bin dir "
}

# F1: the unpack directory and the old directory planted as links to a
# directory elsewhere: not followed, not emptied, named in the error
for entry in .tc-bin.unpack .tc-bin.old; do
    victim
    rm -rf "$C"
    mkdir -p "$C/tc-bin"
    echo stale >"$C/tc-bin/data.bin" # an installed copy that needs replacing
    ln -s "$V/dir" "$C/$entry"
    run 1 "$NNLAB" data fetch tc --data "$C"
    check "F1 $entry: error names it" err_has "$C/$entry: is a symbolic link"
    check "F1 $entry: the other directory is intact" victim_intact
    check "F1 $entry: the link is still a link" test -L "$C/$entry"
done

# F2: a partial file planted as a link to a file outside: not truncated, not
# appended to (the server honours Range), named in the error
victim
rm -rf "$C"
mkdir -p "$C/tidx"
ln -s "$V/big.bin" "$C/tidx/.img-idx3-ubyte.gz.part"
run 1 "$NNLAB" data fetch tidx --data "$C"
check "F2 part link: error names it" err_has "$C/tidx/.img-idx3-ubyte.gz.part: cannot create: is a symbolic link"
check "F2 part link: the file outside is intact" victim_intact
# the archive's partial file, with and without Range support
for mode in good cutnorange; do
    victim
    rm -rf "$C"
    mkdir -p "$C"
    ln -s "$V/big.bin" "$C/.tc-binary.tar.gz.part"
    run 1 env NNLAB_MIRROR="$BASE/$mode/" "$NNLAB" data fetch tc --data "$C"
    check "F2 archive part link ($mode): named" err_has ".tc-binary.tar.gz.part: cannot create: is a symbolic link"
    check "F2 archive part link ($mode): intact" victim_intact
done
# a FIFO as the partial file: refused at once (F6), not waited on
rm -rf "$C"
mkdir -p "$C/tidx"
mkfifo "$C/tidx/.img-idx3-ubyte.gz.part"
run 1 timeout 20 "$NNLAB" data fetch tidx --data "$C"
check "FIFO part: refused, named" err_has ".img-idx3-ubyte.gz.part: is a FIFO, not a regular file"

# the lock file planted as a link to a file that does not exist yet
victim
rm -rf "$C"
mkdir -p "$C"
ln -s "$V/created-by-nnlab" "$C/.nnlab-fetch.lock"
run 1 "$NNLAB" data fetch tidx --data "$C"
check "lock link: error names it" err_has "$C/.nnlab-fetch.lock: is a symbolic link"
check "lock link: nothing created outside" test ! -e "$V/created-by-nnlab"
check "lock link: the other directory is intact" victim_intact
check "lock link: nothing else in the cache" test "$(ls -A "$C")" = ".nnlab-fetch.lock"

# a dataset directory planted as a link: nothing is written through it
victim
rm -rf "$C"
mkdir -p "$C"
ln -s "$V/dir" "$C/tidx"
run 1 "$NNLAB" data fetch tidx --data "$C"
check "subdir link: error names it" err_has "$C/tidx: is a symbolic link"
check "subdir link: the other directory is intact" victim_intact

# the data directory itself may be a link (the user's choice): works
rm -rf "$C" "$TMP/real"
mkdir -p "$TMP/real"
ln -s "$TMP/real" "$C"
run 0 "$NNLAB" data fetch tidx --data "$C"
check "linked data dir: fetched" cmp -s "$TMP/real/tidx/img-idx3-ubyte.gz" "$IMG"
check "linked data dir: no lock left" test ! -e "$TMP/real/.nnlab-fetch.lock"
run 0 "$NNLAB" data fetch tc --data "$C"
check "linked data dir: archive unpacked" cmp -s "$TMP/real/tc-bin/data.bin" "$TMP/srv/members/tc-bin/data.bin"
check "linked data dir: archive removed" test ! -e "$TMP/real/tc-binary.tar.gz"
run 0 "$NNLAB" data fetch tc --data "$C" --force
check "linked data dir: --force replaces" test -z "$(ls -A "$TMP/real" | grep -v '^tidx$' | grep -v '^tc-bin$')"
check "still a link" test -L "$C"

# F7: members pin sha256 (the size is not exact): an endless body stops at the
# catalog's size plus a margin, and says so
rm -rf "$C"
: >"$SLOG"
start=$(date +%s)
run 1 env NNLAB_MIRROR="$BASE/endless/" NNLAB_FETCH_RETRIES=1 "$NNLAB" data fetch tpinned --data "$C"
elapsed=$(($(date +%s) - start))
check "F7 endless: stopped with the reason" err_has "plus a margin for a recompressed copy): stopped there"
check "F7 endless: names the catalog's size" err_has "the catalog's size of $(size_of "$IMG") bytes"
sent="$(sed -n 's/^SENT .*img-idx3-ubyte.gz bytes=//p' "$SLOG" | head -1)"
check "F7 endless: the server stopped early (sent ${sent:-?} bytes)" test -n "$sent" -a "${sent:-0}" -lt $((64 << 20))
check "F7 endless: quick ($elapsed s)" test "$elapsed" -lt 30
check "F7 endless: no partial file" test -z "$(find "$C" -name '*.part' 2>/dev/null)"

# a failed download leaves the data directory as it found it: no dataset
# directory, partial file or lock (the server cannot resume)
rm -rf "$C"
mkdir -p "$C"
run 1 env NNLAB_MIRROR="$BASE/404/" "$NNLAB" data fetch tidx --data "$C"
check "404: the directory is as it was" test -z "$(ls -A "$C")"
run 1 env NNLAB_MIRROR="$BASE/cutnorange/" NNLAB_FETCH_RETRIES=1 "$NNLAB" data fetch tidx --data "$C"
check "cut without Range: the directory is as it was" test -z "$(ls -A "$C")"
# a server that can resume: the partial file stays, and data list says so
mkdir -p "$C"
run 1 env NNLAB_MIRROR="$BASE/cut/" NNLAB_FETCH_RETRIES=1 "$NNLAB" data fetch tidx --data "$C"
check "cut with Range: the partial file stays" test -s "$C/tidx/.img-idx3-ubyte.gz.part"
check "cut with Range: the error says it is resumed" err_has "is resumed next time"
check "cut with Range: no lock left" test ! -e "$C/.nnlab-fetch.lock"
run 0 "$NNLAB" data list --data "$C"
check "data list shows the partial file" out_has "partial download tidx/.img-idx3-ubyte.gz.part"
: >"$SLOG"
run 0 env NNLAB_MIRROR="$BASE/good/" "$NNLAB" data fetch tidx --data "$C"
check "then resumed" grep -qF "range=bytes=" "$SLOG"

# F6: FIFOs where files should be: verify, list and the catalog refuse them at once
rm -rf "$C"
mkdir -p "$C/tidx"
mkfifo "$C/tidx/img-idx3-ubyte" "$C/tidx/lab-idx1-ubyte.gz"
run 1 timeout 20 "$NNLAB" data verify tidx --data "$C"
check "verify FIFO: named as a FIFO" out_has "is a FIFO, not a regular file"
run 0 timeout 20 "$NNLAB" data list --data "$C"
check "list FIFO: does not hang" test "$LAST_RC" = 0
mkfifo "$TMP/cat.fifo"
run 1 timeout 20 env NNLAB_CATALOG="$TMP/cat.fifo" "$NNLAB" data list --data "$C"
check "NNLAB_CATALOG FIFO: refused" err_has "cat.fifo: is a FIFO, not a regular file"
finish
