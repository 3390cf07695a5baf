"""fw.optimizer: every rule against a NumPy transcription of MXNet 1.9.1's formula, the
bookkeeping (counts, schedulers, multipliers, per-device counts), the registry, and the
Updater's HDF5 states (round trip, bit-identical continuation, no pickle).

Each rule runs three steps on the quadratic loss sum((w - target)**2), fed its analytic
gradient 2 (w - target), for two parameters, with weight decay, gradient clipping that
bites, rescale_grad, lr_mult/wd_mult (param_dict for index 0, set_lr_mult/set_wd_mult by
index for index 1), begin_num_update, an lr_scheduler, and momentum where the rule has
one; then again with float16 weights and multi_precision (float32 master copies).
The references below are written from the formulas in float64, not from the library.
"""
import math
import pickle
import warnings

import numpy as np
import pytest

import framework as fw
from framework import optimizer as opt_mod
from framework.ndarray.ndarray import Leaf

SHAPES = [(2, 3), (4,)]
STEPS = 3
RESCALE = 0.5
WD = 0.1
CLIP = 0.3
BEGIN = 3
LR_MULT = {0: 0.5, 1: 1.5}
WD_MULT = {0: 2.0, 1: 0.5}


class Mults:
    """Stands in for a Parameter in ``param_dict``: only lr_mult and wd_mult are read."""

    def __init__(self, lr_mult, wd_mult):
        self.lr_mult, self.wd_mult = lr_mult, wd_mult


class Decay:
    """A closed-form schedule: base_lr * 0.8 ** num_update."""

    def __init__(self, base_lr):
        self.base_lr = base_lr

    def __call__(self, num_update):
        return self.base_lr * 0.8 ** num_update


class Stepped:
    """A stateful schedule (as MXNet's FactorScheduler): halves base_lr every 2 updates."""

    def __init__(self, base_lr):
        self.base_lr = base_lr
        self.count = 0

    def __call__(self, num_update):
        while num_update > self.count + 2:
            self.count += 2
            self.base_lr *= 0.5
        return self.base_lr


def initial_values():
    """Weights in [-1, 1], and targets at distances from 0.001 to 1 (log-uniform) from
    them: the near ones are overshot (the gradient changes sign, so sign-like rules such
    as Adam's first steps see rescaling, decay and clipping), the far ones are clipped."""
    rng = np.random.RandomState(0)
    weights = [rng.uniform(-1, 1, s) for s in SHAPES]
    targets = [w + rng.choice([-1, 1], w.shape) * 10 ** rng.uniform(-3, 0, w.shape)
               for w in weights]
    return weights, targets


def clip_fused(x, c):
    """MXNet's C++ kernels clip for a truthy, non-negative clip_gradient."""
    return np.clip(x, -c, c) if c else x


def clip_python(x, c):
    """MXNet's Python-written rules clip whenever clip_gradient is not None."""
    return x if c is None else np.clip(x, -c, c)


# ------------------------------------------------------------ reference rules
# rule(s, w, g, c) -> new w; s: this weight's state (a dict), c: the step's values
# (lr, wd, t, rg, clip, hp: the optimizer's arguments, shared: optimizer-wide values)

def ref_sgd(s, w, g, c):
    step = c.lr * clip_fused(c.rg * g, c.clip)
    mu = c.hp.get("momentum", 0.0)
    if not mu:
        return w - c.lr * c.wd * w - step
    s["mom"] = mu * s.get("mom", 0.0) - c.lr * c.wd * w - step
    return w + s["mom"]


def ref_nag(s, w, g, c):
    mu = c.hp.get("momentum", 0.0)
    if not mu:
        return (1 - c.lr * c.wd) * w - c.lr * clip_fused(c.rg * g, c.clip)
    # nag_mom_update's kernel, written as MXNet's single-weight kernel does
    mom = mu * s.get("mom", 0.0)
    grad = clip_fused(c.rg * g, c.clip) + c.wd * w
    new_w = w - mom + (mu + 1) * (mom - c.lr * grad)
    s["mom"] = mom - c.lr * grad
    return new_w


def ref_adam(s, w, g, c):
    b1, b2, eps = c.hp.get("beta1", 0.9), c.hp.get("beta2", 0.999), c.hp.get("epsilon", 1e-8)
    grad = clip_fused(c.rg * g + c.wd * w, c.clip)
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * grad
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * grad ** 2
    lr = c.lr * math.sqrt(1 - b2 ** c.t) / (1 - b1 ** c.t)
    return w - lr * s["m"] / (np.sqrt(s["v"]) + eps)


