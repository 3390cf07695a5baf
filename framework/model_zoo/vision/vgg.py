"""VGG 11/13/16/19, with and without BatchNorm (MXNet 1.9.1's
``gluon.model_zoo.vision.vgg``). Input (N, 3, H, W) with H, W >= 32, output
(N, classes); the published parameters expect 224x224 (the first Dense then has
512*7*7 = 25088 inputs)."""
from __future__ import annotations

from ...block import HybridBlock
from ...initializer import Xavier
from ... import nn
from ._common import DEFAULT_ROOT, cpu, load_pretrained

__all__ = ["VGG", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn",
           "vgg19_bn", "get_vgg"]


class VGG(HybridBlock):
    """VGG ("Very Deep Convolutional Networks for Large-Scale Image Recognition").

    ``layers``: 3x3 convolutions per block (each block ends with 2x2 max pooling);
    ``filters``: each block's width; ``batch_norm``: BatchNorm after every convolution.
    """

    def __init__(self, layers, filters, classes: int = 1000, batch_norm: bool = False,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if len(layers) != len(filters):
            raise ValueError(f"VGG: layers and filters need one entry per block, got "
                             f"layers={list(layers)} and filters={list(filters)}")
        with self.name_scope():
            self.features = self._make_features(layers, filters, batch_norm)
            self.features.add(nn.Dense(4096, activation="relu", weight_initializer="normal",
                                       bias_initializer="zeros"))
            self.features.add(nn.Dropout(rate=0.5))
            self.features.add(nn.Dense(4096, activation="relu", weight_initializer="normal",
                                       bias_initializer="zeros"))
            self.features.add(nn.Dropout(rate=0.5))
            self.output = nn.Dense(classes, weight_initializer="normal",
                                   bias_initializer="zeros")

    @staticmethod
    def _make_features(layers, filters, batch_norm: bool) -> nn.HybridSequential:
        featurizer = nn.HybridSequential(prefix="")
        for num, width in zip(layers, filters):
            for _ in range(num):
                featurizer.add(nn.Conv2D(width, kernel_size=3, padding=1,
                                         weight_initializer=Xavier(rnd_type="gaussian",
                                                                   factor_type="out",
                                                                   magnitude=2),
                                         bias_initializer="zeros"))
                if batch_norm:
                    featurizer.add(nn.BatchNorm())
                featurizer.add(nn.Activation("relu"))
            featurizer.add(nn.MaxPool2D(strides=2))
        return featurizer

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


# depth -> (convolutions per block, widths)
vgg_spec = {11: ([1, 1, 2, 2, 2], [64, 128, 256, 512, 512]),
            13: ([2, 2, 2, 2, 2], [64, 128, 256, 512, 512]),
            16: ([2, 2, 3, 3, 3], [64, 128, 256, 512, 512]),
            19: ([2, 2, 4, 4, 4], [64, 128, 256, 512, 512])}


def get_vgg(num_layers: int, pretrained: bool = False, ctx=cpu(), root=DEFAULT_ROOT,
            **kwargs) -> VGG:
    """VGG with ``num_layers`` 11, 13, 16 or 19 (``batch_norm=True`` for the _bn nets).

    ``pretrained``: load MXNet's published parameters (``vgg16``, ``vgg16_bn``, ...)
    from ``root`` onto ``ctx``, downloading them when missing.
    """
    if num_layers not in vgg_spec:
        raise ValueError(f"Invalid number of layers: {num_layers}. Options are "
                         f"{sorted(vgg_spec)}")
    layers, filters = vgg_spec[num_layers]
    net = VGG(layers, filters, **kwargs)
    if pretrained:
        suffix = "_bn" if kwargs.get("batch_norm") else ""
        load_pretrained(net, f"vgg{num_layers}{suffix}", ctx, root)
    return net


def vgg11(**kwargs) -> VGG:
    """VGG-11; keyword arguments as ``get_vgg``'s."""
    return get_vgg(11, **kwargs)


def vgg13(**kwargs) -> VGG:
    """VGG-13; keyword arguments as ``get_vgg``'s."""
    return get_vgg(13, **kwargs)


def vgg16(**kwargs) -> VGG:
    """VGG-16; keyword arguments as ``get_vgg``'s."""
    return get_vgg(16, **kwargs)


def vgg19(**kwargs) -> VGG:
    """VGG-19; keyword arguments as ``get_vgg``'s."""
    return get_vgg(19, **kwargs)


def vgg11_bn(**kwargs) -> VGG:
    """VGG-11 with BatchNorm; keyword arguments as ``get_vgg``'s."""
    kwargs["batch_norm"] = True
    return get_vgg(11, **kwargs)


def vgg13_bn(**kwargs) -> VGG:
    """VGG-13 with BatchNorm; keyword arguments as ``get_vgg``'s."""
    kwargs["batch_norm"] = True
    return get_vgg(13, **kwargs)


def vgg16_bn(**kwargs) -> VGG:
    """VGG-16 with BatchNorm; keyword arguments as ``get_vgg``'s."""
    kwargs["batch_norm"] = True
    return get_vgg(16, **kwargs)


def vgg19_bn(**kwargs) -> VGG:
    """VGG-19 with BatchNorm; keyword arguments as ``get_vgg``'s."""
    kwargs["batch_norm"] = True
    return get_vgg(19, **kwargs)
