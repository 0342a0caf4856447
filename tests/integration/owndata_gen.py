"""Writes MNIST-shaped tables for the own-data tests (own_data.sh, predict.sh)
from the IDX files, with plain Python (no numpy): pixels scaled exactly as
nnlab scales the built-in images (the float32 product k * float32(1/255)), so
training on the table and on the built-in dataset is the same computation.

usage: owndata_gen.py MNIST_DIR OUT_DIR SPLIT N [csv|csv-nolabel|npz|npz4|npz-x]
  SPLIT train or test; N samples from the start of the split.
  csv: OUT_DIR/SPLIT.csv with a 'label' column last; csv-nolabel without it;
  npz: x float32 [N][784], y int64 [N]; npz4: x [N][28][28][1]; npz-x: x only."""
import io
import struct
import sys
import zipfile


def idx(path):
    b = open(path, "rb").read()
    rank = b[3]
    dims = struct.unpack(">%dI" % rank, b[4:4 + 4 * rank])
    return dims, b[4 + 4 * rank:]


def npy(descr, shape, data):
    head = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, "".join("%d, " % d for d in shape))
    pad = 64 - (10 + len(head) + 1) % 64
    head = head + " " * (pad % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head.encode() + data


def main():
    src, out, split, n, kind = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    pre = "train" if split == "train" else "t10k"
    _, img = idx("%s/%s-images-idx3-ubyte" % (src, pre))
    _, lab = idx("%s/%s-labels-idx1-ubyte" % (src, pre))
    s = struct.unpack("f", struct.pack("f", 1.0 / 255.0))[0]
    f32 = [struct.unpack("f", struct.pack("f", k * s))[0] for k in range(256)]
    if kind.startswith("csv"):
        with open("%s/%s.csv" % (out, split), "w") as f:
            names = ["p%d" % i for i in range(784)]
            f.write(",".join(names + ([] if kind == "csv-nolabel" else ["label"])) + "\n")
            for i in range(n):
                row = [repr(f32[v]) for v in img[784 * i:784 * (i + 1)]]
                if kind != "csv-nolabel":
                    row.append("%d" % lab[i])
                f.write(",".join(row) + "\n")
        return
    x = struct.pack("<%df" % (784 * n), *[f32[v] for v in img[:784 * n]])
    y = struct.pack("<%dq" % n, *lab[:n])
    shape = (n, 28, 28, 1) if kind == "npz4" else (n, 784)
    with zipfile.ZipFile("%s/%s.npz" % (out, split), "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("x.npy", npy("<f4", shape, x))
        if kind != "npz-x":
            z.writestr("y.npy", npy("<i8", (n,), y))


main()
