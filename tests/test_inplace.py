"""In-place safety: writes to arrays saved for backward make backward fail, naming the
operator; writes that no gradient needs are allowed and give the right gradients."""
import numpy as np
import pytest

from framework import autograd, nd
from framework.test_utils import assert_almost_equal

X = [1., 2., 3.]


def _var(values=X, ctx=None):
    x = nd.array(values, ctx=ctx)
    x.attach_grad()
    return x


def _write(arr, how):
    """Apply one kind of in-place write to ``arr``."""
    if how == "+=":
        arr += 1
    elif how == "-=":
        arr -= 1
    elif how == "*=":
        arr *= 2
    elif how == "/=":
        arr /= 2
    elif how == "setitem":
        arr[:] = 5
    elif how == "setitem_part":
        arr[1:] = nd.array([7.] * (arr.shape[0] - 1), ctx=arr.context)
    elif how == "copyto":
        nd.array([9.] * arr.shape[0], ctx=arr.context).copyto(arr)
    else:
        raise AssertionError(how)


WRITES = ["+=", "-=", "*=", "/=", "setitem", "setitem_part", "copyto"]


@pytest.mark.parametrize("inside_record", [True, False])
@pytest.mark.parametrize("how", WRITES)
def test_write_to_input_saved_by_multiply(how, inside_record, ctx):
    x = _var(ctx=ctx)
    with autograd.record():
        a = x * 1
        y = a * x                 # multiply saves a, which x's gradient reads
        if inside_record:
            _write(a, how)
    if not inside_record:
        _write(a, how)
    with pytest.raises(RuntimeError, match="backward of operator multiply: an array it saved "
                                           "for the gradient was modified in place"):
        y.backward()


@pytest.mark.parametrize("how", ["+=", "*=", "setitem"])
def test_write_to_output_saved_by_exp(how, ctx):
    x = _var(ctx=ctx)
    with autograd.record():
        y = nd.exp(x * 1)         # exp saves its output
        _write(y, how)
    with pytest.raises(RuntimeError, match="backward of operator exp"):
        y.backward()


def test_write_to_input_saved_by_log(ctx):
    x = _var(ctx=ctx)
    with autograd.record():
        a = x + 1
        y = nd.log(a)             # log saves its input
    a *= 3
    with pytest.raises(RuntimeError, match="backward of operator log"):
        y.backward()


def test_write_through_detach_is_seen(ctx):
    # detach() shares memory, and so the version counter
    x = _var(ctx=ctx)
    with autograd.record():
        a = x * 1
        y = nd.exp(a) * a
    d = a.detach()
    d += 1
    with pytest.raises(RuntimeError, match="backward of operator (exp|multiply)"):
        y.backward()


def test_the_error_is_raised_by_grad_too(ctx):
    x = _var(ctx=ctx)
    with autograd.record():
        a = x * 1
        y = a * a
    a[:] = 0
    with pytest.raises(RuntimeError, match="operator multiply"):
        autograd.grad(y, [x])


# --------------------------------------------------------- allowed writes
@pytest.mark.parametrize("how", ["+=", "-=", "*=", "/=", "setitem", "copyto"])
def test_write_to_input_of_add_is_allowed(how, ctx):
    x = _var(ctx=ctx)
    with autograd.record():
        a = x * 2
        y = a + x                 # add saves nothing
        _write(a, how)
        loss = y * 1
    loss.backward()
    assert_almost_equal(x.grad, np.full(3, 3., dtype=np.float32))
    assert_almost_equal(y, 3 * np.array(X, dtype=np.float32))


def test_writes_are_differentiable_while_recording(ctx):
    # a = 2x; a += x; a *= 3; a -= 1; a /= 2  ->  a = (9x - 1) / 2, da/dx = 4.5
    x = _var(ctx=ctx)
    with autograd.record():
        a = x * 2
        a += x
        a *= 3
        a -= 1
        a /= 2
    assert_almost_equal(a, (9 * np.array(X, dtype=np.float32) - 1) / 2)
    a.backward()
    assert_almost_equal(x.grad, np.full(3, 4.5, dtype=np.float32))


