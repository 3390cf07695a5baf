"""fw.metric: every metric against a closed form computed here in NumPy, on cpu(0) and
gpu(0) (the strict backend refuses any NumPy call on device data)."""
import math

import numpy
import pytest

import framework as fw
from framework import metric

RNG = numpy.random.default_rng(7)


def nd(x, ctx, dtype=numpy.float32):
    return fw.nd.array(numpy.asarray(x, dtype=dtype), ctx=ctx)


def scores(n, c):
    return RNG.random((n, c)).astype(numpy.float32)


def probabilities(n, c):
    s = RNG.random((n, c)) + 0.05
    return (s / s.sum(axis=1, keepdims=True)).astype(numpy.float32)


# ---------------------------------------------------------------- classification
def test_accuracy_scores_and_indices(ctx):
    p1, l1 = scores(40, 5), RNG.integers(0, 5, 40)
    p2, l2 = scores(24, 5), RNG.integers(0, 5, 24)
    acc = metric.Accuracy()
    acc.update([nd(l1, ctx)], [nd(p1, ctx)])
    assert acc.get() == ("accuracy", pytest.approx((p1.argmax(1) == l1).mean()))
    acc.update([nd(l2, ctx)], [nd(p2.argmax(1), ctx)])      # class indices: no argmax
    expected = ((p1.argmax(1) == l1).sum() + (p2.argmax(1) == l2).sum()) / 64
    assert acc.get()[1] == pytest.approx(expected)
    assert acc.num_inst == 64 and acc.sum_metric == pytest.approx(expected * 64)
    acc.reset_local()
    assert math.isnan(acc.get()[1])
    assert acc.get_global()[1] == pytest.approx(expected)
    assert acc.global_num_inst == 64
    acc.reset()
    assert math.isnan(acc.get_global()[1])


def test_accuracy_axis_and_label_column(ctx):
    p = RNG.random((3, 4, 6)).astype(numpy.float32)                 # classes on the last axis
    l = RNG.integers(0, 6, (3, 4))
    acc = metric.Accuracy(axis=-1)
    acc.update(nd(l, ctx), nd(p, ctx))                              # single arrays are wrapped
    assert acc.get()[1] == pytest.approx((p.argmax(-1) == l).mean())
    acc = metric.Accuracy()                                         # label (n, 1) vs scores (n, c)
    p, l = scores(10, 3), RNG.integers(0, 3, (10, 1))
    acc.update([nd(l, ctx)], [nd(p, ctx)])
    assert acc.get()[1] == pytest.approx((p.argmax(1) == l[:, 0]).mean())


def test_accuracy_mixed_numpy_and_ndarray(ctx):
    p, l = scores(12, 4), RNG.integers(0, 4, 12)
    for label, pred in [(l, nd(p, ctx)), (nd(l, ctx), p), (l, p)]:
        acc = metric.Accuracy()
        acc.update([label], [pred])
        assert acc.get()[1] == pytest.approx((p.argmax(1) == l).mean())


def test_label_shape_errors(ctx):
    acc = metric.Accuracy()
    with pytest.raises(ValueError,
                       match=r"Shape of labels 2 does not match shape of predictions 1"):
        acc.update([nd([0, 1], ctx), nd([1, 0], ctx)], [nd(scores(2, 2), ctx)])
    with pytest.raises(ValueError, match=r"Shape of labels \(5,\) does not match shape of "
                                         r"predictions \(4,\)"):
        acc.update([nd([0, 1, 1, 0, 1], ctx)], [nd(scores(4, 2), ctx)])
    with pytest.raises(ValueError, match=r"Shape of labels \(3, 2\) does not match shape of "
                                         r"predictions \(3, 1\)"):
        metric.check_label_shapes(numpy.zeros((3, 2)), numpy.zeros((3, 1)), shape=True)
    with pytest.raises(TypeError, match="Accuracy: label must be an NDArray or a NumPy array"):
        acc.update([[0, 1]], [nd(scores(2, 2), ctx)])


