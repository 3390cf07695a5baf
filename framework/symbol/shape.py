"""Shape and dtype inference over a graph (MXNet's ``infer_shape``/``infer_type``).

A shape is None (unknown) or a tuple in which 0 marks an unknown dimension
(MXNet 1.x's convention: a Parameter declared ``(32, 0)``). Known shapes flow
forward and back through the nodes until nothing changes: each operator's rule
fills what it can from what is known, e.g. FullyConnected's ``weight``
(num_hidden, in_units) from ``num_hidden`` and the data's shape, BatchNorm's
statistics (C,) from the data's channel axis, an element-wise operator's inputs
from its output. An operator without a rule here gets its output shapes by
running its ``nd`` function on zero arrays of the input shapes (in predict mode,
not recorded), so rule and operator can never disagree.

A dtype is a NumPy dtype or None. By default all inputs and outputs of an
operator share one dtype (a weight takes the data's); the exceptions (Cast,
Embedding, one_hot, index inputs, shape_array, ...) are listed in ``_TYPE_RULES``.
"""
from __future__ import annotations

import math
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy

from .. import ndarray as _nd
from .._flags import STATE
from ..context import cpu
from .graph import Entry, Node, post_order
from .ops import RANDOM_SAMPLERS, SAMPLE_INPUTS

__all__ = ["infer_shapes", "infer_types", "merge_shape", "shape_is_known"]

Shape = Optional[Tuple[int, ...]]


def shape_is_known(shape: Shape) -> bool:
    return shape is not None and all(d > 0 for d in shape)


def merge_shape(a: Shape, b: Shape, what: str) -> Shape:
    """One shape from two partial ones, or a ValueError saying they conflict."""
    if a is None:
        return b
    if b is None:
        return a
    if len(a) != len(b):
        raise ValueError(f"{what}: shape {_show(a)} does not match {_show(b)}")
    out = []
    for x, y in zip(a, b):
        if x and y and x != y:
            raise ValueError(f"{what}: shape {_show(a)} does not match {_show(b)}")
        out.append(x or y)
    return tuple(out)


def _show(shape: Shape) -> str:
    return "unknown" if shape is None else str(shape)


