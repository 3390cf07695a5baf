"""fw.Trainer: step, stale gradients, several contexts, states that resume exactly."""
import os

import numpy
import pytest

import framework as fw
from framework import autograd, nn


def _dense_net(seed=0, ctx=None, hidden=8):
    fw.random.seed(seed)
    net = nn.HybridSequential()
    net.add(nn.Dense(hidden, activation="relu", in_units=4), nn.Dense(3, in_units=hidden))
    net.initialize(fw.init.Xavier(), ctx=ctx)
    return net


def _batch(n=8, seed=1):
    rng = numpy.random.RandomState(seed)
    return rng.randn(n, 4).astype("float32"), rng.randint(0, 3, n)


def _loss_sum(out, y):
    """Per-sample softmax cross-entropy, built from nd ops (fw.loss has its own tests)."""
    return -fw.nd.pick(fw.nd.log_softmax(out), y)


def _train_step(net, trainer, x, y, batch_size=None):
    with autograd.record():
        loss = _loss_sum(net(x), y)
    loss.backward()
    trainer.step(batch_size or x.shape[0])


def test_sgd_step_is_w_minus_lr_grad_over_batch():
    net = _dense_net()
    trainer = fw.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    x, y = _batch()
    xs, ys = fw.nd.array(x), fw.nd.array(y)
    with autograd.record():
        loss = _loss_sum(net(xs), ys)
    loss.backward()
    params = list(net.collect_params().values())
    before = [p.data().asnumpy().copy() for p in params]
    grads = [p.grad().asnumpy().copy() for p in params]
    trainer.step(8)
    for p, w, g in zip(params, before, grads):
        numpy.testing.assert_allclose(p.data().asnumpy(), w - 0.1 * g / 8, rtol=1e-6, atol=1e-7)


def test_parameter_order_and_argument_errors():
    net = _dense_net()
    params = net.collect_params()
    trainer = fw.Trainer(params, "sgd")
    assert [p.name for p in trainer._params] == list(params.keys())   # the model's order
    with pytest.raises(ValueError, match="list or dict of Parameters, got int"):
        fw.Trainer(3, "sgd")
    with pytest.raises(ValueError, match="got list of str"):
        fw.Trainer(["w"], "sgd")
    with pytest.raises(ValueError, match="appears twice"):
        p = list(params.values())[0]
        fw.Trainer([p, p], "sgd")
    with pytest.raises(ValueError, match="optimizer_params must be None"):
        fw.Trainer(params, fw.optimizer.SGD(), {"learning_rate": 1})
    with pytest.raises(ValueError, match="no_such_optimizer.*registered optimizers: .*sgd"):
        fw.Trainer(params, "no_such_optimizer")


def test_stale_gradient_names_the_parameter_unless_ignored():
    net = _dense_net()
    trainer = fw.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    with pytest.raises(UserWarning, match=r"Parameter `.*` on context cpu\(0\) has not been "
                                          r"updated by backward"):
        trainer.step(1)
    # only the first layer is used: the second layer's gradients are stale
    first = net[0]
    x = fw.nd.ones((2, 4))
    with autograd.record():
        loss = first(x).sum()
    loss.backward()
    second_w = net[1].weight.data().asnumpy().copy()
    first_w = first.weight.data().asnumpy().copy()
    with pytest.raises(UserWarning, match=rf"`{net[1].prefix}(weight|bias)`"):
        trainer.step(2)
    numpy.testing.assert_array_equal(first.weight.data().asnumpy(), first_w)   # nothing moved
    trainer.step(2, ignore_stale_grad=True)
    numpy.testing.assert_array_equal(net[1].weight.data().asnumpy(), second_w)
    assert not numpy.array_equal(first.weight.data().asnumpy(), first_w)
    # the step consumed the fresh gradients: a second step without backward is stale again
    with pytest.raises(UserWarning, match=rf"`{first.prefix}(weight|bias)`"):
        trainer.step(2)


def test_learning_rate_and_set_learning_rate():
    net = _dense_net()
    trainer = fw.Trainer(net.collect_params(), "adam", {"learning_rate": 0.01})
    assert trainer.learning_rate == 0.01
    trainer.set_learning_rate(0.5)
    assert trainer.learning_rate == 0.5
    assert trainer.optimizer.lr == 0.5
    sched = fw.lr_scheduler.FactorScheduler(step=1, factor=0.5, base_lr=1.0)
    trainer = fw.Trainer(net.collect_params(), "sgd", {"lr_scheduler": sched})
    with pytest.raises(UserWarning, match="LRScheduler of the optimizer has already been"):
        trainer.set_learning_rate(0.1)


