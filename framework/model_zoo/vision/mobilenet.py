"""MobileNet and MobileNetV2 (MXNet 1.9.1's ``gluon.model_zoo.vision.mobilenet``):
input (N, 3, H, W) (any size from 32x32; the published parameters expect 224x224),
output (N, classes). ``multiplier`` scales every width (int(width * multiplier))."""
from __future__ import annotations

from ...block import HybridBlock
from ... import nn
from ._common import DEFAULT_ROOT, cpu, load_pretrained

__all__ = ["MobileNet", "MobileNetV2", "LinearBottleneck", "RELU6", "mobilenet1_0",
           "mobilenet_v2_1_0", "mobilenet0_75", "mobilenet_v2_0_75", "mobilenet0_5",
           "mobilenet_v2_0_5", "mobilenet0_25", "mobilenet_v2_0_25", "get_mobilenet",
           "get_mobilenet_v2"]


class RELU6(HybridBlock):
    """min(max(x, 0), 6), MobileNetV2's activation."""

    def hybrid_forward(self, F, x):
        return F.clip(x, 0, 6)


def _add_conv(out, channels: int = 1, kernel: int = 1, stride: int = 1, pad: int = 0,
              num_group: int = 1, active: bool = True, relu6: bool = False) -> None:
    """Append convolution (no bias), BatchNorm and, if ``active``, relu or relu6."""
    out.add(nn.Conv2D(channels, kernel, stride, pad, groups=num_group, use_bias=False))
    out.add(nn.BatchNorm(scale=True))
    if active:
        out.add(RELU6() if relu6 else nn.Activation("relu"))


def _add_conv_dw(out, dw_channels: int, channels: int, stride: int,
                 relu6: bool = False) -> None:
    """A depthwise 3x3 convolution, then a pointwise 1x1 one."""
    _add_conv(out, channels=dw_channels, kernel=3, stride=stride, pad=1,
              num_group=dw_channels, relu6=relu6)
    _add_conv(out, channels=channels, relu6=relu6)


class LinearBottleneck(HybridBlock):
    """MobileNetV2's inverted residual: expand 1x1 (``t`` times), depthwise 3x3
    (``stride``), project 1x1 without activation; plus the input when ``stride`` is 1
    and the width stays."""

    def __init__(self, in_channels: int, channels: int, t: int, stride: int,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.use_shortcut = stride == 1 and in_channels == channels
        with self.name_scope():
            self.out = nn.HybridSequential()
            _add_conv(self.out, in_channels * t, relu6=True)
            _add_conv(self.out, in_channels * t, kernel=3, stride=stride, pad=1,
                      num_group=in_channels * t, relu6=True)
            _add_conv(self.out, channels, active=False, relu6=True)

    def hybrid_forward(self, F, x):
        out = self.out(x)
        if self.use_shortcut:
            out = F.elemwise_add(out, x)
        return out


class MobileNet(HybridBlock):
    """MobileNet ("Efficient Convolutional Neural Networks for Mobile Vision
    Applications"); ``multiplier``: width factor, 0.25 or more."""

    def __init__(self, multiplier: float = 1.0, classes: int = 1000, **kwargs) -> None:
        super().__init__(**kwargs)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            with self.features.name_scope():
                _add_conv(self.features, channels=int(32 * multiplier), kernel=3, pad=1,
                          stride=2)
                dw_channels = [int(x * multiplier) for x in
                               [32, 64] + [128] * 2 + [256] * 2 + [512] * 6 + [1024]]
                channels = [int(x * multiplier) for x in
                            [64] + [128] * 2 + [256] * 2 + [512] * 6 + [1024] * 2]
                strides = [1, 2] * 3 + [1] * 5 + [2, 1]
                for dwc, c, s in zip(dw_channels, channels, strides):
                    _add_conv_dw(self.features, dw_channels=dwc, channels=c, stride=s)
                self.features.add(nn.GlobalAvgPool2D())
                self.features.add(nn.Flatten())
            self.output = nn.Dense(classes)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


class MobileNetV2(HybridBlock):
    """MobileNetV2 ("Inverted Residuals and Linear Bottlenecks"); ``multiplier``:
    width factor (the last 1x1 convolution keeps 1280 channels unless it is > 1)."""

    def __init__(self, multiplier: float = 1.0, classes: int = 1000, **kwargs) -> None:
        super().__init__(**kwargs)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="features_")
            with self.features.name_scope():
                _add_conv(self.features, int(32 * multiplier), kernel=3, stride=2, pad=1,
                          relu6=True)
                in_channels_group = [int(x * multiplier) for x in
                                     [32] + [16] + [24] * 2 + [32] * 3 + [64] * 4 + [96] * 3
                                     + [160] * 3]
                channels_group = [int(x * multiplier) for x in
                                  [16] + [24] * 2 + [32] * 3 + [64] * 4 + [96] * 3
                                  + [160] * 3 + [320]]
                ts = [1] + [6] * 16
                strides = [1, 2] * 2 + [1, 1, 2] + [1] * 6 + [2] + [1] * 3
                for in_c, c, t, s in zip(in_channels_group, channels_group, ts, strides):
                    self.features.add(LinearBottleneck(in_channels=in_c, channels=c, t=t,
                                                       stride=s))
                last_channels = int(1280 * multiplier) if multiplier > 1.0 else 1280
                _add_conv(self.features, last_channels, relu6=True)
                self.features.add(nn.GlobalAvgPool2D())
            self.output = nn.HybridSequential(prefix="output_")
            with self.output.name_scope():
                self.output.add(nn.Conv2D(classes, 1, use_bias=False, prefix="pred_"),
                                nn.Flatten())

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


