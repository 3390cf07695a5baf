"""Writes tests/data/mxnet_exports.npz: graphs exported by real Apache MXNet 1.9.1.

Not run by the test suite (it needs ``pip install mxnet==1.9.1 numpy==1.23.5`` on
Python 3.9). For each Gluon layer below, MXNet's own ``hybridize(); net(x);
net.export(...)`` files are kept byte for byte (``<name>/symbol``: the
``-symbol.json``; ``<name>/params``: the ``-0000.params``), with the input and
MXNet's output (``<name>/input``, ``<name>/output``). For each model-zoo network
only the graph is kept (its parameters are large), with the input and output
shapes (``<name>/input_shape``, ``<name>/output_shape``). ``symops`` is a graph of
the symbol API (``mx.sym``) saved with ``Symbol.save``, with its outputs
``symops/output0``, ...
"""
import os
import sys
import tempfile

import mxnet as mx
import numpy as np
from mxnet.gluon import nn
from mxnet.gluon.model_zoo import vision


def seq():
    b = nn.HybridSequential()
    b.add(nn.Conv2D(4, 3, padding=1), nn.BatchNorm(), nn.Activation("relu"), nn.MaxPool2D(),
          nn.Flatten(), nn.Dropout(0.2), nn.Dense(5))
    return b


LAYERS = [
    ("Dense", lambda: nn.Dense(5, activation="tanh"), (3, 4)),
    ("Dense_noflat_nobias", lambda: nn.Dense(5, flatten=False, use_bias=False), (2, 3, 4)),
    ("Conv1D", lambda: nn.Conv1D(4, 3, padding=1), (2, 3, 8)),
    ("Conv2D", lambda: nn.Conv2D(4, 3, strides=2, activation="relu"), (2, 3, 9, 9)),
    ("Conv2D_groups", lambda: nn.Conv2D(4, 3, groups=2, dilation=2), (2, 4, 9, 9)),
    ("Conv3D", lambda: nn.Conv3D(2, 2), (1, 2, 4, 4, 4)),
    ("Conv1DTranspose", lambda: nn.Conv1DTranspose(4, 3, strides=2, output_padding=1),
     (2, 3, 5)),
    ("Conv2DTranspose", lambda: nn.Conv2DTranspose(4, 3, strides=2, padding=1), (2, 2, 5, 5)),
    ("Conv3DTranspose", lambda: nn.Conv3DTranspose(2, 2), (1, 2, 3, 3, 3)),
    ("MaxPool1D", lambda: nn.MaxPool1D(2), (2, 3, 8)),
    ("MaxPool2D", lambda: nn.MaxPool2D(3, 2, 1, ceil_mode=True), (2, 3, 9, 9)),
    ("MaxPool3D", lambda: nn.MaxPool3D(), (1, 2, 4, 4, 4)),
    ("AvgPool2D", lambda: nn.AvgPool2D(3, 2, 1, count_include_pad=False), (2, 3, 9, 9)),
    ("GlobalMaxPool2D", lambda: nn.GlobalMaxPool2D(), (2, 3, 5, 5)),
    ("GlobalAvgPool1D", lambda: nn.GlobalAvgPool1D(), (2, 3, 8)),
    ("BatchNorm", lambda: nn.BatchNorm(), (4, 3, 5, 5)),
    ("BatchNorm_last_axis", lambda: nn.BatchNorm(axis=-1, scale=False), (4, 5, 3)),
    ("LayerNorm", lambda: nn.LayerNorm(), (3, 4, 5)),
    ("InstanceNorm", lambda: nn.InstanceNorm(), (2, 3, 5)),
    ("InstanceNorm_axis2", lambda: nn.InstanceNorm(axis=2, scale=True), (2, 5, 3)),
    ("GroupNorm", lambda: nn.GroupNorm(num_groups=2), (2, 4, 5)),
    ("Dropout", lambda: nn.Dropout(0.5), (3, 4)),
    ("Embedding", lambda: nn.Embedding(10, 4), None),
    ("Flatten", lambda: nn.Flatten(), (2, 3, 4)),
    ("Activation_softrelu", lambda: nn.Activation("softrelu"), (3, 4)),
    ("LeakyReLU", lambda: nn.LeakyReLU(0.1), (3, 4)),
    ("PReLU", lambda: nn.PReLU(), (3, 4)),
    ("ELU", lambda: nn.ELU(), (3, 4)),
    ("SELU", lambda: nn.SELU(), (3, 4)),
    ("GELU", lambda: nn.GELU(), (3, 4)),
    ("Swish", lambda: nn.Swish(beta=1.5), (3, 4)),
    ("HybridLambda_name", lambda: nn.HybridLambda("tanh"), (3, 4)),
    ("HybridLambda_function", lambda: nn.HybridLambda(lambda F, x: F.relu(x) * 2 + 1), (3, 4)),
    ("ReflectionPad2D", lambda: nn.ReflectionPad2D(1), (1, 2, 4, 4)),
    ("HybridSequential", seq, (2, 3, 6, 6)),
]
ZOO = [("resnet18_v1", 32), ("resnet50_v2", 32), ("mobilenet0.25", 32),
       ("mobilenetv2_0.25", 32), ("squeezenet1.0", 224), ("densenet121", 224),
       ("alexnet", 224), ("vgg11_bn", 32), ("inceptionv3", 299)]


