"""DataLoader throughput: worker processes against the main process, and MNIST against LeNet.

Three measurements, one result line each:

1. speedup: a dataset whose per-sample transform costs about 1 ms of CPU in NumPy
   arithmetic (elementwise, calibrated at start with CPU time; no sleep), batch 32, one epoch with
   ``num_workers=2`` against ``num_workers=0`` (the workers already started; their
   start-up is printed apart). Two references run in the same repeats, in turn: two
   plain forked processes reading half the samples each (no loader: the most the
   machine's two cores give at that moment, which a busy machine lowers), and PyTorch's
   DataLoader on the same dataset. Also printed: the CPU seconds of an epoch in one
   process, and in the main process plus the workers (what the workers add).
2. MNIST: batches of 128 per second through ``DataLoader(ArrayDataset(images, labels)
   .transform_first(to_float), shuffle=True)`` with 0 and 2 workers, against LeNet
   training steps per second (fw.nn, SGD, batch 128; as ``lenet_mnist.py``).
3. LeNet fed by the loader: seconds per training step with batches from the loader
   (2 workers, shuffled) against the same steps on batches made beforehand.

    python benchmarks/dataloader.py                  # all three
    python benchmarks/dataloader.py --samples 200 --repeat 1 --steps 3 --batches 20  # a quick check
"""
import argparse
import importlib.util
import os
import pathlib
import statistics
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "mnist"

import framework as fw  # noqa: E402
from framework.data import ArrayDataset, DataLoader, Dataset  # noqa: E402


class CostlyDataset(Dataset):
    """Sample i: a (28, 28) float32 image after ``rounds`` rounds of elementwise NumPy work."""

    def __init__(self, n: int, rounds: int) -> None:
        self.images = np.random.RandomState(0).rand(n, 28, 28).astype(np.float32)
        self.rounds = rounds

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i):
        x = self.images[i].astype(np.float64)
        big = np.tile(x, (4, 4))                 # 112 x 112
        for _ in range(self.rounds):
            big = np.tanh(big * 1.001 + 0.01)
        return big[:28, :28].astype(np.float32), np.int64(i % 10)


class TorchView:
    """The same dataset for torch's DataLoader (NumPy samples; torch collates them)."""

    def __init__(self, dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i):
        return self.dataset[i]


def to_float(image):
    """uint8 (28, 28) -> float32 (1, 28, 28) in [0, 1]."""
    return (image.astype(np.float32) * (1 / 255)).reshape(1, 28, 28)


def per_sample(dataset, count: int = 100) -> float:
    """CPU seconds to read one sample of ``dataset`` (the median of five runs of ``count``;
    CPU time, not wall time, which other jobs on the machine would inflate)."""
    dataset[0]
    count = min(count, len(dataset))
    runs = []
    for _ in range(5):
        start = time.process_time()
        for i in range(count):
            dataset[i]
        runs.append((time.process_time() - start) / count)
    return statistics.median(runs)


def calibrate(count: int, target_s: float = 1e-3) -> int:
    """Rounds of CostlyDataset's loop that take about ``target_s`` of CPU per sample here."""
    rounds = 10
    for _ in range(4):
        took = per_sample(CostlyDataset(count, rounds))
        rounds = max(1, round(rounds * target_s / took))
    return rounds


def time_epoch(loader) -> float:
    start = time.perf_counter()
    for batch in loader:
        pass
    return time.perf_counter() - start


def _read_samples(dataset, start: int, stop: int) -> None:
    for i in range(start, stop):
        dataset[i]


def time_two_processes(dataset) -> float:
    """Seconds for two plain forked processes to read half the samples each (no loader):
    what the machine's two cores allow at best, measured in the same run."""
    import multiprocessing
    context = multiprocessing.get_context("fork")
    half = len(dataset) // 2
    start = time.perf_counter()
    processes = [context.Process(target=_read_samples, args=(dataset, a, b))
                 for a, b in ((0, half), (half, len(dataset)))]
    for p in processes:
        p.start()
    for p in processes:
        p.join()
    return time.perf_counter() - start


def cpu_seconds(pids) -> float:
    """User + system CPU seconds used so far by the processes ``pids`` (Linux /proc)."""
    total = 0.0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def cpu_of_epochs(loaders, repeat: int):
    """CPU seconds per epoch: (in-process, main with 2 workers, the 2 workers), from /proc."""
    pids = [p.pid for p in loaders["framework", 2]._pool.processes]
    spent = {}
    for n in (0, 2):
        main, workers = time.process_time(), cpu_seconds(pids)
        for _ in range(repeat):
            time_epoch(loaders["framework", n])
        spent[n] = ((time.process_time() - main) / repeat,
                    (cpu_seconds(pids) - workers) / repeat)
    return spent[0][0], spent[2][0], spent[2][1]


