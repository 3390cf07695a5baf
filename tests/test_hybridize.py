"""``HybridBlock.hybridize``: graph capture and replay (framework/ndarray/cached_op.py).

Each layer runs twice, imperatively and hybridized, from the same parameters and
random seeds, in train mode (record + backward: outputs, input and parameter
gradients, running statistics) and in predict mode, on two calls with different
data; a hybridized call must equal the imperative one exactly.
"""
import re
import warnings

import numpy as np
import pytest

import framework as fw
from framework import autograd, nd, nn
from framework.data.sampler import host_generator
from framework.ndarray import cached_op

RNG = np.random.RandomState(0)

# a fallback to imperative mode warns: every test here expects real captures unless
# it says otherwise (pytest.warns)
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


def _data(shape, ctx, kind="float"):
    if kind == "index":
        return nd.array(RNG.randint(0, 7, size=shape).astype(np.float32), ctx=ctx)
    return nd.array(RNG.uniform(-1, 1, size=shape).astype(np.float32), ctx=ctx)


def _twins(make, x, ctx):
    """The same block twice with equal parameters; the second hybridized."""
    fw.random.seed(3)
    plain, hybrid = make(), make()
    plain.initialize(fw.init.Xavier(), ctx=ctx)
    hybrid.initialize(ctx=ctx)
    plain(x)
    hybrid(x)
    for p, q in zip(plain.collect_params().values(), hybrid.collect_params().values()):
        q.set_data(p.data(ctx))
    hybrid.hybridize()
    return plain, hybrid


def _run(net, x, train: bool, seed: int):
    """Output, input gradient, parameter gradients and running statistics of one call."""
    fw.random.seed(seed)
    x = x.copy()
    if not train:
        return [net(x).asnumpy()]
    x.attach_grad()
    with autograd.record():
        y = net(x)
        loss = (y * y).sum()
    loss.backward()
    params = net.collect_params().values()
    return ([y.asnumpy(), x.grad.asnumpy()]
            + [p.grad().asnumpy() for p in params if p.grad_req != "null"]
            + [p.data().asnumpy() for p in params if p.grad_req == "null"])


def _check(make, shape, ctx, kind="float"):
    x = _data(shape, ctx, kind)
    plain, hybrid = _twins(make, x, ctx)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)      # no fallback: really captured
        for call in range(2):
            x = _data(shape, ctx, kind)
            for train in (True, False):
                want = _run(plain, x, train, 10 + call)
                got = _run(hybrid, x, train, 10 + call)
                for w, g in zip(want, got):
                    np.testing.assert_array_equal(g, w)
    assert hybrid._cached_op.entries, "the hybridized block kept no capture"


def _seq(*blocks):
    net = nn.HybridSequential()
    net.add(*blocks)
    return net


