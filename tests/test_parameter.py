"""Parameter, Constant, ParameterDict and the initializers."""
import math
import re

import numpy as np
import pytest

import framework as fw
from framework import autograd, nd
from framework.initializer import InitDesc
from framework.parameter import DeferredInitializationError
from framework.test_utils import assert_almost_equal


# ------------------------------------------------------------------ Parameter
def test_parameter_basics(ctx):
    p = fw.Parameter("fc_weight", shape=(3, 4))
    assert repr(p) == "Parameter fc_weight (shape=(3, 4), dtype=<class 'numpy.float32'>)"
    assert fw.Parameter("v", shape=5).shape == (5,)
    p.initialize(ctx=ctx)
    w = p.data()
    assert w.shape == (3, 4) and w.dtype == np.float32 and w.context == ctx
    host = w.asnumpy()
    assert np.all(np.abs(host) <= 0.07) and np.abs(host).max() > 0      # Uniform(0.07)
    assert p.grad().shape == (3, 4) and not p.grad().asnumpy().any()
    assert p.list_ctx() == [ctx] and p.list_data()[0] is w and p.list_grad()[0] is p.grad()


@pytest.mark.parametrize("req", ["write", "add"])
def test_grad_req_write_and_add(req, ctx):
    p = fw.Parameter("w", shape=(2,), grad_req=req, init="ones")
    p.initialize(ctx=ctx)
    for _ in range(2):
        with autograd.record():
            y = (p.data() * 3).sum()
        y.backward()
    assert_almost_equal(p.grad(), np.full(2, 3.0 if req == "write" else 6.0))
    p.zero_grad()
    assert not p.grad().asnumpy().any()


def test_grad_req_null_and_switching(ctx):
    p = fw.Parameter("w", shape=(2,), grad_req="null")
    p.initialize(ctx=ctx)
    with pytest.raises(RuntimeError, match="Cannot get gradient array for Parameter 'w' because "
                                           "grad_req='null'"):
        p.grad()
    with autograd.record():
        y = p.data() * 2
    assert y._node is None                              # not a variable: nothing recorded
    p.grad_req = "write"
    assert p.grad().shape == (2,)
    with autograd.record():
        y = (p.data() * 2).sum()
    y.backward()
    assert_almost_equal(p.grad(), np.full(2, 2.0))
    p.grad_req = "null"
    with pytest.raises(RuntimeError, match="grad_req='null'"):
        p.list_grad()
    with pytest.raises(ValueError, match="grad_req must be 'write', 'add' or 'null', got 'sum'"):
        p.grad_req = "sum"
    q = fw.Parameter("q", shape=(1,), differentiable=False)
    assert q.grad_req == "null"


def test_uninitialized_and_deferred_errors():
    p = fw.Parameter("dense0_weight", shape=(4, 0), allow_deferred_init=True)
    with pytest.raises(RuntimeError, match="Parameter 'dense0_weight' has not been initialized"):
        p.data()
    with pytest.raises(RuntimeError, match="has not been initialized"):
        p.list_ctx()
    p.initialize()
    with pytest.raises(DeferredInitializationError, match="initialization was deferred"):
        p.data()
    assert p.list_ctx() == [fw.cpu(0)]
    p.shape = (4, 3)
    p._finish_deferred_init()
    assert p.data().shape == (4, 3)
    q = fw.Parameter("q", shape=(4, 0))
    with pytest.raises(ValueError, match=r"Cannot initialize Parameter 'q' because it has invalid "
                                         r"shape: \(4, 0\)"):
        q.initialize()
    with pytest.raises(ValueError, match=r"Parameter 'dense0_weight': the shape \(4, 5\) is "
                                         r"incompatible with its shape \(4, 3\)"):
        p.shape = (4, 5)
    with pytest.raises(ValueError, match="negative dimension"):
        fw.Parameter("n", shape=(-1, 2))


def test_initialize_twice_warns_and_force_reinit(ctx):
    p = fw.Parameter("w", shape=(3,), init="zeros")
    p.initialize(ctx=ctx)
    with pytest.warns(UserWarning, match="Parameter 'w' is already initialized, ignoring"):
        p.initialize(init="ones", ctx=ctx)
    assert not p.data().asnumpy().any()
    p.initialize(init="ones", ctx=ctx, force_reinit=True)
    assert_almost_equal(p.data(), np.ones(3))
    with pytest.raises(ValueError, match="Xavier initializer cannot be applied to vector w"):
        p.initialize(init=fw.init.Xavier(), ctx=ctx, force_reinit=True)
    assert_almost_equal(p.data(), np.ones(3))            # a failed re-initialization keeps it