class _Params:
    """A node's arguments with the operator's defaults: ``p('kernel')``."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.values = node.params

    def __call__(self, key: str, fallback=None):
        return self.node.op.value(self.values, key, fallback)


def _tuple(value, n: int, fill: int) -> Tuple[int, ...]:
    if value is None or value == ():
        return (fill,) * n
    if isinstance(value, int):
        return (value,) * n
    return tuple(int(v) for v in value)


# ----------------------------------------------------------------- shape rules
Rule = Callable[[_Params, List[Shape], List[Shape]], Tuple[List[Shape], List[Shape]]]


def _same_shape(p, ins, outs):
    """One input (and any extra inputs shaped alike), outputs of its shape."""
    shape = ins[0]
    for o in outs[:1]:
        shape = merge_shape(shape, o, "input and output")
    return [shape] + ins[1:], [shape] + outs[1:]


def _all_same(p, ins, outs):
    """Every input and the output of one shape (elemwise_add, add_n, where)."""
    shape = None
    for s in list(ins) + outs[:1]:
        shape = merge_shape(shape, s, "inputs and output")
    return [shape] * len(ins), [shape] + outs[1:]


def _broadcast(p, ins, outs):
    a, b = ins
    if shape_is_known(a) and shape_is_known(b):
        try:
            shape = tuple(numpy.broadcast_shapes(a, b))
        except ValueError:
            raise ValueError(f"shapes {a} and {b} do not broadcast") from None
        return ins, [merge_shape(outs[0], shape, "output")]
    return ins, outs


def _fully_connected(p, ins, outs):
    ins = list(ins)
    data = ins[0]
    hidden = int(p("num_hidden"))
    if shape_is_known(data):
        flatten = p("flatten", True)
        in_units = math.prod(data[1:]) if flatten else data[-1]
        ins[1] = merge_shape(ins[1], (hidden, in_units), "weight")
        out = (data[0], hidden) if flatten else data[:-1] + (hidden,)
        outs = [merge_shape(outs[0], out, "output")]
    else:
        ins[1] = merge_shape(ins[1], (hidden, 0), "weight")
    if len(ins) > 2:
        ins[2] = merge_shape(ins[2], (hidden,), "bias")
    return ins, outs


def _layout(p, ndim: int, default_c: int = 1) -> Tuple[int, Tuple[int, ...]]:
    """(channel axis, spatial axes) of data with ``ndim`` dimensions."""
    layout = p("layout")
    if layout and layout.index("C") != 1:
        return ndim - 1, tuple(range(1, ndim - 1))
    return 1, tuple(range(2, ndim))


def _window_attrs(p, data):
    """What Convolution and Deconvolution share: (kernel, filters, groups, stride,
    dilate, pad, channel_last, the data's channels (0: unknown), its spatial axes
    (None: unknown))."""
    kernel = tuple(p("kernel"))
    n = len(kernel)
    filters, groups = int(p("num_filter")), int(p("num_group", 1))
    stride, dilate, pad = _tuple(p("stride"), n, 1), _tuple(p("dilate"), n, 1), \
        _tuple(p("pad"), n, 0)
    channel_last = bool(p("layout")) and p("layout").index("C") != 1
    in_c, spatial = 0, None
    if data is not None and len(data) == n + 2:
        c_axis, spatial = _layout(p, n + 2)
        in_c = data[c_axis]
    return kernel, filters, groups, stride, dilate, pad, channel_last, in_c, spatial


def _convolution(p, ins, outs):
    ins = list(ins)
    data = ins[0]
    kernel, filters, groups, stride, dilate, pad, channel_last, in_c, spatial = \
        _window_attrs(p, data)
    n = len(kernel)
    per_group = in_c // groups if in_c else 0
    weight = (filters,) + kernel + (per_group,) if channel_last else \
        (filters, per_group) + kernel
    ins[1] = merge_shape(ins[1], weight, "weight")
    if len(ins) > 2:
        ins[2] = merge_shape(ins[2], (filters,), "bias")
    if shape_is_known(data):
        if len(data) != n + 2:
            raise ValueError(f"data of shape {data} does not fit the {n}-D kernel {kernel}")
        sizes = [(data[a] + 2 * pd - dl * (k - 1) - 1) // s + 1
                 for a, k, s, dl, pd in zip(spatial, kernel, stride, dilate, pad)]
        if any(x < 1 for x in sizes):
            raise ValueError(f"kernel {kernel} (dilate {dilate}) does not fit data of shape "
                             f"{data} padded by {pad}")
        out = (data[0],) + tuple(sizes) + (filters,) if channel_last else \
            (data[0], filters) + tuple(sizes)
        outs = [merge_shape(outs[0], out, "output")]
    return ins, outs


def _deconvolution(p, ins, outs):
    ins = list(ins)
    data = ins[0]
    kernel, filters, groups, stride, dilate, pad, channel_last, in_c, spatial = \
        _window_attrs(p, data)
    adj = _tuple(p("adj"), len(kernel), 0)
    target = tuple(p("target_shape") or ())
    per_group = filters // groups
    weight = (in_c,) + kernel + (per_group,) if channel_last else (in_c, per_group) + kernel
    ins[1] = merge_shape(ins[1], weight, "weight")
    if len(ins) > 2:
        ins[2] = merge_shape(ins[2], (filters,), "bias")
    if shape_is_known(data) and not any(target):
        sizes = [(data[a] - 1) * s - 2 * pd + dl * (k - 1) + aj + 1
                 for a, k, s, dl, pd, aj in zip(spatial, kernel, stride, dilate, pad, adj)]
        out = (data[0],) + tuple(sizes) + (filters,) if channel_last else \
            (data[0], filters) + tuple(sizes)
        outs = [merge_shape(outs[0], out, "output")]
    elif shape_is_known(data):
        return _evaluated(p, ins, outs)
    return ins, outs


def _pooling(p, ins, outs):
    data = ins[0]
    if not shape_is_known(data):
        return ins, outs
    ndim = len(data)
    _, spatial = _layout(p, ndim)
    n = ndim - 2
    if p("global_pool", False):
        sizes = [1] * n
    else:
        kernel = _tuple(p("kernel"), n, 1)
        stride = _tuple(p("stride"), n, 1)
        pad = _tuple(p("pad"), n, 0)
        full = p("pooling_convention", "valid") == "full"
        sizes = []
        for a, k, s, pd in zip(spatial, kernel, stride, pad):
            span = data[a] + 2 * pd - k
            if span < 0:
                raise ValueError(f"kernel {kernel} exceeds data of shape {data} padded by "
                                 f"{pad}")
            sizes.append((-(-span // s) if full else span // s) + 1)
    out = list(data)
    for a, size in zip(spatial, sizes):
        out[a] = size
    return ins, [merge_shape(outs[0], tuple(out), "output")] + outs[1:]


def _per_channel(axis_key: Optional[str], count: int, default_axis: int = 1,
                 stats: Optional[Callable] = None):
    """Normalisation: the data's shape out; ``count`` inputs after data of shape (C,),
    C the size of the data's axis ``p(axis_key)``."""
    def rule(p, ins, outs):
        ins = list(ins)
        data = merge_shape(ins[0], outs[0], "data and output")
        ins[0] = data
        outs = [data] + list(outs[1:])
        if data is not None:
            axis = p(axis_key, default_axis) if axis_key else default_axis
            if not -len(data) <= axis < len(data):
                raise ValueError(f"axis {axis} is out of range for data of shape {data}")
            c = data[axis]
            for i in range(1, 1 + count):
                ins[i] = merge_shape(ins[i], (c,), f"input {i}")
            if stats is not None and len(outs) > 1:
                for i, s in enumerate(stats(data, axis), start=1):
                    outs[i] = merge_shape(outs[i], s, f"output {i}")
        return ins, outs
    return rule


