"""``CTCLoss`` (MXNet's operator, also ``ctc_loss``): Connectionist Temporal
Classification loss of unnormalised activations against label sequences.

The forward-backward recursion runs in log space, vectorised over the batch and
the extended label positions (blank, l1, blank, l2, ..., blank); only time is a
Python loop. It runs in float64 whatever the data's dtype: with logits of 1e4 the
log-likelihoods reach ~1e4, where float32 would lose the posteriors' digits.
As in MXNet (and warp-ctc, which it wraps), the gradient with respect to the
activations is computed in forward: ``softmax(data) - posterior``
for the frames inside each sequence, 0 after them. Backward returns
``grad_out * saved_gradient``: exact first derivatives; the second derivative is
not provided (differentiating the gradient again raises the core's
"non-differentiable" error).

MXNet's conventions: a sequence whose labels cannot fit its frames
(``label_length + repeats > data_length``) gets loss 0 and gradient 0 (warp-ctc's
rule); without ``use_label_lengths`` a label row ends at its first padding value,
0 when ``blank_label='first'`` and -1 when ``blank_label='last'``.
"""
from __future__ import annotations

from typing import Optional

import numpy

from ..._flags import STATE
from ..ndarray import NDArray
from ..operator import Operator
from .checks import check_array, on_data_device, write_out

__all__ = ["CTCLoss", "ctc_loss"]

_BLANKS = ("first", "last")


