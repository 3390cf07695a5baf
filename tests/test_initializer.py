"""fw.init: every initializer (values, statistics, names, JSON form), Load, Mixed, and
MXNet's precedence (the Parameter's own init, then the block's, then Uniform)."""
import json
import logging
import math
import warnings

import numpy as np
import pytest

import framework as fw
from framework import nd
from framework.initializer import InitDesc


def _filled(init, shape, name="x_weight", ctx=None, dtype="float32", attrs=None):
    arr = nd.zeros(shape, ctx=ctx, dtype=dtype)
    init(InitDesc(name, attrs), arr)
    return arr


def _phi(x):
    """The standard normal CDF."""
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


# ------------------------------------------------------------------ names, JSON
def test_registered_names_and_aliases():
    expected = {"zero": fw.init.Zero, "zeros": fw.init.Zero, "one": fw.init.One,
                "ones": fw.init.One, "constant": fw.init.Constant, "uniform": fw.init.Uniform,
                "normal": fw.init.Normal, "truncnorm": fw.init.TruncNorm,
                "orthogonal": fw.init.Orthogonal, "xavier": fw.init.Xavier,
                "msraprelu": fw.init.MSRAPrelu, "bilinear": fw.init.Bilinear,
                "lstmbias": fw.init.LSTMBias, "mixed": fw.init.Mixed, "load": fw.init.Load}
    for name, klass in expected.items():
        assert fw.init._REGISTRY[name] is klass
    assert isinstance(fw.init.create("TruncNorm"), fw.init.TruncNorm)
    assert fw.init.create("xavier", magnitude=2).magnitude == 2.0
    assert fw.init.create(initializer="normal", sigma=0.5).sigma == 0.5
    assert fw.init.create({"initializer": "uniform", "scale": 0.2}).scale == 0.2
    assert fw.init.create('{"initializer": "orthogonal", "scale": 2}').scale == 2
    with pytest.raises(TypeError, match=r"initializer 'normal' \(Normal\): .*'scale'"):
        fw.init.create("normal", scale=3)
    with pytest.raises(ValueError, match="cannot parse"):
        fw.init.create("[1, 2, 3]")
    with pytest.raises(TypeError, match="already an instance"):
        fw.init.create(fw.init.One(), 3)


def test_custom_initializer_registration():
    @fw.init.register
    @fw.init.alias("testinit_alias")
    class TestInitCustom(fw.init.Initializer):
        def _init_weight(self, _, arr):
            arr[:] = 0.1

        def _init_bias(self, _, arr):
            arr[:] = 1

    try:
        assert isinstance(fw.init.create("testinitcustom"), TestInitCustom)
        assert isinstance(fw.init.create("testinit_alias"), TestInitCustom)
        np.testing.assert_allclose(_filled(TestInitCustom(), (2,), "a_weight").asnumpy(), 0.1)
        np.testing.assert_allclose(_filled(TestInitCustom(), (2,), "a_bias").asnumpy(), 1)
    finally:
        fw.init._REGISTRY.pop("testinitcustom")
        fw.init._REGISTRY.pop("testinit_alias")