def _group_norm(p, ins, outs):
    ins = list(ins)
    data = merge_shape(ins[0], outs[0], "data and output")
    groups = int(p("num_groups", 1))
    ins[0] = data
    for i in (1, 2):
        ins[i] = merge_shape(ins[i], (groups,), f"input {i}")
    outs = [data] + list(outs[1:])
    return ins, outs


def _embedding(p, ins, outs):
    ins = list(ins)
    dim_in, dim_out = int(p("input_dim")), int(p("output_dim"))
    ins[1] = merge_shape(ins[1], (dim_in, dim_out), "weight")
    if ins[0] is not None:
        outs = [merge_shape(outs[0], tuple(ins[0]) + (dim_out,), "output")]
    return ins, outs


def _leaky_relu(p, ins, outs):
    ins, outs = _same_shape(p, ins, outs)
    if len(ins) > 1 and ins[1] is None and ins[0] is not None and len(ins[0]) > 1:
        ins[1] = (ins[0][1],)            # MXNet: one slope per channel unless given
    return ins, outs


def _upsampling(p, ins, outs):
    if p("sample_type", "nearest") != "bilinear" or len(ins) < 2:
        return _evaluated(p, ins, outs)
    ins = list(ins)
    scale = int(p("scale"))
    kernel = 2 * scale - scale % 2
    data = ins[0]
    if data is not None:
        ins[1] = merge_shape(ins[1], (data[1], 1, kernel, kernel), "weight")
        if shape_is_known(data):
            out = data[:2] + tuple(d * scale for d in data[2:])
            outs = [merge_shape(outs[0], out, "output")]
    return ins, outs


def _label_like_data(p, ins, outs):
    ins = list(ins)
    first, outs = _same_shape(p, ins[:1], outs)
    ins[0] = first[0]
    ins[1] = merge_shape(ins[1], ins[0], "label")
    return ins, outs


def _softmax_output(p, ins, outs):
    shape, out = _same_shape(p, ins[:1], outs)
    ins = list(shape) + list(ins[1:])
    data = ins[0]
    if data is not None and not p("multi_output", False):
        label = data[:-1] if p("preserve_shape", False) else (data[0],)
        if ins[1] is None or len(ins[1]) == len(label):
            ins[1] = merge_shape(ins[1], label, "label")
    elif data is not None and len(data) > 1:
        ins[1] = merge_shape(ins[1], (data[0],) + tuple(data[2:]), "label")
    return ins, out


