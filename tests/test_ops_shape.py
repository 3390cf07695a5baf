"""Shape operators: reshape (MXNet's special values), transpose, concat, split, slice,
tile, repeat, flip, pad, diag, ...

Forward values are compared with NumPy on the host and with the examples in
MXNet's documentation, gradients with finite differences (first and second
order, float64) on both contexts and with PyTorch in float32.
"""
import numpy as np
import pytest

import framework as fw
from framework import autograd, nd
from framework.test_utils import assert_almost_equal, check_numeric_gradient


def _data(shape, seed=0):
    rng = np.random.RandomState(seed)
    return rng.uniform(-1.5, 1.5, size=shape)


def _x(shape, ctx, dtype=np.float32):
    return nd.array(np.arange(int(np.prod(shape))).reshape(shape), ctx=ctx, dtype=dtype)


# ------------------------------------------------- reshape's special values
# Every example of MXNet's reshape documentation: (input shape, shape, reverse, output shape)
MXNET_RESHAPE_EXAMPLES = [
    ((4,), (2, 2), False, (2, 2)),
    ((2, 3, 4), (4, 0, 2), False, (4, 3, 2)),
    ((2, 3, 4), (2, 0, 0), False, (2, 3, 4)),
    ((2, 3, 4), (6, 1, -1), False, (6, 1, 4)),
    ((2, 3, 4), (3, -1, 8), False, (3, 1, 8)),
    ((2, 3, 4), (-1,), False, (24,)),
    ((2, 3, 4), (-2,), False, (2, 3, 4)),
    ((2, 3, 4), (2, -2), False, (2, 3, 4)),
    ((2, 3, 4), (-2, 1, 1), False, (2, 3, 4, 1, 1)),
    ((2, 3, 4), (-3, 4), False, (6, 4)),
    ((2, 3, 4, 5), (-3, -3), False, (6, 20)),
    ((2, 3, 4), (0, -3), False, (2, 12)),
    ((2, 3, 4), (-3, -2), False, (6, 4)),
    ((2, 3, 4), (-4, 1, 2, -2), False, (1, 2, 3, 4)),
    ((2, 3, 4), (2, -4, -1, 3, -2), False, (2, 1, 3, 4)),
    ((10, 5, 4), (-1, 0), False, (40, 5)),
    ((10, 5, 4), (-1, 0), True, (50, 4)),
]


@pytest.mark.parametrize("in_shape,spec,reverse,out_shape", MXNET_RESHAPE_EXAMPLES)
def test_reshape_mxnet_documentation_examples(ctx, in_shape, spec, reverse, out_shape):
    x = _x(in_shape, ctx)
    y = nd.reshape(x, shape=spec, reverse=reverse)
    assert y.shape == out_shape
    assert_almost_equal(y, np.arange(x.size, dtype=np.float32).reshape(out_shape))
    assert y.context == ctx


def test_reshape_call_forms(ctx):
    x = _x((2, 3, 4), ctx)
    assert x.reshape(4, -1).shape == (4, 6)
    assert x.reshape((0, -1)).shape == (2, 12)
    assert x.reshape(shape=(-3, 0)).shape == (6, 4)
    assert nd.reshape(x, (24,)).shape == (24,)
    assert x.reshape(-1, 0, reverse=True).shape == (6, 4)
    assert nd.reshape(x, (-1, 0), True).shape == (6, 4)
    assert nd.reshape(nd.ones((1, 1), ctx=ctx), ()).shape == ()


@pytest.mark.parametrize("spec,message", [
    ((5, 5), r"the target shape \(5, 5\) has 25 elements, the input 24"),
    ((-1, -1), r"at most one dimension can be -1"),
    ((5, -1), r"-1 cannot be inferred: 24 elements are not a multiple of 5"),
    ((0, 0, 0, 0), r"0 at position 3 has no input dimension to copy"),
    ((-4, 5, -1, -2), r"-4 cannot split dimension 2 into \(5, -1\)"),
    ((-4, -1, -1, -2), r"cannot both be -1"),
    ((2, 3, -3), r"-3 at position 2 needs two more input dimensions"),
    ((-5, 24), r"-5 is not a valid dimension"),
])
def test_bad_reshape_errors(ctx, spec, message):
    x = _x((2, 3, 4), ctx)
    with pytest.raises(ValueError, match=r"operator reshape: cannot reshape an array of shape "
                                         r"\(2, 3, 4\) with shape=.*" + message):
        nd.reshape(x, spec)


