#!/usr/bin/env python3
"""Cross-check of nnlab's training against PyTorch.

    nnlab train mnist --limit 1600 --epochs 1 --batch 32 --no-shuffle --dropout 0 \
        --save-init init.nlm --save final.nlm --step-log steps.csv --save-steps steps/
    python3 peers/torch_crosscheck.py --workload mnist --data ../shared/datasets \
        --limit 1600 --batch 32 --init init.nlm --final final.nlm --step-log steps.csv \
        --steps steps/

PyTorch builds the workload's model (torch_train.build_model, dropout 0, batch
norm in training mode), takes nnlab's weights from its model files and trains
on the same batches: the first --limit training samples in file order, scaled
by 1/255, softmax cross-entropy. The update is nnlab's Adam, written out here
from include/nnlab/optim.h with the configuration stored in the file:

    m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
    p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)

Two comparisons, each of every step's loss with nnlab's step log (relative,
--loss-tol) and of every layer's parameters and state as vectors (|a - b| / |b|,
b nnlab's, --param-tol):
  free-running: PyTorch alone for all the steps from nnlab's initial model; its
    final layers against nnlab's --save file. Rounding differences compound
    here; where they grow (a max-pool window whose two largest inputs are within
    rounding of each other routes its gradient either way, Adam turns that into
    a parameter difference) it can be only reported (--free-running report).
  step by step (--steps DIR, nnlab's --save-steps): PyTorch's step k starts from
    nnlab's state after step k - 1 (parameters, running statistics, moments);
    its loss, its updated layers against DIR/step-k.nlm, and its gradients
    against nnlab's, recovered from the moments (g = (m_k - b1 m_k-1) / (1 - b1);
    the median over the steps is checked, the worst shown).
The initial model is checked too: glorot-uniform bounds from each layer's fans,
zero biases, batch norm 1 / 0, a fresh optimizer.

Exit status 0: within the tolerances; 1: a difference beyond them (FAIL lines)
or a file that does not match; 2: bad option; 3: PyTorch is not installed.

Layouts: nnlab's activations are NHWC, conv weights [KH][KW][C][F], dense
weights [I][O], batch norm gamma, beta and running mean, var. The PyTorch model
stays NCHW; weights are permuted on the way in and out, and the flatten before
the first dense layer numbers its inputs in h, w, c order as nnlab does.

--mutate NAME changes one thing on the PyTorch side so that the comparison
must fail (the test checks that it does): same-pad-before (padding=same's
extra row and column before, not after; only where a padding=same convolution
pads unevenly), scale-256 (images / 256),
nchw-flatten (PyTorch's flatten order; invisible with one channel, as MNIST),
dense-no-transpose (dense weights read as [O][I]), no-bias-correction (Adam
without the 1 - b^t factors), epsilon-hat (Keras' Adam: eps added to sqrt(v)
before the bias correction instead of after it).
"""

import argparse
import csv
import importlib.util
import math
import os
import struct
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nnlab_peer as P  # noqa: E402
import torch_train as T  # noqa: E402

LOSS_TOL = 1e-4
PARAM_TOL = 1e-3
MUTATIONS = ("scale-256", "nchw-flatten", "dense-no-transpose", "no-bias-correction",
             "epsilon-hat", "same-pad-before")

# include/nnlab/model.h
DENSE, RELU, DROPOUT, FLATTEN, CONV2D, BATCHNORM, MAXPOOL2D = 1, 2, 3, 4, 5, 6, 7
AVGPOOL2D, GLOBALAVGPOOL2D, ACTIVATION = 8, 9, 10
KIND_NAMES = {DENSE: "dense", RELU: "relu", DROPOUT: "dropout", FLATTEN: "flatten",
              CONV2D: "conv2d", BATCHNORM: "batchnorm", MAXPOOL2D: "maxpool2d",
              AVGPOOL2D: "avgpool2d", GLOBALAVGPOOL2D: "globalavgpool2d",
              ACTIVATION: "activation"}
KIND_CODES = {v: k for k, v in KIND_NAMES.items()}
ACT_NONE, ACT_RELU, ACT_SOFTMAX = 0, 1, 2
ACT_CODES = {"linear": 0, "relu": 1, "softmax": 2, "tanh": 3, "sigmoid": 4, "gelu": 5,
             "leakyrelu": 6}
PAD_VALID, PAD_SAME = 0, 1
OPT_NAMES = {0: "adam", 1: "adamw", 2: "sgd"}  # include/nnlab/optim.h

MODEL_MAGIC = b"NNLABMDL"
MODEL_VERSIONS = (1, 2)  # NL_MODEL_FILE_VERSION is 2; version 1 is still read


# ---- nnlab's model file (layout: the top of src/model/model_file.c) ------------