LAYERS = {
    "Dense": (lambda: nn.Dense(5, activation="tanh"), (3, 4)),
    "Dense-flatten-false": (lambda: nn.Dense(5, flatten=False, in_units=4), (2, 3, 4)),
    "Conv1D": (lambda: nn.Conv1D(3, 3, padding=1, activation="relu"), (2, 2, 7)),
    "Conv2D": (lambda: nn.Conv2D(4, 3, strides=2, use_bias=False), (2, 3, 7, 7)),
    "Conv3D": (lambda: nn.Conv3D(2, 2), (1, 2, 4, 4, 4)),
    "Conv2DTranspose": (lambda: nn.Conv2DTranspose(3, 3, strides=2), (2, 2, 4, 4)),
    "Conv1DTranspose": (lambda: nn.Conv1DTranspose(2, 3, strides=2, output_padding=1),
                        (2, 3, 5)),
    "Conv3DTranspose": (lambda: nn.Conv3DTranspose(2, 2), (1, 2, 3, 3, 3)),
    "MaxPool1D": (lambda: _seq(nn.Conv1D(2, 1), nn.MaxPool1D(3, 2, 1)), (2, 2, 9)),
    "MaxPool2D": (lambda: _seq(nn.Conv2D(2, 1), nn.MaxPool2D(2)), (2, 2, 6, 6)),
    "MaxPool3D": (lambda: _seq(nn.Conv3D(2, 1), nn.MaxPool3D(2)), (1, 2, 4, 4, 4)),
    "AvgPool2D": (lambda: _seq(nn.Conv2D(2, 1), nn.AvgPool2D(3, 1, 1, ceil_mode=True,
                                                             count_include_pad=False)),
                  (2, 2, 5, 5)),
    "AvgPool3D": (lambda: _seq(nn.Conv3D(2, 1), nn.AvgPool3D(2)), (1, 2, 4, 4, 4)),
    "GlobalMaxPool1D": (lambda: _seq(nn.Conv1D(2, 1), nn.GlobalMaxPool1D()), (2, 2, 5)),
    "AvgPool1D": (lambda: _seq(nn.Conv1D(2, 1), nn.AvgPool1D(3, 2, 1)), (2, 2, 9)),
    "GlobalAvgPool2D": (lambda: _seq(nn.Conv2D(3, 1), nn.GlobalAvgPool2D()), (2, 2, 5, 5)),
    "GlobalMaxPool3D": (lambda: _seq(nn.Conv3D(2, 1), nn.GlobalMaxPool3D()), (1, 2, 3, 3, 3)),
    "BatchNorm": (lambda: _seq(nn.Conv2D(3, 1), nn.BatchNorm()), (4, 2, 3, 3)),
    "LayerNorm": (lambda: _seq(nn.Dense(6), nn.LayerNorm()), (3, 4)),
    "InstanceNorm": (lambda: _seq(nn.Conv1D(4, 1), nn.InstanceNorm()), (2, 3, 5)),
    "GroupNorm": (lambda: _seq(nn.Conv1D(4, 1), nn.GroupNorm(num_groups=2)), (2, 3, 5)),
    "Dropout": (lambda: _seq(nn.Dense(8), nn.Dropout(0.5)), (4, 6)),
    "Dropout-axes": (lambda: _seq(nn.Dense(8, flatten=False), nn.Dropout(0.3, axes=(1,))),
                     (2, 3, 5)),
    "PReLU": (lambda: _seq(nn.Dense(5), nn.PReLU()), (3, 4)),
    "LeakyReLU": (lambda: _seq(nn.Dense(5), nn.LeakyReLU(0.1)), (3, 4)),
    "ELU": (lambda: _seq(nn.Dense(5), nn.ELU()), (3, 4)),
    "SELU": (lambda: _seq(nn.Dense(5), nn.SELU()), (3, 4)),
    "GELU": (lambda: _seq(nn.Dense(5), nn.GELU()), (3, 4)),
    "Swish": (lambda: _seq(nn.Dense(5), nn.Swish()), (3, 4)),
    "SiLU": (lambda: _seq(nn.Dense(5), nn.SiLU()), (3, 4)),
    "rrelu": (lambda: _seq(nn.Dense(6), nn.HybridLambda(
        lambda F, x: F.LeakyReLU(x, act_type="rrelu", lower_bound=0.1, upper_bound=0.4))),
        (3, 4)),
    "BatchNorm-no-scale": (lambda: _seq(nn.Dense(4), nn.BatchNorm(scale=False, center=False,
                                                                  momentum=0.5)), (5, 3)),
    "activations": (lambda: _seq(nn.Dense(5, activation="sigmoid"), nn.Activation("softrelu"),
                                 nn.Activation("softsign"), nn.Dense(3, activation="relu")),
                    (3, 4)),
    "Flatten": (lambda: _seq(nn.Conv2D(2, 1), nn.Flatten(), nn.Dense(3)), (2, 2, 3, 3)),
    "HybridLambda": (lambda: _seq(nn.Dense(4), nn.HybridLambda(lambda F, x: F.tanh(x) * x + 1)),
                     (3, 4)),
    "HybridConcatenate": (lambda: (lambda c: (c.add(nn.Dense(3), nn.Dense(2)), c)[1])(
        nn.HybridConcatenate(axis=1)), (3, 4)),
    "Identity": (lambda: _seq(nn.Dense(3), nn.Identity()), (2, 4)),
    "PixelShuffle2D": (lambda: _seq(nn.Conv2D(8, 1), nn.PixelShuffle2D(2)), (1, 2, 3, 3)),
    "ReflectionPad2D": (lambda: _seq(nn.Conv2D(2, 1), nn.ReflectionPad2D(1)), (1, 2, 4, 4)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_hybridized_equals_imperative(name, ctx):
    make, shape = LAYERS[name]
    _check(make, shape, ctx)


def test_embedding_hybridized_equals_imperative(ctx):
    """Embedding's indices are an input of its operator (converted in its forward):
    captured, replayed with each call's indices, equal to imperative bit for bit."""
    _check(lambda: nn.Embedding(7, 4), (2, 3), ctx, "index")
    _check(lambda: _seq(nn.Embedding(7, 5), nn.Dense(3)), (4,), ctx, "index")


class _Indexed(fw.HybridBlock):
    """Dense, then an index operator with the second input as its indices."""

    def __init__(self, apply, **kwargs):
        super().__init__(**kwargs)
        self.index_fn = apply
        self.dense = nn.Dense(6, flatten=False)

    def hybrid_forward(self, F, x, idx):
        return self.index_fn(F, self.dense(x), idx)


INDEXED = {
    # name: (apply(F, y, idx), x shape, idx maker(rng) -> numpy array)
    "take": (lambda F, y, i: F.take(y, i, axis=1), (2, 4, 3),
             lambda r: r.randint(-1, 6, size=(2, 2)).astype(np.float32)),
    "take-wrap": (lambda F, y, i: F.take(y, i, axis=0, mode="wrap"), (3, 4),
                  lambda r: r.randint(-4, 7, size=(5,)).astype(np.float32)),
    "pick": (lambda F, y, i: F.pick(y, i, axis=1), (5, 4),
             lambda r: r.randint(0, 6, size=(5,)).astype(np.float32)),
    "pick-keepdims": (lambda F, y, i: F.pick(y, i, axis=2, keepdims=True), (2, 3, 4),
                      lambda r: r.randint(0, 7, size=(2, 3, 1)).astype(np.float32)),
    "topk-value": (lambda F, y, i: F.topk(y, k=3, ret_typ="value") * i, (4, 5),
                   lambda r: r.uniform(size=(4, 1)).astype(np.float32)),
    "topk-both": (lambda F, y, i: (lambda v: v[0] * i + v[1])(
        F.topk(y, axis=0, k=2, ret_typ="both")), (4, 5),
                  lambda r: r.uniform(size=(1, 6)).astype(np.float32)),
    "topk-mask": (lambda F, y, i: F.topk(y, k=2, ret_typ="mask", axis=None) * y + i, (3, 4),
                  lambda r: r.uniform(size=(3, 6)).astype(np.float32)),
    "sort": (lambda F, y, i: F.sort(y, axis=0, is_ascend=False) + i, (4, 5),
             lambda r: r.uniform(size=(4, 6)).astype(np.float32)),
    "argsort": (lambda F, y, i: F.argsort(y) * y + i, (3, 5),
                lambda r: r.uniform(size=(3, 6)).astype(np.float32)),
    "softmax_cross_entropy": (lambda F, y, i: F.softmax_cross_entropy(y, i), (5, 4),
                              lambda r: r.randint(0, 6, size=(5,)).astype(np.float32)),
}


def _check_two_inputs(make, x_shape, make_idx, ctx):
    """``make()`` applied to (x, idx) twice, imperatively and hybridized: outputs, the
    gradients of x and of the parameters are equal, on two calls with new data."""
    rng = np.random.RandomState(5)
    x0 = nd.array(rng.uniform(-1, 1, x_shape).astype(np.float32), ctx=ctx)
    i0 = nd.array(make_idx(rng), ctx=ctx)
    fw.random.seed(3)
    plain, hybrid = make(), make()
    plain.initialize(fw.init.Xavier(), ctx=ctx)
    hybrid.initialize(ctx=ctx)
    plain(x0, i0)
    hybrid(x0, i0)
    for p, q in zip(plain.collect_params().values(), hybrid.collect_params().values()):
        q.set_data(p.data(ctx))
    hybrid.hybridize()

    def run(net, x, idx, train):
        if not train:
            return [net(x, idx).asnumpy()]
        x = x.copy()
        x.attach_grad()
        with autograd.record():
            y = net(x, idx)
            loss = (y * y).sum()
        loss.backward()
        return [y.asnumpy(), x.grad.asnumpy()] + [
            p.grad().asnumpy() for p in net.collect_params().values()]

    for call in range(2):
        x = nd.array(rng.uniform(-1, 1, x_shape).astype(np.float32), ctx=ctx)
        idx = nd.array(make_idx(rng), ctx=ctx)
        for train in (True, False):
            want, got = run(plain, x, idx, train), run(hybrid, x, idx, train)
            for w, g in zip(want, got):
                np.testing.assert_array_equal(g, w)
    assert hybrid._cached_op.entries, "the hybridized block kept no capture"
    return hybrid


@pytest.mark.parametrize("name", sorted(INDEXED))
def test_index_operator_hybridized_equals_imperative(name, ctx):
    """take/pick with array indices, topk/sort/argsort and softmax_cross_entropy
    capture (no fallback warning) and replay with each call's indices exactly."""
    apply, x_shape, make_idx = INDEXED[name]
    _check_two_inputs(lambda: _Indexed(apply), x_shape, make_idx, ctx)


class _NetWithLoss(fw.HybridBlock):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.body = _seq(nn.Dense(8, activation="relu"), nn.Dense(4))
        self.loss = fw.loss.SoftmaxCrossEntropyLoss()

    def hybrid_forward(self, F, x, label):
        return self.loss(self.body(x), label)


def test_net_ending_in_softmax_cross_entropy_loss_is_captured(ctx):
    _check_two_inputs(_NetWithLoss, (6, 5),
                      lambda r: r.randint(0, 4, size=(6,)).astype(np.float32), ctx)


# ----------------------------------------------------------- replay, not Python
class Counting(fw.HybridBlock):
    """Counts how often its Python runs."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.calls = 0
        with self.name_scope():
            self.dense = nn.Dense(3, in_units=4)

    def hybrid_forward(self, F, x):
        self.calls += 1
        return F.relu(self.dense(x)) * 2 - 1


def test_replay_runs_no_python_and_follows_parameter_updates():
    net = Counting()
    net.initialize()
    net.hybridize()
    trainer = fw.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.5})
    x = _data((5, 4), fw.cpu())
    for step in range(3):
        with autograd.record():
            y = net(x)
        y.backward()
        trainer.step(5)
    assert net.calls == 1
    w, b = net.dense.weight.data().asnumpy(), net.dense.bias.data().asnumpy()
    want = np.maximum(x.asnumpy() @ w.T + b, 0) * 2 - 1
    np.testing.assert_allclose(net(x).asnumpy(), want, rtol=1e-6, atol=1e-6)
    assert net.calls == 2                      # predict mode: a new signature, one trace
    net(x)
    assert net.calls == 2


class Branchy(fw.HybridBlock):
    """Python branches on the modes and on the shape: each signature its own trace."""

    def hybrid_forward(self, F, x):
        y = x * 2 if autograd.is_training() else x * 3
        if x.shape[0] > 2:
            y = y + 100
        if autograd.is_recording():
            y = y - 0.5
        return y


def test_signature_changes_trace_again():
    net = Branchy()
    net.hybridize()
    x2, x3 = nd.ones((2, 2)), nd.ones((3, 2))
    assert net(x2).asnumpy()[0, 0] == 3
    assert net(x3).asnumpy()[0, 0] == 103
    with autograd.train_mode():
        assert net(x2).asnumpy()[0, 0] == 2
    with autograd.record():
        assert net(x3).asnumpy()[0, 0] == 101.5
    with autograd.record(train_mode=False):
        assert net(x2).asnumpy()[0, 0] == 2.5
    assert net(x2.astype("float64")).dtype == np.float64
    assert len(net._cached_op.entries) == 6
    assert net(x2).asnumpy()[0, 0] == 3 and net(x3).asnumpy()[0, 0] == 103


# --------------------------------------------------------------- not capturable
class Refused(fw.HybridBlock):
    def __init__(self, how, **kwargs):
        super().__init__(**kwargs)
        self.how = how

    def hybrid_forward(self, F, x):
        y = x * 2
        if self.how == "asnumpy":
            return y + float(y.asnumpy().sum())
        if self.how == "bool":
            return y if (y.sum() > 0) else -y
        if self.how == "item":
            return y * y.max().item()
        if self.how == "inplace":
            y += 1
            return y
        if self.how == "setitem":
            y[0] = 5
            return y
        if self.how == "random":                # a draw outside an operator
            return y + float(host_generator().random_sample())
        if self.how == "raw":
            return y + F.array(y.data * 3, ctx=x.context)
        raise AssertionError(self.how)


@pytest.mark.parametrize("how", ["asnumpy", "bool", "item", "inplace", "setitem", "random",
                                 "raw"])
def test_not_capturable_falls_back_with_the_imperative_result(how):
    net = Refused(how, prefix="refused_")
    net.hybridize()
    for sign in (1, -1):                       # the branch must follow the data
        x = nd.array([[sign * 1.0, 2.0], [3.0, 4.0]])
        x.attach_grad()
        fw.random.seed(5)
        with pytest.warns(RuntimeWarning, match="refused_") if sign == 1 else \
                warnings.catch_warnings():
            with autograd.record():
                got = net(x)
            got.backward()
        got_grad = x.grad.asnumpy().copy()
        twin = Refused(how)
        fw.random.seed(5)
        with autograd.record():
            want = twin(x)
        want.backward()
        np.testing.assert_array_equal(got.asnumpy(), want.asnumpy())
        np.testing.assert_array_equal(got_grad, x.grad.asnumpy())


class Noisy(fw.HybridBlock):
    """Samplers inside hybrid_forward: by shape, like an input, from array parameters."""

    def hybrid_forward(self, F, x):
        noise = F.random.normal(0, 0.5, shape=x.shape, ctx=x.context)
        spread = F.random.uniform(F.zeros_like(x), F.ones_like(x) * 2)
        return x * x + noise + spread * F.random.normal_like(x)


class Choosing(fw.HybridBlock):
    """Samplers that read their input's values: multinomial (with its log-probability,
    differentiable) and shuffle."""

    def hybrid_forward(self, F, x):
        probs = F.softmax(x, axis=-1)
        picked, logp = F.random.multinomial(probs, shape=(5,), get_prob=True)
        return F.random.shuffle(x) * 2 + logp.sum(axis=-1, keepdims=True) \
            + picked.astype("float32").sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("make", [Noisy, Choosing])
def test_samplers_are_captured_and_draw_anew_on_every_replay(ctx, make):
    """No fallback: the captured program draws, so each call differs, and under one seed
    the hybridized calls equal the imperative ones, values and gradients."""
    x = nd.array(RNG.standard_normal((3, 4)).astype(np.float32), ctx=ctx)

    def calls(block):
        fw.random.seed(8)
        out = []
        for _ in range(3):
            x.attach_grad()
            with autograd.record():
                y = block(x)
            y.backward()
            out.append((y.asnumpy(), x.grad.asnumpy()))
        return out

    want = calls(make())
    net = make()
    net.hybridize()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        got = calls(net)
    assert all(e is not cached_op._IMPERATIVE for e in net._cached_op.entries.values())
    for (gy, gg), (wy, wg) in zip(got, want):
        np.testing.assert_array_equal(gy, wy)
        np.testing.assert_array_equal(gg, wg)
    assert not np.array_equal(got[1][0], got[2][0])      # replays draw anew


def test_a_variable_outside_inputs_and_parameters_falls_back():
    w = nd.array([1.0, 2.0])
    w.attach_grad()
    net = nn.HybridLambda(lambda F, x: x * w)
    net.hybridize()
    x = nd.array([3.0, 4.0])
    with pytest.warns(RuntimeWarning, match="neither an input nor a Parameter"):
        with autograd.record():
            y = net(x)
    y.backward()
    np.testing.assert_array_equal(w.grad.asnumpy(), [3.0, 4.0])


# -------------------------------------------------------------- autograd details
class _Scaled(fw.HybridBlock):
    """x * c * 2 + x * x: the first product's gradient reads only c (an attribute, no
    gradient), the last one's reads x."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.c = nd.array([1.5, -2.0, 0.5])

    def hybrid_forward(self, F, x):
        return F.broadcast_mul(x, self.c) * 2 + x * x