def test_dumps_is_mxnets_json_and_create_reads_it_back(tmp_path):
    assert fw.init.Normal(0.5).dumps() == '["normal", {"sigma": 0.5}]'
    assert json.loads(fw.init.Xavier(factor_type="in", magnitude=2.34).dumps()) == [
        "xavier", {"rnd_type": "uniform", "factor_type": "in", "magnitude": 2.34}]
    assert fw.init.Zero().dumps() == '["zero", {}]'
    assert fw.init.Bilinear().dumps() == '["bilinear", {}]'
    assert json.loads(fw.init.MSRAPrelu("in", 0.1).dumps()) == [
        "msraprelu", {"factor_type": "in", "slope": 0.1}]
    assert json.loads(fw.init.TruncNorm(0.5, 0.2).dumps()) == [
        "truncnorm", {"mean": 0.5, "stdev": 0.2}]
    assert json.loads(fw.init.Orthogonal().dumps()) == [
        "orthogonal", {"scale": 1.414, "rand_type": "uniform"}]
    assert json.loads(fw.init.LSTMBias().dumps()) == ["lstmbias", {"forget_bias": 1.0}]
    assert json.loads(fw.init.Constant(np.eye(2)).dumps()) == [
        "constant", {"value": [[1.0, 0.0], [0.0, 1.0]]}]
    mixed = fw.init.Mixed([".*bias", ".*"], ["zeros", fw.init.Xavier(magnitude=2)])
    path = str(tmp_path / "p.params")
    nd.save(path, {"w": nd.ones((2,))})
    load = fw.init.Load(path, default_init=fw.init.Normal(0.3))
    for init in [fw.init.Zero(), fw.init.One(), fw.init.Constant(2.5), fw.init.Uniform(0.3),
                 fw.init.Normal(0.2), fw.init.TruncNorm(0.1, 0.3), fw.init.Orthogonal(2, "normal"),
                 fw.init.Xavier("gaussian", "out", 2), fw.init.MSRAPrelu("in", 0.1),
                 fw.init.Bilinear(), fw.init.LSTMBias(2.0), mixed, load]:
        back = fw.init.create(init.dumps())
        assert type(back) is type(init) and back == init and back.dumps() == init.dumps()
    back = fw.init.create(load.dumps())
    assert back.default_init == fw.init.Normal(0.3) and list(back.param) == ["w"]
    assert [type(i) for _, i in fw.init.create(mixed.dumps()).map] == [fw.init.Zero,
                                                                         fw.init.Xavier]
    with pytest.raises(TypeError, match="made from a dict of arrays has no JSON form"):
        fw.init.Load({"w": nd.ones((2,))}).dumps()


def test_constructor_errors():
    with pytest.raises(ValueError, match="rand_type must be 'uniform' or 'normal'"):
        fw.init.Orthogonal(rand_type="gaussian")
    with pytest.raises(ValueError, match="TruncNorm: stdev must be positive"):
        fw.init.TruncNorm(stdev=0)
    with pytest.raises(ValueError, match="Mixed: 2 patterns but 1 initializers"):
        fw.init.Mixed([".*", "x"], ["zeros"])
    with pytest.raises(ValueError, match=r"Mixed: pattern '\(' is not a valid regular"):
        fw.init.Mixed(["("], ["zeros"])
    with pytest.raises(ValueError, match="unknown name 'nosuch'"):
        fw.init.Mixed([".*"], ["nosuch"])


# ----------------------------------------------------------------- dispatch
def test_dispatch_by_name_suffix_with_initdesc(ctx):
    init = fw.init.Constant(3.0)
    cases = {"fc_weight": 3.0, "fc_bias": 0.0, "bn_gamma": 1.0, "bn_beta": 0.0,
             "act_min": 0.0, "act_max": 1.0, "fc_bias_quantize": 0.0,
             "bn_running_mean": 0.0, "bn_running_var": 1.0, "bn_moving_mean": 0.0,
             "bn_moving_var": 1.0}
    for name, value in cases.items():
        np.testing.assert_array_equal(_filled(init, (3,), name, ctx).asnumpy(), np.full(3, value),
                                      err_msg=name)
    q = _filled(init, (50,), "fc_weight_quantize", ctx, dtype="int8").asnumpy()
    assert q.dtype == np.int8 and q.min() >= -127 and q.max() < 127 and len(set(q)) > 5
    with pytest.raises(ValueError, match="Constant: unknown initialization pattern for 'scale'"):
        _filled(init, (3,), "scale", ctx)


def test_own_init_attribute_wins_over_the_name(ctx):
    for own in [fw.init.Constant(4.0), '["constant", {"value": 4.0}]']:
        got = _filled(fw.init.Uniform(), (3,), "fc_bias", ctx, attrs={"__init__": own})
        np.testing.assert_array_equal(got.asnumpy(), np.full(3, 4.0))
    got = _filled(fw.init.Zero(), (3,), "anything", ctx, attrs={"__init__": "ones"})
    np.testing.assert_array_equal(got.asnumpy(), np.ones(3))


