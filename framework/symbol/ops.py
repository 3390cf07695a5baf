"""The operator table: MXNet 1.x's operator names, their array inputs and arguments,
their outputs, and how to run each with ``framework.nd``.

One ``OpDef`` per operator MXNet registers (``FullyConnected``, ``elemwise_add``,
``_plus_scalar``, ...), under its registered name (what a graph's JSON says) and
MXNet's aliases (``_Plus``, ``ElementWiseSum``, ``Softmax``, ...). The arguments an
operator takes, their order and defaults are those of the ``nd`` function that runs
it (``nd`` follows MXNet's signatures); the array inputs are named as MXNet names
them (``data``, ``weight``, ``bias``, ``moving_mean``); inputs that an operator
mutates (BatchNorm's running statistics) are its auxiliary states.

``OpDef.run(F, inputs, params, ctx)`` calls the ``nd`` function (``F`` is
``framework.nd``), so a graph run this way records gradients like any other
``nd`` code.
"""
from __future__ import annotations

import inspect
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .. import ndarray as _nd

__all__ = ["OpDef", "lookup", "known_ops", "aliases_of", "canonical_name", "UnknownOperatorError"]

# arguments MXNet writes that only tune its kernels: dropped when ``nd`` lacks them
_TUNING_ARGS = {"workspace", "cudnn_tune", "cudnn_off", "min_calib_range", "max_calib_range",
                "is_int", "forward_stype"}
# arguments ``nd`` may lack that change nothing at these values
_HARMLESS_VALUES = {"use_length": (False, None)}


class UnknownOperatorError(ValueError):
    """A graph names an operator framework.sym does not know."""