def nnm_layers(m):
    """The layers of a model file (nnm.Model) as ModelFile describes them: nnlab's
    kind and activation codes, shapes as (h, w, c) (a vector of N: 1 x 1 x N), and
    the parameter and state counts of nnlab's layers."""
    def hwc(shape):
        return tuple(shape) if len(shape) == 3 else (1, 1, shape[0])

    out = []
    for i, L in enumerate(m.layers):
        o = L.options
        kind = KIND_CODES[L.kind]
        if L.kind == "activation" and o["act"] == "relu":
            kind = RELU
        spec = {"kind": kind, "units": o.get("units", o.get("filters", 0)),
                "act": ACT_CODES.get(o.get("act", "linear"), 0), "kernel": o.get("kernel", 0),
                "stride": o.get("stride", 0),
                "padding": PAD_SAME if o.get("padding") == "same" else PAD_VALID,
                "rate": o.get("rate", 0.0), "eps": o.get("eps", 0.0),
                "momentum": o.get("momentum", 0.0), "alpha": o.get("alpha", 0.0),
                "name": L.kind if L.kind != "activation" else o["act"]}
        h, w, c = hwc(L.in_shape)
        d = {"index": i, "spec": spec, "in": (h, w, c), "out": hwc(L.out_shape),
             "nparams": 0, "nstate": 0}
        if L.kind == "dense":
            d["nparams"] = h * w * c * L.units + L.units
        elif L.kind == "conv2d":
            d["nparams"] = L.kernel * L.kernel * c * L.filters + L.filters
        elif L.kind == "batchnorm":
            d["nparams"] = d["nstate"] = 2 * c
        out.append(d)
    return out