def _dot(p, ins, outs):
    a, b = ins
    if not (shape_is_known(a) and shape_is_known(b)):
        return ins, outs
    if p("transpose_a", False):
        a = a[1:] + a[:1] if len(a) > 1 else a
    if p("transpose_b", False):
        b = b[-1:] + b[:-1] if len(b) > 1 else b
    if a[-1] != b[0]:
        raise ValueError(f"dot: lhs {ins[0]} and rhs {ins[1]} do not fit (inner sizes "
                         f"{a[-1]} and {b[0]}, transpose_a={p('transpose_a', False)}, "
                         f"transpose_b={p('transpose_b', False)})")
    out = a[:-1] + b[1:]
    return ins, [merge_shape(outs[0], out if out else (1,), "output")]


def _batch_dot(p, ins, outs):
    a, b = ins
    if not (shape_is_known(a) and shape_is_known(b)):
        return ins, outs
    m, k = (a[-1], a[-2]) if p("transpose_a", False) else (a[-2], a[-1])
    k2, n = (b[-1], b[-2]) if p("transpose_b", False) else (b[-2], b[-1])
    if k != k2 or a[:-2] != b[:-2]:
        raise ValueError(f"batch_dot: lhs {a} and rhs {b} do not fit")
    return ins, [merge_shape(outs[0], a[:-2] + (m, n), "output")]


def _flatten(p, ins, outs):
    data = ins[0]
    if shape_is_known(data):
        out = (data[0], math.prod(data[1:])) if len(data) > 1 else (data[0], 1)
        outs = [merge_shape(outs[0], out, "output")]
    return ins, outs


def _concat(p, ins, outs):
    if not all(shape_is_known(s) for s in ins):
        return ins, outs
    ndim = len(ins[0])
    dim = int(p("dim", 1))
    axis = dim % ndim if -ndim <= dim < ndim else None
    if axis is None or any(len(s) != ndim for s in ins):
        raise ValueError(f"cannot concatenate shapes {ins} along dim {dim}")
    for s in ins:
        if s[:axis] + s[axis + 1:] != ins[0][:axis] + ins[0][axis + 1:]:
            raise ValueError(f"cannot concatenate shapes {ins} along dim {dim}")
    out = list(ins[0])
    out[axis] = sum(s[axis] for s in ins)
    return ins, [merge_shape(outs[0], tuple(out), "output")]


def _shape_param(p) -> tuple:
    """The node's ``shape`` argument as a tuple (an int is one dimension; none is ())."""
    shape = p("shape", ())
    return (shape,) if isinstance(shape, int) else tuple(shape or ())


def _creation(p, ins, outs):
    return ins, [merge_shape(outs[0], _shape_param(p), "output")]


def _evaluated(p, ins, outs):
    """Output shapes by running the ``nd`` function on zero arrays of the input shapes."""
    if not all(shape_is_known(s) for s in ins) or all(shape_is_known(o) for o in outs):
        return ins, outs
    node = p.node
    if not ins and node.op.fn is None and node.op.name not in ("_arange", "_eye"):
        return ins, outs
    arrays = [_nd.NDArray(numpy.zeros(s, dtype=numpy.float32), cpu()) for s in ins]
    recording, training = STATE.recording, STATE.training
    STATE.recording, STATE.training = False, False
    try:
        with numpy.errstate(all="ignore"):
            results = node.op.run(_nd, arrays, node.params, cpu(), f"node '{node.name}'")
    except (ValueError, TypeError, IndexError) as err:
        raise ValueError(f"cannot infer the output shape from input shapes "
                         f"{[tuple(s) for s in ins]}: {err}") from None
    finally:
        STATE.recording, STATE.training = recording, training
    new = [tuple(r.shape) for r in results]
    return ins, [merge_shape(o, s, f"output {i}") for i, (o, s) in enumerate(zip(outs, new))]


_SAME_SHAPE = (
    "relu", "sigmoid", "tanh", "exp", "log", "sqrt", "rsqrt", "cbrt", "rcbrt", "square",
    "reciprocal", "abs", "sign", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh",
    "cosh", "arcsinh", "arccosh", "arctanh", "degrees", "radians", "floor", "ceil", "round",
    "rint", "fix", "trunc", "expm1", "log1p", "log2", "log10", "erf", "erfinv", "negative",
    "logical_not", "softsign", "log_sigmoid", "mish", "hard_sigmoid", "zeros_like",
    "ones_like", "make_loss", "MakeLoss", "clip", "smooth_l1", "softmax", "log_softmax",
    "softmin", "SoftmaxActivation", "Activation", "L2Normalization", "amp_cast", "BlockGrad",
    "_copy", "Cast", "Dropout", "LRN", "SequenceMask", "SequenceReverse")