def test_only_what_wanted_gradients_read_is_kept_and_every_order_stays_exact():
    """``(x * c) * 2`` keeps neither ``x * c`` nor, for that product, ``x`` (their only
    readers would be the constants' gradients), so the saved state holds c (for x's
    gradient of x * c) and x (for x * x); the first and second derivatives (the latter
    through the rebuilt graph) equal the imperative ones."""
    x0 = nd.array([0.3, -1.2, 2.0])
    results = []
    for hybrid in (False, True):
        net = _Scaled()
        if hybrid:
            net.hybridize()
        for _ in range(2):                     # the second call replays
            x = x0.copy()
            x.attach_grad()
            with autograd.record():
                y = net(x)
                g = autograd.grad(y, [x], head_grads=nd.ones_like(y), create_graph=True)[0]
                z = (g * g).sum()
            z.backward()
            results.append((y.asnumpy(), g.asnumpy(), x.grad.asnumpy()))
        if hybrid:
            x = x0.copy()
            x.attach_grad()
            with autograd.record():
                y = net(x)
            saved = y._node.saved
            np.testing.assert_array_equal(sorted(np.concatenate(saved)),
                                          sorted(np.concatenate([x0.asnumpy(),
                                                                 net.c.asnumpy()])))
    for got, want in zip(results[2:], results[:2]):
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-6)
    np.testing.assert_allclose(results[0][1], 2 * np.array([1.5, -2.0, 0.5]) + 2 * x0.asnumpy(),
                               rtol=1e-6)