class OpDef:
    """One MXNet operator.

    ``name``: MXNet's registered name. ``fn``: the ``framework.nd`` function that runs
    it (its signature gives the arguments and their defaults). ``inputs``: the array
    input names, or a function of the arguments (``params``) giving the active ones
    (FullyConnected has no ``bias`` with ``no_bias=True``). ``aux``: the inputs that
    are auxiliary states. ``variadic``: any number of array inputs (``Concat``);
    ``num_args_key`` names the argument that counts them. ``outputs``/``visible``:
    the number of outputs MXNet's node has (its ``node_row_ptr`` step) and how many
    of them a graph can use, each an int or a function of ``params``.
    ``output_names``: names of the visible outputs (``list_outputs``).
    ``run``: ``run(F, inputs, params, ctx)`` in place of calling ``fn``.
    ``var_init``: ``__init__`` given to auto-created variables by input index.
    """

    def __init__(self, name: str, fn: Optional[str] = None, inputs=("data",), aux=(),
                 variadic: bool = False, num_args_key: Optional[str] = None, outputs=1,
                 visible=None, output_names=None, run: Optional[Callable] = None,
                 var_init: Optional[Dict[int, str]] = None) -> None:
        self.name = name
        self.fn = fn
        self._inputs = inputs
        self.aux = tuple(aux)
        self.variadic = variadic
        self.num_args_key = num_args_key
        self._outputs = outputs
        self._visible = visible
        self._output_names = output_names
        self._run = run
        self.var_init = var_init or {}
        self._signature = None

    def __repr__(self) -> str:
        return f"OpDef({self.name})"

    # ----------------------------------------------------------- arguments
    @property
    def signature(self) -> Optional[inspect.Signature]:
        """The signature of the ``nd`` function, less ``out`` and ``name``."""
        if self._signature is None and self.fn is not None:
            sig = inspect.signature(getattr(_nd, self.fn))
            params = [p for n, p in sig.parameters.items() if n not in ("out", "name", "ctx")]
            self._signature = sig.replace(parameters=params)
        return self._signature

    def possible_inputs(self) -> Tuple[str, ...]:
        """Every array input name the operator can take (non-variadic operators)."""
        if callable(self._inputs):
            return tuple(self._inputs(None))
        return tuple(self._inputs)

    def default(self, key: str, fallback=None):
        """The default of argument ``key`` (the ``nd`` function's)."""
        sig = self.signature
        if sig is not None and key in sig.parameters:
            default = sig.parameters[key].default
            if default is not inspect.Parameter.empty:
                return default
        return fallback

    def value(self, params: dict, key: str, fallback=None):
        """Argument ``key`` as given in ``params``, else its default."""
        if key in params:
            return params[key]
        return self.default(key, fallback)

    def input_names(self, params: dict) -> List[str]:
        """The active array inputs for arguments ``params`` (non-variadic operators)."""
        if callable(self._inputs):
            return list(self._inputs(lambda key, fallback=None: self.value(params, key,
                                                                             fallback)))
        return list(self._inputs)

    def num_outputs(self, params: dict) -> int:
        """Outputs of MXNet's node, hidden ones included (``node_row_ptr``)."""
        n = self._outputs
        return int(n(lambda k, f=None: self.value(params, k, f)) if callable(n) else n)

    def num_visible(self, params: dict) -> int:
        """Outputs a graph can use (``list_outputs``)."""
        n = self._visible if self._visible is not None else self._outputs
        return int(n(lambda k, f=None: self.value(params, k, f)) if callable(n) else n)

    def output_names(self, params: dict) -> List[str]:
        visible = self.num_visible(params)
        if self._output_names is not None:
            names = self._output_names
            names = names(lambda k, f=None: self.value(params, k, f)) if callable(names) \
                else names
            return list(names)[:visible]
        return ["output"] if visible == 1 else [f"output{i}" for i in range(visible)]

    # ----------------------------------------------------------------- run
    def kwargs(self, params: dict, where: str) -> dict:
        """``params`` as keyword arguments of the ``nd`` function; MXNet's kernel-tuning
        arguments it lacks are dropped, any other unknown one is an error."""
        sig = self.signature
        if sig is None:
            return dict(params)
        names = sig.parameters
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in names.values())
        out = {}
        for key, value in params.items():
            if key in names or takes_any:
                out[key] = value
            elif key in _TUNING_ARGS or (key in _HARMLESS_VALUES and
                                         value in _HARMLESS_VALUES[key]):
                continue
            else:
                known = [n for n, p in names.items() if p.kind is p.POSITIONAL_OR_KEYWORD
                         or p.kind is p.KEYWORD_ONLY]
                raise ValueError(f"{where}: operator {self.name} has no argument {key!r} "
                                 f"here (value {value!r}); it takes {', '.join(known)}")
        return out

    def run(self, F, inputs: Sequence, params: dict, ctx, where: str) -> List:
        """The visible outputs of the operator on ``inputs`` (a list)."""
        if self._run is not None:
            result = self._run(F, list(inputs), params, ctx)
        else:
            kwargs = self.kwargs(params, where)
            func = getattr(F, self.fn)
            if self.variadic or not inputs:
                result = func(*inputs, **kwargs)
            else:
                # the first input by position (some nd functions are wrapped to take it
                # so), the others by name: an optional one may be absent
                kwargs.update(zip(self.input_names(params)[1:], inputs[1:]))
                result = func(inputs[0], **kwargs)
        if isinstance(result, (list, tuple)):
            return list(result)
        return [result]


_OPS: Dict[str, OpDef] = {}
_ALIASES: Dict[str, str] = {}


def _register(op: OpDef, aliases: Sequence[str] = ()) -> OpDef:
    _OPS[op.name] = op
    for alias in aliases:
        _ALIASES[alias] = op.name
    return op


def lookup(name: str, node: Optional[str] = None) -> OpDef:
    """The OpDef of operator ``name`` (or an MXNet alias of it); an unknown one is an
    error naming it (and the graph node, when given)."""
    op = _OPS.get(name)
    if op is None and name in _ALIASES:
        op = _OPS[_ALIASES[name]]
    if op is None:
        where = f" (graph node '{node}')" if node is not None else ""
        raise UnknownOperatorError(
            f"operator {name!r}{where} is not known to framework.sym; it runs the MXNet "
            f"operators listed by framework.symbol.ops.known_ops() ({len(_OPS)} of them)")
    return op


def known_ops() -> List[str]:
    """The MXNet operator names framework.sym builds, loads and runs (sorted)."""
    return sorted(_OPS)


def aliases_of(name: str) -> List[str]:
    """MXNet's other names for operator ``name`` (``concat`` for ``Concat``)."""
    return [alias for alias, target in _ALIASES.items() if target == name]


def canonical_name(name: str) -> str:
    """MXNet's registered name of operator ``name`` (an alias resolved)."""
    return _ALIASES.get(name, name)


# ------------------------------------------------------------------ the table
def _same(name: str, fn: Optional[str] = None, aliases: Sequence[str] = (), **kw) -> OpDef:
    return _register(OpDef(name, fn or name, **kw), aliases)


