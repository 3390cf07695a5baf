"""The collectives, the kvstore API, mismatch errors and sharding across 2 processes.

    python -m framework.launch -n 2 tests/mpi/collectives.py

Each check prints 'PASS <name>' from rank 0 (tests/test_distributed.py looks for every
name); a failed check raises, which stops both ranks with a non-zero exit status.
"""
import os
import sys

import numpy

import framework as fw
from framework import distributed, kvstore, nn
from framework.data import ArrayDataset, DataLoader
from framework.data.sampler import SplitSampler
from framework.kvstore import _mpi_engine

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from strict_backend import StrictArray, strict  # noqa: E402  (tests/strict_backend.py: the fake GPU)

RANK = SIZE = None


def passed(name: str) -> None:
    distributed.barrier()
    if RANK == 0:
        print(f"PASS {name}", flush=True)


def expect_error(kind, fn, *needles) -> str:
    try:
        fn()
    except kind as err:
        message = str(err)
        for needle in needles:
            assert needle in message, f"{needle!r} not in: {message}"
        return message
    raise AssertionError(f"{fn} did not raise {kind.__name__}")


def same_everywhere(arr: numpy.ndarray, name: str) -> numpy.ndarray:
    everyone = distributed.allgather(fw.nd.array(arr.reshape(1, -1)), name=name).asnumpy()
    assert (everyone == everyone[0]).all(), f"{name}: the ranks differ: {everyone}"
    return everyone[0]


def check_world() -> None:
    assert distributed.is_initialized()
    assert (distributed.rank(), distributed.size()) == (RANK, SIZE)
    assert distributed.launched_rank() == RANK and distributed.launched_size() == SIZE
    assert distributed.local_size() == SIZE and distributed.local_rank() == RANK  # one host
    passed("world: rank, size, local_rank, local_size")


def check_broadcast_parameters() -> None:
    fw.random.seed(10 + RANK)                      # every rank its own random weights
    net = nn.HybridSequential()
    net.add(nn.Dense(4, in_units=3), nn.Dense(2))    # the second is deferred
    net.initialize()
    mine = net[0].weight.data().asnumpy().copy()
    distributed.broadcast_parameters(net.collect_params(), root_rank=0)
    net(fw.nd.ones((1, 3)))                          # the deferred one: broadcast on init
    flat = numpy.concatenate([p.data().asnumpy().ravel()
                              for p in net.collect_params().values()])
    same_everywhere(flat, "broadcast_parameters")
    rank0 = distributed.broadcast(fw.nd.array(mine), root_rank=0).asnumpy()
    numpy.testing.assert_array_equal(net[0].weight.data().asnumpy(), rank0)
    passed("broadcast_parameters: differently initialised ranks agree (deferred too)")


def check_allreduce() -> None:
    x = fw.nd.array([RANK + 1.0, 10.0 * (RANK + 1)])
    numpy.testing.assert_allclose(distributed.allreduce(x).asnumpy(), [1.5, 15.0])
    numpy.testing.assert_allclose(distributed.allreduce(x, average=False).asnumpy(), [3, 30])
    numpy.testing.assert_allclose(distributed.allreduce(x, op=distributed.Min).asnumpy(), [1, 10])
    numpy.testing.assert_allclose(distributed.allreduce(x, op=distributed.Max).asnumpy(), [2, 20])
    numpy.testing.assert_allclose(x.asnumpy(), [RANK + 1.0, 10.0 * (RANK + 1)])  # unchanged
    y = x.copy()
    assert distributed.allreduce_(y, op=distributed.Sum, prescale_factor=2.0,
                                  postscale_factor=0.5, name="scaled") is y
    numpy.testing.assert_allclose(y.asnumpy(), [3, 30])
    many = [fw.nd.full((i + 1,), RANK + i) for i in range(20)]   # one flat buffer
    distributed.grouped_allreduce_(many, op=distributed.Sum)
    for i, arr in enumerate(many):
        numpy.testing.assert_allclose(arr.asnumpy(), numpy.full(i + 1, 2 * i + 1))
    pieces, _mpi_engine.PIECE_BYTES = _mpi_engine.PIECE_BYTES, 100   # 25 float32 per call
    try:
        big = fw.nd.array(numpy.arange(17 * 59, dtype=numpy.float32).reshape(17, 59) + RANK)
        distributed.allreduce_(big, op=distributed.Sum, name="in pieces")
        parts = [fw.nd.full((i * 7 + 3,), RANK + i) for i in range(6)]       # a flat bucket
        distributed.grouped_allreduce_(parts, op=distributed.Max)
    finally:
        _mpi_engine.PIECE_BYTES = pieces
    numpy.testing.assert_array_equal(
        big.asnumpy(), 2 * numpy.arange(17 * 59, dtype=numpy.float32).reshape(17, 59) + 1)
    for i, arr in enumerate(parts):
        numpy.testing.assert_array_equal(arr.asnumpy(), numpy.full(i * 7 + 3, i + 1))
    expect_error(ValueError, lambda: distributed.allreduce(x, op="mean"), "op must be one of")
    half = distributed.allreduce(fw.nd.array([1.0, 2.0], dtype="float16"), op=distributed.Sum)
    assert half.dtype == numpy.float16 and half.asnumpy().tolist() == [2, 4]
    expect_error(TypeError, lambda: distributed.allreduce(fw.nd.array([1, 0], dtype="bool")),
                 "cannot reduce arrays of dtype bool")
    passed("allreduce / allreduce_ / grouped_allreduce_: average, sum, min, max, scaling, "
           "large buffers in pieces")