def ref_adamw(s, w, g, c):
    b1, b2, eps = c.hp.get("beta1", 0.9), c.hp.get("beta2", 0.999), c.hp.get("epsilon", 1e-6)
    grad = clip_fused(c.rg * g, c.clip)
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * grad
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * grad ** 2
    eta = c.lr * math.sqrt(1 - b2 ** c.t) / (1 - b1 ** c.t)
    return w - eta * (s["m"] / (np.sqrt(s["v"]) + eps) + c.wd * w)


def ref_adagrad(s, w, g, c):
    grad = clip_python(c.rg * g, c.clip)
    s["h"] = s.get("h", 0.0) + grad ** 2
    return w + (grad / np.sqrt(s["h"] + c.hp.get("eps", 1e-7)) + w * c.wd) * -c.lr


def ref_adadelta(s, w, g, c):
    rho, eps = c.hp.get("rho", 0.9), c.hp.get("epsilon", 1e-5)
    grad = clip_python(c.rg * g, c.clip)
    s["acc_g"] = rho * s.get("acc_g", 0.0) + (1 - rho) * grad * grad
    delta = np.sqrt(s.get("acc_d", 0.0) + eps) / np.sqrt(s["acc_g"] + eps) * grad
    s["acc_d"] = rho * s.get("acc_d", 0.0) + (1 - rho) * delta * delta
    return w - (delta + c.wd * w)


def ref_rmsprop(s, w, g, c):
    g1, g2 = c.hp.get("gamma1", 0.9), c.hp.get("gamma2", 0.9)
    eps, cw = c.hp.get("epsilon", 1e-8), c.hp.get("clip_weights")
    grad = clip_fused(c.rg * g + c.wd * w, c.clip)
    s["n"] = (1 - g1) * grad ** 2 + g1 * s.get("n", 0.0)
    if c.hp.get("centered"):
        s["gbar"] = (1 - g1) * grad + g1 * s.get("gbar", 0.0)
        s["delta"] = g2 * s.get("delta", 0.0) - c.lr * grad / np.sqrt(s["n"] - s["gbar"] ** 2 + eps)
        w = w + s["delta"]
    else:
        w = w - c.lr * grad / np.sqrt(s["n"] + eps)
    return np.clip(w, -cw, cw) if cw else w


def ref_adamax(s, w, g, c):
    b1, b2 = c.hp.get("beta1", 0.9), c.hp.get("beta2", 0.999)
    lr = c.lr / (1 - b1 ** c.t)
    grad = clip_python(c.rg * g + c.wd * w, c.clip)
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * grad
    s["u"] = np.maximum(b2 * s.get("u", 0.0), np.abs(grad))
    return w - lr * s["m"] / s["u"]


def ref_nadam(s, w, g, c):
    b1, b2 = c.hp.get("beta1", 0.9), c.hp.get("beta2", 0.999)
    eps, decay = c.hp.get("epsilon", 1e-8), c.hp.get("schedule_decay", 0.004)
    grad = clip_python(c.rg * g + c.wd * w, c.clip)
    mu_t = b1 * (1 - 0.5 * 0.96 ** (c.t * decay))
    mu_next = b1 * (1 - 0.5 * 0.96 ** ((c.t + 1) * decay))
    c.shared["m_schedule"] = c.shared.get("m_schedule", 1.0) * mu_t     # once per weight
    m_schedule_next = c.shared["m_schedule"] * mu_next
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * grad
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * grad * grad
    m_bar = ((1 - mu_t) * grad / (1 - c.shared["m_schedule"])
             + mu_next * s["m"] / (1 - m_schedule_next))
    return w - c.lr * m_bar / (np.sqrt(s["v"] / (1 - b2 ** c.t)) + eps)


def ref_ftrl(s, w, g, c):
    l1, beta = c.hp.get("lamda1", 0.01), c.hp.get("beta", 1)
    grad = clip_fused(c.rg * g, c.clip)
    n = s.get("n", np.zeros_like(w))
    s["z"] = s.get("z", 0.0) + grad - (np.sqrt(n + grad ** 2) - np.sqrt(n)) * w / c.lr
    s["n"] = n + grad ** 2
    z = s["z"]
    return (np.sign(z) * l1 - z) / ((beta + np.sqrt(s["n"])) / c.lr + c.wd) * (np.abs(z) > l1)


def ref_ftml(s, w, g, c):
    b1, b2, eps = c.hp.get("beta1", 0.6), c.hp.get("beta2", 0.999), c.hp.get("epsilon", 1e-8)
    grad = clip_fused(c.rg * g + c.wd * w, c.clip)
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * grad ** 2
    d_t = (1 - b1 ** c.t) / c.lr * (np.sqrt(s["v"] / (1 - b2 ** c.t)) + eps)
    s["z"] = b1 * s.get("z", 0.0) + (1 - b1) * grad - (d_t - b1 * s.get("d", 0.0)) * w
    s["d"] = d_t
    return -s["z"] / d_t