def test_own_init_wins_over_the_default_init():
    p = fw.Parameter("w", shape=(2, 2), init=fw.init.Constant(5.0))
    p.initialize(default_init=fw.init.One())
    assert_almost_equal(p.data(), np.full((2, 2), 5.0))
    q = fw.Parameter("w", shape=(2, 2))
    q.initialize(default_init=fw.init.One())
    assert_almost_equal(q.data(), np.ones((2, 2)))


def test_several_contexts():
    cpu, gpu = fw.cpu(0), fw.gpu(0)
    p = fw.Parameter("w", shape=(2, 3))
    p.initialize(ctx=[cpu, gpu])
    assert p.list_ctx() == [cpu, gpu]
    a, b = p.data(cpu), p.data(gpu)
    assert a.context == cpu and b.context == gpu
    assert_almost_equal(a, b.asnumpy())                 # one initial value, copied
    assert p.data() is a                                # no ctx: the current context's
    with gpu:
        assert p.data() is b
    for arr, k in ((a, 2.0), (b, 5.0)):
        with autograd.record():
            y = (arr * k).sum()
        y.backward()
    assert_almost_equal(p.grad(cpu), np.full((2, 3), 2.0))
    assert_almost_equal(p.grad(gpu), np.full((2, 3), 5.0))
    assert [g.context for g in p.list_grad()] == [cpu, gpu]
    with pytest.raises(RuntimeError, match=r"Parameter 'w' was not initialized on context gpu\(1\)"
                                           r". It was only initialized on \[cpu\(0\), gpu\(0\)\]"):
        p.data(fw.gpu(1))
    p.set_data(nd.ones((2, 3)))
    assert_almost_equal(p.data(gpu), np.ones((2, 3)))
    p.zero_grad()
    assert not p.grad(gpu).asnumpy().any() and not p.grad(cpu).asnumpy().any()


def test_set_data(ctx):
    p = fw.Parameter("w", shape=(2, 2))
    p.initialize(ctx=ctx)
    w = p.data()
    p.set_data(nd.array([[1, 2], [3, 4]], dtype="float64"))
    assert p.data() is w and w.dtype == np.float32
    assert_almost_equal(w, np.array([[1, 2], [3, 4]]))
    p.set_data([[0, 0], [0, 1]])
    assert_almost_equal(w, np.array([[0, 0], [0, 1]]))
    with pytest.raises(ValueError, match="incompatible"):
        p.set_data(nd.ones((3, 2)))
    deferred = fw.Parameter("d", shape=(0,), allow_deferred_init=True)
    deferred.initialize(ctx=ctx)
    deferred.set_data(nd.array([7.0, 8.0]))             # becomes the initial value
    assert deferred.shape == (2,)
    deferred._finish_deferred_init()
    assert_almost_equal(deferred.data(), np.array([7.0, 8.0]))
    assert deferred.data().context == ctx


def test_reset_ctx():
    p = fw.Parameter("w", shape=(2,), init="ones")
    p.initialize(ctx=fw.cpu(0))
    with autograd.record():
        y = (p.data() * 2).sum()
    y.backward()
    p.reset_ctx(fw.gpu(0))
    assert p.list_ctx() == [fw.gpu(0)] and p.data().context == fw.gpu(0)
    assert_almost_equal(p.data(), np.ones(2))
    assert not p.grad().asnumpy().any()
    q = fw.Parameter("q", shape=(0,), allow_deferred_init=True)
    q.initialize(ctx=fw.cpu(0))
    q.reset_ctx([fw.gpu(0)])
    assert q.list_ctx() == [fw.gpu(0)]
    with pytest.raises(ValueError, match="Cannot reset context for Parameter 'r'"):
        fw.Parameter("r", shape=(1,)).reset_ctx(fw.cpu(0))


def test_cast_keeps_values_and_gradients(ctx):
    p = fw.Parameter("w", shape=(3,), init="ones")
    p.initialize(ctx=ctx)
    with autograd.record():
        y = (p.data() * 4).sum()
    y.backward()
    p.cast("float16")
    assert p.dtype == "float16" and p.data().dtype == np.float16
    assert p.grad().dtype == np.float16
    assert_almost_equal(p.grad(), np.full(3, 4.0))
    with autograd.record():
        y = (p.data() * 2).sum()
    y.backward()
    assert_almost_equal(p.grad(), np.full(3, 2.0))