class ModelFile:
    """The parsed file: input shape, layers (spec, shapes, their parameter and
    state arrays as float32 numpy vectors), workload, optimizer.

    Format version 1 is read whole. Another version is read with the model file
    (.nnm) it was trained from (model): magic, CRC-32, the header size at offset
    12, then the tensors (parameters, state, moments) whose sizes the model's
    layers give; the optimizer's settings are then the model file's and the
    step is unknown (None)."""

    def __init__(self, path, model=None):
        import numpy as np

        self.path = path
        with open(path, "rb") as f:
            data = f.read()
        if len(data) < 20 or data[:8] != MODEL_MAGIC:
            raise P.PeerError("%s: not an nnlab model file (bad magic at offset 0)" % path)
        stored = struct.unpack_from("<I", data, len(data) - 4)[0]
        crc = zlib.crc32(data[:-4]) & 0xFFFFFFFF
        if crc != stored:
            raise P.PeerError("%s: CRC-32 %08x at offset %d, the contents give %08x"
                              % (path, stored, len(data) - 4, crc))
        self.off = 8
        self.data = data
        version = self._u32("format version")
        if version not in MODEL_VERSIONS:
            if model is None:
                raise P.PeerError("%s: format version %d at offset 8, this script reads 1 and 2 "
                                  "(or give the model file: --model)" % (path, version))
            # another version: the tensors, sized from the .nnm model
            self._read_tensors_only(model, np)
            return
        header = self._u32("header size")
        h, w, c = (self._i32("input shape") for _ in range(3))
        self.input = (h, w, c)
        nlayers = self._u32("layer count")
        if not 1 <= nlayers <= 256:
            raise P.PeerError("%s: layer count %d (want 1..256)" % (path, nlayers))
        self.layers = []
        for i in range(nlayers):
            spec = {}
            for k in ("kind", "units", "act", "kernel", "stride", "padding"):
                spec[k] = self._i32("layer %d %s" % (i, k))
            for k in ("rate", "eps", "momentum") + (("alpha",) if version >= 2 else ()):
                spec[k] = self._f32("layer %d %s" % (i, k))
            self.layers.append({"index": i, "spec": spec})
        wl = self._u32("workload name length")
        if wl > 63:
            raise P.PeerError("%s: workload name of %d bytes (at most 63)" % (path, wl))
        self.workload = self._take(wl, "workload name").decode("utf-8", "replace")
        self.loss = self._u32("loss") if version >= 2 else 0  # 0 crossentropy, 1 mse
        nparams = self._u64("parameter count")
        nstate = self._u64("state count")
        kind = self._u32("optimizer kind")
        vals = [self._f32("optimizer configuration") for _ in range(6)]
        self.opt = None
        if kind:
            if kind - 1 not in OPT_NAMES:
                raise P.PeerError("%s: unknown optimizer kind %d" % (path, kind - 1))
            self.opt = dict(zip(("lr", "beta1", "beta2", "eps", "weight_decay", "momentum"), vals))
            self.opt["kind"] = OPT_NAMES[kind - 1]
        self.step = self._u64("optimizer step")
        moments = self._u32("moment count")
        if moments > 2:
            raise P.PeerError("%s: moment count %d (want 0..2)" % (path, moments))
        # version 2: the training state of a checkpoint (84 bytes; flag 0: none)
        self.train_state = None
        if version >= 2:
            st = struct.unpack("<5I2Q4QIiif", self._take(84, "training state"))
            if st[0]:
                self.train_state = dict(zip(("epoch", "epochs", "batch", "shuffle"), st[1:5]))
                self.train_state.update(seed=st[5], samples=st[6], rng=st[7:11],
                                        schedule=st[11], warmup=st[12], step_size=st[13],
                                        gamma=st[14])
        if self.off - 16 != header:
            raise P.PeerError("%s: header size field says %d bytes, the header has %d"
                              % (path, header, self.off - 16))
        self._shapes()
        if sum(L["nparams"] for L in self.layers) != nparams:
            raise P.PeerError("%s: %d parameters stored, the layers have %d"
                              % (path, nparams, sum(L["nparams"] for L in self.layers)))
        if sum(L["nstate"] for L in self.layers) != nstate:
            raise P.PeerError("%s: %d state values stored, the layers have %d"
                              % (path, nstate, sum(L["nstate"] for L in self.layers)))
        want = self.off + 4 * (nparams + nstate + moments * nparams) + 4
        if len(data) != want:
            raise P.PeerError("%s: %d bytes, the header describes %d" % (path, len(data), want))

        def floats(n):
            a = np.frombuffer(data, dtype="<f4", count=n, offset=self.off).astype(np.float32)
            self.off += 4 * n
            return a

        for L in self.layers:
            L["params"] = floats(L["nparams"])
        for L in self.layers:
            L["state"] = floats(L["nstate"])
        self.moments = []
        for _ in range(moments):
            self.moments.append([floats(L["nparams"]) for L in self.layers])

    def _read_tensors_only(self, model, np):
        header = self._u32("header size")
        self.layers = nnm_layers(model)
        self.workload = None
        o = model.optimizer
        self.opt = {"kind": o["name"], "lr": o["lr"], "beta1": o.get("beta1", 0.0),
                    "beta2": o.get("beta2", 0.0), "eps": o.get("eps", 0.0),
                    "weight_decay": o.get("weight_decay", 0.0),
                    "momentum": o.get("momentum", 0.0)}
        self.step = None
        nparams = sum(L["nparams"] for L in self.layers)
        nstate = sum(L["nstate"] for L in self.layers)
        start = 16 + header
        rest = len(self.data) - 4 - start - 4 * (nparams + nstate)
        if rest < 0 or rest % (4 * max(nparams, 1)) or rest // (4 * max(nparams, 1)) > 2:
            raise P.PeerError("%s: %d bytes after a header of %d do not hold the %d parameters "
                              "and %d state values of %s (and 0..2 moments)"
                              % (self.path, len(self.data) - 4 - start, header, nparams, nstate,
                                 model.path))
        self.off = start

        def floats(n):
            a = np.frombuffer(self.data, dtype="<f4", count=n, offset=self.off).astype(np.float32)
            self.off += 4 * n
            return a

        for L in self.layers:
            L["params"] = floats(L["nparams"])
        for L in self.layers:
            L["state"] = floats(L["nstate"])
        self.moments = [[floats(L["nparams"]) for L in self.layers]
                        for _ in range(rest // (4 * max(nparams, 1)))]

    def _take(self, n, field):
        if len(self.data) - 4 - self.off < n:
            raise P.PeerError("%s: truncated at offset %d reading %s" % (self.path, self.off, field))
        b = self.data[self.off:self.off + n]
        self.off += n
        return b

    def _u32(self, field):
        return struct.unpack("<I", self._take(4, field))[0]

    def _i32(self, field):
        return struct.unpack("<i", self._take(4, field))[0]

    def _u64(self, field):
        return struct.unpack("<Q", self._take(8, field))[0]

    def _f32(self, field):
        return struct.unpack("<f", self._take(4, field))[0]

    def _shapes(self):
        """Each layer's input/output shape (h, w, c) and its parameter and state
        counts, as the layers' plan functions compute them."""
        h, w, c = self.input
        for L in self.layers:
            s, k = L["spec"], L["spec"]["kind"]
            L["in"] = (h, w, c)
            L["nparams"] = L["nstate"] = 0
            if k == DENSE:
                L["nparams"] = h * w * c * s["units"] + s["units"]
                h, w, c = 1, 1, s["units"]
            elif k == CONV2D:
                K, S = s["kernel"], s["stride"]
                if s["padding"] == PAD_VALID:
                    h, w = (h - K) // S + 1, (w - K) // S + 1
                else:
                    h, w = -(-h // S), -(-w // S)
                L["nparams"] = K * K * c * s["units"] + s["units"]
                c = s["units"]
            elif k == BATCHNORM:
                L["nparams"] = L["nstate"] = 2 * c
            elif k in (MAXPOOL2D, AVGPOOL2D):
                K, S = s["kernel"], s["stride"]
                h, w = (h - K) // S + 1, (w - K) // S + 1
            elif k == GLOBALAVGPOOL2D:
                h, w = 1, 1
            elif k == FLATTEN:
                h, w, c = 1, 1, h * w * c
            elif k not in (RELU, DROPOUT, ACTIVATION):
                raise P.PeerError("%s: layer %d has unknown kind %d" % (self.path, L["index"], k))
            L["out"] = (h, w, c)


def describe(L):
    s = L["spec"]
    name = s.get("name") or KIND_NAMES[s["kind"]]
    if s["kind"] == DENSE:
        name += " %d" % s["units"]
    elif s["kind"] == CONV2D:
        name += " %d %dx%d" % (s["units"], s["kernel"], s["kernel"])
    return name


# ---- the nnlab layers <-> the PyTorch modules ----------------------------------


def pair_layers(nn, mf, model):
    """Matches every nnlab layer with the PyTorch modules that compute it and
    checks that they agree (sizes, activation, eps, momentum, dropout 0).
    Returns [(nnlab layer, torch module or None)]: the module that holds the
    layer's parameters (None for layers without)."""
    mods = list(model)
    pos = 0

    def take(cls, what):
        nonlocal pos
        # MNIST's torch model flattens its [n, 28, 28] input first; nnlab's dense
        # layer reads an h x w x c sample as a vector: the same numbering.
        if pos < len(mods) and cls is not nn.Flatten and is_flatten(mods[pos]) and pos == 0:
            pos += 1
        if pos >= len(mods) or not isinstance(mods[pos], cls):
            got = type(mods[pos]).__name__ if pos < len(mods) else "the end of the model"
            raise P.PeerError("%s: nnlab's %s has no PyTorch %s at position %d (found %s)"
                              % (mf.path, what, cls.__name__, pos, got))
        pos += 1
        return mods[pos - 1]

    def is_flatten(m):
        return isinstance(m, nn.Flatten) or type(m).__name__ == "_NHWCFlatten"

    pairs = []
    for L in mf.layers:
        s, k, what = L["spec"], L["spec"]["kind"], "layer %d (%s)" % (L["index"], describe(L))
        mod = None
        if k == DENSE:
            mod = take(nn.Linear, what)
            ins = L["in"][0] * L["in"][1] * L["in"][2]
            if (mod.in_features, mod.out_features) != (ins, s["units"]):
                raise P.PeerError("%s: %s is %d -> %d, PyTorch's Linear %d -> %d"
                                  % (mf.path, what, ins, s["units"], mod.in_features,
                                     mod.out_features))
        elif k == CONV2D:
            mod = take(nn.Conv2d, what)
            ok = (mod.in_channels == L["in"][2] and mod.out_channels == s["units"]
                  and mod.kernel_size == (s["kernel"],) * 2 and mod.stride == (s["stride"],) * 2
                  and s["padding"] == PAD_VALID and mod.padding == (0, 0))
            if not ok:
                raise P.PeerError("%s: %s does not match PyTorch's %s" % (mf.path, what, mod))
        elif k == BATCHNORM:
            mod = take(nn.BatchNorm2d, what)
            if (mod.num_features != L["in"][2] or not math.isclose(mod.eps, s["eps"], rel_tol=1e-6)
                    or not math.isclose(mod.momentum, s["momentum"], rel_tol=1e-6)):
                raise P.PeerError("%s: %s (eps %g, momentum %g) does not match PyTorch's %s"
                                  % (mf.path, what, s["eps"], s["momentum"], mod))
        elif k == MAXPOOL2D:
            m = take(nn.MaxPool2d, what)
            if (m.kernel_size, m.stride) != (s["kernel"], s["stride"]):
                raise P.PeerError("%s: %s does not match PyTorch's %s" % (mf.path, what, m))
        elif k == RELU:
            take(nn.ReLU, what)
        elif k == DROPOUT:
            m = take(nn.Dropout, what)
            if s["rate"] != 0.0 or m.p != 0.0:
                raise P.PeerError("%s: %s has rate %g (PyTorch %g): the cross-check needs "
                                  "dropout off (nnlab train --dropout 0)"
                                  % (mf.path, what, s["rate"], m.p))
        elif k == FLATTEN:
            if pos >= len(mods) or not is_flatten(mods[pos]):
                raise P.PeerError("%s: nnlab's %s has no PyTorch flatten at position %d"
                                  % (mf.path, what, pos))
            pos += 1
        if k in (DENSE, CONV2D):
            if s["act"] == ACT_RELU:
                take(nn.ReLU, what + "'s relu")
            elif s["act"] == ACT_SOFTMAX and L is not mf.layers[-1]:
                raise P.PeerError("%s: %s has a softmax but is not the last layer" % (mf.path, what))
        pairs.append((L, mod))
    if pos != len(mods):
        raise P.PeerError("%s: PyTorch's model has modules left after nnlab's last layer: %s"
                          % (mf.path, ", ".join(type(m).__name__ for m in mods[pos:])))
    if mf.layers[-1]["spec"]["act"] != ACT_SOFTMAX:
        raise P.PeerError("%s: the last layer has no softmax (the loss is softmax "
                          "cross-entropy)" % mf.path)
    return pairs


def pair_by_order(nn, mf, model):
    """For any model file: nnlab's layers with parameters (dense, conv2d, batchnorm)
    and PyTorch's modules with parameters, in order; sizes checked."""
    from torch.nn.modules.batchnorm import _BatchNorm

    mods = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d, _BatchNorm))]
    layers = [L for L in mf.layers if L["spec"]["kind"] in (DENSE, CONV2D, BATCHNORM)]
    if len(mods) != len(layers):
        raise P.PeerError("%s: %d layers with parameters, PyTorch's model has %d modules with "
                          "parameters" % (mf.path, len(layers), len(mods)))
    pairs = []
    for L, mod in zip(layers, mods):
        k, what = L["spec"]["kind"], "layer %d (%s)" % (L["index"], describe(L))
        want = {DENSE: nn.Linear, CONV2D: nn.Conv2d, BATCHNORM: _BatchNorm}[k]
        if not isinstance(mod, want) or mod.weight.numel() + mod.bias.numel() != L["nparams"]:
            raise P.PeerError("%s: %s (%d parameters) does not match PyTorch's %s"
                              % (mf.path, what, L["nparams"], mod))
        pairs.append((L, mod))
    return pairs