def test_plain_string_name_is_mxnets_deprecated_legacy_form(ctx):
    arr = nd.zeros((1, 1, 4, 4), ctx=ctx)
    with pytest.warns(DeprecationWarning, match=r"init\(str, NDArray\) has been deprecated"):
        fw.init.Uniform()("upsampling0_weight", arr)        # upsampling* is bilinear
    assert arr.asnumpy()[0, 0, 0, 0] == 0.0625
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        stn_w = nd.ones((6, 4), ctx=ctx)
        fw.init.Uniform()("stn_loc_weight", stn_w)
        assert not stn_w.asnumpy().any()
        stn_b = nd.zeros((6,), ctx=ctx)
        fw.init.Uniform()("stn_loc_bias", stn_b)
        np.testing.assert_array_equal(stn_b.asnumpy(), [1, 0, 0, 0, 1, 0])
        for name, value in {"x_moving_inv_var": 0, "x_moving_avg": 0, "x_moving_var": 1,
                            "x_min": 0, "x_max": 1, "x_gamma": 1, "x_weight": 2}.items():
            arr = nd.full((2,), 5, ctx=ctx)
            fw.init.Constant(2)(name, arr)
            np.testing.assert_array_equal(arr.asnumpy(), [value] * 2, err_msg=name)
    with pytest.raises(TypeError, match="expected an NDArray to fill"):
        fw.init.Uniform()("w_weight", np.zeros(3))


# ------------------------------------------------------------- distributions
def test_constant_family(ctx):
    assert not _filled(fw.init.Zero(), (2, 3), ctx=ctx).asnumpy().any()
    np.testing.assert_array_equal(_filled(fw.init.One(), (2, 3), ctx=ctx).asnumpy(),
                                  np.ones((2, 3)))
    value = np.arange(6.0).reshape(2, 3)
    for v in [value, nd.array(value, ctx=ctx), value.tolist()]:
        np.testing.assert_array_equal(_filled(fw.init.Constant(v), (2, 3), ctx=ctx).asnumpy(),
                                      value)


def test_uniform_and_normal_statistics(ctx):
    fw.random.seed(1)
    u = _filled(fw.init.Uniform(), (400, 250), ctx=ctx).asnumpy()
    assert u.shape == (400, 250) and -0.07 <= u.min() and u.max() <= 0.07
    assert abs(u.mean()) < 1e-3 and abs(u.std() - 0.07 / math.sqrt(3)) < 1e-3
    n = _filled(fw.init.Normal(), (400, 250), ctx=ctx).asnumpy()
    assert abs(n.mean()) < 1e-4 and abs(n.std() - 0.01) < 1e-4


@pytest.mark.parametrize("dtype", ["float32", "float16", "float64"])
def test_truncnorm_bound_and_moments(ctx, dtype):
    mean, stdev = 0.5, 0.2
    fw.random.seed(2)
    arr = _filled(fw.init.TruncNorm(mean, stdev), (400, 250), ctx=ctx, dtype=dtype)
    assert arr.dtype == np.dtype(dtype) and arr.shape == (400, 250)
    x = arr.asnumpy().astype(np.float64)
    tol = 1e-3 if dtype == "float16" else 1e-6
    assert np.all(np.abs(x - mean) <= 2 * stdev * (1 + tol))
    mass = _phi(2) - _phi(-2)
    density2 = math.exp(-2) / math.sqrt(2 * math.pi)            # the standard pdf at 2
    expected_std = stdev * math.sqrt(1 - 2 * 2 * density2 / mass)
    assert abs(x.mean() - mean) < 2e-3
    assert abs(x.std() / expected_std - 1) < 0.01
    within_one = np.mean(np.abs(x - mean) < stdev)
    assert abs(within_one - (_phi(1) - _phi(-1)) / mass) < 0.005
    assert np.abs(x - mean).max() > 1.95 * stdev                 # the tails reach the bound


def _sign_aligned(got, ref, axis):
    """``got`` with each row (axis 0) or column (axis 1) flipped to agree with ``ref``."""
    signs = np.sign(np.sum(got * ref, axis=1 - axis, keepdims=True))
    return got * signs


