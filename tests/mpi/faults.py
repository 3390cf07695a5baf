"""A data-parallel training loop in which rank 1 fails at step 3 (run on 2 processes).

    python -m framework.launch -n 2 tests/mpi/faults.py MODE

MODE: 'kill' (rank 1 kills itself with SIGKILL), 'raise' (rank 1 raises), 'exit' (rank
1's script ends early, as with a different number of batches), 'hang' (rank 1 sleeps
in the middle of training; run with a short --timeout), 'raise_busy' (rank 1 raises
while rank 0 computes for a long time, outside any collective). Rank 0 must stop with
an error that names rank 1; tests/test_distributed_faults.py checks it.
"""
import os
import signal
import sys
import time

import numpy

import framework as fw
from framework import distributed, nn


def main(mode: str) -> None:
    net = nn.Dense(4, in_units=8)
    net.initialize()
    trainer = fw.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1},
                         kvstore="dist_sync")
    rank = distributed.rank()
    x = fw.nd.array(numpy.ones((2, 8), dtype=numpy.float32))
    for step in range(200):
        if rank == 1 and step == 3:
            print(f"rank 1: injecting '{mode}' at step {step}", flush=True)
            if mode == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            elif mode in ("raise", "raise_busy"):
                raise ValueError("injected fault at step 3")
            elif mode == "exit":
                return
            elif mode == "hang":
                time.sleep(60)
        if rank == 0 and step == 3 and mode == "raise_busy":
            time.sleep(30)                  # a long evaluation, say: not in a collective
        with fw.autograd.record():
            loss = net(x).sum()
        loss.backward()
        trainer.step(2)
        time.sleep(0.02)
    print(f"rank {rank}: finished all steps (the fault was not detected)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