def _version_suffix(multiplier: float) -> str:
    """MXNet's file-name spelling of a multiplier: 1.0, 0.75, 0.5, 0.25."""
    suffix = f"{multiplier:.2f}"
    return suffix[:-1] if suffix in ("1.00", "0.50") else suffix


def get_mobilenet(multiplier: float, pretrained: bool = False, ctx=cpu(),
                  root=DEFAULT_ROOT, **kwargs) -> MobileNet:
    """MobileNet with width ``multiplier``; ``pretrained``: load MXNet's published
    parameters (``mobilenet1.0``, ...) from ``root`` onto ``ctx`` (downloading them)."""
    net = MobileNet(multiplier, **kwargs)
    if pretrained:
        load_pretrained(net, f"mobilenet{_version_suffix(multiplier)}", ctx, root)
    return net


def get_mobilenet_v2(multiplier: float, pretrained: bool = False, ctx=cpu(),
                     root=DEFAULT_ROOT, **kwargs) -> MobileNetV2:
    """MobileNetV2 with width ``multiplier``; ``pretrained``: load MXNet's published
    parameters (``mobilenetv2_1.0``, ...) from ``root`` onto ``ctx``."""
    net = MobileNetV2(multiplier, **kwargs)
    if pretrained:
        load_pretrained(net, f"mobilenetv2_{_version_suffix(multiplier)}", ctx, root)
    return net


def mobilenet1_0(**kwargs) -> MobileNet:
    """MobileNet, width 1.0; keyword arguments as ``get_mobilenet``'s."""
    return get_mobilenet(1.0, **kwargs)


def mobilenet_v2_1_0(**kwargs) -> MobileNetV2:
    """MobileNetV2, width 1.0; keyword arguments as ``get_mobilenet_v2``'s."""
    return get_mobilenet_v2(1.0, **kwargs)


def mobilenet0_75(**kwargs) -> MobileNet:
    """MobileNet, width 0.75; keyword arguments as ``get_mobilenet``'s."""
    return get_mobilenet(0.75, **kwargs)


def mobilenet_v2_0_75(**kwargs) -> MobileNetV2:
    """MobileNetV2, width 0.75; keyword arguments as ``get_mobilenet_v2``'s."""
    return get_mobilenet_v2(0.75, **kwargs)


def mobilenet0_5(**kwargs) -> MobileNet:
    """MobileNet, width 0.5; keyword arguments as ``get_mobilenet``'s."""
    return get_mobilenet(0.5, **kwargs)


def mobilenet_v2_0_5(**kwargs) -> MobileNetV2:
    """MobileNetV2, width 0.5; keyword arguments as ``get_mobilenet_v2``'s."""
    return get_mobilenet_v2(0.5, **kwargs)


def mobilenet0_25(**kwargs) -> MobileNet:
    """MobileNet, width 0.25; keyword arguments as ``get_mobilenet``'s."""
    return get_mobilenet(0.25, **kwargs)


def mobilenet_v2_0_25(**kwargs) -> MobileNetV2:
    """MobileNetV2, width 0.25; keyword arguments as ``get_mobilenet_v2``'s."""
    return get_mobilenet_v2(0.25, **kwargs)