def test_reshape_like(ctx):
    x, y = _x((2, 6), ctx), nd.zeros((3, 4), ctx=ctx)
    assert nd.reshape_like(x, y).shape == (3, 4)
    # MXNet's documented lhs/rhs ranges: (30, 7) like (15, 2, 4) on lhs [0, 1) and rhs [0, 2)
    a, b = nd.zeros((30, 7), ctx=ctx), nd.zeros((15, 2, 4), ctx=ctx)
    assert nd.reshape_like(a, b, lhs_begin=0, lhs_end=1, rhs_begin=0, rhs_end=2).shape == (15, 2, 7)
    with pytest.raises(ValueError, match=r"operator reshape_like: cannot reshape lhs of shape \(2, 6\)"):
        nd.reshape_like(x, nd.zeros((5,), ctx=ctx))


# ---------------------------------------------------- MXNet's documented examples
MATRIX = [[1., 2., 3., 4.], [5., 6., 7., 8.], [9., 10., 11., 12.]]


def test_slice_examples(ctx):
    x = nd.array(MATRIX, ctx=ctx)
    assert_almost_equal(nd.slice(x, begin=(0, 1), end=(2, 4)), np.array([[2, 3, 4], [6, 7, 8]], np.float32))
    assert_almost_equal(nd.slice(x, begin=(None, 0), end=(None, 3), step=(-1, 2)),
                        np.array([[9, 11], [5, 7], [1, 3]], np.float32))
    assert_almost_equal(nd.slice_axis(x, axis=0, begin=1, end=3), np.array(MATRIX[1:3], np.float32))
    assert_almost_equal(nd.slice_axis(x, axis=1, begin=0, end=2),
                        np.array([[1, 2], [5, 6], [9, 10]], np.float32))
    assert_almost_equal(nd.slice_axis(x, axis=1, begin=-3, end=-1),
                        np.array([[2, 3], [6, 7], [10, 11]], np.float32))
    assert_almost_equal(nd.slice_axis(x, axis=1, begin=2, end=None), np.array(MATRIX, np.float32)[:, 2:])
    y = nd.zeros((2, 3), ctx=ctx)
    assert_almost_equal(nd.slice_like(x, y), np.array([[1, 2, 3], [5, 6, 7]], np.float32))
    assert_almost_equal(nd.slice_like(x, y, axes=(0, 1)), np.array([[1, 2, 3], [5, 6, 7]], np.float32))
    assert_almost_equal(nd.slice_like(x, y, axes=(0,)), np.array(MATRIX[:2], np.float32))
    assert_almost_equal(nd.slice_like(x, y, axes=(-1,)),
                        np.array([[1, 2, 3], [5, 6, 7], [9, 10, 11]], np.float32))
    assert_almost_equal(x.slice(begin=(1,), end=(None,)), np.array(MATRIX[1:], np.float32))


def test_tile_repeat_reverse_stack_squeeze_examples(ctx):
    x = nd.array([[1, 2], [3, 4]], ctx=ctx)
    assert_almost_equal(nd.tile(x, reps=(2, 3)), np.array(
        [[1, 2, 1, 2, 1, 2], [3, 4, 3, 4, 3, 4], [1, 2, 1, 2, 1, 2], [3, 4, 3, 4, 3, 4]], np.float32))
    assert_almost_equal(nd.tile(x, reps=(2,)), np.array([[1, 2, 1, 2], [3, 4, 3, 4]], np.float32))
    assert nd.tile(x, reps=(2, 2, 3)).shape == (2, 4, 6)
    assert_almost_equal(nd.repeat(x, repeats=2), np.array([1, 1, 2, 2, 3, 3, 4, 4], np.float32))
    assert_almost_equal(nd.repeat(x, repeats=2, axis=1), np.array([[1, 1, 2, 2], [3, 3, 4, 4]], np.float32))
    assert_almost_equal(nd.repeat(x, repeats=2, axis=0),
                        np.array([[1, 2], [1, 2], [3, 4], [3, 4]], np.float32))
    assert_almost_equal(nd.repeat(x, repeats=2, axis=-1), np.array([[1, 1, 2, 2], [3, 3, 4, 4]], np.float32))
    r = nd.array([[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]], ctx=ctx)
    assert_almost_equal(nd.reverse(r, axis=0), np.array([[5, 6, 7, 8, 9], [0, 1, 2, 3, 4]], np.float32))
    assert_almost_equal(nd.flip(r, axis=1), np.array([[4, 3, 2, 1, 0], [9, 8, 7, 6, 5]], np.float32))
    a, b = nd.array([1, 2], ctx=ctx), nd.array([3, 4], ctx=ctx)
    assert_almost_equal(nd.stack(a, b), np.array([[1, 2], [3, 4]], np.float32))
    assert_almost_equal(nd.stack(a, b, axis=1), np.array([[1, 3], [2, 4]], np.float32))
    d = nd.array([[[0], [1], [2]]], ctx=ctx)
    assert nd.squeeze(d).shape == (3,)
    assert nd.squeeze(d, axis=0).shape == (3, 1)
    assert nd.squeeze(d, axis=2).shape == (1, 3)
    assert nd.squeeze(d, axis=(0, 2)).shape == (3,)
    assert nd.squeeze(nd.array([[[4]]], ctx=ctx)).shape == (1,)     # MXNet keeps one dimension


