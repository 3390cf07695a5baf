"""`fw.autograd`: MXNet 1.x's documented examples and behaviour, flags, errors.

Expected numbers come from MXNet's own documentation (the `mxnet.autograd` API
page, its Gluon autograd tutorials) or from derivatives worked out by hand.
"""
import math
import subprocess
import sys
import threading

import numpy as np
import pytest

import framework as fw
from framework import autograd, nd
from framework.test_utils import assert_almost_equal


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


# ------------------------------------------------------------ MXNet's examples
def test_seed_example_prints_mxnet_output(capsys):
    x = fw.nd.array([1, 2, 3, 4])
    x.attach_grad()
    with fw.autograd.record():
        y = x * x + 1
    y.backward()
    print(x.grad)
    assert capsys.readouterr().out == "\n[2. 4. 6. 8.]\n<NDArray 4 @cpu(0)>\n"
    assert x.grad.dtype == np.float32


def test_tutorial_z_equals_2x_squared():
    # Gluon tutorial "autograd.md": y = x * 2, z = y * x, so dz/dx = 4x
    x = nd.array([[1, 2], [3, 4]])
    x.attach_grad()
    with autograd.record():
        y = x * 2
        z = y * x
    z.backward()
    assert_almost_equal(x.grad, np.array([[4, 8], [12, 16]], dtype=np.float32))


def test_backward_of_non_scalar_is_backward_of_its_sum():
    x = nd.array([[1, 2], [3, 4]])
    x.attach_grad()
    with autograd.record():
        z = x * 2 * x
    z.backward()
    implicit = x.grad.asnumpy()
    with autograd.record():
        s = nd.sum(x * 2 * x)
    s.backward()
    assert_almost_equal(x.grad, implicit)
    with autograd.record():
        z = x * 2 * x
    z.backward(nd.ones_like(z))
    assert_almost_equal(x.grad, implicit)


def test_tutorial_y_equals_2x_squared():
    # "Calculating non-parameter gradients": y = 2x^2 at [1, 2, 3] -> 4x
    x = nd.array([1, 2, 3])
    x.attach_grad()
    with autograd.record():
        y = 2 * x ** 2
    y.backward()
    assert_almost_equal(x.grad, np.array([4, 8, 12], dtype=np.float32))


def test_tutorial_custom_head_gradient_gives_192():
    # "Custom head gradients": y = x^3 in the framework, z = y^2 outside it;
    # dz/dy = 2y is passed to backward and dz/dx = 6x^5 = 192 at x = 2
    x = nd.array([2])
    x.attach_grad()
    with autograd.record():
        y = x ** 3
    y_np = y.asnumpy()
    dzdy = nd.array(2 * y_np)
    y.backward(dzdy)
    assert x.grad.asscalar() == pytest.approx(192.0)


def test_straight_dope_head_gradient():
    # The Gluon book: z = 2x^2 with head gradient [[10, 1], [.1, .01]] -> 4x * head
    x = nd.array([[1, 2], [3, 4]])
    x.attach_grad()
    with autograd.record():
        z = 2 * x * x
    z.backward(nd.array([[10, 1.], [.1, .01]]))
    assert_almost_equal(x.grad, np.array([[40, 8], [1.2, .16]], dtype=np.float32), rtol=1e-6)


def test_tutorial_python_control_flow():
    # The tutorial's piecewise polynomial: x^2 on [0, 1/2), x^3 on [1/2, 2/3), ...
    # then flat from 0.75; it quotes 1.08 = 3 * 0.6^2 at x = 0.6.
    def f(x):
        y = x
        if x < 0.75:
            num_loops = math.floor(1 / (1 - x.asscalar()))
            for _ in range(num_loops):
                y = y * x
        else:
            y = y * 0
        return y

    def get_grad(v):
        x = nd.array([v])
        x.attach_grad()
        with autograd.record():
            y = f(x)
        y.backward()
        return x.grad.asscalar()

    assert get_grad(0.6) == pytest.approx(1.08, rel=1e-6)
    for v in (0.0, 0.2, 0.4, 0.55, 0.6, 0.7, 0.8, 0.9):
        x32 = float(np.float32(v))
        if x32 < 0.75:
            n = math.floor(1 / (1 - x32))
            expected = (n + 1) * x32 ** n
        else:
            expected = 0.0
        assert get_grad(v) == pytest.approx(expected, rel=1e-5, abs=1e-7), v


