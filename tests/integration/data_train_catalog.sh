#!/usr/bin/env bash
# What `nnlab data` can fetch, `nnlab train` can train on: a tiny IDX dataset
# of a user catalog (NNLAB_CATALOG, 5 classes) is fetched from a local server
# and trained for one epoch through the generic IDX loader; the last layer
# has one unit per class of the entry. Errors: a workload whose input does not
# fit the dataset (before any work when the table knows the shape, after
# loading when only the files do), labels outside the entry's classes, a
# catalog entry whose files cannot be told apart, an unknown dataset; eval of
# a model on a dataset with other classes.
source "$(dirname "$0")/data_common.bash"

mkdir -p "$TMP/srv/tiny" "$TMP/srv/tiny16" "$TMP/srv/tinybad"
python3 - "$TMP/srv" <<'EOF2'
import gzip, os, random, struct, sys
d = sys.argv[1]
rng = random.Random(12)
def idx(path, n, h, w, classes):
    labels = [rng.randrange(classes) for _ in range(n)]
    # learnable: the label sets a bright band in the image
    pix = bytearray()
    for l in labels:
        img = bytearray(rng.randrange(60) for _ in range(h * w))
        for x in range(w):
            img[(l * h // classes) * w + x] = 255
        pix += img
    gz = lambda b: gzip.compress(b, mtime=0)
    open(path + "-images-idx3-ubyte.gz", "wb").write(gz(struct.pack(">BBBBIII", 0, 0, 8, 3, n, h, w) + bytes(pix)))
    open(path + "-labels-idx1-ubyte.gz", "wb").write(gz(struct.pack(">BBBBI", 0, 0, 8, 1, n) + bytes(labels)))
idx(os.path.join(d, "tiny", "train"), 300, 28, 28, 5)
idx(os.path.join(d, "tiny", "t10k"), 100, 28, 28, 5)
idx(os.path.join(d, "tiny16", "train"), 50, 16, 16, 5)
idx(os.path.join(d, "tiny16", "t10k"), 20, 16, 16, 5)
idx(os.path.join(d, "tinybad", "train"), 50, 28, 28, 10)  # labels 0..9 for a 5-class entry
idx(os.path.join(d, "tinybad", "t10k"), 20, 28, 28, 10)
EOF2
start_server "$TMP/srv"

entry() { # NAME SUBDIR CLASSES [member names...]: a catalog entry pinning the files
    local name="$1" sub="$2" classes="$3"
    echo "[$name]"
    echo "title = test set $name"
    echo "kind = idx"
    echo "subdir = $sub"
    echo "classes = $classes"
    echo "mirror = $BASE/good/$sub/"
    for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
        echo "download = $sub/$f.gz sha256=$(sha256_of "$TMP/srv/$sub/$f.gz")"
    done
    for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
        echo "member = ${MEMBER_PREFIX:-}$f"
    done
    echo
}
{
    entry tiny tiny 5
    entry tiny16 tiny16 5
    entry tinybad tinybad 5
    MEMBER_PREFIX=x- entry tinyx tiny 5
} >"$TMP/test.cat"
# tinyx: same files, but two members look like train images
sed -i 's/^member = x-train-labels-idx1-ubyte/member = x-train-images-b-idx3/' "$TMP/test.cat"
export NNLAB_CATALOG="$TMP/test.cat"
C="$TMP/cache"
mkdir -p "$C"

# fetched, then trained: 5 classes -> the mnist MLP ends in dense 5
# (784*128+128 + 128*5+5 = 101125 parameters)
run 0 "$NNLAB" train mnist --dataset tiny --data "$C" --epochs 1 --limit 200 --batch 16 --seed 3
check "trained on tiny" out_has "mnist on tiny, 1 epoch, batch 16"
check "200 of 300 training samples, 100 test" err_has "mnist on tiny: 200 training, 100 test samples, 101125 parameters"
check "fetched first" test -f "$C/tiny/train-images-idx3-ubyte.gz"
check "server saw the downloads" test "$(log_count "GET /good/tiny/")" = 4
grep "test accuracy" "$TMP/out" | sed 's/^/  /'
# offline now, JSON, saved model; eval on the same dataset
run 0 "$NNLAB" train mnist-keras-paper --dataset tiny --data "$C" --epochs 1 --offline --json --quiet --save "$TMP/tiny.nnlab"
check "json names the dataset" out_has '"dataset": "tiny"'
check "json: 300 samples" out_has '"train_samples": 300'
run 0 "$NNLAB" eval --model "$TMP/tiny.nnlab" --dataset tiny --data "$C"
check "eval on tiny" out_has "on tiny: test accuracy"
check "eval: 100 samples" out_has "(100 samples)"
# eval without --dataset uses the workload's (mnist, 10 classes): refused, naming both
mkdir -p "$C/mnist"
for f in t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    ln -s "$NNLAB_SHARED_DATA/mnist/$f" "$C/mnist/$f"
done
run 1 "$NNLAB" eval --model "$TMP/tiny.nnlab" --data "$C"
check "eval: outputs vs classes" err_has "has 5 outputs; dataset 'mnist' has 28x28x1 samples in 10 classes"
check "eval: hint" err_has "--dataset"

# the help lists the catalog's trainable IDX entries
run 0 "$NNLAB" train --help
check "help: catalog entries" out_has "(now: tiny, tiny16, tinybad)"
check "help: cifar100-coarse" out_has "cifar100-coarse"

# shapes: the table knows cifar10's (usage error before any work), a catalog
# entry's shape comes from its files (runtime error after loading)
run 2 "$NNLAB" train cifar10 --dataset mnist --data "$C"
check "cifar10 on mnist" err_has "workload 'cifar10' takes 32x32x3 inputs (3072 values), dataset 'mnist' has 28x28x1 samples (784 values)"
run 2 "$NNLAB" train mnist --dataset cifar100 --data "$C"
check "mnist on cifar100" err_has "workload 'mnist' takes 28x28x1 inputs (784 values), dataset 'cifar100' has 32x32x3"
run 1 "$NNLAB" train mnist --dataset tiny16 --data "$C" --epochs 1
check "mnist on 16x16" err_has "workload 'mnist' takes 28x28x1 inputs, dataset 'tiny16' has 16x16x1 training"
# labels beyond the entry's classes (the fetcher refuses such a download: the
# files are placed by hand)
cp -r "$TMP/srv/tinybad" "$C/tinybad"
run 1 "$NNLAB" train mnist --dataset tinybad --data "$C" --epochs 1
check "label range" err_has "is out of range, expected 0..4"
check "label file named" err_has "$C/tinybad/train-labels-idx1-ubyte.gz"
# ambiguous members; unknown names
run 2 "$NNLAB" train mnist --dataset tinyx --data "$C"
check "ambiguous members" err_has "cannot tell its train/test image and label files apart"
run 2 "$NNLAB" train mnist --dataset nosuch --data "$C"
check "unknown dataset lists names" err_has "unknown dataset 'nosuch' (known: mnist, fashion-mnist, kmnist, cifar10, cifar100, cifar100-coarse, tiny, tiny16, tinybad)"
run 2 "$NNLAB" train resnet --data "$C"
check "unknown workload lists names" err_has "unknown workload 'resnet' (known: mnist, mnist-keras-paper, cifar10, cifar10-keras-paper)"
finish
