"""A model-definition package outside ``framework`` (tests/modeldef): trained with a
hand-written SGD on its collect_params(), saved, and loaded by a fresh instance that
then gives bit-identical outputs."""
import numpy as np

import framework as fw
from framework import autograd, nd

from modeldef import TinyClassifier


def cross_entropy(scores, labels):
    return -nd.pick(nd.log_softmax(scores, axis=1), labels, axis=1).mean()


def sgd_step(params, lr):
    for param in params.values():
        if param.grad_req == "null":
            continue
        for weight, grad in zip(param.list_data(), param.list_grad()):
            weight -= lr * grad


def test_train_save_and_load_into_a_fresh_instance(tmp_path, ctx):
    fw.random.seed(3)
    rng = np.random.RandomState(0)
    x = nd.array(rng.standard_normal((32, 5)), ctx=ctx)
    labels = nd.array(rng.randint(0, 3, 32), ctx=ctx)

    model = TinyClassifier()
    model.initialize(fw.init.Xavier(), ctx=ctx)
    params = model.collect_params()
    losses = []
    for _ in range(8):
        with autograd.record():
            loss = cross_entropy(model(x), labels)
        loss.backward()
        sgd_step(params, lr=0.2)
        losses.append(loss.asscalar())
    assert losses[-1] < losses[0]
    assert model.input_scale.shape == (5,)
    gate = model.blocks[0].gate.data().asnumpy()
    assert gate[0] != 0.5                                   # custom Parameters train too
    assert params[model.prefix + "logit_bias"].data().asnumpy().any()

    path = str(tmp_path / "tiny.params")
    model.save_parameters(path)
    assert {"input_scale", "logit_bias", "stem.weight", "blocks.0.gate",
            "blocks.0.body.0.weight", "blocks.1.body.2.bias", "head.weight"} <= set(nd.load(path))

    fresh = TinyClassifier()                                # other prefixes, unknown shapes
    assert fresh.prefix != model.prefix
    fresh.load_parameters(path, ctx=ctx)
    assert fresh.stem.weight.shape == (8, 5) and fresh.stem.weight.data().context == ctx
    with autograd.predict_mode():
        assert np.array_equal(fresh(x).asnumpy(), model(x).asnumpy())
