"""AlexNet (MXNet 1.9.1's ``gluon.model_zoo.vision.alexnet``): input (N, 3, H, W)
with H, W >= 63, output (N, classes); the published parameters expect 224x224
(the first Dense then has 256*6*6 = 9216 inputs)."""
from __future__ import annotations

from ...block import HybridBlock
from ... import nn
from ._common import DEFAULT_ROOT, cpu, load_pretrained

__all__ = ["AlexNet", "alexnet"]


class AlexNet(HybridBlock):
    """AlexNet ("One weird trick for parallelizing convolutional neural networks")."""

    def __init__(self, classes: int = 1000, **kwargs) -> None:
        super().__init__(**kwargs)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            with self.features.name_scope():
                self.features.add(nn.Conv2D(64, kernel_size=11, strides=4, padding=2,
                                            activation="relu"))
                self.features.add(nn.MaxPool2D(pool_size=3, strides=2))
                self.features.add(nn.Conv2D(192, kernel_size=5, padding=2,
                                            activation="relu"))
                self.features.add(nn.MaxPool2D(pool_size=3, strides=2))
                self.features.add(nn.Conv2D(384, kernel_size=3, padding=1,
                                            activation="relu"))
                self.features.add(nn.Conv2D(256, kernel_size=3, padding=1,
                                            activation="relu"))
                self.features.add(nn.Conv2D(256, kernel_size=3, padding=1,
                                            activation="relu"))
                self.features.add(nn.MaxPool2D(pool_size=3, strides=2))
                self.features.add(nn.Flatten())
                self.features.add(nn.Dense(4096, activation="relu"))
                self.features.add(nn.Dropout(0.5))
                self.features.add(nn.Dense(4096, activation="relu"))
                self.features.add(nn.Dropout(0.5))
            self.output = nn.Dense(classes)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


def alexnet(pretrained: bool = False, ctx=cpu(), root=DEFAULT_ROOT, **kwargs) -> AlexNet:
    """AlexNet; ``pretrained``: load MXNet's published parameters from ``root`` onto
    ``ctx``, downloading them when missing; ``classes`` and ``prefix`` go to the net."""
    net = AlexNet(**kwargs)
    if pretrained:
        load_pretrained(net, "alexnet", ctx, root)
    return net
