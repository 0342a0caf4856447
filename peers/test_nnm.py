#!/usr/bin/env python3
"""Tests of nnm.py, the peers' reader of .nnm model files (run by
tests/integration/peers_nnm.sh; any Python 3, standard library only)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nnm  # noqa: E402

CIFAR = """# the study's Elixir CIFAR-10 model
dataset cifar10
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
batch 32
epochs 3
"""


class Parse(unittest.TestCase):
    def test_issue_example(self):
        m = nnm.parse(CIFAR, "c.nnm")
        self.assertEqual(m.input_shape, (32, 32, 3))
        self.assertEqual([L.kind for L in m.layers],
                         ["conv2d", "batchnorm", "maxpool2d", "conv2d", "batchnorm", "maxpool2d",
                          "flatten", "dense", "dropout", "dense"])
        self.assertEqual(m.layers[6].in_shape, (6, 6, 64))
        self.assertEqual(m.layers[6].out_shape, (2304,))
        self.assertEqual(m.num_outputs, 10)
        self.assertEqual(m.dataset, "cifar10")
        self.assertEqual((m.batch, m.epochs, m.seed), (32, 3, 0))
        self.assertEqual(m.optimizer, {"name": "adam", "lr": 1e-3, "beta1": 0.9,
                                       "beta2": 0.999, "eps": 1e-7})
        self.assertEqual(m.layers[1].eps, 1e-5)
        self.assertEqual(m.layers[1].momentum, 0.1)
        self.assertEqual(m.layers[0].act, "relu")
        self.assertEqual(m.layers[0].padding, "valid")
        self.assertTrue(m.ends_in_softmax())

    def test_defaults(self):
        m = nnm.parse("input 4\ndense 3 softmax\n")
        self.assertEqual(m.loss, "crossentropy")
        self.assertEqual(m.optimizer["name"], "adam")
        self.assertEqual(m.schedule, {"name": "constant", "warmup": 0, "step_size": 1,
                                      "gamma": 0.1})
        self.assertEqual((m.batch, m.epochs, m.seed, m.dataset), (32, 3, 0, None))
        self.assertEqual(m.given, set())
        m = nnm.parse("input 4\ndense 3\nloss mse\noptimizer adamw\n")
        self.assertEqual(m.optimizer["weight_decay"], 0.01)
        self.assertEqual(m.optimizer["eps"], 1e-7)
        self.assertEqual(m.layers[0].act, "linear")
        m = nnm.parse("input 4\ndense 3\nloss mse\noptimizer sgd momentum=0.9\n")
        self.assertEqual(m.optimizer, {"name": "sgd", "lr": 0.01, "momentum": 0.9})

    def test_every_directive(self):
        m = nnm.parse("""input 9 9 2   # comment after words