def test_higher_order_gradient_penalty_equals_imperative():
    """WGAN-GP: grad(create_graph=True) through a hybridized critic falls back to the
    operators' own rules, so the penalty's parameter gradients are exact."""
    def critic():
        net = _seq(nn.Dense(8, activation="tanh", in_units=3), nn.Dense(1, in_units=8))
        return net

    x = _data((4, 3), fw.cpu())
    plain, hybrid = _twins(critic, x, fw.cpu())
    results = []
    for net in (plain, hybrid):
        for _ in range(2):                     # the second call replays
            xi = x.copy()
            xi.attach_grad()
            with autograd.record():
                out = net(xi)
                g = autograd.grad(out, [xi], head_grads=nd.ones_like(out),
                                  create_graph=True)[0]
                penalty = ((g.norm(axis=1) - 1) ** 2).mean() + out.mean()
            penalty.backward()
        results.append([penalty.asnumpy()] + [p.grad().asnumpy()
                                              for p in net.collect_params().values()])
    # equal to float32 rounding: the hybridized call is one node, so the gradients that
    # meet at a Parameter are added in another order
    for w, g in zip(*results):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-7)


def test_training_loop_equals_imperative_bit_for_bit(ctx):
    def make():
        return _seq(nn.Dense(16, activation="relu"), nn.BatchNorm(), nn.Dropout(0.2),
                    nn.Dense(10))

    x = _data((8, 12), ctx)
    plain, hybrid = _twins(make, x, ctx)
    loss_fn = fw.loss.SoftmaxCrossEntropyLoss()
    trainers = [fw.Trainer(n.collect_params(), "adam", {"learning_rate": 0.01})
                for n in (plain, hybrid)]
    for step in range(4):
        x = _data((8, 12), ctx)
        label = nd.array(RNG.randint(0, 10, size=8), ctx=ctx)
        losses = []
        for net, trainer in zip((plain, hybrid), trainers):
            fw.random.seed(step)
            with autograd.record():
                loss = loss_fn(net(x), label)
            loss.backward()
            trainer.step(8)
            losses.append(loss.asnumpy())
        np.testing.assert_array_equal(losses[1], losses[0])
    for p, q in zip(plain.collect_params().values(), hybrid.collect_params().values()):
        np.testing.assert_array_equal(q.data(ctx).asnumpy(), p.data(ctx).asnumpy())