# unary operators (one input, same shape out)
for _name in ("relu", "sigmoid", "tanh", "exp", "log", "sqrt", "rsqrt", "cbrt", "rcbrt",
              "square", "reciprocal", "abs", "sign", "sin", "cos", "tan", "arcsin", "arccos",
              "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh", "degrees", "radians",
              "floor", "ceil", "round", "rint", "fix", "trunc", "expm1", "log1p", "log2",
              "log10", "erf", "erfinv", "negative", "logical_not", "softsign", "log_sigmoid",
              "mish", "hard_sigmoid", "zeros_like", "ones_like", "make_loss", "clip",
              "smooth_l1", "softmax", "log_softmax", "softmin", "SoftmaxActivation",
              "Activation", "L2Normalization", "amp_cast", "argmax_channel", "shape_array",
              "size_array", "all_finite"):
    _same(_name)
_same("BlockGrad", "stop_gradient", aliases=("stop_gradient",))
_same("_copy", "identity", aliases=("identity",))
_same("MakeLoss")
_same("Cast", "cast", aliases=("cast",))
_same("Dropout", outputs=2, visible=1, output_names=("output", "mask"))
_same("LRN", outputs=2, visible=1)
_same("LeakyReLU", inputs=lambda p: ("data", "gamma") if p is None or
      p("act_type") == "prelu" else ("data",),
      outputs=lambda p: 2 if p("act_type") == "rrelu" else 1, visible=1,
      output_names=("output", "mask"))

# binary element-wise operators of two arrays of one shape
for _name, _fn, _aliases in (
        ("elemwise_add", "elemwise_add", ("_add", "_plus", "_Plus")),
        ("elemwise_sub", "elemwise_sub", ("_sub", "_minus", "_Minus")),
        ("elemwise_mul", "elemwise_mul", ("_mul", "_Mul")),
        ("elemwise_div", "elemwise_div", ("_div", "_Div")),
        ("_mod", "modulo", ("_Mod",)), ("_power", "power", ("_Power", "_pow")),
        ("_maximum", "maximum", ("_Maximum",)), ("_minimum", "minimum", ("_Minimum",)),
        ("_hypot", "hypot", ("_Hypot",)), ("_equal", "equal", ()),
        ("_not_equal", "not_equal", ()), ("_greater", "greater", ()),
        ("_greater_equal", "greater_equal", ()), ("_lesser", "lesser", ()),
        ("_lesser_equal", "lesser_equal", ()), ("_logical_and", "logical_and", ()),
        ("_logical_or", "logical_or", ()), ("_logical_xor", "logical_xor", ())):
    _same(_name, _fn, _aliases, inputs=("lhs", "rhs"))

# broadcasting binary operators
for _name in ("broadcast_add", "broadcast_sub", "broadcast_mul", "broadcast_div",
              "broadcast_mod", "broadcast_power", "broadcast_maximum", "broadcast_minimum",
              "broadcast_hypot", "broadcast_equal", "broadcast_not_equal", "broadcast_greater",
              "broadcast_greater_equal", "broadcast_lesser", "broadcast_lesser_equal",
              "broadcast_logical_and", "broadcast_logical_or", "broadcast_logical_xor"):
    _same(_name, inputs=("lhs", "rhs"),
          aliases={"broadcast_add": ("broadcast_plus",),
                   "broadcast_sub": ("broadcast_minus",)}.get(_name, ()))


# operators of an array and a number ``scalar``
def _scalar_op(name: str, alias: str, compute: Callable) -> None:
    def run(F, inputs, params, ctx):
        return compute(F, inputs[0], _scalar(params, name))
    _register(OpDef(name, None, run=run), (alias,))


def _scalar(params: dict, name: str):
    value = params.get("scalar", 1.0)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"operator {name}: argument 'scalar' must be a number, got {value!r}")
    if params.get("is_int") and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