def _train(ctxs, steps=5, update_on_kvstore=None, optimizer="sgd", clip=None):
    net = _dense_net(ctx=ctxs)
    trainer = fw.Trainer(net.collect_params(), optimizer,
                         {"learning_rate": 0.1, "momentum": 0.9, "wd": 1e-3}
                         if optimizer == "sgd" else {"learning_rate": 0.01},
                         update_on_kvstore=update_on_kvstore)
    for step in range(steps):
        x, y = _batch(8, seed=step)
        xs = fw.utils.split_and_load(x, ctxs)
        ys = fw.utils.split_and_load(y, ctxs)
        with autograd.record():
            losses = [_loss_sum(net(a), b) for a, b in zip(xs, ys)]
        for loss in losses:
            loss.backward()
        if clip is None:
            trainer.step(8)
        else:
            trainer.allreduce_grads()
            for ctx in ctxs:        # after allreduce each context holds the summed gradients
                fw.utils.clip_global_norm([p.grad(ctx) for p in net.collect_params().values()],
                                          clip)
            trainer.update(8)
    return net


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_two_contexts_train_as_one_on_the_whole_batch(optimizer):
    one = _train([fw.cpu(0)], optimizer=optimizer)
    two = _train([fw.cpu(0), fw.cpu(1)], optimizer=optimizer)
    on_store = _train([fw.cpu(0), fw.cpu(1)], update_on_kvstore=True, optimizer=optimizer)
    for p1, p2, p3 in zip(one.collect_params().values(), two.collect_params().values(),
                          on_store.collect_params().values()):
        copies = [d.asnumpy() for d in p2.list_data()]
        numpy.testing.assert_array_equal(copies[0], copies[1])   # copies never drift apart
        numpy.testing.assert_allclose(copies[0], p1.data().asnumpy(), rtol=1e-5, atol=1e-6)
        numpy.testing.assert_allclose(p3.list_data()[1].asnumpy(), p1.data().asnumpy(),
                                      rtol=1e-5, atol=1e-6)


def test_allreduce_then_update_with_clipping_between():
    one = _train([fw.cpu(0)], clip=0.05)
    two = _train([fw.cpu(0), fw.cpu(1)], clip=0.05)
    for p1, p2 in zip(one.collect_params().values(), two.collect_params().values()):
        numpy.testing.assert_allclose(p2.list_data()[1].asnumpy(), p1.data().asnumpy(),
                                      rtol=1e-5, atol=1e-6)


def test_update_on_kvstore_refuses_split_step():
    net = _dense_net(ctx=[fw.cpu(0), fw.cpu(1)])
    trainer = fw.Trainer(net.collect_params(), "sgd", update_on_kvstore=True)
    with pytest.raises(RuntimeError, match="update_on_kvstore=False"):
        trainer.allreduce_grads()
    with pytest.raises(RuntimeError, match="update_on_kvstore=False"):
        trainer.update(1)


def test_contexts_must_agree():
    a = fw.Parameter("a", shape=(2,))
    b = fw.Parameter("b", shape=(2,))
    a.initialize(ctx=fw.cpu(0))
    b.initialize(ctx=[fw.cpu(0), fw.cpu(1)])
    trainer = fw.Trainer([a, b], "sgd")
    with pytest.raises(ValueError, match="same contexts"):
        trainer.step(1)


def _classifier(seed):
    fw.random.seed(seed)
    net = nn.HybridSequential()
    net.add(nn.Dense(16, in_units=2), nn.BatchNorm(in_channels=16), nn.Activation("relu"),
            nn.Dropout(0.1), nn.Dense(2, in_units=16))
    net.initialize(fw.init.Xavier())
    return net


def _separable(n=128, seed=0):
    rng = numpy.random.RandomState(seed)
    x = rng.randn(n, 2).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("float32")
    x += numpy.where(y[:, None] > 0, 0.3, -0.3).astype("float32")   # a margin
    return fw.nd.array(x), fw.nd.array(y)