def test_split_examples(ctx):
    # MXNet's split documentation: x of shape (3, 2, 1)
    x = nd.array([[[1], [2]], [[3], [4]], [[5], [6]]], ctx=ctx)
    y = nd.split(x, num_outputs=2, axis=1)
    assert isinstance(y, list) and len(y) == 2
    assert_almost_equal(y[0], np.array([[[1]], [[3]], [[5]]], np.float32))
    assert_almost_equal(y[1], np.array([[[2]], [[4]], [[6]]], np.float32))
    z = nd.split(x, num_outputs=3, axis=0)
    assert [v.shape for v in z] == [(1, 2, 1)] * 3
    assert_almost_equal(z[2], np.array([[[5], [6]]], np.float32))
    w = nd.split(x, num_outputs=3, axis=0, squeeze_axis=True)
    assert [v.shape for v in w] == [(2, 1)] * 3
    assert_almost_equal(w[1], np.array([[3], [4]], np.float32))
    one = nd.split(x, num_outputs=1, axis=0)
    assert isinstance(one, nd.NDArray) and one.shape == (3, 2, 1)


def test_flatten_transpose_expand_dims_examples(ctx):
    x = nd.array([[[1, 2, 3], [4, 5, 6], [7, 8, 9]], [[1, 2, 3], [4, 5, 6], [7, 8, 9]]], ctx=ctx)
    assert_almost_equal(nd.flatten(x), np.array([list(range(1, 10))] * 2, np.float32))
    assert x.flatten().shape == (2, 9)
    assert nd.flatten(nd.ones((4,), ctx=ctx)).shape == (4, 1)
    t = nd.array([[[1, 2], [3, 4]], [[5, 6], [7, 8]]], ctx=ctx)
    assert_almost_equal(nd.transpose(t), np.array([[[1, 5], [3, 7]], [[2, 6], [4, 8]]], np.float32))
    assert_almost_equal(nd.transpose(t, axes=(1, 0, 2)),
                        np.array([[[1, 2], [5, 6]], [[3, 4], [7, 8]]], np.float32))
    assert t.T.shape == (2, 2, 2) and t.transpose(2, 0, 1).shape == (2, 2, 2)
    assert nd.expand_dims(_x((2, 3, 4), ctx), axis=1).shape == (2, 1, 3, 4)
    assert nd.expand_dims(_x((2, 3), ctx), axis=-1).shape == (2, 3, 1)
    assert nd.expand_dims(_x((2, 3), ctx), axis=-3).shape == (1, 2, 3)


