"""Adversarial examples on MNIST: the fast gradient sign method (FGSM) and its iterated form (PGD).

    python examples/adversarial_fgsm.py --params mnist-cnn.params   # attack a CNN from examples/mnist.py
    python examples/adversarial_fgsm.py                              # trains the CNN first (1 epoch)
    python examples/adversarial_fgsm.py --limit 500 --train-limit 2000 --png fgsm.png   # quick

The CNN (LeNet with BatchNorm and Dropout, ``build_cnn`` of examples/mnist.py)
is attacked in predict mode: the input gradient is taken under
``autograd.record(train_mode=False)`` and ``loss.backward(train_mode=False)``,
so Dropout is off, BatchNorm uses its running statistics (and does not move
them), and the gradient is deterministic. FGSM moves every pixel by epsilon in
the direction of the gradient's sign; PGD takes several smaller such steps,
each projected back into the epsilon box around the image. Printed: clean
accuracy and accuracy under each attack for several epsilons. Written: a PNG
grid of original and adversarial digits with their predictions (needs
matplotlib: ``pip install 'framework[plot]'``).
"""
import argparse
import pathlib
import sys
import time

import numpy as np

import framework as fw
from framework import autograd, nd

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import mnist as mnist_example  # noqa: E402  (examples/mnist.py: build_cnn, load_data)

EPSILONS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", default=None,
                        help="parameters of the CNN saved by examples/mnist.py (else train one)")
    parser.add_argument("--save", default="fgsm-cnn.params",
                        help="where to save the CNN trained when no --params is given")
    parser.add_argument("--data", default=None, help="folder of the MNIST files")
    parser.add_argument("--epochs", type=int, default=1, help="training epochs when no --params")
    parser.add_argument("--train-limit", type=int, default=None,
                        help="train on the first N images only (when no --params)")
    parser.add_argument("--limit", type=int, default=None, help="attack the first N test images")
    parser.add_argument("--epsilons", type=float, nargs="+", default=list(EPSILONS))
    parser.add_argument("--pgd-steps", type=int, default=10)
    parser.add_argument("--png", default="fgsm.png", help="the image grid to write ('' for none)")
    parser.add_argument("--ctx", default="cpu", help="cpu, gpu or gpu:N")
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args(argv)


def input_gradient(net, loss_fn, x: nd.NDArray, y: nd.NDArray) -> nd.NDArray:
    """d loss / d x in predict mode (Dropout off, BatchNorm on running statistics)."""
    x = x.copy()
    x.attach_grad()
    with autograd.record(train_mode=False):
        loss = loss_fn(net(x), y)
    loss.backward(train_mode=False)
    return x.grad


def fgsm(net, loss_fn, x, y, epsilon: float) -> nd.NDArray:
    """One step of size epsilon along the gradient's sign, kept in the pixel range [0, 1]."""
    return nd.clip(x + epsilon * input_gradient(net, loss_fn, x, y).sign(), 0, 1)


def pgd(net, loss_fn, x, y, epsilon: float, steps: int) -> nd.NDArray:
    """``steps`` FGSM steps of 2.5 * epsilon / steps, each projected into the epsilon box."""
    alpha = 2.5 * epsilon / steps
    adv = x
    for _ in range(steps):
        adv = adv + alpha * input_gradient(net, loss_fn, adv, y).sign()
        adv = nd.clip(nd.minimum(nd.maximum(adv, x - epsilon), x + epsilon), 0, 1)
    return adv


def predictions(net, x: nd.NDArray) -> np.ndarray:
    return net(x).argmax(axis=1).asnumpy().astype(np.int64)


