"""Shared parts of nnlab's Python peer contestants (torch_train.py, keras_train.py).

Everything that is not framework code lives here, so that every peer reads the
same files, takes the same options and reports the same way as `nnlab train`:

* the data: MNIST IDX files (raw or .gz) and the CIFAR-10 binary version, read
  straight from the data directory (no downloads, ever);
* the command line: --workload --data --epochs --batch --seed --threads --limit
  --events --json --quiet;
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

T_PROCESS_START = time.time()  # as early as the interpreter lets us

EXIT_SKIPPED = 3  # the framework is not installed: the bench reports "skipped"
EXIT_USAGE = 2
EXIT_ERROR = 1

# The workloads of shared/design.md: dataset, optimizer, learning rate.
WORKLOADS = {
    "mnist": {"dataset": "mnist", "optimizer": "adam", "lr": 1e-3},
    "cifar10": {"dataset": "cifar10", "optimizer": "adam", "lr": 1e-3},
    "mnist-keras-paper": {"dataset": "mnist", "optimizer": "adam", "lr": 1e-3},
    "cifar10-keras-paper": {"dataset": "cifar10", "optimizer": "sgd", "lr": 1e-2},
}

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
    p.add_argument("--workload", required=True, choices=sorted(WORKLOADS),
                   help="model and optimizer, as in shared/design.md")
    p.add_argument("--data", default=None, metavar="DIR",
                   help="data directory holding mnist/ and cifar-10-batches-bin/ "
                        "(default: $NNLAB_DATA, else $XDG_CACHE_HOME/nnlab or ~/.cache/nnlab)")
    p.add_argument("--epochs", type=positive_int, default=3, metavar="N", help="default 3")
    p.add_argument("--batch", type=positive_int, default=32, metavar="N", help="default 32")
    p.add_argument("--seed", type=non_negative_int, default=42, metavar="N", help="default 42")
    p.add_argument("--threads", type=non_negative_int, default=0, metavar="N",
                   help="CPU threads for the framework (0: the framework's default)")
    p.add_argument("--limit", type=non_negative_int, default=0, metavar="N",
                   help="train on the first N training samples only (0: all)")
    p.add_argument("--events", default=None, metavar="FILE",
                   help="write the event lines to FILE ('-': stdout; default: $NNLAB_EVENTS, "
                        "else stdout)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object with the results on stdout at the end")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    if framework_args:
        framework_args(p)
    return p


def parse_args(parser, argv=None):
    args = parser.parse_args(argv)
    if args.data is None:
        args.data = default_data_dir()
    args.dataset = WORKLOADS[args.workload]["dataset"]
    args.optimizer = WORKLOADS[args.workload]["optimizer"]
    args.lr = WORKLOADS[args.workload]["lr"]
    return args


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
    try:
        if os.path.samefile(python, sys.executable):
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
    """Training and test sets as u8 numpy arrays, training set cut to --limit."""
    if not os.path.isdir(args.data):
        raise PeerError("data directory %s does not exist" % args.data)
    load = load_mnist if args.dataset == "mnist" else load_cifar10
    xtr, ytr = load(args.data, "train")
    xte, yte = load(args.data, "test")
    if args.limit:
        xtr, ytr = xtr[:args.limit], ytr[:args.limit]
    return xtr, ytr, xte, yte


# ---- reporting ----------------------------------------------------------------


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Progress:
    """One plain line per epoch on stderr (silenced by --quiet)."""

    def __init__(self, quiet):
        self.quiet = quiet

    def epoch(self, epoch, epochs, samples, seconds, loss, acc, test_acc):
        if self.quiet:
            return
        sys.stderr.write("epoch %d/%d: %d samples in %.2f s (%.0f samples/s) loss %.4f "
                         "accuracy %.4f test accuracy %.4f\n"
                         % (epoch, epochs, samples, seconds, samples / max(seconds, 1e-9),
                            loss, acc, test_acc))
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
        self.losses = []
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
        self.samples += samples
        self.events.stop("epoch_stop", {"epoch_num": epoch, "samples": samples,
                                        "loss": loss, "accuracy": accuracy})
        self._last = (samples, seconds, loss, accuracy)
        # every peer evaluates the test set right after the epoch's last step
        self.events.start("eval_start", {"epoch_num": epoch})

    def eval_accuracy(self, epoch, accuracy):
        accuracy = round(accuracy, 6)
        self.test_accuracy.append(accuracy)
        self.events.stop("eval_stop", {"epoch_num": epoch})
        self.events.point("eval_accuracy", accuracy, {"epoch_num": epoch})
        self.events.stop("block_stop", {"first_epoch_num": epoch, "epoch_count": 1})
        samples, seconds, loss, acc = self._last
        self.progress.epoch(epoch, self.args.epochs, samples, seconds, loss, acc, accuracy)

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
    except PeerError as e:
        sys.stderr.write("%s: %s\n" % (os.path.basename(sys.argv[0]), e))
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        sys.exit(130)
