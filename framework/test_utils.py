"""Testing helpers (MXNet's ``mx.test_utils``): comparisons with MXNet's per-dtype
tolerances, random test data, and numeric gradient checks (any order).

MXNet's helpers that drive a ``Symbol`` through an executor
(``check_symbolic_forward``, ``check_symbolic_backward``, ``check_consistency``,
``simple_forward``, ``check_speed``) have no counterpart: there is no Symbol.
``check_numeric_gradient`` takes a Python function of NDArrays instead of a Symbol.
"""
from __future__ import annotations

import numbers
from typing import Callable, List, Optional, Sequence, Union

import numpy

from . import autograd
from .context import Context, current_context, num_gpus
from .ndarray import NDArray, array, zeros_like

__all__ = ["assert_almost_equal", "almost_equal", "assert_almost_equal_ignore_nan",
           "almost_equal_ignore_nan", "assert_allclose", "assert_exception", "same",
           "same_array", "find_max_violation", "default_rtols", "default_atols",
           "default_numeric_eps", "get_tolerance", "get_tols", "get_rtol", "get_atol",
           "get_etol", "default_dtype", "default_context", "set_default_context", "list_gpus",
           "rand_ndarray", "rand_shape_2d", "rand_shape_3d", "rand_shape_nd", "random_arrays",
           "random_uniform_arrays", "random_sample", "np_reduce", "retry", "get_mnist",
           "gen_buckets_probs_with_ppf", "chi_square_check", "verify_generator", "mean_check",
           "var_check", "check_numeric_gradient", "numeric_grad"]


# ------------------------------------------------------------------ contexts
def default_context() -> Context:
    """The context tests run on: the current default context (MXNet's rule)."""
    return current_context()


def set_default_context(ctx: Context) -> None:
    """Make ``ctx`` the default context of this thread (arrays made without ``ctx=``
    go there), as MXNet's ``set_default_context`` does."""
    Context._default.value = Context(ctx)


def list_gpus() -> range:
    """``range(n)`` for the n visible GPUs (empty without CuPy or a GPU)."""
    return range(num_gpus())


def default_dtype():
    """The dtype of random test data: float32."""
    return numpy.float32


# -------------------------------------------------------------- tolerances
# MXNet 1.9.1's defaults (test_utils.default_rtols / default_atols); integers and bool
# compare exactly. A dtype MXNet does not list gets the entry of its kind and size.
_RTOLS = {numpy.dtype(numpy.float16): 1e-2, numpy.dtype(numpy.float32): 1e-4,
          numpy.dtype(numpy.float64): 1e-5}
_ATOLS = {numpy.dtype(numpy.float16): 1e-1, numpy.dtype(numpy.float32): 1e-3,
          numpy.dtype(numpy.float64): 1e-20}


def _exact_types():
    return {numpy.dtype(t): 0 for t in (numpy.bool_, numpy.int8, numpy.uint8, numpy.int16,
                                        numpy.uint16, numpy.int32, numpy.uint32, numpy.int64,
                                        numpy.uint64)}


def default_rtols() -> dict:
    """dtype -> default relative tolerance (float16 1e-2, float32 1e-4, float64 1e-5)."""
    return {**_RTOLS, **_exact_types()}


def default_atols() -> dict:
    """dtype -> default absolute tolerance (float16 1e-1, float32 1e-3, float64 1e-20)."""
    return {**_ATOLS, **_exact_types()}


def default_numeric_eps() -> dict:
    """dtype -> finite-difference step (powers of two, as MXNet)."""
    return {numpy.dtype(numpy.float16): 1.0 / 2 ** 6, numpy.dtype(numpy.float32): 1.0 / 2 ** 9,
            numpy.dtype(numpy.float64): 1.0 / 2 ** 14}


def _dtype_of(dat) -> numpy.dtype:
    if isinstance(dat, NDArray):
        return numpy.dtype(dat.dtype)
    dtype = getattr(dat, "dtype", None)
    return numpy.dtype(dtype) if dtype is not None else numpy.asarray(dat).dtype


