"""One epoch of MNIST with LeNet, framework against PyTorch eager.

LeNet: Conv2D(20, 5x5) ReLU, MaxPool 2, Conv2D(50, 5x5) ReLU, MaxPool 2,
Dense(500) ReLU, Dense(10). SoftmaxCrossEntropyLoss, SGD learning rate 0.1,
batch 128, real MNIST from ``../shared/data/mnist``; see ``mnist_epoch.py``.

    python benchmarks/lenet_mnist.py                 # 5 epochs per library, in turn
    python benchmarks/lenet_mnist.py --threads 1     # one BLAS/PyTorch thread
    python benchmarks/lenet_mnist.py --batches 10 --repeat 1   # a quick check
"""
import mnist_epoch   # benchmarks/mnist_epoch.py: this script's folder is on sys.path


def build(lib):
    """LeNet in ``lib`` (framework or torch), parameters in the same order and shapes."""
    if lib.__name__ == "torch":
        nn = lib.nn
        return nn.Sequential(nn.Conv2d(1, 20, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
                             nn.Conv2d(20, 50, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
                             nn.Flatten(), nn.Linear(800, 500), nn.ReLU(), nn.Linear(500, 10))
    nn = lib.nn
    net = nn.HybridSequential()
    net.add(nn.Conv2D(20, kernel_size=5, activation="relu", in_channels=1),
            nn.MaxPool2D(pool_size=2, strides=2),
            nn.Conv2D(50, kernel_size=5, activation="relu", in_channels=20),
            nn.MaxPool2D(pool_size=2, strides=2),
            nn.Dense(500, activation="relu", in_units=800),
            nn.Dense(10, in_units=500))
    return net


if __name__ == "__main__":
    mnist_epoch.main("LeNet", build, (1, 28, 28), __doc__)