def ref_signum(s, w, g, c):
    mu, wd_lh = c.hp.get("momentum", 0.9), c.hp.get("wd_lh", 0.0)
    if not mu:                                           # signSGD
        return (1 - c.lr * c.wd) * w - c.lr * np.sign(g)
    s["mom"] = (mu * s.get("mom", 0.0) - (1 - mu) * c.wd * w
                - (1 - mu) * clip_fused(c.rg * g, c.clip))
    return (1 - c.lr * wd_lh) * w + c.lr * np.sign(s["mom"])


def ref_lamb(s, w, g, c):
    b1, b2, eps = c.hp.get("beta1", 0.9), c.hp.get("beta2", 0.999), c.hp.get("epsilon", 1e-6)
    grad = clip_fused(c.rg * g, c.clip)
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * grad
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * grad * grad
    if c.hp.get("bias_correction", True):
        m_hat, v_hat = s["m"] / (1 - b1 ** c.t), s["v"] / (1 - b2 ** c.t)
        d = m_hat / (np.sqrt(v_hat) + eps) + c.wd * w
    else:
        d = s["m"] / (np.sqrt(s["v"]) + eps) + c.wd * w
    r1, r2 = np.linalg.norm(w), np.linalg.norm(d)
    if c.hp.get("lower_bound"):
        r1 = max(r1, c.hp["lower_bound"])
    if c.hp.get("upper_bound"):
        r1 = min(r1, c.hp["upper_bound"])
    lr = c.lr if (r1 == 0 or r2 == 0) else c.lr * r1 / r2
    return w - lr * d


def ref_lars(s, w, g, c):
    mu, eta, eps = c.hp.get("momentum", 0.0), c.hp.get("eta", 0.001), c.hp.get("eps", 0)
    lr = c.lr
    if not c.name.endswith(("gamma", "beta", "bias")):
        w_norm, g_norm = np.linalg.norm(w), np.linalg.norm(g) * c.rg
        if w_norm > 0 and g_norm > 0:
            lr = lr * eta * w_norm / (g_norm + c.wd * w_norm + eps)
    if mu and c.shared.get("last_lr"):                  # momentum correction
        mu = mu * c.shared["cur_lr"] / c.shared["last_lr"]
    s["mom"] = mu * s.get("mom", 0.0) - lr * c.wd * w - lr * clip_fused(c.rg * g, c.clip)
    return w + s["mom"]


def ref_dcasgd(s, w, g, c):
    mu, lamda = c.hp.get("momentum", 0.0), c.hp.get("lamda", 0.04)
    grad = clip_python(c.rg * g, c.clip)
    previous = s.get("previous", w.copy())
    step = -c.lr * (grad + c.wd * w + lamda * grad * grad * (w - previous))
    s["mom"] = mu * s.get("mom", 0.0) + step if mu else step
    s["previous"] = w.copy()
    return w + s["mom"]


def ref_sgld(s, w, g, c):
    grad = clip_python(c.rg * g, c.clip)
    noise = fw.nd.random.normal(0, math.sqrt(c.lr), shape=w.shape, dtype=c.noise_dtype,
                                ctx=c.ctx).asnumpy().astype(np.float64)
    return w - c.lr / 2 * (grad + c.wd * w) + noise