for _name, _alias, _compute in (
        ("_plus_scalar", "_PlusScalar", lambda F, x, s: F.add(x, s)),
        ("_minus_scalar", "_MinusScalar", lambda F, x, s: F.subtract(x, s)),
        ("_rminus_scalar", "_RMinusScalar", lambda F, x, s: F.subtract(s, x)),
        ("_mul_scalar", "_MulScalar", lambda F, x, s: F.multiply(x, s)),
        ("_div_scalar", "_DivScalar", lambda F, x, s: F.divide(x, s)),
        ("_rdiv_scalar", "_RDivScalar", lambda F, x, s: F.divide(s, x)),
        ("_mod_scalar", "_ModScalar", lambda F, x, s: F.modulo(x, s)),
        ("_rmod_scalar", "_RModScalar", lambda F, x, s: F.modulo(s, x)),
        ("_power_scalar", "_PowerScalar", lambda F, x, s: F.power(x, s)),
        ("_rpower_scalar", "_RPowerScalar", lambda F, x, s: F.power(s, x)),
        ("_maximum_scalar", "_MaximumScalar", lambda F, x, s: F.maximum(x, s)),
        ("_minimum_scalar", "_MinimumScalar", lambda F, x, s: F.minimum(x, s)),
        ("_hypot_scalar", "_HypotScalar", lambda F, x, s: F.hypot(x, s)),
        ("_equal_scalar", "_EqualScalar", lambda F, x, s: F.equal(x, s)),
        ("_not_equal_scalar", "_NotEqualScalar", lambda F, x, s: F.not_equal(x, s)),
        ("_greater_scalar", "_GreaterScalar", lambda F, x, s: F.greater(x, s)),
        ("_greater_equal_scalar", "_GreaterEqualScalar",
         lambda F, x, s: F.greater_equal(x, s)),
        ("_lesser_scalar", "_LesserScalar", lambda F, x, s: F.lesser(x, s)),
        ("_lesser_equal_scalar", "_LesserEqualScalar", lambda F, x, s: F.lesser_equal(x, s)),
        ("_logical_and_scalar", "_LogicalAndScalar", lambda F, x, s: F.logical_and(x, s)),
        ("_logical_or_scalar", "_LogicalOrScalar", lambda F, x, s: F.logical_or(x, s)),
        ("_logical_xor_scalar", "_LogicalXorScalar", lambda F, x, s: F.logical_xor(x, s))):
    _scalar_op(_name, _alias, _compute)

# neural-network operators
_same("FullyConnected", inputs=lambda p: ("data", "weight") if p is not None and
      p("no_bias", False) else ("data", "weight", "bias"))
_same("Convolution", inputs=lambda p: ("data", "weight") if p is not None and
      p("no_bias", False) else ("data", "weight", "bias"))
_same("Deconvolution", inputs=lambda p: ("data", "weight") if p is not None and
      p("no_bias", True) else ("data", "weight", "bias"))


def _pooling_outputs(p) -> int:
    """MXNet 1.9.1 (oneDNN build) keeps a workspace output for max pooling of 1-3
    spatial dimensions in a channels-first layout."""
    kernel = p("kernel", ())
    layout = p("layout", None)
    ndim = len(kernel) if isinstance(kernel, (tuple, list)) else 1
    return 2 if (p("pool_type", "max") == "max" and 1 <= ndim <= 3 and
                 layout in (None, "NCW", "NCHW", "NCDHW")) else 1


_same("Pooling", outputs=_pooling_outputs, visible=1)
_same("BatchNorm", inputs=("data", "gamma", "beta", "moving_mean", "moving_var"),
      aux=("moving_mean", "moving_var"), outputs=3,
      visible=lambda p: 3 if p("output_mean_var", False) else 1,
      output_names=("output", "mean", "var"),
      var_init={3: '["zero", {}]', 4: '["one", {}]'})
_same("LayerNorm", inputs=("data", "gamma", "beta"), outputs=3,
      visible=lambda p: 3 if p("output_mean_var", False) else 1,
      output_names=("output", "mean", "std"))
_same("GroupNorm", inputs=("data", "gamma", "beta"), outputs=3,
      visible=lambda p: 3 if p("output_mean_var", False) else 1,
      output_names=("output", "mean", "std"))
_same("InstanceNorm", inputs=("data", "gamma", "beta"), outputs=3, visible=1)
_same("Embedding", inputs=("data", "weight"))
_same("SoftmaxOutput", inputs=("data", "label"), aliases=("Softmax",))
for _name in ("LinearRegressionOutput", "LogisticRegressionOutput", "MAERegressionOutput",
              "SVMOutput"):
    _same(_name, inputs=("data", "label"))
_same("softmax_cross_entropy", inputs=("data", "label"))
_same("CTCLoss", inputs=lambda p: ("data", "label") + (
    ("data_lengths",) if p is None or p("use_data_lengths", False) else ()) + (
    ("label_lengths",) if p is None or p("use_label_lengths", False) else ()),
    outputs=2, visible=1, aliases=("ctc_loss", "_contrib_CTCLoss", "_contrib_ctc_loss"))