def _fit(net, trainer, x, y, epochs, batch=32):
    loss_fn = fw.loss.SoftmaxCrossEntropyLoss()
    for _ in range(epochs):
        for start in range(0, x.shape[0], batch):
            xb, yb = x[start:start + batch], y[start:start + batch]
            with autograd.record():
                loss = loss_fn(net(xb), yb)
            loss.backward()
            trainer.step(xb.shape[0])


@pytest.mark.parametrize("optimizer, params", [("sgd", {"learning_rate": 0.5, "momentum": 0.9}),
                                               ("adam", {"learning_rate": 0.05})])
def test_end_to_end_learns_a_separable_problem(optimizer, params):
    x, y = _separable()
    net = _classifier(0)
    trainer = fw.Trainer(net.collect_params(), optimizer, params)
    _fit(net, trainer, x, y, epochs=30)
    metric = fw.metric.Accuracy()
    metric.update(y, net(x))
    assert metric.get() == ("accuracy", 1.0)


@pytest.mark.parametrize("optimizer, params", [("sgd", {"learning_rate": 0.2, "momentum": 0.9}),
                                               ("adam", {"learning_rate": 0.01})])
def test_save_and_load_states_resume_bit_identically(tmp_path, optimizer, params):
    x, y = _separable()
    # uninterrupted: 3 epochs, then 2 more
    net = _classifier(1)
    trainer = fw.Trainer(net.collect_params(), optimizer, params)
    _fit(net, trainer, x, y, epochs=3)
    net.save_parameters(str(tmp_path / "net.params"))
    trainer.save_states(str(tmp_path / "trainer.states"))
    fw.random.seed(7)
    _fit(net, trainer, x, y, epochs=2)
    # resumed in a new net and trainer from the files
    resumed = _classifier(2)
    resumed.load_parameters(str(tmp_path / "net.params"))
    trainer2 = fw.Trainer(resumed.collect_params(), optimizer, params)
    trainer2.load_states(str(tmp_path / "trainer.states"))
    assert trainer2.optimizer.num_update == trainer.optimizer.num_update - 2 * 4
    fw.random.seed(7)
    _fit(resumed, trainer2, x, y, epochs=2)
    for a, b in zip(net.collect_params().values(), resumed.collect_params().values()):
        numpy.testing.assert_array_equal(a.data().asnumpy(), b.data().asnumpy())


def test_states_file_is_hdf5_not_pickle(tmp_path):
    net = _dense_net()
    trainer = fw.Trainer(net.collect_params(), "adam")
    x, y = _batch()
    _train_step(net, trainer, fw.nd.array(x), fw.nd.array(y))
    path = tmp_path / "t.states"
    trainer.save_states(str(path))
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89HDF\r\n\x1a\n"
    assert not [n for n in os.listdir(tmp_path) if n != "t.states"]   # no temporary left
    with pytest.raises(OSError, match="missing.states"):
        trainer.load_states(str(tmp_path / "missing.states"))


def test_states_follow_structure_not_name_order(tmp_path):
    """Built again after the name counters pass 9 -> 10, a model still gets its own states."""
    def model():
        net = nn.HybridSequential()
        net.add(nn.Dense(16, in_units=4), nn.Dense(3, in_units=16))
        net.initialize()
        return net
    x = fw.nd.ones((2, 4))
    first = model()
    trainer = fw.Trainer(first.collect_params(), "adam")
    with autograd.record():
        loss = first(x).sum()
    loss.backward()
    trainer.step(2)
    trainer.save_states(str(tmp_path / "s.states"))
    for _ in range(12):
        nn.Dense(1)                                    # move the name counter on
    second = model()
    trainer2 = fw.Trainer(second.collect_params(), "adam")
    trainer2.load_states(str(tmp_path / "s.states"))
    with autograd.record():
        loss = second(x).sum()
    loss.backward()
    trainer2.step(2)                                   # the states fit their Parameters


def test_states_of_another_model_are_refused_by_shape(tmp_path):
    net = _dense_net()
    trainer = fw.Trainer(net.collect_params(), "adam")
    x, y = _batch()
    _train_step(net, trainer, fw.nd.array(x), fw.nd.array(y))
    trainer.save_states(str(tmp_path / "a.states"))
    other = _dense_net(hidden=5)
    trainer2 = fw.Trainer(other.collect_params(), "adam")
    with pytest.raises(ValueError, match=r"does not fit these Parameters.*has shape \(5, 4\) but "
                                         r"its saved state has shape \(8, 4\)"):
        trainer2.load_states(str(tmp_path / "a.states"))