def test_in_place_product_with_a_variable_while_recording(ctx):
    # h = x * 1; h *= w  ->  dh/dx = w, dh/dw = x: multiply needs the old h for w's gradient,
    # but the old h is exactly what the product read, so nothing was overwritten too early
    x = _var(ctx=ctx)
    w = _var([4., 5., 6.], ctx=ctx)
    with autograd.record():
        h = x * 1
        h *= w
    h.backward()
    assert_almost_equal(x.grad, np.array([4., 5., 6.], dtype=np.float32))
    assert_almost_equal(w.grad, np.array(X, dtype=np.float32))


def test_in_place_power_while_recording(ctx):
    x = _var(ctx=ctx)
    with autograd.record():
        a = x * 1
        a **= 3                    # power reads its base for its own gradient
    a.backward()
    assert_almost_equal(x.grad, 3 * np.array(X, dtype=np.float32) ** 2)


def test_in_place_mask_while_recording(ctx):
    x = _var(ctx=ctx)
    mask = nd.array([1., 0., 1.], ctx=ctx)
    with autograd.record():
        h = x * x
        h *= mask                  # dropout-style
    h.backward()
    assert_almost_equal(x.grad, np.array([2., 0., 6.], dtype=np.float32))


def test_constant_overwrite_while_recording_cuts_the_history(ctx):
    x = _var(ctx=ctx)
    with autograd.record():
        a = x * 2
        a[:] = 5                   # a no longer depends on x
        y = a * x
    y.backward()
    assert_almost_equal(x.grad, np.full(3, 5., dtype=np.float32))


def test_partial_setitem_while_recording(ctx):
    x = _var(ctx=ctx)
    v = _var([10.], ctx=ctx)
    with autograd.record():
        a = x * 2
        a[1:2] = v * 3
        y = a * a
    y.backward()
    # a = [2x0, 3v, 2x2]: dy/dx = [8x0, 0, 8x2], dy/dv = 2 * 3v * 3
    assert_almost_equal(x.grad, np.array([8., 0., 24.], dtype=np.float32))
    assert_almost_equal(v.grad, np.array([180.], dtype=np.float32))


def test_write_after_backward_is_harmless(ctx):
    x = _var(ctx=ctx)
    with autograd.record():
        a = x * 1
        y = a * a
    y.backward()
    a += 1
    assert_almost_equal(x.grad, 2 * np.array(X, dtype=np.float32))


# -------------------------------------------------------------- variables
@pytest.mark.parametrize("how", WRITES)
def test_write_to_variable_while_recording_raises(how, ctx):
    x = _var(ctx=ctx)
    before = x.asnumpy()
    with autograd.record():
        with pytest.raises(RuntimeError, match="in-place write to a variable"):
            _write(x, how)
    assert_almost_equal(x, before)                  # nothing was written


def test_sgd_update_outside_record(ctx):
    # minimise sum((w - t)^2) with w -= lr * w.grad
    t = nd.array([1., -2., 3.], ctx=ctx)
    w = _var([0., 0., 0.], ctx=ctx)
    lr = 0.25
    for _ in range(30):
        with autograd.record():
            d = w - t
            loss = (d * d).sum()
        loss.backward()
        w -= lr * w.grad
    assert_almost_equal(w, t, rtol=1e-5, atol=1e-6)
    assert w.grad_req == "write" and w.grad is not None


def test_write_to_variable_outside_record_then_backward_raises(ctx):
    x = _var(ctx=ctx)
    with autograd.record():
        y = x * x
    x -= 1                            # an SGD step before backward: y's gradient would be wrong
    with pytest.raises(RuntimeError, match="backward of operator multiply"):
        y.backward()


# ------------------------------------------------------------------ views
def test_write_to_reshape_view_bumps_the_base(ctx):
    x = _var([1., 2., 3., 4.], ctx=ctx)
    with autograd.record():
        a = x * 1
        y = a * a
    v = a.reshape((2, 2))
    assert v._version is a._version
    v += 1
    assert_almost_equal(a, np.array([2., 3., 4., 5.], dtype=np.float32))   # memory shared
    with pytest.raises(RuntimeError, match="backward of operator multiply"):
        y.backward()