def to_torch(torch, L, flat, mutate):
    """nnlab's parameter vector of layer L -> PyTorch tensors (weight, bias)."""
    s, k = L["spec"], L["spec"]["kind"]
    t = torch.from_numpy(flat.copy())
    if k == DENSE:
        i, o = L["in"][0] * L["in"][1] * L["in"][2], s["units"]
        w = t[:i * o].reshape(i, o).t()  # [I][O] -> [O][I]
        if mutate == "dense-no-transpose":
            w = t[:i * o].reshape(o, i)
        return [w.contiguous(), t[i * o:].clone()]
    if k == CONV2D:
        K, C, F = s["kernel"], L["in"][2], s["units"]
        w = t[:K * K * C * F].reshape(K, K, C, F).permute(3, 2, 0, 1)  # -> [F][C][KH][KW]
        return [w.contiguous(), t[K * K * C * F:].clone()]
    if k == BATCHNORM:
        C = L["in"][2]
        return [t[:C].clone(), t[C:].clone()]
    return []


def from_torch(L, tensors):
    """The inverse of to_torch: PyTorch tensors -> nnlab's parameter vector of L."""
    import numpy as np

    k = L["spec"]["kind"]
    w, b = (x.detach().cpu().numpy().astype(np.float32) for x in tensors)
    if k == DENSE:
        w = w.T  # [O][I] -> [I][O]
    elif k == CONV2D:
        w = w.transpose(2, 3, 1, 0)  # [F][C][KH][KW] -> [KH][KW][C][F]
    return np.concatenate([np.ascontiguousarray(w).ravel(), b.ravel()])