def test_top_k_accuracy(ctx):
    p, l = scores(50, 7), RNG.integers(0, 7, 50)
    for k in (2, 3, 10):
        top = metric.TopKAccuracy(top_k=k)
        assert top.name == f"top_k_accuracy_{k}"
        top.update([nd(l, ctx)], [nd(p, ctx)])
        # closed form: the label's score is beaten by fewer than k classes
        rank = (p > p[numpy.arange(50), l][:, None]).sum(axis=1)
        assert top.get()[1] == pytest.approx((rank < k).mean())
    with pytest.raises(ValueError, match="please use Accuracy"):
        metric.TopKAccuracy(top_k=1)
    with pytest.raises(ValueError, match="no more than 2 dims"):
        metric.TopKAccuracy(top_k=2).update([nd(l[:2], ctx)], [nd(RNG.random((2, 3, 4)), ctx)])


def binary_counts(label, pred):
    pl = pred.argmax(1)
    tp = int(((pl == 1) & (label == 1)).sum())
    fp = int(((pl == 1) & (label != 1)).sum())
    fn = int(((pl != 1) & (label == 1)).sum())
    tn = int(((pl != 1) & (label != 1)).sum())
    return tp, fp, fn, tn


def f1_closed(tp, fp, fn, tn):
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def mcc_closed(tp, fp, fn, tn):
    if tp + fp + fn + tn == 0:
        return 0.0
    terms = [t for t in (tp + fp, tp + fn, tn + fp, tn + fn) if t]
    return (tp * tn - fp * fn) / math.sqrt(numpy.prod(numpy.array(terms, dtype=float)))


@pytest.mark.parametrize("name,closed", [("f1", f1_closed), ("mcc", mcc_closed)])
def test_f1_and_mcc_macro_micro(ctx, name, closed):
    batches = [(RNG.integers(0, 2, n), scores(n, 2)) for n in (30, 17, 25)]
    counts = [binary_counts(l, p) for l, p in batches]
    total = tuple(int(v) for v in numpy.sum(counts, axis=0))
    macro = metric.create(name)
    micro = metric.create(name, average="micro")
    for l, p in batches:
        macro.update([nd(l, ctx)], [nd(p, ctx)])
        micro.update([nd(l, ctx)], [nd(p, ctx)])
    assert macro.get()[1] == pytest.approx(numpy.mean([closed(*c) for c in counts]))
    assert macro.get_global()[1] == pytest.approx(numpy.mean([closed(*c) for c in counts]))
    assert micro.get()[1] == pytest.approx(closed(*total))
    assert micro.num_inst == sum(len(l) for l, _ in batches)
    micro.reset_local()
    assert math.isnan(micro.get()[1])
    assert micro.get_global()[1] == pytest.approx(closed(*total))
    micro.update([nd(batches[0][0], ctx)], [nd(batches[0][1], ctx)])
    assert micro.get()[1] == pytest.approx(closed(*counts[0]))


def test_binary_metrics_refuse_multiclass_and_bad_average(ctx):
    with pytest.raises(ValueError, match="F1 currently only supports binary classification"):
        metric.F1().update([nd([0, 1, 2], ctx)], [nd(scores(3, 3), ctx)])
    with pytest.raises(ValueError, match="MCC: average must be 'macro' or 'micro'"):
        metric.MCC(average="weighted")


def pcc_closed(label, pred, k):
    """Gorodkin's multiclass MCC of the confusion matrix."""
    conf = numpy.zeros((k, k))
    numpy.add.at(conf, (label, pred), 1)
    s, c = conf.sum(), numpy.trace(conf)
    t, p = conf.sum(axis=1), conf.sum(axis=0)
    return (c * s - t @ p) / math.sqrt((s * s - p @ p) * (s * s - t @ t))