def get_tolerance(dat, tol, default_tol: dict) -> float:
    """``tol`` if it is a number; else the entry for ``dat``'s dtype in ``tol`` (a dict)
    or in ``default_tol``."""
    if isinstance(tol, numbers.Number):
        return tol
    dtype = _dtype_of(dat)
    if tol is not None and dtype in tol:
        return tol[dtype]
    if dtype in default_tol:
        return default_tol[dtype]
    if dtype.kind == "f":                     # bfloat16 and other floats: by size
        return default_tol[numpy.dtype(f"float{min(max(dtype.itemsize, 2), 8) * 8}")]
    return 0


def get_tols(x, y, rtol=None, atol=None):
    """(rtol, atol) for comparing ``x`` and ``y``: given numbers, else the larger
    default of the two dtypes."""
    rtol = max(get_tolerance(x, rtol, default_rtols()), get_tolerance(y, rtol, default_rtols()))
    atol = max(get_tolerance(x, atol, default_atols()), get_tolerance(y, atol, default_atols()))
    return rtol, atol


def get_rtol(rtol=None, dtype=numpy.dtype(numpy.float64)) -> float:
    return default_rtols()[numpy.dtype(dtype)] if rtol is None else rtol


def get_atol(atol=None, dtype=numpy.dtype(numpy.float64)) -> float:
    return default_atols()[numpy.dtype(dtype)] if atol is None else atol


def get_etol(etol=None) -> float:
    return 0 if etol is None else etol


# -------------------------------------------------------------- comparisons
def _host(a) -> numpy.ndarray:
    return a.asnumpy() if isinstance(a, NDArray) else numpy.asarray(a)


def _check_shapes(a: numpy.ndarray, b: numpy.ndarray, names, use_broadcast: bool) -> None:
    """Equal shapes; with ``use_broadcast``, one side may broadcast to the other's shape
    (a scalar, a row against a matrix), never both ways ((3, 1) against (3,) is an error)."""
    if a.shape == b.shape:
        return
    if use_broadcast:
        try:
            joint = numpy.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            joint = None
        if joint in (a.shape, b.shape):
            return
    raise AssertionError(f"shape mismatch: {names[0]} {a.shape} vs {names[1]} {b.shape}")


def find_max_violation(a, b, rtol=None, atol=None):
    """(index, violation) of the element furthest outside tolerance; violation > 1 fails."""
    rtol, atol = get_rtol(rtol), get_atol(atol)
    a64, b64 = numpy.broadcast_arrays(_host(a).astype(numpy.float64),
                                      _host(b).astype(numpy.float64))
    with numpy.errstate(invalid="ignore"):
        absdiff = numpy.where(numpy.equal(a64, b64), 0, numpy.abs(a64 - b64))
        violation = absdiff / (atol + rtol * numpy.abs(b64) + 1e-20)
    violation = numpy.where(numpy.isnan(violation), numpy.inf, violation)
    if violation.size == 0:
        return (), 0.0
    idx = numpy.unravel_index(int(numpy.argmax(violation)), violation.shape)
    return idx, float(violation[idx])


def same(a, b) -> bool:
    """Whether ``a`` and ``b`` (NDArrays or NumPy arrays) are exactly equal."""
    return bool(numpy.array_equal(_host(a), _host(b)))


def same_array(array1: NDArray, array2: NDArray) -> bool:
    """Whether two NDArrays are the same memory (a write to one shows in the other)."""
    if array1._ctx is not array2._ctx or array1.shape != array2.shape:
        return False
    xp = array1._ctx.xp
    with array1._ctx.scope():
        return bool(xp.shares_memory(array1._data, array2._data)) and same(array1, array2)