def check_init(mf):
    """The initial model: glorot-uniform weights (the bound from the layer's
    fans), zero biases, gamma 1, beta 0, running mean 0 and variance 1, and a
    fresh optimizer. Returns a list of problems."""
    import numpy as np

    bad = []
    for L in mf.layers:
        s, k, p = L["spec"], L["spec"]["kind"], L["params"]
        what = "layer %d (%s)" % (L["index"], describe(L))
        if k in (DENSE, CONV2D):
            if k == DENSE:
                fan_in, fan_out = L["in"][0] * L["in"][1] * L["in"][2], s["units"]
            else:
                rf = s["kernel"] * s["kernel"]
                fan_in, fan_out = rf * L["in"][2], rf * s["units"]
            nw = fan_in * fan_out
            w, b = p[:nw], p[nw:]
            limit = math.sqrt(6.0 / (fan_in + fan_out))
            amax, amean = float(np.abs(w).max()), float(np.abs(w).mean())
            # uniform on [-limit, limit]: max |w| just below the bound, mean |w| limit / 2
            if not (0.95 * limit <= amax <= limit * (1 + 1e-6)) or abs(amean / limit - 0.5) > 0.05:
                bad.append("%s: weights not glorot-uniform with bound %.6g (fans %d, %d): "
                           "max |w| %.6g, mean |w| %.6g" % (what, limit, fan_in, fan_out, amax,
                                                            amean))
            if np.any(b != 0):
                bad.append("%s: initial biases not zero" % what)
        elif k == BATCHNORM:
            C = L["in"][2]
            if np.any(p[:C] != 1) or np.any(p[C:] != 0):
                bad.append("%s: initial gamma/beta not 1/0" % what)
            if np.any(L["state"][:C] != 0) or np.any(L["state"][C:] != 1):
                bad.append("%s: initial running mean/variance not 0/1" % what)
    if mf.step not in (0, None):
        bad.append("optimizer step %d in the initial model (want 0)" % mf.step)
    for mom in mf.moments:
        if any(np.any(m != 0) for m in mom):
            bad.append("non-zero optimizer moments in the initial model")
    return bad


# ---- training -------------------------------------------------------------------


def load_samples(args):
    """The first --limit training samples in file order: u8 images and labels, as
    the PyTorch model takes them: flat (h, w, c order) when it starts with a dense
    layer, else NCHW (MNIST [n, 1, 28, 28]; CIFAR-10 [n, 3, 32, 32], the record's
    planes)."""
    if args.dataset == "mnist":
        x, y = P.load_mnist(args.data, "train")
        x = x.reshape(-1, 1, 28, 28)
    else:
        x, y = P.load_cifar10(args.data, "train", limit=args.limit)
    if len(x) < args.limit:
        raise P.PeerError("the training set has %d samples, --limit is %d" % (len(x), args.limit))
    x, y = x[:args.limit], y[:args.limit]
    if args.flat:
        x = x.transpose(0, 2, 3, 1).reshape(len(x), -1)
    return x, y


def read_step_log(path):
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        raise P.PeerError("%s: cannot read the step log: %s" % (path, e.strerror))
    if not rows or rows[0] != ["step", "loss"]:
        raise P.PeerError("%s: line 1 is not the header 'step,loss'" % path)
    losses = []
    for n, row in enumerate(rows[1:], start=2):
        try:
            step, loss = int(row[0]), float(row[1])
        except (ValueError, IndexError):
            raise P.PeerError("%s: line %d: want 'step,loss', got %r" % (path, n, ",".join(row)))
        if step != len(losses) + 1:
            raise P.PeerError("%s: line %d: step %d, expected %d" % (path, n, step, len(losses) + 1))
        losses.append(loss)
    return losses


def mutate_layers(nn, model, mutate):
    """same-pad-before: TensorFlow's SAME with the extra row and column before
    instead of after."""
    for i, mod in enumerate(model):
        if mutate == "same-pad-before" and type(mod).__name__ == "_Pad":
            import torch.nn.functional as F

            pl, pr, pt, pb = mod.pads
            model[i] = T.Pad(nn, F, (pr, pl, pb, pt))


