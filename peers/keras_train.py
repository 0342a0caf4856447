#!/usr/bin/env python3
"""Keras 3 peer contestant: any nnlab model file (.nnm), on TensorFlow or JAX.

    .venv-peers/keras-tf/bin/python  peers/keras_train.py --backend tensorflow --workload mnist
    .venv-peers/keras-jax/bin/python peers/keras_train.py --backend jax --workload mnist

Keras 3 with TensorFlow is the study's Python side; Keras 3 on JAX compiles with
XLA, the compiler under the study's EXLA. Install them with the requirement files
(peers/README.md). When the running interpreter lacks Keras or the backend but
the virtual environment .venv-peers/keras-tf (or keras-jax) at the repository's
root has them, the script re-runs itself there. Neither: exit status 3 with an
install hint.
"""

import importlib.util
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nnlab_peer as P  # noqa: E402

BACKENDS = {
    # backend: (module to look for, venv under .venv-peers/, requirement file)
    "tensorflow": ("tensorflow", "keras-tf", "requirements-keras-tf.txt"),
    "jax": ("jax", "keras-jax", "requirements-keras-jax.txt"),
}


# layer kinds this peer cannot build (skipped: exit status 3); Keras builds them all
UNSUPPORTED = ()


def framework_args(p):
    p.add_argument("--backend", choices=sorted(BACKENDS), default="tensorflow",
                   help="Keras backend (default tensorflow)")
    p.add_argument("--jit-compile", choices=["auto", "true", "false"], default="auto",
                   help="Keras' jit_compile (XLA) setting (default auto: Keras decides)")


def install_hint(backend):
    _, venv, req = BACKENDS[backend]
    return ("/usr/bin/python3 -m venv .venv-peers/%s && .venv-peers/%s/bin/pip install -r peers/%s"
            % (venv, venv, req))


def limit_threads(args):
    """Thread settings that must be in place before the backend is imported."""
    n = args.threads
    if args.backend == "tensorflow":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        return
    # JAX: XLA's CPU client sizes its thread pool from the CPUs it may run on. One
    # thread: turn Eigen's multi-threading off; any n below the CPU count: also
    # restrict the process to n CPUs, which is what the pool size follows.
    if n <= 0:
        return
    flags = os.environ.get("XLA_FLAGS", "")
    if n == 1:
        flags += " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    os.environ["XLA_FLAGS"] = flags.strip()
    cpus = sorted(os.sched_getaffinity(0))
    if n < len(cpus):
        os.sched_setaffinity(0, set(cpus[:n]))


def build_model(keras, m, name="model"):
    """The model of model file m (nnm.Model) as a keras.Sequential, channels last as
    nnlab. Every layer is linear with its activation as a layer of its own (the
    same function as Keras' activation= argument; gelu needs approximate=True).
    Weights glorot-uniform, biases zero, batch norm gamma 1 beta 0."""
    L = keras.layers
    init = dict(kernel_initializer="glorot_uniform", bias_initializer="zeros")
    layers = [keras.Input(m.input_shape)]
    shape = m.input_shape

    def act(a, alpha):
        if a in (None, "linear"):
            return
        if a == "gelu":
            layers.append(L.Activation(lambda x: keras.activations.gelu(x, approximate=True),
                                       name=None))
        elif a == "leakyrelu":
            layers.append(L.LeakyReLU(negative_slope=alpha))
        else:
            layers.append(L.Activation(a))

    for ly in m.layers:
        k = ly.kind
        if k == "dense":
            if len(shape) == 3:  # nnlab's dense reads a feature map as a vector
                layers.append(L.Flatten())
            layers.append(L.Dense(ly.units, **init))
        elif k == "conv2d":
            layers.append(L.Conv2D(ly.filters, ly.kernel, strides=ly.stride,
                                   padding=ly.padding, **init))
        elif k == "maxpool2d":
            layers.append(L.MaxPooling2D(ly.kernel, ly.stride, padding="valid"))
        elif k == "avgpool2d":
            layers.append(L.AveragePooling2D(ly.kernel, ly.stride, padding="valid"))
        elif k == "globalavgpool2d":
            layers.append(L.GlobalAveragePooling2D(keepdims=True))
        elif k == "batchnorm":
            # Keras' momentum is the weight of the old value: 1 - nnlab's
            layers.append(L.BatchNormalization(epsilon=ly.eps, momentum=1.0 - ly.momentum))
        elif k == "dropout":
            layers.append(L.Dropout(ly.rate))
        elif k == "flatten":
            if len(shape) == 3:
                layers.append(L.Flatten())
        elif k != "activation":
            raise P.PeerError("Keras peer: no layer %s" % k)
        act(ly.options.get("act"), ly.options.get("alpha"))
        shape = ly.out_shape
    return keras.Sequential(layers, name=name.replace("-", "_").replace(".", "_"))


def schedule(keras, args):
    """The model's learning-rate schedule (include/nnlab/optim.h) per optimizer step, or
    the plain rate when it is constant without warm-up. The steps per epoch are set
    once the data is loaded (set_samples), before the first step."""
    sch = args.nnm.schedule
    if sch["name"] == "constant" and sch["warmup"] == 0:
        return float(args.lr)
    ops = keras.ops
    lr = args.lr

    class NnlabSchedule(keras.optimizers.schedules.LearningRateSchedule):
        spe = total = 1

        def set_samples(self, n):
            self.spe = P.steps_per_epoch(n, args.batch)
            self.total = self.spe * args.epochs

        def __call__(self, step):
            spe, total = self.spe, self.total
            s = ops.cast(step, "float32")
            w = float(sch["warmup"])
            if sch["name"] == "step":
                e = ops.floor(s / spe)
                out = lr * ops.power(float(sch["gamma"]), ops.floor(e / sch["step_size"]))
            elif sch["name"] == "cosine":
                out = lr * 0.5 * (1.0 + ops.cos(3.141592653589793 * ops.maximum(s - w, 0.0)
                                                / max(total - w, 1.0)))
            else:
                out = lr + 0.0 * s
            if w > 0:
                out = ops.where(s < w, out * (s + 1.0) / w, out)
            return out

        def get_config(self):
            return {}

    return NnlabSchedule()