class CTCLossOp(Operator):
    """data (T, N, C) activations, label (N, L), optional data_lengths (N,) and
    label_lengths (N,) -> loss (N,) = -log p(label | data).

    ``self.gradient`` (T, N, C) is d loss / d data, kept from forward when
    ``keep_gradient``; backward scales it by the incoming (N,) gradient.
    """

    name = "CTCLoss"
    differentiable_backward = False

    def __init__(self, use_data_lengths: bool, use_label_lengths: bool, blank_first: bool,
                 keep_gradient: bool) -> None:
        self.use_data_lengths = use_data_lengths
        self.use_label_lengths = use_label_lengths
        self.blank_first = blank_first
        self.keep_gradient = keep_gradient
        self.gradient = None

    # ------------------------------------------------------------- lengths
    def _lengths(self, label, lengths):
        """Per-sequence frame counts (N,) and label counts (N,) as int64."""
        xp = self.xp
        T = self.T
        N, L = label.shape
        rest = list(lengths)
        if self.use_data_lengths:
            frames = rest.pop(0).astype(numpy.int64)
        else:
            frames = xp.full((N,), T, dtype=numpy.int64)
        if self.use_label_lengths:
            counts = rest.pop(0).astype(numpy.int64)
        else:
            is_pad = label == (0 if self.blank_first else -1)
            first_pad = xp.argmax(is_pad, axis=1)
            counts = xp.where(is_pad.any(axis=1), first_pad, L).astype(numpy.int64)
        return frames, counts

    def _validate(self, labels, frames, counts, C: int, blank: int) -> None:
        """One host sync: lengths in range, labels in [0, C) and not the blank."""
        xp = self.xp
        T = self.T
        L = labels.shape[1]
        inside = xp.arange(L)[None, :] < counts[:, None]
        bad_label = inside & ((labels < 0) | (labels >= C) | (labels == blank))
        bad = ((frames < 0) | (frames > T) | (counts < 0) | (counts > L)).any() | bad_label.any()
        if not bool(bad):
            return
        if bool(((frames < 0) | (frames > T)).any()):
            raise ValueError(f"operator CTCLoss: data_lengths must lie in [0, {T}] (the "
                             f"sequence length of data), got {frames.tolist()}")
        if bool(((counts < 0) | (counts > L)).any()):
            raise ValueError(f"operator CTCLoss: label_lengths must lie in [0, {L}] (the "
                             f"padded label length), got {counts.tolist()}")
        first = "first" if self.blank_first else "last"
        valid = f"[1, {C - 1}]" if self.blank_first else f"[0, {C - 2}]"
        raise ValueError(f"operator CTCLoss: label values must be class indices in {valid} "
                         f"(alphabet size {C}, blank_label='{first}' reserves class {blank}); "
                         f"some label inside its sequence length is outside that range")

    # ------------------------------------------------------------- forward
    def forward(self, data, label, *lengths):
        xp = self.xp
        T, N, C = data.shape
        self.T = T
        out_dtype = data.dtype
        dtype = numpy.dtype(numpy.float64)   # log-likelihoods of 1e4-sized logits need it
        blank = 0 if self.blank_first else C - 1
        frames, counts = self._lengths(label, lengths)
        labels = label.astype(numpy.int64)
        L = labels.shape[1]
        self._validate(labels, frames, counts, C, blank)
        if T == 0 or N == 0:
            self.gradient = xp.zeros(data.shape, out_dtype) if self.keep_gradient else None
            return xp.zeros((N,), dtype=out_dtype)

        # log-softmax over the classes
        data = data.astype(dtype)
        shifted = data - data.max(axis=2, keepdims=True)
        log_probs = shifted - xp.log(xp.exp(shifted).sum(axis=2, keepdims=True))

        # the extended labels: blank, l1, blank, l2, ..., blank; (N, S)
        S = 2 * L + 1
        positions = xp.arange(L)[None, :]
        in_sequence = positions < counts[:, None]
        real = xp.where(in_sequence, labels, blank)
        ext = xp.full((N, S), blank, dtype=numpy.int64)
        ext[:, 1::2] = real
        s_index = xp.arange(S)[None, :]
        valid = s_index < (2 * counts + 1)[:, None]                       # (N, S)
        # a label may be entered from two positions back unless it repeats the previous one
        skip = xp.zeros((N, S), dtype=bool)
        if S > 3:
            skip[:, 3::2] = real[:, 1:] != real[:, :-1]
        neg_inf = dtype.type(-numpy.inf)
        lp = log_probs[:, xp.arange(N)[:, None], ext]                       # (T, N, S)
        lp = xp.where(valid[None], lp, neg_inf)

        # repeats decide feasibility (warp-ctc: loss 0, gradient 0 when it cannot fit)
        same = (labels[:, 1:] == labels[:, :-1]) & in_sequence[:, 1:] if L > 1 else None
        repeats = same.sum(axis=1) if same is not None else xp.zeros((N,), dtype=numpy.int64)
        feasible = (counts + repeats <= frames) & (frames > 0)

        # forward variables alpha (T, N, S), each including the frame's own probability
        alpha = xp.empty((T, N, S), dtype=dtype)
        start = xp.full((N, S), neg_inf, dtype=dtype)
        start[:, :2] = lp[0, :, :2]
        alpha[0] = start
        pad1 = xp.full((N, 1), neg_inf, dtype=dtype)
        pad2 = xp.full((N, 2), neg_inf, dtype=dtype)
        for t in range(1, T):
            prev = alpha[t - 1]
            one = xp.concatenate((pad1, prev[:, :-1]), axis=1)
            two = xp.where(skip, xp.concatenate((pad2, prev[:, :-2]), axis=1), neg_inf)
            alpha[t] = xp.logaddexp(xp.logaddexp(prev, one), two) + lp[t]

        batch = xp.arange(N)
        last_t = xp.maximum(frames - 1, 0)
        end_blank = alpha[last_t, batch, 2 * counts]
        end_label = alpha[last_t, batch, xp.maximum(2 * counts - 1, 0)]
        end_label = xp.where(counts > 0, end_label, neg_inf)
        log_likelihood = xp.logaddexp(end_blank, end_label)
        loss = xp.where(feasible, -log_likelihood, dtype.type(0)).astype(out_dtype)

        if self.keep_gradient:
            self.gradient = self._gradient(log_probs, lp, alpha, ext, valid, skip, frames,
                                           counts, feasible, log_likelihood).astype(out_dtype)
        return loss

    def _gradient(self, log_probs, lp, alpha, ext, valid, skip, frames, counts, feasible,
                  log_likelihood):
        """d loss / d data (T, N, C): softmax - posterior of each class, inside each
        feasible sequence; 0 elsewhere."""
        xp = self.xp
        T, N, C = log_probs.shape
        S = ext.shape[1]
        dtype = log_probs.dtype
        neg_inf = dtype.type(-numpy.inf)
        s_index = xp.arange(S)[None, :]
        # where each sequence ends: its last blank and its last label
        ends = (s_index == (2 * counts)[:, None]) | (s_index == (2 * counts - 1)[:, None])
        # may jump from s to s + 2 (the target position allows the skip)
        skip_ahead = xp.zeros((N, S), dtype=bool)
        skip_ahead[:, :-2] = skip[:, 2:]
        pad1 = xp.full((N, 1), neg_inf, dtype=dtype)
        pad2 = xp.full((N, 2), neg_inf, dtype=dtype)
        last_t = (frames - 1)[:, None]
        beta_next = xp.full((N, S), neg_inf, dtype=dtype)
        log_post = xp.empty((T, N, S), dtype=dtype)
        safe_ll = xp.where(feasible, log_likelihood, dtype.type(0))[:, None]
        for t in range(T - 1, -1, -1):
            one = xp.concatenate((beta_next[:, 1:], pad1), axis=1)
            two = xp.where(skip_ahead, xp.concatenate((beta_next[:, 2:], pad2), axis=1),
                           neg_inf)
            recursed = xp.logaddexp(xp.logaddexp(beta_next, one), two) + lp[t]
            initial = xp.where(ends & valid, lp[t], neg_inf)
            beta = xp.where(last_t == t, initial, xp.where(last_t > t, recursed, neg_inf))
            # log of the posterior of position s at frame t: alpha * beta / (p_t(s) * p)
            log_post[t] = xp.where(valid & (beta > neg_inf),
                                   alpha[t] + beta - xp.where(valid, lp[t], 0) - safe_ll,
                                   neg_inf)
            beta_next = beta
        posterior = xp.exp(log_post)                                           # (T, N, S)
        classes = (ext[:, :, None] == xp.arange(C)[None, None, :]).astype(dtype)  # (N, S, C)
        per_class = xp.matmul(posterior.transpose(1, 0, 2), classes).transpose(1, 0, 2)
        inside = (xp.arange(T)[:, None] < frames[None, :]) & feasible[None, :]   # (T, N)
        grad = xp.exp(log_probs) - per_class
        return xp.where(inside[:, :, None], grad, dtype.type(0))

    # ------------------------------------------------------------ backward
    def backward(self, gy):
        grads = [None] * len(self.parents)
        if self.wants(0):
            if self.gradient is None:
                raise RuntimeError("backward of operator CTCLoss: the gradient was not kept in "
                                   "forward (the data did not need a gradient when recorded)")
            grads[0] = gy.reshape((1, -1, 1)) * self.constant(self.gradient)
        return tuple(grads)

    def release(self) -> None:
        super().release()
        self.gradient = None