# name, optimizer arguments, reference, base learning rate
CASES = [
    ("sgd", {"momentum": 0.9}, ref_sgd, 0.1),
    ("sgd", {}, ref_sgd, 0.1),
    ("nag", {"momentum": 0.9}, ref_nag, 0.1),
    ("nag", {}, ref_nag, 0.1),
    ("adam", {}, ref_adam, 0.01),
    ("adamw", {}, ref_adamw, 0.01),
    ("adagrad", {"eps": 1e-6}, ref_adagrad, 0.1),
    ("adadelta", {"rho": 0.8, "epsilon": 1e-4}, ref_adadelta, 1.0),
    ("rmsprop", {"clip_weights": 0.8}, ref_rmsprop, 0.01),
    ("rmsprop", {"centered": True, "gamma2": 0.8, "clip_weights": 0.8}, ref_rmsprop, 0.01),
    ("adamax", {}, ref_adamax, 0.01),
    ("nadam", {}, ref_nadam, 0.01),
    ("ftrl", {"lamda1": 0.01, "beta": 1.5}, ref_ftrl, 0.1),
    ("ftml", {"beta1": 0.6}, ref_ftml, 0.01),
    ("signum", {"momentum": 0.9, "wd_lh": 0.05}, ref_signum, 0.01),
    ("signum", {"momentum": 0.0}, ref_signum, 0.01),
    ("lamb", {"lower_bound": 0.1, "upper_bound": 1.2}, ref_lamb, 0.01),
    ("lamb", {"bias_correction": False}, ref_lamb, 0.01),
    ("lars", {"momentum": 0.9, "eta": 0.5, "eps": 1e-3,
              "param_idx2name": {0: "fc_weight", 1: "fc_bias"}}, ref_lars, 0.1),
    ("dcasgd", {"momentum": 0.9, "lamda": 0.5}, ref_dcasgd, 0.1),
    ("dcasgd", {}, ref_dcasgd, 0.1),
    ("sgld", {}, ref_sgld, 0.01),
    # sign-like rules (Adam's first steps, Signum) see clipping, rescaling and decay only
    # where they change a sign or a ratio: a clip that bites on the near targets too, and
    # a decay of the same size as the clipped gradient
    ("adam", {"harness": {"clip": 0.002, "wd": 0.004}}, ref_adam, 0.01),
    ("adamw", {"harness": {"clip": 0.002, "wd": 0.004}}, ref_adamw, 0.01),
    ("adamax", {"harness": {"clip": 0.002, "wd": 0.004}}, ref_adamax, 0.01),
    ("lamb", {"harness": {"clip": 0.002, "wd": 0.004}}, ref_lamb, 0.01),
    ("signum", {"momentum": 0.9, "harness": {"clip": 0.002, "wd": 0.004}}, ref_signum, 0.01),
]


def case_id(name, hp):
    flat = {k: v for k, v in hp.items() if k not in ("param_idx2name", "harness")}
    flat.update(hp.get("harness", {}))
    return "-".join([name] + [f"{k}={v}" for k, v in flat.items()])


CASE_IDS = [case_id(name, hp) for name, hp, _, _ in CASES]

# the optimizers whose multi-precision state is (momentum, master) rather than (master, state)
MOMENTUM_LAYOUT = ("sgd", "nag", "lars")
# optimizers that MXNet's Updater feeds lists (aggregate_num > 0), with counts advanced first
BATCHED = ("lars",)


class Step:
    """The values one reference step sees."""


def harness_values(hp):
    """(optimizer arguments, rescale_grad, wd, clip_gradient) of a case."""
    hp = dict(hp)
    harness = hp.pop("harness", {})
    return hp, harness.get("rescale", RESCALE), harness.get("wd", WD), harness.get("clip", CLIP)


def reference_run(name, hp, rule, base_lr, multi_precision, ctx):
    """STEPS updates of both weights, done in float64 from the formulas (float16 model
    weights when multi_precision: the gradient comes from the rounded weights)."""
    hp, rescale, wd, clip = harness_values(hp)
    weights, targets = initial_values()
    states = [{} for _ in weights]
    shared = {}
    counts, num_update = [BEGIN] * len(weights), BEGIN
    names = hp.get("param_idx2name", {})
    for _ in range(STEPS):
        grads = []
        for w, target in zip(weights, targets):
            model = w.astype(np.float16).astype(np.float64) if multi_precision else w
            g = 2 * (model - target)
            grads.append(g.astype(np.float16).astype(np.float64) if multi_precision else g)
        if name in BATCHED:
            counts = [n + 1 for n in counts]
            num_update = max(num_update, *counts)
            shared["last_lr"] = shared.get("cur_lr", Decay(base_lr)(num_update))
            shared["cur_lr"] = Decay(base_lr)(num_update)
        for i, g in enumerate(grads):
            if name not in BATCHED:
                counts[i] += 1
                num_update = max(num_update, counts[i])
            c = Step()
            c.t, c.rg, c.clip, c.hp, c.shared, c.ctx = counts[i], rescale, clip, hp, shared, ctx
            c.lr = Decay(base_lr)(num_update) * LR_MULT[i]
            name_i = names.get(i, str(i))
            wd_mult = WD_MULT[i] if i == 0 or name != "lars" else (
                1.0 if name_i.endswith("_weight") else 0.0)
            c.wd, c.name = wd * wd_mult, name_i
            c.noise_dtype = np.float32
            weights[i] = rule(states[i], weights[i], g, c)
    return weights


def framework_run(name, hp, base_lr, multi_precision, ctx, updater=None, steps=STEPS):
    """The same updates through fw.optimizer; returns (model weights, updater)."""
    weights, targets = initial_values()
    dtype = np.float16 if multi_precision else np.float32
    ws = [fw.nd.array(w, ctx=ctx, dtype=dtype) for w in weights]
    if updater is None:
        updater = opt_mod.get_updater(make_optimizer(name, hp, base_lr, multi_precision))
    for _ in range(steps):
        grads = [fw.nd.array(2 * (w.asnumpy().astype(np.float64) - t), ctx=ctx, dtype=dtype)
                 for w, t in zip(ws, targets)]
        if name in BATCHED:
            updater([0, 1], grads, ws)
        else:
            for i, (w, g) in enumerate(zip(ws, grads)):
                updater(i, g, w)
    return ws, updater


