"""One epoch of MNIST with a 784-256-256-10 ReLU MLP, framework against PyTorch eager.

SoftmaxCrossEntropyLoss, SGD learning rate 0.1, batch 128, real MNIST from
``../shared/data/mnist``; see ``mnist_epoch.py`` for what is timed.

    python benchmarks/mlp_mnist.py                 # 5 epochs per library, in turn
    python benchmarks/mlp_mnist.py --threads 1     # one BLAS/PyTorch thread
    python benchmarks/mlp_mnist.py --batches 20 --repeat 1   # a quick check
"""
import mnist_epoch   # benchmarks/mnist_epoch.py: this script's folder is on sys.path


def build(lib):
    """The MLP in ``lib`` (framework or torch), parameters in the same order and shapes."""
    if lib.__name__ == "torch":
        nn = lib.nn
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                             nn.Linear(256, 10))
    nn = lib.nn
    net = nn.HybridSequential()
    net.add(nn.Dense(256, activation="relu", in_units=784),
            nn.Dense(256, activation="relu", in_units=256),
            nn.Dense(10, in_units=256))
    return net


if __name__ == "__main__":
    mnist_epoch.main("MLP 784-256-256-10", build, (784,), __doc__)