def test_pad_and_diag_values(ctx):
    x = nd.array([[[[1, 2, 3], [4, 5, 6]]]], ctx=ctx)                       # (1, 1, 2, 3)
    a = x.asnumpy()
    width = (0, 0, 0, 0, 1, 1, 2, 2)
    pairs = ((0, 0), (0, 0), (1, 1), (2, 2))
    assert_almost_equal(nd.pad(x, mode="constant", pad_width=width, constant_value=-1),
                        np.pad(a, pairs, mode="constant", constant_values=-1))
    assert_almost_equal(nd.pad(x, mode="edge", pad_width=width), np.pad(a, pairs, mode="edge"))
    assert_almost_equal(nd.pad(x, mode="reflect", pad_width=(0, 0, 0, 0, 1, 0, 2, 1)),
                        np.pad(a, ((0, 0), (0, 0), (1, 0), (2, 1)), mode="reflect"))
    # MXNet's pad documentation, reflect on the last two axes of a (1, 1, 2, 3) input
    expected = np.array([[[[6, 5, 4, 5, 6, 5, 4], [3, 2, 1, 2, 3, 2, 1],
                           [6, 5, 4, 5, 6, 5, 4], [3, 2, 1, 2, 3, 2, 1]]]], np.float32)
    assert_almost_equal(nd.pad(x, mode="reflect", pad_width=(0, 0, 0, 0, 1, 1, 2, 2)), expected)
    d = nd.array([[1, 2, 3], [4, 5, 6]], ctx=ctx)
    assert_almost_equal(nd.diag(d), np.array([1, 5], np.float32))
    assert_almost_equal(nd.diag(d, k=1), np.array([2, 6], np.float32))
    assert_almost_equal(nd.diag(d, k=-1), np.array([4], np.float32))
    v = nd.array([1, 2], ctx=ctx)
    assert_almost_equal(nd.diag(v), np.array([[1, 0], [0, 2]], np.float32))
    assert_almost_equal(nd.diag(v, k=1), np.array([[0, 1, 0], [0, 0, 2], [0, 0, 0]], np.float32))
    assert_almost_equal(nd.diag(v, k=-1), np.array([[0, 0, 0], [1, 0, 0], [0, 2, 0]], np.float32))
    t = _data((2, 3, 4)).astype(np.float32)
    assert_almost_equal(nd.diag(nd.array(t, ctx=ctx), k=1, axis1=1, axis2=2),
                        np.diagonal(t, 1, 1, 2))


# ------------------------------------------------------------- against NumPy
NUMPY_CASES = [
    (lambda x: nd.transpose(x, (2, 0, 1)), lambda a: a.transpose(2, 0, 1)),
    (lambda x: nd.swapaxes(x, 0, 2), lambda a: np.swapaxes(a, 0, 2)),
    (lambda x: nd.swapaxes(x, dim1=1, dim2=-1), lambda a: np.swapaxes(a, 1, -1)),
    (lambda x: nd.concat(x, x * 2, dim=1), lambda a: np.concatenate([a, a * 2], axis=1)),
    (lambda x: nd.concat(x, x, x, dim=-1), lambda a: np.concatenate([a, a, a], axis=-1)),
    (lambda x: nd.concatenate([x, x + 1]), lambda a: np.concatenate([a, a + 1], axis=0)),
    (lambda x: nd.stack(x, x + 1, axis=3), lambda a: np.stack([a, a + 1], axis=3)),
    (lambda x: nd.slice(x, (1, None, -1), (None, 1, 0), (None, -1, -2)), lambda a: a[1:, :1:-1, -1:0:-2]),
    (lambda x: nd.tile(x, (1, 2)), lambda a: np.tile(a, (1, 2))),
    (lambda x: nd.repeat(x, 3, axis=1), lambda a: np.repeat(a, 3, axis=1)),
    (lambda x: nd.flip(x, axis=(0, 2)), lambda a: a[::-1, :, ::-1]),
    (lambda x: nd.split(x, 2, axis=2)[1], lambda a: np.split(a, 2, axis=2)[1]),
]


@pytest.mark.parametrize("index", range(len(NUMPY_CASES)))
def test_forward_matches_numpy(ctx, index):
    fn, ref = NUMPY_CASES[index]
    a = _data((2, 3, 4)).astype(np.float32)
    out = fn(nd.array(a, ctx=ctx))
    expected = ref(a)
    assert out.shape == expected.shape and out.dtype == np.float32 and out.context == ctx
    assert_almost_equal(out, expected)


def test_depth_to_space_documentation_example(ctx):
    # MXNet's depth_to_space / space_to_depth documentation, x = arange(24) as (1, 4, 2, 3)
    x = _x((1, 4, 2, 3), ctx)
    y = np.array([[[[0, 6, 1, 7, 2, 8], [12, 18, 13, 19, 14, 20],
                    [3, 9, 4, 10, 5, 11], [15, 21, 16, 22, 17, 23]]]], np.float32)
    assert_almost_equal(nd.depth_to_space(x, 2), y)
    assert_almost_equal(nd.space_to_depth(nd.array(y, ctx=ctx), 2), x.asnumpy())
    with pytest.raises(ValueError, match=r"operator depth_to_space: expected \(N, C, H, W\) with C"):
        nd.depth_to_space(_x((1, 3, 2, 2), ctx), 2)


