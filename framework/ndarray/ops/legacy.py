"""MXNet 1.x ``nd`` names that older scripts and the MXNet Gluon book use.

- the legacy samplers: ``random_*`` (number parameters), ``sample_*`` (NDArray
  parameters, one draw set per element), ``uniform``/``normal``/``shuffle``, and
  ``random_pdf_normal``/``_uniform``/``_exponential``;
- other MXNet names of existing operators (``broadcast_plus``, ``true_divide``,
  ``ElementWiseSum``, ``crop``, ...);
- the symbolic-era output operators (``SoftmaxOutput``, the regression outputs,
  ``SVMOutput``, ``MakeLoss``): their forward is a plain transform and their
  gradient is a loss gradient that ignores the incoming one (unless
  ``out_grad``), as in MXNet; it cannot be differentiated again;
- small operators built from the differentiable ones (``smooth_l1``, ``softmin``,
  ``LRN``, ``L2Normalization``, ``SequenceMask`` ...), and index helpers
  (``gather_nd``, ``scatter_nd``, ``ravel_multi_index``, ...).
"""
from __future__ import annotations

import builtins
import math
import numbers
from typing import List, Optional, Sequence, Tuple

import numpy
from numpy.typing import DTypeLike

from ...context import cpu
from ..creation import array
from ..ndarray import NDArray
from ..operator import Operator
from .. import random as _random
from .arith import add, divide, equal, hypot, lesser, not_equal, subtract, where
from .checks import axis_index, check_array, int_tuple, is_int, normalize_axes, write_out
from .convert import cast, zeros_like
from .index import GetItem, one_hot, pick
from .join import concat
from .reduce import mean, sum as _sum
from .shape import expand_dims, reshape, transpose
from .slicing import slice as _slice, slice_axis
from .softmax import softmax
from .unary import abs as _abs, exp, log, sqrt, square

__all__ = [
    # samplers
    "random_uniform", "random_normal", "random_exponential", "random_gamma", "random_poisson",
    "random_negative_binomial", "random_generalized_negative_binomial", "random_randint",
    "uniform", "normal", "shuffle", "sample_uniform", "sample_normal", "sample_gamma",
    "sample_exponential", "sample_poisson", "sample_negative_binomial",
    "sample_generalized_negative_binomial", "sample_multinomial", "random_pdf_normal",
    "random_pdf_uniform", "random_pdf_exponential",
    # other names of existing operators
    "broadcast_plus", "broadcast_minus", "broadcast_hypot", "true_divide", "crop",
    "choose_element_0index", "amp_cast",
    # logic
    "logical_not", "logical_and", "logical_or", "logical_xor", "broadcast_logical_and",
    "broadcast_logical_or", "broadcast_logical_xor",
    # arrays and shapes
    "add_n", "ElementWiseSum", "shape_array", "size_array", "moveaxis", "split_v2",
    "khatri_rao", "moments", "fill_element_0index", "onehot_encode", "histogram",
    "from_numpy", "all_finite", "multi_all_finite", "amp_multicast", "reset_arrays",
    "Crop",
    # indices
    "gather_nd", "scatter_nd", "ravel_multi_index", "unravel_index",
    # sequences
    "SequenceMask", "SequenceLast", "SequenceReverse",
    # activations, normalisations, losses
    "softmin", "SoftmaxActivation", "smooth_l1", "L2Normalization", "LRN",
    "SoftmaxOutput", "Softmax", "LinearRegressionOutput", "LogisticRegressionOutput",
    "MAERegressionOutput", "SVMOutput", "MakeLoss", "make_loss",
]


def _describe(value) -> str:
    if isinstance(value, NDArray):
        return f"NDArray of shape {value.shape} {numpy.dtype(value.dtype).name}"
    return f"{type(value).__name__} {value!r}"


def _constant(raw, like: NDArray) -> NDArray:
    """A raw array computed on ``like``'s device, as an NDArray without history."""
    return NDArray(raw, like._ctx)