class TorchModel:
    """PyTorch's model of the workload, its Adam state, and the way to and from
    nnlab's model files. Batch norm in training mode; dropout 0."""

    def __init__(self, torch, nn, F, args, init):
        from torch.nn.modules.batchnorm import _BatchNorm

        self.torch, self.nn, self.F, self.args = torch, nn, F, args
        self.BN = _BatchNorm
        self.model = T.build_model(nn, args.nnm, dropout=0.0,
                                   flatten_nhwc=args.mutate != "nchw-flatten",
                                   flat_input=args.flat)
        mutate_layers(nn, self.model, args.mutate)
        self.model.train()
        if args.model is None:  # a shipped workload: every module matched, strictly
            self.pairs = [(L, mod) for L, mod in pair_layers(nn, init, self.model)
                          if mod is not None]
        else:
            self.pairs = pair_by_order(nn, init, self.model)
        o = init.opt
        self.lr, self.b1, self.b2, self.eps = o["lr"], o["beta1"], o["beta2"], o["eps"]
        self.t = 0
        self.m = self.v = None

    def load(self, mf, step):
        """Parameters, batch-norm running statistics, Adam moments and step of mf (the
        file's, else `step`: the steps the file is known to be after)."""
        torch = self.torch
        self.m, self.v = [], []
        by_index = {L["index"]: L for L in mf.layers}
        with torch.no_grad():
            for L0, mod in self.pairs:
                L = by_index[L0["index"]]
                w, b = to_torch(torch, L, L["params"], self.args.mutate)
                mod.weight.copy_(w)
                mod.bias.copy_(b)
                if isinstance(mod, self.BN):
                    C = L["in"][2]
                    st = torch.from_numpy(L["state"].copy())
                    mod.running_mean.copy_(st[:C])
                    mod.running_var.copy_(st[C:])
                for k, dst in enumerate((self.m, self.v)):
                    if k < len(mf.moments):
                        mom = to_torch(torch, L, mf.moments[k][L["index"]], self.args.mutate)
                    else:
                        mom = [torch.zeros_like(mod.weight), torch.zeros_like(mod.bias)]
                    dst.extend(mom)
        self.t = mf.step if mf.step is not None else step

    def params(self):
        return [p for _, mod in self.pairs for p in (mod.weight, mod.bias)]

    def step(self, x_u8, y):
        """One training step on a batch of u8 images: the loss, and each layer's
        gradient in nnlab's layout ({layer index: vector})."""
        torch = self.torch
        scale = 256.0 if self.args.mutate == "scale-256" else 255.0
        x = x_u8.float() / scale
        params = self.params()
        for p in params:
            p.grad = None
        loss = self.F.cross_entropy(self.model(x), y)  # mean over the batch of -log softmax(z)[y]
        loss.backward()
        grads = {L["index"]: from_torch(L, [mod.weight.grad, mod.bias.grad])
                 for L, mod in self.pairs}
        self.t += 1
        c1, c2 = 1.0 - self.b1 ** self.t, 1.0 - self.b2 ** self.t
        if self.args.mutate == "no-bias-correction":
            c1 = c2 = 1.0
        with torch.no_grad():  # nnlab's Adam (include/nnlab/optim.h)
            for p, mi, vi in zip(params, self.m, self.v):
                g = p.grad
                mi.mul_(self.b1).add_(g, alpha=1.0 - self.b1)
                vi.mul_(self.b2).addcmul_(g, g, value=1.0 - self.b2)
                if self.args.mutate == "epsilon-hat":
                    p.sub_((self.lr * math.sqrt(c2) / c1) * mi / (vi.sqrt() + self.eps))
                else:
                    p.sub_((self.lr / c1) * mi / ((vi / c2).sqrt() + self.eps))
        return float(loss), grads

    def layer_values(self):
        """{layer index: (parameters, state or None)} in nnlab's layout."""
        import numpy as np

        out = {}
        for L, mod in self.pairs:
            st = None
            if isinstance(mod, self.BN):
                st = np.concatenate([mod.running_mean.numpy(), mod.running_var.numpy()])
            out[L["index"]] = (from_torch(L, [mod.weight, mod.bias]), st)
        return out


def rel(a, b):
    """|a - b| / |b| of two vectors, in double."""
    import numpy as np

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    nb = float(np.linalg.norm(b))
    d = float(np.linalg.norm(a - b))
    return d / nb if nb > 0 else (0.0 if d == 0 else math.inf)


