"""The Estimator under 2 processes: one writer, and every rank resumes from one checkpoint.

    python -m framework.launch -n 2 tests/mpi/estimator_resume.py MODEL_DIR

Fits 2 epochs with a CheckpointHandler (rank 0 alone writes the files and shows the
progress), then a fresh model, Trainer and Estimator resume from the latest checkpoint
to epoch 4 on both ranks. Prints 'PASS ...' from rank 0; exits non-zero on a failure.
"""
import os
import sys

import numpy

import framework as fw
from framework import distributed, nn
from framework.contrib.estimator import CheckpointHandler, Estimator
from framework.data import ArrayDataset, DataLoader
from framework.data.sampler import SplitSampler


def setup():
    fw.random.seed(distributed.launched_rank())       # different weights: rank 0's win
    net = nn.HybridSequential()
    net.add(nn.Dense(8, activation="relu", in_units=4), nn.Dense(3, in_units=8))
    net.initialize()
    trainer = fw.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1},
                         kvstore="dist_sync")
    rng = numpy.random.RandomState(0)
    data = ArrayDataset(rng.rand(40, 4).astype("float32"),
                        rng.randint(0, 3, 40).astype("float32"))
    loader = DataLoader(data, batch_size=5, sampler=SplitSampler(40, shuffle=True,
                                                                 even_size=True))
    return net, Estimator(net, fw.loss.SoftmaxCrossEntropyLoss(), trainer=trainer), loader


def main(model_dir: str) -> None:
    net, est, loader = setup()
    rank = distributed.rank()
    handler = CheckpointHandler(model_dir, epoch_period=1)
    est.fit(loader, epochs=2, event_handlers=[handler])
    writes = distributed.allgather_object(handler.saved_checkpoints)
    assert writes == [["model-epoch0batch4", "model-epoch1batch8"], []], writes
    quiet = distributed.allgather_object([type(h).__name__ for h in est.logger.handlers])
    assert quiet == [["StreamHandler"], ["NullHandler"]], quiet
    files = distributed.allgather_object(sorted(os.listdir(model_dir)))
    assert files[0] == files[1] and "model-epoch1batch8.params" in files[0], files

    net, est, loader = setup()
    handler = CheckpointHandler(model_dir, epoch_period=1, resume_from_checkpoint=True)
    est.fit(loader, epochs=4, event_handlers=[handler])
    resumed = distributed.allgather_object(handler.resumed_from)
    assert resumed == ["model-epoch1batch8"] * 2, resumed
    assert est.current_epoch == 4 and est.trained_batches == 16, (est.current_epoch,
                                                                  est.trained_batches)
    flat = numpy.concatenate([p.data().asnumpy().ravel()
                              for p in net.collect_params().values()])
    everyone = distributed.allgather(fw.nd.array(flat[None])).asnumpy()
    assert (everyone[0] == everyone[1]).all(), "the ranks' weights differ after resuming"
    if rank == 0:
        print("PASS estimator: rank 0 alone writes and logs; both ranks resumed from "
              f"{resumed[0]} and end with identical weights", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
