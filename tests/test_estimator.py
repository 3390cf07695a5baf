"""fw.contrib.estimator: the fit loop, its event order and handlers, checkpoints that
resume bit-identically, early stopping, learning-rate schedules, clipping, NaN stops and
the progress display (tqdm bar on a terminal, plain lines otherwise)."""
import io
import os
import warnings

import numpy
import pytest

import framework as fw
from framework import autograd, nd, nn
from framework.contrib import estimator as E
from framework.contrib.estimator import (BatchBegin, BatchEnd, CheckpointHandler,
                                         EarlyStoppingHandler, EpochBegin, EpochEnd,
                                         Estimator, GradientClippingHandler,
                                         GradientUpdateHandler, LoggingHandler,
                                         LRSchedulerHandler, MetricHandler, StoppingHandler,
                                         StopOnNaNHandler, TrainBegin, TrainEnd,
                                         ValidationHandler)

CENTERS = numpy.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.5]], dtype=numpy.float32)


def _data(n=600, seed=0):
    """Three Gaussian blobs: 10 training batches of 50, one validation batch of 100."""
    rng = numpy.random.RandomState(seed)
    y = rng.randint(0, 3, size=n)
    x = (CENTERS[y] + 0.8 * rng.randn(n, 2)).astype(numpy.float32)
    train = [(nd.array(x[i:i + 50]), nd.array(y[i:i + 50])) for i in range(0, 500, 50)]
    return train, [(nd.array(x[500:]), nd.array(y[500:]))]


TRAIN, VAL = _data()


def _net(seed=0, ctx=None):
    fw.random.seed(seed)
    net = nn.Sequential()
    net.add(nn.Dense(16, activation="relu", in_units=2), nn.Dense(3, in_units=16))
    net.initialize(fw.init.Xavier(), ctx=ctx)
    return net


def _estimator(net=None, optimizer="sgd", params=None, **kwargs):
    net = net if net is not None else _net()
    trainer = fw.Trainer(net.collect_params(), optimizer,
                         params or {"learning_rate": 0.1, "momentum": 0.9})
    return Estimator(net, fw.loss.SoftmaxCrossEntropyLoss(), trainer=trainer, **kwargs)


def _quiet():
    """A LoggingHandler writing into a buffer (keeps the test output clean)."""
    return LoggingHandler(stream=io.StringIO(), progress_bar=False)


def _weights(net):
    return [p.data().asnumpy().copy() for p in net.collect_params().values()]


class Recorder(TrainBegin, TrainEnd, EpochBegin, EpochEnd, BatchBegin, BatchEnd):
    """Records (event, epoch, batch) of every event, and whatever ``probe`` returns."""

    def __init__(self, priority=0, probe=None, log=None, tag="recorder"):
        self.priority = priority
        self.events = []
        self.probe = probe
        self.log = log
        self.tag = tag
        self.probed = []

    def _note(self, event, est):
        self.events.append((event, est.current_epoch, est.current_batch))
        if self.log is not None and event == "batch_end":
            self.log.append(self.tag)
        if self.probe is not None:
            self.probed.append((event, self.probe(est)))

    def train_begin(self, est, *a, **k):
        self._note("train_begin", est)

    def train_end(self, est, *a, **k):
        self._note("train_end", est)

    def epoch_begin(self, est, *a, **k):
        self._note("epoch_begin", est)

    def epoch_end(self, est, *a, **k):
        self._note("epoch_end", est)
        return False

    def batch_begin(self, est, *a, **k):
        self._note("batch_begin", est)

    def batch_end(self, est, *a, **k):
        self._note("batch_end", est)
        return False


# ------------------------------------------------------------------ fitting
def test_fit_learns_the_blobs_and_default_metrics_follow_mxnet():
    est = _estimator()
    assert [m.name for m in est.train_metrics] == ["training accuracy",
                                                   "training softmaxcrossentropyloss"]
    assert [m.name for m in est.val_metrics] == ["validation accuracy",
                                                 "validation softmaxcrossentropyloss"]
    assert est.val_metrics[0] is not est.train_metrics[0]
    est.fit(TRAIN, VAL, epochs=4, event_handlers=[_quiet()])
    assert est.val_metrics[0].get()[1] >= 0.95
    assert est.train_metrics[0].get()[1] >= 0.9
    # evaluate resets and recomputes: the same as a manual pass in predict mode
    est.evaluate(VAL, event_handlers=[_quiet()])
    out = est.net(VAL[0][0]).asnumpy()
    manual = float((out.argmax(axis=1) == VAL[0][1].asnumpy()).mean())
    assert est.val_metrics[0].get() == ("validation accuracy", manual)
    assert est.val_metrics[0].num_inst == 100