conv2d 4 3 tanh stride=2 padding=same
conv2d 4 2 sigmoid padding=same
avgpool2d 2 stride=1
maxpool2d 2
relu
gelu
leakyrelu alpha=0.2
globalavgpool2d
dense 5 leakyrelu alpha=0.3
batchnorm eps=0.001 momentum=0.2
tanh
sigmoid
dropout 0.25
dense 3 linear
softmax
loss crossentropy
optimizer adamw lr=0.01 beta1=0.8 beta2=0.99 eps=1e-8 weight_decay=0.1
schedule cosine warmup=10
batch 8
epochs 2
seed 5
dataset mnist
""")
        shapes = [L.out_shape for L in m.layers]
        self.assertEqual(shapes, [(5, 5, 4), (5, 5, 4), (4, 4, 4), (2, 2, 4), (2, 2, 4),
                                  (2, 2, 4), (2, 2, 4), (1, 1, 4), (5,), (5,), (5,), (5,),
                                  (5,), (3,), (3,)])
        self.assertEqual(m.layers[0].pads, (1, 1, 1, 1))  # out 5: (5-1)*2+3-9 = 2
        self.assertEqual(m.layers[1].pads, (0, 1, 0, 1))  # even kernel: the extra one after
        self.assertEqual(m.layers[6].alpha, 0.2)
        self.assertEqual(m.layers[8].act, "leakyrelu")
        self.assertEqual(m.layers[8].alpha, 0.3)
        self.assertEqual(m.layers[0].alpha, 0.01)
        self.assertEqual((m.layers[9].eps, m.layers[9].momentum), (0.001, 0.2))
        self.assertEqual(m.layers[9].in_shape, (5,))
        self.assertEqual(m.optimizer, {"name": "adamw", "lr": 0.01, "beta1": 0.8, "beta2": 0.99,
                                       "eps": 1e-8, "weight_decay": 0.1})
        self.assertEqual(m.schedule["name"], "cosine")
        self.assertEqual(m.schedule["warmup"], 10)
        self.assertEqual((m.batch, m.epochs, m.seed, m.dataset), (8, 2, 5, "mnist"))
        self.assertTrue(m.ends_in_softmax())
        self.assertEqual(m.given, {"loss", "optimizer", "schedule", "batch", "epochs", "seed",
                                   "dataset"})

    def test_same_padding_rule(self):
        # TensorFlow's rule: out = ceil(H/S), pad_total = max((out-1)*S+K-H, 0)
        self.assertEqual(nnm.same_padding(32, 3, 1), (32, 1, 1))
        self.assertEqual(nnm.same_padding(32, 4, 1), (32, 1, 2))
        self.assertEqual(nnm.same_padding(32, 3, 2), (16, 0, 1))
        self.assertEqual(nnm.same_padding(5, 1, 2), (3, 0, 0))
        self.assertEqual(nnm.same_padding(2, 5, 1), (2, 2, 2))

    def test_flat_input(self):
        m = nnm.parse("input 784\ndense 128 relu\ndropout 0.5\ndense 10 softmax\n")
        self.assertEqual(m.input_shape, (784,))
        self.assertEqual(m.layers[0].in_shape, (784,))

    def test_schedule_formula(self):
        s = {"name": "step", "warmup": 0, "step_size": 2, "gamma": 0.5}
        # E = s / steps_per_epoch; lr * gamma^(E / step_size)
        self.assertEqual([nnm.schedule_lr(s, 1.0, k, 10, 100) for k in (0, 19, 20, 39, 40)],
                         [1.0, 1.0, 0.5, 0.5, 0.25])
        c = {"name": "cosine", "warmup": 0}
        self.assertEqual(nnm.schedule_lr(c, 1.0, 0, 10, 100), 1.0)
        self.assertAlmostEqual(nnm.schedule_lr(c, 1.0, 50, 10, 100), 0.5, places=6)
        self.assertAlmostEqual(nnm.schedule_lr(c, 1.0, 100, 10, 100), 0.0, places=6)
        w = {"name": "cosine", "warmup": 4}
        # warm-up: times (s + 1) / W while s < W; cosine from s = W on
        self.assertAlmostEqual(nnm.schedule_lr(w, 1.0, 0, 10, 104), 0.25, places=6)
        self.assertAlmostEqual(nnm.schedule_lr(w, 1.0, 3, 10, 104), 1.0, places=6)
        self.assertAlmostEqual(nnm.schedule_lr(w, 1.0, 54, 10, 104), 0.5, places=6)
        k = {"name": "constant", "warmup": 2}
        self.assertEqual([nnm.schedule_lr(k, 0.1, i, 10, 100) for i in (0, 1, 2)],
                         [nnm._f32(0.05), nnm._f32(0.1), nnm._f32(0.1)])


class Errors(unittest.TestCase):
    def check(self, text, where, *words):
        with self.assertRaises(nnm.NnmError) as cm:
            nnm.parse(text, "m.nnm")
        msg = str(cm.exception)
        self.assertTrue(msg.startswith("m.nnm:%s: " % where), msg)
        for w in words:
            self.assertIn(w, msg)

    def test_unknown_word(self):
        self.check("input 4\n  densse 3\n", "2:3", "unknown directive 'densse'")
        self.check("input 4\ndense 3 relux\n", "2:9", "unknown activation 'relux'")
        self.check("input 4\ndense 3 softmax\nloss hinge\n", "3:6", "unknown loss 'hinge'")
        self.check("input 4\ndense 3 softmax\noptimizer rmsprop\n", "3:11",
                   "unknown optimizer 'rmsprop'")
        self.check("input 4\ndense 3 softmax\nschedule linear\n", "3:10", "unknown schedule")
        self.check("input 4\ndense 3 softmax\noptimizer sgd beta1=0.9\n", "3:15",
                   "unknown option 'beta1'", "lr=", "momentum=")
        self.check("input 8 8 1\nconv2d 2 3 padding=full\n", "2:20", "'full'", "padding=same")
        self.check("input 4\ndense 3 softmax\nepochs 2 3\n", "3:10", "unexpected word '3'")
        self.check("input 4\nflatten x\n", "2:9", "unexpected word 'x'")
        self.check("input 4\ndense 3 relu alpha=0.2\n", "2:14", "alpha= needs the activation "
                   "leakyrelu")

    def test_bad_number(self):
        self.check("input 4\ndense three softmax\n", "2:7", "'three'", "an integer", "units")
        self.check("input 4\ndense 3 softmax\nbatch 0\n", "3:7", "batch must be at least 1")
        self.check("input 4\ndense 3 softmax\noptimizer adam lr=fast\n", "3:19", "'fast'",
                   "a number")
        self.check("input 4\ndropout 1.5\ndense 3 softmax\n", "2:9", "below 1")
        self.check("input 4\ndense 3 softmax\nepochs 2.5\n", "3:8", "an integer")
        self.check("input 4\ndense 3 softmax\noptimizer adam lr=nan\n", "3:19", "a number")

    def test_missing_value(self):
        self.check("input 4\ndense\n", "2:6", "missing value", "dense UNITS")
        self.check("input 8 8 1\nconv2d 4\n", "2:9", "missing value", "conv2d FILTERS KERNEL")
        self.check("input 4\ndense 3 softmax\noptimizer adam lr=\n", "3:19", "missing value")
        self.check("input 4\ndense 3 softmax\nbatch\n", "3:6", "missing value", "batch N")
        self.check("input 4 4\ndense 3 softmax\n", "1:9", "input H W C")
        self.check("dense 3 softmax\n", "1:1", "no 'input' line")
        self.check("input 4\n", "1:1", "no layers")

    def test_shape_mismatch(self):
        self.check("input 3 3 64\nconv2d 64 3 relu\nmaxpool2d 2\n", "3:1",
                   "maxpool2d 2 on a 1x1x64 input")
        self.check("input 1 1 64\nmaxpool2d 2\n", "2:1", "maxpool2d 2 on a 1x1x64 input")
        self.check("input 784\nconv2d 8 3\n", "2:1", "conv2d on a flat input")
        self.check("input 2 2 3\nconv2d 8 3\n", "2:1", "kernel is larger")
        self.check("input 10\nglobalavgpool2d\ndense 2 softmax\n", "2:1", "flat input")
        self.check("input 2 2 3\navgpool2d 3\n", "2:1", "avgpool2d 3 on a 2x2x3 input")

    def test_softmax_rules(self):
        self.check("input 4\ndense 8 softmax\ndense 3 softmax\n", "2:1",
                   "softmax before the last layer")
        self.check("input 4\ndense 3 relu\n", "2:1", "crossentropy needs the model to end in "
                   "softmax")
        self.check("input 4\ndense 3 softmax\nloss mse\n", "2:1", "softmax with loss mse")
        self.check("input 4\ndense 3\nsoftmax\nloss mse\n", "3:1", "softmax with loss mse")
        self.check("input 4\ndense 1 softmax\n", "2:1", "at least 2 classes")

    def test_twice(self):
        self.check("input 4\ninput 4\ndense 3 softmax\n", "2:1", "a second 'input' line",
                   "line 1")
        self.check("input 4\ndense 3 softmax\nepochs 2\nepochs 3\n", "4:1", "a second 'epochs'")
        self.check("input 4\ndense 3 softmax\noptimizer adam lr=1 lr=2\n", "3:21", "twice")
        self.check("dense 3\ninput 4\n", "2:1", "before the first layer")

    def test_load(self):
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "x.nnm")
            with open(p, "wb") as f:
                f.write(b"input 4\n\0dense 3 softmax\n")
            with self.assertRaises(nnm.NnmError) as cm:
                nnm.load(p)
            self.assertIn("NUL byte at offset 8", str(cm.exception))
            with self.assertRaises(nnm.NnmError) as cm:
                nnm.load(os.path.join(d, "missing.nnm"))
            self.assertIn("missing.nnm: cannot read", str(cm.exception))
            with open(p, "w") as f:
                f.write(CIFAR)
            self.assertEqual(nnm.load(p).path, p)


class Unsupported(unittest.TestCase):
    def test_skip_line_and_status(self):
        import io

        import nnlab_peer as P

        m = nnm.parse("input 4\ndense 8 gelu\ndense 3 softmax\n", "g.nnm")
        P.unsupported("FW", ("avgpool2d",), m)  # nothing it lacks: returns
        err, sys.stderr = sys.stderr, io.StringIO()
        try:
            with self.assertRaises(SystemExit) as cm:
                P.unsupported("FW", ("gelu",), m)
            said = sys.stderr.getvalue()
        finally:
            sys.stderr = err
        self.assertEqual(cm.exception.code, 3)
        self.assertEqual(said, "skipped: FW has no gelu (g.nnm line 2)\n")


class Shipped(unittest.TestCase):
    """The shipped models/*.nnm, when the source tree has them, are the workloads
    of shared/design.md as the peers' fallback definitions write them."""

    def test_shipped_models(self):
        import nnlab_peer as P

        repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        for name, text in P.BUILTIN_MODELS.items():
            p = nnm.shipped_path(name, repo)
            if p is None:
                continue
            a, b = nnm.load(p), nnm.parse(text)
            self.assertEqual(nnm._size(a.input_shape), nnm._size(b.input_shape), name)
            self.assertEqual([(L.kind, L.options) for L in a.layers],
                             [(L.kind, L.options) for L in b.layers], name)
            self.assertEqual((a.loss, a.optimizer, a.schedule, a.batch, a.epochs),
                             (b.loss, b.optimizer, b.schedule, b.batch, b.epochs), name)


if __name__ == "__main__":
    unittest.main()