@pytest.mark.parametrize("shape", [(6, 10), (10, 6), (4, 2, 3, 3), (5, 5)])
@pytest.mark.parametrize("rand_type", ["uniform", "normal"])
def test_orthogonal_is_mxnets_svd_factor(ctx, shape, rand_type):
    scale = 1.7
    nout, nin = shape[0], int(np.prod(shape[1:]))
    fw.random.seed(4)
    sampler = fw.nd.random.uniform if rand_type == "uniform" else fw.nd.random.normal
    args = (-1.0, 1.0) if rand_type == "uniform" else (0.0, 1.0)
    tmp = sampler(*args, shape=(nout, nin), ctx=ctx).asnumpy()
    fw.random.seed(4)
    w = _filled(fw.init.Orthogonal(scale, rand_type), shape, ctx=ctx).asnumpy()
    assert w.shape == shape
    m = w.reshape(nout, nin)
    # MXNet: u, _, v = svd(tmp, full_matrices=False); u if u.shape == tmp.shape else v
    u, _, v = np.linalg.svd(tmp, full_matrices=False)
    if nout >= nin:
        np.testing.assert_allclose(m.T @ m, scale ** 2 * np.eye(nin), atol=2e-5)
        np.testing.assert_allclose(_sign_aligned(m, scale * u, axis=1), scale * u, atol=2e-5)
    else:
        np.testing.assert_allclose(m @ m.T, scale ** 2 * np.eye(nout), atol=2e-5)
        np.testing.assert_allclose(_sign_aligned(m, scale * v, axis=0), scale * v, atol=2e-5)


def test_orthogonal_default_scale_and_float16(ctx):
    w = _filled(fw.init.Orthogonal(), (8, 8), ctx=ctx, dtype="float16")
    assert w.dtype == np.float16
    m = w.asnumpy().astype(np.float64)
    np.testing.assert_allclose(m @ m.T, 1.414 ** 2 * np.eye(8), atol=5e-3)