def test_default_metrics_for_other_losses_and_given_metrics():
    net = _net()
    trainer = fw.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    est = Estimator(net, fw.loss.L2Loss(), trainer=trainer)
    assert [m.name for m in est.train_metrics] == ["training l2loss"]
    assert isinstance(est.train_metrics[0], fw.metric.Loss)
    # given metrics are used as they are (MXNet adds the loss metric only by default)
    est = Estimator(net, fw.loss.SoftmaxCrossEntropyLoss(), trainer=trainer,
                    train_metrics=fw.metric.Accuracy(), val_metrics=[fw.metric.TopKAccuracy(2)])
    assert [m.name for m in est.train_metrics] == ["training accuracy"]
    assert [m.name for m in est.val_metrics] == ["validation top_k_accuracy_2"]


def test_event_order_and_priorities():
    log = []

    class Update(GradientUpdateHandler):
        def batch_end(self, est, *a, **k):
            log.append("update")
            return super().batch_end(est, *a, **k)

    class Metrics(MetricHandler):
        def batch_end(self, est, *a, **k):
            log.append("metric")
            return super().batch_end(est, *a, **k)

    class Logging(LoggingHandler):
        def batch_end(self, est, *a, **k):
            log.append("logging")
            return super().batch_end(est, *a, **k)

    est = _estimator()
    first = est.net[0].weight
    recorder = Recorder(log=log)
    early = Recorder(priority=-5000, log=log, tag="early",
                     probe=lambda e: first.data().asnumpy().copy())
    handlers = [Logging(metrics=est.train_metrics, stream=io.StringIO()), recorder,
                Metrics(est.train_metrics), Update(), early]
    est.fit(TRAIN[:3], epochs=2, event_handlers=handlers)

    per_epoch = [("epoch_begin", 0)] + [(e, b) for b in range(3)
                                       for e in ("batch_begin", "batch_end")]
    expected = [("train_begin", 0, 0)]
    for epoch in range(2):
        expected += [(ev, epoch, b if ev.startswith("batch") else 0) for ev, b in per_epoch]
        expected.append(("epoch_end", epoch, 3))
    expected.append(("train_end", 2, 3))
    assert recorder.events == expected
    assert log[:5] == ["early", "update", "metric", "recorder", "logging"]
    assert log == log[:5] * 6
    # the early handler sees each batch's weights before the update
    seen = [w for ev, w in early.probed if ev == "batch_end"]
    assert all(not numpy.array_equal(a, b) for a, b in zip(seen, seen[1:]))
    assert numpy.array_equal(seen[0], _weights(_net())[0])


def test_default_handlers_follow_mxnet_order():
    est = _estimator()
    est.max_epoch, est.max_batch = 2, None
    handlers = est._prepare_default_handlers(VAL, None)
    assert [type(h).__name__ for h in handlers] == [
        "GradientUpdateHandler", "MetricHandler", "ValidationHandler", "StoppingHandler",
        "LoggingHandler"]
    assert [h.priority for h in handlers if hasattr(h, "priority")] == [
        -2000, -1000, -1000, float("inf")]
    handlers = est._prepare_default_handlers(None, [GradientClippingHandler(1.0)])
    assert not any(type(h) is GradientUpdateHandler for h in handlers)


def test_batches_limit_and_iteration_arguments():
    est = _estimator()
    recorder = Recorder()
    est.fit(TRAIN[:3], batches=5, event_handlers=[recorder, _quiet()])
    kinds = [ev for ev, _, _ in recorder.events]
    assert kinds.count("batch_end") == 5 and kinds.count("epoch_end") == 2
    assert est.trained_batches == 5 and est.current_epoch == 2
    with pytest.raises(ValueError, match="one and only one of: epochs or batches"):
        est.fit(TRAIN, epochs=1, batches=2)
    with pytest.raises(ValueError, match="one and only one of: epochs or batches"):
        est.fit(TRAIN)
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        est.fit(TRAIN, epochs=1.5)