def test_grad_docstring_example_returns_list():
    # mxnet.autograd.grad docstring: z = exp(x) + x at x = 1 -> [3.71828175]
    x = nd.ones((1,))
    x.attach_grad()
    with autograd.record():
        z = nd.elemwise_add(nd.exp(x), x)
    dx = autograd.grad(z, [x], create_graph=True)
    assert isinstance(dx, list) and len(dx) == 1
    assert dx[0].shape == (1,)
    assert dx[0].asscalar() == pytest.approx(3.71828175)
    assert repr(dx[0]).startswith("\n[3.71828") and repr(dx[0]).endswith("\n<NDArray 1 @cpu(0)>")
    # and differentiating that gradient gives e (MXNet's Perl binding test)
    dx[0].backward()
    assert x.grad.asscalar() == pytest.approx(2.71828175)


def test_grad_with_a_single_variable_still_returns_a_list():
    x = nd.array([1., 2.])
    x.attach_grad()
    with autograd.record():
        y = x * x
    g = autograd.grad(y, x)
    assert isinstance(g, list) and len(g) == 1
    assert_almost_equal(g[0], np.array([2., 4.], dtype=np.float32))


def test_grad_leaves_grad_buffers_alone():
    x = nd.array([1., 2.])
    x.attach_grad()
    with autograd.record():
        y = x * x * x
    g, = autograd.grad(y, [x])
    assert_almost_equal(g, np.array([3., 12.], dtype=np.float32))
    assert_almost_equal(x.grad, np.zeros(2, dtype=np.float32))


def test_grad_of_several_heads_with_head_grads():
    a = nd.array([1., 2.])
    b = nd.array([3., 5.])
    a.attach_grad()
    b.attach_grad()
    with autograd.record():
        y1 = a * b
        y2 = a + b
    ga, gb = autograd.grad([y1, y2], [a, b], head_grads=[nd.array([1., 10.]), nd.array([2., 3.])])
    assert_almost_equal(ga, np.array([1 * 3 + 2, 10 * 5 + 3], dtype=np.float32))
    assert_almost_equal(gb, np.array([1 * 1 + 2, 10 * 2 + 3], dtype=np.float32))


def test_grad_of_unused_variable_is_zero():
    a, b = nd.array([1., 2.]), nd.array([3., 4.])
    a.attach_grad()
    b.attach_grad()
    with autograd.record():
        y = a * 3
    ga, gb = autograd.grad(y, [a, b])
    assert_almost_equal(ga, np.full(2, 3, dtype=np.float32))
    assert_almost_equal(gb, np.zeros(2, dtype=np.float32))


def test_module_level_backward_with_several_heads():
    x = nd.array([1., 2., 3.])
    x.attach_grad()
    with autograd.record():
        y1 = x * x
        y2 = x * 5
    autograd.backward([y1, y2], [nd.array([1., 1., 1.]), nd.array([0., 1., 2.])])
    assert_almost_equal(x.grad, np.array([2 + 0, 4 + 5, 6 + 10], dtype=np.float32))


def test_gradient_accumulates_over_uses():
    x = nd.array([1., 2.])
    x.attach_grad()
    with autograd.record():
        y = x * x + x + x * 3
    y.backward()
    assert_almost_equal(x.grad, np.array([6., 8.], dtype=np.float32))


