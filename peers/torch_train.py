#!/usr/bin/env python3
"""PyTorch peer contestant: any nnlab model file (.nnm), trained with PyTorch.

    python3 peers/torch_train.py --workload mnist --data ../shared/datasets --json
    python3 peers/torch_train.py --model my.nnm --train-data train.csv --test-data test.csv

Needs Debian's python3-torch (PyTorch 1.13; `apt-get install python3-torch`). When
the running interpreter has no torch but /usr/bin/python3 has, the script re-runs
itself with /usr/bin/python3. No torch at all: exit status 3 and an install hint.
See peers/README.md for the options and the output.
"""

import importlib.util
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nnlab_peer as P  # noqa: E402

INSTALL_HINT = "apt-get install python3-torch (Debian's PyTorch, for /usr/bin/python3)"
TORCH2_VENV = os.path.join(P.REPO_DIR, ".venv-peers", "torch2")
TORCH2_HINT = ("/usr/bin/python3 -m venv .venv-peers/torch2 && .venv-peers/torch2/bin/pip install "
               "-r peers/requirements-torch2.txt (CPU wheels: see peers/README.md)")
# layer kinds this peer cannot build (skipped: exit status 3); PyTorch builds them all
UNSUPPORTED = ()


def framework_args(p):
    p.add_argument("--torch2", action="store_true",
                   help="train with PyTorch 2 from the virtual environment .venv-peers/torch2 "
                        "(peers/requirements-torch2.txt) instead of Debian's PyTorch 1.13")
    p.add_argument("--step-losses", default=None, metavar="FILE",
                   help="write every step's loss (the mean over its global batch) to FILE as "
                        "CSV: a header 'step,loss', then one line per step (as nnlab train "
                        "--step-log)")


def world():
    """(rank, size) of a start by torchrun (its RANK and WORLD_SIZE); (0, 1) alone."""
    try:
        size = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
    except ValueError:
        raise P.PeerError("WORLD_SIZE=%r RANK=%r: expected integers (as torchrun sets them)"
                          % (os.environ.get("WORLD_SIZE"), os.environ.get("RANK")))
    if size < 1 or not 0 <= rank < size:
        raise P.PeerError("RANK=%d of WORLD_SIZE=%d: expected 0 <= RANK < WORLD_SIZE"
                          % (rank, size))
    return rank, size


def torch_major():
    """The major version of the torch this interpreter would import, 0 without one."""
    if importlib.util.find_spec("torch") is None:
        return 0
    try:
        from importlib import metadata

        return int(metadata.version("torch").split(".")[0])
    except Exception:  # no distribution metadata (a source build): import it to see
        import torch

        return int(torch.__version__.split(".")[0])