def test_validation_runs_every_epoch_and_at_given_periods():
    est = _estimator()
    calls = []
    real = est.evaluate

    def counting(val_data, batch_axis=0):
        calls.append((est.current_epoch, est.current_batch))
        real(val_data, batch_axis, event_handlers=[_quiet()])

    est.evaluate = counting
    est.fit(TRAIN[:4], VAL, epochs=3, event_handlers=[_quiet()])
    assert calls == [(0, 4), (1, 4), (2, 4)]
    assert est.val_metrics[0].num_inst == 100
    calls.clear()
    est.fit(TRAIN[:4], epochs=4, event_handlers=[
        _quiet(), ValidationHandler(VAL, counting, epoch_period=2, batch_period=6)])
    # batch periods count batches across epochs: batches 6 and 12 are (1, 1) and (2, 3)
    assert calls == [(1, 1), (1, 4), (2, 3), (3, 4)]


# ------------------------------------------------------------------ checkpoints
def _files(folder):
    return sorted(os.listdir(folder))


def test_checkpoints_keep_the_best_and_the_last_n(tmp_path):
    est = _estimator(params={"learning_rate": 0.3})
    accuracy = est.val_metrics[0]
    seen = Recorder(probe=lambda e: accuracy.get()[1])
    ckpt = CheckpointHandler(str(tmp_path), monitor=accuracy, save_best=True, mode="max",
                             max_checkpoints=2)
    est.fit(TRAIN, VAL, epochs=4, event_handlers=[ckpt, seen, _quiet()])
    assert _files(tmp_path) == ["model-best.json", "model-best.params", "model-best.states",
                                "model-epoch2batch30.params", "model-epoch2batch30.states",
                                "model-epoch3batch40.params", "model-epoch3batch40.states"]
    values = [v for ev, v in seen.probed if ev == "epoch_end"]
    best = int(numpy.argmax(values))          # the first epoch with the highest accuracy
    import json
    record = json.loads((tmp_path / "model-best.json").read_text())
    assert record["epoch"] == best and record["value"] == values[best] == ckpt.best
    # the best file holds the weights that scored it
    net = _net(seed=5)
    net.load_parameters(str(tmp_path / "model-best.params"))
    out = net(VAL[0][0]).asnumpy()
    assert float((out.argmax(axis=1) == VAL[0][1].asnumpy()).mean()) == values[best]
    # the last checkpoint holds the final weights
    net.load_parameters(str(tmp_path / "model-epoch3batch40.params"))
    for a, b in zip(_weights(net), _weights(est.net)):
        assert numpy.array_equal(a, b)


def test_checkpoint_writes_are_atomic(tmp_path, monkeypatch):
    est = _estimator()
    est.fit(TRAIN, epochs=1, event_handlers=[CheckpointHandler(str(tmp_path)), _quiet()])
    names = _files(tmp_path)
    assert names == ["model-epoch0batch10.params", "model-epoch0batch10.states"]
    before = {n: (tmp_path / n).read_bytes() for n in names}

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fw._fileio.os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        est.fit(TRAIN, epochs=1, event_handlers=[CheckpointHandler(str(tmp_path)), _quiet()])
    monkeypatch.undo()
    assert _files(tmp_path) == names                       # no temporary file left behind
    assert {n: (tmp_path / n).read_bytes() for n in names} == before


def _resume_run(folder, epochs, seed, resume):
    est = _estimator(_net(seed), optimizer="adam", params={"learning_rate": 0.01})
    recorder = Recorder()
    lrs = LRSchedulerHandler(lambda epoch: 0.01 * 0.5 ** epoch)
    ckpt = CheckpointHandler(folder, resume_from_checkpoint=resume)
    est.fit(TRAIN, VAL, epochs=epochs, event_handlers=[ckpt, lrs, recorder, _quiet()])
    return est, recorder


def test_resume_continues_bit_identically(tmp_path):
    straight, _ = _resume_run(str(tmp_path / "straight"), 4, 0, False)
    first, _ = _resume_run(str(tmp_path / "resumed"), 2, 0, True)    # nothing to resume yet
    resumed, recorder = _resume_run(str(tmp_path / "resumed"), 4, 7, True)
    epochs = sorted({e for ev, e, _ in recorder.events if ev == "epoch_begin"})
    assert epochs == [2, 3]
    assert resumed.trained_batches == 40 and resumed.current_epoch == 4
    for a, b in zip(_weights(straight.net), _weights(resumed.net)):
        assert numpy.array_equal(a, b)
    assert resumed.trainer.learning_rate == straight.trainer.learning_rate == 0.01 * 0.5 ** 3
    assert _files(tmp_path / "resumed") == _files(tmp_path / "straight")
    with pytest.raises(ValueError, match="maximum number of epoch 4 reached"):
        _resume_run(str(tmp_path / "resumed"), 4, 0, True)
    with pytest.raises(ValueError, match="same type of period"):
        est = _estimator()
        est.fit(TRAIN, batches=3, event_handlers=[
            CheckpointHandler(str(tmp_path / "b"), resume_from_checkpoint=True)])