def test_block_hybridize_recurses_into_hybrid_children():
    class Model(fw.Block):
        def __init__(self):
            super().__init__()
            with self.name_scope():
                self.encoder = _seq(nn.Dense(4, in_units=3), nn.Activation("relu"))
                self.head = nn.Dense(2, in_units=4)

        def forward(self, x):
            h = self.encoder(x)
            return self.head(h) + h.sum()        # imperative glue between the children

    net = Model()
    net.initialize()
    x = _data((2, 3), fw.cpu())
    want = net(x).asnumpy()
    net.hybridize()
    assert net.encoder._active and net.head._active and net.encoder[0]._active
    np.testing.assert_array_equal(net(x).asnumpy(), want)
    assert net.encoder._cached_op.entries and net.head._cached_op.entries
    assert not net.encoder[0]._cached_op.entries       # inlined in its parent's capture
    net.hybridize(active=False)
    assert not net.encoder._active


def test_grad_req_add_and_shared_parameters():
    class Tied(fw.HybridBlock):
        def __init__(self):
            super().__init__()
            with self.name_scope():
                self.a = nn.Dense(3, in_units=3)
                self.b = nn.Dense(3, in_units=3, params=self.a.params)

        def hybrid_forward(self, F, x):
            return self.b(F.tanh(self.a(x)))

    x = _data((2, 3), fw.cpu())
    plain, hybrid = _twins(Tied, x, fw.cpu())
    for net in (plain, hybrid):
        net.collect_params().setattr("grad_req", "add")
        net.collect_params().zero_grad()
        for _ in range(3):
            with autograd.record():
                y = net(x)
            y.backward()
    for p, q in zip(plain.collect_params().values(), hybrid.collect_params().values()):
        np.testing.assert_array_equal(q.grad().asnumpy(), p.grad().asnumpy())