# -------------------------------------------------------------- flags
def test_default_state_of_a_fresh_process():
    code = ("import framework as fw; a = fw.autograd; "
            "print(a.is_recording(), a.is_training())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_default_state_outside_any_block():
    assert autograd.is_recording() is False
    assert autograd.is_training() is False
    x = nd.array([1.])
    x.attach_grad()
    y = x * 2            # not recorded
    with pytest.raises(RuntimeError, match="not in a computational graph"):
        y.backward()


def test_record_turns_on_recording_and_training_and_restores():
    with autograd.record():
        assert autograd.is_recording() and autograd.is_training()
        with autograd.record(train_mode=False):
            assert autograd.is_recording() and not autograd.is_training()
        assert autograd.is_recording() and autograd.is_training()
    assert not autograd.is_recording() and not autograd.is_training()


def test_pause_inside_record():
    x = nd.array([1., 2.])
    x.attach_grad()
    with autograd.record():
        y = x * x
        with autograd.pause():
            assert not autograd.is_recording()
            assert not autograd.is_training()       # pause defaults to predict mode
            z = x * 3                                # not recorded
        with autograd.pause(train_mode=True):
            assert not autograd.is_recording() and autograd.is_training()
        assert autograd.is_recording() and autograd.is_training()
    y.backward()
    assert_almost_equal(x.grad, np.array([2., 4.], dtype=np.float32))
    with pytest.raises(RuntimeError, match="not in a computational graph"):
        z.backward()


def test_pause_results_are_constants_in_later_recording():
    x = nd.array([1., 2.])
    x.attach_grad()
    with autograd.record():
        with autograd.pause():
            c = x * 10
        y = c * x
    y.backward()
    assert_almost_equal(x.grad, np.array([10., 20.], dtype=np.float32))


def test_train_mode_and_predict_mode_leave_recording_alone():
    with autograd.train_mode():
        assert autograd.is_training() and not autograd.is_recording()
        with autograd.predict_mode():
            assert not autograd.is_training() and not autograd.is_recording()
        assert autograd.is_training()
    assert not autograd.is_training()
    with autograd.record():
        with autograd.predict_mode():
            assert autograd.is_recording() and not autograd.is_training()
        assert autograd.is_training()
    with autograd.record(train_mode=False):
        with autograd.train_mode():
            assert autograd.is_recording() and autograd.is_training()
        assert not autograd.is_training()


def test_the_four_combinations_of_recording_and_training():
    seen = {}
    for rec, train in [(False, False), (False, True), (True, False), (True, True)]:
        if rec:
            scope = autograd.record(train_mode=train)
        else:
            scope = autograd.train_mode() if train else autograd.predict_mode()
        with scope:
            seen[(rec, train)] = (autograd.is_recording(), autograd.is_training())
    assert all(k == v for k, v in seen.items())


def test_scopes_restore_state_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with autograd.record():
            1 / 0
    assert not autograd.is_recording() and not autograd.is_training()


def test_set_recording_and_set_training_return_previous_values():
    assert autograd.set_recording(True) is False
    assert autograd.is_recording()
    assert autograd.set_recording(True) is True
    assert autograd.set_recording(False) is True
    assert autograd.set_recording(False) is False
    assert autograd.set_training(True) is False
    assert autograd.is_training()
    assert autograd.set_training(False) is True
    assert not autograd.is_training()


def test_set_recording_records_like_a_record_block():
    # The API page: recording "can be also set manually" with set_recording(True)
    x = nd.array([1., 2., 3., 4.])
    x.attach_grad()
    autograd.set_recording(True)
    y = x * x + 1
    autograd.set_recording(False)
    y.backward()
    assert_almost_equal(x.grad, np.array([2., 4., 6., 8.], dtype=np.float32))


def test_backward_train_mode_is_seen_by_the_gradient_rules():
    modes = []

    class Probe(autograd.Function):
        def forward(self, x):
            modes.append(("forward", autograd.is_training()))
            return x * 1

        def backward(self, dy):
            modes.append(("backward", autograd.is_training()))
            return dy

    x = nd.array([1.])
    x.attach_grad()
    with autograd.record(train_mode=False):
        y = Probe()(x)
    y.backward(train_mode=False)
    with autograd.record():
        y = Probe()(x)
    y.backward()
    assert modes == [("forward", False), ("backward", False),
                     ("forward", True), ("backward", True)]
    assert not autograd.is_training()


def test_flags_are_thread_local():
    ready, done = threading.Event(), threading.Event()
    seen = {}

    def worker():
        seen["initial"] = (autograd.is_recording(), autograd.is_training())
        with autograd.record():
            ready.set()
            done.wait(5)
            seen["inside"] = (autograd.is_recording(), autograd.is_training())
            x = nd.array([3.])
            x.attach_grad()
            y = x * x
        y.backward()
        seen["grad"] = x.grad.asscalar()

    with autograd.train_mode():
        t = threading.Thread(target=worker)
        t.start()
        assert ready.wait(5)
        # the worker is inside record(); this thread is not recording and still training
        assert (autograd.is_recording(), autograd.is_training()) == (False, True)
        v = nd.array([1.])
        v.attach_grad()
        assert (v * 2)._node is None               # so nothing is recorded here
        done.set()
        t.join(5)
    assert seen["initial"] == (False, False)
    assert seen["inside"] == (True, True)
    assert seen["grad"] == 6.0


# ------------------------------------------------------- variables, grad_req
def test_attach_grad_allocates_zeros_like():
    x = nd.array([[1, 2, 3]], dtype="float64")
    assert x.grad is None
    x.attach_grad()
    assert x.grad.shape == (1, 3) and x.grad.dtype == np.float64
    assert_almost_equal(x.grad, np.zeros((1, 3)))
    assert x.grad_req == "write"


def test_grad_req_write_overwrites():
    x = nd.array([1., 2.])
    x.attach_grad()
    for _ in range(3):
        with autograd.record():
            y = x * x
        y.backward()
    assert_almost_equal(x.grad, np.array([2., 4.], dtype=np.float32))


def test_grad_write_keeps_the_buffer_object_and_never_aliases():
    """grad_req 'write' may take over a fresh gradient array instead of copying it;
    the ``.grad`` NDArray stays the same object, and no array the caller or another
    variable can see ends up shared with it."""
    a, b = nd.array([1., 2.]), nd.array([3., 4.])
    a.attach_grad()
    b.attach_grad()
    buffer_a = a.grad
    with autograd.record():
        y = a * b
    y.backward()
    assert a.grad is buffer_a
    assert_almost_equal(a.grad, np.array([3., 4.], dtype=np.float32))
    # a + b sends the same head gradient to both: one may take it, the other copies
    head = nd.array([5., 6.])
    with autograd.record():
        y = a + b
    y.backward(head)
    head[:] = 0                       # the caller's head gradient is theirs to change
    a.grad[:] = -1                    # and so is each variable's buffer
    assert_almost_equal(b.grad, np.array([5., 6.], dtype=np.float32))
    assert_almost_equal(a.grad, np.array([-1., -1.], dtype=np.float32))
    # a view of the buffer keeps seeing the gradients backward writes
    view = b.grad[0:1]
    with autograd.record():
        y = b * b
    y.backward()
    assert_almost_equal(view, np.array([6.], dtype=np.float32))
    assert_almost_equal(b.grad, np.array([6., 8.], dtype=np.float32))


def test_grad_req_add_accumulates():
    x = nd.array([1., 2.])
    x.attach_grad(grad_req="add")
    assert x.grad_req == "add"
    for _ in range(3):
        with autograd.record():
            y = x * x
        y.backward()
    assert_almost_equal(x.grad, np.array([6., 12.], dtype=np.float32))
    x.attach_grad(grad_req="add")                        # attach again: a fresh zero buffer
    with autograd.record():
        y = x * x
    y.backward()
    assert_almost_equal(x.grad, np.array([2., 4.], dtype=np.float32))


def test_grad_req_null_gets_no_gradient():
    x = nd.array([1., 2.])
    w = nd.array([3., 4.])
    x.attach_grad(grad_req="null")
    w.attach_grad()
    assert x.grad is None and x.grad_req == "null"
    with autograd.record():
        y = x * w
    y.backward()
    assert x.grad is None
    assert_almost_equal(w.grad, np.array([1., 2.], dtype=np.float32))
    with autograd.record():
        z = x * 2                     # depends on no variable: nothing recorded
    with pytest.raises(RuntimeError, match="not in a computational graph"):
        z.backward()


def test_attach_grad_rejects_unknown_grad_req():
    with pytest.raises(ValueError, match="grad_req"):
        nd.array([1.]).attach_grad(grad_req="inplace-ish")


def test_mark_variables():
    x = nd.array([1., 2., 3.])
    gx = nd.zeros((3,))
    autograd.mark_variables([x], [gx])
    with autograd.record():
        y = x * x
    y.backward()
    assert x.grad is gx
    assert_almost_equal(gx, np.array([2., 4., 6.], dtype=np.float32))


def test_mark_variables_single_arrays_and_add():
    x = nd.array([1., 2.])
    gx = nd.array([100., 100.])
    autograd.mark_variables(x, gx, grad_reqs="add")
    with autograd.record():
        y = x * 3
    y.backward()
    assert_almost_equal(gx, np.array([103., 103.], dtype=np.float32))


def test_mark_variables_checks_lengths_and_shapes():
    x = nd.array([1., 2.])
    with pytest.raises(ValueError, match="2 variables, 1 gradients"):
        autograd.mark_variables([x, x], [nd.zeros(2)])
    with pytest.raises(ValueError, match=r"gradient 0 has shape \(3,\)"):
        autograd.mark_variables([x], [nd.zeros(3)])


def test_detach_stops_gradients():
    x = nd.array([1., 2., 3.])
    x.attach_grad()
    with autograd.record():
        y = x * x
        z = y.detach() * x          # d/dx = y, not 3x^2
    z.backward()
    assert_almost_equal(x.grad, np.array([1., 4., 9.], dtype=np.float32))
    d = y.detach()
    assert d._node is None
    assert d.data is y.data


def test_function_sigmoid_docs_example():
    # mxnet.autograd.Function docstring: a stable sigmoid; backward runs inside record
    class sigmoid(autograd.Function):
        def forward(self, x):
            y = 1 / (1 + nd.exp(-x))
            self.save_for_backward(y)
            return y

        def backward(self, dy):
            y, = self.saved_tensors
            return dy * y * (1 - y)

    fw.random.seed(7)
    func = sigmoid()
    x = nd.random.uniform(shape=(10,))
    x.attach_grad()
    with autograd.record():
        m = func(x)
        m.backward()
    dx = x.grad.asnumpy()
    s = _sigmoid(x.asnumpy().astype(np.float64))
    assert_almost_equal(m, s, rtol=1e-6)
    assert_almost_equal(dx, s * (1 - s), rtol=1e-5)


def test_function_with_two_inputs_and_two_outputs():
    class SumDiff(autograd.Function):
        def forward(self, a, b):
            return a + b, a - b

        def backward(self, g_sum, g_diff):
            return g_sum + g_diff, g_sum - g_diff

    a, b = nd.array([1., 2.]), nd.array([5., 7.])
    a.attach_grad()
    b.attach_grad()
    with autograd.record():
        s, d = SumDiff()(a, b)
        loss = s * 3 + d * d
    loss.backward()
    # dloss/da = 3 + 2d, dloss/db = 3 - 2d with d = a - b = [-4, -5]
    assert_almost_equal(a.grad, np.array([-5., -7.], dtype=np.float32))
    assert_almost_equal(b.grad, np.array([11., 13.], dtype=np.float32))


def test_function_outside_record_just_computes():
    class Double(autograd.Function):
        def forward(self, x):
            return x * 2

        def backward(self, dy):
            return dy * 2

    x = nd.array([1., 2.])
    x.attach_grad()
    y = Double()(x)
    assert_almost_equal(y, np.array([2., 4.], dtype=np.float32))
    assert y._node is None


def test_function_forward_is_not_recorded():
    seen = []

    class Probe(autograd.Function):
        def forward(self, x):
            seen.append(autograd.is_recording())
            return x * 2

        def backward(self, dy):
            seen.append(autograd.is_recording())
            return dy * 2

    x = nd.array([1.])
    x.attach_grad()
    with autograd.record():
        y = Probe()(x)
        assert autograd.is_recording()
    y.backward()
    assert seen == [False, False]
    assert x.grad.asscalar() == 2.0


# ------------------------------------------------------------------ errors
def test_backward_twice_without_retain_graph_raises():
    x = nd.array([1., 2.])
    x.attach_grad()
    with autograd.record():
        y = x * x + 1
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True") as err:
        y.backward()
    assert "add" in str(err.value)               # names the op it got stuck at
    assert isinstance(err.value, autograd.GraphFreedError)


def test_backward_twice_through_a_shared_subgraph_raises():
    x = nd.array([1., 2.])
    x.attach_grad()
    with autograd.record():
        h = x * x
        y1 = h + 1
        y2 = h * 2
    y1.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y2.backward()


def test_backward_twice_with_retain_graph():
    x = nd.array([1., 2.])
    x.attach_grad(grad_req="add")
    with autograd.record():
        y = x * x + 1
    y.backward(retain_graph=True)
    y.backward(retain_graph=True)
    y.backward()
    assert_almost_equal(x.grad, np.array([6., 12.], dtype=np.float32))


def test_grad_retain_graph_defaults_to_create_graph():
    x = nd.array([1., 2.])
    x.attach_grad()
    with autograd.record():
        y = x * x
    autograd.grad(y, [x], create_graph=True)
    g, = autograd.grad(y, [x])           # graph retained by the first call
    assert_almost_equal(g, np.array([2., 4.], dtype=np.float32))
    with pytest.raises(RuntimeError, match="retain_graph"):
        autograd.grad(y, [x])


def test_backward_of_an_array_never_recorded():
    x = nd.array([1., 2.])
    with pytest.raises(RuntimeError, match="Cannot differentiate node because it is not in a "
                                           "computational graph"):
        x.backward()
    x.attach_grad()
    y = x * 2
    with pytest.raises(RuntimeError, match="autograd.record()"):
        y.backward()


def test_grad_wrt_array_without_attach_grad_names_its_position():
    a, b = nd.array([1., 2.]), nd.array([3., 4.])
    a.attach_grad()
    with autograd.record():
        y = a * b
    with pytest.raises(ValueError, match=r"variable 1 \(shape \(2,\)\).*attach_grad"):
        autograd.grad(y, [a, b])


def test_head_gradient_shape_and_count_are_checked():
    x = nd.array([1., 2.])
    x.attach_grad()
    with autograd.record():
        y = x * x
    with pytest.raises(ValueError, match=r"head gradient 0 has shape \(3,\).*\(2,\)"):
        y.backward(nd.ones((3,)))
    with pytest.raises(ValueError, match="1 heads but 2 head gradients"):
        autograd.backward([y], [nd.ones((2,)), nd.ones((2,))])


def test_function_called_twice_raises():
    class Double(autograd.Function):
        def forward(self, x):
            return x * 2

        def backward(self, dy):
            return dy * 2

    f = Double()
    x = nd.array([1.])
    f(x)
    with pytest.raises(RuntimeError, match="only be called once"):
        f(x)


def test_function_backward_returning_wrong_number_of_gradients():
    class Bad(autograd.Function):
        def forward(self, a, b):
            return a * b

        def backward(self, dy):
            return dy          # one gradient for two inputs

    a, b = nd.array([1.]), nd.array([2.])
    a.attach_grad()
    b.attach_grad()
    with autograd.record():
        y = Bad()(a, b)
    with pytest.raises(RuntimeError, match=r"Bad\.backward.*expected 2, got 1"):
        y.backward()


def test_function_backward_returning_a_non_ndarray():
    class Bad(autograd.Function):
        def forward(self, x):
            return x * 2

        def backward(self, dy):
            return 2.0

    x = nd.array([1.])
    x.attach_grad()
    with autograd.record():
        y = Bad()(x)
    with pytest.raises(TypeError, match="gradient 0 must be an NDArray"):
        y.backward()


def test_function_backward_returning_a_wrong_shape():
    class Bad(autograd.Function):
        def forward(self, x):
            return x.sum()

        def backward(self, dy):
            return dy            # shape (1,) for an input of shape (2, 3)

    x = nd.ones((2, 3))
    x.attach_grad()
    with autograd.record():
        y = Bad()(x)
    with pytest.raises(ValueError, match=r"Bad\.backward: gradient 0 has shape \(1,\), but input 0 "
                                         r"of forward has shape \(2, 3\)"):
        y.backward()


def test_backward_through_piecewise_constant_ops_gives_zero_gradient():
    # MXNet registers a zero gradient for floor, sign, comparisons, argmax...: no error
    x = nd.array([0.4, 1.6, -2.5])
    x.attach_grad()
    x.grad[:] = 7.0
    with autograd.record():
        y = nd.floor(x) + (x > 0) * nd.sign(x)
    y.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), np.zeros(3, dtype=np.float32))
    with autograd.record():
        z = nd.round(x * 3)
    np.testing.assert_array_equal(autograd.grad(z, [x])[0].asnumpy(), np.zeros(3, np.float32))