def attack_table(net, batches, epsilons, pgd_steps: int):
    """{epsilon: (FGSM accuracy, PGD accuracy)} over ``batches`` of (x, y)."""
    loss_fn = fw.loss.SoftmaxCrossEntropyLoss()
    table = {}
    for eps in epsilons:
        hit_fgsm = hit_pgd = total = 0
        for x, y in batches:
            labels = y.asnumpy().astype(np.int64)
            hit_fgsm += int((predictions(net, fgsm(net, loss_fn, x, y, eps)) == labels).sum())
            if eps > 0 and pgd_steps > 0:
                adv = pgd(net, loss_fn, x, y, eps, pgd_steps)
                hit_pgd += int((predictions(net, adv) == labels).sum())
            total += len(labels)
        table[eps] = (hit_fgsm / total, hit_pgd / total if eps > 0 and pgd_steps > 0 else None)
    return table


def write_grid(path: str, net, x: nd.NDArray, y: nd.NDArray, epsilon: float, n: int = 8) -> None:
    """Row 1: originals with predictions; row 2: their FGSM versions at ``epsilon``."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit("writing the PNG needs matplotlib: pip install 'framework[plot]' "
                         "(or pass --png '' to skip it)") from None
    x, y = x[:n], y[:n]
    adv = fgsm(net, fw.loss.SoftmaxCrossEntropyLoss(), x, y, epsilon)
    rows = [("original", x, predictions(net, x)), (f"FGSM eps={epsilon}", adv,
                                                   predictions(net, adv))]
    fig, axes = plt.subplots(2, n, figsize=(1.4 * n, 3.4))
    for r, (title, images, preds) in enumerate(rows):
        pixels = images.asnumpy()
        for c in range(n):
            ax = axes[r][c]
            ax.imshow(pixels[c, 0], cmap="gray", vmin=0, vmax=1)
            ax.set_title(f"pred {preds[c]}", fontsize=9,
                         color="black" if preds[c] == int(y[c].asscalar()) else "red")
            ax.axis("off")
        axes[r][0].text(-4, 14, title, rotation=90, va="center", ha="right", fontsize=9)
    fig.tight_layout()
    from framework._fileio import atomic_write
    with atomic_write(path) as f:
        fig.savefig(f, format="png", dpi=80)
    plt.close(fig)


def get_net(args, ctx):
    net = mnist_example.build_cnn()
    if args.params:
        net.load_parameters(args.params, ctx=ctx)
        print(f"loaded {args.params}")
        return net
    print(f"training the CNN for {args.epochs} epoch(s) (pass --params to attack a saved one)")
    mnist_example.main(["--model", "cnn", "--epochs", str(args.epochs), "--ctx", args.ctx,
                        "--seed", str(args.seed), "--save", args.save]
                       + (["--data", args.data] if args.data else [])
                       + (["--limit", str(args.train_limit)] if args.train_limit else [])
                       + (["--test-limit", str(args.limit)] if args.limit else []))
    net.load_parameters(args.save, ctx=ctx)
    return net


def main(argv=None):
    args = parse_args(argv)
    ctx = mnist_example.make_context(args.ctx)
    fw.random.seed(args.seed)
    net = get_net(args, ctx)
    test = fw.data.vision.MNIST(args.data, train=False).transform_first(
        fw.data.vision.transforms.ToTensor())
    if args.limit:
        test = test.take(args.limit)
    batches = [(x.as_in_context(ctx), y.as_in_context(ctx))
               for x, y in fw.data.DataLoader(test, batch_size=500)]
    start = time.perf_counter()
    table = attack_table(net, batches, args.epsilons, args.pgd_steps)
    print(f"\nattacks on {len(test)} test images ({time.perf_counter() - start:.1f} s); "
          f"PGD: {args.pgd_steps} steps of 2.5*eps/{args.pgd_steps}")
    print(f"{'epsilon':>8} | {'FGSM accuracy':>13} | {'PGD accuracy':>12}")
    for eps, (acc_fgsm, acc_pgd) in table.items():
        pgd_text = "-" if acc_pgd is None else f"{acc_pgd:.4f}"
        print(f"{eps:>8.3f} | {acc_fgsm:>13.4f} | {pgd_text:>12}")
    if args.png:
        write_grid(args.png, net, *batches[0], epsilon=max(args.epsilons))
        print(f"wrote {args.png}")
    return table


if __name__ == "__main__":
    main()
