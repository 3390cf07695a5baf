"""Indexing (getitem/setitem), take, pick, one_hot, topk, sort, argsort."""
import numpy as np
import pytest

import framework as fw
from framework import autograd, nd
from framework.test_utils import assert_almost_equal, check_numeric_gradient

rng = np.random.RandomState(11)


def _r(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def _distinct(*shape):
    """Random values without ties (so sorting has one answer and no kinks)."""
    n = int(np.prod(shape))
    values = rng.permutation(n).reshape(shape) * 0.37 + rng.uniform(0, 0.1, shape)
    return values.astype(np.float32)


X = np.arange(24, dtype=np.float32).reshape(2, 3, 4)

BASIC_KEYS = [
    1, -1, (1, 2), (1, 2, 3), (0, -1, -2),
    slice(None), slice(1, None), slice(None, None, -1), (slice(None), slice(None, None, 2)),
    (Ellipsis, 1), (Ellipsis, slice(3, 0, -2)), (None, 0), (0, None, Ellipsis, None),
    (slice(None), None, slice(2, 0, -1), 1), (slice(-1, -3, -1), Ellipsis, slice(1, 3)),
]


# ------------------------------------------------------------------ getitem
@pytest.mark.parametrize("key", BASIC_KEYS, ids=[repr(k) for k in BASIC_KEYS])
def test_basic_getitem_matches_numpy_and_is_view(ctx, key):
    x = nd.array(X, ctx=ctx)
    out = x[key]
    want = X[key]
    if np.ndim(want) == 0:
        want = np.reshape(want, (1,))       # MXNet 1.x: a single element has shape (1,)
    assert out.shape == np.shape(want) and out.dtype == np.float32
    assert_almost_equal(out, want)
    # a view: a write through the result shows in x (and shares its version)
    version = x._version[0]
    out[...] = -5.0
    assert (np.asarray(x.asnumpy()[key]) == -5.0).all()
    assert x._version[0] == version + 1


def test_basic_getitem_records_a_view_operator(ctx):
    x = nd.array(X, ctx=ctx)
    x.attach_grad()
    with autograd.record():
        y = x[0, 1:]
        z = x[[0, 1]]
    assert y._node.is_view and y._version is x._version
    assert not z._node.is_view and z._version is not x._version


ADVANCED_KEYS = [
    ("list", [1, 0, 1]),
    ("float NDArray", "ndf:[[1, 0], [1, 1]]"),
    ("int NDArray axis 1", (slice(None), "ndi:[2, 0, 2]")),
    ("numpy array with slice", (np.array([1, 0]), slice(None), np.array([3, 3]))),
    ("array after ellipsis", (Ellipsis, [0, 3, -1])),
    ("None and array", (None, 1, [0, 2])),
    ("negative indices", ([-1, -2], [-1, 0])),
]


def _key(raw, ctx):
    """The test key with "ndf:"/"ndi:" entries made float32/int64 NDArrays on ctx."""
    def one(k):
        if isinstance(k, str):
            return nd.array(eval(k[4:]), ctx=ctx, dtype="float32" if k[2] == "f" else "int64")
        return k
    return tuple(one(k) for k in raw) if isinstance(raw, tuple) else one(raw)


def _np_key(raw):
    def one(k):
        return np.array(eval(k[4:])) if isinstance(k, str) else k
    return tuple(one(k) for k in raw) if isinstance(raw, tuple) else one(raw)


@pytest.mark.parametrize("name,key", ADVANCED_KEYS, ids=[n for n, _ in ADVANCED_KEYS])
def test_advanced_getitem_matches_numpy(ctx, name, key):
    x = nd.array(X, ctx=ctx)
    out = x[_key(key, ctx)]
    want = X[_np_key(key)]
    assert out.shape == want.shape
    assert_almost_equal(out, want)
    out[...] = 0          # a copy: x is unchanged
    assert_almost_equal(x, X)


def test_int_ndarray_index_keeps_dtype_semantics(ctx):
    x = nd.array(X, ctx=ctx)
    idx = nd.array([2, 0], ctx=ctx, dtype="int32")
    assert_almost_equal(x[:, idx], X[:, [2, 0]])


def test_boolean_mask(ctx):
    x = nd.array(X[0], ctx=ctx)
    mask = X[0] % 3 == 1
    out = x[nd.array(mask, ctx=ctx, dtype="bool")]
    assert_almost_equal(out, X[0][mask])
    row_mask = np.array([True, False, True])
    assert_almost_equal(x[nd.array(row_mask, ctx=ctx, dtype="bool")], X[0][row_mask])
    assert_almost_equal(x[:, [True, False, False, True]], X[0][:, [True, False, False, True]])


def test_integer_result_has_shape_1_and_is_a_view(ctx):
    x = nd.array([1.0, 2.0, 3.0], ctx=ctx)
    y = x[1]
    assert y.shape == (1,) and y.asscalar() == 2.0 and float(y) == 2.0
    y[:] = 7.0
    assert_almost_equal(x, np.array([1.0, 7.0, 3.0], dtype=np.float32))


GRAD_KEYS = [
    (1, slice(None, None, -1)),
    (Ellipsis, slice(3, 0, -2)),
    (None, slice(1, 3), 1),
    ([1, 1, 0, 1],),                      # duplicates: their gradients add up
    (slice(None), [1, 0, 1], [2, 2, 0]),
]


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("key", GRAD_KEYS, ids=[repr(k) for k in GRAD_KEYS])
def test_getitem_gradient(ctx, order, key):
    x = _r(2, 2, 3)
    # squaring makes the second derivative non-zero and sends it through the scatter
    check_numeric_gradient(lambda v: v[key] * v[key], [x], order=order, ctx=ctx)


@pytest.mark.parametrize("order", [1, 2])
def test_getitem_gradient_with_ndarray_and_mask(ctx, order):
    x = _r(3, 4)
    idx = nd.array([[0, 2], [2, 2]], ctx=ctx)      # float32 indices, with duplicates
    mask = nd.array([[1, 0, 0, 1], [0, 1, 1, 0], [1, 1, 0, 0]], ctx=ctx, dtype="bool")
    check_numeric_gradient(lambda v: v[idx] ** 2, [x], order=order, ctx=ctx)
    check_numeric_gradient(lambda v: v[mask] ** 2, [x], order=order, ctx=ctx)


def test_duplicate_indices_accumulate_gradient(ctx):
    x = nd.array([1.0, 2.0, 3.0], ctx=ctx)
    x.attach_grad()
    with autograd.record():
        y = x[nd.array([0, 0, 2, 0], ctx=ctx)]
    y.backward()
    assert_almost_equal(x.grad, np.array([3.0, 0.0, 1.0], dtype=np.float32))


def test_getitem_errors(ctx):
    x = nd.array(X, ctx=ctx)
    with pytest.raises(IndexError, match=r"operator getitem: index \[5\] is invalid for an "
                                         r"array of shape \(2, 3, 4\)"):
        x[5]
    with pytest.raises(IndexError, match=r"operator getitem: index \[0, \[0, 9\]\] is invalid"):
        x[0, [0, 9]]
    with pytest.raises(IndexError, match=r"shape \(2, 3, 4\)"):
        x[0, 0, 0, 0]
    with pytest.raises(TypeError, match="operator getitem: unsupported index element of type "
                                        "float"):
        x[1.5]
    with pytest.raises(TypeError, match="operator getitem: slice .* bounds must be integers"):
        x[0.5:2]
    with pytest.raises(IndexError, match="operator getitem: .*shape \\(2, 3, 4\\)"):
        x[nd.array([True, False, True], ctx=ctx, dtype="bool")]
    with pytest.raises(IndexError, match="single ellipsis"):
        x[..., 0, ...]


def test_index_on_another_context_is_rejected():
    x = nd.array(X, ctx=fw.cpu())
    with pytest.raises(ValueError, match=r"operator getitem: the index array is on gpu\(0\)"):
        x[nd.array([0, 1], ctx=fw.gpu())]


# ------------------------------------------------------------------ setitem
@pytest.mark.parametrize("key,value", [
    (1, 5.0),
    ((slice(None), 0), "nd:[[7], [8]]"),
    ((Ellipsis, slice(None, None, -2)), "nd:[1, 2]"),           # broadcast over rows
    ([0, 0], "np:np.arange(12.).reshape(1, 1, 3, 4)"),             # leading size-1 dims dropped
    ([1, 0], "nd:np.arange(24.).reshape(1, 2, 3, 4)"),
    ((1, [2, 0], slice(1, 3)), [[9, 9], [8, 8]]),
    ("mask", -1.0),
])
def test_setitem_outside_record(ctx, key, value):
    x = nd.array(X, ctx=ctx)
    want = X.copy()
    if isinstance(key, str):
        np_key = X > 15
        key = nd.array(np_key, ctx=ctx, dtype="bool")
    else:
        np_key = key
    if isinstance(value, str):
        raw = np.array(eval(value[3:]), dtype=np.float32)
        value = nd.array(raw, ctx=ctx) if value.startswith("nd:") else raw
        np_value = raw
    else:
        np_value = value
    want[np_key] = np_value
    version = x._version[0]
    x[key] = value
    assert x._version[0] == version + 1
    assert x.dtype == np.float32
    assert_almost_equal(x, want)


def test_setitem_casts_to_the_array_dtype(ctx):
    x = nd.zeros((3,), ctx=ctx, dtype="int32")
    x[1] = nd.array([2.0], ctx=ctx)[0]
    x[2:] = np.float64(4.0)
    assert x.dtype == np.int32
    assert (x.asnumpy() == [0, 2, 4]).all()


def test_setitem_on_saved_array_makes_backward_raise(ctx):
    x = nd.array([1.0, 2.0, 3.0], ctx=ctx)
    w = nd.array([0.5, 0.5, 0.5], ctx=ctx)
    w.attach_grad()
    with autograd.record():
        y = (x * w).sum()           # multiply saves x for the gradient of w
    x[0] = 10.0
    with pytest.raises(RuntimeError, match="backward of operator multiply: an array it saved"):
        y.backward()


def test_setitem_on_unsaved_array_is_allowed(ctx):
    x = nd.array([1.0, 2.0, 3.0], ctx=ctx)
    x.attach_grad()
    with autograd.record():
        y = x + 1                   # add saves nothing
        z = (y * y).sum()
    other = nd.zeros((3,), ctx=ctx)
    other[1] = 5                    # unrelated write
    z.backward()
    assert_almost_equal(x.grad, 2 * (np.array([1.0, 2.0, 3.0]) + 1))


def test_setitem_inside_record_is_differentiable(ctx):
    x = nd.array([1.0, 2.0, 3.0, 4.0], ctx=ctx)
    v = nd.array([10.0, 20.0], ctx=ctx)
    x.attach_grad()
    v.attach_grad()
    with autograd.record():
        y = x * 2
        y[1:3] = v * 3
        z = (y * y).sum()
    z.backward()
    # z = sum (2x)^2 over kept positions + sum (3v)^2
    assert_almost_equal(x.grad, np.array([8.0, 0.0, 0.0, 32.0], dtype=np.float32))
    assert_almost_equal(v.grad, 18 * np.array([10.0, 20.0], dtype=np.float32))


@pytest.mark.parametrize("order", [1, 2])
def test_setitem_gradient(ctx, order):
    def fn(x, v):
        y = x * 1.5
        y[:, [2, 0, 2]] = v * v      # v (3,) broadcast over the rows; v[0] is overwritten
        y[0] = 0.25                  # a scalar cuts the gradient of the first row
        return y * x
    check_numeric_gradient(fn, [_r(3, 4), _r(3)], order=order, ctx=ctx)


def test_setitem_repeated_index_gradient_goes_to_the_landing_write(ctx):
    x = nd.zeros((4,), ctx=ctx)
    v = nd.array([1.0, 2.0, 3.0], ctx=ctx)
    x.attach_grad()
    v.attach_grad()
    with autograd.record():
        y = x * 1
        y[[1, 1, 2]] = v
        z = (y * nd.array([1.0, 10.0, 100.0, 1000.0], ctx=ctx)).sum()
    z.backward()
    assert_almost_equal(y, np.array([0.0, 2.0, 3.0, 0.0], dtype=np.float32))
    assert_almost_equal(x.grad, np.array([1.0, 0.0, 0.0, 1000.0], dtype=np.float32))
    assert_almost_equal(v.grad, np.array([0.0, 10.0, 100.0], dtype=np.float32))


def test_setitem_mask_gradient(ctx):
    mask = nd.array([[1, 0, 1], [0, 0, 1]], ctx=ctx, dtype="bool")

    def fn(x, v):
        y = x * x
        y[mask] = v
        return y
    check_numeric_gradient(fn, [_r(2, 3), _r(3)], order=2, ctx=ctx)


def test_setitem_variable_while_recording_raises(ctx):
    x = nd.ones((3,), ctx=ctx)
    x.attach_grad()
    with autograd.record():
        with pytest.raises(RuntimeError, match="setitem: in-place write to a variable"):
            x[0] = 2.0


def test_setitem_errors(ctx):
    x = nd.zeros((2, 3), ctx=ctx)
    with pytest.raises(ValueError, match=r"operator setitem: cannot assign a value of shape "
                                         r"\(2,\) to the selection \[0\] of shape \(3,\) of an "
                                         r"array of shape \(2, 3\)"):
        x[0] = nd.ones((2,), ctx=ctx)
    with pytest.raises(ValueError, match=r"shape \(4, 3\)"):
        x[:] = np.ones((4, 3))
    with pytest.raises(IndexError, match=r"operator setitem: index \[2\] is invalid"):
        x[2] = 1.0
    with pytest.raises(TypeError, match="operator setitem: unsupported index element"):
        x["a"] = 1.0
    with pytest.raises(ValueError, match="operator setitem: the value is on"):
        nd.zeros((2,), ctx=fw.cpu())[0] = nd.ones((1,), ctx=fw.gpu())[0]
    assert_almost_equal(x, np.zeros((2, 3)))          # nothing was written


# -------------------------------------------------------------- take, pick
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("mode", ["clip", "wrap"])
def test_take_forward(ctx, axis, mode):
    idx = np.array([[0, 5], [-1, 2]], dtype=np.float32)
    out = nd.take(nd.array(X, ctx=ctx), nd.array(idx, ctx=ctx), axis=axis, mode=mode)
    want = np.take(X, idx.astype(np.int64), axis=axis, mode=mode)
    assert out.shape == want.shape
    assert_almost_equal(out, want)
    assert_almost_equal(nd.array(X, ctx=ctx).take(nd.array(idx, ctx=ctx), axis=axis, mode=mode),
                        want)


@pytest.mark.parametrize("order", [1, 2])
def test_take_gradient(ctx, order):
    idx = nd.array([2, 0, 2, 7], ctx=ctx)          # duplicate and clipped indices
    check_numeric_gradient(lambda a: nd.take(a, idx, axis=1) ** 2, [_r(2, 4)],
                           order=order, ctx=ctx)
    check_numeric_gradient(lambda a: nd.take(a, idx, mode="wrap") ** 2, [_r(3, 2)],
                           order=order, ctx=ctx)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_pick_forward(ctx, axis):
    data = _r(3, 4, 2)
    shape = list(data.shape)
    n = shape.pop(axis)
    index = rng.randint(-1, n + 2, size=shape).astype(np.float32)     # some out of range
    out = nd.pick(nd.array(data, ctx=ctx), nd.array(index, ctx=ctx), axis=axis)
    clipped = np.clip(index.astype(np.int64), 0, n - 1)
    want = np.take_along_axis(data, np.expand_dims(clipped, axis), axis=axis)
    assert_almost_equal(out, np.squeeze(want, axis))
    kept = nd.pick(nd.array(data, ctx=ctx), nd.array(index, ctx=ctx), axis=axis, keepdims=True)
    assert_almost_equal(kept, want)
    if axis == 1:
        batch = nd.batch_take(nd.array(data[:, :, 0], ctx=ctx), nd.array(index[:, 0], ctx=ctx))
        assert_almost_equal(batch, data[np.arange(3), clipped[:, 0], 0])
    wrapped = nd.array(data, ctx=ctx).pick(nd.array(index, ctx=ctx), axis=axis, mode="wrap")
    want = np.take_along_axis(data, np.expand_dims(np.mod(index.astype(np.int64), n), axis), axis)
    assert_almost_equal(wrapped, np.squeeze(want, axis))


@pytest.mark.parametrize("order", [1, 2])
def test_pick_gradient(ctx, order):
    index = nd.array([2, 0, 3], ctx=ctx)
    check_numeric_gradient(lambda d: nd.pick(d, index) ** 2, [_r(3, 4)], order=order, ctx=ctx)
    index0 = nd.array([[1, 0]], ctx=ctx)
    check_numeric_gradient(lambda d: nd.pick(d, index0, axis=0, keepdims=True) ** 2,
                           [_r(3, 2)], order=order, ctx=ctx)


def test_take_and_pick_errors(ctx):
    a = nd.ones((2, 3), ctx=ctx)
    with pytest.raises(ValueError, match=r"operator take: axis 2 is out of range for an array "
                                         r"of 2 dimensions"):
        nd.take(a, nd.array([0], ctx=ctx), axis=2)
    with pytest.raises(ValueError, match="operator take: mode must be 'clip', 'wrap' or 'raise'"):
        nd.take(a, nd.array([0], ctx=ctx), mode="bad")
    with pytest.raises(IndexError, match="operator take: an index is out of range"):
        nd.take(a, nd.array([0, 4], ctx=ctx), mode="raise")
    with pytest.raises(ValueError, match=r"operator pick: index of shape \(3,\) does not match "
                                         r"data of shape \(2, 3\) along axis 1: expected \(2,\)"):
        nd.pick(a, nd.array([0, 1, 2], ctx=ctx))


# ----------------------------------------------------------------- one_hot
def test_one_hot(ctx):
    idx = np.array([[0, 2], [4, -1]], dtype=np.float32)
    out = nd.one_hot(nd.array(idx, ctx=ctx), 4, on_value=3.0, off_value=-1.0, dtype="float64")
    want = np.full((2, 2, 4), -1.0)
    for pos in np.ndindex(idx.shape):
        i = int(idx[pos])
        if 0 <= i < 4:
            want[pos + (i,)] = 3.0
    assert out.dtype == np.float64 and out.shape == (2, 2, 4)
    assert_almost_equal(out, want)
    assert nd.array([1, 0], ctx=ctx).one_hot(3).dtype == np.float32
    with pytest.raises(ValueError, match="operator one_hot: depth"):
        nd.one_hot(nd.array(idx, ctx=ctx), -1)


def test_one_hot_has_no_gradient(ctx):
    x = nd.array([0.0, 1.0], ctx=ctx)
    x.attach_grad()
    with autograd.record():
        y = nd.one_hot(x, 2)
    y.backward()
    assert_almost_equal(x.grad, np.zeros(2))


# -------------------------------------------------------- sort, argsort, topk
@pytest.mark.parametrize("axis", [0, -1, None])
@pytest.mark.parametrize("is_ascend", [True, False])
def test_sort_and_argsort(ctx, axis, is_ascend):
    data = _distinct(3, 4)
    x = nd.array(data, ctx=ctx)
    np_data = data.reshape(-1) if axis is None else data
    np_axis = 0 if axis is None else axis
    order = np.argsort(np_data if is_ascend else -np_data, axis=np_axis)
    out = nd.sort(x, axis=axis, is_ascend=is_ascend)
    assert_almost_equal(out, np.take_along_axis(np_data, order, np_axis))
    idx = nd.argsort(x, axis=axis, is_ascend=is_ascend)
    assert idx.dtype == np.float32
    assert_almost_equal(idx, order.astype(np.float32))
    assert nd.argsort(x, axis=axis, dtype="int32").dtype == np.int32
    assert_almost_equal(x.sort(axis=axis, is_ascend=is_ascend), out)


def test_argsort_of_unsigned_descending(ctx):
    x = nd.array([3, 1, 2], ctx=ctx, dtype="uint8")
    assert_almost_equal(nd.argsort(x, is_ascend=False), np.array([0, 2, 1], dtype=np.float32))


@pytest.mark.parametrize("axis", [0, -1, None])
@pytest.mark.parametrize("is_ascend", [True, False])
def test_topk(ctx, axis, is_ascend):
    data = _distinct(3, 4)
    x = nd.array(data, ctx=ctx)
    np_data = data.reshape(-1) if axis is None else data
    np_axis = 0 if axis is None else axis
    k = 2
    order = np.argsort(np_data if is_ascend else -np_data, axis=np_axis)
    top = np.take(order, np.arange(k), axis=np_axis)
    values = np.take_along_axis(np_data, top, np_axis)
    idx = nd.topk(x, axis=axis, k=k, is_ascend=is_ascend)
    assert idx.dtype == np.float32
    assert_almost_equal(idx, top.astype(np.float32))
    assert_almost_equal(nd.topk(x, axis=axis, k=k, ret_typ="value", is_ascend=is_ascend), values)
    both = x.topk(axis=axis, k=k, ret_typ="both", is_ascend=is_ascend, dtype="int64")
    assert isinstance(both, list) and len(both) == 2
    assert_almost_equal(both[0], values)
    assert both[1].dtype == np.int64
    assert_almost_equal(both[1], top)
    mask = nd.topk(x, axis=axis, k=k, ret_typ="mask", is_ascend=is_ascend)
    want = np.zeros_like(np_data)
    np.put_along_axis(want, top, 1.0, np_axis)
    want = want.reshape(data.shape)      # MXNet: a mask keeps the data's shape, also for axis=None
    assert mask.dtype == np.float32 and mask.shape == data.shape
    assert_almost_equal(mask, want)


def test_topk_defaults_and_full_sort(ctx):
    data = np.array([[0.3, 0.2, 0.4], [0.1, 0.3, 0.2]], dtype=np.float32)
    x = nd.array(data, ctx=ctx)
    assert_almost_equal(nd.topk(x), np.array([[2.0], [1.0]], dtype=np.float32))
    assert_almost_equal(nd.topk(x, k=0, ret_typ="value"), -np.sort(-data, axis=-1))


@pytest.mark.parametrize("order", [1, 2])
def test_sort_and_topk_gradient(ctx, order):
    data = _distinct(3, 4)
    check_numeric_gradient(lambda v: nd.sort(v, axis=0) ** 2, [data], order=order, ctx=ctx)
    check_numeric_gradient(lambda v: nd.topk(v, k=2, ret_typ="value") ** 2, [data],
                           order=order, ctx=ctx)
    check_numeric_gradient(lambda v: nd.topk(v, axis=None, k=3, ret_typ="both")[0] ** 2,
                           [data], order=order, ctx=ctx)


def test_indices_and_masks_carry_no_gradient(ctx):
    x = nd.array(_distinct(2, 3), ctx=ctx)
    x.attach_grad()
    with autograd.record():
        outs = [nd.argsort(x), nd.topk(x, k=2), nd.topk(x, k=2, ret_typ="mask"),
                nd.topk(x, ret_typ="both")[1]]
    for o in outs:
        assert_almost_equal(autograd.grad(o, [x])[0], np.zeros((2, 3)))


def test_ordering_errors(ctx):
    x = nd.ones((2, 3), ctx=ctx)
    with pytest.raises(ValueError, match="operator topk: ret_typ must be"):
        nd.topk(x, ret_typ="values")
    with pytest.raises(ValueError, match=r"operator topk: k=4 is larger than the size 3 of "
                                         r"axis 1 of data of shape \(2, 3\)"):
        nd.topk(x, k=4)
    with pytest.raises(ValueError, match=r"operator sort: axis 2 is out of range"):
        nd.sort(x, axis=2)
    with pytest.raises(ValueError, match=r"operator argsort: axis -3 is out of range"):
        nd.argsort(x, axis=-3)


# ---------------------------------------------------------------- PyTorch
def _grad_pair(torch, data, fw_fn, torch_fn):
    head = _r(*fw_fn(nd.array(data)).shape)
    x = nd.array(data)
    x.attach_grad()
    with autograd.record():
        out = fw_fn(x)
    out.backward(nd.array(head))
    t = torch.tensor(data, requires_grad=True)
    tout = torch_fn(t)
    tout.backward(torch.tensor(head))
    assert_almost_equal(out, tout.detach().numpy(), rtol=1e-6)
    assert_almost_equal(x.grad, t.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_gathers_match_torch():
    torch = pytest.importorskip("torch")
    data = _r(4, 5)
    idx = np.array([3, 0, 3, 1, 3])
    # take along an axis, with duplicate indices: index_select
    _grad_pair(torch, data, lambda x: nd.take(x, nd.array(idx[:4]), axis=1),
               lambda t: torch.index_select(t, 1, torch.tensor(idx[:4])))
    _grad_pair(torch, data, lambda x: nd.take(x, nd.array(idx[:4])),
               lambda t: torch.index_select(t, 0, torch.tensor(idx[:4])))
    # pick is torch.gather with one index per row
    _grad_pair(torch, data, lambda x: nd.pick(x, nd.array(idx[:4]), axis=1),
               lambda t: torch.gather(t, 1, torch.tensor(idx[:4]).reshape(4, 1)).reshape(4))
    # advanced getitem with duplicates, basic slicing with steps, boolean masks
    rows, cols = np.array([0, 3, 0, 0]), np.array([1, 1, 4, 1])
    _grad_pair(torch, data, lambda x: x[rows.tolist(), nd.array(cols)],
               lambda t: t[torch.tensor(rows), torch.tensor(cols)])
    _grad_pair(torch, data, lambda x: x[1:, ::2], lambda t: t[1:, ::2])
    mask = data > 0
    _grad_pair(torch, data, lambda x: x[nd.array(mask, dtype="bool")],
               lambda t: t[torch.tensor(mask)])
    # sort and topk values
    _grad_pair(torch, data, lambda x: nd.sort(x, axis=0, is_ascend=False),
               lambda t: torch.sort(t, dim=0, descending=True).values)
    _grad_pair(torch, data, lambda x: nd.topk(x, k=3, ret_typ="value"),
               lambda t: torch.topk(t, 3, dim=-1).values)
    torch_idx = torch.topk(torch.tensor(data), 3, dim=-1).indices.numpy()
    assert_almost_equal(nd.topk(nd.array(data), k=3), torch_idx.astype(np.float32))