# ===================================================================== samplers
def random_uniform(low=0.0, high=1.0, shape=None, ctx=None, dtype: DTypeLike = None,
                   out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """MXNet's legacy name of ``random.uniform``: U[low, high) samples of ``shape``."""
    return _random.uniform(low, high, shape, dtype, ctx, out)


def random_normal(loc=0.0, scale=1.0, shape=None, ctx=None, dtype: DTypeLike = None,
                  out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """MXNet's legacy name of ``random.normal``: N(loc, scale**2) samples of ``shape``."""
    return _random.normal(loc, scale, shape, dtype, ctx, out)


def random_exponential(lam=1.0, shape=None, ctx=None, dtype: DTypeLike = None,
                       out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """Exponential samples of rate ``lam`` (mean 1/lam; ``random.exponential`` takes the
    scale 1/lam)."""
    return _random._exponential_rate(lam, shape, dtype, ctx, out, "random_exponential")


def random_gamma(alpha=1.0, beta=1.0, shape=None, ctx=None, dtype: DTypeLike = None,
                 out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """MXNet's legacy name of ``random.gamma``: Gamma(shape alpha, scale beta) samples."""
    return _random.gamma(alpha, beta, shape, dtype, ctx, out)


def random_poisson(lam=1.0, shape=None, ctx=None, dtype: DTypeLike = None,
                   out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """MXNet's legacy name of ``random.poisson``."""
    return _random.poisson(lam, shape, dtype, ctx, out)


def random_negative_binomial(k=1, p=1.0, shape=None, ctx=None, dtype: DTypeLike = None,
                             out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """MXNet's legacy name of ``random.negative_binomial``."""
    return _random.negative_binomial(k, p, shape, dtype, ctx, out)


def random_generalized_negative_binomial(mu=1.0, alpha=1.0, shape=None, ctx=None,
                                         dtype: DTypeLike = None, out: Optional[NDArray] = None,
                                         **kwargs) -> NDArray:
    """MXNet's legacy name of ``random.generalized_negative_binomial``."""
    return _random.generalized_negative_binomial(mu, alpha, shape, dtype, ctx, out)


def random_randint(low: int, high: int, shape=None, ctx=None, dtype: DTypeLike = None,
                   out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """MXNet's legacy name of ``random.randint``: int32 samples from [low, high)."""
    return _random.randint(low, high, shape, dtype, ctx, out)


uniform = random_uniform
normal = random_normal
shuffle = _random.shuffle


def _sample_args(op: str, **params) -> None:
    for name, value in params.items():
        if not isinstance(value, NDArray):
            raise TypeError(f"operator {op}: {name} must be an NDArray of parameters (one per "
                            f"draw set), got {_describe(value)}; random_{op[7:]} takes numbers")


def sample_uniform(low: NDArray, high: NDArray, shape=None, dtype: DTypeLike = None,
                   out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """U[low[i], high[i]) draws: parameters of shape P -> samples P + ``shape``."""
    _sample_args("sample_uniform", low=low, high=high)
    return _random.uniform(low, high, shape, dtype, None, out)


def sample_normal(mu: NDArray, sigma: NDArray, shape=None, dtype: DTypeLike = None,
                  out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """N(mu[i], sigma[i]**2) draws: parameters of shape P -> samples P + ``shape``."""
    _sample_args("sample_normal", mu=mu, sigma=sigma)
    return _random.normal(mu, sigma, shape, dtype, None, out)


def sample_gamma(alpha: NDArray, beta: NDArray, shape=None, dtype: DTypeLike = None,
                 out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """Gamma(alpha[i], scale beta[i]) draws: P -> P + ``shape``."""
    _sample_args("sample_gamma", alpha=alpha, beta=beta)
    return _random.gamma(alpha, beta, shape, dtype, None, out)


def sample_exponential(lam: NDArray, shape=None, dtype: DTypeLike = None,
                       out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """Exponential draws of rate lam[i]: P -> P + ``shape``."""
    _sample_args("sample_exponential", lam=lam)
    return _random._exponential_rate(lam, shape, dtype, None, out, "sample_exponential")


def sample_poisson(lam: NDArray, shape=None, dtype: DTypeLike = None,
                   out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """Poisson(lam[i]) draws (as floats): P -> P + ``shape``."""
    _sample_args("sample_poisson", lam=lam)
    return _random.poisson(lam, shape, dtype, None, out)


def sample_negative_binomial(k: NDArray, p: NDArray, shape=None, dtype: DTypeLike = None,
                             out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """Negative binomial (k[i], p[i]) draws (as floats): P -> P + ``shape``."""
    _sample_args("sample_negative_binomial", k=k, p=p)
    return _random.negative_binomial(k, p, shape, dtype, None, out)


def sample_generalized_negative_binomial(mu: NDArray, alpha: NDArray, shape=None,
                                         dtype: DTypeLike = None, out: Optional[NDArray] = None,
                                         **kwargs) -> NDArray:
    """Generalized negative binomial (mu[i], alpha[i]) draws: P -> P + ``shape``."""
    _sample_args("sample_generalized_negative_binomial", mu=mu, alpha=alpha)
    return _random.generalized_negative_binomial(mu, alpha, shape, dtype, None, out)


def sample_multinomial(data: NDArray, shape=None, get_prob: bool = False,
                       out: Optional[NDArray] = None, dtype: DTypeLike = "int32", **kwargs):
    """MXNet's legacy name of ``random.multinomial``: indices drawn from the
    distributions in the last axis of ``data`` (..., K) -> (...) + ``shape``."""
    return _random.multinomial(data, shape, get_prob, out, dtype)


def _pdf_params(op: str, sample: NDArray, params: Sequence[NDArray]) -> List[NDArray]:
    """The parameters reshaped to broadcast against ``sample`` (params.shape + extra)."""
    check_array(sample, op)
    first = params[0]
    for p in params:
        check_array(p, op)
        if p.shape != first.shape:
            raise ValueError(f"operator {op}: the parameter arrays must have one shape, got "
                             f"{first.shape} and {p.shape}")
    if sample.shape[:first.ndim] != first.shape:
        raise ValueError(f"operator {op}: sample of shape {sample.shape} must start with the "
                         f"parameters' shape {first.shape}")
    tail = (1,) * (sample.ndim - first.ndim)
    return [reshape(p, p.shape + tail) for p in params]


def random_pdf_normal(sample: NDArray, mu: NDArray, sigma: NDArray, is_log: bool = False,
                      *, out: Optional[NDArray] = None) -> NDArray:
    """Density of N(mu, sigma**2) at ``sample`` (shape P + extra for parameters of shape P);
    differentiable in all three."""
    mu, sigma = _pdf_params("random_pdf_normal", sample, (mu, sigma))
    z = (sample - mu) / sigma
    log_pdf = -0.5 * square(z) - log(sigma) - 0.5 * math.log(2 * math.pi)
    return write_out(log_pdf if is_log else exp(log_pdf), out, "random_pdf_normal")


def random_pdf_uniform(sample: NDArray, low: NDArray, high: NDArray, is_log: bool = False,
                       *, out: Optional[NDArray] = None) -> NDArray:
    """Density of U[low, high) at ``sample``: 1 / (high - low) inside, 0 outside."""
    low, high = _pdf_params("random_pdf_uniform", sample, (low, high))
    inside = (sample >= low) * lesser(sample, high)
    if is_log:
        result = where(inside, -log(high - low), -numpy.inf)
    else:
        result = inside / (high - low)
    return write_out(result, out, "random_pdf_uniform")


def random_pdf_exponential(sample: NDArray, lam: NDArray, is_log: bool = False,
                           *, out: Optional[NDArray] = None) -> NDArray:
    """Density lam * exp(-lam * x) of the exponential distribution (rate lam) at ``sample``."""
    lam, = _pdf_params("random_pdf_exponential", sample, (lam,))
    log_pdf = log(lam) - lam * sample
    return write_out(log_pdf if is_log else exp(log_pdf), out, "random_pdf_exponential")


# ======================================================= other names, logic
broadcast_plus = add
broadcast_minus = subtract
broadcast_hypot = hypot
true_divide = divide
crop = _slice
amp_cast = cast


def choose_element_0index(lhs: NDArray, rhs: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """lhs[i, rhs[i]] for each row i of a 2-D ``lhs`` (MXNet's old name of ``pick``)."""
    return write_out(pick(lhs, rhs, axis=-1), out, "choose_element_0index")


def _truth(value, op: str):
    """1/0 for a number, ``value != 0`` (in its dtype) for an NDArray."""
    if isinstance(value, NDArray):
        return not_equal(value, 0)
    if isinstance(value, numbers.Number):
        return 1 if value else 0
    raise TypeError(f"operator {op}: expected an NDArray or a number, got {_describe(value)}")


def _logical(op: str, lhs, rhs, combine):
    if not (isinstance(lhs, NDArray) or isinstance(rhs, NDArray)):
        raise TypeError(f"operator {op}: at least one operand must be an NDArray, got "
                        f"{_describe(lhs)} and {_describe(rhs)}")
    a, b = _truth(lhs, op), _truth(rhs, op)
    result = combine(a, b)
    if not isinstance(result, NDArray):                  # e.g. 0 * array: still an array
        like = lhs if isinstance(lhs, NDArray) else rhs
        result = zeros_like(like) + result
    return result


def logical_not(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """1 where ``data`` is 0, else 0, in ``data``'s dtype; no gradient."""
    check_array(data, "logical_not")
    return write_out(equal(data, 0), out, "logical_not")


def broadcast_logical_and(lhs, rhs, *, out: Optional[NDArray] = None) -> NDArray:
    """1 where both operands are non-zero, else 0 (shapes broadcast); no gradient."""
    return write_out(_logical("logical_and", lhs, rhs, lambda a, b: a * b), out, "logical_and")


def broadcast_logical_or(lhs, rhs, *, out: Optional[NDArray] = None) -> NDArray:
    """1 where either operand is non-zero, else 0 (shapes broadcast); no gradient."""
    return write_out(_logical("logical_or", lhs, rhs, lambda a, b: a + b - a * b), out,
                     "logical_or")


def broadcast_logical_xor(lhs, rhs, *, out: Optional[NDArray] = None) -> NDArray:
    """1 where exactly one operand is non-zero, else 0 (shapes broadcast); no gradient."""
    return write_out(_logical("logical_xor", lhs, rhs, lambda a, b: a + b - 2 * (a * b)), out,
                     "logical_xor")


logical_and = broadcast_logical_and
logical_or = broadcast_logical_or
logical_xor = broadcast_logical_xor


# =========================================================== arrays, shapes
class AddN(Operator):
    """The sum of n arrays of one shape; each input's gradient is the output gradient."""

    name = "add_n"

    def forward(self, *xs):
        total = xs[0].copy()
        for x in xs[1:]:                      # one pass per input array
            total += x
        return total

    def backward(self, gy):
        return tuple(gy if self.wants(i) else None for i in range(len(self.parents)))


def add_n(*args: NDArray, out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """Elementwise sum of arrays of one shape and dtype (``ElementWiseSum``)."""
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        args = tuple(args[0])
    if not args:
        raise ValueError("operator add_n: needs at least one array")
    for i, a in enumerate(args):
        check_array(a, "add_n")
        if a.shape != args[0].shape or a.dtype != args[0].dtype:
            raise ValueError(f"operator add_n: input {i} is {_describe(a)}, input 0 is "
                             f"{_describe(args[0])}; all inputs must have one shape and dtype")
    return write_out(AddN()(*args), out, "add_n")


ElementWiseSum = add_n


def _int64_array(values, like: NDArray) -> NDArray:
    xp = like._ctx.xp
    with like._ctx.scope():
        return _constant(xp.asarray(list(values), dtype=numpy.int64), like)


def shape_array(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """The shape of ``data`` as an int64 array: (2, 3) -> [2, 3]."""
    check_array(data, "shape_array")
    return write_out(_int64_array(data.shape, data), out, "shape_array")


def size_array(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """The number of elements of ``data`` as an int64 array of shape (1,)."""
    check_array(data, "size_array")
    return write_out(_int64_array([data.size], data), out, "size_array")


def moveaxis(tensor: NDArray, source, destination, *,
             out: Optional[NDArray] = None) -> NDArray:
    """Move axes ``source`` to positions ``destination`` (ints or tuples), the others
    keeping their order: (2, 3, 4), 0, -1 -> (3, 4, 2)."""
    check_array(tensor, "moveaxis")
    src = int_tuple(source, "moveaxis", "source axes")
    dst = int_tuple(destination, "moveaxis", "destination axes")
    if len(src) != len(dst):
        raise ValueError(f"operator moveaxis: source {src} and destination {dst} must have the "
                         f"same number of elements")
    src = [axis_index(a, tensor.ndim, "moveaxis") for a in src]
    dst = [axis_index(a, tensor.ndim, "moveaxis") for a in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError(f"operator moveaxis: repeated axis in source {source} or destination "
                         f"{destination}")
    order = [n for n in range(tensor.ndim) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return write_out(transpose(tensor, tuple(order)), out, "moveaxis")


def split_v2(ary: NDArray, indices_or_sections, axis: int = 0, squeeze_axis: bool = False):
    """NumPy's split: into ``indices_or_sections`` equal parts, or at the given indices.

    Returns a list of arrays (views), or the array itself for a single part.
    """
    check_array(ary, "split_v2")
    axis = axis_index(axis, ary.ndim, "split_v2")
    dim = ary.shape[axis]
    if is_int(indices_or_sections):
        sections = int(indices_or_sections)
        if sections < 1 or dim % sections:
            raise ValueError(f"operator split_v2: {sections} sections do not divide axis {axis} "
                             f"of size {dim} (shape {ary.shape}) equally")
        bounds = [i * (dim // sections) for i in range(sections)] + [dim]
    else:
        points = int_tuple(indices_or_sections, "split_v2", "indices")
        bounds = [0] + [builtins.min(builtins.max(p + dim if p < 0 else p, 0), dim)
                        for p in points] + [dim]
    parts = []
    for b, e in zip(bounds[:-1], bounds[1:]):
        lead = (None,) * axis
        part = _slice(ary, lead + (b,), lead + (builtins.max(b, e),))
        if squeeze_axis:
            if part.shape[axis] != 1:
                raise ValueError(f"operator split_v2: squeeze_axis needs parts of size 1 along "
                                 f"axis {axis}, got a part of shape {part.shape}")
            part = reshape(part, part.shape[:axis] + part.shape[axis + 1:])
        parts.append(part)
    return parts[0] if len(parts) == 1 else parts


def khatri_rao(*args: NDArray, out: Optional[NDArray] = None) -> NDArray:
    """Column-wise Kronecker product: (I, R), (J, R), ... -> (I * J * ..., R)."""
    if not args:
        raise ValueError("operator khatri_rao: needs at least one matrix")
    for i, m in enumerate(args):
        check_array(m, "khatri_rao")
        if m.ndim != 2 or m.shape[1] != args[0].shape[1]:
            raise ValueError(f"operator khatri_rao: input {i} has shape {m.shape}; every input "
                             f"must be 2-D with {args[0].shape[-1]} columns like input 0 "
                             f"{args[0].shape}")
    result = args[0]
    cols = result.shape[1]
    for m in args[1:]:
        product = expand_dims(result, 1) * expand_dims(m, 0)
        result = reshape(product, (-1, cols))
    if len(args) == 1:
        result = result.copy()
    return write_out(result, out, "khatri_rao")


def moments(data: NDArray, axes=None, keepdims: bool = False) -> Tuple[NDArray, NDArray]:
    """(mean, variance) of ``data`` over ``axes`` (all if None); differentiable."""
    check_array(data, "moments")
    axes = normalize_axes(axes, data.ndim, op="moments")
    mu = mean(data, axis=axes, keepdims=True)
    var = mean(square(data - mu), axis=axes, keepdims=True)
    if keepdims:
        return mu, var
    shape = tuple(d for i, d in enumerate(data.shape) if i not in axes) or (1,)
    return reshape(mu, shape), reshape(var, shape)


def fill_element_0index(lhs: NDArray, mhs: NDArray, rhs: NDArray,
                        *, out: Optional[NDArray] = None) -> NDArray:
    """A copy of 2-D ``lhs`` with lhs[i, rhs[i]] = mhs[i]; differentiable in lhs and mhs."""
    for a in (lhs, mhs, rhs):
        check_array(a, "fill_element_0index")
    if lhs.ndim != 2 or mhs.shape != (lhs.shape[0],) or rhs.shape != (lhs.shape[0],):
        raise ValueError(f"operator fill_element_0index: expected lhs (N, K), mhs (N,) and rhs "
                         f"(N,), got {lhs.shape}, {mhs.shape} and {rhs.shape}")
    hit = one_hot(rhs, lhs.shape[1], dtype=numpy.dtype(lhs.dtype))
    result = lhs * (1 - hit) + hit * expand_dims(mhs, 1)
    return write_out(result, out, "fill_element_0index")


def onehot_encode(indices: NDArray, out: NDArray) -> NDArray:
    """Write one-hot rows of ``indices`` (N,) into ``out`` (N, depth) and return ``out``."""
    check_array(indices, "onehot_encode")
    check_array(out, "onehot_encode")
    if out.ndim != 2 or out.shape[0] != indices.size:
        raise ValueError(f"operator onehot_encode: out must have shape ({indices.size}, depth) "
                         f"for indices of shape {indices.shape}, got {out.shape}")
    return one_hot(reshape(indices, (-1,)), out.shape[1], dtype=numpy.dtype(out.dtype), out=out)


def histogram(a: NDArray, bins=10, range=None):
    """(counts, bin edges) of ``a``'s values.

    ``bins``: an int (with ``range`` = (low, high): counts int64, edges in a's
    dtype) or an NDArray of edges; an int without ``range`` uses the data's
    min and max, with float32 results (MXNet does this through NumPy).
    """
    check_array(a, "histogram")
    xp = a._ctx.xp
    with a._ctx.scope():
        if isinstance(bins, NDArray):
            if bins.ndim != 1 or bins.size < 2:
                raise ValueError(f"operator histogram: bins as an NDArray must be 1-D edges, "
                                 f"got shape {bins.shape}")
            counts, edges = xp.histogram(a._data, bins=bins._data)
            return (_constant(counts.astype(numpy.int64), a),
                    _constant(edges.astype(bins._data.dtype), a))
        if not is_int(bins) or bins < 1:
            raise ValueError(f"operator histogram: bins must be a positive int or an NDArray "
                             f"of edges, got {bins!r}")
        if range is None:
            counts, edges = xp.histogram(a._data, bins=int(bins))
            return (_constant(counts.astype(numpy.float32), a),
                    _constant(edges.astype(numpy.float32), a))
        low, high = (float(v) for v in range)
        if not low < high:
            raise ValueError(f"operator histogram: range must be (low, high) with low < high, "
                             f"got {range!r}")
        counts, edges = xp.histogram(a._data, bins=int(bins), range=(low, high))
        return (_constant(counts.astype(numpy.int64), a),
                _constant(edges.astype(a._data.dtype), a))


def from_numpy(ndarray: numpy.ndarray, zero_copy: bool = True) -> NDArray:
    """An NDArray with ``ndarray``'s values and dtype.

    With ``zero_copy`` (a C-contiguous array) it is on cpu(0) and the two share
    memory; as in MXNet the NumPy array becomes read-only. Otherwise the data is
    copied to the current context.
    """
    if not isinstance(ndarray, numpy.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(ndarray).__name__}")
    if not zero_copy:
        return array(ndarray, dtype=ndarray.dtype)
    if not ndarray.flags["C_CONTIGUOUS"]:
        raise ValueError("from_numpy: zero_copy needs a C-contiguous array; pass "
                         "zero_copy=False or numpy.ascontiguousarray(array)")
    shared = ndarray.view()
    ndarray.flags.writeable = False
    return NDArray(shared, cpu(0))


def _finite(xp, arrays) -> bool:
    return builtins.all(bool(xp.isfinite(a._data).all()) for a in arrays)


def all_finite(data: NDArray, init_output: bool = True, *,
               out: Optional[NDArray] = None) -> NDArray:
    """[1.] if every element of ``data`` is finite, else [0.] (float32, shape (1,))."""
    check_array(data, "all_finite")
    with data._ctx.scope():
        flag = _finite(data._ctx.xp, [data])
        result = _constant(data._ctx.xp.full((1,), float(flag), dtype=numpy.float32), data)
    return write_out(result, out, "all_finite")


def multi_all_finite(*arrays: NDArray, num_arrays: int = 1, init_output: bool = True,
                     out: Optional[NDArray] = None) -> NDArray:
    """[1.] if every element of every array is finite, else [0.] (float32, shape (1,))."""
    if not arrays:
        raise ValueError("operator multi_all_finite: needs at least one array")
    for a in arrays:
        check_array(a, "multi_all_finite")
    ctx = arrays[0]._ctx
    with ctx.scope():
        flag = _finite(ctx.xp, arrays)
        result = _constant(ctx.xp.full((1,), float(flag), dtype=numpy.float32), arrays[0])
    return write_out(result, out, "multi_all_finite")


def amp_multicast(*data: NDArray, num_outputs: int, cast_narrow: bool = False) -> List[NDArray]:
    """The inputs cast to their widest float type (narrowest with ``cast_narrow``)."""
    if num_outputs != len(data):
        raise ValueError(f"operator amp_multicast: num_outputs={num_outputs} but {len(data)} "
                         f"arrays were given")
    floats = [numpy.dtype(a.dtype) for a in data if numpy.dtype(a.dtype).kind == "f"]
    if not floats:
        return list(data)
    pick_size = builtins.min if cast_narrow else builtins.max
    target = pick_size(floats, key=lambda d: d.itemsize)
    return [cast(a, target) if numpy.dtype(a.dtype).kind == "f" else a for a in data]


def reset_arrays(*data: NDArray, num_arrays: Optional[int] = None) -> None:
    """Set every array to zero in place."""
    if num_arrays is not None and num_arrays != len(data):
        raise ValueError(f"operator reset_arrays: num_arrays={num_arrays} but {len(data)} "
                         f"arrays were given")
    for a in data:
        check_array(a, "reset_arrays")
        a._write(zeros_like(a), "reset_arrays")


def Crop(*data: NDArray, offset=(0, 0), h_w=(0, 0), center_crop: bool = False,  # noqa: N802
         num_args: Optional[int] = None, out: Optional[NDArray] = None) -> NDArray:
    """Crop (N, C, H, W) ``data[0]`` to (h, w): ``h_w``, or the spatial size of ``data[1]``.

    The window starts at ``offset`` (y, x), or is centred with ``center_crop``.
    Deprecated in MXNet in favour of ``slice``; differentiable in data[0].
    """
    if num_args is not None and num_args != len(data):
        raise ValueError(f"operator Crop: num_args={num_args} but {len(data)} arrays were given")
    if len(data) not in (1, 2):
        raise ValueError(f"operator Crop: expected 1 or 2 arrays, got {len(data)}")
    x = data[0]
    check_array(x, "Crop")
    if x.ndim != 4:
        raise ValueError(f"operator Crop: data must be (N, C, H, W), got shape {x.shape}")
    if len(data) == 2:
        check_array(data[1], "Crop")
        h, w = data[1].shape[2:4]
    else:
        h, w = int_tuple(h_w, "Crop", "h_w")
    big_h, big_w = x.shape[2:]
    if center_crop:
        oy, ox = (big_h - h) // 2, (big_w - w) // 2
    else:
        oy, ox = int_tuple(offset, "Crop", "offset")
    if h <= 0 or w <= 0 or oy < 0 or ox < 0 or oy + h > big_h or ox + w > big_w:
        raise ValueError(f"operator Crop: a ({h}, {w}) window at offset ({oy}, {ox}) does not "
                         f"fit in data of shape {x.shape}")
    return write_out(_slice(x, (None, None, oy, ox), (None, None, oy + h, ox + w)), out, "Crop")


# =================================================================== indices
def _index_rows(indices: NDArray, op: str, depth: int) -> tuple:
    """The rows of an (M, ...) index array as int64 device arrays (one key per axis)."""
    check_array(indices, op)
    if indices.ndim < 1 or indices.shape[0] > depth or indices.shape[0] == 0:
        raise ValueError(f"operator {op}: indices must have shape (M, ...) with 1 <= M <= "
                         f"{depth}, got {indices.shape}")
    raw = indices._data
    if raw.dtype.kind == "f":
        raw = indices._ctx.xp.floor(raw)
    raw = raw.astype(numpy.int64)
    return tuple(raw[i] for i in range(indices.shape[0]))


def gather_nd(data: NDArray, indices: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """data[indices[0], indices[1], ...]: indices (M, Y...) -> (Y...) + data.shape[M:].

    Differentiable in ``data``: repeated positions add their gradients.
    """
    check_array(data, "gather_nd")
    with data._ctx.scope():
        key = _index_rows(indices, "gather_nd", data.ndim)
        result = GetItem(key, False, "gather_nd")(data)
    return write_out(result, out, "gather_nd")


class ScatterNd(Operator):
    """Zeros of ``shape`` with data written at the index rows; the gradient gathers back."""

    name = "scatter_nd"

    def __init__(self, key: tuple, shape: Tuple[int, ...]) -> None:
        self.key, self.shape = key, shape

    def forward(self, data):
        result = self.xp.zeros(self.shape, dtype=data.dtype)
        try:
            result[self.key] = data
        except (IndexError, ValueError) as err:
            raise IndexError(f"operator scatter_nd: cannot write data of shape {data.shape} "
                             f"into shape {self.shape} at the given indices: {err}") from None
        return result

    def backward(self, gy):
        return GetItem(self.key, False, "gather_nd")(gy)


def scatter_nd(data: NDArray, indices: NDArray, shape, *, out: Optional[NDArray] = None) -> NDArray:
    """Zeros of ``shape`` with result[indices[0], indices[1], ...] = data.

    indices (M, Y...), data (Y...) + shape[M:]. With repeated positions one of the
    writes lands (as MXNet, unspecified which). Differentiable in ``data``.
    """
    check_array(data, "scatter_nd")
    shape = int_tuple(shape, "scatter_nd", "shape")
    with data._ctx.scope():
        key = _index_rows(indices, "scatter_nd", len(shape))
        expected = tuple(indices.shape[1:]) + shape[indices.shape[0]:]
        if data.shape != expected:
            raise ValueError(f"operator scatter_nd: data of shape {data.shape} does not match "
                             f"indices {indices.shape} and shape {shape}: expected {expected}")
        result = ScatterNd(key, shape)(data)
    return write_out(result, out, "scatter_nd")


def _raw_int(data: NDArray):
    raw = data._data
    if raw.dtype.kind == "f":
        raw = data._ctx.xp.floor(raw)
    return raw.astype(numpy.int64)


def ravel_multi_index(data: NDArray, shape, *, out: Optional[NDArray] = None) -> NDArray:
    """Flat indices of the coordinates in ``data`` (ndim, N...) for an array of ``shape``;
    result (N...) in data's dtype."""
    check_array(data, "ravel_multi_index")
    shape = int_tuple(shape, "ravel_multi_index", "shape")
    if data.ndim < 1 or data.shape[0] != len(shape):
        raise ValueError(f"operator ravel_multi_index: data must have shape ({len(shape)}, ...) "
                         f"for shape {shape}, got {data.shape}")
    with data._ctx.scope():
        coords = _raw_int(data)
        flat = coords[0] * 0
        for i, d in enumerate(shape):             # one pass per dimension
            flat = flat * d + coords[i]
        result = _constant(flat.astype(data._data.dtype), data)
    return write_out(result, out, "ravel_multi_index")


def unravel_index(data: NDArray, shape, *, out: Optional[NDArray] = None) -> NDArray:
    """Coordinates (len(shape), N...) of the flat indices ``data`` (N...) in ``shape``."""
    check_array(data, "unravel_index")
    shape = int_tuple(shape, "unravel_index", "shape")
    xp = data._ctx.xp
    with data._ctx.scope():
        rest = _raw_int(data)
        coords = []
        for d in reversed(shape):                 # one pass per dimension
            coords.append(rest % d)
            rest = rest // d
        result = _constant(xp.stack(coords[::-1]).astype(data._data.dtype), data)
    return write_out(result, out, "unravel_index")


# ================================================================= sequences
def _lengths(op: str, data: NDArray, sequence_length, use: bool, axis: int):
    """(axis, batch axis, int64 lengths on the device or None)."""
    check_array(data, op)
    if axis not in (0, 1):
        raise ValueError(f"operator {op}: axis must be 0 (time first) or 1 (batch first), "
                         f"got {axis}")
    if data.ndim < 2:
        raise ValueError(f"operator {op}: data must have time and batch axes, got shape "
                         f"{data.shape}")
    batch_axis = 1 - axis
    if not use:
        return axis, batch_axis, None
    check_array(sequence_length, op)
    if sequence_length.shape != (data.shape[batch_axis],):
        raise ValueError(f"operator {op}: sequence_length must have shape "
                         f"({data.shape[batch_axis]},) for data of shape {data.shape} "
                         f"(axis={axis}), got {sequence_length.shape}")
    with data._ctx.scope():
        lengths = _raw_int(sequence_length)
    return axis, batch_axis, lengths


def SequenceMask(data: NDArray, sequence_length: Optional[NDArray] = None,  # noqa: N802
                 use_sequence_length: bool = False, value: float = 0.0, axis: int = 0,
                 *, out: Optional[NDArray] = None) -> NDArray:
    """Set the steps at or beyond each sequence's length to ``value``.

    data (T, B, ...) with axis=0, or (B, T, ...) with axis=1; sequence_length (B,).
    Differentiable in ``data`` (masked steps get no gradient).
    """
    axis, batch_axis, lengths = _lengths("SequenceMask", data, sequence_length,
                                         use_sequence_length, axis)
    if lengths is None:
        return write_out(data.copy(), out, "SequenceMask")
    xp = data._ctx.xp
    with data._ctx.scope():
        steps = xp.arange(data.shape[axis], dtype=numpy.int64)
        keep = steps[:, None] < lengths[None, :] if axis == 0 else \
            steps[None, :] < lengths[:, None]
        keep = keep.reshape(keep.shape + (1,) * (data.ndim - 2))
        mask = _constant(xp.broadcast_to(keep, data.shape).astype(data._data.dtype), data)
    return write_out(where(mask, data, value), out, "SequenceMask")


def SequenceLast(data: NDArray, sequence_length: Optional[NDArray] = None,  # noqa: N802
                 use_sequence_length: bool = False, axis: int = 0,
                 *, out: Optional[NDArray] = None) -> NDArray:
    """The last valid step of each sequence: (T, B, ...) -> (B, ...); differentiable."""
    axis, batch_axis, lengths = _lengths("SequenceLast", data, sequence_length,
                                         use_sequence_length, axis)
    xp = data._ctx.xp
    batch, steps = data.shape[batch_axis], data.shape[axis]
    with data._ctx.scope():
        last = xp.full((batch,), steps - 1, dtype=numpy.int64) if lengths is None else \
            xp.clip(lengths - 1, 0, steps - 1)
        rows = xp.arange(batch, dtype=numpy.int64)
        key = (last, rows) if axis == 0 else (rows, last)
        result = GetItem(key, False, "SequenceLast")(data)
    return write_out(result, out, "SequenceLast")


def SequenceReverse(data: NDArray, sequence_length: Optional[NDArray] = None,  # noqa: N802
                    use_sequence_length: bool = False, axis: int = 0,
                    *, out: Optional[NDArray] = None) -> NDArray:
    """Reverse the first sequence_length[b] steps of each sequence b of (T, B, ...) data;
    the steps beyond stay in place. Differentiable in ``data``."""
    if axis != 0:
        raise ValueError(f"operator SequenceReverse: only axis=0 (time first) is supported, "
                         f"as in MXNet; got axis={axis}")
    axis, batch_axis, lengths = _lengths("SequenceReverse", data, sequence_length,
                                         use_sequence_length, axis)
    xp = data._ctx.xp
    steps, batch = data.shape[0], data.shape[1]
    with data._ctx.scope():
        t = xp.arange(steps, dtype=numpy.int64)[:, None]
        n = xp.full((1, batch), steps, dtype=numpy.int64) if lengths is None else \
            xp.clip(lengths, 0, steps)[None, :]
        source = xp.where(t < n, n - 1 - t, t)
        rows = xp.broadcast_to(xp.arange(batch, dtype=numpy.int64)[None, :], (steps, batch))
        result = GetItem((source, rows), False, "SequenceReverse")(data)
    return write_out(result, out, "SequenceReverse")


# ========================================= activations, normalisation, losses
def softmin(data: NDArray, axis: int = -1, temperature: Optional[float] = None,
            dtype: DTypeLike = None, *, out: Optional[NDArray] = None) -> NDArray:
    """softmax(-data): weights favouring small values along ``axis``; same shape."""
    check_array(data, "softmin")
    return write_out(softmax(-data, axis=axis, temperature=temperature, dtype=dtype), out,
                     "softmin")


def SoftmaxActivation(data: NDArray, mode: str = "instance",  # noqa: N802
                      *, out: Optional[NDArray] = None) -> NDArray:
    """Softmax over each instance's values (``mode='instance'``: all but axis 0) or over
    the channel axis 1 (``mode='channel'``); same shape as ``data``."""
    check_array(data, "SoftmaxActivation")
    if mode == "channel":
        if data.ndim < 2:
            raise ValueError(f"operator SoftmaxActivation: mode='channel' needs (N, C, ...) "
                             f"data, got shape {data.shape}")
        return write_out(softmax(data, axis=1), out, "SoftmaxActivation")
    if mode != "instance":
        raise ValueError(f"operator SoftmaxActivation: mode must be 'instance' or 'channel', "
                         f"got {mode!r}")
    flat = reshape(data, (data.shape[0], -1)) if data.ndim != 2 else data
    return write_out(reshape(softmax(flat, axis=1), data.shape), out, "SoftmaxActivation")


def smooth_l1(data: NDArray, scalar: float = 1.0, *, out: Optional[NDArray] = None) -> NDArray:
    """0.5 (s x)^2 where |x| < 1/s^2, else |x| - 0.5/s^2 (s = ``scalar``); elementwise."""
    check_array(data, "smooth_l1")
    s2 = float(scalar) ** 2
    if s2 == 0:
        raise ValueError("operator smooth_l1: scalar must be non-zero")
    magnitude = _abs(data)
    inner = magnitude < 1.0 / s2
    result = where(inner, (0.5 * s2) * square(data), magnitude - 0.5 / s2)
    return write_out(result, out, "smooth_l1")


def L2Normalization(data: NDArray, eps: float = 1e-10, mode: str = "instance",  # noqa: N802
                    *, out: Optional[NDArray] = None) -> NDArray:
    """data / sqrt(sum(data^2) + eps), the sum over all but axis 0 ('instance'), over
    axis 1 ('channel') or over axes 2.. ('spatial'); same shape as ``data``."""
    check_array(data, "L2Normalization")
    if mode == "instance":
        axes = tuple(range(1, data.ndim))
    elif mode == "channel":
        axes = (1,)
    elif mode == "spatial":
        axes = tuple(range(2, data.ndim))
    else:
        raise ValueError(f"operator L2Normalization: mode must be 'instance', 'channel' or "
                         f"'spatial', got {mode!r}")
    needed = 2 if mode == "instance" else 3 if mode == "spatial" else 2
    if data.ndim < needed:
        raise ValueError(f"operator L2Normalization: mode={mode!r} needs at least {needed} "
                         f"dimensions, got shape {data.shape}")
    norm = sqrt(_sum(square(data), axis=axes, keepdims=True) + eps)
    return write_out(data / norm, out, "L2Normalization")


def LRN(data: NDArray, nsize: int, alpha: float = 1e-4, beta: float = 0.75,  # noqa: N802
        knorm: float = 2.0, *, out: Optional[NDArray] = None) -> NDArray:
    """Local response normalisation across channels of (N, C, ...) data:
    x / (knorm + alpha / nsize * sum of x^2 over the nsize channels around)^beta."""
    check_array(data, "LRN")
    if data.ndim < 3:
        raise ValueError(f"operator LRN: data must be (N, C, ...), got shape {data.shape}")
    if not is_int(nsize) or nsize < 1 or nsize % 2 == 0:
        raise ValueError(f"operator LRN: nsize must be a positive odd int, got {nsize!r}")
    channels = data.shape[1]
    sq = square(data)
    window = sq
    for d in range(1, nsize // 2 + 1):             # one shift per kernel offset
        if d >= channels:
            break
        filler = zeros_like(slice_axis(sq, 1, 0, d))
        window = window + concat(slice_axis(sq, 1, d, None), filler, dim=1)      # x[c + d]
        window = window + concat(filler, slice_axis(sq, 1, 0, channels - d), dim=1)  # x[c - d]
    scale = (window * (alpha / nsize) + knorm) ** beta
    return write_out(data / scale, out, "LRN")


# ------------------------------------------ output layers with a loss gradient
class _LossGradient(Operator):
    """Forward: a plain transform of ``data``; backward: a loss gradient computed from
    the output and the label, ignoring the incoming gradient (unless ``out_grad``).
    That rule is not the derivative of the forward, so it is not differentiated again."""

    saves_inputs = (1,)
    saves_outputs = (0,)
    differentiable_backward = False
    out_grad = False

    def grad(self, y, label):
        """The raw gradient for ``data`` from the raw output and label."""
        raise NotImplementedError(type(self).__name__)

    def backward(self, gy):
        label = self.saved_inputs[0]
        label = label._data if isinstance(label, NDArray) else label
        g = self.grad(self.saved_outputs[0], label)
        if self.out_grad:
            g = g * gy._data
        return self.constant(g.astype(self.saved_outputs[0].dtype, copy=False)), None


class SoftmaxOutputOp(_LossGradient):
    name = "SoftmaxOutput"

    def __init__(self, layout: str, grad_scale: float, ignore_label: float, use_ignore: bool,
                 normalization: str, out_grad: bool, smooth_alpha: float) -> None:
        self.layout, self.grad_scale, self.ignore_label = layout, grad_scale, ignore_label
        self.use_ignore, self.normalization = use_ignore, normalization
        self.out_grad, self.smooth_alpha = out_grad, smooth_alpha

    def _grouped(self, x):
        """The (rows, classes) or (n, classes, positions) view the softmax runs on."""
        if self.layout == "multi":
            return x.reshape(x.shape[0], x.shape[1], -1), 1
        if self.layout == "last":
            return x.reshape(-1, x.shape[-1]), 1
        return x.reshape(x.shape[0], -1), 1

    def forward(self, data, label):
        xp = self.xp
        x, axis = self._grouped(data)
        e = xp.exp(x - x.max(axis=axis, keepdims=True))
        return (e / e.sum(axis=axis, keepdims=True)).reshape(data.shape)

    def grad(self, y, label):
        xp = self.xp
        p, axis = self._grouped(y)
        if label.shape == y.shape:                       # probabilities as labels
            return (y - label) * self.grad_scale
        classes = p.shape[1]
        lab = label.reshape(p.shape[0], -1) if self.layout == "multi" else label.reshape(-1)
        idx = lab.astype(numpy.int64)
        if self.layout == "multi":
            hit = xp.arange(classes, dtype=numpy.int64)[None, :, None] == idx[:, None, :]
        else:
            hit = xp.arange(classes, dtype=numpy.int64)[None, :] == idx[:, None]
        target = hit.astype(p.dtype)
        if self.smooth_alpha:
            target = target * (1 - self.smooth_alpha) + \
                (1 - target) * (self.smooth_alpha / builtins.max(classes - 1, 1))
        g = p - target
        valid = lab != self.ignore_label
        if self.use_ignore:
            g = g * (valid[:, None, :] if self.layout == "multi" else valid[:, None])
        if self.normalization == "valid":          # MXNet counts labels != ignore_label
            scale = self.grad_scale / builtins.max(int(valid.sum()), 1)
        elif self.normalization == "batch":
            scale = self.grad_scale / p.shape[0]
        else:
            scale = self.grad_scale
        if self.layout == "multi" and self.normalization != "valid":
            scale /= p.shape[2]                          # MXNet also averages over positions
        return (g * scale).reshape(y.shape)


def SoftmaxOutput(data: NDArray, label: NDArray, grad_scale: float = 1.0,  # noqa: N802
                  ignore_label: float = -1.0, multi_output: bool = False,
                  use_ignore: bool = False, preserve_shape: bool = False,
                  normalization: str = "null", out_grad: bool = False,
                  smooth_alpha: float = 0.0, *, out: Optional[NDArray] = None,
                  **kwargs) -> NDArray:
    """Softmax whose gradient is the cross-entropy gradient (softmax - one_hot(label)).

    Layouts: data (N, ...) flattened to (N, K) with label (N,); ``multi_output``:
    data (N, K, d...) with label (N, d...), softmax over axis 1;
    ``preserve_shape``: softmax over the last axis, label data.shape[:-1]; a label
    of data's shape holds probabilities. The gradient is scaled by ``grad_scale``
    and divided per ``normalization`` ('null', 'batch': N, 'valid': non-ignored
    labels); ``use_ignore`` zeroes rows labelled ``ignore_label``; ``smooth_alpha``
    smooths the one-hot target. With ``out_grad`` it is multiplied by the incoming
    gradient. No gradient for ``label``.
    """
    check_array(data, "SoftmaxOutput")
    check_array(label, "SoftmaxOutput")
    if normalization not in ("null", "batch", "valid"):
        raise ValueError(f"operator SoftmaxOutput: normalization must be 'null', 'batch' or "
                         f"'valid', got {normalization!r}")
    if numpy.dtype(data.dtype).kind != "f":
        raise TypeError(f"operator SoftmaxOutput: data must be floating point, got {data.dtype}")
    layout = "multi" if multi_output else "last" if preserve_shape else "rows"
    if data.ndim < (2 if layout != "last" else 1):
        raise ValueError(f"operator SoftmaxOutput: data must have at least 2 dimensions, got "
                         f"shape {data.shape}")
    if label.shape != data.shape:
        if layout == "multi":
            allowed = [(data.shape[0],) + data.shape[2:],
                       (data.shape[0], data.size // (data.shape[0] * data.shape[1])),
                       (data.shape[0], 1) + data.shape[2:]]
        elif layout == "last":
            allowed = [data.shape[:-1]]
        else:
            allowed = [(data.shape[0],)]
        if label.shape not in allowed:
            raise ValueError(f"operator SoftmaxOutput: label of shape {label.shape} does not "
                             f"match data of shape {data.shape}: expected one of {allowed} or "
                             f"data's shape (probabilities)")
    op = SoftmaxOutputOp(layout, float(grad_scale), float(ignore_label), bool(use_ignore),
                         normalization, bool(out_grad), float(smooth_alpha))
    return write_out(op(data, label), out, "SoftmaxOutput")


Softmax = SoftmaxOutput


class _RegressionOutput(_LossGradient):
    """Regression output layers: the gradient is grad_scale / m * f(out, label), m the
    number of outputs per sample."""

    def __init__(self, grad_scale: float) -> None:
        self.grad_scale = grad_scale

    def grad(self, y, label):
        per_sample = y.size // y.shape[0] if y.ndim else 1
        return self.direction(y, label.reshape(y.shape)) * (self.grad_scale / per_sample)


class LinearRegressionOp(_RegressionOutput):
    name = "LinearRegressionOutput"

    def forward(self, data, label):
        return data.copy()

    def direction(self, y, label):
        return y - label


class LogisticRegressionOp(_RegressionOutput):
    name = "LogisticRegressionOutput"

    def forward(self, data, label):
        xp = self.xp
        e = xp.exp(-xp.abs(data))
        return xp.where(data >= 0, 1 / (1 + e), e / (1 + e))

    def direction(self, y, label):
        return y - label


class MAERegressionOp(_RegressionOutput):
    name = "MAERegressionOutput"

    def forward(self, data, label):
        return data.copy()

    def direction(self, y, label):
        return self.xp.sign(y - label)


def _regression(op_class, data: NDArray, label: NDArray, grad_scale: float, out) -> NDArray:
    check_array(data, op_class.name)
    check_array(label, op_class.name)
    if label.size != data.size:
        raise ValueError(f"operator {op_class.name}: label of shape {label.shape} does not "
                         f"match data of shape {data.shape} (same number of elements expected)")
    return write_out(op_class(float(grad_scale))(data, label), out, op_class.name)


def LinearRegressionOutput(data: NDArray, label: NDArray, grad_scale: float = 1.0,  # noqa: N802
                           *, out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """Identity forward; gradient (out - label) * grad_scale / outputs per sample (L2 loss)."""
    return _regression(LinearRegressionOp, data, label, grad_scale, out)


def LogisticRegressionOutput(data: NDArray, label: NDArray, grad_scale: float = 1.0,  # noqa: N802
                             *, out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """Sigmoid forward; gradient (sigmoid(x) - label) * grad_scale / outputs per sample."""
    return _regression(LogisticRegressionOp, data, label, grad_scale, out)


def MAERegressionOutput(data: NDArray, label: NDArray, grad_scale: float = 1.0,  # noqa: N802
                        *, out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """Identity forward; gradient sign(out - label) * grad_scale / outputs per sample (L1)."""
    return _regression(MAERegressionOp, data, label, grad_scale, out)


class SVMOutputOp(_LossGradient):
    """Identity forward; one-vs-all hinge gradient (L2 hinge, or L1 with ``use_linear``)."""

    name = "SVMOutput"

    def __init__(self, margin: float, coefficient: float, use_linear: bool) -> None:
        self.margin, self.coefficient, self.use_linear = margin, coefficient, use_linear

    def forward(self, data, label):
        return data.copy()

    def grad(self, y, label):
        xp, m, c = self.xp, self.margin, self.coefficient
        x = y.reshape(y.shape[0], -1)
        hit = xp.arange(x.shape[1], dtype=numpy.int64)[None, :] == \
            label.reshape(-1).astype(numpy.int64)[:, None]
        if self.use_linear:
            g = xp.where(hit, -(m > x).astype(x.dtype), (m > -x).astype(x.dtype)) * c
        else:
            g = xp.where(hit, xp.where(m > x, -2 * (m - x), 0), xp.where(m > -x, 2 * (m + x), 0))
            g = g * c
        return g.reshape(y.shape)


def SVMOutput(data: NDArray, label: NDArray, margin: float = 1.0,  # noqa: N802
              regularization_coefficient: float = 1.0, use_linear: bool = False,
              *, out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """Identity forward on (N, K) scores; the gradient is that of the one-vs-all hinge
    loss (squared unless ``use_linear``) for class labels (N,)."""
    check_array(data, "SVMOutput")
    check_array(label, "SVMOutput")
    if data.ndim < 2 or label.shape != (data.shape[0],):
        raise ValueError(f"operator SVMOutput: expected data (N, K) and label (N,), got "
                         f"{data.shape} and {label.shape}")
    op = SVMOutputOp(float(margin), float(regularization_coefficient), bool(use_linear))
    return write_out(op(data, label), out, "SVMOutput")


class MakeLossOp(Operator):
    """Identity forward; the gradient is grad_scale (over the batch size or the count of
    elements above ``valid_thresh``), whatever the incoming gradient."""

    name = "MakeLoss"
    differentiable_backward = False

    def __init__(self, grad_scale: float, valid_thresh: float, normalization: str) -> None:
        self.grad_scale, self.valid_thresh = grad_scale, valid_thresh
        self.normalization = normalization

    def forward(self, data):
        self.shape = data.shape
        if self.normalization == "valid":
            self.count = builtins.max(int((data > self.valid_thresh).sum()), 1)
        return data.copy()

    def backward(self, gy):
        scale = self.grad_scale
        if self.normalization == "batch":
            scale /= self.shape[0] if self.shape else 1
        elif self.normalization == "valid":
            scale /= self.count
        return self.constant(self.xp.full(self.shape, scale, dtype=gy._data.dtype))


def MakeLoss(data: NDArray, grad_scale: float = 1.0, valid_thresh: float = 0.0,  # noqa: N802
             normalization: str = "null", *, out: Optional[NDArray] = None,
             **kwargs) -> NDArray:
    """Mark ``data`` as a loss: identity forward, gradient ``grad_scale`` everywhere
    (divided by the batch size for 'batch', by the count of elements above
    ``valid_thresh`` for 'valid')."""
    check_array(data, "MakeLoss")
    if normalization not in ("null", "batch", "valid"):
        raise ValueError(f"operator MakeLoss: normalization must be 'null', 'batch' or "
                         f"'valid', got {normalization!r}")
    op = MakeLossOp(float(grad_scale), float(valid_thresh), normalization)
    return write_out(op(data), out, "MakeLoss")


def make_loss(data: NDArray, *, out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """Identity forward whose gradient is 1 everywhere (MXNet's ``make_loss``)."""
    return MakeLoss(data, out=out)
