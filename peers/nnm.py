"""The one Python reader of nnlab's model files (.nnm), shared by every peer.

A model file is a plain-text pipeline read top to bottom (docs/model-file.md):
one directive a line, '#' starts a comment, words separated by blanks, options
as key=value. This module parses it, checks it as nnlab does (shapes, the loss
against the last layer) and returns a framework-free description that each peer
turns into its own layers:

    m = nnm.load("models/cifar10.nnm")
    m.input_shape          # (32, 32, 3) (H, W, C) or (784,) (a flat vector)
    for layer in m.layers: # nnm.Layer: kind, options, in_shape, out_shape, line
        ...
    m.loss, m.optimizer, m.schedule, m.batch, m.epochs, m.seed, m.dataset

Errors are NnmError, "FILE:LINE:COL: message", naming the word and what was
expected, like nnlab's reader. Only the standard library is used.

Semantics shared with nnlab (every contestant builds the same function):
  * feature maps are H x W x C (channels last); `flatten`, and a dense layer
    on a feature map (which flattens it first), number the elements in h, w, c
    order;
  * conv2d padding=same is TensorFlow's rule: out = ceil(H / S),
    pad_total = max((out - 1) * S + K - H, 0), pad_before = pad_total // 2
    (the extra row or column, if any, goes after);
  * pooling never pads: out = (H - K) // S + 1;
  * batchnorm momentum is the weight of the new batch statistic (PyTorch's
    convention; Keras' momentum is 1 - it); after conv2d per channel, after
    dense per feature;
  * gelu is the tanh approximation; leakyrelu's alpha defaults to 0.01;
  * crossentropy needs the model to end in softmax (fused with the loss) and
    no softmax elsewhere; mse allows no softmax at all.
"""

import math
import os

ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu", "leakyrelu", "softmax")
ACT_WORDS = ACTIVATIONS + ("linear",)  # what may follow `dense UNITS` / `conv2d F K`

OPTIMIZER_DEFAULTS = {
    "adam": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-7},
    "adamw": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-7, "weight_decay": 0.01},
    "sgd": {"lr": 1e-2, "momentum": 0.0},
}
SCHEDULES = ("constant", "step", "cosine")
SCHEDULE_DEFAULTS = {"warmup": 0, "step_size": 1, "gamma": 0.1}
LOSSES = ("crossentropy", "mse")
BN_DEFAULTS = {"eps": 1e-5, "momentum": 0.1}
LEAKY_ALPHA = 0.01
DEFAULT_BATCH = 32
DEFAULT_EPOCHS = 3
DEFAULT_SEED = 0

MAX_DIM = 1 << 20  # a sane bound on any size in a file


class NnmError(Exception):
    """A model file that cannot be read; str() is 'FILE:LINE:COL: message'."""


class Layer:
    """One layer of the pipeline, with its shapes (tuples, (H, W, C) or (N,))."""

    def __init__(self, kind, line, col, **options):
        self.kind = kind  # dense conv2d maxpool2d avgpool2d globalavgpool2d batchnorm
        #                  dropout flatten activation
        self.line = line
        self.col = col
        self.options = options
        self.in_shape = None
        self.out_shape = None

    def __getattr__(self, name):
        try:
            return self.__dict__["options"][name]
        except KeyError:
            raise AttributeError(name)

    def __repr__(self):
        return "Layer(%s %s %s->%s)" % (self.kind, self.options, self.in_shape, self.out_shape)


class Model:
    def __init__(self, path):
        self.path = path
        self.input_shape = None
        self.layers = []
        self.loss = "crossentropy"
        self.optimizer = dict(OPTIMIZER_DEFAULTS["adam"], name="adam")
        self.schedule = dict(SCHEDULE_DEFAULTS, name="constant")
        self.batch = DEFAULT_BATCH
        self.epochs = DEFAULT_EPOCHS
        self.seed = DEFAULT_SEED
        self.dataset = None
        self.given = set()  # the settings a line of the file gave (batch, epochs, seed...)

    @property
    def output_shape(self):
        return self.layers[-1].out_shape if self.layers else self.input_shape

    @property
    def num_outputs(self):
        return _size(self.output_shape)

    @property
    def input_size(self):
        return _size(self.input_shape)

    def ends_in_softmax(self):
        last = self.layers[-1] if self.layers else None
        return last is not None and last.options.get("act") == "softmax"

    def summary(self):
        rows = ["input %s" % _fmt(self.input_shape)]
        for L in self.layers:
            rows.append("%-16s %-14s -> %s" % (L.kind, _fmt(L.in_shape), _fmt(L.out_shape)))
        return "\n".join(rows)


