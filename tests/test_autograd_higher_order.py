"""Higher-order gradients: MXNet's two documented patterns, third order, numeric checks,
and the error for a gradient that cannot be differentiated again."""
import numpy as np
import pytest

from framework import autograd, nd
from framework.test_utils import assert_almost_equal, check_numeric_gradient

X = [1., 2., 3.]


def test_docs_pattern_grad_twice():
    # MXNet's autograd page: grad(create_graph=True, retain_graph=True), then grad again
    x = nd.array(X)
    x.attach_grad()
    with autograd.record():
        y = nd.log(x)
        x_grad = autograd.grad(heads=y, variables=x, create_graph=True, retain_graph=True)[0]
        x_grad_grad = autograd.grad(heads=x_grad, variables=x, create_graph=False,
                                    retain_graph=False)[0]
    xs = np.array(X)
    assert_almost_equal(x_grad, 1 / xs, rtol=1e-6)
    assert_almost_equal(x_grad_grad, -1 / xs ** 2, rtol=1e-6)
    assert x_grad_grad.dtype == np.float32


def test_docs_pattern_backward_of_the_gradient():
    # MXNet's autograd page: "Running backward on the backward graph"
    x = nd.array(X)
    x.attach_grad()
    with autograd.record():
        y = nd.log(x)
        x_grad = autograd.grad(heads=y, variables=x, create_graph=True, retain_graph=True)[0]
    x_grad.backward()
    assert_almost_equal(x.grad, -1 / np.array(X) ** 2, rtol=1e-6)


def test_backward_of_the_gradient_frees_the_graph():
    x = nd.array(X)
    x.attach_grad()
    with autograd.record():
        y = x * x * x
        g = autograd.grad(y, [x], create_graph=True)[0]
    g.backward()                                   # retain_graph=False by default
    assert_almost_equal(x.grad, 6 * np.array(X), rtol=1e-6)
    with pytest.raises(RuntimeError, match="retain_graph"):
        g.backward()


def _derivatives(f, x, n):
    """[f'(x), f''(x), ..., f^(n)(x)] by repeated grad(create_graph=True)."""
    out = []
    with autograd.record():
        y = f(x)
        for _ in range(n):
            y = autograd.grad(y, [x], create_graph=True)[0]
            out.append(y)
    return out


def test_third_order_of_cube():
    x = nd.array([-1.5, 0.5, 2.], dtype="float64")
    x.attach_grad()
    d1, d2, d3 = _derivatives(lambda v: v ** 3, x, 3)
    xs = x.asnumpy()
    assert_almost_equal(d1, 3 * xs ** 2)
    assert_almost_equal(d2, 6 * xs)
    assert_almost_equal(d3, np.full(3, 6.))


def test_third_order_of_cube_by_multiplication():
    x = nd.array([-1.5, 0.5, 2.], dtype="float64")
    x.attach_grad()
    d1, d2, d3 = _derivatives(lambda v: v * v * v, x, 3)
    xs = x.asnumpy()
    assert_almost_equal(d2, 6 * xs)
    assert_almost_equal(d3, np.full(3, 6.))


def test_fourth_order_of_exp():
    x = nd.array([-1., 0., 0.5], dtype="float64")
    x.attach_grad()
    ds = _derivatives(nd.exp, x, 4)
    for d in ds:
        assert_almost_equal(d, np.exp(x.asnumpy()), rtol=1e-12)


def test_third_order_of_log_then_backward():
    x = nd.array(X, dtype="float64")
    x.attach_grad()
    with autograd.record():
        d1 = autograd.grad(nd.log(x), [x], create_graph=True)[0]
        d2 = autograd.grad(d1, [x], create_graph=True)[0]
    d2.backward()                                       # d3 log = 2 / x^3
    assert_almost_equal(x.grad, 2 / np.array(X) ** 3, rtol=1e-12)


def test_mixed_second_derivative():
    a = nd.array([1., 2.], dtype="float64")
    b = nd.array([3., 4.], dtype="float64")
    a.attach_grad()
    b.attach_grad()
    with autograd.record():
        y = a * a * b                       # dy/da = 2ab, d2y/dadb = 2a
        ga = autograd.grad(y, [a], create_graph=True)[0]
    ga.backward()
    assert_almost_equal(a.grad, 2 * b.asnumpy())
    assert_almost_equal(b.grad, 2 * a.asnumpy())


