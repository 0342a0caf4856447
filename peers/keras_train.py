#!/usr/bin/env python3
"""Keras 3 peer contestant: the workloads of shared/design.md, on TensorFlow or JAX.

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


def build_model(keras, workload):
    L = keras.layers
    dense = dict(kernel_initializer="glorot_uniform", bias_initializer="zeros")
    conv = dict(kernel_size=3, strides=1, padding="valid", **dense)
    bn = dict(epsilon=P.BN_EPS, momentum=P.BN_MOMENTUM_KERAS)
    if workload == "mnist":
        layers = [keras.Input((784,)), L.Dense(128, activation="relu", **dense),
                  L.Dropout(P.DROPOUT), L.Dense(10, activation="softmax", **dense)]
    elif workload == "mnist-keras-paper":
        layers = [keras.Input((784,)), L.Dense(128, activation="relu", **dense),
                  L.Dense(128, activation="relu", **dense), L.Dropout(P.DROPOUT),
                  L.Dense(10, activation="softmax", **dense)]
    elif workload == "cifar10":
        layers = [keras.Input((32, 32, 3)),
                  L.Conv2D(32, activation="relu", **conv), L.BatchNormalization(**bn),
                  L.MaxPooling2D(2, 2),
                  L.Conv2D(64, activation="relu", **conv), L.BatchNormalization(**bn),
                  L.MaxPooling2D(2, 2), L.Flatten(),
                  L.Dense(64, activation="relu", **dense), L.Dropout(P.DROPOUT),
                  L.Dense(10, activation="softmax", **dense)]
    elif workload == "cifar10-keras-paper":
        layers = [keras.Input((32, 32, 3)),
                  L.Conv2D(32, activation="relu", **conv), L.MaxPooling2D(2, 2),
                  L.Conv2D(64, activation="relu", **conv), L.MaxPooling2D(2, 2), L.Flatten(),
                  L.Dense(64, activation="relu", **dense),
                  L.Dense(10, activation="softmax", **dense)]
    else:
        raise P.PeerError("unknown workload %s" % workload)
    return keras.Sequential(layers, name=workload.replace("-", "_"))


def main():
    parser = P.make_parser("keras_train.py", "Train an nnlab workload with Keras 3.",
                           framework_args)
    args = P.parse_args(parser)
    module, venv, _ = BACKENDS[args.backend]

    if importlib.util.find_spec("keras") is None or importlib.util.find_spec(module) is None:
        P.reexec_with(os.path.join(P.REPO_DIR, ".venv-peers", venv, "bin", "python"),
                      [os.path.abspath(__file__)] + sys.argv[1:])
        P.skip("Keras 3 with %s" % args.backend, install_hint(args.backend))

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
    import numpy as np
    import keras

    if args.backend == "tensorflow":
        import tensorflow as tf

        if args.threads > 0:
            tf.config.threading.set_intra_op_parallelism_threads(args.threads)
            tf.config.threading.set_inter_op_parallelism_threads(args.threads)
        backend_version = tf.__version__
    else:
        import jax

        backend_version = jax.__version__
    if keras.backend.backend() != args.backend:
        raise P.PeerError("Keras runs on %s, not %s (is KERAS_BACKEND set in keras.json?)"
                          % (keras.backend.backend(), args.backend))
    threads = args.threads if args.threads > 0 else len(os.sched_getaffinity(0))

    keras.utils.set_random_seed(args.seed)
    model = build_model(keras, args.workload)
    if args.optimizer == "adam":
        opt = keras.optimizers.Adam(learning_rate=args.lr, beta_1=P.ADAM_BETA1,
                                    beta_2=P.ADAM_BETA2, epsilon=P.ADAM_EPS)
    else:
        opt = keras.optimizers.SGD(learning_rate=args.lr)
    jit = {"auto": "auto", "true": True, "false": False}[args.jit_compile]
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit_compile=jit)
    run.init_stop("%s (%s %s)" % (keras.__version__, args.backend, backend_version), threads)

    run.run_start()
    xtr_u8, ytr, xte_u8, yte = P.load_dataset(args)

    def scaled(x):
        # Keras trains on float arrays: scale once, as the study's script did.
        if args.dataset == "mnist":
            x = x.reshape(x.shape[0], 784)
        else:
            x = x.transpose(0, 2, 3, 1)  # CHW records -> NHWC, Keras' channels_last
        out = x.astype(np.float32)
        np.divide(out, 255.0, out=out)
        return out

    xtr, xte = scaled(xtr_u8), scaled(xte_u8)
    ytr, yte = ytr.astype(np.int32), yte.astype(np.int32)
    del xtr_u8, xte_u8
    n = xtr.shape[0]
    if n == 0:
        raise P.PeerError("no training samples")
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
                           float(logs.get("accuracy", float("nan"))))
            res = self.model.evaluate(xte, yte, batch_size=P.EVAL_BATCH, verbose=0,
                                      return_dict=True)
            run.eval_accuracy(epoch + 1, float(res["accuracy"]))

    model.fit(xtr, ytr, batch_size=args.batch, epochs=args.epochs, shuffle=True, verbose=0,
              callbacks=[Timeline()])
    run.finish()


if __name__ == "__main__":
    P.main_guard(main)