def build_model(nn, m, dropout=None, flatten_nhwc=True, flat_input=None):
    """The model of model file m (nnm.Model) as an nn.Sequential.

    Feature maps are NCHW inside PyTorch; the input comes in NCHW when the model
    starts with a convolution or pooling, else flat (flat_input; default: decided
    from m). A flatten, and a dense layer on a feature map, number the elements
    in nnlab's h, w, c order (flatten_nhwc=False: PyTorch's c, h, w, a mutation of
    torch_crosscheck.py), so the model is the same function as nnlab's. With
    crossentropy the final softmax is left out: F.cross_entropy applies it.
    dropout: overrides every dropout rate (None: the file's). Weights
    glorot-uniform, biases zero, batch norm gamma 1 beta 0 (as nnlab and Keras)."""
    import torch.nn.functional as F

    flatten = (lambda: NHWCFlatten(nn)) if flatten_nhwc else nn.Flatten
    if flat_input is None:
        flat_input = input_is_flat(m)
    layers = []
    shape = (P.nnm._size(m.input_shape),) if flat_input else m.input_shape
    last = len(m.layers) - 1

    def act(name, alpha, final):
        if name in (None, "linear"):
            return
        if name == "softmax":
            if m.loss == "crossentropy" and final:
                return  # fused into F.cross_entropy
            layers.append(nn.Softmax(dim=1))
        elif name == "relu":
            layers.append(nn.ReLU())
        elif name == "tanh":
            layers.append(nn.Tanh())
        elif name == "sigmoid":
            layers.append(nn.Sigmoid())
        elif name == "gelu":
            layers.append(nn.GELU(approximate="tanh"))
        elif name == "leakyrelu":
            layers.append(nn.LeakyReLU(alpha))
        else:
            raise P.PeerError("PyTorch peer: no activation %s" % name)

    for i, L in enumerate(m.layers):
        k = L.kind
        if k == "dense":
            if len(shape) == 3:
                layers.append(flatten())
                shape = (P.nnm._size(shape),)
            layers.append(nn.Linear(shape[0], L.units))
            shape = (L.units,)
        elif k == "conv2d":
            pt, pb, pl, pr = L.pads
            if pt == pb and pl == pr and pt == pl:
                layers.append(nn.Conv2d(shape[2], L.filters, L.kernel, stride=L.stride,
                                        padding=pt))
            else:  # TensorFlow's SAME: the extra row / column after
                layers.append(Pad(nn, F, (pl, pr, pt, pb)))
                layers.append(nn.Conv2d(shape[2], L.filters, L.kernel, stride=L.stride))
            shape = L.out_shape
        elif k == "maxpool2d":
            layers.append(nn.MaxPool2d(L.kernel, L.stride))
            shape = L.out_shape
        elif k == "avgpool2d":
            layers.append(nn.AvgPool2d(L.kernel, L.stride))
            shape = L.out_shape
        elif k == "globalavgpool2d":
            layers.append(nn.AdaptiveAvgPool2d(1))
            shape = L.out_shape
        elif k == "batchnorm":
            bn = dict(eps=L.eps, momentum=L.momentum)
            layers.append(nn.BatchNorm2d(shape[2], **bn) if len(shape) == 3
                          else nn.BatchNorm1d(shape[0], **bn))
        elif k == "dropout":
            layers.append(nn.Dropout(L.rate if dropout is None else dropout))
        elif k == "flatten":
            if len(shape) == 3:
                layers.append(flatten())
                shape = (P.nnm._size(shape),)
        elif k != "activation":
            raise P.PeerError("PyTorch peer: no layer %s" % k)
        act(L.options.get("act"), L.options.get("alpha"), i == last)
    model = nn.Sequential(*layers)
    for mod in model.modules():
        if isinstance(mod, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(mod.weight)  # glorot-uniform, as Keras and nnlab
            nn.init.zeros_(mod.bias)
    return model


def input_is_flat(m):
    """True when no layer needs the input's H x W x C before it is flattened."""
    if len(m.input_shape) != 3:
        return True
    for L in m.layers:
        if L.kind in ("dense", "flatten"):
            return True
        if L.kind in ("conv2d", "maxpool2d", "avgpool2d", "globalavgpool2d", "batchnorm"):
            return False
    return False


def Pad(nn, F, pads):
    """Zero padding (left, right, top, bottom), as F.pad takes it."""

    class _Pad(nn.Module):
        def __init__(self):
            super().__init__()
            self.pads = pads

        def forward(self, x):
            return F.pad(x, pads)

        def extra_repr(self):
            return "pads=%s" % (pads,)

    return _Pad()


def NHWCFlatten(nn):
    """A flatten module that numbers NCHW feature maps' elements in h, w, c order."""

    class _NHWCFlatten(nn.Module):
        def forward(self, x):
            return (x.permute(0, 2, 3, 1) if x.dim() == 4 else x).flatten(1)

    return _NHWCFlatten()


def main():
    parser = P.make_parser("torch_train.py", "Train an nnlab model file with PyTorch.",
                           framework_args)
    args = P.parse_args(parser)

    me = [os.path.abspath(__file__)] + sys.argv[1:]
    if args.torch2:
        if torch_major() < 2:
            P.reexec_with(os.path.join(TORCH2_VENV, "bin", "python"), me)
            P.skip("PyTorch 2 (module torch 2.x in .venv-peers/torch2)", TORCH2_HINT)
    elif importlib.util.find_spec("torch") is None:
        P.reexec_with("/usr/bin/python3", me)
        P.skip("PyTorch (module torch)", INSTALL_HINT)
    P.unsupported("PyTorch", UNSUPPORTED, args.nnm)

    rank, size = world()
    if size > 1:
        ddp_check(args)
        if rank > 0:  # only rank 0 writes events, the JSON and progress
            args.events = os.devnull
            args.json = False
            args.quiet = True

    P.check_data(args)
    run = P.Run(args, "pytorch")
    try:
        train(args, run)
    except BaseException:
        run.abort()
        raise


def ddp_check(args):
    """Under torchrun with several processes: torch.distributed with gloo, on the CPU
    (else skipped, exit status 3)."""
    P.require_gloo()
    if args.device != "cpu":
        P.skip_reason("the PyTorch DDP peer trains on the CPU (gloo), not on %s" % args.device)


class Dist:
    """The data-parallel run under torchrun (docs/distributed.md, as nnlab's MPI): every
    rank holds the same shuffle and takes the fixed slice [b*r/N, b*(r+1)/N) of every
    global batch of b samples; rank r evaluates the r-th N-th of the test set."""

    def __init__(self, torch, rank, size):
        import datetime

        import torch.distributed as dist

        self.torch, self.dist, self.rank, self.size = torch, dist, rank, size
        dist.init_process_group("gloo", rank=rank, world_size=size,
                                timeout=datetime.timedelta(seconds=300))

    def slice(self, n):
        return n * self.rank // self.size, n * (self.rank + 1) // self.size

    def sum(self, values):
        """values (floats) summed over the ranks, in float64."""
        t = self.torch.tensor(values, dtype=self.torch.float64)
        self.dist.all_reduce(t)
        return t.tolist()

    def broadcast_buffers(self, model):
        for b in model.buffers():
            self.dist.broadcast(b, 0)

    def exit(self):
        """Ends this rank once everything is written. Not through the interpreter's
        teardown: there PyTorch 1.13 can deadlock destroying DDP's reducer (the gloo
        group's destructor joins a worker thread that waits for the lock the
        destructor's thread holds)."""
        self.dist.barrier()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def to_input(torch, x, data, flat, device):
    """A batch of the data as the model's input: float, scaled as nnlab scales it,
    NCHW for a model that starts on feature maps, else flat (h, w, c order)."""
    x = x.to(device, non_blocking=True)
    x = x.float()
    if data.scale is not None:
        x = x.div_(255.0)
    if flat:
        if data.layout == "nchw":
            x = x.permute(0, 2, 3, 1)
        return x.reshape(x.shape[0], -1)
    if data.layout == "nhwc":
        x = x.permute(0, 3, 1, 2)
    return x


def train(args, run):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    if args.device == "cuda" and not torch.cuda.is_available():
        P.skip_reason("no CUDA device (PyTorch %s sees none)" % torch.__version__)
    device = torch.device(args.device)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
        torch.set_num_interop_threads(args.threads)
    torch.manual_seed(args.seed)
    m = args.nnm
    flat = input_is_flat(m)
    model = build_model(nn, m, flat_input=flat).to(device)
    rank, size = world()
    dd = Dist(torch, rank, size) if size > 1 else None
    net = model
    if dd:
        # DDP gives rank 0's parameters and buffers to every rank, averages the
        # gradients over the ranks in backward() and (broadcast_buffers) hands rank 0's
        # batch-norm running statistics to every rank before each forward pass
        net = nn.parallel.DistributedDataParallel(model)
        if rank > 0:  # the ranks' dropout masks differ (rank 0 draws as one process)
            torch.manual_seed(args.seed + rank)
    o = m.optimizer
    if o["name"] == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=o["lr"], betas=(o["beta1"], o["beta2"]),
                               eps=o["eps"], foreach=True)
    elif o["name"] == "adamw":
        opt = torch.optim.AdamW(model.parameters(), lr=o["lr"], betas=(o["beta1"], o["beta2"]),
                                eps=o["eps"], weight_decay=o["weight_decay"], foreach=True)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=o["lr"], momentum=o["momentum"],
                              foreach=True)
    scheduled = m.schedule["name"] != "constant" or m.schedule["warmup"] > 0
    run.init_stop(torch.__version__, torch.get_num_threads())

    run.run_start()
    data = P.load_data(args)
    # Built-in images stay u8 in memory and are scaled per batch (as nnlab does).
    xtr = torch.from_numpy(data.x_train.copy())
    ytr = torch.from_numpy(data.y_train)
    xte = torch.from_numpy(data.x_test.copy())
    yte = torch.from_numpy(data.y_test)
    n = xtr.shape[0]
    if n == 0:
        raise P.PeerError("no training samples")
    run.data_loaded(n, xte.shape[0])
    ce = m.loss == "crossentropy"
    bs = args.batch
    if dd:
        last = n % bs or bs
        if last < size:
            raise P.PeerError("%d processes and a batch of %d samples (%s): every process needs "
                              "at least one sample of every batch"
                              % (size, last, "the last batch of the epoch" if last < bs
                                 else "--batch"))
    steps_out = None
    if args.step_losses and rank == 0:
        try:
            steps_out = open(args.step_losses, "w", encoding="utf-8")
        except OSError as e:
            raise P.PeerError("%s: cannot write the step losses: %s"
                              % (args.step_losses, e.strerror))
        steps_out.write("step,loss\n")

    def loss_of(out, y):
        return F.cross_entropy(out, y) if ce else F.mse_loss(out, y)

    gen = torch.Generator()
    gen.manual_seed(args.seed)
    step = 0
    for epoch in range(1, args.epochs + 1):
        run.epoch_start(epoch)
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(n, generator=gen)
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        correct = torch.zeros((), dtype=torch.int64, device=device)
        for i in range(0, n, bs):
            idx = perm[i:i + bs]
            b = idx.shape[0]
            if dd:
                lo, hi = dd.slice(b)
                idx = idx[lo:hi]
            x = to_input(torch, xtr[idx], data, flat, device)
            y = ytr[idx].to(device, non_blocking=True)
            if scheduled:
                for g in opt.param_groups:
                    g["lr"] = P.lr_at(args, step, n)
            out = net(x)
            loss = loss_of(out, y)
            opt.zero_grad(set_to_none=True)
            if dd:
                # DDP averages the ranks' gradients (sum / N): the slice's mean, weighted
                # by N * b_r / b, makes that the mean over the global batch also when the
                # slices differ by a sample
                (loss * (size * y.shape[0] / b)).backward()
            else:
                loss.backward()
            opt.step()
            step += 1
            with torch.no_grad():
                loss_sum += loss * y.shape[0]
                if ce:
                    correct += (out.argmax(1) == y).sum()
            if args.step_losses:  # every rank takes part in the sum, rank 0 writes it
                lb = float(loss) * y.shape[0]
                if dd:
                    lb = dd.sum([lb])[0]
                if steps_out:
                    steps_out.write("%d,%.9g\n" % (step, lb / b))
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - t0
        if dd:
            ls, cs = dd.sum([float(loss_sum), float(correct)])
        else:
            ls, cs = float(loss_sum), int(correct)
        run.epoch_stop(epoch, n, seconds, ls / n, int(cs) / n if ce else None)

        model.eval()
        nt = xte.shape[0]
        if nt == 0:
            run.eval_accuracy(epoch, None, None)
            continue
        right = 0
        tloss = 0.0
        lo, hi = dd.slice(nt) if dd else (0, nt)
        if dd:  # evaluated with rank 0's batch-norm statistics, as DDP's next forward would
            dd.broadcast_buffers(model)
        with torch.inference_mode():
            for i in range(lo, hi, P.EVAL_BATCH):
                j = min(i + P.EVAL_BATCH, hi)
                x = to_input(torch, xte[i:j], data, flat, device)
                y = yte[i:j].to(device)
                out = model(x)
                if ce:
                    right += int((out.argmax(1) == y).sum())
                    tloss += float(F.cross_entropy(out, y, reduction="sum"))
                else:
                    tloss += float(F.mse_loss(out, y, reduction="sum")) / out.shape[1]
        if dd:
            tloss, right = dd.sum([tloss, float(right)])
            right = int(right)
        run.eval_accuracy(epoch, right / nt if ce else None, tloss / nt)

    if steps_out:
        steps_out.close()
    if dd:
        json_out = args.json
        args.json = False
        result = run.finish()
        if json_out:  # the JSON as one process prints it, plus "ranks"
            result["ranks"] = size
            sys.stdout.write(json.dumps(result) + "\n")
        dd.exit()
    else:
        run.finish()


if __name__ == "__main__":
    P.main_guard(main)