def make_optimizer(name, hp, base_lr, multi_precision, schedule=Decay):
    hp, rescale, wd, clip = harness_values(hp)
    opt = opt_mod.create(name, learning_rate=base_lr, wd=wd, clip_gradient=clip,
                         rescale_grad=rescale, lr_scheduler=schedule(base_lr),
                         begin_num_update=BEGIN, multi_precision=multi_precision,
                         param_dict={0: Mults(LR_MULT[0], WD_MULT[0])}, **hp)
    opt.set_lr_mult({1: LR_MULT[1]})
    if name != "lars":                       # LARS: index 1 is named fc_bias, which decays 0
        opt.set_wd_mult({1: WD_MULT[1]})
    return opt


def master_copy(name, state):
    return state[1] if name in MOMENTUM_LAYOUT else state[0]


@pytest.mark.parametrize("name,hp,rule,base_lr", CASES, ids=CASE_IDS)
def test_rule_matches_mxnet_formula(name, hp, rule, base_lr, ctx):
    if name == "sgld":
        fw.random.seed(11)
    got, updater = framework_run(name, hp, base_lr, False, ctx)
    if name == "sgld":
        fw.random.seed(11)
    want = reference_run(name, hp, rule, base_lr, False, ctx)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g.dtype == np.float32 and g.context == ctx
        np.testing.assert_allclose(g.asnumpy(), w, rtol=2e-5, atol=2e-6,
                                   err_msg=f"{name} {hp}: weight {i}")
        assert not np.allclose(w, initial_values()[0][i])        # the rule did move it
    assert updater.optimizer.num_update == BEGIN + STEPS


@pytest.mark.parametrize("name,hp,rule,base_lr", CASES, ids=CASE_IDS)
def test_rule_multi_precision(name, hp, rule, base_lr, ctx):
    if name == "sgld":
        fw.random.seed(12)
    got, updater = framework_run(name, hp, base_lr, True, ctx)
    if name == "sgld":
        fw.random.seed(12)
    want = reference_run(name, hp, rule, base_lr, True, ctx)
    for i, (g, w) in enumerate(zip(got, want)):
        master = master_copy(name, updater.states[i])
        assert g.dtype == np.float16 and master.dtype == np.float32
        assert master.context == ctx
        np.testing.assert_allclose(master.asnumpy(), w, rtol=1e-3, atol=1e-4,
                                   err_msg=f"{name} {hp}: master weight {i}")
        np.testing.assert_array_equal(g.asnumpy(), master.asnumpy().astype(np.float16))


@pytest.mark.skipif(fw.gpu(0).xp.__name__ == "cupy", reason="needs a second GPU under CuPy; "
                    "the strict backend checks device placement without one")
@pytest.mark.parametrize("multi_precision", [False, True], ids=["float32", "float16"])
@pytest.mark.parametrize("name,hp,rule,base_lr", CASES, ids=CASE_IDS)
def test_updates_on_a_second_device_stay_there(name, hp, rule, base_lr, multi_precision):
    """On gpu(1) every kernel runs with that device current (the strict backend refuses
    an array of another device, as CuPy), and the results equal cpu(0)'s bit for bit."""
    results = []
    for ctx in (fw.gpu(1), fw.cpu(0)):
        fw.random.seed(3)
        results.append(framework_run(name, hp, base_lr, multi_precision, ctx))
    (on_gpu, updater), (on_cpu, _) = results
    for a, b in zip(on_gpu, on_cpu):
        assert a.data.device == 1
        np.testing.assert_array_equal(a.asnumpy(), b.asnumpy())
    arrays = [s for state in updater.states.values() for s in _flatten(state)]
    assert all(s.context == fw.gpu(1) and s.data.device == 1 for s in arrays)


def _flatten(state):
    if isinstance(state, (tuple, list)):
        return [a for s in state for a in _flatten(s)]
    return [] if state is None else [state]


# --------------------------------------------------------------- registry, base
def test_create_by_name_and_unknown_names():
    assert isinstance(opt_mod.create("SGD", learning_rate=0.1), opt_mod.SGD)
    assert type(opt_mod.create("adam")) is opt_mod.Adam
    assert opt_mod.create("adam").learning_rate == 0.001
    assert opt_mod.Optimizer.create_optimizer("lamb").beta2 == 0.999
    expected = {"sgd", "nag", "adam", "adamw", "adagrad", "adadelta", "rmsprop", "adamax",
                "nadam", "ftrl", "ftml", "signum", "lamb", "lars", "dcasgd", "sgld", "ccsgd"}
    assert expected <= set(opt_mod.Optimizer.opt_registry)
    with pytest.raises(ValueError, match=r"Cannot find optimizer 'sgdd'.*adam.*sgd"):
        opt_mod.create("sgdd")
    with pytest.raises(TypeError, match="name must be a string"):
        opt_mod.create(opt_mod.SGD)
    with pytest.raises(TypeError, match=r"SGD: unknown argument.*learning_rte"):
        opt_mod.create("sgd", learning_rte=0.1)