def measure_speedup(args) -> None:
    rounds = calibrate(min(100, args.samples))
    dataset = CostlyDataset(args.samples, rounds)
    loaders = {("framework", n): DataLoader(dataset, batch_size=32, num_workers=n)
               for n in (0, 2)}
    start = time.perf_counter()
    next(iter(loaders["framework", 2]))      # start the workers (kept for the next epochs)
    startup = time.perf_counter() - start
    torch = _torch(args)
    if torch is not None:
        view = TorchView(dataset)
        for n in (0, 2):
            loaders["pytorch", n] = torch.utils.data.DataLoader(
                view, batch_size=32, num_workers=n, persistent_workers=n > 0)
        next(iter(loaders["pytorch", 2]))
    fork = sys.platform.startswith("linux")
    runs = list(loaders) + (["two processes"] if fork else [])
    times = {key: [] for key in runs}
    for r in range(args.repeat):             # in turn, the order alternating: a load change
        for key in (runs if r % 2 == 0 else runs[::-1]):     # on the machine hits all alike
            times[key].append(time_two_processes(dataset) if key == "two processes"
                              else time_epoch(loaders[key]))
    t = {key: statistics.median(runs) for key, runs in times.items()}
    t0, t2 = t["framework", 0], t["framework", 2]
    cpu = cpu_of_epochs(loaders, 1) if os.path.isdir("/proc/self") else None
    sample_ms = (f"{cpu[0] / args.samples * 1e3:.2f} ms CPU each" if cpu
                 else f"{per_sample(dataset) * 1e3:.2f} ms CPU each (calibrated)")
    line = (f"speedup    num_workers=2 vs 0, {args.samples} samples of {sample_ms}, batch 32: "
            f"{t0:.2f} s -> {t2:.2f} s per epoch, {t0 / t2:.2f}x "
            f"(median of {args.repeat}; worker start-up {startup * 1e3:.0f} ms, once per loader; "
            f"load average {_load()})")
    if fork:
        ideal = t["two processes"]
        line += (f"; two plain processes reading half the samples each (no loader, the most "
                 f"two cores give now): {ideal:.2f} s, {t0 / ideal:.2f}x, so the loader "
                 f"reaches {ideal / t2:.0%} of it")
    if cpu:
        line += (f"; CPU per epoch: {cpu[0]:.2f} s in-process, {cpu[1]:.2f} s main + "
                 f"{cpu[2]:.2f} s workers with 2 (the work the two cores share)")
    if torch is not None:
        p0, p2 = t["pytorch", 0], t["pytorch", 2]
        line += (f"; pytorch {p0:.2f} s -> {p2:.2f} s, {p0 / p2:.2f}x; framework/pytorch "
                 f"epoch time with 2 workers {t2 / p2:.2f}x")
    print(line, flush=True)
    del loaders


def _load() -> str:
    """The 1-minute load average and the core count: other work on the machine shows here."""
    try:
        return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    except (AttributeError, OSError):
        return "unknown"


def _torch(args):
    if args.no_torch:
        return None
    try:
        import torch
        import torch.utils.data  # noqa: F401
    except ImportError:
        return None
    return torch


def _lenet():
    spec = importlib.util.spec_from_file_location("lenet_mnist", HERE / "lenet_mnist.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build


def _train_step(net, trainer, loss_fn):
    def step(x, y):
        with fw.autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(x.shape[0])
        return loss
    return step


def measure_mnist(args) -> None:
    from framework.data.vision import load_mnist
    images, labels = load_mnist(args.data, train=True, download=False)
    dataset = ArrayDataset(images, labels.astype(np.float32)).transform_first(to_float)
    rates = {}
    for n in (0, 2):
        fw.random.seed(0)
        loader = DataLoader(dataset, batch_size=128, shuffle=True, num_workers=n)
        iter(loader).__next__()
        count, start = 0, time.perf_counter()
        for _ in loader:
            count += 1
            if count == args.batches:
                break
        rates[n] = count / (time.perf_counter() - start)
        del loader
    fw.random.seed(0)
    net = _lenet()(fw)
    net.initialize(fw.init.Xavier())
    trainer = fw.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    step = _train_step(net, trainer, fw.loss.SoftmaxCrossEntropyLoss())
    x = fw.nd.array(np.stack([to_float(im) for im in images[:128]]))
    y = fw.nd.array(labels[:128], dtype="float32")
    step(x, y)
    start = time.perf_counter()
    for _ in range(args.steps):
        loss = step(x, y)
    loss.wait_to_read()
    step_rate = args.steps / (time.perf_counter() - start)
    print(f"mnist      batches of 128 per second through the DataLoader: {rates[0]:.0f} "
          f"(num_workers=0), {rates[2]:.0f} (num_workers=2); LeNet training: {step_rate:.1f} "
          f"steps/s, so the loader alone is {rates[0] / step_rate:.0f}x / "
          f"{rates[2] / step_rate:.0f}x faster than training needs", flush=True)

    fw.random.seed(0)
    loader = DataLoader(dataset, batch_size=128, shuffle=True, num_workers=2)
    made = []
    for i, (bx, by) in enumerate(loader):
        if i == args.steps:
            break
        made.append((bx, by))
    fed, ready = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        for i, (bx, by) in enumerate(loader):
            if i == args.steps:
                break
            loss = step(bx, by)
        loss.wait_to_read()
        fed.append((time.perf_counter() - start) / args.steps)
        start = time.perf_counter()
        for bx, by in made:
            loss = step(bx, by)
        loss.wait_to_read()
        ready.append((time.perf_counter() - start) / args.steps)
    with_loader, premade = statistics.median(fed), statistics.median(ready)
    print(f"lenet      training step with batches from DataLoader(num_workers=2): "
          f"{with_loader * 1e3:.1f} ms, with batches made beforehand: {premade * 1e3:.1f} ms "
          f"({with_loader / premade:.2f}x; {args.steps} steps, median of {args.repeat})",
          flush=True)
    del loader


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000, help="samples of the 1 ms dataset")
    parser.add_argument("--repeat", type=int, default=3, help="timed epochs or runs per setting")
    parser.add_argument("--steps", type=int, default=30, help="LeNet steps timed")
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="folder of the MNIST files")
    parser.add_argument("--batches", type=int, default=None,
                        help="MNIST batches timed through the loader (default: one epoch)")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch peer")
    parser.add_argument("--no-mnist", action="store_true", help="only the speedup line")
    args = parser.parse_args(argv)
    measure_speedup(args)
    if not args.no_mnist:
        measure_mnist(args)


if __name__ == "__main__":
    main()
