"""``framework/_host_blas.py``: the transposes and updates done by NumPy's OpenBLAS.

Copies are exact, so the convolutions give the same values, bit for bit, with the
library's transposes and with NumPy's; an SGD update through ``axpby`` equals the
NumPy rule to the last bit or one rounding. Where the library does not apply (other
dtypes, views, small arrays, switched off) nothing is done and the caller's NumPy
path runs.
"""
import io
import os

import numpy as np
import pytest

import framework as fw
from framework import _host_blas, autograd, nd


@pytest.fixture
def forced(monkeypatch):
    """The library's path for arrays of any size."""
    monkeypatch.setattr(_host_blas, "TRANSPOSE_MIN", 0)
    monkeypatch.setattr(_host_blas, "AXPY_MIN", 0)
    return monkeypatch


def _count_done(monkeypatch, name: str) -> list:
    """A list that gets one entry per call of ``_host_blas.<name>`` that did the work."""
    calls, original = [], getattr(_host_blas, name)

    def counted(*args):
        done = original(*args)
        calls.extend([1] if done else [])
        return done

    monkeypatch.setattr(_host_blas, name, counted)
    return calls


def _numpy_uses_openblas() -> bool:
    try:
        return "openblas" in str(np.show_config(mode="dicts")["Build Dependencies"]["blas"]
                                 ["name"]).lower()
    except Exception:
        return False


def test_the_library_numpy_loaded_is_found():
    if not _numpy_uses_openblas():
        assert _host_blas.openblas() is None or _host_blas.openblas().path
        return
    lib = _host_blas.openblas()
    assert lib is not None and "openblas" in lib.path.lower()
    assert lib.get_num_threads() >= 1


def test_numpys_own_openblas_comes_before_others(monkeypatch, tmp_path):
    """With SciPy's wheel, a second OpenBLAS is mapped; NumPy's is listed first."""
    home = os.path.dirname(os.path.abspath(np.__file__))
    mapped = [str(tmp_path / "scipy.libs" / "libscipy_openblas-1.so"),
              os.path.join(home + ".libs", "libscipy_openblas64_-2.so"),
              str(tmp_path / "libopenblas.so.0")]
    lines = "".join(f"7f00-7f01 r-xp 00000000 00:00 1    {p}\n" for p in mapped)
    real_open = open
    monkeypatch.setattr("builtins.open", lambda path, *a, **k: io.StringIO(lines)
                        if path == "/proc/self/maps" else real_open(path, *a, **k))
    assert _host_blas._mapped_openblas_paths() == [mapped[1], mapped[0], mapped[2]]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(1, 1), (3, 200), (200, 3), (129, 257)])
def test_transpose_into_equals_numpy(forced, dtype, shape):
    src = np.random.RandomState(0).standard_normal(shape).astype(dtype)
    dst = np.full(shape[::-1], np.nan, dtype=dtype)
    done = _host_blas.transpose_into(src, dst)
    assert done == (_host_blas.openblas() is not None)
    if done:
        np.testing.assert_array_equal(dst, src.T)


def test_transpose_into_leaves_what_it_cannot_do(forced):
    src = np.ones((40, 30), np.float32)
    assert not _host_blas.transpose_into(src.astype(np.float16), np.ones((30, 40), np.float16))
    assert not _host_blas.transpose_into(src[:, ::2], np.ones((15, 40), np.float32))   # a view
    assert not _host_blas.transpose_into(src, np.ones((30, 40), np.float64))           # dtypes
    assert not _host_blas.transpose_into(src, np.ones((40, 30), np.float32))           # shapes
    forced.setattr(_host_blas, "ENABLED", False)
    assert not _host_blas.transpose_into(src, np.ones((30, 40), np.float32))
    forced.setattr(_host_blas, "ENABLED", True)
    forced.setattr(_host_blas, "TRANSPOSE_MIN", 10 ** 9)
    assert not _host_blas.transpose_into(src, np.ones((30, 40), np.float32))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("beta", [1.0, 0.9])
def test_axpby_is_the_formula(forced, dtype, beta):
    rng = np.random.RandomState(1)
    x, y = (rng.standard_normal(1000).astype(dtype) for _ in range(2))
    terms = (np.asarray(beta, dtype) * y, np.asarray(0.1, dtype) * x)
    expected = (terms[0] - terms[1]).astype(dtype)
    done = _host_blas.axpby(-0.1, x, beta, y)
    assert done == (_host_blas.openblas() is not None)
    if done:       # OpenBLAS fuses the multiply and the add: a rounding of the terms apart
        bound = 2 * np.finfo(dtype).eps * (abs(terms[0]) + abs(terms[1]))
        assert np.all(abs(y - expected) <= bound)
        assert not np.array_equal(y, terms[0])


def test_axpby_leaves_what_it_cannot_do(forced):
    x, y = np.ones(64, np.float32), np.ones(64, np.float32)
    assert not _host_blas.axpby(1.0, x.astype(np.float16), 1.0, y.astype(np.float16))
    assert not _host_blas.axpby(1.0, x[::2], 1.0, y[:32])
    assert not _host_blas.axpby(1.0, x, 1.0, np.ones(63, np.float32))
    np.testing.assert_array_equal(y, 1)