# ---------------------------------------------------------------------- views
def test_views_share_memory_and_version(ctx):
    x = _x((2, 3, 4), ctx)
    views = [nd.reshape(x, (6, 4)), nd.transpose(x), nd.swapaxes(x, 0, 1),
             nd.slice(x, (0, 1), (1, 3)), nd.slice_axis(x, 2, 1, 3), nd.flip(x, 1),
             nd.split(x, 2, axis=2)[1]]
    for v in views:
        assert v._version is x._version
    x += 1                                        # an in-place write shows through every view
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4) + 1
    assert_almost_equal(views[0], a.reshape(6, 4))
    assert_almost_equal(views[1], a.transpose())
    assert_almost_equal(views[3], a[0:1, 1:3])
    assert_almost_equal(views[5], a[:, ::-1])
    assert_almost_equal(views[6], a[:, :, 2:])
    views[0] += 1                                 # and a write to a view reaches the base
    assert_almost_equal(x, a + 1)


def test_copies_do_not_share_the_version(ctx):
    x = _x((2, 3), ctx)
    for y in (nd.concat(x, x), nd.stack(x, x), nd.tile(x, (2,)), nd.repeat(x, 2),
              nd.pad(nd.reshape(x, (1, 1, 2, 3)), pad_width=(0, 0, 0, 0, 1, 1, 1, 1)), nd.diag(x),
              nd.expand_dims(x, 0), nd.squeeze(nd.reshape(x, (1, 6))), nd.flatten(x)):  # MXNet copies
        assert y._version is not x._version


def test_in_place_write_to_a_saved_view_input_is_detected(ctx):
    x = nd.array(_data((2, 3)), ctx=ctx)
    x.attach_grad()
    with autograd.record():
        z = x * 1
        v = nd.reshape(z, (3, 2))
        y = v * v                 # saves v, a view of z
    z += 1                        # writing z changes v's data behind the graph's back
    with pytest.raises(RuntimeError, match="operator multiply"):
        y.backward()


# ------------------------------------------------------------------ gradients
GRAD_CASES = {
    "reshape": (lambda x: nd.reshape(x, (-1, 0), reverse=True), [(2, 3)]),
    "reshape_special": (lambda x: nd.reshape(x, (-4, 1, -1, -3)), [(2, 3, 2)]),
    "reshape_like": (lambda x: nd.reshape_like(x, nd.zeros((3, 2), ctx=x.context, dtype=x.dtype)), [(2, 3)]),
    "transpose": (lambda x: nd.transpose(x, (1, 2, 0)), [(2, 3, 2)]),
    "transpose_default": (lambda x: x.T, [(3, 4)]),
    "swapaxes": (lambda x: nd.swapaxes(x, 0, 2), [(2, 3, 2)]),
    "expand_dims": (lambda x: nd.expand_dims(x, axis=1), [(3, 4)]),
    "squeeze": (lambda x: nd.squeeze(x, axis=0), [(1, 3, 4)]),
    "flatten": (lambda x: nd.flatten(x), [(2, 3, 2)]),
    "concat": (lambda a, b: nd.concat(a, b, dim=1), [(2, 2), (2, 3)]),
    "concat3_axis0": (lambda a, b, c: nd.concat(a, b, c, dim=0), [(1, 3), (2, 3), (1, 3)]),
    "stack": (lambda a, b: nd.stack(a, b, axis=1), [(2, 3), (2, 3)]),
    "split": (lambda x: nd.split(x, 2, axis=1), [(3, 4)]),
    "split_squeeze": (lambda x: nd.split(x, 3, axis=0, squeeze_axis=True), [(3, 4)]),
    "split_one_output_used": (lambda x: nd.split(x, 2, axis=0)[1], [(4, 3)]),
    "slice": (lambda x: nd.slice(x, (None, 3), (None, 0), (None, -2)), [(3, 4)]),
    "slice_axis": (lambda x: nd.slice_axis(x, axis=1, begin=1, end=-1), [(3, 4)]),
    "slice_like": (lambda x: nd.slice_like(x, nd.zeros((2, 3), ctx=x.context), axes=(1,)), [(3, 4)]),
    "tile": (lambda x: nd.tile(x, (2, 1, 2)), [(2, 3)]),
    "repeat_flat": (lambda x: nd.repeat(x, 2), [(2, 3)]),
    "repeat_axis": (lambda x: nd.repeat(x, 2, axis=-1), [(2, 3)]),
    "flip": (lambda x: nd.flip(x, axis=(0, 1)), [(3, 4)]),
    "pad_constant": (lambda x: nd.pad(x, "constant", (0, 0, 0, 0, 1, 2, 0, 1), constant_value=0.5),
                     [(1, 1, 2, 3)]),
    "pad_edge": (lambda x: nd.pad(x, "edge", (0, 0, 0, 0, 2, 1, 1, 2)), [(1, 1, 2, 3)]),
    "pad_reflect": (lambda x: nd.pad(x, "reflect", (0, 0, 0, 0, 1, 1, 2, 1)), [(1, 1, 2, 3)]),
    "pad_2d": (lambda x: nd.pad(x, "reflect", (2, 1, 1, 0)), [(3, 4)]),
    "diag_embed": (lambda x: nd.diag(x, k=1), [(3,)]),
    "diag_extract": (lambda x: nd.diag(x, k=-1), [(3, 4)]),
    "diag_3d": (lambda x: nd.diag(x, axis1=2, axis2=0), [(3, 2, 2)]),
    "depth_to_space": (lambda x: nd.depth_to_space(x, 2), [(1, 4, 1, 2)]),
}