class TwoOut(fw.HybridBlock):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.dense = nn.Dense(3, in_units=2)

    def hybrid_forward(self, F, x, scale):
        h = self.dense(x)
        return [h * scale, (F.sigmoid(h), x)], h.shape[1]


def test_several_inputs_nested_outputs_and_retain_graph():
    x, s = _data((4, 2), fw.cpu()), _data((4, 3), fw.cpu())
    plain, hybrid = TwoOut(), TwoOut()
    plain.initialize()
    hybrid.initialize()
    plain(x, s)
    hybrid(x, s)
    hybrid.dense.weight.set_data(plain.dense.weight.data())
    hybrid.dense.bias.set_data(plain.dense.bias.data())
    hybrid.hybridize()
    grads = []
    for net in (plain, hybrid):
        for _ in range(2):
            xi, si = x.copy(), s.copy()
            xi.attach_grad()
            si.attach_grad()
            with autograd.record():
                (a, (b, c)), width = net(xi, si)
                loss = (a * b).sum() + c.sum()
            loss.backward(retain_graph=True)
            loss.backward()                    # the second pass adds nothing new: 'write'
        assert width == 3
        grads.append([xi.grad.asnumpy(), si.grad.asnumpy(), net.dense.weight.grad().asnumpy()])
    for w, g in zip(*grads):
        np.testing.assert_array_equal(g, w)