class Worst:
    """The largest value seen and where; and the median of all."""

    def __init__(self):
        self.value, self.at, self.all = -1.0, None, []

    def add(self, value, at):
        self.all.append(value)
        if not value <= self.value:  # NaN counts as worst
            self.value, self.at = value, at

    def median(self):
        v = sorted(self.all, key=lambda x: (x != x, x))  # NaN last
        return v[len(v) // 2]


def compare_layers(tm, mf, params_worst, state_worst, at):
    for i, (p, st) in tm.layer_values().items():
        L = mf.layers[i]
        params_worst.setdefault(i, Worst()).add(rel(p, L["params"]), at)
        if st is not None:
            state_worst.setdefault(i, Worst()).add(rel(st, L["state"]), at)


def batches(args, x_all, y_all):
    for i in range(0, args.limit, args.batch):
        yield x_all[i:i + args.batch], y_all[i:i + args.batch]


def run_free(tm, args, init, final, x_all, y_all):
    """PyTorch alone from nnlab's initial state: its losses, and its final
    layers compared with nnlab's final model."""
    tm.load(init, 0)
    losses = [tm.step(x, y)[0] for x, y in batches(args, x_all, y_all)]
    pw, sw = {}, {}
    compare_layers(tm, final, pw, sw, len(losses))
    return losses, pw, sw


def run_sync(tm, args, init, step_files, x_all, y_all):
    """Every step k from nnlab's state after step k - 1 (init, then
    DIR/step-(k-1).nlm): PyTorch's loss, its gradients compared with nnlab's
    (from the Adam moments: g = (m_k - b1 m_(k-1)) / (1 - b1)) and its updated
    layers with nnlab's after step k."""
    import numpy as np

    losses, pw, sw, gw = [], {}, {}, {}
    prev = init
    for k, (x, y) in enumerate(batches(args, x_all, y_all), start=1):
        cur = ModelFile(step_files(k), args.nnm)
        if cur.step not in (k, None) or len(cur.moments) != 2 or len(prev.moments) != 2:
            raise P.PeerError("%s: optimizer step %d with %d moments; want step %d with Adam's 2"
                              % (cur.path, cur.step, len(cur.moments), k))
        tm.load(prev, k - 1)
        loss, grads = tm.step(x, y)
        losses.append(loss)
        for i, g in grads.items():
            g_nnlab = (cur.moments[0][i].astype(np.float64)
                       - tm.b1 * prev.moments[0][i].astype(np.float64)) / (1.0 - tm.b1)
            gw.setdefault(i, Worst()).add(rel(g, g_nnlab), k)
        compare_layers(tm, cur, pw, sw, k)
        prev = cur
    return losses, pw, sw, gw


def report(title, init, losses, nnlab_losses, pw, sw, gw, args, gate):
    """Prints one table; returns the failures (empty when not gated)."""
    fails = []
    d = [abs(a - b) / abs(b) if b else abs(a - b) for a, b in zip(losses, nnlab_losses)]
    worst = max(range(len(d)), key=lambda i: (d[i] != d[i], d[i]))
    print("%s%s" % (title, "" if gate else " (reported, not checked)"))
    print("  loss, worst step %d of %d: nnlab %.9g, PyTorch %.9g, relative %.3g (tolerance %g; "
          "mean over the steps %.3g)" % (worst + 1, len(d), nnlab_losses[worst], losses[worst],
                                          d[worst], args.loss_tol, sum(d) / len(d)))
    over = [i for i in range(len(d)) if not d[i] <= args.loss_tol]
    if over:
        fails.append("%s: the loss of %d step(s) beyond %g, the first step %d: nnlab %.9g, "
                     "PyTorch %.9g" % (title, len(over), args.loss_tol, over[0] + 1,
                                       nnlab_losses[over[0]], losses[over[0]]))
    cols = [("params", pw), ("state", sw)]
    head = "  %-5s %-16s %9s" % ("layer", "kind", "values") + "".join(
        " %18s" % ("%s rel (step)" % c) for c, _ in cols)
    if gw is not None:
        head += " %18s %10s" % ("grads rel (step)", "median")
    print(head)
    for i in sorted(pw):
        L = init.layers[i]
        line = "  %-5d %-16s %9d" % (i, describe(L), L["nparams"] + L["nstate"])
        for c, w in cols:
            line += " %18s" % ("%.3g (%d)" % (w[i].value, w[i].at) if i in w else "-")
            if i in w and not w[i].value <= args.param_tol:
                fails.append("%s: layer %d (%s): %s differ by %.3g relative after step %d "
                             "(tolerance %g)" % (title, i, describe(L), c, w[i].value, w[i].at,
                                                 args.param_tol))
        if gw is not None:
            # A max-pool window whose two largest inputs are within rounding of each other
            # sends the gradient to either one: a step's gradient may then differ by a few
            # percent (the update, normalised by Adam, much less). The median over the steps
            # is checked; the worst step is shown.
            line += " %18s %10.3g" % ("%.3g (%d)" % (gw[i].value, gw[i].at), gw[i].median())
            if not gw[i].median() <= args.param_tol:
                fails.append("%s: layer %d (%s): gradients differ by %.3g relative (the median "
                             "over the steps; tolerance %g)" % (title, i, describe(L),
                                                               gw[i].median(), args.param_tol))
        print(line)
    return fails if gate else []


# ---- main -----------------------------------------------------------------------


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="torch_crosscheck.py",
        description="Trains nnlab's initial model with PyTorch on the same batches and compares "
                    "every step's loss and the parameters with nnlab's.")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--workload", choices=P.WORKLOADS, help="a shipped model (models/NAME.nnm)")
    g.add_argument("--model", metavar="FILE", help="the model file (.nnm) nnlab trained: "
                   "any layers; nnlab's model files of any format version")
    p.add_argument("--data", default=None, metavar="DIR",
                   help="data directory (default: $NNLAB_DATA, else the cache directory)")
    p.add_argument("--limit", type=P.positive_int, required=True, metavar="N",
                   help="the training samples nnlab trained on (its --limit; one epoch)")
    p.add_argument("--batch", type=P.positive_int, default=32, metavar="N", help="default 32")
    p.add_argument("--init", required=True, metavar="FILE", help="nnlab train --save-init FILE")
    p.add_argument("--final", required=True, metavar="FILE", help="nnlab train --save FILE")
    p.add_argument("--step-log", required=True, metavar="FILE", help="nnlab train --step-log FILE")
    p.add_argument("--steps", default=None, metavar="DIR",
                   help="nnlab train --save-steps DIR: also check every step from nnlab's state "
                        "before it (loss, gradients, update)")
    p.add_argument("--free-running", choices=("check", "report", "skip"), default="check",
                   help="check (default), only report, or skip the comparison of PyTorch "
                        "training alone from the initial model with nnlab's final model")
    p.add_argument("--threads", type=P.positive_int, default=1, metavar="N",
                   help="PyTorch threads (default 1)")
    p.add_argument("--loss-tol", type=float, default=LOSS_TOL, metavar="X",
                   help="largest relative difference of a step's loss (default %g)" % LOSS_TOL)
    p.add_argument("--param-tol", type=float, default=PARAM_TOL, metavar="X",
                   help="largest relative difference of a layer's parameters or state "
                        "(default %g)" % PARAM_TOL)
    p.add_argument("--mutate", choices=MUTATIONS, default=None,
                   help="break one thing on the PyTorch side (the comparison must then fail)")
    args = p.parse_args(argv)
    if args.data is None:
        args.data = P.default_data_dir()
    m = P.resolve_model(args)
    args.nnm = m
    args.dataset = m.dataset
    if args.dataset not in P.DATASETS:
        p.error("%s: the cross-check trains on the model file's `dataset` line (%s), got %s"
                % (args.model or args.workload, ", ".join(P.DATASETS), args.dataset))
    if m.loss != "crossentropy" or m.optimizer["name"] != "adam":
        p.error("%s: the cross-check writes out nnlab's Adam with crossentropy, the file has "
                "optimizer %s, loss %s" % (args.model or args.workload, m.optimizer["name"],
                                          m.loss))
    args.flat = T.input_is_flat(m)
    if args.free_running != "check" and not args.steps:
        p.error("--free-running %s needs --steps (else nothing would be checked)"
                % args.free_running)
    return args