for _name in ("SequenceMask", "SequenceLast", "SequenceReverse"):
    _same(_name, inputs=lambda p: ("data", "sequence_length") if p is None or
          p("use_sequence_length", False) else ("data",))


def _run_upsampling(F, inputs, params, ctx):
    params = dict(params)
    if params.get("sample_type", "nearest") == "bilinear":
        params.pop("num_args", None)          # MXNet counts the data input only
    return F.UpSampling(*inputs, **_OPS["UpSampling"].kwargs(params, "UpSampling"))


_register(OpDef("UpSampling", "UpSampling", variadic=True, num_args_key="num_args",
                run=_run_upsampling))

# shapes and layouts
_same("Reshape", "reshape", aliases=("reshape",))
_same("Flatten", "flatten", aliases=("flatten",))
for _name in ("transpose", "expand_dims", "squeeze", "tile", "repeat", "broadcast_to",
              "depth_to_space", "space_to_depth", "diag", "slice_axis"):
    _same(_name)
_same("SwapAxis", "swapaxes", aliases=("swapaxes",))
_same("broadcast_axis", aliases=("broadcast_axes",))
_same("broadcast_like", inputs=("lhs", "rhs"))
_same("reshape_like", inputs=("lhs", "rhs"))
_same("slice", aliases=("crop",))
_same("slice_like", inputs=("data", "shape_like"))
_same("reverse", aliases=("flip",))
_same("Pad", "pad", aliases=("pad",))
_same("Concat", "concat", aliases=("concat",), variadic=True, num_args_key="num_args")
_same("stack", variadic=True, num_args_key="num_args")
_same("add_n", aliases=("ElementWiseSum",), variadic=True, num_args_key="num_args")
_same("khatri_rao", variadic=True, num_args_key="num_args")
_same("Crop", variadic=True, num_args_key="num_args")
_same("SliceChannel", "split", aliases=("split",),
      outputs=lambda p: p("num_outputs", 1))
_same("amp_multicast", variadic=True, outputs=lambda p: p("num_outputs", 1))

# reductions
_same("sum", aliases=("sum_axis",))
_same("max", aliases=("max_axis",))
_same("min", aliases=("min_axis",))
for _name in ("mean", "prod", "nansum", "nanprod", "norm", "argmax", "argmin"):
    _same(_name)
_same("moments", outputs=2, output_names=("mean", "var"))

# indexing and sorting
_same("take", inputs=("a", "indices"))
_same("batch_take", inputs=("a", "indices"))
_same("pick", inputs=("data", "index"))
_same("one_hot", inputs=("indices",))
_same("gather_nd", inputs=("data", "indices"))
_same("scatter_nd", inputs=("data", "indices"))
_same("where", inputs=("condition", "x", "y"))
_same("choose_element_0index", inputs=("lhs", "rhs"))
_same("topk", outputs=lambda p: 2 if p("ret_typ", "indices") == "both" else 1)
_same("sort")
_same("argsort")

# linear algebra
_same("dot", inputs=("lhs", "rhs"))
_same("batch_dot", inputs=("lhs", "rhs"))
_same("_linalg_gemm", "linalg_gemm", aliases=("linalg_gemm",), inputs=("A", "B", "C"))
_same("_linalg_gemm2", "linalg_gemm2", aliases=("linalg_gemm2",), inputs=("A", "B"))


# arrays made from nothing: on the context of the graph's inputs
def _creation(name: str, make: Callable) -> None:
    def run(F, inputs, params, ctx):
        return make(F, params, ctx)
    _register(OpDef(name, None, inputs=(), run=run))


def _shape_arg(params: dict, name: str) -> tuple:
    shape = params.get("shape", ())
    return (shape,) if isinstance(shape, int) else tuple(shape)


_creation("_zeros", lambda F, p, ctx: F.zeros(_shape_arg(p, "_zeros"), ctx=ctx,
                                              dtype=p.get("dtype") or "float32"))
_creation("_ones", lambda F, p, ctx: F.ones(_shape_arg(p, "_ones"), ctx=ctx,
                                            dtype=p.get("dtype") or "float32"))
