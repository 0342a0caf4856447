#!/usr/bin/env python3
"""torch_crosscheck.py's model-file path against PyTorch itself (no nnlab).

    python3 peers/crosscheck_selftest.py MODEL.nnm OUT_DIR [--data DIR] [--limit N]

Trains MODEL.nnm's model with PyTorch for --limit samples (batch 32, file order,
dropout 0, nnlab's Adam written out as torch_crosscheck.py does) and writes what
`nnlab train --save-init --save --step-log --save-steps` writes, in nnlab's tensor
layouts, as model files of an unknown format version (99): the magic, a header
that the cross-check must skip by its size field, the tensors, the CRC-32. The
cross-check of those files must then pass, and fail under its mutations: a test
of the reader, the layouts and the layer pairing before an nnlab that trains
model files is at hand (tests/integration/torch_crosscheck.sh runs it).
Exit status 3 when PyTorch is not installed."""

import argparse
import importlib.util
import os
import struct
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nnlab_peer as P  # noqa: E402
import nnm  # noqa: E402
import torch_crosscheck as X  # noqa: E402
import torch_train as T  # noqa: E402


def main():
    p = argparse.ArgumentParser(prog="crosscheck_selftest.py")
    p.add_argument("model")
    p.add_argument("out")
    p.add_argument("--data", default=None)
    p.add_argument("--limit", type=P.positive_int, default=320)
    args = p.parse_args()
    if importlib.util.find_spec("torch") is None:
        P.reexec_with("/usr/bin/python3", [os.path.abspath(__file__)] + sys.argv[1:])
        P.skip("PyTorch (module torch)", T.INSTALL_HINT)
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    m = nnm.load(args.model)
    args.data = args.data or P.default_data_dir()
    args.dataset, args.flat = m.dataset, T.input_is_flat(m)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = T.build_model(nn, m, dropout=0.0, flat_input=args.flat)
    model.train()
    layers = X.nnm_layers(m)
    holder = type("MF", (), {"layers": layers, "path": args.model})()
    pairs = X.pair_by_order(nn, holder, model)
    moments = [[torch.zeros_like(t) for _, mod in pairs for t in (mod.weight, mod.bias)]
               for _ in range(2)]

    def save(path):
        per = {L["index"]: [np.zeros(0, np.float32)] * 4 for L in layers}
        j = 0
        for L, mod in pairs:
            st = np.zeros(0, np.float32)
            if isinstance(mod, nn.modules.batchnorm._BatchNorm):
                st = np.concatenate([mod.running_mean.numpy(), mod.running_var.numpy()])
            per[L["index"]] = [X.from_torch(L, [mod.weight, mod.bias]), st,
                               X.from_torch(L, moments[0][j:j + 2]),
                               X.from_torch(L, moments[1][j:j + 2])]
            j += 2
        body = b"".join(per[i][k].astype("<f4").tobytes() for k in range(4) for i in sorted(per))
        header = b"a header of another format version"
        data = b"NNLABMDL" + struct.pack("<II", 99, len(header)) + header + body
        with open(path, "wb") as f:
            f.write(data + struct.pack("<I", zlib.crc32(data) & 0xFFFFFFFF))

    os.makedirs(os.path.join(args.out, "steps"), exist_ok=True)
    save(os.path.join(args.out, "init.nlm"))
    x, y = X.load_samples(args)
    xs, ys = torch.from_numpy(x.copy()), torch.from_numpy(y.astype("int64"))
    o, log = m.optimizer, ["step,loss"]
    params = [t for _, mod in pairs for t in (mod.weight, mod.bias)]
    for k, i in enumerate(range(0, args.limit, 32), 1):
        for t in params:
            t.grad = None
        loss = F.cross_entropy(model(xs[i:i + 32].float() / 255.0), ys[i:i + 32])
        loss.backward()
        c1, c2 = 1 - o["beta1"] ** k, 1 - o["beta2"] ** k
        with torch.no_grad():
            for t, mi, vi in zip(params, moments[0], moments[1]):
                mi.mul_(o["beta1"]).add_(t.grad, alpha=1 - o["beta1"])
                vi.mul_(o["beta2"]).addcmul_(t.grad, t.grad, value=1 - o["beta2"])
                t.sub_((o["lr"] / c1) * mi / ((vi / c2).sqrt() + o["eps"]))
        log.append("%d,%.9g" % (k, float(loss)))
        save(os.path.join(args.out, "steps", "step-%d.nlm" % k))
    save(os.path.join(args.out, "final.nlm"))
    with open(os.path.join(args.out, "steps.csv"), "w") as f:
        f.write("\n".join(log) + "\n")


if __name__ == "__main__":
    P.main_guard(main)
