"""ResNet V1 and V2 (MXNet 1.9.1's ``gluon.model_zoo.vision.resnet``).

Input (N, 3, H, W), output (N, classes). Parameter names, structure and the
published files are MXNet's: ``features.0.weight`` / ``resnetv10_conv0_weight``
... ``output.weight`` / ``resnetv10_dense0_weight``.
"""
from __future__ import annotations

from ...block import HybridBlock
from ... import nn
from ._common import DEFAULT_ROOT, cpu, load_pretrained

__all__ = ["ResNetV1", "ResNetV2", "BasicBlockV1", "BasicBlockV2", "BottleneckV1",
           "BottleneckV2", "resnet18_v1", "resnet34_v1", "resnet50_v1", "resnet101_v1",
           "resnet152_v1", "resnet18_v2", "resnet34_v2", "resnet50_v2", "resnet101_v2",
           "resnet152_v2", "get_resnet"]


def _conv3x3(channels: int, stride: int, in_channels: int) -> nn.Conv2D:
    return nn.Conv2D(channels, kernel_size=3, strides=stride, padding=1, use_bias=False,
                     in_channels=in_channels)


class BasicBlockV1(HybridBlock):
    """Two 3x3 convolutions with BatchNorm, plus the (projected) input, then relu
    (ResNet V1, 18 and 34 layers). ``downsample``: project the input with a strided
    1x1 convolution."""

    def __init__(self, channels: int, stride: int, downsample: bool = False,
                 in_channels: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.body = nn.HybridSequential(prefix="")
        self.body.add(_conv3x3(channels, stride, in_channels))
        self.body.add(nn.BatchNorm())
        self.body.add(nn.Activation("relu"))
        self.body.add(_conv3x3(channels, 1, channels))
        self.body.add(nn.BatchNorm())
        if downsample:
            self.downsample = nn.HybridSequential(prefix="")
            self.downsample.add(nn.Conv2D(channels, kernel_size=1, strides=stride,
                                          use_bias=False, in_channels=in_channels))
            self.downsample.add(nn.BatchNorm())
        else:
            self.downsample = None

    def hybrid_forward(self, F, x):
        residual = x if self.downsample is None else self.downsample(x)
        return F.Activation(residual + self.body(x), act_type="relu")


class BottleneckV1(HybridBlock):
    """1x1 (strided), 3x3 and 1x1 convolutions with BatchNorm, plus the (projected)
    input, then relu (ResNet V1, 50 layers and more)."""

    def __init__(self, channels: int, stride: int, downsample: bool = False,
                 in_channels: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.body = nn.HybridSequential(prefix="")
        self.body.add(nn.Conv2D(channels // 4, kernel_size=1, strides=stride))
        self.body.add(nn.BatchNorm())
        self.body.add(nn.Activation("relu"))
        self.body.add(_conv3x3(channels // 4, 1, channels // 4))
        self.body.add(nn.BatchNorm())
        self.body.add(nn.Activation("relu"))
        self.body.add(nn.Conv2D(channels, kernel_size=1, strides=1))
        self.body.add(nn.BatchNorm())
        if downsample:
            self.downsample = nn.HybridSequential(prefix="")
            self.downsample.add(nn.Conv2D(channels, kernel_size=1, strides=stride,
                                          use_bias=False, in_channels=in_channels))
            self.downsample.add(nn.BatchNorm())
        else:
            self.downsample = None

    def hybrid_forward(self, F, x):
        residual = x if self.downsample is None else self.downsample(x)
        return F.Activation(self.body(x) + residual, act_type="relu")


class BasicBlockV2(HybridBlock):
    """Pre-activation block (ResNet V2, 18 and 34 layers): BatchNorm, relu, 3x3
    convolution, twice, plus the (projected) input."""

    def __init__(self, channels: int, stride: int, downsample: bool = False,
                 in_channels: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.bn1 = nn.BatchNorm()
        self.conv1 = _conv3x3(channels, stride, in_channels)
        self.bn2 = nn.BatchNorm()
        self.conv2 = _conv3x3(channels, 1, channels)
        if downsample:
            self.downsample = nn.Conv2D(channels, 1, stride, use_bias=False,
                                        in_channels=in_channels)
        else:
            self.downsample = None

    def hybrid_forward(self, F, x):
        residual = x
        x = F.Activation(self.bn1(x), act_type="relu")
        if self.downsample is not None:
            residual = self.downsample(x)
        x = self.conv1(x)
        x = F.Activation(self.bn2(x), act_type="relu")
        return self.conv2(x) + residual


class BottleneckV2(HybridBlock):
    """Pre-activation bottleneck (ResNet V2, 50 layers and more): BatchNorm, relu and
    a 1x1, a (strided) 3x3 and a 1x1 convolution, plus the (projected) input."""

    def __init__(self, channels: int, stride: int, downsample: bool = False,
                 in_channels: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.bn1 = nn.BatchNorm()
        self.conv1 = nn.Conv2D(channels // 4, kernel_size=1, strides=1, use_bias=False)
        self.bn2 = nn.BatchNorm()
        self.conv2 = _conv3x3(channels // 4, stride, channels // 4)
        self.bn3 = nn.BatchNorm()
        self.conv3 = nn.Conv2D(channels, kernel_size=1, strides=1, use_bias=False)
        if downsample:
            self.downsample = nn.Conv2D(channels, 1, stride, use_bias=False,
                                        in_channels=in_channels)
        else:
            self.downsample = None

    def hybrid_forward(self, F, x):
        residual = x
        x = F.Activation(self.bn1(x), act_type="relu")
        if self.downsample is not None:
            residual = self.downsample(x)
        x = self.conv1(x)
        x = self.conv2(F.Activation(self.bn2(x), act_type="relu"))
        x = self.conv3(F.Activation(self.bn3(x), act_type="relu"))
        return x + residual


def _check_spec(name: str, layers, channels) -> None:
    if len(layers) != len(channels) - 1:
        raise ValueError(f"{name}: channels needs one entry more than layers (the stem's, "
                         f"then one per stage), got layers={list(layers)} and "
                         f"channels={list(channels)}")


def _make_stage(block, layers: int, channels: int, stride: int, stage_index: int,
                in_channels: int = 0) -> nn.HybridSequential:
    """One stage, ``stage{i}_``: a block that may change size and width, then
    ``layers - 1`` blocks that keep them."""
    stage = nn.HybridSequential(prefix=f"stage{stage_index}_")
    with stage.name_scope():
        stage.add(block(channels, stride, channels != in_channels, in_channels=in_channels,
                        prefix=""))
        for _ in range(layers - 1):
            stage.add(block(channels, 1, False, in_channels=channels, prefix=""))
    return stage


class ResNetV1(HybridBlock):
    """ResNet V1 ("Deep Residual Learning for Image Recognition").

    ``block``: BasicBlockV1 or BottleneckV1; ``layers``: blocks per stage;
    ``channels``: the stem's width, then each stage's; ``thumbnail``: a 3x3 stem
    for small (32x32) images instead of 7x7/2 convolution and max pooling.
    (N, 3, H, W) -> (N, classes).
    """

    def __init__(self, block, layers, channels, classes: int = 1000,
                 thumbnail: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        _check_spec(type(self).__name__, layers, channels)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            if thumbnail:
                self.features.add(_conv3x3(channels[0], 1, 0))
            else:
                self.features.add(nn.Conv2D(channels[0], 7, 2, 3, use_bias=False))
                self.features.add(nn.BatchNorm())
                self.features.add(nn.Activation("relu"))
                self.features.add(nn.MaxPool2D(3, 2, 1))
            for i, num_layer in enumerate(layers):
                stride = 1 if i == 0 else 2
                self.features.add(_make_stage(block, num_layer, channels[i + 1], stride,
                                              i + 1, in_channels=channels[i]))
            self.features.add(nn.GlobalAvgPool2D())
            self.output = nn.Dense(classes, in_units=channels[-1])

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


class ResNetV2(HybridBlock):
    """ResNet V2 ("Identity Mappings in Deep Residual Networks"): pre-activation
    blocks, the input normalized by a BatchNorm without scale and shift.
    Arguments as ResNetV1's (``block``: BasicBlockV2 or BottleneckV2).
    (N, 3, H, W) -> (N, classes).
    """

    def __init__(self, block, layers, channels, classes: int = 1000,
                 thumbnail: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        _check_spec(type(self).__name__, layers, channels)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            self.features.add(nn.BatchNorm(scale=False, center=False))
            if thumbnail:
                self.features.add(_conv3x3(channels[0], 1, 0))
            else:
                self.features.add(nn.Conv2D(channels[0], 7, 2, 3, use_bias=False))
                self.features.add(nn.BatchNorm())
                self.features.add(nn.Activation("relu"))
                self.features.add(nn.MaxPool2D(3, 2, 1))
            in_channels = channels[0]
            for i, num_layer in enumerate(layers):
                stride = 1 if i == 0 else 2
                self.features.add(_make_stage(block, num_layer, channels[i + 1], stride,
                                              i + 1, in_channels=in_channels))
                in_channels = channels[i + 1]
            self.features.add(nn.BatchNorm())
            self.features.add(nn.Activation("relu"))
            self.features.add(nn.GlobalAvgPool2D())
            self.features.add(nn.Flatten())
            self.output = nn.Dense(classes, in_units=in_channels)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


# depth -> (block kind, blocks per stage, widths: stem then stages)
resnet_spec = {18: ("basic_block", [2, 2, 2, 2], [64, 64, 128, 256, 512]),
               34: ("basic_block", [3, 4, 6, 3], [64, 64, 128, 256, 512]),
               50: ("bottle_neck", [3, 4, 6, 3], [64, 256, 512, 1024, 2048]),
               101: ("bottle_neck", [3, 4, 23, 3], [64, 256, 512, 1024, 2048]),
               152: ("bottle_neck", [3, 8, 36, 3], [64, 256, 512, 1024, 2048])}

resnet_net_versions = [ResNetV1, ResNetV2]
resnet_block_versions = [{"basic_block": BasicBlockV1, "bottle_neck": BottleneckV1},
                         {"basic_block": BasicBlockV2, "bottle_neck": BottleneckV2}]


def get_resnet(version: int, num_layers: int, pretrained: bool = False, ctx=cpu(),
               root=DEFAULT_ROOT, **kwargs) -> HybridBlock:
    """ResNet ``version`` 1 or 2 with ``num_layers`` 18, 34, 50, 101 or 152.

    ``pretrained``: load MXNet's published ImageNet parameters (``resnet18_v1``, ...)
    from ``root`` onto ``ctx``, downloading them when missing. Other keyword
    arguments (``classes``, ``thumbnail``, ``prefix``) go to the network.
    """
    if num_layers not in resnet_spec:
        raise ValueError(f"Invalid number of layers: {num_layers}. Options are "
                         f"{sorted(resnet_spec)}")
    if version not in (1, 2):
        raise ValueError(f"Invalid resnet version: {version}. Options are 1 and 2.")
    block_type, layers, channels = resnet_spec[num_layers]
    block_class = resnet_block_versions[version - 1][block_type]
    net = resnet_net_versions[version - 1](block_class, layers, channels, **kwargs)
    if pretrained:
        load_pretrained(net, f"resnet{num_layers}_v{version}", ctx, root)
    return net


def resnet18_v1(**kwargs) -> ResNetV1:
    """ResNet-18 V1; keyword arguments as ``get_resnet``'s."""
    return get_resnet(1, 18, **kwargs)


def resnet34_v1(**kwargs) -> ResNetV1:
    """ResNet-34 V1; keyword arguments as ``get_resnet``'s."""
    return get_resnet(1, 34, **kwargs)


def resnet50_v1(**kwargs) -> ResNetV1:
    """ResNet-50 V1; keyword arguments as ``get_resnet``'s."""
    return get_resnet(1, 50, **kwargs)


def resnet101_v1(**kwargs) -> ResNetV1:
    """ResNet-101 V1; keyword arguments as ``get_resnet``'s."""
    return get_resnet(1, 101, **kwargs)


def resnet152_v1(**kwargs) -> ResNetV1:
    """ResNet-152 V1; keyword arguments as ``get_resnet``'s."""
    return get_resnet(1, 152, **kwargs)


def resnet18_v2(**kwargs) -> ResNetV2:
    """ResNet-18 V2; keyword arguments as ``get_resnet``'s."""
    return get_resnet(2, 18, **kwargs)


def resnet34_v2(**kwargs) -> ResNetV2:
    """ResNet-34 V2; keyword arguments as ``get_resnet``'s."""
    return get_resnet(2, 34, **kwargs)


def resnet50_v2(**kwargs) -> ResNetV2:
    """ResNet-50 V2; keyword arguments as ``get_resnet``'s."""
    return get_resnet(2, 50, **kwargs)


def resnet101_v2(**kwargs) -> ResNetV2:
    """ResNet-101 V2; keyword arguments as ``get_resnet``'s."""
    return get_resnet(2, 101, **kwargs)


def resnet152_v2(**kwargs) -> ResNetV2:
    """ResNet-152 V2; keyword arguments as ``get_resnet``'s."""
    return get_resnet(2, 152, **kwargs)
