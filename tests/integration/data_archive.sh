#!/usr/bin/env bash
# Archive datasets (the CIFAR path) with a test catalog: the tar.gz is checked,
# unpacked into its directory, checked member by member, and removed; a
# corrupted or truncated member is caught; an archive placed by hand is used
# without network; an archive with an escaping path, bad labels or a member
# that disagrees with its pin is refused.
source "$(dirname "$0")/data_common.bash"

mkdir -p "$TMP/srv"
python3 - "$TMP/srv" <<'EOF'
import io, os, random, sys, tarfile
d = sys.argv[1]
rng = random.Random(10)

def rec10(n, bad=False):
    out = bytearray()
    for i in range(n):
        out.append(i % 10)
        out += bytes(rng.randrange(256) for _ in range(3072))
    return bytes(out)

def rec100(n, fine_bad=False):
    out = bytearray()
    for i in range(n):
        out.append(i % 20)
        out.append(150 if fine_bad and i == 3 else (i * 7) % 100)
        out += bytes(rng.randrange(256) for _ in range(3072))
    return bytes(out)

def tgz(name, files):
    with tarfile.open(os.path.join(d, name), "w:gz", format=tarfile.USTAR_FORMAT) as t:
        for path, data in files:
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mtime = 0
            t.addfile(info, io.BytesIO(data))
    for path, data in files:  # members as separate files, to pin their hashes
        if "/../" not in path:
            p = os.path.join(d, "members", path)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            open(p, "wb").write(data)

names = b"".join(n.encode() + b"\n" for n in
                 "airplane automobile bird cat deer dog frog horse ship truck".split())
tgz("tc10-binary.tar.gz", [("tc10-batches-bin/batches.meta.txt", names + b"\n"),
                           ("tc10-batches-bin/data_batch_1.bin", rec10(20)),
                           ("tc10-batches-bin/test_batch.bin", rec10(10)),
                           ("tc10-batches-bin/readme.html", b"<p>test</p>\n")])
tgz("tevil-binary.tar.gz", [("tevil-bin/data.bin", rec10(2)),
                            ("tevil-bin/../escaped.txt", b"gotcha\n")])
coarse = b"".join(b"c%d\n" % i for i in range(20))
fine = b"".join(b"f%d\n" % i for i in range(100))
tgz("tc100-binary.tar.gz", [("tc100-bin/coarse_label_names.txt", coarse),
                            ("tc100-bin/fine_label_names.txt", fine),
                            ("tc100-bin/train.bin", rec100(10)),
                            ("tc100-bin/test.bin", rec100(5))])
tgz("tc100bad-binary.tar.gz", [("tc100bad-bin/train.bin", rec100(10, fine_bad=True))])
EOF
start_server "$TMP/srv"
A="$TMP/srv/tc10-binary.tar.gz"
M="$TMP/srv/members"
cat >"$TMP/test.cat" <<EOF
[tc10]
kind = cifar10
subdir = tc10-batches-bin
mirror = $BASE/good/
download = tc10-binary.tar.gz size=$(size_of "$A") sha256=$(sha256_of "$A") md5=$(md5_of "$A")
member = batches.meta.txt records=10
member = data_batch_1.bin record_size=3073 records=20 sha256=$(sha256_of "$M/tc10-batches-bin/data_batch_1.bin")
member = test_batch.bin record_size=3073 records=10 sha256=$(sha256_of "$M/tc10-batches-bin/test_batch.bin")

[twrongpin]
kind = cifar10
subdir = tc10-batches-bin
mirror = $BASE/good/
download = tc10-binary.tar.gz sha256=$(sha256_of "$A")
member = data_batch_1.bin record_size=3073 records=20 sha256=$(printf '0%.0s' $(seq 64))

[tevil]
kind = cifar10
subdir = tevil-bin
mirror = $BASE/good/
download = tevil-binary.tar.gz sha256=$(sha256_of "$TMP/srv/tevil-binary.tar.gz")
member = data.bin record_size=3073 records=2

[tc100]
kind = cifar100
subdir = tc100-bin
mirror = $BASE/good/
download = tc100-binary.tar.gz md5=$(md5_of "$TMP/srv/tc100-binary.tar.gz")
member = coarse_label_names.txt records=20
member = fine_label_names.txt records=100
member = train.bin record_size=3074 records=10
member = test.bin record_size=3074 records=5

[tc100bad]
kind = cifar100
subdir = tc100bad-bin
mirror = $BASE/good/
download = tc100bad-binary.tar.gz sha256=$(sha256_of "$TMP/srv/tc100bad-binary.tar.gz")
member = train.bin record_size=3074 records=10
EOF
export NNLAB_CATALOG="$TMP/test.cat"
C="$TMP/cache"
D="$C/tc10-batches-bin"