def test_register_a_new_optimizer():
    @opt_mod.register
    class HalfStep(opt_mod.Optimizer):
        def _step(self, index, w, g, state, lr, wd, ctx):
            w -= 0.5 * lr * g

    try:
        w, g = fw.nd.array([1.0, 2.0]), fw.nd.array([1.0, 1.0])
        opt_mod.get_updater(opt_mod.create("halfstep", learning_rate=0.2))(0, g, w)
        np.testing.assert_allclose(w.asnumpy(), [0.9, 1.9])
        with pytest.warns(UserWarning, match="overriding existing optimizer"):
            opt_mod.register(HalfStep)
    finally:
        del opt_mod.Optimizer.opt_registry["halfstep"]
    with pytest.raises(TypeError, match="subclass of Optimizer"):
        opt_mod.register(int)


def test_learning_rate_and_scheduler():
    opt = opt_mod.SGD()
    assert opt.learning_rate == 0.01 and opt.lr == 0.01
    opt.set_learning_rate(0.5)
    assert opt.learning_rate == 0.5
    sched = Decay(0.2)
    opt = opt_mod.SGD(lr_scheduler=sched)                    # learning_rate None: keep base_lr
    assert sched.base_lr == 0.2 and opt.learning_rate == 0.2
    opt.num_update = 2
    assert opt.learning_rate == pytest.approx(0.2 * 0.64)
    with pytest.raises(UserWarning, match="LRScheduler of the optimizer has already been defined"):
        opt.set_learning_rate(0.1)
    with pytest.warns(UserWarning, match="overwritten") as caught:
        opt_mod.Adam(lr_scheduler=sched)                     # Adam's default 0.001 wins, as MXNet
    assert caught[0].filename == __file__                    # the warning points at the caller
    assert sched.base_lr == 0.001


def test_multipliers_by_param_dict_index_and_name():
    opt = opt_mod.SGD(learning_rate=1.0, wd=1.0,
                      param_idx2name={0: "fc_weight", 1: "fc_bias", 2: "bn_gamma", 3: "x"},
                      param_dict={3: Mults(0.25, 4.0)})
    assert [opt._get_wd(i) for i in range(4)] == [1.0, 0.0, 1.0, 4.0]
    opt.set_lr_mult({"fc_bias": 2.0, 0: 3.0})
    opt.set_wd_mult({"fc_bias": 0.5})
    assert [opt._get_lr(i) for i in range(4)] == [3.0, 2.0, 1.0, 0.25]
    assert opt._get_wd(1) == 0.5 and opt._get_wd(0) == 1.0        # set_wd_mult resets names
    lars = opt_mod.LARS(wd=1.0, param_idx2name={0: "fc_weight", 1: "bn_gamma"})
    assert [lars._get_wd(0), lars._get_wd(1)] == [1.0, 0.0]      # LARS: only *_weight decays


def test_counts_advance_once_per_step_across_contexts():
    """One optimizer, one Updater per context (as the Trainer): the count and Adam's bias
    correction advance once per step, and both copies stay equal."""
    opt = opt_mod.Adam(learning_rate=0.1)
    contexts = [fw.cpu(0), fw.cpu(1)]
    updaters = [opt_mod.get_updater(opt) for _ in contexts]
    ws = [fw.nd.array([1.0, -2.0], ctx=c) for c in contexts]
    for _ in range(4):
        for u, w in zip(updaters, ws):
            u(0, fw.nd.array([0.5, 0.25], ctx=w.context), w)
    assert opt.num_update == 4
    assert opt._all_index_update_counts == {0: {0: 4}, 1: {0: 4}}
    np.testing.assert_array_equal(ws[0].asnumpy(), ws[1].asnumpy())
    single = fw.nd.array([1.0, -2.0])
    u = opt_mod.get_updater(opt_mod.Adam(learning_rate=0.1))
    for _ in range(4):
        u(0, fw.nd.array([0.5, 0.25]), single)
    np.testing.assert_array_equal(single.asnumpy(), ws[0].asnumpy())