def test_pcc_grows_classes_and_matches_mcc(ctx):
    l1 = RNG.integers(0, 2, 40)
    p1 = scores(40, 2)
    pcc = metric.PCC()
    pcc.update([nd(l1, ctx)], [nd(p1, ctx)])
    assert pcc.get()[1] == pytest.approx(pcc_closed(l1, p1.argmax(1), 2))
    mcc = metric.MCC()
    mcc.update([nd(l1, ctx)], [nd(p1, ctx)])
    assert pcc.get()[1] == pytest.approx(mcc.get()[1])              # binary: PCC is MCC
    l2, c2 = RNG.integers(0, 5, 60), RNG.integers(0, 5, 60)         # class indices, 5 classes
    pcc.update([nd(l2, ctx)], [nd(c2, ctx)])
    assert pcc.k == 5
    labels, preds = numpy.concatenate([l1, l2]), numpy.concatenate([p1.argmax(1), c2])
    assert pcc.get()[1] == pytest.approx(pcc_closed(labels, preds, 5))
    assert pcc.num_inst == 2
    pcc.reset_local()
    pcc.update([nd(l2, ctx)], [nd(c2, ctx)])
    assert pcc.get()[1] == pytest.approx(pcc_closed(l2, c2, 5))
    assert pcc.get_global()[1] == pytest.approx(
        pcc_closed(numpy.concatenate([labels, l2]), numpy.concatenate([preds, c2]), 5))


# ---------------------------------------------------------------- regression
@pytest.mark.parametrize("name,batch_value", [
    ("mae", lambda d: numpy.abs(d).mean()),
    ("mse", lambda d: (d ** 2).mean()),
    ("rmse", lambda d: numpy.sqrt((d ** 2).mean())),
])
def test_regression_metrics_average_per_batch(ctx, name, batch_value):
    l1, p1 = RNG.normal(size=(8, 3)), RNG.normal(size=(8, 3))
    l2, p2 = RNG.normal(size=20), RNG.normal(size=20)                # 1-d: one column
    m = metric.create(name)
    m.update([nd(l1, ctx)], [nd(p1, ctx)])
    m.update([nd(l2, ctx)], [nd(p2, ctx)])
    f32 = lambda a: a.astype(numpy.float32).astype(numpy.float64)   # noqa: E731
    expected = (batch_value(f32(l1) - f32(p1)) + batch_value(f32(l2) - f32(p2))) / 2
    assert m.num_inst == 2                                          # one instance per batch
    assert m.get() == (name, pytest.approx(expected, rel=1e-6))
    assert m.get_global()[1] == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match=r"shape of labels \(4, 1\) does not match shape of "
                                         r"predictions \(3, 1\)"):
        m.update([nd(numpy.zeros(4), ctx)], [nd(numpy.zeros(3), ctx)])


def test_regression_label_column_broadcasts(ctx):
    l, p = RNG.normal(size=6), RNG.normal(size=(6, 2))
    m = metric.MAE()
    m.update([nd(l, ctx)], [nd(p, ctx)])
    expected = numpy.abs(l.astype(numpy.float32)[:, None] - p.astype(numpy.float32)).mean()
    assert m.get()[1] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("name,display", [("ce", "cross-entropy"), ("nll_loss", "nll-loss")])
def test_cross_entropy_and_nll(ctx, name, display):
    p1, l1 = probabilities(16, 4), RNG.integers(0, 4, 16)
    p2, l2 = probabilities(9, 4), RNG.integers(0, 4, (9, 1))
    m = metric.create(name, eps=1e-6)
    m.update([nd(l1, ctx)], [nd(p1, ctx)])
    m.update([nd(l2, ctx)], [nd(p2, ctx)])
    picked = numpy.concatenate([p1[numpy.arange(16), l1], p2[numpy.arange(9), l2[:, 0]]])
    assert m.get() == (display, pytest.approx(-numpy.log(picked.astype(float) + 1e-6).mean()))
    assert m.num_inst == 25
    with pytest.raises(IndexError, match=r"class indices in \[0, 4\), got values in \[0, 7\]"):
        m.update([nd([0, 7], ctx)], [nd(probabilities(2, 4), ctx)])
    with pytest.raises(ValueError, match=r"got labels \(3,\) and predictions \(2, 4\)"):
        m.update([nd([0, 1, 2], ctx)], [nd(probabilities(2, 4), ctx)])