def test_two_calls_before_backward_and_in_place_checks():
    net = _seq(nn.Conv2D(3, 3, in_channels=2), nn.Activation("tanh"))
    net.initialize()
    net.hybridize()
    x1, x2 = _data((1, 2, 5, 5), fw.cpu()), _data((1, 2, 5, 5), fw.cpu())
    with autograd.record():
        y1 = net(x1)
        y2 = net(x2)
        loss = (y1 * 2).sum() + (y2 * 3).sum()
    loss.backward()
    got = net[0].weight.grad().asnumpy().copy()
    net.hybridize(active=False)
    with autograd.record():
        loss = (net(x1) * 2).sum() + (net(x2) * 3).sum()
    loss.backward()
    np.testing.assert_array_equal(got, net[0].weight.grad().asnumpy())
    net.hybridize()
    with autograd.record():
        y = net(x1)
    y[:] = 0                                   # tanh's backward reads its output
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_block_attribute_arrays_are_inputs_of_the_capture():
    class Scaled(fw.HybridBlock):
        def __init__(self):
            super().__init__()
            self.scale = nd.array([2.0])

        def hybrid_forward(self, F, x):
            return F.broadcast_mul(x, self.scale * 3)

    net = Scaled()
    net.hybridize()
    x = nd.array([1.0, 2.0])
    np.testing.assert_array_equal(net(x).asnumpy(), [6.0, 12.0])
    net.scale[:] = 1.0                         # written in place
    np.testing.assert_array_equal(net(x).asnumpy(), [3.0, 6.0])
    net.scale = nd.array([-1.0])               # replaced
    np.testing.assert_array_equal(net(x).asnumpy(), [-3.0, -6.0])


def test_generated_program_is_straight_line_code():
    class Chain(fw.HybridBlock):
        def hybrid_forward(self, F, x):
            return (x * 1.5 + 2) - 0.5

    net = Chain()
    net.hybridize()
    x = nd.ones((3,))
    x.attach_grad()
    with autograd.record():
        y = net(x)
    y.backward()
    entry = next(iter(net._cached_op.entries.values()))
    source = entry.forward.__source__
    assert source.count("\n") == 5 and "forward(" not in source.split("\n", 1)[1]
    np.testing.assert_array_equal(x.grad.asnumpy(), [1.5] * 3)
    assert isinstance(entry, cached_op._Entry)


def test_ufuncs_write_into_operands_that_die_with_them():
    """Without static_alloc, an elementwise result is written into a fresh operand that
    dies at that line (no allocation); a value saved for backward, an input and an
    output are never overwritten: outputs and gradients equal imperative bit for bit,
    and two calls' outputs do not share memory."""
    class Mixed(fw.HybridBlock):
        def hybrid_forward(self, F, x):
            a = x * 3 - 1                      # a dies in the next line: written in place
            b = (a + 0.5) * (a + 0.5)          # a product: saved for the gradient
            return b * 2 + x, F.tanh(b) - 1

    plain, hybrid = Mixed(), Mixed()
    hybrid.hybridize()
    values, outputs = [], []
    for net in (plain, hybrid, hybrid):
        x = nd.array(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4))
        x.attach_grad()
        with autograd.record():
            y, z = net(x)
            loss = (y * z).sum()
        loss.backward()
        values.append([y.asnumpy(), z.asnumpy(), x.grad.asnumpy(), x.asnumpy()])
        outputs.append((y.data, x.data))
    source = next(iter(hybrid._cached_op.entries.values())).forward.__source__
    assert re.search(r"^\s+(v\d+) = K\d+\(\1, K\d+, \1\)$", source, re.M), source
    for got in values[1:]:
        for a, b in zip(values[0], got):
            np.testing.assert_array_equal(b, a)
    assert not np.shares_memory(outputs[1][0], outputs[2][0])
    assert not np.shares_memory(outputs[1][0], outputs[1][1])