def test_list_call_equals_per_index_calls(ctx):
    weights, targets = initial_values()
    results = []
    for batched in (False, True):
        u = opt_mod.get_updater(opt_mod.SGD(learning_rate=0.1, momentum=0.9, wd=0.01))
        ws = [fw.nd.array(w, ctx=ctx) for w in weights]
        for _ in range(3):
            gs = [fw.nd.array(2 * (w.asnumpy() - t), ctx=ctx) for w, t in zip(ws, targets)]
            if batched:
                u([0, 1], gs, ws)
            else:
                u(0, gs[0], ws[0])
                u(1, gs[1], ws[1])
        results.append([w.asnumpy() for w in ws])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_float16_without_multi_precision_warns():
    with pytest.warns(UserWarning, match="multi_precision=True"):
        opt_mod.Adam().create_state_multi_precision(0, fw.nd.array([1.0], dtype=np.float16))


def test_bad_arguments_are_named():
    u = opt_mod.get_updater(opt_mod.SGD())
    with pytest.raises(ValueError, match=r"index 0: weight of shape \(2,\).*grad of shape \(3,\)"):
        u(0, fw.nd.zeros((3,)), fw.nd.zeros((2,)))
    with pytest.raises(TypeError, match="weight of index 1 must be an NDArray"):
        u(1, fw.nd.zeros((2,)), np.zeros(2))
    with pytest.raises(ValueError, match=r"one context, got \['cpu\(0\)', 'cpu\(1\)'\]"):
        u([0, 1], [fw.nd.zeros(1), fw.nd.zeros(1, ctx=fw.cpu(1))],
          [fw.nd.zeros(1), fw.nd.zeros(1, ctx=fw.cpu(1))])
    with pytest.raises(TypeError, match="param_idx2name should be a dict"):
        opt_mod.SGD(param_idx2name=["a"])
    with pytest.raises(TypeError, match="expected an fw.optimizer.Optimizer"):
        opt_mod.Updater("sgd")


# ------------------------------------------------------- in place, outside graphs
def test_update_is_in_place_unrecorded_and_invalidates_saved_graphs():
    w = fw.nd.array([1.0, 2.0])
    w.attach_grad()
    data = w._data
    u = opt_mod.get_updater(opt_mod.SGD(learning_rate=0.1, momentum=0.5))
    with fw.autograd.record():
        y = w * w
        u(0, fw.nd.array([1.0, 1.0]), w)          # an update inside record() adds no node
    assert w._data is data and type(w._node) is Leaf
    np.testing.assert_allclose(w.asnumpy(), [0.9, 1.9])
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()                                # the graph saw the old weight
    with fw.autograd.record():
        y = (w * w).sum()
    y.backward()                                    # a graph built after the update is fine
    np.testing.assert_allclose(w.grad.asnumpy(), [1.8, 3.8])


def test_scratch_buffers_do_not_grow_per_step():
    u = opt_mod.get_updater(opt_mod.Adam())
    ws = [fw.nd.ones((5, 4)), fw.nd.ones((3,))]
    for _ in range(3):
        for i, w in enumerate(ws):
            u(i, fw.nd.ones(w.shape), w)
        buffers = dict(u.optimizer._scratch_buffers)
    assert len(buffers) == 2 and all(b.size == 20 for b in buffers.values())


# ------------------------------------------------------------------ states
@pytest.mark.parametrize("name,hp,rule,base_lr", CASES, ids=CASE_IDS)
def test_states_round_trip_continues_bit_identically(name, hp, rule, base_lr):
    """Stop after 3 steps, save (HDF5 bytes), load into a fresh optimizer and Updater,
    3 more steps: the weights equal those of 6 uninterrupted steps, bit for bit."""
    ctx = fw.cpu(0)

    def fresh():
        return opt_mod.get_updater(make_optimizer(name, hp, base_lr, False, schedule=Stepped))

    fw.random.seed(5)
    straight, _ = framework_run(name, hp, base_lr, False, ctx, updater=fresh(), steps=6)
    fw.random.seed(5)
    first, updater = framework_run(name, hp, base_lr, False, ctx, updater=fresh(), steps=3)
    blob = updater.get_states(dump_optimizer=True)
    assert isinstance(blob, bytes) and blob.startswith(b"\x89HDF")
    resumed = fresh()
    resumed.set_states(blob)
    assert resumed.optimizer.num_update == updater.optimizer.num_update
    assert resumed.optimizer.lr_scheduler.base_lr == updater.optimizer.lr_scheduler.base_lr
    targets = initial_values()[1]
    for _ in range(3):
        grads = [fw.nd.array(2 * (w.asnumpy().astype(np.float64) - t)) for w, t in
                 zip(first, targets)]
        if name in BATCHED:
            resumed([0, 1], grads, first)
        else:
            for i, (w, g) in enumerate(zip(first, grads)):
                resumed(i, g, w)
    for a, b in zip(first, straight):
        np.testing.assert_array_equal(a.asnumpy(), b.asnumpy())