@pytest.mark.parametrize("shape,wshape,kwargs", [
    ((5, 3, 12, 12), (4, 3, 5, 5), {}),                                 # batch-last: 8-wide rows
    ((4, 2, 9, 9), (6, 2, 3, 3), dict(pad=(1, 1))),
    ((3, 4, 10, 10), (4, 2, 3, 3), dict(num_group=2)),
    ((2, 20, 20, 4), (5, 3, 3, 4), dict(layout="NHWC")),                # 18-wide rows
    ((2, 3, 30, 30), (4, 3, 3, 3), {}),                                 # 28-wide rows
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_convolutions_are_the_same_with_the_library_transposes(forced, shape, wshape, kwargs,
                                                              dtype):
    rng = np.random.RandomState(2)
    xh, wh, bh = (rng.standard_normal(s).astype(dtype) for s in (shape, wshape, wshape[:1]))
    kernel = wshape[1:-1] if kwargs.get("layout") == "NHWC" else wshape[2:]
    results, calls = [], _count_done(forced, "transpose_into")
    for enabled in (True, False):
        forced.setattr(_host_blas, "ENABLED", enabled)
        x, w, b = (nd.array(a, dtype=dtype) for a in (xh, wh, bh))
        for a in (x, w, b):
            a.attach_grad()
        with autograd.record():
            y = nd.Convolution(x, w, b, kernel=kernel, num_filter=wshape[0], **kwargs)
            loss = (y * y).sum()
        loss.backward()
        results.append([a.asnumpy() for a in (y, x.grad, w.grad, b.grad)])
    for a, b_ in zip(*results):
        np.testing.assert_array_equal(a, b_)
    # the 2-D layout moves: batch-last matrices (rows under 16) of channel-first data,
    # and the plain matrices of channel-last data
    channel_last = kwargs.get("layout") == "NHWC"
    short_rows = results[0][0].shape[2 if channel_last else -1] < 16
    if _host_blas.openblas() is not None and short_rows != channel_last:
        assert calls


def _trained_with_and_without(forced, optimizer: str, options: dict, dtype: str, seed: int):
    """A (40, 30) weight after three Trainer steps of ``optimizer`` on fixed gradients,
    with the library and without it; and the list of library calls that did the work."""
    rng = np.random.RandomState(seed)
    start, grads = rng.standard_normal((40, 30)), [rng.standard_normal((40, 30))
                                                   for _ in range(3)]
    results, calls = [], _count_done(forced, "axpby")
    for enabled in (True, False):
        forced.setattr(_host_blas, "ENABLED", enabled and _host_blas.openblas() is not None)
        p = fw.Parameter("w", shape=(40, 30), dtype=dtype)
        p.initialize(init=fw.init.Constant(0.0))
        p.set_data(nd.array(start, dtype=dtype))
        trainer = fw.Trainer([p], optimizer, options)
        for g in grads:
            with autograd.record():
                loss = (p.data() * nd.array(g, dtype=dtype)).sum()
            loss.backward()
            trainer.step(2)                   # rescale_grad 0.5
        results.append(p.data().asnumpy())
    assert not np.array_equal(results[0], start)
    return results, calls


@pytest.mark.parametrize("momentum,wd", [(0.0, 0.0), (0.0, 0.01), (0.9, 0.0), (0.9, 0.01)])
def test_sgd_update_through_the_library_is_the_numpy_rule(forced, momentum, wd):
    results, calls = _trained_with_and_without(
        forced, "sgd", {"learning_rate": 0.1, "momentum": momentum, "wd": wd}, "float32", 3)
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6, atol=1e-7)
    if _host_blas.openblas() is not None:     # every update went through the library
        assert len(calls) == 3 * (1 if momentum == 0 else 3 if wd else 2)


@pytest.mark.parametrize("optimizer,options,blends", [
    ("adam", {}, 3), ("adam", {"wd": 0.01}, 4),               # two moments, the step, decay
    ("adamw", {}, 3), ("adamw", {"wd": 0.01}, 4),
    ("rmsprop", {}, 2), ("rmsprop", {"wd": 0.01}, 3),         # the square's average, the step
    ("rmsprop", {"centered": True}, 3),                       # and the mean
    ("nadam", {}, 2), ("lamb", {}, 2),                        # Adam's two moments
    ("adamax", {}, 1),                                        # the first moment
])
def test_moment_updates_through_the_library_are_the_numpy_rule(forced, optimizer, options,
                                                               blends):
    """Adam's, AdamW's, RMSProp's, Nadam's, LAMB's and Adamax's moment updates (and
    steps) through ``axpby`` equal the NumPy rule within rounding (float64 weights
    here: to 1e-12), three steps."""
    results, calls = _trained_with_and_without(
        forced, optimizer, dict({"learning_rate": 0.1}, **options), "float64", 4)
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12, atol=1e-14)
    if _host_blas.openblas() is not None:     # every blend went through the library
        assert len(calls) == 3 * blends


