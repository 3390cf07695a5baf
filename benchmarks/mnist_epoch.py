"""One epoch of real MNIST training, framework (Gluon API) against PyTorch eager.

The shared harness of ``mlp_mnist.py`` and ``lenet_mnist.py``: each gives a
network twice (``fw.nn`` layers and ``torch.nn`` modules, the same parameter
order and shapes); this module loads MNIST from ``../shared/data/mnist`` (or
``--data``), fixes one data order (a seeded permutation), and trains one epoch
per repeat in each library, in turn, from the same initial weights:

    framework: with autograd.record(): loss = SoftmaxCrossEntropyLoss()(net(x), y)
               loss.backward(); trainer.step(batch_size)          # fw.Trainer, 'sgd'
    hybridized: the same after net.hybridize() (the net's captured graph is replayed:
               one graph node per step for the net, its backward a captured program)
    pytorch:   loss = F.cross_entropy(net(x), y); opt.zero_grad(); loss.backward(); opt.step()

The batches are made into each library's arrays before timing (the input
pipeline is not measured). Printed: seconds per epoch, training images per
second, the test accuracy after the epoch (a check that both learned alike),
and the same-run ratios (median over repeats of each repeat's ratio).
``--no-hybridize`` leaves out the hybridized row.
"""
import argparse
import importlib.util
import pathlib
import statistics
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "mnist"


def _sibling(name: str):
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MLP_STEP = _sibling("mlp_step")        # thread control (set_threads, load_peer), SETTLE_S


def parse_args(description: str, argv=None):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--repeat", type=int, default=5, help="timed epochs per library")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--batches", type=int, default=None,
                        help="train on only the first N batches of the epoch (a quick check)")
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="folder of the MNIST files")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS/PyTorch threads (default: as the libraries start)")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--no-hybridize", action="store_true",
                        help="leave out the hybridized framework row")
    return parser.parse_args(argv)


def load_data(root: str, image_shape, n_batches, batch_size: int, seed: int = 0):
    """Training batches (in one seeded order) and the test set, as host float32 arrays."""
    sys.path.insert(0, str(ROOT))
    from framework.data.vision import load_mnist
    images, labels = load_mnist(root, train=True, download=False)
    test_images, test_labels = load_mnist(root, train=False, download=False)
    order = np.random.RandomState(seed).permutation(len(images))
    x = (images[order].astype(np.float32) / 255).reshape((-1,) + image_shape)
    y = labels[order].astype(np.int64)
    count = len(x) // batch_size if n_batches is None else n_batches
    batches = [(x[i * batch_size:(i + 1) * batch_size], y[i * batch_size:(i + 1) * batch_size])
               for i in range(count)]
    test = ((test_images.astype(np.float32) / 255).reshape((-1,) + image_shape),
            test_labels.astype(np.int64))
    return batches, test


class FrameworkEpoch:
    """One epoch with fw.nn, fw.loss, fw.Trainer; with ``hybridize``, after
    ``net.hybridize()`` (the loss stays imperative)."""

    name = "framework"

    def __init__(self, build, batches, test, lr: float, hybridize: bool = False) -> None:
        import framework as fw
        self.fw = fw
        if hybridize:
            self.name = "hybridized"
        fw.random.seed(0)
        self.net = build(fw)
        self.net.initialize(fw.init.Xavier())
        self.net(fw.nd.array(batches[0][0]))                 # finish deferred shapes
        if hybridize:
            self.net.hybridize()
        self.params = list(self.net.collect_params().values())
        self.initial = [p.data().asnumpy().copy() for p in self.params]
        self.batches = [(fw.nd.array(x), fw.nd.array(y, dtype="float32")) for x, y in batches]
        self.test = (fw.nd.array(test[0]), test[1])
        self.loss_fn = fw.loss.SoftmaxCrossEntropyLoss()
        self.lr = lr

    def reset(self) -> None:
        for p, w in zip(self.params, self.initial):
            p.set_data(w)
        self.trainer = self.fw.Trainer(self.net.collect_params(), "sgd",
                                       {"learning_rate": self.lr})

    def run(self, n_batches=None) -> float:
        record, net, loss_fn, trainer = (self.fw.autograd.record, self.net, self.loss_fn,
                                         self.trainer)
        loss = None
        start = time.perf_counter()
        for x, y in self.batches[:n_batches]:
            with record():
                loss = loss_fn(net(x), y)
            loss.backward()
            trainer.step(x.shape[0])
        loss.wait_to_read()
        return time.perf_counter() - start

    def accuracy(self) -> float:
        out = self.net(self.test[0]).asnumpy()
        return float((out.argmax(axis=1) == self.test[1]).mean())


