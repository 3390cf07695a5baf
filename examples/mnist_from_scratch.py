"""A two-layer network on MNIST, written with ``fw.nd`` and ``fw.autograd`` alone.

No layers, losses or optimizers: the weights are NDArrays with ``attach_grad``,
the loss is cross-entropy through ``log_softmax`` and ``pick``, and a
hand-written SGD step updates the weights in place outside ``record()``.

    python examples/mnist_from_scratch.py                     # about 97.5% test accuracy, ~1 s per epoch on 2 cores
    python examples/mnist_from_scratch.py --epochs 1 --limit 2000   # a quick smoke run
    python examples/mnist_from_scratch.py --ctx gpu           # on a CUDA GPU (needs CuPy)

The MNIST files are read from --data, else $FRAMEWORK_DATA, else
~/.framework/datasets/mnist (downloaded there when missing and online).
"""
import argparse
import math
import time

import numpy as np
from tqdm import tqdm

import framework as fw
from framework import autograd, nd
from framework.data.vision import load_mnist


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5, help="passes over the training set")
    parser.add_argument("--batch-size", type=int, default=64, help="images per SGD step")
    parser.add_argument("--lr", type=float, default=0.3, help="SGD learning rate")
    parser.add_argument("--hidden", type=int, default=256, help="units in the hidden layer")
    parser.add_argument("--data", default=None,
                        help="directory of the MNIST files (default: $FRAMEWORK_DATA, "
                             "else ~/.framework/datasets/mnist)")
    parser.add_argument("--ctx", default="cpu", help="cpu, gpu or gpu:N")
    parser.add_argument("--limit", type=int, default=None,
                        help="train on the first N training images only (smoke tests)")
    parser.add_argument("--seed", type=int, default=42, help="random seed")
    return parser.parse_args(argv)


def make_context(name: str) -> fw.Context:
    kind, _, index = name.partition(":")
    if kind not in ("cpu", "gpu"):
        raise SystemExit(f"--ctx: expected cpu, gpu or gpu:N, got {name!r}")
    return fw.cpu() if kind == "cpu" else fw.gpu(int(index or 0))


def init_params(hidden: int, ctx: fw.Context):
    """He-initialised weights for 784 -> hidden (ReLU) -> 10, zero biases.

    The weights are drawn on the cpu and copied to ``ctx``, so that a seed gives
    the same start on every device.
    """
    params = [
        nd.random.normal(0, math.sqrt(2.0 / 784), shape=(784, hidden), ctx=fw.cpu()),
        nd.zeros((hidden,)),
        nd.random.normal(0, math.sqrt(1.0 / hidden), shape=(hidden, 10), ctx=fw.cpu()),
        nd.zeros((10,)),
    ]
    params = [p.as_in_context(ctx) for p in params]
    for p in params:
        p.attach_grad()
    return params


def net(x, params):
    """Logits of shape (batch, 10) for images ``x`` of shape (batch, 784)."""
    w1, b1, w2, b2 = params
    hidden = nd.relu(nd.dot(x, w1) + b1)
    return nd.dot(hidden, w2) + b2


def cross_entropy(logits, labels):
    """Mean over the batch of -log softmax(logits)[label]."""
    return -nd.pick(nd.log_softmax(logits, axis=-1), labels, axis=-1).mean()


def sgd_step(params, lr: float) -> None:
    """w <- w - lr * dL/dw, in place (outside record(), so not recorded)."""
    for p in params:
        p -= lr * p.grad


def batch(images, labels, index, ctx):
    """Images scaled to [0, 1] as float32 (batch, 784) and float32 labels, on ``ctx``."""
    x = nd.array(images[index].reshape(len(index), 784), ctx=ctx) / 255.0
    y = nd.array(labels[index], ctx=ctx)
    return x, y


def evaluate(params, images, labels, ctx, batch_size: int = 1000) -> float:
    """Fraction of ``images`` whose highest logit is the right label."""
    correct = 0.0
    for start in range(0, len(images), batch_size):
        index = np.arange(start, min(start + batch_size, len(images)))
        x, y = batch(images, labels, index, ctx)
        predicted = nd.argmax(net(x, params), axis=1)
        correct += (predicted == y).sum().asscalar()
    return correct / len(images)


def main(argv=None) -> None:
    args = parse_args(argv)
    ctx = make_context(args.ctx)
    fw.random.seed(args.seed)
    rng = np.random.RandomState(args.seed)

    try:
        train_x, train_y = load_mnist(args.data, train=True)
        test_x, test_y = load_mnist(args.data, train=False)
    except FileNotFoundError as err:
        raise SystemExit(f"error: {err}") from None
    if args.limit is not None:
        train_x, train_y = train_x[:args.limit], train_y[:args.limit]
    print(f"MNIST: {len(train_x)} training and {len(test_x)} test images; "
          f"784-{args.hidden}-10 network on {ctx}, batch {args.batch_size}, lr {args.lr}")

    params = init_params(args.hidden, ctx)
    n_batches = math.ceil(len(train_x) / args.batch_size)
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        order = rng.permutation(len(train_x))
        total_loss = nd.zeros((1,), ctx=ctx)
        bar = tqdm(range(n_batches), desc=f"epoch {epoch}/{args.epochs}", unit="batch",
                   leave=False)
        for i in bar:
            x, y = batch(train_x, train_y, order[i * args.batch_size:(i + 1) * args.batch_size],
                         ctx)
            with autograd.record():
                loss = cross_entropy(net(x, params), y)
            loss.backward()
            sgd_step(params, args.lr)
            total_loss += loss
            if i % 100 == 99:
                bar.set_postfix(loss=f"{total_loss.asscalar() / (i + 1):.4f}")
        bar.close()
        nd.waitall()
        train_time = time.perf_counter() - start
        accuracy = evaluate(params, test_x, test_y, ctx)
        elapsed = time.perf_counter() - start
        print(f"epoch {epoch}: loss {total_loss.asscalar() / n_batches:.4f}, "
              f"test accuracy {accuracy:.4f}, time {elapsed:.2f} s "
              f"(training {train_time:.2f} s)", flush=True)


if __name__ == "__main__":
    main()