_ALL_SAME = (
    "elemwise_add", "elemwise_sub", "elemwise_mul", "elemwise_div", "_mod", "_power",
    "_maximum", "_minimum", "_hypot", "_equal", "_not_equal", "_greater", "_greater_equal",
    "_lesser", "_lesser_equal", "_logical_and", "_logical_or", "_logical_xor", "add_n")
_BROADCAST = tuple(n for n in (
    "add", "sub", "mul", "div", "mod", "power", "maximum", "minimum", "hypot", "equal",
    "not_equal", "greater", "greater_equal", "lesser", "lesser_equal", "logical_and",
    "logical_or", "logical_xor"))

_RULES: Dict[str, Rule] = {name: _same_shape for name in _SAME_SHAPE}
_RULES.update({name: _all_same for name in _ALL_SAME})
_RULES.update({"broadcast_" + name: _broadcast for name in _BROADCAST})
_RULES.update({
    "FullyConnected": _fully_connected, "Convolution": _convolution,
    "Deconvolution": _deconvolution, "Pooling": _pooling,
    "BatchNorm": _per_channel("axis", 4, stats=lambda d, a: [(d[a],), (d[a],)]),
    "LayerNorm": _per_channel("axis", 2, -1, stats=lambda d, a: [
        tuple(1 if i == a % len(d) else x for i, x in enumerate(d))] * 2),
    "InstanceNorm": _per_channel(None, 2), "GroupNorm": _group_norm,
    "Embedding": _embedding, "LeakyReLU": _leaky_relu, "UpSampling": _upsampling,
    "SoftmaxOutput": _softmax_output, "LinearRegressionOutput": _label_like_data,
    "LogisticRegressionOutput": _label_like_data, "MAERegressionOutput": _label_like_data,
    "dot": _dot, "batch_dot": _batch_dot, "Flatten": _flatten, "Concat": _concat,
    "_zeros": _creation, "_ones": _creation, "_full": _creation, "_random_randint": _creation,
})
_RULES.update({f"_random_{name}": _creation for name in RANDOM_SAMPLERS})
_RULES.update({f"_random_{name}_like": _same_shape for name in RANDOM_SAMPLERS})


def _sample(p, ins, outs):
    """``_sample_<name>``: parameter arrays of one shape -> params.shape + shape."""
    known = [s for s in ins if shape_is_known(s)]
    if not known:
        return ins, outs
    return [merge_shape(s, known[0], "parameter") for s in ins], \
        [merge_shape(outs[0], tuple(known[0]) + _shape_param(p), "output")]


_RULES.update({f"_sample_{name}": _sample for name in SAMPLE_INPUTS})


def _sample_multinomial(p, ins, outs):
    """(..., K) probabilities -> draws (and log-probabilities) of (...) + shape, or (1,)
    for a 1-D input without ``shape``."""
    if not shape_is_known(ins[0]):
        return ins, outs
    size = tuple(ins[0][:-1]) + _shape_param(p) or (1,)
    return ins, [merge_shape(o, size, "output") for o in outs]


_RULES.update({"_sample_multinomial": _sample_multinomial, "_shuffle": _same_shape})
for _name in ("_plus_scalar", "_minus_scalar", "_rminus_scalar", "_mul_scalar", "_div_scalar",
              "_rdiv_scalar", "_mod_scalar", "_rmod_scalar", "_power_scalar", "_rpower_scalar",
              "_maximum_scalar", "_minimum_scalar", "_hypot_scalar", "_equal_scalar",
              "_not_equal_scalar", "_greater_scalar", "_greater_equal_scalar", "_lesser_scalar",
              "_lesser_equal_scalar", "_logical_and_scalar", "_logical_or_scalar",
              "_logical_xor_scalar"):
    _RULES[_name] = _same_shape


def _key(entry: Entry) -> Tuple[int, int]:
    return id(entry[0]), entry[1]


