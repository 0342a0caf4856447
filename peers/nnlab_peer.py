"""Shared parts of nnlab's Python peer contestants (torch_train.py, keras_train.py).

Everything that is not framework code lives here, so that every peer reads the
same files, takes the same options and reports the same way as `nnlab train`:

* the data: MNIST IDX files (raw or .gz) and the CIFAR-10 binary version, read
  straight from the data directory (no downloads, ever);
* the model: a model file (--model FILE, read by nnm.py) or a shipped one
  (--workload NAME: models/NAME.nnm), and its data: the built-in datasets
  (--dataset NAME, --data DIR) or the user's own .csv / .npz files
  (--train-data, --test-data, --label);
* the command line: --model/--workload --data --dataset --train-data
  --test-data --label --epochs --batch --seed --threads --limit --device
  --events --json --quiet (the CLI's options override the file's lines);
* the MLPerf-style event lines of shared/design.md ("Events"), each
  ':::MLLOG ' and one JSON object, written as nnlab writes them to the file named
  by --events or $NNLAB_EVENTS ('-': stdout), else to stdout;
* the final --json object (same keys as `nnlab train --json`).

Only the Python standard library and numpy are used here; the framework is
imported by each peer after its arguments are parsed, so that --help works and
a missing framework can be reported as "skipped" (exit status 3).
"""

import argparse
import gzip
import json
import os
import resource
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nnm  # noqa: E402

T_PROCESS_START = time.time()  # as early as the interpreter lets us

EXIT_SKIPPED = 3  # the framework is not installed: the bench reports "skipped"
EXIT_USAGE = 2
EXIT_ERROR = 1

# The workloads of shared/design.md as model files: used only when the shipped
# models/NAME.nnm is not in the source tree (it is the one that is read).
BUILTIN_MODELS = {
    "mnist": """dataset mnist
input 28 28 1
dense 128 relu
dropout 0.5
dense 10 softmax
loss crossentropy
optimizer adam lr=0.001
""",
    "mnist-keras-paper": """dataset mnist
input 28 28 1
dense 128 relu
dense 128 relu
dropout 0.5
dense 10 softmax
loss crossentropy
optimizer adam lr=0.001
""",
    "cifar10": """dataset cifar10
input 32 32 3
conv2d 32 3 relu
batchnorm
maxpool2d 2
conv2d 64 3 relu
batchnorm
maxpool2d 2
flatten
dense 64 relu
dropout 0.5
dense 10 softmax
loss crossentropy
optimizer adam lr=0.001
""",
    "cifar10-keras-paper": """dataset cifar10
input 32 32 3
conv2d 32 3 relu
maxpool2d 2
conv2d 64 3 relu
maxpool2d 2
flatten
dense 64 relu
dense 10 softmax
loss crossentropy
optimizer sgd lr=0.01
""",
}
WORKLOADS = sorted(BUILTIN_MODELS)
DATASETS = ("mnist", "cifar10")
DEFAULT_SEED = 42  # the peers' seed when neither --seed nor the file's `seed` line gives one

ADAM_BETA1 = 0.9
ADAM_BETA2 = 0.999
ADAM_EPS = 1e-7
BN_EPS = 1e-5
BN_MOMENTUM_TORCH = 0.1  # weight of the new batch statistic (PyTorch convention)
BN_MOMENTUM_KERAS = 0.9  # the same thing in Keras' convention (weight of the old value)
DROPOUT = 0.5
EVAL_BATCH = 500  # evaluation batch: keeps memory bounded, does not change results

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class PeerError(Exception):
    """An error to report on stderr with exit status 1 (bad data, bad value)."""


# ---- command line -------------------------------------------------------------


def positive_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not an integer: %r" % text)
    if v <= 0:
        raise argparse.ArgumentTypeError("must be > 0: %r" % text)
    return v


def non_negative_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not an integer: %r" % text)
    if v < 0:
        raise argparse.ArgumentTypeError("must be >= 0: %r" % text)
    return v


def default_data_dir():
    """--data, else $NNLAB_DATA, else $XDG_CACHE_HOME/nnlab, else ~/.cache/nnlab (as nnlab)."""
    if os.environ.get("NNLAB_DATA"):
        return os.environ["NNLAB_DATA"]
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "nnlab")