def check_broadcast_allgather() -> None:
    x = fw.nd.array(numpy.full((2, 3), float(RANK)))
    numpy.testing.assert_array_equal(distributed.broadcast(x, root_rank=1).asnumpy(),
                                     numpy.ones((2, 3)))
    distributed.broadcast_(x, root_rank=0)
    numpy.testing.assert_array_equal(x.asnumpy(), numpy.zeros((2, 3)))
    rows = fw.nd.array(numpy.full((RANK + 1, 2), RANK + 5.0))   # different first dims
    numpy.testing.assert_array_equal(distributed.allgather(rows).asnumpy(),
                                     [[5, 5], [6, 6], [6, 6]])
    assert distributed.allgather_object({"rank": RANK}) == [{"rank": 0}, {"rank": 1}]
    passed("broadcast / broadcast_ / allgather / allgather_object")


def check_kvstore() -> None:
    kv = kvstore.create("dist_sync")
    assert (kv.rank, kv.num_workers, kv.type) == (RANK, SIZE, "dist_sync")
    kv.init("w", fw.nd.full((2, 2), RANK + 3.0))           # rank 0's value is stored
    out = [fw.nd.zeros((2, 2), ctx=fw.cpu(0)), fw.nd.zeros((2, 2), ctx=fw.cpu(1))]
    kv.pull("w", out=out)
    for o in out:
        numpy.testing.assert_array_equal(o.asnumpy(), numpy.full((2, 2), 3.0))
    copies = [fw.nd.full((2, 2), 1.0, ctx=fw.cpu(0)), fw.nd.full((2, 2), RANK, ctx=fw.cpu(1))]
    kv.push("w", copies)                    # sum over the devices, then over the ranks
    kv.pull("w", out=out)
    numpy.testing.assert_array_equal(out[1].asnumpy(), numpy.full((2, 2), 3.0))  # 1+0 + 1+1
    numpy.testing.assert_array_equal(copies[1].asnumpy(), numpy.full((2, 2), RANK))  # kept
    g = fw.nd.array([RANK + 1.0, 2.0])
    result = fw.nd.zeros(2)
    kv.pushpull("g", g, out=result)
    numpy.testing.assert_array_equal(result.asnumpy(), [3, 4])
    numpy.testing.assert_array_equal(g.asnumpy(), [RANK + 1.0, 2.0])   # the input is kept
    kv.pushpull("g", g)
    numpy.testing.assert_array_equal(g.asnumpy(), [3, 4])              # in place
    b = fw.nd.zeros(3)
    kv.broadcast("b", fw.nd.full((3,), RANK + 7.0), out=b)
    numpy.testing.assert_array_equal(b.asnumpy(), [7, 7, 7])
    kv.barrier()
    expect_error(KeyError, lambda: kv.pull("nope", out=b), "'nope' was not initialized")
    expect_error(ValueError, lambda: kv.pushpull("g", fw.nd.zeros(5)), "cannot change shape")
    opt = kvstore.create("dist_sync")
    opt.set_optimizer(fw.optimizer.SGD(learning_rate=1.0))
    opt.init(0, fw.nd.full((3,), 10.0))
    opt.push(0, fw.nd.full((3,), RANK + 1.0))                         # w -= 1 + 2
    opt.pull(0, out=b)
    numpy.testing.assert_array_equal(b.asnumpy(), [7, 7, 7])
    hv = kvstore.create("horovod")
    assert not hv.is_capable("optimizer") and kv.is_capable("optimizer")
    expect_error(NotImplementedError, lambda: hv.set_optimizer(fw.optimizer.SGD()),
                 "does not run an optimizer")
    passed("kvstore dist_sync: init, push, pull, pushpull, broadcast, barrier, set_optimizer")