@pytest.mark.parametrize("case", sorted(GRAD_CASES))
def test_gradient_first_order(ctx, case):
    fn, shapes = GRAD_CASES[case]
    inputs = [_data(s, seed=i) for i, s in enumerate(shapes)]
    check_numeric_gradient(fn, inputs, order=1, ctx=ctx)


@pytest.mark.parametrize("case", sorted(GRAD_CASES))
def test_gradient_second_order(ctx, case):
    fn, shapes = GRAD_CASES[case]
    inputs = [_data(s, seed=i) for i, s in enumerate(shapes)]

    def squared(*xs):
        out = fn(*xs)
        if isinstance(out, list):
            return [o * o for o in out]
        return out * out          # nonlinear, so the backward rule itself gets differentiated

    check_numeric_gradient(squared, inputs, order=2, ctx=ctx)


def test_concat_gradient_reaches_each_input(ctx):
    a, b = nd.ones((2, 1), ctx=ctx), nd.ones((2, 2), ctx=ctx)
    a.attach_grad()
    b.attach_grad()
    with autograd.record():
        y = nd.concat(a, b, dim=1)
    y.backward(nd.array([[1, 2, 3], [4, 5, 6]], ctx=ctx))
    assert_almost_equal(a.grad, np.array([[1], [4]], np.float32))
    assert_almost_equal(b.grad, np.array([[2, 3], [5, 6]], np.float32))
    assert a.grad.dtype == np.float32


def test_pad_edge_gradient_piles_onto_the_border(ctx):
    x = nd.array([1, 2, 3], ctx=ctx)
    x.attach_grad()
    with autograd.record():
        y = nd.pad(nd.reshape(x, (1, 3)), "edge", (0, 0, 2, 1))
    y.backward()
    assert_almost_equal(x.grad, np.array([3, 1, 2], np.float32))


LINEAR_CASES = [
    # (op, the same linear map on NumPy, input shape)
    (lambda x: nd.pad(x, "constant", (1, 2, 0, 1), constant_value=7),
     lambda a: np.pad(a, ((1, 2), (0, 1))), (2, 3)),
    (lambda x: nd.pad(x, "edge", (1, 2, 0, 1)), lambda a: np.pad(a, ((1, 2), (0, 1)), mode="edge"), (2, 3)),
    (lambda x: nd.pad(x, "reflect", (1, 1, 2, 1)),
     lambda a: np.pad(a, ((1, 1), (2, 1)), mode="reflect"), (2, 3)),
    (lambda x: nd.slice(x, (1, None), (None, None), (1, -2)), lambda a: a[1:, ::-2], (2, 3)),
    (lambda x: nd.diag(x, k=1), lambda a: np.diag(a, k=1), (3,)),
    (lambda x: nd.diag(x, k=-1), lambda a: np.diag(a, k=-1), (3, 3)),
    (lambda x: nd.tile(x, (2, 1)), lambda a: np.tile(a, (2, 1)), (2, 3)),
    (lambda x: nd.repeat(x, 2, axis=0), lambda a: np.repeat(a, 2, axis=0), (2, 3)),
    (lambda x: nd.concat(x, x, dim=0), lambda a: np.concatenate([a, a]), (2, 3)),
    (lambda x: nd.stack(x, x, axis=2), lambda a: np.stack([a, a], axis=2), (2, 3)),
    (lambda x: nd.split(x, 3, axis=1, squeeze_axis=True)[2], lambda a: a[:, 2], (2, 3)),
]