def make_parser(prog, description, framework_args=None):
    p = argparse.ArgumentParser(prog=prog, description=description)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--model", metavar="FILE",
                   help="the model file (.nnm) to train (a shipped model's name also works)")
    g.add_argument("--workload", choices=WORKLOADS,
                   help="a shipped model: models/NAME.nnm (shared/design.md)")
    p.add_argument("--data", default=None, metavar="DIR",
                   help="data directory holding mnist/ and cifar-10-batches-bin/ "
                        "(default: $NNLAB_DATA, else $XDG_CACHE_HOME/nnlab or ~/.cache/nnlab)")
    p.add_argument("--dataset", choices=DATASETS, default=None,
                   help="built-in dataset to train on (default: the model file's `dataset`)")
    p.add_argument("--train-data", default=None, metavar="PATH",
                   help="your own training data: .csv (a header row; the column `label` or "
                        "--label holds the target) or .npz (arrays x and y); values as they are")
    p.add_argument("--test-data", default=None, metavar="PATH",
                   help="your own test data, as --train-data (evaluated after every epoch)")
    p.add_argument("--label", default=None, metavar="COL",
                   help="the target column of .csv data (default: label)")
    p.add_argument("--epochs", type=positive_int, default=None, metavar="N",
                   help="default: the model file's `epochs` (3)")
    p.add_argument("--batch", type=positive_int, default=None, metavar="N",
                   help="default: the model file's `batch` (32)")
    p.add_argument("--seed", type=non_negative_int, default=None, metavar="N",
                   help="default: the model file's `seed`, else %d" % DEFAULT_SEED)
    p.add_argument("--threads", type=non_negative_int, default=0, metavar="N",
                   help="CPU threads for the framework (0: the framework's default)")
    p.add_argument("--limit", type=non_negative_int, default=0, metavar="N",
                   help="train on the first N training samples only (0: all)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="where the framework trains (default cpu; cuda without a GPU: "
                        "exit status 3, skipped)")
    p.add_argument("--events", default=None, metavar="FILE",
                   help="write the event lines to FILE ('-': stdout; default: $NNLAB_EVENTS, "
                        "else stdout)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object with the results on stdout at the end")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    if framework_args:
        framework_args(p)
    return p


def resolve_model(args):
    """args.model / args.workload -> the parsed model (nnm.Model); sets args.workload
    (the name in events and JSON) and args.model_path."""
    name = args.workload
    path = None
    if args.model is not None:
        if os.path.isfile(args.model) or nnm.looks_like_path(args.model):
            path = args.model
        elif args.model in BUILTIN_MODELS:
            name = args.model
        else:
            raise PeerError("%s: no such model file (and not a shipped model: %s)"
                            % (args.model, ", ".join(WORKLOADS)))
    if path is None:
        path = nnm.shipped_path(name, REPO_DIR)
    if path is not None:
        model = nnm.load(path)
        args.model_path = path
        if name is None:
            base = os.path.basename(path)
            name = base[:-4] if base.endswith(".nnm") else base
    else:  # before the shipped files exist: the same models, from this file
        model = nnm.parse(BUILTIN_MODELS[name], "(built-in %s)" % name)
        args.model_path = ""
    args.workload = name
    return model


def parse_args(parser, argv=None):
    """Parses the options and the model file; the CLI's options override the file's lines."""
    args = parser.parse_args(argv)
    if args.data is None:
        args.data = default_data_dir()
    if args.test_data and not args.train_data:
        parser.error("--test-data needs --train-data")
    if args.label and not args.train_data:
        parser.error("--label needs --train-data (it names a column of your .csv data)")
    if args.dataset and args.train_data:
        parser.error("--dataset and --train-data exclude each other")
    m = resolve_model(args)
    args.nnm = m
    args.epochs = args.epochs or m.epochs
    args.batch = args.batch or m.batch
    if args.seed is None:
        args.seed = m.seed if "seed" in m.given else DEFAULT_SEED
    args.optimizer = m.optimizer["name"]
    args.lr = m.optimizer["lr"]
    args.loss = m.loss
    if args.train_data:
        args.dataset = os.path.basename(args.train_data)
        args.own_data = True
    else:
        args.own_data = False
        args.dataset = args.dataset or m.dataset
        if not args.dataset:
            raise PeerError("%s names no dataset: give --dataset NAME or --train-data FILE"
                            % (args.model_path or args.workload))
        if args.dataset not in DATASETS:
            raise PeerError("%s: unknown dataset '%s' (built in: %s; or give --train-data FILE)"
                            % (args.model_path or args.workload, args.dataset,
                               ", ".join(DATASETS)))
    return args


def skip_reason(what):
    """A model or device this framework cannot run: 'skipped: WHAT', exit status 3."""
    sys.stderr.write("skipped: %s\n" % what)
    sys.stderr.flush()
    sys.exit(EXIT_SKIPPED)


def require_gloo():
    """torch.distributed with its gloo backend (DDP on the CPU), else skipped (exit
    status 3); torch must be importable."""
    import torch
    import torch.distributed as dist

    if not dist.is_available():
        skip_reason("PyTorch %s was built without torch.distributed (no DDP)" % torch.__version__)
    if not dist.is_gloo_available():
        skip_reason("PyTorch %s has no gloo backend for torch.distributed (DDP on the CPU)"
                    % torch.__version__)


def skip(what, hint):
    """The framework is missing: one line on stderr, exit status 3."""
    sys.stderr.write("skipped: %s is not installed; install with: %s\n" % (what, hint))
    sys.stderr.flush()
    sys.exit(EXIT_SKIPPED)


def reexec_with(python, script_argv):
    """Re-runs this script under another interpreter (one that has the framework).

    Used before anything is printed or logged, and only once (NNLAB_PEER_REEXEC)."""
    if os.environ.get("NNLAB_PEER_REEXEC"):
        return
    if not python or not os.path.isfile(python) or not os.access(python, os.X_OK):
        return
    # A virtual environment's bin/python is often a symlink to the very
    # interpreter running now (/usr/bin/python3): the same file, but started
    # through the venv's path it gets the venv's sys.prefix and packages. So
    # compare prefixes (the target's is the folder above its bin/), not files.
    target_prefix = os.path.dirname(os.path.dirname(os.path.abspath(python)))
    try:
        if os.path.samefile(target_prefix, sys.prefix):
            return
    except OSError:
        return
    env = dict(os.environ, NNLAB_PEER_REEXEC="1")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(python, [python] + script_argv, env)


# ---- events -------------------------------------------------------------------


class Events:
    """MLPerf-style event lines (shared/design.md, "Events")."""

    def __init__(self, path):
        self.path = path or os.environ.get("NNLAB_EVENTS") or "-"
        self.prefix = ":::MLLOG "  # in files too, as nnlab writes them
        if self.path == "-":
            self.f = sys.stdout
        else:
            try:
                self.f = open(self.path, "w", encoding="utf-8")
            except OSError as e:
                raise PeerError("%s: cannot open the events file: %s" % (self.path, e.strerror))

    def emit(self, event_type, key, value=None, metadata=None, t=None):
        rec = {
            "namespace": "",
            "time_ms": int(round((time.time() if t is None else t) * 1000.0)),
            "event_type": event_type,
            "key": key,
            "value": value,
            "metadata": metadata or {},
        }
        self.f.write(self.prefix + json.dumps(rec) + "\n")
        self.f.flush()

    def start(self, key, metadata=None, t=None):
        self.emit("INTERVAL_START", key, None, metadata, t)

    def stop(self, key, metadata=None, t=None):
        self.emit("INTERVAL_END", key, None, metadata, t)

    def point(self, key, value=None, metadata=None, t=None):
        self.emit("POINT_IN_TIME", key, value, metadata, t)

    def close(self):
        if self.f is not sys.stdout:
            self.f.close()


# ---- data ---------------------------------------------------------------------


def _read_maybe_gz(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, gzip.BadGzipFile) as e:
            raise PeerError("%s: corrupt gzip data (%s)" % (path, e))
    return raw


def _find(dirname, base):
    tried = []
    for name in (base, base + ".gz"):
        p = os.path.join(dirname, name)
        tried.append(p)
        if os.path.isfile(p):
            return p
    raise PeerError("missing data file; looked for %s (get the files with `nnlab data` "
                    "or point --data / $NNLAB_DATA at a directory that has them)"
                    % " and ".join(tried))


def read_idx(path, rank):
    """An IDX file of unsigned bytes -> (dims, bytes), with the checks nnlab makes."""
    import numpy as np

    buf = _read_maybe_gz(path)
    if len(buf) < 4 + 4 * rank:
        raise PeerError("%s: truncated header (%d bytes)" % (path, len(buf)))
    if buf[0] != 0 or buf[1] != 0 or buf[2] != 0x08:
        raise PeerError("%s: bad magic %02x %02x %02x (want 00 00 08: unsigned bytes)"
                        % (path, buf[0], buf[1], buf[2]))
    if buf[3] != rank:
        raise PeerError("%s: rank %d, expected %d" % (path, buf[3], rank))
    dims = struct.unpack(">%dI" % rank, buf[4:4 + 4 * rank])
    n = 1
    for d in dims:
        n *= d
    off = 4 + 4 * rank
    if len(buf) - off != n:
        raise PeerError("%s: %d data bytes, dimensions %s need %d"
                        % (path, len(buf) - off, "x".join(map(str, dims)), n))
    return dims, np.frombuffer(buf, dtype=np.uint8, offset=off)


def load_mnist(data_dir, split):
    """(images u8 [n, 28, 28], labels u8 [n]) from DIR/mnist/{train,t10k}-*-ubyte[.gz]."""
    d = os.path.join(data_dir, "mnist")
    prefix = "train" if split == "train" else "t10k"
    img_path = _find(d, prefix + "-images-idx3-ubyte")
    lab_path = _find(d, prefix + "-labels-idx1-ubyte")
    dims, images = read_idx(img_path, 3)
    (nl,), labels = read_idx(lab_path, 1)
    if dims[0] != nl:
        raise PeerError("%s has %d images but %s has %d labels" % (img_path, dims[0], lab_path, nl))
    if nl and int(labels.max()) > 9:
        raise PeerError("%s: label %d out of range 0..9" % (lab_path, int(labels.max())))
    return images.reshape(dims), labels


CIFAR_RECORD = 1 + 3 * 32 * 32


def load_cifar10(data_dir, split, limit=0):
    """(images u8 [n, 3, 32, 32] CHW, labels u8 [n]) from DIR/cifar-10-batches-bin/;
    limit > 0: the files up to the one holding record `limit` (the caller cuts)."""
    import numpy as np

    d = os.path.join(data_dir, "cifar-10-batches-bin")
    names = ["data_batch_%d.bin" % i for i in range(1, 6)] if split == "train" else ["test_batch.bin"]
    parts = []
    for name in names:
        if limit and sum(len(q) for q in parts) >= limit:
            break
        p = os.path.join(d, name)
        if not os.path.isfile(p):
            raise PeerError("missing data file %s (the CIFAR-10 binary version is expected "
                            "under DIR/cifar-10-batches-bin/)" % p)
        with open(p, "rb") as f:
            raw = f.read()
        if len(raw) == 0 or len(raw) % CIFAR_RECORD:
            raise PeerError("%s: %d bytes, not a whole number of %d-byte records"
                            % (p, len(raw), CIFAR_RECORD))
        parts.append(np.frombuffer(raw, dtype=np.uint8).reshape(-1, CIFAR_RECORD))
    rec = np.concatenate(parts) if len(parts) > 1 else parts[0]
    labels = np.ascontiguousarray(rec[:, 0])
    if int(labels.max()) > 9:
        bad = int(np.argmax(labels > 9))
        raise PeerError("%s: record %d has label %d (want 0..9)" % (d, bad, int(labels[bad])))
    images = np.ascontiguousarray(rec[:, 1:]).reshape(-1, 3, 32, 32)
    return images, labels


def check_data(args):
    """Fails early (before the framework's slow import) when a data file is missing."""
    if args.own_data:
        for p in (args.train_data, args.test_data):
            if p and not os.path.isfile(p):
                raise PeerError("%s: no such data file" % p)
            if p and not p.endswith((".csv", ".npz")):
                raise PeerError("%s: expected a .csv or .npz file" % p)
        return
    if not os.path.isdir(args.data):
        raise PeerError("data directory %s does not exist" % args.data)
    if args.dataset == "mnist":
        d = os.path.join(args.data, "mnist")
        for base in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                     "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
            _find(d, base)
    else:
        d = os.path.join(args.data, "cifar-10-batches-bin")
        for name in ["data_batch_%d.bin" % i for i in range(1, 6)] + ["test_batch.bin"]:
            if not os.path.isfile(os.path.join(d, name)):
                raise PeerError("missing data file %s (the CIFAR-10 binary version is expected "
                                "under DIR/cifar-10-batches-bin/)" % os.path.join(d, name))


def load_dataset(args):
    """The built-in training and test sets as u8 numpy arrays, training set cut to --limit."""
    if not os.path.isdir(args.data):
        raise PeerError("data directory %s does not exist" % args.data)
    load = load_mnist if args.dataset == "mnist" else load_cifar10
    xtr, ytr = load(args.data, "train")
    xte, yte = load(args.data, "test")
    if args.limit:
        xtr, ytr = xtr[:args.limit], ytr[:args.limit]
    return xtr, ytr, xte, yte


# ---- the user's own data: .csv and .npz --------------------------------------------


def read_csv(path, label):
    """A .csv file with a header row -> (x float32 [n, features], y float64 [n]); the
    column named `label` holds the target, every other column is a numeric feature."""
    import csv

    import numpy as np

    try:
        f = open(path, newline="", encoding="utf-8")
    except OSError as e:
        raise PeerError("%s: cannot open: %s" % (path, e.strerror))
    with f:
        reader = csv.reader(f)
        try:
            header = next(reader, None)
            if not header:
                raise PeerError("%s: empty: expected a header row" % path)
            header = [h.strip() for h in header]
            if label not in header:
                raise PeerError("%s: no column '%s' for the target (columns: %s; pick one with "
                                "--label COL)" % (path, label, ", ".join(header[:20])))
            li = header.index(label)
            if len(header) < 2:
                raise PeerError("%s: only the target column '%s', no feature" % (path, label))
            rows = []
            for row in reader:
                r = reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if len(row) != len(header):
                    raise PeerError("%s: row %d has %d cells, the header has %d"
                                    % (path, r, len(row), len(header)))
                vals = []
                for c, cell in enumerate(row):
                    try:
                        v = float(cell)
                    except ValueError:
                        v = None
                    if v is None or v != v or v in (float("inf"), float("-inf")):
                        raise PeerError("%s: row %d, column %d (%s): '%s' is not a finite number"
                                        % (path, r, c + 1, header[c], cell.strip()[:40]))
                    vals.append(v)
                rows.append(vals)
        except csv.Error as e:
            raise PeerError("%s: row %d: %s" % (path, reader.line_num, e))
        except UnicodeDecodeError as e:
            raise PeerError("%s: not UTF-8 text (byte offset %d)" % (path, e.start))
    if not rows:
        raise PeerError("%s: no data rows after the header" % path)
    a = np.array(rows, dtype=np.float64)
    y = a[:, li]
    x = np.delete(a, li, axis=1).astype(np.float32)
    return x, y


NPZ_DTYPES = ("float32", "float64", "uint8", "int64")


def read_npz(path):
    """A .npz file (numpy.savez) holding arrays x [n, ...] and y [n] or [n, k]."""
    import zipfile

    import numpy as np

    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise PeerError("%s: not a readable .npz file (%s)" % (path, e))
    try:
        if not hasattr(z, "files"):
            raise PeerError("%s: a single array, not an .npz archive with x and y" % path)
        out = []
        for key in ("x", "y"):
            if key not in z.files:
                raise PeerError("%s: no array '%s' (arrays: %s)" % (path, key,
                                                                   ", ".join(z.files) or "none"))
            try:
                a = z[key]
            except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
                raise PeerError("%s: array %s: %s" % (path, key, e))
            if a.dtype.name not in NPZ_DTYPES:
                raise PeerError("%s: array %s has dtype %s (expected %s)"
                                % (path, key, a.dtype.name, ", ".join(NPZ_DTYPES)))
            if a.ndim == 0:
                raise PeerError("%s: array %s is a scalar" % (path, key))
            out.append(a)
    finally:
        z.close()
    x, y = out
    if x.shape[0] != y.shape[0]:
        raise PeerError("%s: x has %d samples, y has %d" % (path, x.shape[0], y.shape[0]))
    if y.ndim > 2:
        raise PeerError("%s: y has shape %s (expected [n] or [n, k])" % (path, y.shape))
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise PeerError("%s: x holds NaN or infinite values" % path)
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise PeerError("%s: y holds NaN or infinite values" % path)
    return x, y


def _own_split(args, m, path):
    import numpy as np

    x, y = read_csv(path, args.label or "label") if path.endswith(".csv") else read_npz(path)
    want = m.input_shape
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    shape = tuple(x.shape[1:])
    if (x.ndim == 4 and len(want) == 3 and shape != want) or nnm._size(shape) != m.input_size:
        raise PeerError("%s: %s values per sample (%s), the model's input is %s (%d values)"
                        % (path, nnm._size(shape), "x".join(map(str, shape)),
                           "x".join(map(str, want)), m.input_size))
    x = np.ascontiguousarray(x.reshape((x.shape[0],) + want), dtype=np.float32)
    k = m.num_outputs
    if m.loss == "crossentropy":
        if y.ndim != 1 and not (y.ndim == 2 and y.shape[1] == 1):
            raise PeerError("%s: crossentropy needs one class index per sample, y has shape %s"
                            % (path, y.shape))
        y = y.reshape(-1)
        bad = np.nonzero((y != np.floor(y)) | (y < 0) | (y >= k))[0]
        if bad.size:
            i = int(bad[0])
            raise PeerError("%s: sample %d has label %s (expected a class index 0..%d: the model "
                            "has %d outputs)" % (path, i + 1, y[i], k - 1, k))
        y = y.astype(np.int64)
    else:
        y = y.reshape(y.shape[0], -1)
        if y.shape[1] != k:
            raise PeerError("%s: %d targets per sample, the model has %d outputs"
                            % (path, y.shape[1], k))
        y = np.ascontiguousarray(y, dtype=np.float32)
    return x, y


class Data:
    """Training and test data for a peer.

    x arrays: [n, H, W, C] or [n, N] ("nhwc", the model's input shape), except the
    built-in CIFAR-10, kept as its [n, C, H, W] records ("nchw"). scale: 1/255 for
    the built-in (u8) images, scaled per batch or once; None: floats as they are.
    y: int64 class indices (crossentropy) or float32 [n, k] targets (mse)."""

    def __init__(self, xtr, ytr, xte, yte, layout, scale):
        self.x_train, self.y_train, self.x_test, self.y_test = xtr, ytr, xte, yte
        self.layout, self.scale = layout, scale


def load_data(args):
    """The data of the run (built-in dataset or own files), checked against the model."""
    import numpy as np

    m = args.nnm
    if args.own_data:
        xtr, ytr = _own_split(args, m, args.train_data)
        if args.test_data:
            xte, yte = _own_split(args, m, args.test_data)
        else:
            xte, yte = xtr[:0], ytr[:0]
        if args.limit:
            xtr, ytr = xtr[:args.limit], ytr[:args.limit]
        return Data(xtr, ytr, xte, yte, "nhwc", None)
    xtr, ytr, xte, yte = load_dataset(args)
    nat = (28, 28, 1) if args.dataset == "mnist" else (32, 32, 3)
    want = m.input_shape
    if nnm._size(nat) != m.input_size or (len(want) == 3 and want != nat):
        raise PeerError("%s: the model's input is %s (%d values), %s images are %s"
                        % (args.model_path or args.workload, "x".join(map(str, want)),
                           m.input_size, args.dataset, "x".join(map(str, nat))))
    if m.loss != "crossentropy":
        raise PeerError("%s: loss %s on %s: the built-in datasets have class labels (use loss "
                        "crossentropy)" % (args.model_path or args.workload, m.loss, args.dataset))
    if m.num_outputs < 10:
        raise PeerError("%s: the model has %d outputs, %s has 10 classes"
                        % (args.model_path or args.workload, m.num_outputs, args.dataset))
    if args.dataset == "mnist":
        xtr, xte, layout = xtr.reshape(-1, 28, 28, 1), xte.reshape(-1, 28, 28, 1), "nhwc"
    else:
        layout = "nchw"
    return Data(xtr, ytr.astype(np.int64), xte, yte.astype(np.int64), layout, 1.0 / 255.0)


# ---- reporting ----------------------------------------------------------------


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Progress:
    """One plain line per epoch on stderr (silenced by --quiet)."""

    def __init__(self, quiet):
        self.quiet = quiet

    def epoch(self, epoch, epochs, samples, seconds, loss, acc, test_acc, test_loss=None):
        if self.quiet:
            return
        line = ("epoch %d/%d: %d samples in %.2f s (%.0f samples/s) loss %.4f"
                % (epoch, epochs, samples, seconds, samples / max(seconds, 1e-9), loss))
        if acc is not None:
            line += " accuracy %.4f" % acc
        if test_loss is not None:
            line += " test loss %.4f" % test_loss
        if test_acc is not None:
            line += " test accuracy %.4f" % test_acc
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


class Run:
    """Bookkeeping of one training run: events, per-epoch figures, the final JSON."""

    def __init__(self, args, framework, framework_version_fn=None):
        self.args = args
        self.framework = framework
        self.framework_version = ""
        self.events = Events(args.events)
        self.progress = Progress(args.quiet)
        self.epoch_seconds = []
        self.test_accuracy = []
        self.test_losses = []
        self.losses = []
        self.accuracies = []
        self.samples = 0
        self.t_run_start = None
        self.init_started = False

    def init_start(self, threads):
        """init_start, stamped with the process' start (the framework import is init)."""
        if not self.init_started:
            self.init_started = True
            self.events.start("init_start", {"workload": self.args.workload,
                                             "framework": self.framework,
                                             "threads": threads}, t=T_PROCESS_START)

    def init_stop(self, framework_version, threads):
        self.framework_version = framework_version
        self.threads = threads
        self.init_start(threads)
        self.mlperf_config()
        self.events.stop("init_stop")

    def mlperf_config(self):
        """MLPerf's standard keys, as `nnlab train` logs them (src/cli/mlperf.c), so that
        mlperf-logging's compliance checker accepts the log with mlperf/nnlab.yaml."""
        a = self.args
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        u = os.uname()
        platform = "%s %s, %d core%s" % (u.sysname, u.machine, cores, "" if cores == 1 else "s")
        p = self.events.point
        p("submission_org", getattr(a, "submission_org", None) or "nnlab")
        p("submission_platform", getattr(a, "submission_platform", None) or platform)
        p("submission_division", getattr(a, "submission_division", None) or "open")
        p("submission_status", getattr(a, "submission_status", None) or "research")
        p("submission_benchmark", a.workload)
        p("cache_clear", False)  # the page cache is not dropped before a run
        p("global_batch_size", a.batch)
        p("micro_batch_size", a.batch)
        p("gradient_accumulation_steps", 1)
        p("opt_name", a.optimizer)
        p("opt_base_learning_rate", a.lr)
        p("seed", a.seed)
        for key in ("linear", "attn", "comm"):
            p("lowest_numerical_precision_in_" + key, "fp32")
        for key in ("tensor", "pipeline", "context", "expert"):
            p(key + "_parallelism", 1)
        p("config_filename", a.workload)

    def run_start(self):
        self.t_run_start = time.time()
        self.events.start("run_start", t=self.t_run_start)

    def data_loaded(self, n_train, n_test):
        self.n_train = n_train
        self.events.point("data_loaded", None, {"dataset": self.args.dataset,
                                                "train_samples": n_train,
                                                "test_samples": n_test})
        self.events.point("train_samples", n_train)
        self.events.point("eval_samples", n_test)

    def epoch_start(self, epoch):
        # MLPerf's blocks: one epoch each, closed after its evaluation
        self.events.start("block_start", {"first_epoch_num": epoch, "epoch_count": 1})
        self.events.start("epoch_start", {"epoch_num": epoch})

    def epoch_stop(self, epoch, samples, seconds, loss, accuracy):
        self.epoch_seconds.append(seconds)
        self.losses.append(loss)
        self.accuracies.append(accuracy)
        self.samples += samples
        self.events.stop("epoch_stop", {"epoch_num": epoch, "samples": samples,
                                        "loss": loss, "accuracy": accuracy})
        self._last = (samples, seconds, loss, accuracy)
        # every peer evaluates the test set right after the epoch's last step
        self.events.start("eval_start", {"epoch_num": epoch})

    def eval_accuracy(self, epoch, accuracy, test_loss=None):
        """The evaluation after an epoch: accuracy None for mse (no classes), both None
        without test data."""
        self.events.stop("eval_stop", {"epoch_num": epoch})
        if test_loss is not None:
            self.test_losses.append(test_loss)
        if accuracy is not None:
            accuracy = round(accuracy, 6)
            self.test_accuracy.append(accuracy)
            self.events.point("eval_accuracy", accuracy, {"epoch_num": epoch})
        elif test_loss is not None:
            self.events.point("eval_loss", test_loss, {"epoch_num": epoch})
        self.events.stop("block_stop", {"first_epoch_num": epoch, "epoch_count": 1})
        samples, seconds, loss, acc = self._last
        self.progress.epoch(epoch, self.args.epochs, samples, seconds, loss, acc, accuracy,
                            test_loss)

    def finish(self):
        threads = self.threads
        t_end = time.time()
        self.events.stop("run_stop", {"status": "success"}, t=t_end)
        self.events.close()
        train_seconds = sum(self.epoch_seconds)
        result = {
            "framework": self.framework,
            "framework_version": self.framework_version,
            "workload": self.args.workload,
            "dataset": self.args.dataset,
            "epochs": self.args.epochs,
            "batch": self.args.batch,
            "threads": threads,
            "seed": self.args.seed,
            "optimizer": self.args.optimizer,
            "lr": self.args.lr,
            "train_samples": self.n_train,
            "train_seconds": round(train_seconds, 6),
            "run_seconds": round(t_end - self.t_run_start, 6),
            "total_seconds": round(t_end - T_PROCESS_START, 6),
            "samples_per_second": round(self.samples / train_seconds, 3) if train_seconds else 0.0,
            "final_loss": self.losses[-1] if self.losses else None,
            "test_accuracy": self.test_accuracy,
            "peak_rss_mib": round(peak_rss_mib(), 3),
            "epoch_seconds": [round(s, 6) for s in self.epoch_seconds],
            "model": self.args.model_path,
            "loss": self.args.loss,
            "device": self.args.device,
            "history": {
                "loss": self.losses,
                "accuracy": self.accuracies if self.args.loss == "crossentropy" else [],
                "test_loss": self.test_losses,
                "test_accuracy": self.test_accuracy,
                "epoch_seconds": [round(s, 6) for s in self.epoch_seconds],
            },
        }
        if self.args.json:
            sys.stdout.write(json.dumps(result) + "\n")
            sys.stdout.flush()
        return result

    def abort(self):
        try:
            self.init_start(self.args.threads)
            self.events.stop("run_stop", {"status": "aborted"})
            self.events.close()
        except Exception:
            pass


def main_guard(fn):
    """Runs fn(); turns PeerError into 'PROG: message' with exit status 1."""
    try:
        fn()
    except (PeerError, nnm.NnmError) as e:
        sys.stderr.write("%s: %s\n" % (os.path.basename(sys.argv[0]), e))
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        sys.exit(130)


# ---- training helpers shared by the peers --------------------------------------------


def steps_per_epoch(n, batch):
    """Optimizer steps in an epoch of n samples: the last batch may be partial."""
    return -(-n // batch)


def lr_at(args, step, n):
    """The learning rate of step `step` (0-based) under the model's schedule."""
    spe = steps_per_epoch(n, args.batch)
    return nnm.schedule_lr(args.nnm.schedule, args.lr, step, spe, spe * args.epochs)


def unsupported(framework, layer_kinds, m):
    """skipped (exit 3) when the model has a layer kind or an activation (a layer's or
    one of its own) named in layer_kinds: what this framework cannot build."""
    for L in m.layers:
        for what in (L.kind, L.options.get("act")):
            if what in layer_kinds:
                skip_reason("%s has no %s (%s line %d)" % (framework, what, m.path, L.line))
