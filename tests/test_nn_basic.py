"""Basic layers: Dense against torch.nn.Linear, Flatten, Lambda, HybridLambda, Identity,
Concatenate, and Sequential/HybridSequential containers."""
import numpy as np
import pytest
import torch

import framework as fw
from framework import autograd, nd
from framework.test_utils import assert_almost_equal

rng = np.random.RandomState(5)


def _r(*shape):
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("shape,flatten,use_bias", [
    ((4, 6), True, True),
    ((3, 2, 3), True, True),          # flattened to (3, 6)
    ((2, 3, 6), False, True),         # applied to the last axis
    ((4, 6), True, False),
])
def test_dense_matches_torch_linear(shape, flatten, use_bias, ctx):
    units, in_units = 5, 6
    layer = fw.nn.Dense(units, use_bias=use_bias, flatten=flatten)
    layer.initialize(fw.init.Xavier(), ctx=ctx)
    xh = _r(*shape)
    x = nd.array(xh, ctx=ctx)
    layer(x)                                    # the first call infers in_units
    assert layer.weight.shape == (units, in_units)
    ref = torch.nn.Linear(in_units, units, bias=use_bias)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(layer.weight.data().asnumpy()))
        if use_bias:
            ref.bias.copy_(torch.from_numpy(_r(units)))
            layer.bias.set_data(nd.array(ref.bias.numpy()))
    x.attach_grad()
    with autograd.record():
        y = layer(x)
    head = _r(*y.shape)
    y.backward(nd.array(head, ctx=ctx))
    xt = torch.tensor(xh, requires_grad=True)
    yt = ref(xt.reshape(shape[0], -1) if flatten else xt)
    yt.backward(torch.from_numpy(head))
    tol = dict(rtol=1e-5, atol=1e-5)
    assert_almost_equal(y, yt.detach().numpy(), **tol)
    assert_almost_equal(x.grad, xt.grad.numpy(), **tol)
    assert_almost_equal(layer.weight.grad(), ref.weight.grad.numpy(), **tol)
    if use_bias:
        assert_almost_equal(layer.bias.grad(), ref.bias.grad.numpy(), **tol)
    else:
        assert layer.bias is None and list(layer._reg_params) == ["weight"]


