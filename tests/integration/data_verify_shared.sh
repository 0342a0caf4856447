#!/usr/bin/env bash
# The shared datasets (../shared/datasets): MNIST verifies against the pinned
# hashes of the unpacked files; the CIFAR-10 copy there, rebuilt from JPEGs, is
# never called the official release. No network: everything is already there.
# Also Debian's Fashion-MNIST package when it is installed.
source "$(dirname "$0")/data_common.bash"

S="$NNLAB_SHARED_DATA"
if [ ! -d "$S/mnist" ]; then
    echo "SKIP: $S not found"
    echo "0 passed, 0 failed"
    exit 0
fi

run 0 env NNLAB_DATA="$S" "$NNLAB" data verify mnist
check "mnist verified" out_has "mnist: verified: every file matches its pinned hash"
check "four files verified" test "$(grep -c '^  verified ' "$TMP/out")" = 4
run 0 env NNLAB_DATA="$S" "$NNLAB" data verify mnist --strict

if [ -d "$S/cifar-10-batches-bin" ]; then
    run 0 env NNLAB_DATA="$S" "$NNLAB" data verify cifar10
    check "cifar10 unverified" out_has "cifar10: unverified: NOT the official release"
    check "cifar10 never called verified" sh -c "! grep -q '^cifar10: verified' '$TMP/out'"
    check "no data file called verified" sh -c "! grep -q '^  verified ' '$TMP/out'"
    check "each batch says it is not the official file" \
        test "$(grep -c 'NOT the official file' "$TMP/out")" = 6
    check "the rebuilt copy is named" out_has "rebuilt from a JPEG export"
    run 1 env NNLAB_DATA="$S" "$NNLAB" data verify cifar10 --strict
    check "--strict refuses it" err_has "content not verified"
    run 0 env NNLAB_DATA="$S" "$NNLAB" data list
    check "list: mnist verified" grep -qE "^mnist .* verified +$S/mnist$" "$TMP/out"
    check "list: cifar10 unverified" grep -qE "^cifar10 .* unverified +$S/cifar-10-batches-bin$" "$TMP/out"
    # fetch keeps the copy (offline: nothing to download, nothing written)
    run 0 env NNLAB_DATA="$S" "$NNLAB" data fetch cifar10 --offline
    check "fetch keeps the rebuilt copy, says so" err_has "--force downloads the official files"
    check "fetch does not call it verified" out_has "cifar10: unverified"
    # verify agrees with the CIFAR-10 loader: a stray batch file fails both
    mkdir -p "$TMP/c10/cifar-10-batches-bin"
    for f in "$S"/cifar-10-batches-bin/*; do ln -s "$f" "$TMP/c10/cifar-10-batches-bin/"; done
    run 0 "$NNLAB" data verify cifar10 --data "$TMP/c10"
    : >"$TMP/c10/cifar-10-batches-bin/data_batch_6.bin"
    run 1 "$NNLAB" data verify cifar10 --data "$TMP/c10"
    check "loader refusal reported" out_has "the CIFAR-10 loader refuses it"
fi

run 0 env NNLAB_DATA="$S" "$NNLAB" data fetch mnist --offline
check "fetch offline: already verified" out_has "mnist: verified"
before="$(ls -A "$S" | sort)"
run 0 env NNLAB_DATA="$S" NNLAB_MIRROR="http://127.0.0.1:1/" "$NNLAB" data fetch mnist
check "fetch with nothing to do writes nothing" test "$(ls -A "$S" | sort)" = "$before"
run 0 env NNLAB_DATA="$S" "$NNLAB" data path mnist
check "path" test "$(cat "$TMP/out")" = "$S/mnist"

# Debian's dataset-fashion-mnist: recompressed .gz files, verified through
# their unpacked content; also usable as a mirror (file://).
DEB=/usr/share/datasets
if [ -f "$DEB/fashion-mnist/train-images-idx3-ubyte.gz" ]; then
    run 0 env NNLAB_DATA="$DEB" "$NNLAB" data verify fashion-mnist
    check "Debian fashion-mnist verified" out_has "fashion-mnist: verified"
    check "as recompressed copies" test "$(grep -c 'recompressed copy' "$TMP/out")" = 4
    run 0 env NNLAB_MIRROR="file://$DEB/" "$NNLAB" data fetch fashion-mnist --data "$TMP/c"
    check "fetched from the package" out_has "fashion-mnist: verified"
    check "copied as is" cmp -s "$TMP/c/fashion-mnist/t10k-labels-idx1-ubyte.gz" "$DEB/fashion-mnist/t10k-labels-idx1-ubyte.gz"
else
    echo "SKIP: $DEB/fashion-mnist not installed (apt-get install dataset-fashion-mnist)"
fi
finish