_creation("_full", lambda F, p, ctx: F.full(_shape_arg(p, "_full"), p.get("value", 0.0),
                                            ctx=ctx, dtype=p.get("dtype") or "float32"))
_creation("_arange", lambda F, p, ctx: F.arange(
    p.get("start", 0.0), p.get("stop"), p.get("step", 1.0), repeat=p.get("repeat", 1),
    ctx=ctx, dtype=p.get("dtype") or "float32"))
_creation("_eye", lambda F, p, ctx: F.eye(p.get("N", 0), p.get("M", 0), p.get("k", 0),
                                          ctx=ctx, dtype=p.get("dtype") or "float32"))


# random samplers (``sym.random``): MXNet's operator, its scalar arguments with their
# defaults, and the ``nd.random`` sampler that draws them (exponential's ``lam`` is the
# rate, 1 / ``nd.random.exponential``'s ``scale``; ``exponential_like`` takes ``lam``).
# ``_random_<name>`` makes an array of ``shape``; ``_random_<name>_like`` one of its
# input's shape and dtype.
RANDOM_SAMPLERS = {
    "uniform": (("low", 0.0), ("high", 1.0)),
    "normal": (("loc", 0.0), ("scale", 1.0)),
    "gamma": (("alpha", 1.0), ("beta", 1.0)),
    "exponential": (("lam", 1.0),),
    "poisson": (("lam", 1.0),),
    "negative_binomial": (("k", 1), ("p", 1.0)),
    "generalized_negative_binomial": (("mu", 1.0), ("alpha", 1.0)),
}


def _sampler_args(name: str, params: dict, like: bool = False) -> dict:
    args = {key: params.get(key, default) for key, default in RANDOM_SAMPLERS[name]}
    if name == "exponential" and not like:
        args = {"scale": 1.0 / args.pop("lam")}
    return args


def _random_op(name: str) -> None:
    def make(F, p, ctx):
        return getattr(F.random, name)(shape=_shape_arg(p, "_random_" + name), ctx=ctx,
                                       dtype=p.get("dtype") or "float32",
                                       **_sampler_args(name, p))

    def like(F, inputs, params, ctx):
        return getattr(F.random, name + "_like")(inputs[0], **_sampler_args(name, params, True))

    _creation("_random_" + name, make)
    _register(OpDef(f"_random_{name}_like", None, inputs=("data",), run=like))


for _name in RANDOM_SAMPLERS:
    _random_op(_name)

# samplers with array parameters (MXNet's ``_sample_<name>``): the parameters are the
# inputs (one shape), the output is params.shape + shape, a set of draws per element
SAMPLE_INPUTS = {"uniform": ("low", "high"), "normal": ("mu", "sigma"),
                 "gamma": ("alpha", "beta"), "exponential": ("lam",), "poisson": ("lam",),
                 "negative_binomial": ("k", "p"), "generalized_negative_binomial": ("mu", "alpha")}


def _sample_op(name: str) -> None:
    def run(F, inputs, params, ctx):
        if name == "exponential":            # nd.random.exponential takes the mean 1 / lam
            inputs = [1.0 / inputs[0]]
        shape = _shape_arg(params, "_sample_" + name) or None
        return getattr(F.random, name)(*inputs, shape=shape, dtype=params.get("dtype") or None)

    _register(OpDef("_sample_" + name, None, inputs=SAMPLE_INPUTS[name], run=run))


for _name in SAMPLE_INPUTS:
    _sample_op(_name)


# samplers that read their input's values: categories drawn from the probabilities in the
# last axis (with ``get_prob`` also their log-probabilities: two outputs), and a shuffle
# of the first axis
def _multinomial(F, inputs, params, ctx):
    return F.random.multinomial(inputs[0], shape=_shape_arg(params, "_sample_multinomial"),
                                get_prob=bool(params.get("get_prob", False)),
                                dtype=params.get("dtype") or "int32")


_register(OpDef("_sample_multinomial", None, run=_multinomial,
                outputs=lambda p: 2 if p("get_prob", False) else 1),
          aliases=("sample_multinomial",))
_register(OpDef("_shuffle", None, run=lambda F, inputs, params, ctx: F.random.shuffle(inputs[0])),
          aliases=("shuffle",))
_creation("_random_randint", lambda F, p, ctx: F.random.randint(
    p.get("low"), p.get("high"), shape=_shape_arg(p, "_random_randint"), ctx=ctx,
    dtype=p.get("dtype") or "int32"))
