#!/usr/bin/env python3
"""PyTorch peer contestant: the workloads of shared/design.md, trained with PyTorch.

    python3 peers/torch_train.py --workload mnist --data ../shared/datasets --json

Needs Debian's python3-torch (PyTorch 1.13; `apt-get install python3-torch`). When
the running interpreter has no torch but /usr/bin/python3 has, the script re-runs
itself with /usr/bin/python3. No torch at all: exit status 3 and an install hint.
See peers/README.md for the options and the output.
"""

import importlib.util
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nnlab_peer as P  # noqa: E402

INSTALL_HINT = "apt-get install python3-torch (Debian's PyTorch, for /usr/bin/python3)"


def build_model(nn, workload, dropout=P.DROPOUT, flatten_nhwc=False):
    """The model of the workload; the last layer gives logits (softmax is in the loss).

    Images come in as [n, 28, 28] (MNIST) or NCHW [n, 3, 32, 32] (CIFAR-10).
    dropout: the rate of the dropout layer. flatten_nhwc: flatten feature maps
    in nnlab's (and Keras') h, w, c order instead of PyTorch's c, h, w, so that
    a dense layer's inputs are numbered as in nnlab (torch_crosscheck.py)."""
    flatten = NHWCFlatten(nn) if flatten_nhwc else nn.Flatten()
    if workload == "mnist":
        layers = [flatten, nn.Linear(784, 128), nn.ReLU(), nn.Dropout(dropout),
                  nn.Linear(128, 10)]
    elif workload == "mnist-keras-paper":
        layers = [flatten, nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                  nn.Dropout(dropout), nn.Linear(128, 10)]
    elif workload == "cifar10":
        bn = dict(eps=P.BN_EPS, momentum=P.BN_MOMENTUM_TORCH)
        layers = [nn.Conv2d(3, 32, 3), nn.ReLU(), nn.BatchNorm2d(32, **bn), nn.MaxPool2d(2, 2),
                  nn.Conv2d(32, 64, 3), nn.ReLU(), nn.BatchNorm2d(64, **bn), nn.MaxPool2d(2, 2),
                  flatten, nn.Linear(2304, 64), nn.ReLU(), nn.Dropout(dropout),
                  nn.Linear(64, 10)]
    elif workload == "cifar10-keras-paper":
        layers = [nn.Conv2d(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2, 2),
                  nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2, 2),
                  flatten, nn.Linear(2304, 64), nn.ReLU(), nn.Linear(64, 10)]
    else:
        raise P.PeerError("unknown workload %s" % workload)
    model = nn.Sequential(*layers)
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(m.weight)  # glorot-uniform, as Keras and nnlab
            nn.init.zeros_(m.bias)
    return model


def NHWCFlatten(nn):
    """A flatten module that numbers NCHW feature maps' elements in h, w, c order."""

    class _NHWCFlatten(nn.Module):
        def forward(self, x):
            return (x.permute(0, 2, 3, 1) if x.dim() == 4 else x).flatten(1)

    return _NHWCFlatten()


def main():
    parser = P.make_parser("torch_train.py", "Train an nnlab workload with PyTorch.")
    args = P.parse_args(parser)

    if importlib.util.find_spec("torch") is None:
        P.reexec_with("/usr/bin/python3", [os.path.abspath(__file__)] + sys.argv[1:])
        P.skip("PyTorch (module torch)", INSTALL_HINT)

    P.check_data(args)
    run = P.Run(args, "pytorch")
    try:
        train(args, run)
    except BaseException:
        run.abort()
        raise


def train(args, run):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    if args.threads > 0:
        torch.set_num_threads(args.threads)
        torch.set_num_interop_threads(args.threads)
    torch.manual_seed(args.seed)
    model = build_model(nn, args.workload)
    if args.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=args.lr,
                               betas=(P.ADAM_BETA1, P.ADAM_BETA2), eps=P.ADAM_EPS, foreach=True)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=args.lr, foreach=True)
    run.init_stop(torch.__version__, torch.get_num_threads())

    run.run_start()
    xtr_np, ytr_np, xte_np, yte_np = P.load_dataset(args)
    # Images stay u8 in memory and are scaled per batch (as nnlab does).
    xtr = torch.from_numpy(xtr_np.copy())
    ytr = torch.from_numpy(ytr_np.astype("int64"))
    xte = torch.from_numpy(xte_np.copy())
    yte = torch.from_numpy(yte_np.astype("int64"))
    n = xtr.shape[0]
    if n == 0:
        raise P.PeerError("no training samples")
    run.data_loaded(n, xte.shape[0])

    gen = torch.Generator()
    gen.manual_seed(args.seed)
    bs = args.batch
    for epoch in range(1, args.epochs + 1):
        run.epoch_start(epoch)
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(n, generator=gen)
        loss_sum = torch.zeros((), dtype=torch.float64)
        correct = torch.zeros((), dtype=torch.int64)
        for i in range(0, n, bs):
            idx = perm[i:i + bs]
            x = xtr[idx].float().div_(255.0)
            y = ytr[idx]
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                loss_sum += loss * y.shape[0]
                correct += (logits.argmax(1) == y).sum()
        seconds = time.perf_counter() - t0
        run.epoch_stop(epoch, n, seconds, float(loss_sum) / n, int(correct) / n)

        model.eval()
        right = 0
        with torch.inference_mode():
            for i in range(0, xte.shape[0], P.EVAL_BATCH):
                x = xte[i:i + P.EVAL_BATCH].float().div_(255.0)
                right += int((model(x).argmax(1) == yte[i:i + P.EVAL_BATCH]).sum())
        run.eval_accuracy(epoch, right / xte.shape[0])

    run.finish()


if __name__ == "__main__":
    P.main_guard(main)