def test_dense_second_order_gradient(ctx):
    """d/dW of ||d tanh(Dense(x)) / dx||^2, against torch (a gradient-penalty pattern)."""
    layer = fw.nn.Dense(3, in_units=4)
    layer.initialize(fw.init.Normal(0.5), ctx=ctx)
    xh = _r(2, 4)
    x = nd.array(xh, ctx=ctx)
    x.attach_grad()
    with autograd.record():
        y = nd.tanh(layer(x))
        (gx,) = autograd.grad(y, [x], create_graph=True)
        penalty = (gx * gx).sum()
    penalty.backward()
    w = torch.tensor(layer.weight.data().asnumpy(), requires_grad=True)
    b = torch.tensor(layer.bias.data().asnumpy(), requires_grad=True)
    xt = torch.tensor(xh, requires_grad=True)
    yt = torch.tanh(xt @ w.T + b)
    (gxt,) = torch.autograd.grad(yt.sum(), [xt], create_graph=True)
    (gxt * gxt).sum().backward()
    assert_almost_equal(layer.weight.grad(), w.grad.numpy(), rtol=1e-4, atol=1e-5)
    assert_almost_equal(layer.bias.grad(), b.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_dense_parameters_and_options():
    d = fw.nn.Dense(4, in_units=3, dtype="float64", weight_initializer="ones",
                    bias_initializer=fw.init.Constant(0.5))
    d.initialize()
    assert d.weight.data().dtype == np.float64
    assert_almost_equal(d(nd.ones((2, 3), dtype="float64")), np.full((2, 4), 3.5))
    assert d.weight.name == d.prefix + "weight" and d.bias.name == d.prefix + "bias"
    assert repr(d) == "Dense(3 -> 4, linear)"
    with pytest.raises(ValueError, match="operator FullyConnected: data of shape"):
        d(nd.ones((2, 5), dtype="float64"))


def test_flatten_identity_lambdas(ctx):
    x = nd.array(_r(2, 3, 4), ctx=ctx)
    assert fw.nn.Flatten()(x).shape == (2, 12) and repr(fw.nn.Flatten()) == "Flatten"
    assert fw.nn.Identity()(x) is x
    assert_almost_equal(fw.nn.Lambda("tanh")(x), np.tanh(x.asnumpy()), rtol=1e-6)
    assert_almost_equal(fw.nn.Lambda(lambda a, b: a * b)(x, x), x.asnumpy() ** 2)
    assert repr(fw.nn.Lambda("tanh")) == "Lambda(tanh)"
    assert_almost_equal(fw.nn.HybridLambda("relu")(x), np.maximum(x.asnumpy(), 0))
    double = fw.nn.HybridLambda(lambda F, a: F.broadcast_add(a, a))
    assert_almost_equal(double(x), 2 * x.asnumpy())
    assert repr(fw.nn.HybridLambda("relu")) == "HybridLambda(relu)"
    assert repr(double) == "HybridLambda(<lambda>)"
    with pytest.raises(ValueError, match="Lambda: function name 'nope' is not found"):
        fw.nn.Lambda("nope")
    with pytest.raises(ValueError, match="HybridLambda: unrecognized function in lambda: 3"):
        fw.nn.HybridLambda(3)


@pytest.mark.parametrize("kind", [fw.nn.Concatenate, fw.nn.HybridConcatenate])
def test_concatenate(kind, ctx):
    block = kind(axis=1)
    block.add(fw.nn.Dense(2, in_units=3), fw.nn.Dense(4, in_units=3), fw.nn.Identity())
    block.initialize(ctx=ctx)
    x = nd.array(_r(5, 3), ctx=ctx)
    y = block(x)
    assert y.shape == (5, 9)
    assert_almost_equal(y[:, 6:], x.asnumpy())
    assert_almost_equal(y[:, :2], block[0](x).asnumpy())
    tail = block[1:]
    assert type(tail) is kind and tail.axis == 1 and len(tail) == 2


@pytest.mark.parametrize("kind", [fw.nn.Sequential, fw.nn.HybridSequential])
def test_sequential_containers(kind, ctx):
    net = kind()
    net.add(fw.nn.Dense(4, in_units=3))
    net.add(fw.nn.Dense(2), fw.nn.Flatten())
    assert len(net) == 3 and list(net._children) == ["0", "1", "2"]
    net.initialize(ctx=ctx)
    x = nd.array(_r(2, 3), ctx=ctx)
    y = net(x)
    assert_almost_equal(y, net[1](net[0](x)).asnumpy(), rtol=1e-6)
    part = net[:2]
    assert type(part) is kind and len(part) == 2 and part[0] is net[0]
    assert part.prefix == net.prefix
    assert_almost_equal(part(x), y.asnumpy(), rtol=1e-6)
    assert net[-1] is net[2]
    assert repr(part) == (f"{kind.__name__}(\n  (0): Dense(3 -> 4, linear)\n"
                          f"  (1): Dense(4 -> 2, linear)\n)")


def test_sequential_passes_tuples_on():
    class Split(fw.HybridBlock):
        def hybrid_forward(self, F, x):
            return x, x * 2

    class Add(fw.HybridBlock):
        def hybrid_forward(self, F, x, y):
            return x + y

    net = fw.nn.HybridSequential()
    net.add(Split(), Add())
    assert_almost_equal(net(nd.ones((2,))), np.full(2, 3.0))
    both = fw.nn.HybridSequential()
    both.add(Split())
    a, b = both(nd.ones((2,)))
    assert_almost_equal(b, np.full(2, 2.0))


def test_sequential_of_plain_blocks():
    net = fw.nn.Sequential()
    net.add(fw.nn.Lambda(lambda x: x + 1), fw.nn.Dense(1, in_units=2, weight_initializer="ones"))
    net.initialize()
    assert_almost_equal(net(nd.zeros((1, 2))), np.array([[2.0]]))


def test_block_and_hybridblock_are_in_nn():
    assert fw.nn.Block is fw.Block and fw.nn.HybridBlock is fw.HybridBlock


@pytest.mark.parametrize("make,shape", [
    (lambda: fw.nn.Dense(5, activation="relu", in_units=6), (4, 6)),
    (lambda: fw.nn.Dense(5, activation="relu", flatten=False, in_units=6), (2, 3, 6)),
    (lambda: fw.nn.Conv2D(3, 3, padding=1, activation="relu", in_channels=2), (2, 2, 5, 5)),
])
def test_layer_with_relu_is_one_node_equal_to_layer_then_activation(make, shape, ctx):
    """Dense/Conv2D(activation='relu') run the activation inside their own operator
    (one graph node); with a hook on the activation block (as summary() adds) the block
    runs as its own node. Both give the same values and the same gradients at orders 1
    and 2 (a gradient penalty), NaN included."""
    layer = make()
    layer.initialize(fw.init.Xavier(), ctx=ctx)
    xh = _r(*shape)
    xh.flat[0] = np.nan
    results = []
    for hooked in (False, True):
        handle = layer.act.register_forward_hook(lambda *a: None) if hooked else None
        x = nd.array(xh, ctx=ctx)
        x.attach_grad()
        with autograd.record():
            out = layer(x)
            gx, = autograd.grad(nd.nansum(out * out * out), [x], create_graph=True)
            penalty = nd.nansum(gx * gx)
        penalty.backward()
        assert (out._node.name == "relu") == hooked
        results.append([out.asnumpy(), gx.asnumpy(), x.grad.asnumpy()]
                       + [p.grad().asnumpy() for p in layer.collect_params().values()])
        if handle is not None:
            handle.detach()
    for fused, plain in zip(*results):
        np.testing.assert_array_equal(fused, plain)
    assert np.isnan(results[0][0]).any()            # NaN stays NaN through relu


def _relu_then_pool(kind):
    """(layer with relu, pool, input shape) for the relu/max-pooling swap tests."""
    return {
        "conv2d": (lambda act: fw.nn.Conv2D(3, 3, activation=act, in_channels=2),
                   lambda: fw.nn.MaxPool2D(2), (2, 2, 7, 7)),
        "conv1d full": (lambda act: fw.nn.Conv1D(3, 2, activation=act, in_channels=2),
                        lambda: fw.nn.MaxPool1D(2, ceil_mode=True), (2, 2, 8)),
        "dense": (lambda act: fw.nn.Dense(8, activation=act, flatten=False, in_units=6),
                  lambda: fw.nn.MaxPool1D(3, 2), (2, 3, 6)),
        "conv2d global": (lambda act: fw.nn.Conv2D(3, 3, activation=act, in_channels=2),
                          lambda: fw.nn.GlobalMaxPool2D(), (2, 2, 5, 5)),
        "relu block": (lambda act: fw.nn.Conv2D(3, 3, in_channels=2) if act is None else
                       _ReluBlockAfter(fw.nn.Conv2D(3, 3, in_channels=2)),
                       lambda: fw.nn.MaxPool2D(3, 2), (2, 2, 9, 9)),
    }[kind]


class _ReluBlockAfter:
    """Marks a layer to be followed by its own Activation('relu') block in the net."""

    def __init__(self, layer):
        self.layer = layer


def _with_relu(net, layer):
    if isinstance(layer, _ReluBlockAfter):       # Conv2D, then Activation('relu') as a block
        net.add(layer.layer, fw.nn.Activation("relu"))
    else:
        net.add(layer)


@pytest.mark.parametrize("kind", ["conv2d", "conv1d full", "dense", "conv2d global",
                                  "relu block"])
def test_relu_moves_past_max_pooling_with_the_same_values_and_gradients(kind, ctx):
    """In a Sequential, a layer's relu (or an Activation('relu') block) followed by max
    pooling runs after the pooling (on the smaller array); values and gradients at
    orders 1 and 2 equal those of the layer, a hooked Activation block (which stays in
    place) and the pooling, bit for bit, with ties (a channel whose relu is 0
    everywhere). A NaN input gives the same NaN values."""
    fw.random.seed(0)     # the initial weights, so that the ties below do not depend on order
    make_layer, make_pool, shape = _relu_then_pool(kind)
    swapped = fw.nn.HybridSequential()
    _with_relu(swapped, make_layer("relu"))
    swapped.add(make_pool(), fw.nn.Dense(2))
    plain = fw.nn.HybridSequential()     # the relu as a block of its own, kept in place
    plain.add(make_layer(None), fw.nn.Activation("relu"), make_pool(), fw.nn.Dense(2))
    plain[1].register_forward_hook(lambda *args: None)  # a watched relu does not move
    xh = _r(*shape)
    with_nan = xh.copy()
    with_nan.flat[3] = np.nan
    results = []
    for net in (swapped, plain):
        net.initialize(fw.init.Xavier(), ctx=ctx)
        net(nd.array(xh, ctx=ctx))
        for p, q in zip(net.collect_params().values(), swapped.collect_params().values()):
            if net is swapped and p is net[0].bias:     # channel 0: relu gives 0 everywhere
                shift = np.zeros(p.shape, np.float32)
                shift[0] = 10
                p.set_data(p.data(ctx) - nd.array(shift, ctx=ctx))
            elif net is plain:
                p.set_data(q.data(ctx))
        x = nd.array(xh, ctx=ctx)
        x.attach_grad()
        with autograd.record():
            pooled = net[:len(net) - 1](x)
            out = net(x)
            gx, = autograd.grad(nd.sum(out * out), [x], create_graph=True)
            penalty = nd.sum(gx * gx)
        penalty.backward()
        results.append([out.asnumpy(), gx.asnumpy(), x.grad.asnumpy(),
                        net(nd.array(with_nan, ctx=ctx)).asnumpy()]
                       + [p.grad().asnumpy() for p in net.collect_params().values()])
        if net is swapped:                               # relu(Pooling(layer(x)))
            assert pooled._node.name == "relu"
            assert pooled._node.parents[0][0].name == "Pooling"
            assert (pooled.asnumpy() == 0).any()         # ties: windows of zeros
        else:                                            # Pooling(relu(layer(x)))
            assert pooled._node.name == "Pooling"
            assert pooled._node.parents[0][0].name == "relu"
    assert np.isnan(results[0][3]).any()
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("case", ["padded", "avg", "hooked", "symbol"])
def test_relu_stays_before_pooling_it_does_not_commute_with(case, ctx):
    """Padded max pooling (a window wholly in the padding gives the dtype's lowest
    value), average pooling, a hooked layer (its output is watched) and symbols (export
    writes the graph as defined) keep the relu in the layer."""
    pool = {"padded": fw.nn.MaxPool2D(2, padding=1), "avg": fw.nn.AvgPool2D(2)}.get(
        case, fw.nn.MaxPool2D(2))
    net = fw.nn.HybridSequential()
    net.add(fw.nn.Conv2D(3, 3, activation="relu", in_channels=2), pool)
    net.initialize(ctx=ctx)
    if case == "hooked":
        net[0].register_forward_hook(lambda *a: None)
    if case == "symbol":
        import json
        ops = [n["op"] for n in json.loads(net(fw.sym.var("data")).tojson())["nodes"]]
        assert [o for o in ops if o != "null"] == ["Convolution", "Activation", "Pooling"]
        return
    with autograd.record():
        out = net(nd.array(_r(2, 2, 7, 7), ctx=ctx))
    assert out._node.name == "Pooling"
    assert out._node.parents[0][0].name == "Convolution"


@pytest.mark.parametrize("min_images,batch_last", [(2, True), (32, False)])
def test_convolutions_before_max_pooling_run_in_the_batch_last_order(min_images, batch_last,
                                                                     ctx, monkeypatch):
    """In a Sequential, Conv2D(relu) then MaxPool2D pass the convolution's product on in
    its (C, H, W, N) memory order (no transposing copy; the pooling reads contiguous
    runs of the batch) from BATCH_LAST_MIN_IMAGES images: the net's output and every
    gradient equal those of the same layers watched by hooks (which run as written),
    to float32 rounding, and the hybridized net gives the imperative bits."""
    from framework.ndarray.ops import conv as conv_ops
    monkeypatch.setattr(conv_ops, "BATCH_LAST_MIN_IMAGES", min_images)
    def lenet_like(watched: bool):
        fw.random.seed(3)
        net = fw.nn.HybridSequential()
        net.add(fw.nn.Conv2D(4, 5, activation="relu", in_channels=1), fw.nn.MaxPool2D(2),
                fw.nn.Conv2D(6, 3, activation="relu", in_channels=4), fw.nn.MaxPool2D(2),
                fw.nn.Dense(3, in_units=54))
        net.initialize(fw.init.Xavier(), ctx=ctx)
        if watched:
            for block in net:
                block.register_forward_hook(lambda *args: None)
        return net

    xh = _r(3, 1, 20, 20)           # 16 x 16 outputs: the first layer would run per image

    def check(net, watched, hybrid, out):
        if not hybrid:               # (a hybridized slice replays its children's graphs)
            pooled = net[:2](nd.array(xh, ctx=ctx))
            assert (pooled._data.strides[0] == 4) == (batch_last and not watched)

    _watched_plain_hybridized_agree(lenet_like, xh, ctx, check)


def _watched_plain_hybridized_agree(build, xh, ctx, check):
    """Train ``build(watched)`` two steps on ``xh`` as watched (hooked), plain and
    hybridized nets, calling ``check(net, watched, hybrid, out)`` after each: the plain
    net's output and gradients equal the watched net's to float32 rounding, the
    hybridized net's are the plain net's bits."""
    results = []
    for watched, hybrid in ((True, False), (False, False), (False, True)):
        net = build(watched)
        if hybrid:
            net.hybridize()
        for _ in range(2):          # the second call of a hybridized net replays its graph
            with autograd.record():
                out = net(nd.array(xh, ctx=ctx))
                loss = nd.sum(out * out)
            loss.backward()
        check(net, watched, hybrid, out)
        results.append([out.asnumpy()] + [p.grad().asnumpy()
                                           for p in net.collect_params().values()])
    for watched, plain, hybrid in zip(*results):
        np.testing.assert_allclose(plain, watched, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(hybrid, plain)


def test_a_dense_feeding_a_dense_gives_its_product_batch_last(ctx, monkeypatch):
    """In a Sequential, a Dense followed by a Dense computes its product as W x^T and
    passes on the (N, units) view of it (``dense(batch_last=True)``); the last layer
    and watched (hooked) layers run as written. Output and gradients equal the hooked
    net's to float32 rounding; the hybridized net gives the imperative bits."""
    from framework.ndarray.ops import fully_connected as fc_ops
    seen = []
    forward = fc_ops.FullyConnectedOp.forward

    def spy(self, *arrays):
        seen.append(self.batch_last)
        return forward(self, *arrays)

    monkeypatch.setattr(fc_ops.FullyConnectedOp, "forward", spy)

    def mlp(watched: bool):
        fw.random.seed(4)
        net = fw.nn.HybridSequential()
        net.add(fw.nn.Dense(7, activation="relu", in_units=6),
                fw.nn.Dense(5, activation="tanh", in_units=7), fw.nn.Dense(3, in_units=5))
        net.initialize(fw.init.Xavier(), ctx=ctx)
        if watched:
            net[1].register_forward_hook(lambda *args: None)
        return net

    def check(net, watched, hybrid, out):
        assert seen[:3] == ([False, False, False] if watched else [True, True, False])
        assert out._data.flags.c_contiguous
        seen.clear()

    _watched_plain_hybridized_agree(mlp, _r(4, 6), ctx, check)