def test_function_returning_a_float_names_the_function():
    class Half(fw.autograd.Function):
        def forward(self, x):
            return 0.5

        def backward(self, dy):
            return dy

    x = fw.nd.ones((2,))
    x.attach_grad()
    with fw.autograd.record(), pytest.raises(TypeError, match="Half.forward must return"):
        Half()(x)


def test_function_records_through_the_operator_node():
    """Function's graph node is an Operator recorded by Operator.adopt (one code path)."""
    from framework.ndarray.operator import Operator

    class Twice(fw.autograd.Function):
        def forward(self, x):
            return x * 2, x * 3

        def backward(self, da, db):
            return da * 2 + db * 3

    x = fw.nd.ones((3,))
    x.attach_grad()
    with fw.autograd.record():
        a, b = Twice()(x)
    assert isinstance(a._node, Operator) and a._node is b._node and (a._index, b._index) == (0, 1)
    fw.autograd.backward([a, b])
    assert x.grad.asnumpy().tolist() == [5.0, 5.0, 5.0]


def test_integer_arrays_cannot_have_gradients():
    with pytest.raises(TypeError, match="attach_grad: only floating-point.*int32"):
        nd.array([1, 2], dtype="int32").attach_grad()
    x = nd.array([1.0, 2.0])
    with pytest.raises(TypeError, match="mark_variables: gradient buffer 0 is int32"):
        autograd.mark_variables([x], [nd.zeros((2,), dtype="int32")])