def test_write_to_base_is_seen_through_a_saved_view(ctx):
    x = _var([1., 2., 3., 4.], ctx=ctx)
    with autograd.record():
        a = x * 1
        v = a.reshape((2, 2))
        y = v * v                      # saves the view
    a[:] = 0
    with pytest.raises(RuntimeError, match="backward of operator multiply"):
        y.backward()


def test_slice_view_shares_the_version(ctx):
    x = _var([1., 2., 3., 4.], ctx=ctx)
    with autograd.record():
        a = x * 1
        y = nd.exp(a)
    s = y[1:3]
    s *= 0
    with pytest.raises(RuntimeError, match="backward of operator exp"):
        y.backward()


def test_write_to_view_while_recording_raises(ctx):
    x = _var([1., 2., 3., 4.], ctx=ctx)
    with autograd.record():
        a = x * 1
        v = a.reshape((2, 2))
        with pytest.raises(RuntimeError, match=r"shares memory with another \(a view"):
            v += 1
        with pytest.raises(RuntimeError, match=r"shares memory with another \(a view"):
            a += 1                       # the base of a view, too


def test_write_under_record_through_a_view_of_a_constant_raises(ctx):
    # the base would keep no history of the write: its later uses would miss w's gradient
    w = _var([1., 2.], ctx=ctx)
    a = nd.zeros((2,), ctx=ctx)
    v = a[:]
    with autograd.record():
        with pytest.raises(RuntimeError, match=r"setitem: in-place write while recording"):
            v[:] = w * 5
        with pytest.raises(RuntimeError, match=r"setitem: in-place write while recording"):
            a[:] = w * 5


def test_write_outside_record_to_the_base_of_a_saved_view_raises_at_backward(ctx):
    w = _var([1., 2.], ctx=ctx)
    with autograd.record():
        a = w * 2
        v = a.reshape((2,))
        y = (v * w).sum()                # multiply saved the view v
    a[:] = 0.0
    with pytest.raises(RuntimeError, match="backward of operator multiply"):
        y.backward()


def test_copy_does_not_share_the_version(ctx):
    x = _var(ctx=ctx)
    with autograd.record():
        a = x * 1
        y = a * a
    c = a.copy()
    c += 1
    y.backward()
    assert_almost_equal(x.grad, 2 * np.array(X, dtype=np.float32))


def test_inplace_outside_record_writes_into_the_same_memory(ctx):
    w = nd.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], ctx=ctx)
    raw, version = w.data, w._version[0]
    w -= 0.5 * nd.ones((3,), ctx=ctx)            # broadcasts into w's own buffer
    assert w.data is raw and w._version[0] == version + 1
    assert_almost_equal(w, np.array([[0.5, 1.5, 2.5], [3.5, 4.5, 5.5]], dtype=np.float32))


def test_inplace_outside_record_falls_back_for_dtype_and_reports_shape(ctx):
    k = nd.array([1, 2], dtype="int32", ctx=ctx)
    k += 1.5                                     # a float result cast back to the int array
    assert k.dtype == np.int32
    assert_almost_equal(k, np.array([2, 3], dtype=np.int32))
    w = nd.ones((2, 3), ctx=ctx)
    with pytest.raises(ValueError, match=r"\+=: the result of shape \(2, 2, 3\) does not fit "
                                         r"in place into the array of shape \(2, 3\)"):
        w += nd.ones((2, 1, 3), ctx=ctx)
    assert_almost_equal(w, np.ones((2, 3), dtype=np.float32))   # nothing was written


def test_function_saved_tensor_modified_in_place_raises(ctx):
    class Square(autograd.Function):
        def forward(self, x):
            self.save_for_backward(x)
            return x * x

        def backward(self, dy):
            x, = self.saved_tensors
            return 2 * x * dy

    w = _var([1., 2.], ctx=ctx)
    with autograd.record():
        h = w * 1
        y = Square()(h)
    h[:] = 100.0
    with pytest.raises(RuntimeError, match="backward of operator Square"):
        y.backward()


def test_inplace_multiply_of_a_constant_by_a_variable(ctx):
    w = _var([1., 2.], ctx=ctx)
    x = nd.array([3., 4.], ctx=ctx)
    with autograd.record():
        x *= w
        z = x.sum()
    z.backward()
    assert_almost_equal(w.grad, np.array([3., 4.], dtype=np.float32))