def main(out_path: str) -> None:
    rng = np.random.default_rng(0)
    folder = tempfile.mkdtemp()
    arrays = {}

    def read(path):
        with open(path, "rb") as f:
            return np.frombuffer(f.read(), dtype=np.uint8)

    for name, make, shape in LAYERS:
        net = make()
        net.initialize(mx.init.Uniform(0.5))
        net.hybridize()
        x = rng.integers(0, 10, (3, 4)).astype(np.float32) if shape is None else \
            rng.standard_normal(shape).astype(np.float32)
        y = net(mx.nd.array(x))
        prefix = os.path.join(folder, name)
        net.export(prefix)
        arrays[f"{name}/symbol"] = read(prefix + "-symbol.json")
        arrays[f"{name}/params"] = read(prefix + "-0000.params")
        arrays[f"{name}/input"] = x
        arrays[f"{name}/output"] = y.asnumpy()
    for name, size in ZOO:        # each the first of its family: prefixes end in 0
        net = vision.get_model(name, classes=7)
        net.initialize(mx.init.Xavier())
        net.hybridize()
        x = rng.random((1, 3, size, size)).astype(np.float32)
        y = net(mx.nd.array(x))
        prefix = os.path.join(folder, name)
        net.export(prefix)
        arrays[f"{name}/symbol"] = read(prefix + "-symbol.json")
        arrays[f"{name}/input_shape"] = np.array(x.shape)
        arrays[f"{name}/output_shape"] = np.array(y.shape)
    x = mx.sym.var("data")
    y = mx.sym.relu(x) * 2 + 1 - x / 3
    y = mx.sym.concat(y, mx.sym.sigmoid(x), dim=1)
    y = mx.sym.transpose(mx.sym.reshape(y, shape=(0, -1, 2)), axes=(0, 2, 1))
    y = mx.sym.sum(y, axis=2) + mx.sym.mean(y, axis=2, keepdims=False)
    y = mx.sym.clip(mx.sym.softmax(y, axis=-1), 0.1, 0.9) ** 2
    y = mx.sym.Group([y, mx.sym.split(x, num_outputs=2, axis=1)[1],
                      mx.sym.broadcast_add(x, mx.sym.slice_axis(x, axis=1, begin=0, end=1))])
    y.save(os.path.join(folder, "symops-symbol.json"))
    arrays["symops/symbol"] = read(os.path.join(folder, "symops-symbol.json"))
    xin = rng.standard_normal((2, 4)).astype(np.float32)
    arrays["symops/input"] = xin
    for i, o in enumerate(y.eval(data=mx.nd.array(xin))):
        arrays[f"symops/output{i}"] = o.asnumpy()
    np.savez_compressed(out_path, **arrays)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else
         os.path.join(os.path.dirname(os.path.abspath(__file__)), "mxnet_exports.npz"))