def test_states_hold_structure_counts_and_hyperparameters():
    opt = opt_mod.RMSProp(learning_rate=0.05, centered=True, clip_weights=2.0,
                          param_idx2name={0: "w_weight"})
    opt.set_lr_mult({"w_weight": 0.5, 7: 2.0})
    u = opt_mod.get_updater(opt)
    w16 = fw.nd.array([1.0, 2.0], dtype=np.float16)
    u(0, fw.nd.array([0.1, 0.2]), fw.nd.array([1.0, 2.0]))
    with pytest.warns(UserWarning, match="multi_precision=True"):
        u("named", fw.nd.array([0.1], dtype=np.float16), fw.nd.array([3.0], dtype=np.float16))
    sgd = opt_mod.get_updater(opt_mod.SGD(momentum=0.0, multi_precision=True))
    sgd(0, fw.nd.array([0.1, 0.2], dtype=np.float16), w16)
    assert sgd.states[0][0] is None

    restored = opt_mod.get_updater(opt_mod.SGD())
    restored.set_states(u.get_states(dump_optimizer=True))
    new = restored.optimizer                           # another class: replaced, as MXNet
    assert type(new) is opt_mod.RMSProp and new.centered and new.clip_weights == 2.0
    assert new.lr == 0.05 and new.lr_mult == {"w_weight": 0.5, 7: 2.0}
    assert new.idx2name == {0: "w_weight"} and new.num_update == 1
    assert new._all_index_update_counts == {0: {0: 1, "named": 1}}
    assert set(restored.states) == {0, "named"}
    for key in (0, "named"):
        a, b = u.states[key], restored.states[key]
        assert type(b) is tuple and len(b) == 3
        for x, y in zip(a, b):
            assert x.dtype == y.dtype
            np.testing.assert_array_equal(x.asnumpy(), y.asnumpy())

    plain = opt_mod.get_updater(opt_mod.SGD(multi_precision=True))
    plain.set_states(sgd.get_states())               # no dump: the optimizer stays
    assert type(plain.optimizer) is opt_mod.SGD and plain.states[0][0] is None
    assert plain.states[0][1].dtype == np.float32


def test_states_move_to_the_weights_context(ctx):
    weights = [fw.nd.array([1.0, -1.0]), fw.nd.array([1.0, -1.0])]
    u = opt_mod.get_updater(opt_mod.Adam(learning_rate=0.1))
    for _ in range(2):
        u(0, fw.nd.array([0.3, 0.1]), weights[0])
    blob = u.get_states()
    on_ctx = fw.nd.array(weights[0].asnumpy(), ctx=ctx)
    moved = opt_mod.get_updater(opt_mod.Adam(learning_rate=0.1))
    moved.set_states(blob)
    moved(0, fw.nd.array([0.3, 0.1], ctx=ctx), on_ctx)
    assert all(s.context == ctx for s in moved.states[0])
    u(0, fw.nd.array([0.3, 0.1]), weights[0])
    np.testing.assert_array_equal(on_ctx.asnumpy(), weights[0].asnumpy())


def test_factor_scheduler_state_is_restored():
    from framework import lr_scheduler
    opt = opt_mod.SGD(learning_rate=1.0,
                      lr_scheduler=lr_scheduler.FactorScheduler(step=2, factor=0.5,
                                                                   base_lr=1.0))
    u = opt_mod.get_updater(opt)
    w = fw.nd.array([1.0])
    for _ in range(5):
        u(0, fw.nd.array([1.0]), w)
    restored = opt_mod.get_updater(opt_mod.SGD())      # no scheduler: rebuilt from the file
    restored.set_states(u.get_states(dump_optimizer=True))
    sched = restored.optimizer.lr_scheduler
    assert type(sched) is lr_scheduler.FactorScheduler and sched is not opt.lr_scheduler
    assert vars(sched) == vars(opt.lr_scheduler)
    assert restored.optimizer.learning_rate == opt.learning_rate == 0.25


def test_set_states_refuses_pickles_and_garbage():
    u = opt_mod.get_updater(opt_mod.SGD())
    with pytest.raises(ValueError, match="pickle.*can run code"):
        u.set_states(pickle.dumps({0: None}))
    with pytest.raises(ValueError, match="not an HDF5 image"):
        u.set_states(b"not states at all")
    with pytest.raises(TypeError, match="expected the bytes"):
        u.set_states({0: None})
    good = u.get_states()
    with pytest.raises(ValueError, match="damaged or was not written"):
        u.set_states(good[: len(good) // 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        u.set_states(good)                           # the intact image still loads