def _rand(shape, low, high, seed):
    rng = np.random.RandomState(seed)
    return rng.uniform(low, high, size=shape)


COMPOSITIONS = {
    "polynomial": lambda a, b: a * a * b - a / b + 3 * b,
    "quotient_power": lambda a, b: (a / (b + 2)) ** 2 + a ** 3,
    "power_of_positive": lambda a, b: nd.power(a, b) * b,
    "exp_log": lambda a, b: nd.exp(a * 0.5) * nd.log(b) - a * b,
    "hypot_minmax": lambda a, b: nd.hypot(a, b) * nd.maximum(a, b) - nd.minimum(a, b) ** 2,
    "broadcast": lambda a, b: (a * b.reshape((1, 3)) + b.reshape((1, 3)) ** 2) / (a * a + 1),
}


@pytest.mark.parametrize("order", [2, 3])
@pytest.mark.parametrize("name", sorted(COMPOSITIONS))
def test_numeric_higher_order_gradients_of_compositions(name, order, ctx):
    fn = COMPOSITIONS[name]
    shape_b = (3,) if name == "broadcast" else (2, 3)
    a = _rand((2, 3), 0.5, 1.5, 0)
    b = _rand(shape_b, 1.7, 2.5, 1)            # a < b: no ties for maximum/minimum
    check_numeric_gradient(fn, [a, b], order=order, ctx=ctx, rtol=1e-4, atol=1e-6)


def test_numeric_check_catches_a_wrong_second_derivative(ctx):
    # An op whose first derivative is right but whose gradient rule is not
    # differentiable in the right way must fail the order-2 check.
    from framework.ndarray.operator import Operator

    class BadSquare(Operator):
        name = "bad_square"
        saves_inputs = (0,)

        def forward(self, x):
            return x * x

        def backward(self, gy):
            x, = self.saved_inputs
            return gy * self.constant(2 * x.data)     # right value, but a constant

    a = _rand((3,), 0.5, 1.5, 2)
    check_numeric_gradient(lambda v: BadSquare()(v), [a], order=1, ctx=ctx)
    with pytest.raises(AssertionError, match="d\\^2"):
        check_numeric_gradient(lambda v: BadSquare()(v), [a], order=2, ctx=ctx)


class _Sigmoid(autograd.Function):
    def forward(self, x):
        y = 1 / (1 + nd.exp(-x))
        self.save_for_backward(y)
        return y

    def backward(self, dy):
        y, = self.saved_tensors
        return dy * y * (1 - y)


NON_DIFF = "operator _Sigmoid is non-differentiable because it didn't register FGradient attribute."


def test_custom_function_first_order_gradient_with_create_graph_works():
    x = nd.array([-1., 0., 2.])
    x.attach_grad()
    with autograd.record():
        y = _Sigmoid()(x)
        g = autograd.grad(y, [x], create_graph=True)[0]
    s = 1 / (1 + np.exp(-x.asnumpy().astype(np.float64)))
    assert_almost_equal(g, s * (1 - s), rtol=1e-5)


def test_differentiating_a_custom_function_twice_raises_backward():
    x = nd.array([-1., 0., 2.])
    x.attach_grad()
    with autograd.record():
        y = _Sigmoid()(x)
        g = autograd.grad(y, [x], create_graph=True)[0]
    with pytest.raises(autograd.NonDifferentiableError) as err:
        g.backward()
    assert str(err.value) == NON_DIFF


def test_differentiating_a_custom_function_twice_raises_grad():
    x = nd.array([-1., 0., 2.])
    x.attach_grad()
    with autograd.record():
        y = _Sigmoid()(x) * x
        g = autograd.grad(y, [x], create_graph=True)[0]
        with pytest.raises(RuntimeError) as err:
            autograd.grad(g, [x])
    assert str(err.value) == NON_DIFF


def test_non_differentiable_error_names_the_function_inside_a_chain():
    class Cube(autograd.Function):
        def forward(self, x):
            self.save_for_backward(x)
            return x * x * x

        def backward(self, dy):
            x, = self.saved_tensors
            return dy * 3 * x * x

    x = nd.array([1., 2.])
    x.attach_grad()
    with autograd.record():
        y = nd.exp(Cube()(x * 2)) + x
        g = autograd.grad(y, [x], create_graph=True)[0]
    with pytest.raises(RuntimeError) as err:
        g.backward()
    assert str(err.value) == ("operator Cube is non-differentiable because it didn't "
                              "register FGradient attribute.")