def main():
    parser = P.make_parser("keras_train.py", "Train an nnlab model file with Keras 3.",
                           framework_args)
    args = P.parse_args(parser)
    module, venv, _ = BACKENDS[args.backend]

    if importlib.util.find_spec("keras") is None or importlib.util.find_spec(module) is None:
        P.reexec_with(os.path.join(P.REPO_DIR, ".venv-peers", venv, "bin", "python"),
                      [os.path.abspath(__file__)] + sys.argv[1:])
        P.skip("Keras 3 with %s" % args.backend, install_hint(args.backend))

    P.unsupported("Keras", UNSUPPORTED, args.nnm)
    P.check_data(args)
    run = P.Run(args, "keras-" + args.backend)
    try:
        train(args, run)
    except BaseException:
        run.abort()
        raise


def train(args, run):
    limit_threads(args)
    os.environ["KERAS_BACKEND"] = args.backend
    if args.device == "cpu":  # every CPU comparison stays on the CPU
        if args.backend == "jax":
            os.environ.setdefault("JAX_PLATFORMS", "cpu")
        else:
            os.environ["CUDA_VISIBLE_DEVICES"] = ""
    import keras
    import numpy as np

    if args.backend == "tensorflow":
        import tensorflow as tf

        if args.threads > 0:
            tf.config.threading.set_intra_op_parallelism_threads(args.threads)
            tf.config.threading.set_inter_op_parallelism_threads(args.threads)
        backend_version = tf.__version__
        if args.device == "cuda" and not tf.config.list_physical_devices("GPU"):
            P.skip_reason("no CUDA device (TensorFlow %s sees no GPU)" % backend_version)
    else:
        import jax

        backend_version = jax.__version__
        if args.device == "cuda":
            try:
                jax.devices("gpu")
            except RuntimeError:
                P.skip_reason("no CUDA device (JAX %s has no GPU backend)" % backend_version)
    if keras.backend.backend() != args.backend:
        raise P.PeerError("Keras runs on %s, not %s (is KERAS_BACKEND set in keras.json?)"
                          % (keras.backend.backend(), args.backend))
    threads = args.threads if args.threads > 0 else len(os.sched_getaffinity(0))

    keras.utils.set_random_seed(args.seed)
    m = args.nnm
    ce = m.loss == "crossentropy"
    model = build_model(keras, m, args.workload)
    o = m.optimizer
    lr = schedule(keras, args)
    if o["name"] == "adam":
        opt = keras.optimizers.Adam(learning_rate=lr, beta_1=o["beta1"], beta_2=o["beta2"],
                                    epsilon=o["eps"])
    elif o["name"] == "adamw":
        opt = keras.optimizers.AdamW(learning_rate=lr, beta_1=o["beta1"], beta_2=o["beta2"],
                                     epsilon=o["eps"], weight_decay=o["weight_decay"])
    else:
        opt = keras.optimizers.SGD(learning_rate=lr, momentum=o["momentum"])
    jit = {"auto": "auto", "true": True, "false": False}[args.jit_compile]
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy" if ce else "mse",
                  metrics=["accuracy"] if ce else [], jit_compile=jit)
    run.init_stop("%s (%s %s)" % (keras.__version__, args.backend, backend_version), threads)

    run.run_start()
    data = P.load_data(args)

    def scaled(x):
        # Keras trains on float arrays in channels_last: built-in images are scaled
        # once, as the study's script did; the user's data is taken as it is.
        if data.layout == "nchw":
            x = x.transpose(0, 2, 3, 1)  # CIFAR-10's CHW records -> NHWC
        x = x.reshape((x.shape[0],) + m.input_shape)
        out = x.astype(np.float32)
        if data.scale is not None:
            np.divide(out, 255.0, out=out)
        return out

    xtr, xte = scaled(data.x_train), scaled(data.x_test)
    if ce:
        ytr, yte = data.y_train.astype(np.int32), data.y_test.astype(np.int32)
    else:
        ytr, yte = data.y_train, data.y_test
    del data
    n = xtr.shape[0]
    if n == 0:
        raise P.PeerError("no training samples")
    if not isinstance(lr, float):
        lr.set_samples(n)  # the schedule counts epochs in steps of this many samples
    run.data_loaded(n, xte.shape[0])

    class Timeline(keras.callbacks.Callback):
        """Epoch events and timing; the test set is evaluated after every epoch."""

        def on_epoch_begin(self, epoch, logs=None):
            run.epoch_start(epoch + 1)
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - self.t0
            logs = logs or {}
            run.epoch_stop(epoch + 1, n, seconds, float(logs.get("loss", float("nan"))),
                           float(logs.get("accuracy", float("nan"))) if ce else None)
            if xte.shape[0] == 0:
                run.eval_accuracy(epoch + 1, None, None)
                return
            res = self.model.evaluate(xte, yte, batch_size=P.EVAL_BATCH, verbose=0,
                                      return_dict=True)
            run.eval_accuracy(epoch + 1, float(res["accuracy"]) if ce else None,
                              float(res["loss"]))

    model.fit(xtr, ytr, batch_size=args.batch, epochs=args.epochs, shuffle=True, verbose=0,
              callbacks=[Timeline()])
    run.finish()


if __name__ == "__main__":
    P.main_guard(main)
