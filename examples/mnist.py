"""Train an MLP or a CNN on MNIST with the Gluon API and the Estimator's fit loop.

    python examples/mnist.py                       # the CNN: about 99.1% test accuracy in 3 epochs
    python examples/mnist.py --model mlp           # 784-256-256-10: about 98% in 10 epochs
    python examples/mnist.py --epochs 1 --limit 2000 --model mlp   # a quick smoke run
    python examples/mnist.py --ctx gpu             # on a CUDA GPU (needs CuPy)

Data: ``fw.data.vision.MNIST`` (read from --data, else $FRAMEWORK_DATA, else
~/.framework/datasets/mnist, downloaded there when missing and online) through
``fw.data.DataLoader``. The test accuracy is printed after every epoch and the
trained parameters are saved to --save (default mnist-<model>.params).
"""
import argparse
import time

import framework as fw
from framework import nn
from framework.contrib.estimator import EpochEnd, Estimator
from framework.data import DataLoader
from framework.data.vision import MNIST, transforms

DEFAULTS = {"mlp": {"epochs": 10, "lr": 0.1}, "cnn": {"epochs": 3, "lr": 0.1}}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=("mlp", "cnn"), default="cnn")
    parser.add_argument("--epochs", type=int, default=None,
                        help="passes over the training set (default: 3 for cnn, 10 for mlp)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=None, help="SGD learning rate (default 0.1)")
    parser.add_argument("--data", default=None, help="folder of the MNIST files")
    parser.add_argument("--ctx", default="cpu", help="cpu, gpu or gpu:N")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    parser.add_argument("--limit", type=int, default=None,
                        help="train on the first N training images only (smoke tests)")
    parser.add_argument("--test-limit", type=int, default=None,
                        help="evaluate on the first N test images only (smoke tests)")
    parser.add_argument("--save", default=None, help="where to save the trained parameters")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    for key, value in DEFAULTS[args.model].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.save = args.save or f"mnist-{args.model}.params"
    return args


def build_mlp() -> nn.HybridSequential:
    """784-256-256-10 with ReLU."""
    net = nn.HybridSequential()
    net.add(nn.Flatten(), nn.Dense(256, activation="relu"), nn.Dense(256, activation="relu"),
            nn.Dense(10))
    return net


def build_cnn() -> nn.HybridSequential:
    """LeNet with BatchNorm and Dropout: conv 20 5x5, BN, ReLU, pool 2, conv 50 5x5, BN,
    ReLU, pool 2, dense 500 ReLU, dropout 0.5, dense 10."""
    net = nn.HybridSequential()
    net.add(nn.Conv2D(20, kernel_size=5), nn.BatchNorm(), nn.Activation("relu"),
            nn.MaxPool2D(pool_size=2, strides=2),
            nn.Conv2D(50, kernel_size=5), nn.BatchNorm(), nn.Activation("relu"),
            nn.MaxPool2D(pool_size=2, strides=2),
            nn.Dense(500, activation="relu"), nn.Dropout(0.5), nn.Dense(10))
    return net


def make_context(name: str) -> fw.Context:
    kind, _, index = name.partition(":")
    if kind not in ("cpu", "gpu"):
        raise SystemExit(f"--ctx: expected cpu, gpu or gpu:N, got {name!r}")
    return fw.cpu() if kind == "cpu" else fw.gpu(int(index or 0))


def load_data(root, batch_size: int, limit=None, workers: int = 0, test_limit=None):
    """Train and test DataLoaders of (N, 1, 28, 28) float32 images in [0, 1] and labels."""
    to_tensor = transforms.ToTensor()
    train = MNIST(root, train=True).transform_first(to_tensor)
    test = MNIST(root, train=False).transform_first(to_tensor)
    if limit is not None:
        train = train.take(limit)
    if test_limit is not None:
        test = test.take(test_limit)
    print(f"{len(train)} training and {len(test)} test images", flush=True)
    return (DataLoader(train, batch_size, shuffle=True, num_workers=workers),
            DataLoader(test, 1000, num_workers=workers))


class TestAccuracyPrinter(EpochEnd):
    """Prints the validation (test) accuracy after each epoch."""

    def __init__(self, start: float) -> None:
        self.start = start

    def epoch_end(self, estimator, *args, **kwargs):
        name, value = estimator.val_metrics[0].get()
        print(f"epoch {estimator.current_epoch + 1}: test accuracy {value:.4f}, "
              f"time {time.perf_counter() - self.start:.1f} s", flush=True)
        return False


def main(argv=None) -> float:
    args = parse_args(argv)
    ctx = make_context(args.ctx)
    fw.random.seed(args.seed)
    print(f"{args.model} on {ctx}, {args.epochs} epochs", flush=True)
    train_data, test_data = load_data(args.data, args.batch_size, args.limit, args.workers,
                                      args.test_limit)
    net = build_cnn() if args.model == "cnn" else build_mlp()
    net.initialize(fw.init.Xavier(magnitude=2.24), ctx=ctx)
    trainer = fw.Trainer(net.collect_params(), "sgd",
                         {"learning_rate": args.lr, "momentum": 0.9, "wd": 1e-4})
    est = Estimator(net, loss=fw.loss.SoftmaxCrossEntropyLoss(),
                    train_metrics=[fw.metric.Accuracy(), fw.metric.Loss()],
                    trainer=trainer, context=ctx)
    est.fit(train_data, val_data=test_data, epochs=args.epochs,
            event_handlers=[TestAccuracyPrinter(time.perf_counter())])
    net.save_parameters(args.save)
    accuracy = est.val_metrics[0].get()[1]
    print(f"final test accuracy {accuracy:.4f}; parameters saved to {args.save}")
    return accuracy


if __name__ == "__main__":
    main()