def test_static_alloc_reuses_buffers_and_stays_exact():
    class Elementwise(fw.HybridBlock):
        def hybrid_forward(self, F, x):
            a = x * 1.5 + 2
            b = a * a - x
            return F.tanh(b / 3) + a * 0.5

    x = _data((64, 40), fw.cpu())
    plain, hybrid = Elementwise(), Elementwise()
    hybrid.hybridize(static_alloc=True, static_shape=True)
    for call in range(3):
        xi = _data((64, 40), fw.cpu())
        for train in (False, True):
            want, got = _run(plain, xi, train, call), _run(hybrid, xi, train, call)
            for w, g in zip(want, got):
                np.testing.assert_array_equal(g, w)
    entries = list(hybrid._cached_op.entries.values())
    assert all(e.forward_buffers is not None for e in entries)
    forward = entries[0].forward.__source__
    assert re.search(r"= K\d+\(.*, (out=)?b\d+\)$", forward, re.M), forward  # into a buffer
    first = hybrid(x)
    second = hybrid(x * 2)                     # the buffers are reused: outputs are not
    assert not np.shares_memory(first.data, second.data)
    np.testing.assert_array_equal(first.asnumpy(), plain(x).asnumpy())


def test_batchnorm_retain_graph_identity_and_repeated_inputs():
    class Pair(fw.HybridBlock):
        def __init__(self):
            super().__init__()
            with self.name_scope():
                self.bn = nn.BatchNorm(in_channels=3)

        def hybrid_forward(self, F, a, b, skip=None):
            out = self.bn(a) * b
            return (out, a) if skip is None else (out + skip, a)

    x = _data((4, 3, 2), fw.cpu())
    plain, hybrid = Pair(), Pair()
    for net in (plain, hybrid):
        net.initialize()
    hybrid.hybridize()
    results = []
    for net in (plain, hybrid):
        got = []
        for skip in (None, 1.5, None):
            fw.random.seed(0)
            xi = x.copy()
            xi.attach_grad()
            with autograd.record():
                out, same = net(xi, xi, skip)          # one array passed twice
                loss = (out * out).sum() + (same * 3).sum()
            loss.backward(retain_graph=True)
            first = xi.grad.asnumpy().copy()
            loss.backward()
            got += [out.asnumpy(), first, xi.grad.asnumpy(), net.bn.gamma.grad().asnumpy(),
                    net.bn.running_mean.data().asnumpy()]
        results.append(got)
    # equal to float32 rounding: xi reaches the hybridized node twice, and its three
    # gradients are added in another order than imperative mode adds them
    for w, g in zip(*results):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6)
    assert len(hybrid._cached_op.entries) == 2


def test_each_input_position_is_its_own_source():
    net = nn.HybridLambda(lambda F, a, b: a * 2 + b)
    net.hybridize()
    x, y = nd.array([1.0, 2.0]), nd.array([10.0, 20.0])
    np.testing.assert_array_equal(net(x, x).asnumpy(), [3.0, 6.0])
    np.testing.assert_array_equal(net(x, y).asnumpy(), [12.0, 24.0])    # a replay
    assert len(net._cached_op.entries) == 1


def test_op_overhead_benchmark_hybridized_row():
    """benchmarks/op_overhead.py's hybridized chain (no timing): it replays, and its
    gradient is the imperative chain's."""
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "op_overhead.py"
    spec = importlib.util.spec_from_file_location("op_overhead_for_test", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    want = bench.chain_framework(30)[2]
    for _ in range(2):                         # the trace, then a replay
        np.testing.assert_array_equal(bench.chain_hybridized(30)[2], want)
    entry = next(iter(bench._HYBRID_CHAINS[30]._cached_op.entries.values()))
    assert entry.needs_node and entry.forward.__source__.count("\n") == 32


def test_copies_of_a_hybridized_block_trace_anew():
    import copy
    import pickle
    net = _seq(nn.Dense(3, in_units=2))
    net.initialize()
    net.hybridize()
    x = _data((2, 2), fw.cpu())
    net(x)
    twin = copy.deepcopy(net)
    twin[0].weight.set_data(nd.zeros((3, 2)))
    np.testing.assert_array_equal(twin(x).asnumpy(), np.broadcast_to(
        twin[0].bias.data().asnumpy(), (2, 3)))
    assert net(x).asnumpy().any()
    assert pickle.loads(pickle.dumps(net._cached_op)).entries == {}


def test_sequential_with_lambda_hybridizes_its_hybrid_children(ctx):
    def make():
        net = nn.Sequential()
        net.add(nn.Dense(4, activation="relu"), nn.Lambda(lambda x: nd.sqrt(x + 1)),
                nn.Dense(2))
        return net

    x = _data((3, 5), ctx)
    plain, hybrid = _twins(make, x, ctx)
    for call in range(2):
        xi = _data((3, 5), ctx)
        for w, g in zip(_run(plain, xi, True, call), _run(hybrid, xi, True, call)):
            np.testing.assert_array_equal(g, w)
    assert hybrid[0]._cached_op.entries and hybrid[2]._cached_op.entries