def almost_equal(a, b, rtol=None, atol=None, equal_nan: bool = False,
                 use_broadcast: bool = True) -> bool:
    """Whether ``a`` and ``b`` agree within tolerance (None: the dtypes' defaults)."""
    rtol, atol = get_tols(a, b, rtol, atol)
    a, b = _host(a), _host(b)
    if not use_broadcast and a.shape != b.shape:
        return False
    return bool(numpy.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def assert_almost_equal(a, b, rtol=None, atol=None, names=("a", "b"), equal_nan: bool = False,
                        use_broadcast: bool = True, mismatches=(10, 10)) -> None:
    """Raise AssertionError naming the worst element when ``a`` and ``b`` differ.

    ``a``, ``b``: NDArrays, NumPy arrays or numbers. ``rtol``/``atol`` None take
    MXNet's defaults for the dtypes (the larger of the two): float16 1e-2/1e-1,
    float32 1e-4/1e-3, float64 1e-5/1e-20, exact for integers and bool.
    """
    rtol, atol = get_tols(a, b, rtol, atol)
    a, b = _host(a), _host(b)
    _check_shapes(a, b, names, use_broadcast)
    if a.dtype == numpy.bool_ and b.dtype == numpy.bool_:
        if numpy.array_equal(*numpy.broadcast_arrays(a, b)):
            return
    elif numpy.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan):
        return
    a64, b64 = numpy.broadcast_arrays(a.astype(numpy.float64), b.astype(numpy.float64))
    with numpy.errstate(invalid="ignore"):
        close = numpy.isclose(a64, b64, rtol=rtol, atol=atol, equal_nan=equal_nan)
    idx, violation = find_max_violation(a64, b64, rtol, atol)
    bad = int(close.size - numpy.count_nonzero(close))
    raise AssertionError(
        f"{names[0]} and {names[1]} differ (rtol={rtol}, atol={atol}): {bad} of {close.size} "
        f"elements out of tolerance; worst at index {idx} (error {violation:.3g} times the "
        f"tolerance): {names[0]}={a64[idx]!r}, {names[1]}={b64[idx]!r}\n"
        f"{names[0]}:\n{a}\n{names[1]}:\n{b}")