@pytest.mark.parametrize("ignore_label", [None, 0])
def test_perplexity(ctx, ignore_label):
    p = RNG.random((3, 5, 6)) + 0.01
    p = (p / p.sum(-1, keepdims=True)).astype(numpy.float32)
    l = RNG.integers(0, 6, (3, 5))
    ppl = metric.Perplexity(ignore_label=ignore_label)
    ppl.update([nd(l, ctx)], [nd(p, ctx)])
    picked = numpy.take_along_axis(p, l[..., None], axis=-1)[..., 0].astype(float)
    keep = numpy.ones_like(l, bool) if ignore_label is None else l != ignore_label
    expected = math.exp(-numpy.log(picked[keep]).sum() / keep.sum())
    assert ppl.get() == ("perplexity", pytest.approx(expected))
    assert ppl.get_global()[1] == pytest.approx(expected)
    assert ppl.num_inst == keep.sum()
    with pytest.raises(ValueError, match=r"shape mismatch: labels \(4,\) vs. predictions \(3, 6\)"):
        ppl.update([nd([0, 1, 2, 3], ctx)], [nd(probabilities(3, 6), ctx)])


@pytest.mark.parametrize("average", ["macro", "micro"])
def test_pearson_correlation(ctx, average):
    batches = [(RNG.normal(size=(n, 2)), RNG.normal(size=(n, 2))) for n in (10, 4, 7)]
    batches = [(l, 0.6 * l + p) for l, p in batches]
    m = metric.create("pearsonr", average=average)
    for l, p in batches:
        m.update([nd(l, ctx)], [nd(p, ctx)])
    f32 = lambda a: a.astype(numpy.float32).astype(numpy.float64).ravel()  # noqa: E731
    if average == "macro":
        expected = numpy.mean([numpy.corrcoef(f32(p), f32(l))[0, 1] for l, p in batches])
    else:
        expected = numpy.corrcoef(numpy.concatenate([f32(p) for _, p in batches]),
                                  numpy.concatenate([f32(l) for l, _ in batches]))[0, 1]
    assert m.get() == ("pearsonr", pytest.approx(expected, rel=1e-9))
    assert m.get_global()[1] == pytest.approx(expected, rel=1e-9)
    with pytest.raises(ValueError, match=r"Shape of labels \(2, 2\) does not match shape of "
                                         r"predictions \(2, 3\)"):
        m.update([nd(numpy.zeros((2, 2)), ctx)], [nd(numpy.zeros((2, 3)), ctx)])


def test_loss_metric(ctx):
    a, b = RNG.random(8), RNG.random((3, 2))
    loss = metric.Loss()
    loss.update(None, [nd(a, ctx)])
    loss.update(None, nd(b, ctx))
    expected = (a.astype(numpy.float32).sum() + b.astype(numpy.float32).sum()) / 14
    assert loss.get() == ("loss", pytest.approx(expected, rel=1e-6))
    assert loss.num_inst == 14


# ---------------------------------------------------------------- composite, custom, registry
def test_composite_metric(ctx):
    p, l = scores(20, 2), RNG.integers(0, 2, 20)
    comp = metric.create(["acc", metric.F1(), "mae"])
    assert isinstance(comp, metric.CompositeEvalMetric)
    comp.update([nd(l, ctx)], [nd(p, ctx)])
    names, values = comp.get()
    assert names == ["accuracy", "f1", "mae"]
    assert values[0] == pytest.approx((p.argmax(1) == l).mean())
    assert values[1] == pytest.approx(f1_closed(*binary_counts(l, p)))
    assert comp.get_metric(1).name == "f1"
    with pytest.raises(ValueError, match="Metric index 5 is out of range 0 and 3"):
        comp.get_metric(5)
    assert comp.get_name_value() == list(zip(names, values))
    assert comp.get_global_name_value() == list(zip(names, values))
    comp.reset_local()
    assert all(math.isnan(v) for v in comp.get()[1])
    assert comp.get_global()[1] == values
    comp.reset()
    assert all(math.isnan(v) for v in comp.get_global()[1])