# ------------------------------------------------------------------ gemm
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("beta", [0.0, 1.0, 0.5])
def test_gemm_is_the_product_on_views(dtype, beta):
    """Row views of a wider matrix and transposed views, read as they lie."""
    rng = np.random.RandomState(3)
    big = rng.standard_normal((40, 60)).astype(dtype)
    tol = 1e-5 if dtype == "float32" else 1e-12
    for a in (big[:5, :7], big[:7, 10:15].T, np.ascontiguousarray(big[:5, :7])):
        for b in (big[10:17, 3:13], big[20:30, 30:37].T, rng.standard_normal((7, 10))
                  .astype(dtype)):
            c = rng.standard_normal((5, 10)).astype(dtype)
            expected = 2.0 * (a.astype(np.float64) @ b) + beta * c
            done = _host_blas.gemm(2.0, a, b, beta, c)
            assert done == (_host_blas.openblas() is not None)
            if done:
                np.testing.assert_allclose(c, expected, rtol=tol, atol=tol)


def test_gemm_leaves_what_it_cannot_do():
    a, b = np.ones((3, 4), np.float32), np.ones((4, 2), np.float32)
    c = np.zeros((3, 2), np.float32)
    assert not _host_blas.gemm(1.0, a.astype(np.float16), b.astype(np.float16), 0.0,
                               c.astype(np.float16))
    assert not _host_blas.gemm(1.0, a, b.astype(np.float64), 0.0, c)
    assert not _host_blas.gemm(1.0, np.ones((3, 8), np.float32)[:, ::2], b, 0.0, c)
    assert not _host_blas.gemm(1.0, a, b, 0.0, np.zeros((2, 3), np.float32).T)
    frozen = np.zeros((3, 2), np.float32)
    frozen.flags.writeable = False
    assert not _host_blas.gemm(1.0, a, b, 0.0, frozen)
    np.testing.assert_array_equal(c, 0)
    if _host_blas.openblas() is not None:
        with pytest.raises(ValueError, match="do not fit"):
            _host_blas.gemm(1.0, a, b, 0.0, np.zeros((3, 3), np.float32))


# ------------------------------------------------- shifted-product convolutions
@pytest.mark.parametrize("shape,wshape,pad,bias", [
    ((3, 16, 9, 9), (16, 16, 3, 3), (1, 1), True),
    ((2, 32, 7, 8), (8, 32, 3, 3), (1, 1), False),
    ((2, 16, 12, 12), (16, 16, 5, 5), (2, 2), True),
    ((2, 20, 6, 6), (5, 20, 1, 1), (0, 0), True),
    ((3, 16, 12), (16, 16, 3), (1,), True),
    ((2, 16, 5, 6, 4), (16, 16, 3, 3, 3), (1, 1, 1), False),
    ((2, 16, 9, 9), (8, 16, 3, 3), (0, 0), True),              # no padding
    ((2, 16, 7, 7), (8, 16, 3, 3), (2, 2), False),             # the output wider than the data
    ((2, 16, 8, 9), (8, 16, 3, 3), (1, 0), True),              # padding along one axis
    ((2, 50, 8, 8), (20, 50, 5, 5), (4, 4), False),            # full padding
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_stride_one_convolutions_through_shifted_products(monkeypatch, shape, wshape, pad, bias,
                                                         dtype):
    """A stride-1 convolution (forward when no im2col matrix is kept, and the data
    gradient) as one product per kernel offset of the padded data's shifted views
    (``conv._shifted_product``) equals im2col and one product, at orders 1 and 2;
    the library's ``gemm`` does them (prod(K) calls each)."""
    from framework.ndarray.ops import conv as conv_ops
    monkeypatch.setattr(conv_ops, "SHIFTED_MAX_GRID", 100.0)    # small grids qualify too
    rng = np.random.RandomState(4)
    xh, wh, bh = (rng.standard_normal(s).astype(dtype) for s in (shape, wshape, wshape[:1]))
    kernel, taps = wshape[2:], int(np.prod(wshape[2:]))
    tol = 2e-5 if dtype == "float32" else 1e-12
    results, calls = [], _count_done(monkeypatch, "gemm")

    def conv(x, w, b):
        return nd.Convolution(x, w, b, kernel=kernel, pad=pad, num_filter=wshape[0],
                              no_bias=b is None)

    for enabled in (True, False):
        monkeypatch.setattr(_host_blas, "ENABLED", enabled)
        x, w, b = (nd.array(a, dtype=dtype) for a in (xh, wh, bh))
        b = b if bias else None
        del calls[:]
        predicted = conv(x, w, b)                               # no im2col matrix kept
        forward_calls = len(calls)
        x.attach_grad()
        w.attach_grad()
        with autograd.record():
            first, = autograd.grad((conv(x, w, b) ** 2).sum(), [x], create_graph=True)
            penalty = (first * first).sum()
        penalty.backward()
        results.append([predicted.asnumpy(), first.asnumpy(), w.grad.asnumpy()])
        if enabled and _host_blas.openblas() is not None:
            assert forward_calls == taps
            assert len(calls) >= 2 * taps          # the data gradients, at least
        else:
            assert not calls
    for got, expected in zip(*results):
        np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * np.abs(expected).max())