def check_files(args, init, final, nnlab_losses):
    problems = []
    for mf in (init, final):
        if mf.workload is not None and args.model is None and mf.workload != args.workload:
            problems.append("%s holds workload '%s', not '%s'"
                            % (mf.path, mf.workload, args.workload))
        if not mf.opt or mf.opt["kind"] != "adam" or len(mf.moments) != 2:
            problems.append("%s: the cross-check needs Adam's state in the file" % mf.path)
    if problems:
        raise P.PeerError("; ".join(problems))
    want, o = args.nnm.optimizer, init.opt
    if o["kind"] != want["name"] or not all(
            math.isclose(a, b, rel_tol=1e-6) for a, b in
            zip((want["lr"], want["beta1"], want["beta2"], want["eps"]),
                (o["lr"], o["beta1"], o["beta2"], o["eps"]))):
        raise P.PeerError("%s: Adam lr %g, betas %g %g, eps %g: not the model file's"
                          % (init.path, o["lr"], o["beta1"], o["beta2"], o["eps"]))
    steps = -(-args.limit // args.batch)
    if len(nnlab_losses) != steps or final.step not in (steps, None):
        raise P.PeerError("nnlab took %d steps (step log) and its final model %d; %d samples in "
                          "batches of %d are %d steps" % (len(nnlab_losses), final.step,
                                                          args.limit, args.batch, steps))


def main():
    args = parse_args()
    if importlib.util.find_spec("torch") is None:
        P.reexec_with("/usr/bin/python3", [os.path.abspath(__file__)] + sys.argv[1:])
        P.skip("PyTorch (module torch)", T.INSTALL_HINT)
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    torch.set_flush_denormal(True)  # nnlab trains with denormals flushed to zero

    init, final = ModelFile(args.init, args.nnm), ModelFile(args.final, args.nnm)
    nnlab_losses = read_step_log(args.step_log)
    check_files(args, init, final, nnlab_losses)
    fails = ["initial model: " + b for b in check_init(init)]
    x, y = load_samples(args)
    x_all, y_all = torch.from_numpy(x.copy()), torch.from_numpy(y.astype("int64"))
    tm = TorchModel(torch, nn, F, args, init)

    print("%s: %d steps of batch %d (the first %d samples in file order), dropout 0, "
          "PyTorch %s, %d thread(s)%s"
          % (args.workload, len(nnlab_losses), args.batch, args.limit, torch.__version__,
             args.threads, "; MUTATION " + args.mutate if args.mutate else ""))
    if args.free_running != "skip":
        losses, pw, sw = run_free(tm, args, init, final, x_all, y_all)
        fails += report("free-running: PyTorch alone from nnlab's initial model", init, losses,
                        nnlab_losses, pw, sw, None, args, args.free_running == "check")
    if args.steps:
        losses, pw, sw, gw = run_sync(
            tm, args, init, lambda k: os.path.join(args.steps, "step-%d.nlm" % k), x_all, y_all)
        fails += report("step by step: PyTorch's step k from nnlab's state after step k-1",
                        init, losses, nnlab_losses, pw, sw, gw, args, True)
    if fails:
        for f in fails:
            print("FAIL: " + f)
        sys.stdout.flush()
        sys.exit(P.EXIT_ERROR)
    print("OK: every checked step's loss within %g, every layer's parameters and state "
          "within %g" % (args.loss_tol, args.param_tol))


if __name__ == "__main__":
    P.main_guard(main)