def _mxnet_bilinear(shape):
    """MXNet 1.9.1's Bilinear._init_weight, element by element."""
    weight = np.zeros(int(np.prod(shape)), dtype="float32")
    f = np.ceil(shape[3] / 2.)
    c = (2 * f - 1 - f % 2) / (2. * f)
    for i in range(int(np.prod(shape))):
        x = i % shape[3]
        y = (i // shape[3]) % shape[2]
        weight[i] = (1 - abs(x / f - c)) * (1 - abs(y / f - c))
    return weight.reshape(shape)


@pytest.mark.parametrize("shape", [(1, 1, 4, 4), (2, 3, 4, 4), (2, 1, 3, 3), (1, 2, 3, 5)])
def test_bilinear_kernel(ctx, shape):
    got = _filled(fw.init.Bilinear(), shape, "up_weight", ctx).asnumpy()
    np.testing.assert_array_equal(got, _mxnet_bilinear(shape))
    if shape[2:] == (4, 4):                      # f = 2, c = 0.75: rows/cols 1/4, 3/4, 3/4, 1/4
        k = np.array([0.25, 0.75, 0.75, 0.25])
        np.testing.assert_array_equal(got[0, 0], np.outer(k, k))


def test_bilinear_needs_a_4d_weight():
    with pytest.raises(ValueError, match=r"Bilinear: parameter 'up_weight' of shape \(4, 4\) "
                                         r"is not a 4-D"):
        _filled(fw.init.Bilinear(), (4, 4), "up_weight")


def test_lstm_bias_sets_the_forget_quarter(ctx):
    got = _filled(fw.init.LSTMBias(1.5), (20,), "lstm0_i2h_bias", ctx,
                  attrs={"__init__": fw.init.LSTMBias(1.5)}).asnumpy()
    np.testing.assert_array_equal(got[:5], 0)
    np.testing.assert_array_equal(got[5:10], 1.5)
    np.testing.assert_array_equal(got[10:], 0)
    p = fw.Parameter("cell_h2h_bias", shape=(8,), init=fw.init.LSTMBias())
    p.initialize(ctx=ctx, default_init=fw.init.Constant(9))
    np.testing.assert_array_equal(p.data().asnumpy(), [0, 0, 1, 1, 0, 0, 0, 0])
    with pytest.raises(ValueError, match=r"LSTMBias: parameter 'b' of shape \(6,\) is not an "
                                         r"LSTM bias"):
        _filled(fw.init.LSTMBias(), (6,), "b", attrs={"__init__": "lstmbias"})


@pytest.mark.parametrize("make", [
    lambda: fw.init.Uniform(0.5), lambda: fw.init.Normal(0.3), lambda: fw.init.TruncNorm(0, 1),
    lambda: fw.init.Orthogonal(), lambda: fw.init.Orthogonal(rand_type="normal"),
    lambda: fw.init.Xavier(), lambda: fw.init.Xavier("gaussian"), lambda: fw.init.MSRAPrelu()])
def test_random_initializers_are_reproducible_under_seed(ctx, make):
    def draw(seed):
        fw.random.seed(seed)
        return _filled(make(), (6, 4), ctx=ctx).asnumpy()
    first, again, other = draw(5), draw(5), draw(6)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


# -------------------------------------------------------------------- Load
def _arrays(ctx=None):
    return {"fc_weight": nd.array(np.arange(12.0).reshape(3, 4), ctx=ctx),
            "fc_bias": nd.array([1.0, 2.0, 3.0], ctx=ctx)}


@pytest.mark.parametrize("fmt", ["hdf5", "mxnet"])
def test_load_from_file_strips_arg_aux_and_falls_back(ctx, tmp_path, fmt):
    path = str(tmp_path / f"m.{fmt}")
    arrays = _arrays()
    nd.save(path, {"arg:fc_weight": arrays["fc_weight"], "aux:fc_bias": arrays["fc_bias"]},
            format=fmt)
    init = fw.init.Load(path, default_init=fw.init.One())
    assert sorted(init.param) == ["fc_bias", "fc_weight"]
    pd = fw.ParameterDict()
    pd.get("fc_weight", shape=(3, 4))
    pd.get("fc_bias", shape=(3,))
    pd.get("other_weight", shape=(2,))
    pd.initialize(init, ctx=ctx)
    np.testing.assert_array_equal(pd["fc_weight"].data().asnumpy(), arrays["fc_weight"].asnumpy())
    np.testing.assert_array_equal(pd["fc_bias"].data().asnumpy(), [1, 2, 3])
    np.testing.assert_array_equal(pd["other_weight"].data().asnumpy(), [1, 1])
    assert pd["fc_weight"].data().context == ctx


def test_load_into_a_gluon_block_beats_the_layers_own_bias_init(ctx, tmp_path):
    path = str(tmp_path / "fc.params")
    nd.save(path, _arrays(), format="mxnet")
    net = fw.nn.Dense(3, in_units=4, prefix="fc_")
    net.initialize(fw.init.Load(path), ctx=ctx)
    np.testing.assert_array_equal(net.weight.data().asnumpy(), np.arange(12.0).reshape(3, 4))
    np.testing.assert_array_equal(net.bias.data().asnumpy(), [1, 2, 3])
    # a name not in the file: the layer's own initializer (bias 'zeros'), else default_init
    only_weight = fw.init.Load({"fc_weight": _arrays()["fc_weight"]})
    net = fw.nn.Dense(3, in_units=4, prefix="fc_")
    net.initialize(only_weight, ctx=ctx)
    assert not net.bias.data().asnumpy().any()
    net = fw.nn.Dense(3, in_units=4, prefix="fc_", bias_initializer=None)
    net.initialize(fw.init.Load({"fc_weight": _arrays()["fc_weight"]},
                                default_init=fw.init.Constant(7)), ctx=ctx)
    np.testing.assert_array_equal(net.bias.data().asnumpy(), [7, 7, 7])


def test_load_from_dict_and_as_a_parameters_own_init(ctx):
    arrays = _arrays(ctx)
    p = fw.Parameter("fc_weight", shape=(3, 4), init=fw.init.Load(arrays))
    p.initialize(ctx=ctx, default_init=fw.init.Constant(5))
    np.testing.assert_array_equal(p.data().asnumpy(), np.arange(12.0).reshape(3, 4))
    init = fw.init.Load({"arg:x_weight": nd.ones((2,)), "aux:x_running_var": nd.zeros((2,))})
    assert sorted(init.param) == ["x_running_var", "x_weight"]


def test_load_errors(tmp_path):
    init = fw.init.Load(_arrays())
    with pytest.raises(ValueError, match=r"Load: parameter 'fc_weight' cannot be initialized "
                                         r"from the dict given to Load: shape mismatch, target "
                                         r"\(4, 3\) vs loaded \(3, 4\)"):
        _filled(init, (4, 3), "fc_weight")
    with pytest.raises(ValueError, match=r"Load: cannot initialize 'x_weight' \(shape \(2,\)\): "
                                         r"it is not in the dict given to Load \(2 arrays: "
                                         r"fc_bias, fc_weight\) and no default_init"):
        _filled(init, (2,), "x_weight")
    path = str(tmp_path / "list.params")
    nd.save(path, [nd.ones((2,))])
    with pytest.raises(ValueError, match="holds an unnamed list of 1 arrays; Load initializes "
                                         "by name"):
        fw.init.Load(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        fw.init.Load(str(tmp_path / "missing.params"))


def test_load_verbose_logs_the_source(caplog):
    caplog.set_level(logging.INFO)
    init = fw.init.Load(_arrays(), default_init="zeros", verbose=True)
    _filled(init, (3,), "fc_bias")
    _filled(init, (2,), "other_weight")
    assert "Initialized fc_bias by loading" in caplog.text
    assert "Initialized other_weight by default" in caplog.text


# ------------------------------------------------------------------- Mixed
def test_mixed_first_matching_pattern_wins(ctx):
    mixed = fw.init.Mixed([".*bias", ".*weight", ".*"],
                          [fw.init.Constant(2), fw.init.Constant(3), "ones"])
    pd = fw.ParameterDict()
    for name in ["fc_bias", "fc_weight", "scale"]:
        pd.get(name, shape=(2,))
    pd.initialize(mixed, ctx=ctx)
    assert [pd[n].data().asnumpy()[0] for n in ["fc_bias", "fc_weight", "scale"]] == [2, 3, 1]
    # order matters: '.*' first takes everything
    first = fw.init.Mixed([".*", ".*bias"], [fw.init.Constant(4), fw.init.Zero()])
    np.testing.assert_array_equal(_filled(first, (2,), "fc_bias", ctx,
                                          attrs={"__init__": first}).asnumpy(), [4, 4])
    # re.match anchors at the start, as MXNet: 'bias' does not match 'fc_bias'
    anchored = fw.init.Mixed(["bias", ".*"], [fw.init.Constant(8), fw.init.Constant(9)])
    np.testing.assert_array_equal(_filled(anchored, (2,), "fc_bias", ctx,
                                          attrs={"__init__": anchored}).asnumpy(), [9, 9])


def test_mixed_respects_the_parameters_own_init_and_the_name_rules(ctx):
    net = fw.nn.HybridSequential(prefix="net_")
    with net.name_scope():
        net.add(fw.nn.Dense(3, in_units=2, prefix="fc_"))
        net.add(fw.nn.BatchNorm(in_channels=3, prefix="bn_"))
    net.initialize(fw.init.Mixed([".*weight", ".*"], [fw.init.Constant(6), "uniform"]), ctx=ctx)
    params = net.collect_params()
    np.testing.assert_array_equal(params["net_fc_weight"].data().asnumpy(), np.full((3, 2), 6))
    assert not params["net_fc_bias"].data().asnumpy().any()          # own 'zeros'
    np.testing.assert_array_equal(params["net_bn_gamma"].data().asnumpy(), np.ones(3))
    np.testing.assert_array_equal(params["net_bn_running_var"].data().asnumpy(), np.ones(3))
    # called directly with a bare InitDesc (no '__init__'): the chosen one's suffix rules
    mixed = fw.init.Mixed([".*"], [fw.init.Constant(5)])
    assert not _filled(mixed, (2,), "fc_bias", ctx).asnumpy().any()
    np.testing.assert_array_equal(_filled(mixed, (2,), "fc_weight", ctx).asnumpy(), [5, 5])


def test_mixed_no_match_names_the_parameter():
    mixed = fw.init.Mixed([".*bias"], ["zeros"])
    with pytest.raises(ValueError, match=r"Mixed: parameter name 'fc_weight' did not match any "
                                         r"pattern \['\.\*bias'\]. Consider adding a '\.\*'"):
        _filled(mixed, (2,), "fc_weight")


def test_mixed_verbosity_reaches_its_initializers(caplog):
    caplog.set_level(logging.INFO)
    pd = fw.ParameterDict("v_")
    pd.get("weight", shape=(2,))
    pd.initialize(fw.init.Mixed([".*"], [fw.init.One()]), verbose=True)
    assert "Initialized v_weight as" in caplog.text


# -------------------------------------------------------------- precedence
def test_precedence_own_init_then_block_init_then_uniform(ctx):
    net = fw.nn.Dense(4, in_units=3, weight_initializer=fw.init.Constant(2))
    net.initialize(fw.init.Constant(5), ctx=ctx)
    np.testing.assert_array_equal(net.weight.data().asnumpy(), np.full((4, 3), 2))
    assert not net.bias.data().asnumpy().any()                         # Dense: bias 'zeros'
    net = fw.nn.Dense(4, in_units=3)
    net.collect_params().initialize(fw.init.Constant(5), ctx=ctx)
    np.testing.assert_array_equal(net.weight.data().asnumpy(), np.full((4, 3), 5))
    assert not net.bias.data().asnumpy().any()
    net = fw.nn.Dense(4, in_units=3, bias_initializer="ones")
    net.initialize(ctx=ctx)                                            # default: Uniform()
    w = net.weight.data().asnumpy()
    assert np.abs(w).max() <= 0.07 and w.std() > 0.01
    np.testing.assert_array_equal(net.bias.data().asnumpy(), np.ones(4))
    # a Parameter without an initializer of its own takes the block's, whatever its name
    p = fw.Parameter("free_bias", shape=(3,))
    p.initialize(ctx=ctx, default_init=fw.init.Constant(4))
    np.testing.assert_array_equal(p.data().asnumpy(), [4, 4, 4])
    # Parameter.initialize(init=...) given explicitly beats the Parameter's own init
    q = fw.Parameter("q_weight", shape=(2,), init=fw.init.Constant(1))
    q.initialize(init=fw.init.Constant(3), ctx=ctx)
    np.testing.assert_array_equal(q.data().asnumpy(), [3, 3])
    q.initialize(ctx=ctx, default_init=fw.init.Constant(8), force_reinit=True)
    np.testing.assert_array_equal(q.data().asnumpy(), [1, 1])


def test_deferred_initialization_uses_the_same_precedence(ctx):
    net = fw.nn.Dense(4)
    net.initialize(fw.init.Constant(0.5), ctx=ctx)
    net(nd.ones((2, 3), ctx=ctx))
    np.testing.assert_array_equal(net.weight.data().asnumpy(), np.full((4, 3), 0.5))
    assert not net.bias.data().asnumpy().any()


def test_layer_defaults_as_mxnet(ctx):
    net = fw.nn.HybridSequential(prefix="m_")
    with net.name_scope():
        net.add(fw.nn.Conv2D(2, 3, in_channels=1, prefix="conv_"),
                fw.nn.BatchNorm(in_channels=2, prefix="bn_"),
                fw.nn.LayerNorm(in_channels=2, prefix="ln_"),
                fw.nn.PReLU(prefix="prelu_"),
                fw.nn.Embedding(5, 2, prefix="emb_"))
    net.initialize(fw.init.Constant(7), ctx=ctx)
    got = {name: p.data().asnumpy() for name, p in net.collect_params().items()}
    expected_constant = {"m_conv_bias": 0, "m_bn_gamma": 1, "m_bn_beta": 0,
                         "m_bn_running_mean": 0, "m_bn_running_var": 1, "m_ln_gamma": 1,
                         "m_ln_beta": 0, "m_prelu_alpha": 0.25, "m_conv_weight": 7,
                         "m_emb_weight": 7}
    assert sorted(got) == sorted(expected_constant)
    for name, value in expected_constant.items():
        np.testing.assert_array_equal(got[name], np.full(got[name].shape, value, np.float32),
                                      err_msg=name)


def test_block_initialize_accepts_names_and_json(ctx):
    net = fw.nn.Dense(3, in_units=2)
    net.initialize("ones", ctx=ctx)
    np.testing.assert_array_equal(net.weight.data().asnumpy(), np.ones((3, 2)))
    net = fw.nn.Dense(3, in_units=2, weight_initializer='["constant", {"value": 0.25}]')
    net.initialize(ctx=ctx)
    np.testing.assert_array_equal(net.weight.data().asnumpy(), np.full((3, 2), 0.25))