def test_grad_has_the_variable_dtype_with_a_wider_operand():
    x = nd.array([0.5, 1.5], dtype="float16")
    x.attach_grad()
    with autograd.record():
        y = x * nd.array([1.0, 2.0], dtype="float64")
    g = autograd.grad(y, [x])[0]
    assert g.dtype == np.float16
    assert g.asnumpy().tolist() == [1.0, 2.0]


@pytest.mark.parametrize("first", [lambda x: x * 2, nd.radians, lambda x: x + 1])
def test_second_derivative_of_a_constant_first_derivative_is_zero(first):
    """MXNet returns zeros where the first derivative does not depend on x."""
    x = nd.array([1.0, 2.0])
    x.attach_grad()
    with autograd.record():
        g = autograd.grad(first(x), [x], create_graph=True)[0]
    g.backward()
    assert x.grad.asnumpy().tolist() == [0.0, 0.0]
    with autograd.record():
        g = autograd.grad(first(x), [x], create_graph=True)[0]
        h = (g * x).sum()                 # d/dx (g . x) = g, a constant times x
    h.backward()
    assert_almost_equal(x.grad, g.asnumpy())


def test_writes_through_detach_and_pause_views_are_refused_while_recording():
    x = nd.array([1.0, 2.0])
    x.attach_grad()
    with autograd.record():
        y = nd.exp(x)
        d = y.detach()
        with pytest.raises(RuntimeError, match="shares memory"):
            d[:] = 0
        with autograd.pause():
            v = y[0:1]
        with pytest.raises(RuntimeError, match="shares memory"):
            v += 1
    y.backward()
    assert_almost_equal(x.grad, np.exp([1.0, 2.0]), rtol=1e-6)


def test_sparse_gradient_storage_is_refused_not_ignored():
    x = nd.ones((2, 2))
    with pytest.raises(ValueError, match="stype='csr'.*sparse storage types are not supported"):
        x.attach_grad(stype="csr")
    x.attach_grad(stype="default")
    assert x.grad.shape == (2, 2)


def test_a_gradient_a_function_keeps_is_not_taken_over_as_grad():
    """A custom Function returning an array it keeps (here the same constant on every
    call): writing into ``.grad`` afterwards must not change that array."""
    class TimesConstant(autograd.Function):
        def __init__(self):
            super().__init__()
            self.slope = nd.array([2., 3.])

        def forward(self, x):
            return x * self.slope

        def backward(self, dy):
            return self.slope                # kept by the Function, returned as is

    x = nd.array([1., 1.])
    x.attach_grad()
    f = TimesConstant()
    with autograd.record():
        y = f(x)
    y.backward()
    x.grad[:] = 0                            # e.g. zero_grad between steps
    np.testing.assert_array_equal(f.slope.asnumpy(), [2., 3.])