def assert_allclose(a, b, rtol: float = 1e-07, atol: float = 0, equal_nan: bool = True) -> None:
    """``assert_almost_equal`` with NumPy's ``assert_allclose`` defaults."""
    assert_almost_equal(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


def _without_nan(a, b):
    a, b = numpy.array(_host(a)), numpy.array(_host(b))
    a, b = numpy.broadcast_arrays(a, b)
    a, b = a.copy(), b.copy()
    mask = numpy.isnan(a) | numpy.isnan(b)
    a[mask] = 0
    b[mask] = 0
    return a, b


def almost_equal_ignore_nan(a, b, rtol=None, atol=None) -> bool:
    """``almost_equal`` where a NaN on either side matches anything."""
    rtol, atol = get_tols(a, b, rtol, atol)
    return almost_equal(*_without_nan(a, b), rtol=rtol, atol=atol)


def assert_almost_equal_ignore_nan(a, b, rtol=None, atol=None, names=("a", "b")) -> None:
    """``assert_almost_equal`` where a NaN on either side matches anything."""
    rtol, atol = get_tols(a, b, rtol, atol)
    assert_almost_equal(*_without_nan(a, b), rtol=rtol, atol=atol, names=names)


def assert_exception(f: Callable, exception_type, *args, **kwargs) -> None:
    """Raise AssertionError unless ``f(*args, **kwargs)`` raises ``exception_type``."""
    try:
        f(*args, **kwargs)
    except exception_type:
        return
    raise AssertionError(f"{getattr(f, '__name__', f)!s} did not raise "
                         f"{getattr(exception_type, '__name__', exception_type)}")


def retry(n: int):
    """Decorate a stochastic test: pass if any of ``n`` tries passes."""
    if n < 1:
        raise ValueError(f"retry: n must be at least 1, got {n}")

    def decorate(f):
        def wrapper(*args, **kwargs):
            err = None
            for _ in range(n):
                try:
                    return f(*args, **kwargs)
                except AssertionError as e:
                    err = e
            raise err
        wrapper.__name__ = getattr(f, "__name__", "wrapper")
        return wrapper
    return decorate


# ------------------------------------------------------------- random data
def random_arrays(*shapes):
    """Standard-normal NumPy arrays of ``default_dtype()`` (one array if one shape)."""
    arrays = [numpy.array(numpy.random.randn(), dtype=default_dtype()) if len(s) == 0
              else numpy.random.randn(*s).astype(default_dtype()) for s in shapes]
    return arrays[0] if len(arrays) == 1 else arrays


def random_uniform_arrays(*shapes, low: float = 0.0, high: float = 1.0, dtype=None):
    """Uniform NumPy arrays on [low, high)."""
    dtype = default_dtype() if dtype is None else dtype
    return [numpy.random.uniform(low, high, size=s).astype(dtype) for s in shapes]


def random_sample(population, k: int) -> list:
    """``k`` distinct elements of ``population`` in random order."""
    if not 0 <= k <= len(population):
        raise ValueError(f"random_sample: k={k} must be in [0, {len(population)}]")
    chosen = list(population)
    numpy.random.shuffle(chosen)
    return chosen[:k]


def rand_ndarray(shape, stype: str = "default", density=None, dtype=None, modifier_func=None,
                 shuffle_csr_indices: bool = False, distribution=None,
                 ctx: Optional[Context] = None) -> NDArray:
    """A standard-normal NDArray of ``shape`` (float32 unless ``dtype``) on ``ctx``.

    Only dense storage exists here: ``stype`` other than 'default' is an error.
    """
    if stype != "default":
        raise ValueError(f"rand_ndarray: storage type {stype!r} is not supported "
                         f"(only dense 'default' arrays exist in framework)")
    values = random_arrays((shape,) if isinstance(shape, numbers.Integral) else tuple(shape))
    if modifier_func is not None:
        values = numpy.vectorize(modifier_func)(values)
    return array(values, ctx=ctx or default_context(), dtype=dtype)


def rand_shape_2d(dim0: int = 10, dim1: int = 10, allow_zero_size: bool = False):
    """A random 2-D shape with sizes in [1, dim] (from 0 with ``allow_zero_size``)."""
    low = 0 if allow_zero_size else 1
    return numpy.random.randint(low, dim0 + 1), numpy.random.randint(low, dim1 + 1)


def rand_shape_3d(dim0: int = 10, dim1: int = 10, dim2: int = 10,
                  allow_zero_size: bool = False):
    """A random 3-D shape with sizes in [1, dim] (from 0 with ``allow_zero_size``)."""
    low = 0 if allow_zero_size else 1
    return (numpy.random.randint(low, dim0 + 1), numpy.random.randint(low, dim1 + 1),
            numpy.random.randint(low, dim2 + 1))


def rand_shape_nd(num_dim: int, dim: int = 10, allow_zero_size: bool = False):
    """A random shape of ``num_dim`` sizes in [1, dim] (from 0 with ``allow_zero_size``)."""
    low = 0 if allow_zero_size else 1
    return tuple(int(d) for d in numpy.random.randint(low, dim + 1, size=num_dim))


def np_reduce(dat, axis, keepdims: bool, numpy_reduce_func):
    """Reduce ``dat`` over ``axis`` (int, ints or None) one axis at a time."""
    if isinstance(axis, int):
        axis = [axis]
    else:
        axis = list(axis) if axis is not None else range(len(dat.shape))
    ret = dat
    for i in reversed(sorted(axis)):
        ret = numpy_reduce_func(ret, axis=i)
    if keepdims:
        kept = list(dat.shape)
        for i in axis:
            kept[i] = 1
        ret = ret.reshape(tuple(kept))
    return ret


def get_mnist(path=None) -> dict:
    """MNIST as MXNet's ``get_mnist`` gives it: {'train_data', 'train_label', 'test_data',
    'test_label'}, images float32 (N, 1, 28, 28) scaled to [0, 1], labels int8 (N,).

    ``path``: the folder of the four IDX files (default: ``fw.data.vision.load_mnist``'s
    root, e.g. $FRAMEWORK_DATA); missing files are downloaded there.
    """
    from .data.vision import load_mnist
    out = {}
    for split, train in (("train", True), ("test", False)):
        images, labels = load_mnist(path, train=train)
        out[f"{split}_data"] = images.reshape(-1, 1, 28, 28).astype(numpy.float32) / 255
        out[f"{split}_label"] = labels.astype(numpy.int8)
    return out


# ------------------------------------------------- checks of random samplers
def _scipy_stats(where: str):
    try:
        import scipy.stats
    except ImportError:
        raise ImportError(f"{where} needs SciPy (pip install scipy)") from None
    return scipy.stats


def gen_buckets_probs_with_ppf(ppf: Callable, nbuckets: int):
    """``nbuckets`` equal-probability buckets [(low, high), ...] from an inverse CDF."""
    probs = [1.0 / nbuckets for _ in range(nbuckets)]
    buckets = [(ppf(i / float(nbuckets)), ppf((i + 1) / float(nbuckets)))
               for i in range(nbuckets)]
    return buckets, probs


def mean_check(generator: Callable, mu: float, sigma: float, nsamples: int = 1000000) -> bool:
    """Whether the sample mean of ``generator(nsamples)`` is within 3 sigma/sqrt(n) of mu."""
    samples = _host(generator(nsamples))
    return bool(abs(samples.mean() - mu) < 3 * sigma / numpy.sqrt(nsamples))


def var_check(generator: Callable, sigma: float, nsamples: int = 1000000) -> bool:
    """Whether the sample variance of ``generator(nsamples)`` is close to sigma**2."""
    samples = _host(generator(nsamples))
    return bool(abs(samples.var() - sigma ** 2) < 3 * numpy.sqrt(2 * sigma ** 4 / (nsamples - 1)))


def chi_square_check(generator: Callable, buckets, probs, nsamples: int = 1000000):
    """Pearson's chi-square test of ``generator(nsamples)`` against bucket probabilities.

    ``buckets``: a list of (low, high) intervals, or of discrete values. Returns
    (p value, observed counts, expected counts). Needs SciPy.
    """
    stats = _scipy_stats("chi_square_check")
    if not numpy.isclose(sum(probs), 1.0):
        raise ValueError(f"chi_square_check: the bucket probabilities sum to {sum(probs)}, not 1")
    samples = _host(generator(nsamples)).reshape(-1)
    continuous = isinstance(buckets[0], (list, tuple))
    if continuous:
        edges = numpy.array([b[0] for b in buckets] + [buckets[-1][1]], dtype=numpy.float64)
        counts, _ = numpy.histogram(samples, bins=edges)
    else:
        counts = numpy.array([numpy.count_nonzero(samples == b) for b in buckets])
    expected = numpy.array(probs) * samples.size
    _, p = stats.chisquare(f_obs=counts, f_exp=expected * counts.sum() / expected.sum())
    return p, counts, expected


def verify_generator(generator: Callable, buckets, probs, nsamples: int = 1000000,
                     nrepeat: int = 5, success_rate: float = 0.2, alpha: float = 0.05):
    """Run ``chi_square_check`` ``nrepeat`` times; raise unless at least ``success_rate``
    of the runs have p > ``alpha``. Returns the p values."""
    p_values = [chi_square_check(generator, buckets, probs, nsamples)[0] for _ in range(nrepeat)]
    passed = sum(p > alpha for p in p_values)
    if passed < nrepeat * success_rate:
        raise AssertionError(f"verify_generator: only {passed} of {nrepeat} chi-square tests "
                             f"passed at alpha={alpha}; p values {p_values}")
    return p_values


# -------------------------------------------------------- gradient checks
def numeric_grad(f: Callable[[List[NDArray]], float], inputs: Sequence[NDArray],
                 eps: float = 1e-6) -> List[numpy.ndarray]:
    """Central finite differences of the scalar function ``f`` at ``inputs`` (float64)."""
    grads = []
    for x in inputs:
        host = x.asnumpy().astype(numpy.float64)
        g = numpy.zeros_like(host)
        flat, gflat = host.reshape(-1), g.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            values = []
            for delta in (eps, -eps):
                flat[i] = old + delta
                moved = [array(host, ctx=x.context, dtype=numpy.float64) if y is x else y
                         for y in inputs]
                values.append(f(moved))
            flat[i] = old
            gflat[i] = (values[0] - values[1]) / (2 * eps)
        grads.append(g)
    return grads


def _heads(outputs) -> List[NDArray]:
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def _grad_or_zeros(head: NDArray, variables: List[NDArray], **kwargs) -> List[NDArray]:
    """``autograd.grad``, or zeros when ``head`` does not depend on the graph at all
    (a derivative that is constant, e.g. the second derivative of ``a + b``)."""
    if head._node is None:
        return [zeros_like(v) for v in variables]
    return autograd.grad(head, variables, **kwargs)


def check_numeric_gradient(fn: Callable[..., Union[NDArray, Sequence[NDArray]]],
                           inputs: Sequence, order: int = 1, eps: float = 1e-6,
                           rtol: float = 1e-4, atol: float = 1e-6,
                           ctx: Optional[Context] = None, seed: int = 0) -> None:
    """Check autograd's derivatives of ``fn`` against finite differences, in float64.

    ``fn(*inputs)`` returns an NDArray or a list of them; ``inputs`` are arrays
    (NDArray or NumPy). The scalar checked is ``sum_k sum(out_k * h_k)`` with
    random head gradients ``h_k``. For ``order`` n > 1 it is differentiated n-1
    times with ``create_graph=True``, each time projected on a random direction,
    and the n-th derivative is compared with finite differences of the (n-1)-th.
    """
    rng = numpy.random.RandomState(seed)
    ctx = ctx or default_context()
    xs = [array(x if not isinstance(x, NDArray) else x.asnumpy(), ctx=ctx, dtype=numpy.float64)
          for x in inputs]
    for x in xs:
        x.attach_grad()
    with autograd.pause():
        outs = _heads(fn(*xs))
    head_grads = [array(rng.standard_normal(o.shape), ctx=ctx, dtype=numpy.float64) for o in outs]
    directions = [[array(rng.standard_normal(x.shape), ctx=ctx, dtype=numpy.float64) for x in xs]
                  for _ in range(order - 1)]

    def scalar(vs, level):
        """The level-th projected derivative, recorded so it can be differentiated."""
        if level == 0:
            outs = _heads(fn(*vs))
            total = None
            for o, h in zip(outs, head_grads):
                if o.shape != h.shape:
                    raise AssertionError(f"fn output shape changed: {o.shape} vs {h.shape}")
                term = (o * h).sum()
                total = term if total is None else total + term
            return total
        inner = scalar(vs, level - 1)
        gs = _grad_or_zeros(inner, vs, create_graph=True, retain_graph=True)
        total = None
        for g, d in zip(gs, directions[level - 1]):
            term = (g * d).sum()
            total = term if total is None else total + term
        return total

    def value(vs):
        fresh = [array(v.asnumpy(), ctx=ctx, dtype=numpy.float64) for v in vs]
        for v in fresh:
            v.attach_grad()
        with autograd.record():
            s = scalar(fresh, order - 1)
        return s.asnumpy().item()

    with autograd.record():
        top = scalar(xs, order - 1)
    analytic = _grad_or_zeros(top, xs)
    numeric = numeric_grad(value, xs, eps=eps)
    for i, (a, n) in enumerate(zip(analytic, numeric)):
        assert_almost_equal(a, n, rtol=rtol, atol=atol,
                            names=(f"autograd d^{order}/dx{i}", f"numeric d^{order}/dx{i}"))