def test_dtype_of_a_parameter(ctx):
    p = fw.Parameter("w", shape=(2,), dtype="float64", init="ones")
    p.initialize(ctx=ctx)
    assert p.data().dtype == np.float64 and p.grad().dtype == np.float64
    assert repr(p) == "Parameter w (shape=(2,), dtype=float64)"
    with pytest.raises(TypeError, match="unknown dtype"):
        fw.Parameter("x", dtype="float33")


def test_constant(ctx):
    c = fw.Constant("const", [[1, 2], [3, 4]])
    assert repr(c) == "Constant const (shape=(2, 2), dtype=<class 'numpy.float32'>)"
    assert c.grad_req == "null"
    with pytest.warns(UserWarning, match="does not support grad_req other than 'null'"):
        c.grad_req = "write"
    assert c.grad_req == "null"
    c.initialize(ctx=ctx, default_init=fw.init.Xavier())
    assert_almost_equal(c.data(), np.array([[1, 2], [3, 4]]))


# -------------------------------------------------------------- ParameterDict
def test_parameter_dict_get_and_sharing():
    pd = fw.ParameterDict("net_")
    w = pd.get("weight", shape=(3, 0), allow_deferred_init=True)
    assert w.name == "net_weight" and pd["net_weight"] is w and "net_weight" in pd
    assert pd.get("weight", shape=(3, 5)) is w and w.shape == (3, 5)   # fills the unknown dim
    assert pd.get("weight", dtype=np.float32) is w
    with pytest.raises(ValueError, match="Cannot retrieve Parameter 'net_weight' because desired "
                                         "attribute does not match with stored for attribute "
                                         "'shape'"):
        pd.get("weight", shape=(4, 5))
    shared = fw.ParameterDict("other_", shared=pd)
    assert fw.ParameterDict("net_", shared=pd).get("weight") is w
    assert shared.get("bias", shape=(2,)).name == "other_bias"
    assert list(pd.keys()) == ["net_weight"] and len(pd) == 1
    assert repr(pd) == ("net_ (\n  Parameter net_weight (shape=(3, 5), "
                        "dtype=<class 'numpy.float32'>)\n)")


def test_parameter_dict_get_constant_and_update():
    pd = fw.ParameterDict("p_")
    c = pd.get_constant("c", [1.0, 2.0])
    assert isinstance(c, fw.Constant) and pd.get_constant("c") is c
    assert pd.get_constant("c", [1.0, 2.0]) is c
    with pytest.raises(ValueError, match="Constant 'p_c' already exists but its value"):
        pd.get_constant("c", [1.0, 3.0])
    with pytest.raises(KeyError, match="No constant named 'p_d'"):
        pd.get_constant("d")
    pd.get("w", shape=(1,))
    with pytest.raises(ValueError, match="Parameter 'p_w' already exists but it is not a constant"):
        pd.get_constant("w", [1.0])
    other = fw.ParameterDict("p_")
    other.get("w", shape=(1,))
    with pytest.raises(ValueError, match="different Parameters with the same name 'p_w'"):
        pd.update(other)
    third = fw.ParameterDict()
    third.update(pd)
    assert list(third.keys()) == ["p_c", "p_w"]


def test_parameter_dict_bulk_operations():
    pd = fw.ParameterDict("m_")
    pd.get("weight", shape=(2, 2))
    pd.get("bias", shape=(2,), init="ones")
    pd.initialize(fw.init.Zero(), ctx=[fw.cpu(0), fw.gpu(0)])
    assert_almost_equal(pd["m_bias"].data(fw.gpu(0)), np.ones(2))
    assert_almost_equal(pd["m_weight"].data(), np.zeros((2, 2)))
    assert pd.list_ctx() == [fw.cpu(0), fw.gpu(0)]
    pd.setattr("lr_mult", 0.5)
    pd.setattr("grad_req", "add")
    assert all(p.lr_mult == 0.5 and p.grad_req == "add" for p in pd.values())
    for p in pd.values():
        with autograd.record():
            y = p.data(fw.cpu(0)).sum()
        y.backward()
    pd.zero_grad()
    assert all(not p.grad(fw.cpu(0)).asnumpy().any() for p in pd.values())
    pd.reset_ctx(fw.gpu(0))
    assert pd.list_ctx() == [fw.gpu(0)]
    assert list(pd.select(".*bias").keys()) == ["m_bias"]
    assert list(pd.select([".*bias", ".*weight"]).keys()) == ["m_weight", "m_bias"]
    with pytest.raises(ValueError, match="not a valid regular expression"):
        pd.select("(")


