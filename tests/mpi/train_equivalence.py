"""Data-parallel training equals one process on the concatenated batches (2 processes).

    python -m framework.launch -n 2 tests/mpi/train_equivalence.py

Each rank starts from its own random weights (the Trainer gives every rank rank 0's at
the first step) and trains 10 steps on its half of each batch; rank 0 also trains a
single-process copy (rank 0's first weights) on the whole batches. Checked for
kvstore='dist_sync' (SGD with momentum and weight decay), with update_on_kvstore=True,
and for fw.distributed.DistributedTrainer (Adam): after 10 steps the weights are
bitwise identical on both ranks and equal to the single process's to float32 rounding.
Prints one 'PASS ...' line per case from rank 0; exits non-zero on a failure.
"""
import numpy

import framework as fw
from framework import distributed, nn

STEPS, LOCAL_BATCH = 10, 4


def build(seed: int, finish_init: bool = True) -> nn.HybridSequential:
    fw.random.seed(seed)
    net = nn.HybridSequential()
    net.add(nn.Conv2D(3, kernel_size=3, in_channels=1), nn.Activation("relu"), nn.Flatten(),
            nn.Dense(8, activation="tanh"), nn.Dense(5))    # the Dense sizes are deferred
    net.initialize(fw.init.Xavier())
    if finish_init:
        net(fw.nd.zeros((1, 1, 6, 6)))                        # finish the deferred init
    return net


def weights(net) -> list:
    return [p.data().asnumpy() for p in net.collect_params().values()]


def batches():
    """STEPS global batches of 2 * LOCAL_BATCH samples, the same on every rank."""
    rng = numpy.random.RandomState(7)
    for _ in range(STEPS):
        x = rng.uniform(-1, 1, (2 * LOCAL_BATCH, 1, 6, 6)).astype(numpy.float32)
        y = rng.randint(0, 5, 2 * LOCAL_BATCH).astype(numpy.float32)
        yield x, y


def train(net, trainer, rank: int, size: int) -> None:
    loss_fn = fw.loss.SoftmaxCrossEntropyLoss()
    for x, y in batches():
        n = len(x) // size
        xs, ys = fw.nd.array(x[rank * n:(rank + 1) * n]), fw.nd.array(y[rank * n:(rank + 1) * n])
        with fw.autograd.record():
            loss = loss_fn(net(xs), ys)
        loss.backward()
        trainer.step(n)


def check(case: str, make_trainer, optimizer: str, optimizer_params: dict,
          deferred: bool = False) -> None:
    """``deferred``: the Trainer is made before the first forward pass has initialized
    the Dense layers (they get rank 0's values right after their initialization)."""
    rank = distributed.rank()
    net = build(seed=100 + rank, finish_init=not deferred)   # each rank its own weights
    if deferred:
        trainer = make_trainer(net.collect_params(), optimizer, dict(optimizer_params))
        fw.random.seed(200 + rank)
        net(fw.nd.zeros((1, 1, 6, 6)))             # the deferred init, then rank 0's values
    first = weights(net)                           # rank 0's are the ones all will use
    if not deferred:
        trainer = make_trainer(net.collect_params(), optimizer, dict(optimizer_params))
    train(net, trainer, rank, distributed.size())
    mine = numpy.concatenate([w.ravel() for w in weights(net)])
    everyone = distributed.allgather(fw.nd.array(mine[None]), name=f"{case} weights").asnumpy()
    if not (everyone[0] == everyone[1]).all():
        raise AssertionError(f"{case}: the ranks' weights differ after {STEPS} steps (max "
                             f"|diff| {numpy.abs(everyone[0] - everyone[1]).max():.3g})")
    if rank == 0:
        single = build(seed=999)
        for p, w in zip(single.collect_params().values(), first):
            p.set_data(fw.nd.array(w))
        plain = fw.Trainer(single.collect_params(), optimizer, dict(optimizer_params))
        train(single, plain, 0, 1)                  # the whole batches in one process
        ref = numpy.concatenate([w.ravel() for w in weights(single)])
        moved = numpy.abs(ref - numpy.concatenate([w.ravel() for w in first])).max()
        diff = numpy.abs(mine - ref)
        numpy.testing.assert_allclose(mine, ref, rtol=1e-5, atol=1e-6,
                                      err_msg=f"{case}: 2 ranks vs 1 process")
        print(f"PASS {case}: identical on both ranks; vs one process max |diff| "
              f"{diff.max():.2e} (weights moved by up to {moved:.2e})", flush=True)


def dist_sync(params, optimizer, optimizer_params):
    return fw.Trainer(params, optimizer, optimizer_params, kvstore="dist_sync")


def dist_sync_on_kvstore(params, optimizer, optimizer_params):
    return fw.Trainer(params, optimizer, optimizer_params, kvstore="dist_sync",
                      update_on_kvstore=True)


def main() -> None:
    distributed.init()
    assert distributed.size() == 2, "run on 2 processes"
    sgd = {"learning_rate": 0.2, "momentum": 0.9, "wd": 1e-3}
    check("dist_sync sgd", dist_sync, "sgd", sgd)
    check("dist_sync update_on_kvstore", dist_sync_on_kvstore, "sgd", sgd)
    check("DistributedTrainer adam", distributed.DistributedTrainer, "adam",
          {"learning_rate": 0.01})
    check("dist_sync deferred init", dist_sync, "sgd", sgd, deferred=True)


if __name__ == "__main__":
    main()