def test_update_dict_picks_names(ctx):
    p, l = scores(6, 3), RNG.integers(0, 3, 6)
    acc = metric.Accuracy(output_names=["out"], label_names=["y"])
    acc.update_dict({"y": nd(l, ctx), "z": nd(l * 0, ctx)},
                    {"other": nd(p * 0, ctx), "out": nd(p, ctx)})
    assert acc.get()[1] == pytest.approx((p.argmax(1) == l).mean())


def test_custom_metric_and_np(ctx):
    p, l = scores(10, 3), RNG.integers(0, 3, 10).astype(numpy.float32)
    seen = []

    def hits(label, pred):
        seen.append((type(label), type(pred)))
        return (pred.argmax(1) == label).sum(), label.size

    custom = metric.create(hits)
    assert isinstance(custom, metric.CustomMetric) and custom.name == "hits"
    custom.update([nd(l, ctx)], [nd(p, ctx)])
    assert seen == [(numpy.ndarray, numpy.ndarray)]                 # host copies for feval
    assert custom.get()[1] == pytest.approx((p.argmax(1) == l).mean())
    assert custom.num_inst == 10

    mean_abs = metric.np(lambda label, pred: numpy.abs(label - pred.argmax(1)).mean())
    assert mean_abs.name == "custom(<lambda>)"
    mean_abs.update([nd(l, ctx)], [nd(p, ctx)])
    mean_abs.update([nd(l, ctx)], [nd(p, ctx)])
    assert mean_abs.num_inst == 2
    assert mean_abs.get()[1] == pytest.approx(numpy.abs(l - p.argmax(1)).mean())

    named = metric.np(lambda label, pred: 1.0, name="one", allow_extra_outputs=True)
    named.update([nd(l, ctx)], [nd(p, ctx), nd(p, ctx)])           # extra output allowed
    assert named.get() == ("one", 1.0)
    with pytest.raises(ValueError, match="Shape of labels 1 does not match shape of predictions 2"):
        metric.np(lambda label, pred: 1.0).update([nd(l, ctx)], [nd(p, ctx), nd(p, ctx)])
    with pytest.raises(NotImplementedError, match="cannot be serialized"):
        custom.get_config()


@pytest.mark.parametrize("name,cls", [
    ("acc", metric.Accuracy), ("accuracy", metric.Accuracy),
    ("top_k_accuracy", metric.TopKAccuracy), ("top_k_acc", metric.TopKAccuracy),
    ("f1", metric.F1), ("mcc", metric.MCC), ("mae", metric.MAE), ("mse", metric.MSE),
    ("rmse", metric.RMSE), ("ce", metric.CrossEntropy), ("crossentropy", metric.CrossEntropy),
    ("nll_loss", metric.NegativeLogLikelihood), ("perplexity", metric.Perplexity),
    ("pearsonr", metric.PearsonCorrelation), ("pcc", metric.PCC), ("loss", metric.Loss),
    ("composite", metric.CompositeEvalMetric), ("ACC", metric.Accuracy),
])
def test_registered_names(name, cls):
    args = {"top_k_accuracy": (3,), "top_k_acc": (3,), "perplexity": (None,)}.get(name, ())
    assert type(metric.create(name, *args)) is cls


def test_create_forms_and_config_round_trip():
    acc = metric.Accuracy(axis=2, name="my_acc")
    assert metric.create(acc) is acc
    config = acc.get_config()
    assert config == {"axis": 2, "metric": "Accuracy", "name": "my_acc",
                      "output_names": None, "label_names": None}
    again = metric.create(**config)
    assert isinstance(again, metric.Accuracy) and again.axis == 2 and again.name == "my_acc"
    config = metric.CompositeEvalMetric(["acc", metric.F1(average="micro")]).get_config()
    comp = metric.create(config)
    assert [type(m) for m in comp.metrics] == [metric.Accuracy, metric.F1]
    assert comp.metrics[1].average == "micro"
    assert isinstance(metric.create('["top_k_accuracy", {"top_k": 4}]'), metric.TopKAccuracy)
    assert type(metric.create(metric.MSE)) is metric.MSE
    with pytest.raises(ValueError, match="'nope' is not registered; registered metrics: .*acc"):
        metric.create("nope")
    with pytest.raises(ValueError, match="already an instance"):
        metric.create(acc, 3)
    assert str(acc) == "EvalMetric: {'my_acc': nan}"