@pytest.mark.parametrize("index", range(len(LINEAR_CASES)))
def test_gradient_of_the_gradient_in_the_head_is_the_operator_itself(ctx, index):
    # for a linear map A, the gradient is A^T h, and d<A^T h, w>/dh = A w: this runs
    # the backward rule of each operator's backward rule
    fn, ref, shape = LINEAR_CASES[index]
    x = nd.array(_data(shape), ctx=ctx, dtype=np.float64)
    x.attach_grad()
    y = fn(x)
    h = nd.array(_data(y.shape, seed=1), ctx=ctx, dtype=np.float64)
    h.attach_grad()
    w = _data(shape, seed=2)
    with autograd.record():
        g, = autograd.grad(fn(x), [x], head_grads=[h], create_graph=True)
        s = (g * nd.array(w, ctx=ctx, dtype=np.float64)).sum()
    s.backward()
    assert_almost_equal(h.grad, ref(w), rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------- errors
def test_error_messages(ctx):
    x = _x((2, 3), ctx)
    with pytest.raises(ValueError, match=r"operator concat: input 1 has shape \(3, 3\), which does "
                                         r"not match input 0 of shape \(2, 3\) outside dimension 1"):
        nd.concat(x, _x((3, 3), ctx), dim=1)
    with pytest.raises(ValueError, match=r"operator concat: input 1 has shape \(2, 3, 1\)"):
        nd.concat(x, _x((2, 3, 1), ctx))
    with pytest.raises(TypeError, match=r"operator concat: inputs have different dtypes"):
        nd.concat(x, _x((2, 3), ctx, np.float64))
    with pytest.raises(ValueError, match=r"operator stack: input 1 has shape \(3, 2\), "
                                         r"input 0 has shape \(2, 3\)"):
        nd.stack(x, _x((3, 2), ctx))
    with pytest.raises(ValueError, match=r"operator split: axis 1 of shape \(2, 3\) has size 3, which "
                                         r"is not divisible by num_outputs=2"):
        nd.split(x, 2, axis=1)
    with pytest.raises(ValueError, match=r"operator split: squeeze_axis needs num_outputs"):
        nd.split(_x((4, 2), ctx), 2, axis=0, squeeze_axis=True)
    with pytest.raises(ValueError, match=r"operator squeeze: cannot squeeze axis 1 of an array of "
                                         r"shape \(2, 3\): its size is 3, not 1"):
        nd.squeeze(x, axis=1)
    with pytest.raises(ValueError, match=r"operator transpose: axes \(0, 0\) are not a permutation"):
        nd.transpose(x, (0, 0))
    with pytest.raises(ValueError, match=r"operator swapaxes: axis 2 is out of range for an array of 2"):
        nd.swapaxes(x, 0, 2)
    with pytest.raises(ValueError, match=r"operator expand_dims: axis 3 is out of range"):
        nd.expand_dims(x, 3)
    with pytest.raises(ValueError, match=r"operator slice: step cannot be 0"):
        nd.slice(x, (0,), (1,), (0,))
    with pytest.raises(ValueError, match=r"operator slice: begin \(0, 0, 0\) has 3 entries"):
        nd.slice(x, (0, 0, 0), (1, 1, 1))
    with pytest.raises(ValueError, match=r"operator slice_axis: begin=2, end=1 do not select"):
        nd.slice_axis(x, 1, 2, 1)
    with pytest.raises(ValueError, match=r"operator slice_like: axis 0 of shape_like \(3, 3\) is longer"):
        nd.slice_like(x, nd.zeros((3, 3), ctx=ctx))
    with pytest.raises(ValueError, match=r"operator pad: pad_width \(1, 1\) has 2 values; an array of "
                                         r"shape \(2, 3\) needs 2 \* 2 = 4"):
        nd.pad(x, pad_width=(1, 1))
    with pytest.raises(ValueError, match=r"operator pad: reflect padding \(2, 0\) of axis 0 must be smaller"):
        nd.pad(x, mode="reflect", pad_width=(2, 0, 0, 0))
    with pytest.raises(ValueError, match=r"operator pad: mode must be"):
        nd.pad(x, mode="wrap", pad_width=(0, 0, 1, 1))
    with pytest.raises(ValueError, match=r"operator tile: reps \(-1,\) must not be negative"):
        nd.tile(x, (-1,))
    with pytest.raises(ValueError, match=r"operator diag: axis1 and axis2 must differ"):
        nd.diag(x, axis1=1, axis2=-1)
    other = nd.ones((2, 3), ctx=fw.gpu(0) if ctx.device_type == "cpu" else fw.cpu(0))
    with pytest.raises(ValueError, match=r"operator concat: inputs live on different contexts"):
        nd.concat(x, other, dim=0)


# ---------------------------------------------------------- PyTorch, float32
def _torch_cases(torch):
    F = torch.nn.functional
    return [
        (lambda x: nd.reshape(x, (-3, 0)), lambda x: x.reshape(6, 4)),
        (lambda x: nd.transpose(x, (2, 0, 1)), lambda x: x.permute(2, 0, 1)),
        (lambda x: nd.swapaxes(x, 0, 2), lambda x: x.transpose(0, 2)),
        (lambda x: nd.expand_dims(x, 1), lambda x: x.unsqueeze(1)),
        (lambda x: nd.flatten(x), lambda x: x.flatten(1)),
        (lambda x: nd.concat(x, x * 2, dim=2), lambda x: torch.cat([x, x * 2], dim=2)),
        (lambda x: nd.stack(x, x * 3, axis=1), lambda x: torch.stack([x, x * 3], dim=1)),
        (lambda x: nd.split(x, 2, axis=2)[1] * nd.split(x, 2, axis=2)[0],
         lambda x: torch.chunk(x, 2, dim=2)[1] * torch.chunk(x, 2, dim=2)[0]),
        (lambda x: nd.slice_axis(x, 1, 1, 3), lambda x: x.narrow(1, 1, 2)),
        (lambda x: nd.tile(x, (2, 1, 3)), lambda x: x.repeat(2, 1, 3)),
        (lambda x: nd.repeat(x, 2, axis=1), lambda x: x.repeat_interleave(2, dim=1)),
        (lambda x: nd.flip(x, (0, 2)), lambda x: x.flip((0, 2))),
        (lambda x: nd.pad(nd.expand_dims(x, 0), "constant", (0, 0, 0, 0, 1, 2, 2, 1), constant_value=3),
         lambda x: F.pad(x.unsqueeze(0), (2, 1, 1, 2), mode="constant", value=3)),
        (lambda x: nd.pad(nd.expand_dims(x, 0), "edge", (0, 0, 0, 0, 1, 2, 2, 1)),
         lambda x: F.pad(x.unsqueeze(0), (2, 1, 1, 2), mode="replicate")),
        (lambda x: nd.pad(nd.expand_dims(x, 0), "reflect", (0, 0, 0, 0, 2, 1, 3, 2)),
         lambda x: F.pad(x.unsqueeze(0), (3, 2, 2, 1), mode="reflect")),
        (lambda x: nd.diag(x, k=1, axis1=1, axis2=2), lambda x: torch.diagonal(x, 1, 1, 2)),
        (lambda x: nd.diag(nd.reshape(x, (-1,)), k=-2), lambda x: torch.diag(x.reshape(-1), -2)),
    ]


def test_matches_torch_float32(ctx):
    torch = pytest.importorskip("torch")
    a = _data((2, 3, 4)).astype(np.float32)
    rng = np.random.RandomState(1)
    for i, (fn, tfn) in enumerate(_torch_cases(torch)):
        x = nd.array(a, ctx=ctx)
        x.attach_grad()
        with autograd.record():
            y = fn(x)
        head = rng.standard_normal(y.shape).astype(np.float32)
        y.backward(nd.array(head, ctx=ctx))
        tx = torch.tensor(a, requires_grad=True)
        ty = tfn(tx)
        ty.backward(torch.tensor(head))
        assert_almost_equal(y, ty.detach().numpy(), rtol=1e-6, atol=1e-6, names=(f"case {i}", "torch"))
        assert_almost_equal(x.grad, tx.grad.numpy(), rtol=1e-5, atol=1e-6,
                            names=(f"grad case {i}", "torch grad"))
