"""DenseNet-BC 121/161/169/201 (MXNet 1.9.1's ``gluon.model_zoo.vision.densenet``):
input (N, 3, H, W) with H, W >= 221 (the final 7x7 average pooling needs a 7x7
feature map; the published parameters expect 224x224), output (N, classes)."""
from __future__ import annotations

from ...block import HybridBlock
from ... import nn
from ._common import DEFAULT_ROOT, cpu, load_pretrained

__all__ = ["DenseNet", "densenet121", "densenet161", "densenet169", "densenet201"]


def _make_dense_block(num_layers: int, bn_size: int, growth_rate: int, dropout: float,
                      stage_index: int) -> nn.HybridSequential:
    out = nn.HybridSequential(prefix=f"stage{stage_index}_")
    with out.name_scope():
        for _ in range(num_layers):
            out.add(_make_dense_layer(growth_rate, bn_size, dropout))
    return out


def _make_dense_layer(growth_rate: int, bn_size: int, dropout: float) -> nn.HybridConcatenate:
    """The input, concatenated (on channels) with ``growth_rate`` new features."""
    new_features = nn.HybridSequential(prefix="")
    new_features.add(nn.BatchNorm())
    new_features.add(nn.Activation("relu"))
    new_features.add(nn.Conv2D(bn_size * growth_rate, kernel_size=1, use_bias=False))
    new_features.add(nn.BatchNorm())
    new_features.add(nn.Activation("relu"))
    new_features.add(nn.Conv2D(growth_rate, kernel_size=3, padding=1, use_bias=False))
    if dropout:
        new_features.add(nn.Dropout(dropout))
    out = nn.HybridConcatenate(axis=1, prefix="")
    out.add(nn.Identity())
    out.add(new_features)
    return out


def _make_transition(num_output_features: int) -> nn.HybridSequential:
    out = nn.HybridSequential(prefix="")
    out.add(nn.BatchNorm())
    out.add(nn.Activation("relu"))
    out.add(nn.Conv2D(num_output_features, kernel_size=1, use_bias=False))
    out.add(nn.AvgPool2D(pool_size=2, strides=2))
    return out


class DenseNet(HybridBlock):
    """DenseNet-BC ("Densely Connected Convolutional Networks").

    ``num_init_features``: the stem's width; ``growth_rate``: features each dense
    layer adds; ``block_config``: dense layers per block; ``bn_size``: bottleneck
    width factor (``bn_size * growth_rate``); ``dropout``: rate after each layer.
    """

    def __init__(self, num_init_features: int, growth_rate: int, block_config,
                 bn_size: int = 4, dropout: float = 0, classes: int = 1000, **kwargs) -> None:
        super().__init__(**kwargs)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            self.features.add(nn.Conv2D(num_init_features, kernel_size=7, strides=2,
                                        padding=3, use_bias=False))
            self.features.add(nn.BatchNorm())
            self.features.add(nn.Activation("relu"))
            self.features.add(nn.MaxPool2D(pool_size=3, strides=2, padding=1))
            num_features = num_init_features
            for i, num_layers in enumerate(block_config):
                self.features.add(_make_dense_block(num_layers, bn_size, growth_rate,
                                                    dropout, i + 1))
                num_features += num_layers * growth_rate
                if i != len(block_config) - 1:
                    self.features.add(_make_transition(num_features // 2))
                    num_features //= 2
            self.features.add(nn.BatchNorm())
            self.features.add(nn.Activation("relu"))
            self.features.add(nn.AvgPool2D(pool_size=7))
            self.features.add(nn.Flatten())
            self.output = nn.Dense(classes)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


# depth -> (stem width, growth rate, dense layers per block)
densenet_spec = {121: (64, 32, [6, 12, 24, 16]),
                 161: (96, 48, [6, 12, 36, 24]),
                 169: (64, 32, [6, 12, 32, 32]),
                 201: (64, 32, [6, 12, 48, 32])}


def get_densenet(num_layers: int, pretrained: bool = False, ctx=cpu(), root=DEFAULT_ROOT,
                 **kwargs) -> DenseNet:
    """DenseNet-BC with ``num_layers`` 121, 161, 169 or 201; ``pretrained``: load
    MXNet's published parameters from ``root`` onto ``ctx`` (downloading them)."""
    if num_layers not in densenet_spec:
        raise ValueError(f"Invalid number of layers: {num_layers}. Options are "
                         f"{sorted(densenet_spec)}")
    num_init_features, growth_rate, block_config = densenet_spec[num_layers]
    net = DenseNet(num_init_features, growth_rate, block_config, **kwargs)
    if pretrained:
        load_pretrained(net, f"densenet{num_layers}", ctx, root)
    return net


def densenet121(**kwargs) -> DenseNet:
    """DenseNet-BC 121; keyword arguments as ``get_densenet``'s."""
    return get_densenet(121, **kwargs)


def densenet161(**kwargs) -> DenseNet:
    """DenseNet-BC 161; keyword arguments as ``get_densenet``'s."""
    return get_densenet(161, **kwargs)


def densenet169(**kwargs) -> DenseNet:
    """DenseNet-BC 169; keyword arguments as ``get_densenet``'s."""
    return get_densenet(169, **kwargs)


def densenet201(**kwargs) -> DenseNet:
    """DenseNet-BC 201; keyword arguments as ``get_densenet``'s."""
    return get_densenet(201, **kwargs)