def check_staged_device() -> None:
    """Arrays of a device module other than CuPy go through MPI by explicit host copies:
    on the strict test backend any implicit host conversion would raise."""
    previous = fw.context.set_array_module("gpu", lambda: strict)
    try:
        kv = kvstore.create("dist_sync_device")
        grads = [fw.nd.full((3, 2), RANK + 1.0, ctx=fw.gpu(0)),
                 fw.nd.full((4,), 2.0 * RANK, ctx=fw.gpu(0))]
        kv.pushpull([0, 1], grads)
        assert isinstance(grads[0].data, StrictArray)
        numpy.testing.assert_array_equal(grads[0].asnumpy(), numpy.full((3, 2), 3.0))
        numpy.testing.assert_array_equal(grads[1].asnumpy(), numpy.full(4, 2.0))
        w = fw.nd.full((2,), float(RANK), ctx=fw.gpu(0))
        distributed.broadcast_(w, root_rank=1)
        numpy.testing.assert_array_equal(w.asnumpy(), [1, 1])
    finally:
        fw.context.set_array_module("gpu", previous)
    passed("dist_sync_device on a non-CuPy device module: explicit host staging")


def check_mismatch() -> None:
    net = nn.HybridSequential()
    net.add(nn.Dense(4, in_units=3), nn.Dense(2, in_units=4 if RANK == 0 else 5))
    net.initialize()
    message = expect_error(ValueError, lambda: fw.Trainer(net.collect_params(), "sgd",
                                                          kvstore="dist_sync"),
                           "Parameter 2 differs between ranks", "rank 0 has", "rank 1 has",
                           "(2, 4)", "(2, 5)", "_weight")
    more = nn.HybridSequential()
    more.add(nn.Dense(4, in_units=3))
    if RANK == 1:
        more.add(nn.Dense(2, in_units=4))
    more.initialize()
    expect_error(ValueError, lambda: fw.Trainer(more.collect_params(), "sgd",
                                                kvstore="dist_sync"),
                 "rank 0 has 2 Parameters but rank 1 has 4")
    kv = kvstore.create("dist_sync")
    expect_error(ValueError, lambda: kv.pushpull("x", fw.nd.zeros((RANK + 1, 2))),
                 "kvstore.pushpull", "key 'x'", "(1, 2)", "(2, 2)")
    expect_error(ValueError, lambda: distributed.allreduce(fw.nd.zeros(RANK + 1)),
                 "fw.distributed.allreduce", "(1,)", "(2,)")
    if RANK == 0:
        print("mismatch message:", message, flush=True)
    passed("mismatch of Parameters, keys and tensors: named on every rank")


def check_sharding() -> None:
    for length, even in ((11, False), (12, False), (11, True)):
        sampler = SplitSampler(length, shuffle=True, seed=5, even_size=even)  # rank, size
        assert len(sampler) == len(list(SplitSampler(length, SIZE, RANK, even_size=even)))
        for epoch in range(2):
            mine = list(sampler)
            assert len(mine) == len(sampler)
            everyone = distributed.allgather_object(mine)
            seen = sorted(i for part in everyone for i in part)
            if even:
                assert len(everyone[0]) == len(everyone[1]) == 6
                assert set(seen) == set(range(length))
            else:
                assert seen == list(range(length)), (length, epoch, everyone)
        assert everyone != distributed.allgather_object(list(SplitSampler(
            length, shuffle=True, seed=5, even_size=even))), "epochs must differ"
    data = ArrayDataset(numpy.arange(9, dtype=numpy.float32))
    shard = [float(x) for x in data.shard(SIZE, RANK)]
    assert sorted(sum(distributed.allgather_object(shard), [])) == list(range(9))
    loader = DataLoader(data, batch_size=2, sampler=SplitSampler(9, shuffle=True,
                                                                  even_size=True))
    assert distributed.allgather_object(len(loader)) == [3, 3]
    passed("sharding: every sample once per epoch, the same on every rank's count")


def main() -> None:
    global RANK, SIZE
    distributed.init()
    RANK, SIZE = distributed.rank(), distributed.size()
    assert SIZE == 2, "run on 2 processes"
    check_world()
    check_broadcast_parameters()
    check_allreduce()
    check_broadcast_allgather()
    check_kvstore()
    check_staged_device()
    check_mismatch()
    check_sharding()


if __name__ == "__main__":
    main()