def _check_lengths(lengths, used: bool, what: str, flag: str, batch: int) -> None:
    if used and lengths is None:
        raise ValueError(f"operator CTCLoss: {flag}=True needs {what} (an array of shape "
                         f"({batch},))")
    if not used and lengths is not None:
        raise ValueError(f"operator CTCLoss: {what} was given but {flag} is False; pass "
                         f"{flag}=True to use it")
    if lengths is None:
        return
    check_array(lengths, "CTCLoss")
    if lengths.shape != (batch,):
        raise ValueError(f"operator CTCLoss: {what} must have shape ({batch},) (the batch "
                         f"size), got {lengths.shape}")


@on_data_device
def CTCLoss(data: NDArray, label: NDArray, data_lengths: Optional[NDArray] = None,
            label_lengths: Optional[NDArray] = None, use_data_lengths: bool = False,
            use_label_lengths: bool = False, blank_label: str = "first",
            name: Optional[str] = None, *, out: Optional[NDArray] = None) -> NDArray:
    """CTC loss of each sequence: data (T, N, C) unnormalised activations (softmax over
    C inside), label (N, L) class indices -> loss (N,).

    ``blank_label='first'`` reserves class 0 for the blank (labels in [1, C-1], padded
    with 0); ``'last'`` reserves class C-1 (labels in [0, C-2], padded with -1). With
    ``use_data_lengths`` / ``use_label_lengths`` the (N,) arrays ``data_lengths`` /
    ``label_lengths`` give each sequence's frames / labels; otherwise all T frames
    count and a label row ends at its first padding value. Differentiable in ``data``
    (first order only); ``name`` is accepted for MXNet compatibility.
    """
    check_array(data, "CTCLoss")
    check_array(label, "CTCLoss")
    if data.ndim != 3:
        raise ValueError(f"operator CTCLoss: data must have 3 dimensions (sequence length, "
                         f"batch, alphabet size), got shape {data.shape}")
    if label.ndim != 2:
        raise ValueError(f"operator CTCLoss: label must have 2 dimensions (batch, label "
                         f"length), got shape {label.shape}")
    if numpy.dtype(data.dtype).kind != "f":
        raise TypeError(f"operator CTCLoss: data must be floating-point, got dtype "
                        f"{numpy.dtype(data.dtype).name} (shape {data.shape})")
    T, N, C = data.shape
    if label.shape[0] != N:
        raise ValueError(f"operator CTCLoss: the batch size of label {label.shape} must equal "
                         f"that of data {data.shape} (axis 1)")
    if label.shape[1] > T:
        raise ValueError(f"operator CTCLoss: the max number of labels ({label.shape[1]}, label "
                         f"shape {label.shape}) cannot exceed the sequence length of data "
                         f"({T}, data shape {data.shape})")
    if blank_label not in _BLANKS:
        raise ValueError(f"operator CTCLoss: blank_label must be 'first' or 'last', got "
                         f"{blank_label!r}")
    if C < 2:
        raise ValueError(f"operator CTCLoss: the alphabet size (data axis 2) must be at least 2 "
                         f"(one class and the blank), got data shape {data.shape}")
    _check_lengths(data_lengths, bool(use_data_lengths), "data_lengths", "use_data_lengths", N)
    _check_lengths(label_lengths, bool(use_label_lengths), "label_lengths",
                   "use_label_lengths", N)
    inputs = [data, label]
    if use_data_lengths:
        inputs.append(data_lengths)
    if use_label_lengths:
        inputs.append(label_lengths)
    keep = STATE.recording and data._node is not None
    op = CTCLossOp(bool(use_data_lengths), bool(use_label_lengths), blank_label == "first", keep)
    return write_out(op(*inputs), out, "CTCLoss")


ctc_loss = CTCLoss