def test_resume_by_batches(tmp_path):
    def run(batches, seed):
        est = _estimator(_net(seed))
        ckpt = CheckpointHandler(str(tmp_path / "ckpt"), epoch_period=None, batch_period=4,
                                 resume_from_checkpoint=True)
        est.fit(TRAIN, batches=batches, event_handlers=[ckpt, _quiet()])
        return est

    est = run(8, 0)
    assert _files(tmp_path / "ckpt") == ["model-epoch0batch3.params", "model-epoch0batch3.states",
                                         "model-epoch0batch7.params", "model-epoch0batch7.states"]
    resumed = run(12, 3)
    assert resumed.trained_batches == 12
    assert "model-epoch1batch11.params" in _files(tmp_path / "ckpt")


# ------------------------------------------------------------------ stopping
class Scripted(fw.metric.EvalMetric):
    """A metric whose value at each read comes from a list (one read per epoch end)."""

    def __init__(self, values):
        super().__init__("scripted")
        self.values = list(values)

    def get(self):
        return self.name, self.values.pop(0)


def test_early_stopping_triggers_at_the_right_epoch():
    est = _estimator()
    stopper = EarlyStoppingHandler(Scripted([0.5, 0.6, 0.6, 0.65, 0.64, 0.63, 0.9, 0.9]),
                                   min_delta=0.01, patience=2, mode="max")
    recorder = Recorder()
    est.fit(TRAIN[:2], epochs=10, event_handlers=[stopper, recorder, _quiet()])
    assert stopper.stopped_epoch == 5
    assert [e for ev, e, _ in recorder.events if ev == "epoch_end"] == [0, 1, 2, 3, 4, 5]
    # a baseline not beaten stops after `patience` epochs; 'min' mode
    stopper = EarlyStoppingHandler(Scripted([0.5, 0.4, 0.45]), patience=1, mode="min",
                                   baseline=0.3)
    est.fit(TRAIN[:2], epochs=10, event_handlers=[stopper, _quiet()])
    assert stopper.stopped_epoch == 0 and est.current_epoch == 1
    with pytest.warns(UserWarning, match="`less` operator"):
        EarlyStoppingHandler(est.train_metrics[1])
    with pytest.raises(ValueError, match="CompositeEvalMetric is not supported"):
        EarlyStoppingHandler(fw.metric.CompositeEvalMetric())


def test_nan_loss_stops_and_names_the_batch(capsys):
    class Poisoned:
        """Batches of TRAIN[:3]; the second pass has NaN inputs in batch 1."""

        def __init__(self):
            self.passes = 0

        def __iter__(self):
            self.passes += 1
            for i, (x, y) in enumerate(TRAIN[:3]):
                if self.passes == 2 and i == 1:
                    x = x * float("nan")
                yield x, y

    est = _estimator()
    weights = Recorder(probe=lambda e: _weights(e.net))
    stopper = StopOnNaNHandler()
    est.fit(Poisoned(), epochs=5, event_handlers=[stopper, weights, _quiet()])
    assert stopper.stopped_at == (1, 1)
    assert stopper.message.startswith("[Epoch 1][Batch 1] StopOnNaNHandler: the loss is nan")
    assert "[Epoch 1][Batch 1]" in capsys.readouterr().out
    batch_ends = [(e, b) for ev, e, b in weights.events if ev == "batch_end"]
    assert batch_ends == [(0, 0), (0, 1), (0, 2), (1, 0)]
    assert weights.events[-1][0] == "train_end"
    last_good = [w for ev, w in weights.probed if ev == "batch_end"][-1]
    for a, b in zip(last_good, _weights(est.net)):       # the bad batch was not applied
        assert numpy.isfinite(b).all() and numpy.array_equal(a, b)
    # the metrics never saw the bad batch
    assert numpy.isfinite(est.train_metrics[1].get()[1])