# fetch: downloaded, checked, unpacked, archive removed
run 0 "$NNLAB" data fetch tc10 --data "$C"
check "verified" out_has "tc10: verified"
for f in batches.meta.txt data_batch_1.bin test_batch.bin readme.html; do
    check "unpacked $f" cmp -s "$D/$f" "$M/tc10-batches-bin/$f"
done
check "archive removed" test ! -e "$C/tc10-binary.tar.gz"
check "no leftovers" test -z "$(find "$C" -name '.*' ! -name .nnlab-fetch.lock ! -path "$C")"
run 0 "$NNLAB" data verify tc10 --data "$C"
check "class names: structure only, said so" out_has "class-name file(s) checked for structure only"
run 0 "$NNLAB" data path tc10 --data "$C"
check "path is the directory" test "$(cat "$TMP/out")" = "$D"

# a corrupted member: verify names it, fetch downloads and unpacks again
flip_byte "$D/data_batch_1.bin" 5000
run 1 "$NNLAB" data verify tc10 --data "$C"
check "corrupt member named, expected and found" \
    grep -q "BAD .*tc10-batches-bin/data_batch_1.bin: sha256 mismatch: expected $(sha256_of "$M/tc10-batches-bin/data_batch_1.bin"), found" "$TMP/out"
: >"$SLOG"
run 0 "$NNLAB" data fetch tc10 --data "$C"
check "re-downloaded once" test "$(log_count "GET /good/tc10-binary.tar.gz")" = 1
check "repaired" cmp -s "$D/data_batch_1.bin" "$M/tc10-batches-bin/data_batch_1.bin"
run 0 "$NNLAB" data verify tc10 --data "$C"

# a truncated member and a bad label: structure errors
head -c 30000 "$M/tc10-batches-bin/test_batch.bin" >"$D/test_batch.bin"
run 1 "$NNLAB" data verify tc10 --data "$C"
check "truncated member" out_has "not a whole number of 3073-byte records"
python3 - "$D/test_batch.bin" "$M/tc10-batches-bin/test_batch.bin" <<'EOF'
import sys
b = bytearray(open(sys.argv[2], "rb").read())
b[3073 * 4] = 12
open(sys.argv[1], "wb").write(bytes(b))
EOF
run 1 "$NNLAB" data verify tc10 --data "$C"
check "bad label" out_has "record 4: label 12 is not below 10"
rm "$D/test_batch.bin"
run 1 "$NNLAB" data verify tc10 --data "$C"
check "missing member" grep -q "missing .*tc10-batches-bin/test_batch.bin" "$TMP/out"

# an archive put there by hand: verified as is, unpacked without network
rm -rf "$D"
cp "$A" "$C/"
run 0 "$NNLAB" data verify tc10 --data "$C"
check "archive verified" grep -q "verified .*tc10-binary.tar.gz" "$TMP/out"
run 0 "$NNLAB" data path tc10 --data "$C"
check "path is the archive" test "$(cat "$TMP/out")" = "$C/tc10-binary.tar.gz"
: >"$SLOG"
run 0 "$NNLAB" data fetch tc10 --data "$C" --offline
check "unpacked offline" test -f "$D/data_batch_1.bin"
check "no request" test ! -s "$SLOG"

# a member that disagrees with its pin although the archive verified: refused,
# the verified archive is kept where the loader can read it
rm -rf "$D"
run 1 "$NNLAB" data fetch twrongpin --data "$C"
check "pin disagreement explained" err_has "may be wrong"
check "archive kept" test -f "$C/tc10-binary.tar.gz"
check "no half-installed directory" test ! -e "$D"
run 0 "$NNLAB" data verify twrongpin --data "$C"
rm -f "$C/tc10-binary.tar.gz"

# a path escaping the dataset directory: refused, nothing written outside
run 1 "$NNLAB" data fetch tevil --data "$C"
check "unsafe path refused" err_has "unsafe path"
check "nothing escaped" test -z "$(find "$TMP" -name escaped.txt ! -path "$TMP/srv/*")"
check "not installed" test ! -e "$C/tevil-bin"

# CIFAR-100 layout: coarse and fine labels checked
run 0 "$NNLAB" data fetch tc100 --data "$C"
check "cifar100 kind verified" out_has "tc100: unverified" # no member pins: said plainly
run 0 "$NNLAB" data verify tc100 --data "$C"
check "cifar100 structure" out_has "10 records of 3074 bytes"
run 1 "$NNLAB" data fetch tc100bad --data "$C"
check "fine label range" err_has "record 3: fine label 150 is not below 100"
check "bad archive not installed" test ! -e "$C/tc100bad-bin"
finish