def _size(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def _fmt(shape):
    return "x".join(str(d) for d in shape)


# ---- reading ------------------------------------------------------------------------


class _Line:
    def __init__(self, path, lineno, words):
        self.path = path
        self.lineno = lineno
        self.words = words  # [(col, text)], col 1-based

    def error(self, col, msg):
        raise NnmError("%s:%d:%d: %s" % (self.path, self.lineno, col, msg))


def _split(text):
    words = []
    i, n = 0, len(text)
    while i < n:
        if text[i] in " \t\r\f\v":
            i += 1
            continue
        j = i
        while j < n and text[j] not in " \t\r\f\v":
            j += 1
        words.append((i + 1, text[i:j]))
        i = j
    return words


def _number(ln, col, word, what, integer, lo=None, hi=None):
    try:
        if integer:
            if not word.lstrip("+-").isdigit():
                raise ValueError
            v = int(word)
        else:
            v = float(word)
            if not math.isfinite(v):
                raise ValueError
    except ValueError:
        ln.error(col, "'%s': expected %s (%s)" % (word, "an integer" if integer else "a number",
                                                  what))
    if lo is not None and v < lo:
        ln.error(col, "'%s': %s must be at least %s" % (word, what, lo))
    if hi is not None and v > hi:
        ln.error(col, "'%s': %s must be at most %s" % (word, what, hi))
    return v


def _split_args(ln, words, allowed_keys):
    """The words after the directive -> (positional [(col, word)], {key: (col, value)})."""
    pos, opts = [], {}
    for col, w in words:
        if "=" in w:
            key, _, val = w.partition("=")
            if key not in allowed_keys:
                if allowed_keys:
                    ln.error(col, "unknown option '%s' (expected %s)"
                             % (key, ", ".join("%s=" % k for k in allowed_keys)))
                ln.error(col, "unknown option '%s' (%s takes no options)" % (key, ln.words[0][1]))
            if key in opts:
                ln.error(col, "option '%s' given twice" % key)
            if val == "":
                ln.error(col + len(key) + 1, "missing value after '%s='" % key)
            opts[key] = (col + len(key) + 1, val)
        else:
            pos.append((col, w))
    return pos, opts


def _want(ln, pos, lo, hi, usage):
    if len(pos) < lo:
        col = ln.words[-1][0] + len(ln.words[-1][1])
        ln.error(col, "missing value: expected '%s'" % usage)
    if len(pos) > hi:
        col, w = pos[hi]
        ln.error(col, "unexpected word '%s': expected '%s'" % (w, usage))


def _act(ln, pos, i, usage):
    if len(pos) <= i:
        return "linear"
    col, w = pos[i]
    if w not in ACT_WORDS:
        ln.error(col, "unknown activation '%s' (expected %s)" % (w, ", ".join(ACT_WORDS)))
    return w


def _opt(ln, opts, key, default, integer, lo=None, hi=None):
    if key not in opts:
        return default
    col, val = opts[key]
    return _number(ln, col, val, key, integer, lo, hi)


def _alpha(ln, opts, act):
    """alpha= of a dense or conv2d layer: only with its leakyrelu activation."""
    if "alpha" in opts and act != "leakyrelu":
        ln.error(opts["alpha"][0] - len("alpha="), "alpha= needs the activation leakyrelu")
    return float(_opt(ln, opts, "alpha", LEAKY_ALPHA, False, 0, 1e6))


def _pool_out(ln, col, kind, k, s, shape):
    h, w, c = shape
    if h < k or w < k:
        ln.error(col, "%s %d on a %s input: the window is larger than the input"
                 % (kind, k, _fmt(shape)))
    return ((h - k) // s + 1, (w - k) // s + 1, c)


def same_padding(size, kernel, stride):
    """TensorFlow's SAME rule for one dimension: (out, pad_before, pad_after)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return out, total // 2, total - total // 2


def parse(text, path="<model>"):
    """Parses a model file's text; path names it in errors."""
    m = Model(path)
    seen = {}
    layer_lines = []
    for lineno, raw in enumerate(text.split("\n"), 1):
        body = raw.split("#", 1)[0]
        words = _split(body)
        if not words:
            continue
        ln = _Line(path, lineno, words)
        dcol, d = words[0]
        rest = words[1:]
        if d == "input":
            if m.input_shape is not None:
                ln.error(dcol, "a second 'input' line (the first is line %d)" % seen["input"])
            if m.layers:
                ln.error(dcol, "'input' must come before the first layer (line %d)"
                         % m.layers[0].line)
            pos, _ = _split_args(ln, rest, ())
            if len(pos) not in (1, 3):
                _want(ln, pos, 1, 3 if len(pos) > 1 else 1, "input H W C' or 'input N")
                ln.error(pos[-1][0], "expected 'input H W C' or 'input N' (1 or 3 numbers, got %d)"
                         % len(pos))
            m.input_shape = tuple(_number(ln, c, w, "input size", True, 1, MAX_DIM)
                                  for c, w in pos)
            if _size(m.input_shape) > MAX_DIM * 64:
                ln.error(pos[0][0], "input %s: %d values is too large"
                         % (_fmt(m.input_shape), _size(m.input_shape)))
            seen["input"] = lineno
        elif d in ("dense", "conv2d", "maxpool2d", "avgpool2d", "globalavgpool2d", "batchnorm",
                   "dropout", "flatten") or d in ACTIVATIONS:
            layer_lines.append(ln)
            m.layers.append(_layer(ln, d, dcol, rest))
        elif d == "loss":
            pos, _ = _split_args(ln, rest, ())
            _want(ln, pos, 1, 1, "loss crossentropy|mse")
            col, w = pos[0]
            if w not in LOSSES:
                ln.error(col, "unknown loss '%s' (expected crossentropy or mse)" % w)
            _once(ln, seen, d, dcol)
            m.loss = w
        elif d == "optimizer":
            _once(ln, seen, d, dcol)
            if not rest:
                ln.error(dcol + len(d), "missing value: expected 'optimizer adam|adamw|sgd'")
            col, name = rest[0]
            if name not in OPTIMIZER_DEFAULTS:
                ln.error(col, "unknown optimizer '%s' (expected adam, adamw or sgd)" % name)
            keys = tuple(OPTIMIZER_DEFAULTS[name])
            pos, opts = _split_args(ln, rest[1:], keys)
            _want(ln, pos, 0, 0, "optimizer %s [%s]" % (name, "] [".join(k + "=" for k in keys)))
            o = {"name": name}
            for k, dv in OPTIMIZER_DEFAULTS[name].items():
                lo, hi = {"lr": (1e-12, 100), "beta1": (0, 0.999999), "beta2": (0, 0.999999),
                          "eps": (1e-30, 1), "weight_decay": (0, 10),
                          "momentum": (0, 0.9999)}[k]
                o[k] = float(_opt(ln, opts, k, dv, False, lo, hi))
            m.optimizer = o
        elif d == "schedule":
            _once(ln, seen, d, dcol)
            if not rest:
                ln.error(dcol + len(d), "missing value: expected 'schedule constant|step|cosine'")
            col, name = rest[0]
            if name not in SCHEDULES:
                ln.error(col, "unknown schedule '%s' (expected constant, step or cosine)" % name)
            pos, opts = _split_args(ln, rest[1:], ("warmup", "step_size", "gamma"))
            _want(ln, pos, 0, 0, "schedule %s [warmup=STEPS] [step_size=EPOCHS] [gamma=]" % name)
            m.schedule = {
                "name": name,
                "warmup": _opt(ln, opts, "warmup", 0, True, 0, 1 << 40),
                "step_size": _opt(ln, opts, "step_size", 1, True, 1, 1 << 30),
                "gamma": float(_opt(ln, opts, "gamma", 0.1, False, 0, 1e6)),
            }
        elif d in ("batch", "epochs", "seed"):
            _once(ln, seen, d, dcol)
            pos, _ = _split_args(ln, rest, ())
            _want(ln, pos, 1, 1, "%s N" % d)
            col, w = pos[0]
            lo, hi = {"batch": (1, 65536), "epochs": (1, 100000), "seed": (0, (1 << 64) - 1)}[d]
            setattr(m, d, _number(ln, col, w, d, True, lo, hi))
            m.given.add(d)
        elif d == "dataset":
            _once(ln, seen, d, dcol)
            pos, _ = _split_args(ln, rest, ())
            _want(ln, pos, 1, 1, "dataset NAME")
            m.dataset = pos[0][1]
            m.given.add(d)
        else:
            ln.error(dcol, "unknown directive '%s' (expected input, dense, conv2d, maxpool2d, "
                     "avgpool2d, globalavgpool2d, batchnorm, dropout, flatten, %s, loss, "
                     "optimizer, schedule, batch, epochs, seed, dataset)"
                     % (d, ", ".join(ACTIVATIONS)))
        if d in ("loss", "optimizer", "schedule"):
            m.given.add(d)
    if m.input_shape is None:
        raise NnmError("%s:%d:1: no 'input' line (expected 'input H W C' or 'input N' before "
                       "the first layer)" % (path, 1 if not layer_lines else layer_lines[0].lineno))
    if not m.layers:
        raise NnmError("%s:%d:1: no layers after 'input'" % (path, seen["input"]))
    _shapes(m, layer_lines)
    return m


def _once(ln, seen, d, col):
    if d in seen:
        ln.error(col, "a second '%s' line (the first is line %d)" % (d, seen[d]))
    seen[d] = ln.lineno


def _layer(ln, d, dcol, rest):
    if d == "dense":
        pos, opts = _split_args(ln, rest, ("alpha",))
        _want(ln, pos, 1, 2, "dense UNITS [ACTIVATION]")
        units = _number(ln, pos[0][0], pos[0][1], "units", True, 1, MAX_DIM)
        act = _act(ln, pos, 1, "")
        return Layer("dense", ln.lineno, dcol, units=units, act=act,
                     alpha=_alpha(ln, opts, act))
    if d == "conv2d":
        pos, opts = _split_args(ln, rest, ("stride", "padding", "alpha"))
        _want(ln, pos, 2, 3, "conv2d FILTERS KERNEL [ACTIVATION] [stride=1] [padding=valid|same]")
        filters = _number(ln, pos[0][0], pos[0][1], "filters", True, 1, 65536)
        kernel = _number(ln, pos[1][0], pos[1][1], "kernel size", True, 1, 1024)
        stride = _opt(ln, opts, "stride", 1, True, 1, 1024)
        padding = "valid"
        if "padding" in opts:
            col, padding = opts["padding"]
            if padding not in ("valid", "same"):
                ln.error(col, "'%s': expected padding=valid or padding=same" % padding)
        act = _act(ln, pos, 2, "")
        return Layer("conv2d", ln.lineno, dcol, filters=filters, kernel=kernel, stride=stride,
                     padding=padding, act=act, alpha=_alpha(ln, opts, act))
    if d in ("maxpool2d", "avgpool2d"):
        pos, opts = _split_args(ln, rest, ("stride",))
        _want(ln, pos, 1, 1, "%s K [stride=K]" % d)
        k = _number(ln, pos[0][0], pos[0][1], "pool size", True, 1, 1024)
        return Layer(d, ln.lineno, dcol, kernel=k, stride=_opt(ln, opts, "stride", k, True, 1,
                                                                 1024))
    if d == "batchnorm":
        pos, opts = _split_args(ln, rest, ("eps", "momentum"))
        _want(ln, pos, 0, 0, "batchnorm [eps=1e-5] [momentum=0.1]")
        return Layer("batchnorm", ln.lineno, dcol,
                     eps=float(_opt(ln, opts, "eps", BN_DEFAULTS["eps"], False, 1e-30, 1)),
                     momentum=float(_opt(ln, opts, "momentum", BN_DEFAULTS["momentum"], False,
                                         0, 1)))
    if d == "dropout":
        pos, _ = _split_args(ln, rest, ())
        _want(ln, pos, 1, 1, "dropout RATE")
        rate = _number(ln, pos[0][0], pos[0][1], "dropout rate", False, 0)
        if rate >= 1:
            ln.error(pos[0][0], "'%s': dropout rate must be below 1" % pos[0][1])
        return Layer("dropout", ln.lineno, dcol, rate=float(rate))
    if d in ("flatten", "globalavgpool2d"):
        pos, _ = _split_args(ln, rest, ())
        _want(ln, pos, 0, 0, d)
        return Layer(d, ln.lineno, dcol)
    # an activation layer
    if d == "leakyrelu":
        pos, opts = _split_args(ln, rest, ("alpha",))
        _want(ln, pos, 0, 0, "leakyrelu [alpha=0.01]")
        return Layer("activation", ln.lineno, dcol, act=d,
                     alpha=float(_opt(ln, opts, "alpha", LEAKY_ALPHA, False, 0, 1e6)))
    pos, _ = _split_args(ln, rest, ())
    _want(ln, pos, 0, 0, d)
    return Layer("activation", ln.lineno, dcol, act=d, alpha=LEAKY_ALPHA)


def _shapes(m, lines):
    shape = m.input_shape
    n = len(m.layers)
    for i, (L, ln) in enumerate(zip(m.layers, lines)):
        L.in_shape = shape
        col = L.col
        spatial = len(shape) == 3
        if L.kind == "dense":
            shape = (L.units,)
        elif L.kind == "conv2d":
            if not spatial:
                ln.error(col, "conv2d on a flat input of %d values: needs H x W x C (give "
                         "'input H W C')" % _size(shape))
            h, w, c = shape
            k, s = L.kernel, L.stride
            if L.padding == "same":
                oh, pt, pb = same_padding(h, k, s)
                ow, pl, pr = same_padding(w, k, s)
                L.options["pads"] = (pt, pb, pl, pr)
            else:
                if h < k or w < k:
                    ln.error(col, "conv2d %d %d on a %s input: the kernel is larger than the "
                             "input (padding=same would keep the size)" % (L.filters, k,
                                                                          _fmt(shape)))
                oh, ow = (h - k) // s + 1, (w - k) // s + 1
                L.options["pads"] = (0, 0, 0, 0)
            shape = (oh, ow, L.filters)
        elif L.kind in ("maxpool2d", "avgpool2d"):
            if not spatial:
                ln.error(col, "%s %d on a flat input of %d values: needs H x W x C"
                         % (L.kind, L.kernel, _size(shape)))
            shape = _pool_out(ln, col, L.kind, L.kernel, L.stride, shape)
        elif L.kind == "globalavgpool2d":
            if not spatial:
                ln.error(col, "globalavgpool2d on a flat input of %d values: needs H x W x C"
                         % _size(shape))
            shape = (1, 1, shape[2])
        elif L.kind == "flatten":
            shape = (_size(shape),)
        # batchnorm, dropout, activation keep the shape
        L.out_shape = shape
        if _size(shape) > MAX_DIM * 64:
            ln.error(col, "%s: output %s is too large" % (L.kind, _fmt(shape)))
        act = L.options.get("act")
        if act == "softmax":
            if m.loss == "mse":
                ln.error(col, "softmax with loss mse: mse trains the outputs as they are (use "
                         "'linear', or loss crossentropy)")
            if i != n - 1:
                ln.error(col, "softmax before the last layer: with crossentropy, softmax ends "
                         "the model (it is fused with the loss)")
    if m.loss == "crossentropy" and not m.ends_in_softmax():
        last = m.layers[-1]
        raise NnmError("%s:%d:%d: loss crossentropy needs the model to end in softmax (e.g. "
                       "'dense 10 softmax'); the last layer is '%s'"
                       % (m.path, last.line, last.col, last.kind))
    if m.loss == "crossentropy" and m.num_outputs < 2:
        last = m.layers[-1]
        raise NnmError("%s:%d:%d: loss crossentropy needs at least 2 classes, the model outputs %d"
                       % (m.path, last.line, last.col, m.num_outputs))


def load(path):
    """Reads and parses a model file."""
    try:
        with open(path, "rb") as f:
            raw = f.read(1 << 22)
    except OSError as e:
        raise NnmError("%s: cannot read the model file: %s" % (path, e.strerror))
    if len(raw) >= 1 << 22:
        raise NnmError("%s: larger than 4 MiB: not a model file" % path)
    if b"\0" in raw:
        raise NnmError("%s: a NUL byte at offset %d: not a text file" % (path, raw.index(b"\0")))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise NnmError("%s: not UTF-8 text (byte offset %d)" % (path, e.start))
    return parse(text, path)


# ---- the learning-rate schedule (include/nnlab/optim.h) ------------------------------


def schedule_lr(schedule, lr, step, steps_per_epoch, total_steps):
    """The learning rate of optimizer step `step` (0-based, across epochs), as nnlab
    computes it: in double, rounded to float32 once (the caller may round)."""
    name = schedule.get("name", "constant")
    warmup = int(schedule.get("warmup", 0))
    out = float(lr)
    if name == "step":
        e = step // max(int(steps_per_epoch), 1)
        step_size = int(schedule.get("step_size", 1)) or 1
        gamma = float(schedule.get("gamma", 0.1)) or 0.1
        out = lr * gamma ** (e // step_size)
    elif name == "cosine":
        out = lr * 0.5 * (1.0 + math.cos(math.pi * max(step - warmup, 0)
                                         / max(total_steps - warmup, 1)))
    if step < warmup:
        out *= (step + 1) / warmup
    return _f32(out)


def _f32(x):
    import struct

    return struct.unpack("f", struct.pack("f", x))[0]


# ---- the shipped models ---------------------------------------------------------------


def shipped_path(name, repo_dir):
    """models/NAME.nnm in nnlab's source tree, or None when it is not there."""
    p = os.path.join(repo_dir, "models", name + ".nnm")
    return p if os.path.isfile(p) else None


def looks_like_path(name):
    return name.endswith(".nnm") or os.sep in name