def infer_shapes(outputs: Sequence[Entry],
                 known: Dict[str, Shape]) -> Dict[Tuple[int, int], Shape]:
    """Shapes of every variable (key (id(node), 0)) and operator output (id, index) of
    the graph, from ``known`` (variable name -> partial shape) and the variables'
    ``__shape__``. Incompatible shapes are a ValueError naming the node and operator."""
    from .attrs import parse_shape
    order = post_order([e[0] for e in outputs])
    state: Dict[Tuple[int, int], Shape] = {}
    for node in order:
        if node.is_variable:
            where = f"variable '{node.name}'"
            shape = parse_shape(node.attrs.get("__shape__"), where)
            if shape is not None and len(shape) == 0:
                shape = None                       # MXNet 1.x: () is an unknown shape
            given = known.get(node.name)
            if given is not None:
                shape = merge_shape(shape, tuple(given), f"{where}: given shape and "
                                                         f"__shape__")
            state[(id(node), 0)] = shape
    ops = [n for n in order if not n.is_variable]
    for _ in range(len(ops) + 2):
        changed = False
        for node in ops:
            params = _Params(node)
            ins = [state.get(_key(e)) for e in node.inputs]
            outs = [state.get((id(node), i)) for i in range(node.num_visible())]
            rule = _RULES.get(node.op.name, _evaluated)
            try:
                new_ins, new_outs = rule(params, list(ins), list(outs))
                updates = list(zip([_key(e) for e in node.inputs], ins, new_ins))
                updates += [((id(node), i), o, n)
                            for i, (o, n) in enumerate(zip(outs, new_outs))]
                for key, old, new in updates:
                    merged = merge_shape(old, new, "")
                    if merged != old:
                        state[key] = merged
                        changed = True
            except (ValueError, TypeError, KeyError) as err:
                names = node.input_names()
                shown = ", ".join(f"{names[i] if i < len(names) else i}={_show(s)}"
                                  for i, s in enumerate(ins))
                raise ValueError(f"infer_shape: operator {node.op.name} (node "
                                 f"'{node.name}'), inputs {shown}: {err}") from None
        if not changed:
            break
    return state


# ------------------------------------------------------------------ dtype rules
def _free(*positions):
    """Inputs at ``positions`` take any dtype (indices, labels, lengths)."""
    return {"free": set(positions)}


_TYPE_RULES: Dict[str, dict] = {
    "Cast": {"free": {0}, "out": lambda p, t: numpy.dtype(p("dtype"))},
    "amp_cast": {"free": {0}, "out": lambda p, t: numpy.dtype(p("dtype"))},
    "Embedding": {"free": {0}, "out": lambda p, t: numpy.dtype(p("dtype") or "float32"),
                  "weight_is_out": True},
    "one_hot": {"free": {0}, "out": lambda p, t: numpy.dtype(p("dtype") or "float32")},
    "argsort": {"out": lambda p, t: numpy.dtype(p("dtype") or "float32")},
    "shape_array": {"free": {0}, "out": lambda p, t: numpy.dtype("int64")},
    "size_array": {"free": {0}, "out": lambda p, t: numpy.dtype("int64")},
    "_zeros": {"out": lambda p, t: numpy.dtype(p("dtype") or "float32")},
    "_ones": {"out": lambda p, t: numpy.dtype(p("dtype") or "float32")},
    "_full": {"out": lambda p, t: numpy.dtype(p("dtype") or "float32")},
    "_arange": {"out": lambda p, t: numpy.dtype(p("dtype") or "float32")},
    "_eye": {"out": lambda p, t: numpy.dtype(p("dtype") or "float32")},
    "_random_randint": {"out": lambda p, t: numpy.dtype(p("dtype") or "int32")},
    "take": _free(1), "batch_take": _free(1), "pick": _free(1), "gather_nd": _free(1),
    "scatter_nd": _free(1), "where": _free(0), "slice_like": _free(1),
    "reshape_like": _free(1), "broadcast_like": _free(1), "SequenceMask": _free(1),
    "SequenceLast": _free(1), "SequenceReverse": _free(1), "SoftmaxOutput": _free(1),
    "softmax_cross_entropy": _free(1), "CTCLoss": _free(1, 2, 3), "SVMOutput": _free(1),
    "choose_element_0index": _free(1),
    "BatchNorm": {"params_float32_for_float16": True},
}