def test_parameter_dict_save_and_load(tmp_path, ctx):
    pd = fw.ParameterDict("net_")
    pd.get("weight", shape=(2, 3))
    pd.get("bias", shape=(2,))
    pd.initialize(ctx=ctx)
    path = str(tmp_path / "p.params")
    pd.save(path)
    assert sorted(nd.load(path)) == ["net_bias", "net_weight"]
    fresh = fw.ParameterDict("net_")
    fresh.get("weight", shape=(2, 0), allow_deferred_init=True)
    fresh.get("bias", shape=(2,))
    fresh.initialize(ctx=ctx)
    fresh.load(path, ctx=ctx)
    for name in ("net_weight", "net_bias"):
        assert_almost_equal(fresh[name].data(), pd[name].data().asnumpy())
        assert fresh[name].data().context == ctx
    pd.save(path, strip_prefix="net_")
    assert sorted(nd.load(path)) == ["bias", "weight"]
    fresh.load(path, restore_prefix="net_")
    with pytest.raises(ValueError, match="Prefix 'x_' is to be stripped"):
        pd.save(path, strip_prefix="x_")
    other = fw.ParameterDict("o_")
    other.get("weight", shape=(2, 3))
    other.initialize()
    with pytest.raises(ValueError) as err:
        other.load(path)
    message = str(err.value)
    assert f"cannot load file '{path}'" in message
    assert "missing in the file (1; allow_missing=True skips them): o_weight" in message
    assert "not in the model (2; ignore_extra=True skips them): weight, bias" in message
    nd.save(path, [nd.ones((1,))])
    with pytest.raises(ValueError, match="unnamed list of 1 arrays"):
        other.load(path)


# -------------------------------------------------------------- initializers
def _filled(init, shape, name="x_weight", ctx=None, dtype="float32"):
    arr = nd.zeros(shape, ctx=ctx, dtype=dtype)
    init(name if isinstance(name, InitDesc) else InitDesc(name), arr)
    return arr


def test_constant_initializers(ctx):
    assert not _filled(fw.init.Zero(), (2, 3), ctx=ctx).asnumpy().any()
    assert_almost_equal(_filled(fw.init.One(), (2, 3), ctx=ctx), np.ones((2, 3)))
    assert_almost_equal(_filled(fw.init.Constant(0.5), (2,), ctx=ctx), np.full(2, 0.5))
    value = [[1.0, 2.0], [3.0, 4.0]]
    assert_almost_equal(_filled(fw.init.Constant(value), (2, 2), ctx=ctx), np.array(value))
    assert_almost_equal(_filled(fw.init.Constant(nd.array(value)), (2, 2), ctx=ctx),
                        np.array(value))
    with pytest.raises(ValueError, match=r"Constant: a value of shape \(2, 2\) cannot fill "
                                         r"parameter 'x_weight' of shape \(3,\)"):
        _filled(fw.init.Constant(value), (3,))


def test_random_initializers_statistics(ctx):
    fw.random.seed(7)
    u = _filled(fw.init.Uniform(0.5), (200, 50), ctx=ctx).asnumpy()
    assert u.min() >= -0.5 and u.max() <= 0.5 and abs(u.mean()) < 0.01
    assert abs(u.std() - 0.5 / math.sqrt(3)) < 0.01
    n = _filled(fw.init.Normal(0.2), (200, 50), ctx=ctx).asnumpy()
    assert abs(n.std() - 0.2) < 0.005 and abs(n.mean()) < 0.01
    assert _filled(fw.init.Normal(), (4, 4), ctx=ctx).context == ctx