# ------------------------------------------------------------------ lr and clipping
def test_lr_scheduler_handler_sets_the_scheduled_rates():
    est = _estimator()
    rates = Recorder(probe=lambda e: e.trainer.learning_rate)
    schedule = fw.lr_scheduler.FactorScheduler(step=3, factor=0.5, base_lr=0.2)
    handler = LRSchedulerHandler(schedule, by="batch")
    est.fit(TRAIN[:4], epochs=2, event_handlers=[handler, rates, _quiet()])
    reference = fw.lr_scheduler.FactorScheduler(step=3, factor=0.5, base_lr=0.2)
    got = [lr for ev, lr in rates.probed if ev == "batch_begin"]
    assert got == [reference(i) for i in range(8)]
    assert got[0] == 0.2 and got[-1] == 0.05
    est.fit(TRAIN[:2], epochs=3, event_handlers=[
        LRSchedulerHandler(lambda epoch: 1.0 / (epoch + 1)), rates, _quiet()])
    got = [lr for ev, lr in rates.probed[-(3 * 6 + 2):] if ev == "epoch_begin"]
    assert got == [1.0, 0.5, 1.0 / 3]
    scheduled = _estimator(params={"lr_scheduler": fw.lr_scheduler.FactorScheduler(step=2)})
    with pytest.raises(ValueError, match="already has an lr_scheduler"):
        scheduled.fit(TRAIN[:2], epochs=1, event_handlers=[LRSchedulerHandler(lambda i: 0.1)])
    with pytest.raises(ValueError, match="by must be 'epoch' or 'batch'"):
        LRSchedulerHandler(lambda i: 0.1, by="step")


def test_gradient_clipping_equals_manual_clipping():
    est = _estimator(params={"learning_rate": 0.1})
    clipper = GradientClippingHandler(max_norm=0.5)
    est.fit(TRAIN, epochs=1, event_handlers=[clipper, _quiet()])
    assert clipper.last_norm > 0.5                      # clipping was active

    net = _net()
    trainer = fw.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    loss_fn = fw.loss.SoftmaxCrossEntropyLoss()
    params = list(net.collect_params().values())
    for x, y in TRAIN:
        with autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.allreduce_grads()
        fw.utils.clip_global_norm([p.grad() for p in params], 0.5)
        trainer.update(x.shape[0])
    for a, b in zip(_weights(net), _weights(est.net)):
        assert numpy.array_equal(a, b)
    with pytest.raises(ValueError, match="max_norm must be a positive number"):
        GradientClippingHandler(0)


# ------------------------------------------------------------------ progress
class TTY(io.StringIO):
    def isatty(self):
        return True


def test_plain_log_line_per_epoch_when_not_a_terminal():
    est = _estimator()
    stream = io.StringIO()
    est.fit(TRAIN, epochs=3, event_handlers=[LoggingHandler(metrics=est.train_metrics,
                                                            stream=stream)])
    text = stream.getvalue()
    assert "\r" not in text
    lines = [ln for ln in text.splitlines() if "] Finished in" in ln]
    assert [ln.split("]")[0] for ln in lines] == ["[Epoch 0", "[Epoch 1", "[Epoch 2"]
    acc, loss = (m.get()[1] for m in est.train_metrics)
    assert f"training accuracy: {acc:.4f}" in lines[-1]
    assert f"training softmaxcrossentropyloss: {loss:.4f}" in lines[-1]
    assert text.startswith("Training begin: using optimizer SGD with current learning rate "
                           "0.1000\nTrain for 3 epochs.\n")
    assert text.rstrip().splitlines()[-1].startswith("Train finished using total")


def test_progress_bar_with_live_metrics_on_a_terminal():
    est = _estimator()
    stream = TTY()
    est.fit(TRAIN, epochs=2, event_handlers=[LoggingHandler(metrics=est.train_metrics,
                                                            stream=stream)])
    text = stream.getvalue()
    assert "\r" in text and "] Finished in" not in text
    acc, loss = (m.get()[1] for m in est.train_metrics)
    final = [seg for seg in text.split("\r") if seg.startswith("[Epoch 1]")][-1]
    assert "10/10" in final and "100%" in final
    assert f"accuracy={acc:.4f}" in final and f"loss={loss:.4f}" in final
    assert sum("[Epoch 0]" in seg and "10/10" in seg for seg in text.split("\r")) == 1
    # without a metric.Loss among the metrics, the bar shows the epoch's mean loss itself
    est = _estimator(train_metrics=fw.metric.Accuracy())
    stream = TTY()
    est.fit(TRAIN, epochs=1, event_handlers=[LoggingHandler(metrics=est.train_metrics,
                                                            stream=stream)])
    final = stream.getvalue().split("\r")[-1]
    assert "accuracy=" in final and "loss=" in final
    # progress_bar=False forces lines; an int log_interval adds batch lines
    stream = TTY()
    est.fit(TRAIN[:4], epochs=1, event_handlers=[LoggingHandler(
        log_interval=2, metrics=est.train_metrics, stream=stream, progress_bar=False)])
    assert "\r" not in stream.getvalue()
    batch_lines = [ln for ln in stream.getvalue().splitlines() if "][Batch" in ln]
    assert [ln.split("[Samples")[0] for ln in batch_lines] == ["[Epoch 0][Batch 0]",
                                                               "[Epoch 0][Batch 2]"]
    with pytest.raises(ValueError, match="log_interval"):
        LoggingHandler(log_interval="batch")