@pytest.fixture
def clean_registry():
    saved = dict(metric._REGISTRY)
    yield
    metric._REGISTRY.clear()
    metric._REGISTRY.update(saved)


def test_register_and_alias_a_new_metric(clean_registry):
    @metric.register
    @metric.alias("count_all")
    class CountAll(metric.EvalMetric):
        def __init__(self, name="count_all"):
            super().__init__(name)

        def update(self, labels, preds):
            self.sum_metric += 1
            self.num_inst += 1

    assert type(metric.create("countall")) is CountAll
    m = metric.create("count_all")
    m.update([], [])
    assert m.get_global() == m.get() == ("count_all", 1.0)           # no global statistics
    assert m.get_global_name_value() == [("count_all", 1.0)]
    with pytest.warns(UserWarning, match="is overriding existing metric"):
        metric.register(metric.MAE, "count_all")
    with pytest.raises(TypeError, match="can only register subclasses of EvalMetric"):
        metric.register(int)


@pytest.fixture
def host_transfers(monkeypatch):
    """Counts the device-to-host transfers of the strict gpu backend."""
    import strict_backend
    if fw.gpu(0).xp is not strict_backend.strict:
        pytest.skip("counts the strict backend's transfers; gpu(0) is real CuPy here")
    counter = {"n": 0}
    original_getattr = strict_backend.StrictArray.__getattr__

    def counting_getattr(self, name):
        if name in ("tolist", "item", "get"):
            counter["n"] += 1
        return original_getattr(self, name)

    def counting(method):
        def wrapped(*args, **kwargs):
            counter["n"] += 1
            return method(*args, **kwargs)
        return wrapped

    monkeypatch.setattr(strict_backend.StrictArray, "__getattr__", counting_getattr)
    for name in ("__float__", "__int__", "__bool__"):
        monkeypatch.setattr(strict_backend.StrictArray, name,
                            counting(getattr(strict_backend.StrictArray, name)))
    monkeypatch.setattr(type(strict_backend.strict), "asnumpy",
                        staticmethod(counting(strict_backend.strict.asnumpy)))
    return counter


@pytest.mark.parametrize("make,label,pred", [
    (metric.Accuracy, RNG.integers(0, 3, 8), scores(8, 3)),
    (lambda: metric.TopKAccuracy(2), RNG.integers(0, 3, 8), scores(8, 3)),
    (metric.F1, RNG.integers(0, 2, 8), scores(8, 2)),
    (lambda: metric.MCC(average="micro"), RNG.integers(0, 2, 8), scores(8, 2)),
    (metric.PCC, RNG.integers(0, 3, 8), scores(8, 3)),
    (metric.MAE, RNG.random(8), RNG.random(8)),
    (metric.RMSE, RNG.random(8), RNG.random(8)),
    (metric.CrossEntropy, RNG.integers(0, 3, 8), probabilities(8, 3)),
    (lambda: metric.Perplexity(0), RNG.integers(0, 3, 8), probabilities(8, 3)),
    (lambda: metric.PearsonCorrelation(average="micro"), RNG.random(8), RNG.random(8)),
    (metric.Loss, RNG.random(8), RNG.random(8)),
])
def test_one_host_transfer_per_update(host_transfers, make, label, pred):
    gpu = fw.gpu(0)
    m = make()
    label, pred = nd(label, gpu), nd(pred, gpu)
    host_transfers["n"] = 0
    m.update([label], [pred])
    assert host_transfers["n"] == 1