def _type_rule(node: Node):
    rule = dict(_TYPE_RULES.get(node.op.name, {}))
    p = _Params(node)
    if node.op.name in ("softmax", "log_softmax", "softmin") and p("dtype"):
        rule["out"] = lambda p, t: numpy.dtype(p("dtype"))
    if node.op.name == "norm" and p("out_dtype"):
        rule["out"] = lambda p, t: numpy.dtype(p("out_dtype"))
    if node.op.name == "topk" and p("ret_typ", "indices") in ("indices", "mask", "both"):
        if p("ret_typ", "indices") == "both":
            rule["outs"] = lambda p, t: [t, numpy.dtype(p("dtype") or "float32")]
        elif p("ret_typ") != "mask":
            rule["out"] = lambda p, t: numpy.dtype(p("dtype") or "float32")
    return rule, p


_TYPE_RULES.update({f"_random_{name}": _TYPE_RULES["_zeros"] for name in RANDOM_SAMPLERS})
_TYPE_RULES.update({f"_sample_{name}": {"out": lambda p, t: numpy.dtype(p("dtype")) if p("dtype")
                                        else t} for name in SAMPLE_INPUTS})
_TYPE_RULES["_sample_multinomial"] = {
    "outs": lambda p, t: [numpy.dtype(p("dtype") or "int32"), t][:2 if p("get_prob") else 1]}


def infer_types(outputs: Sequence[Entry],
                known: Dict[str, object]) -> Dict[Tuple[int, int], object]:
    """dtypes (NumPy dtypes) of every variable and operator output, from ``known``
    (variable name -> dtype) and the variables' ``__dtype__``; conflicts are errors
    naming the node."""
    from .attrs import dtype_of_flag
    order = post_order([e[0] for e in outputs])
    state: Dict[Tuple[int, int], object] = {}
    for node in order:
        if node.is_variable:
            where = f"variable '{node.name}'"
            dtype = None
            if "__dtype__" in node.attrs:
                dtype = dtype_of_flag(node.attrs["__dtype__"], where)
            if known.get(node.name) is not None:
                given = numpy.dtype(known[node.name])
                if dtype is not None and given != dtype:
                    raise ValueError(f"infer_type: {where} is given dtype {given.name} but "
                                     f"its __dtype__ says {dtype.name}")
                dtype = given
            state[(id(node), 0)] = dtype
    ops = [n for n in order if not n.is_variable]

    def put(key, dtype, node, what):
        old = state.get(key)
        if dtype is None or (old is not None and old == dtype):   # (dtype(None) is float64)
            return False
        if old is not None:
            raise ValueError(f"infer_type: operator {node.op.name} (node '{node.name}'): "
                             f"{what} has dtype {numpy.dtype(old).name}, expected "
                             f"{numpy.dtype(dtype).name}")
        state[key] = numpy.dtype(dtype)
        return True

    for _ in range(len(ops) + 2):
        changed = False
        for node in ops:
            rule, p = _type_rule(node)
            free = rule.get("free", set())
            names = node.input_names()
            keys = [_key(e) for e in node.inputs]
            n_out = node.num_visible()
            shared = [i for i in range(len(keys)) if i not in free]
            if rule.get("weight_is_out"):
                shared = [i for i in shared if i != 1]
            common = None
            for i in shared:
                if state.get(keys[i]) is not None:
                    common = state[keys[i]]
                    break
            if "out" in rule or "outs" in rule:
                if "outs" in rule:
                    outs = rule["outs"](p, common)
                else:
                    outs = [rule["out"](p, common)] * n_out
                for i, dt in enumerate(outs):
                    changed |= put((id(node), i), dt, node, f"output {i}")
                if rule.get("weight_is_out") and len(keys) > 1:
                    changed |= put(keys[1], outs[0], node, "input 'weight'")
            else:
                if common is None:
                    common = state.get((id(node), 0))
                if common is not None:
                    for i in range(n_out):
                        changed |= put((id(node), i), common, node, f"output {i}")
            if common is not None:
                for i in shared:
                    dt = common
                    if rule.get("params_float32_for_float16") and i > 0 and \
                            numpy.dtype(common) == numpy.float16:
                        dt = numpy.dtype("float32")
                    what = f"input '{names[i]}'" if i < len(names) else f"input {i}"
                    changed |= put(keys[i], dt, node, what)
        if not changed:
            break
    return state