def test_only_the_writer_process_writes(tmp_path, monkeypatch):
    monkeypatch.setattr(E.utils, "is_writer", lambda: False)
    est = _estimator()
    stream = TTY()
    folder = tmp_path / "ckpt"
    est.fit(TRAIN, epochs=2, event_handlers=[
        LoggingHandler(metrics=est.train_metrics, stream=stream),
        CheckpointHandler(str(folder))])
    assert stream.getvalue() == "" and not folder.exists()
    assert est.train_metrics[0].get()[1] > 0.5          # it trained all the same


# ------------------------------------------------------------------ contexts
def test_context_list_splits_batches_and_matches_one_context():
    one = _estimator(params={"learning_rate": 0.1})
    one.fit(TRAIN, epochs=1, event_handlers=[_quiet()])
    ctx = [fw.cpu(0), fw.cpu(1)]
    two = _estimator(_net(ctx=ctx), params={"learning_rate": 0.1})
    assert two.context == ctx
    two.fit(TRAIN, epochs=1, event_handlers=[_quiet()])
    for param in two.net.collect_params().values():
        a, b = (arr.asnumpy() for arr in param.list_data())
        assert numpy.array_equal(a, b)
    for a, b in zip(_weights(one.net), _weights(two.net)):
        numpy.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_all_handlers_keep_device_arrays_on_the_device():
    # gpu(0), gpu(1) are the strict stand-in here: any implicit host copy raises
    ctx = [fw.gpu(0), fw.gpu(1)]
    est = _estimator(_net(ctx=ctx), context=ctx)
    est.fit(TRAIN, VAL, epochs=2, event_handlers=[
        LoggingHandler(metrics=est.train_metrics, stream=TTY()), StopOnNaNHandler(),
        GradientClippingHandler(100.0), LRSchedulerHandler(lambda e: 0.1)])
    assert est.val_metrics[0].get()[1] > 0.8


def test_default_context_and_argument_errors():
    assert _estimator(_net(ctx=fw.cpu(1))).context == [fw.cpu(1)]
    fresh = nn.Dense(3)
    trainer_net = nn.Dense(3)
    with pytest.warns(UserWarning, match="No trainer specified"):
        est = Estimator(fresh, fw.loss.L2Loss())
    assert est.context == [fw.cpu(0)] and est.trainer.learning_rate == 0.001
    loss = fw.loss.L2Loss()
    with pytest.raises(ValueError, match="loss must be a Loss"):
        Estimator(trainer_net, lambda a, b: a - b)
    with pytest.raises(ValueError, match="Trainer must be a Trainer"):
        Estimator(trainer_net, loss, trainer="sgd")
    with pytest.raises(ValueError, match="context must be a Context"):
        Estimator(trainer_net, loss, context="cpu")
    with pytest.raises(ValueError, match=r"live on \[cpu\(0\)\]"):
        _estimator(context=fw.cpu(1))
    with pytest.raises(ValueError, match="metrics must be an EvalMetric"):
        _estimator(train_metrics=["acc"])
    est = _estimator()
    with pytest.raises(TypeError, match=r"each batch must be a \(data, label\) pair"):
        est.fit([(nd.ones((2, 2)),)], epochs=1, event_handlers=[_quiet()])
    with pytest.raises(ValueError, match="yielded no batches"):
        est.fit(iter(TRAIN[:2]), epochs=2, event_handlers=[_quiet()])
    with pytest.raises(ValueError, match="event_handlers must be an EventHandler"):
        est.fit(TRAIN, epochs=1, event_handlers=[print])
    with pytest.raises(ValueError, match="outside of the known training and validation"):
        est.fit(TRAIN, epochs=1, event_handlers=[MetricHandler([fw.metric.Accuracy()])])
    with pytest.raises(ValueError, match="must be an iterable"):
        est.fit(42, epochs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        StoppingHandler(1, None)