@pytest.mark.parametrize("factor_type", ["avg", "in", "out"])
def test_xavier_scale(factor_type, ctx):
    shape = (64, 32, 3, 3)                       # fan_in 32*9, fan_out 64*9
    fan = {"avg": (32 * 9 + 64 * 9) / 2, "in": 32 * 9, "out": 64 * 9}[factor_type]
    scale = math.sqrt(3 / fan)
    u = _filled(fw.init.Xavier(factor_type=factor_type), shape, ctx=ctx).asnumpy()
    assert u.max() <= scale and u.min() >= -scale and u.max() > 0.9 * scale
    g = _filled(fw.init.Xavier("gaussian", factor_type, magnitude=2), shape, ctx=ctx).asnumpy()
    assert abs(g.std() / math.sqrt(2 / fan) - 1) < 0.03
    m = _filled(fw.init.MSRAPrelu(factor_type), shape, ctx=ctx).asnumpy()
    assert abs(m.std() / math.sqrt(2 / (1 + 0.25 ** 2) / fan) - 1) < 0.03


def test_xavier_errors():
    with pytest.raises(ValueError, match="Xavier initializer cannot be applied to vector x_weight "
                                         r"of shape \(3,\)"):
        _filled(fw.init.Xavier(), (3,))
    with pytest.raises(ValueError, match="rnd_type must be 'uniform' or 'gaussian'"):
        fw.init.Xavier("cauchy")
    with pytest.raises(ValueError, match="factor_type must be 'avg', 'in' or 'out'"):
        fw.init.Xavier(factor_type="sum")


def test_dispatch_by_name_suffix():
    init = fw.init.Xavier()
    assert not _filled(init, (3,), "conv0_bias").asnumpy().any()
    assert_almost_equal(_filled(init, (3,), "bn_gamma"), np.ones(3))
    assert not _filled(fw.init.One(), (3,), "bn_beta").asnumpy().any()
    assert not _filled(fw.init.One(), (3,), "bn_running_mean").asnumpy().any()
    assert_almost_equal(_filled(init, (3,), "bn_running_var"), np.ones(3))
    assert_almost_equal(_filled(init, (3,), "bn_moving_var"), np.ones(3))
    assert not _filled(fw.init.One(), (3,), "bn_moving_mean").asnumpy().any()
    with pytest.raises(ValueError, match="Xavier: unknown initialization pattern for 'scale'"):
        _filled(init, (3,), "scale")
    own = InitDesc("scale", {"__init__": "ones"})           # the parameter's own init wins
    assert_almost_equal(_filled(init, (3,), own), np.ones(3))
    with pytest.raises(TypeError, match="expected an NDArray"):
        init("w_weight", np.zeros(3))


def test_create_and_names():
    assert isinstance(fw.init.create("zeros"), fw.init.Zero)
    assert isinstance(fw.init.create("Zero"), fw.init.Zero)
    assert isinstance(fw.init.create("ones"), fw.init.One)
    assert isinstance(fw.init.create("xavier"), fw.init.Xavier)
    assert isinstance(fw.init.create("msraprelu"), fw.init.MSRAPrelu)
    assert isinstance(fw.init.create(fw.init.Normal), fw.init.Normal)
    u = fw.init.Uniform(0.3)
    assert fw.init.create(u) is u
    x = fw.init.create(fw.init.Xavier("gaussian", "in", 2).dumps())
    assert (x.rnd_type, x.factor_type, x.magnitude) == ("gaussian", "in", 2.0)
    assert fw.init.create('["constant", {"value": 2.5}]').value == 2.5
    assert fw.init.Uniform(0.3) == fw.init.Uniform(0.3) != fw.init.Uniform(0.2)
    assert fw.init.create(fw.init.MSRAPrelu(slope=0.1).dumps()).magnitude == 2 / 1.01
    with pytest.raises(ValueError, match="unknown name 'foo'; registered initializers: "):
        fw.init.create("foo")
    with pytest.raises(TypeError, match="expected an Initializer or a name"):
        fw.init.create(3)
    with pytest.raises(ValueError, match="cannot parse"):
        fw.init.create("[bad json")


def test_seeded_initialization_is_reproducible(ctx):
    values = []
    for _ in range(2):
        fw.random.seed(11)
        p = fw.Parameter("w", shape=(3, 3), init=fw.init.Xavier())
        p.initialize(ctx=ctx)
        values.append(p.data().asnumpy())
    assert np.array_equal(values[0], values[1])


def test_verbose_initialization_logs(caplog):
    import logging
    caplog.set_level(logging.INFO)
    pd = fw.ParameterDict("v_")
    pd.get("weight", shape=(2, 2))
    pd.initialize(fw.init.One(), verbose=True)
    assert re.search(r"Initialized v_weight as One\(\): 1\.0", caplog.text)