class TorchEpoch:
    """The same epoch in PyTorch eager from the framework's initial weights."""

    name = "pytorch"

    def __init__(self, build, batches, test, lr: float, initial) -> None:
        import torch
        self.torch = torch
        self.net = build(torch)
        self.params = list(self.net.parameters())
        for p, w in zip(self.params, initial):
            if tuple(p.shape) != w.shape:
                raise SystemExit(f"weight shapes differ: torch {tuple(p.shape)}, framework "
                                 f"{w.shape}")
        self.initial = initial
        self.batches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches]
        self.test = (torch.from_numpy(test[0]), test[1])
        self.lr = lr

    def reset(self) -> None:
        with self.torch.no_grad():
            for p, w in zip(self.params, self.initial):
                p.copy_(self.torch.from_numpy(w))
        self.opt = self.torch.optim.SGD(self.params, lr=self.lr)

    def run(self, n_batches=None) -> float:
        F, net, opt = self.torch.nn.functional, self.net, self.opt
        start = time.perf_counter()
        for x, y in self.batches[:n_batches]:
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return time.perf_counter() - start

    def accuracy(self) -> float:
        with self.torch.no_grad():
            out = self.net(self.test[0]).numpy()
        return float((out.argmax(axis=1) == self.test[1]).mean())


def main(title: str, build, image_shape, description: str, argv=None) -> None:
    """Time ``--repeat`` epochs of the network ``build(fw_or_torch)`` in each library."""
    args = parse_args(description, argv)
    torch = MLP_STEP.load_peer(args)
    batches, test = load_data(args.data, image_shape, args.batches, args.batch_size)
    n_images = sum(len(x) for x, _ in batches)
    epochs = {"framework": FrameworkEpoch(build, batches, test, args.lr)}
    if not args.no_hybridize:
        epochs["hybridized"] = FrameworkEpoch(build, batches, test, args.lr, hybridize=True)
    if torch is not None:
        epochs["pytorch"] = TorchEpoch(build, batches, test, args.lr, epochs["framework"].initial)
    for epoch in epochs.values():                    # warm-up: a few batches each
        epoch.reset()
        epoch.run(3)
        time.sleep(MLP_STEP.SETTLE_S)
    times = {name: [] for name in epochs}
    accuracy = {}
    names = list(epochs)
    for r in range(args.repeat):
        for name in (names if r % 2 == 0 else names[::-1]):
            epochs[name].reset()
            times[name].append(epochs[name].run())
            time.sleep(MLP_STEP.SETTLE_S)
        accuracy = {name: epoch.accuracy() for name, epoch in epochs.items()}
    for name, runs in times.items():
        seconds = statistics.median(runs)
        print(f"{name:<10} {title}, batch {args.batch_size}, {n_images} images: "
              f"{seconds:7.3f} s/epoch, {n_images / seconds:8.0f} images/s, test accuracy "
              f"{accuracy[name]:.4f} (median of {args.repeat}, range {min(runs):.3f}-"
              f"{max(runs):.3f} s)", flush=True)
    if torch is not None:
        ratio = statistics.median(a / b for a, b in zip(times["framework"], times["pytorch"]))
        print(f"ratio      framework/pytorch epoch time: {ratio:.2f}x (images/s "
              f"{1 / ratio:.2f}x; median of {args.repeat} same-repeat ratios)", flush=True)
        if "hybridized" in times:
            ratio = statistics.median(a / b for a, b in zip(times["hybridized"],
                                                            times["pytorch"]))
            print(f"ratio      hybridized/pytorch epoch time: {ratio:.2f}x (images/s "
                  f"{1 / ratio:.2f}x)", flush=True)
    if "hybridized" in times:
        ratio = statistics.median(a / b for a, b in zip(times["hybridized"],
                                                        times["framework"]))
        print(f"ratio      hybridized/framework epoch time: {ratio:.2f}x (median of "
              f"{args.repeat} same-repeat ratios; below 1: hybridize is faster)", flush=True)
