"""The vision model zoo (MXNet 1.9.1's ``gluon.model_zoo.vision``): AlexNet,
DenseNet, Inception v3, ResNet V1 and V2, SqueezeNet, VGG, MobileNet and MobileNetV2,
with MXNet's structure and parameter names, so MXNet's checkpoints and its published
ImageNet parameters (``pretrained=True``) load unchanged.

    net = fw.model_zoo.vision.resnet18_v1()              # random weights
    net = fw.model_zoo.vision.get_model('resnet18_v1', pretrained=True)

Pretrained models expect RGB images in [0, 1], normalized with mean
(0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225), in (N, 3, 224, 224)
(299x299 for Inception v3).
"""
from __future__ import annotations

from .alexnet import *     # noqa: F401,F403
from .densenet import *    # noqa: F401,F403
from .inception import *   # noqa: F401,F403
from .mobilenet import *   # noqa: F401,F403
from .resnet import *      # noqa: F401,F403
from .squeezenet import *  # noqa: F401,F403
from .vgg import *         # noqa: F401,F403
from ._common import DEFAULT_ROOT, cpu
from .alexnet import alexnet
from .densenet import densenet121, densenet161, densenet169, densenet201
from .inception import inception_v3
from .mobilenet import (mobilenet0_5, mobilenet0_25, mobilenet0_75, mobilenet1_0,
                        mobilenet_v2_0_5, mobilenet_v2_0_25, mobilenet_v2_0_75,
                        mobilenet_v2_1_0)
from .resnet import (resnet18_v1, resnet18_v2, resnet34_v1, resnet34_v2, resnet50_v1,
                     resnet50_v2, resnet101_v1, resnet101_v2, resnet152_v1, resnet152_v2)
from .squeezenet import squeezenet1_0, squeezenet1_1
from .vgg import vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn

# MXNet's get_model names
_MODELS = {
    "resnet18_v1": resnet18_v1, "resnet34_v1": resnet34_v1, "resnet50_v1": resnet50_v1,
    "resnet101_v1": resnet101_v1, "resnet152_v1": resnet152_v1,
    "resnet18_v2": resnet18_v2, "resnet34_v2": resnet34_v2, "resnet50_v2": resnet50_v2,
    "resnet101_v2": resnet101_v2, "resnet152_v2": resnet152_v2,
    "vgg11": vgg11, "vgg13": vgg13, "vgg16": vgg16, "vgg19": vgg19,
    "vgg11_bn": vgg11_bn, "vgg13_bn": vgg13_bn, "vgg16_bn": vgg16_bn, "vgg19_bn": vgg19_bn,
    "alexnet": alexnet,
    "densenet121": densenet121, "densenet161": densenet161, "densenet169": densenet169,
    "densenet201": densenet201,
    "squeezenet1.0": squeezenet1_0, "squeezenet1.1": squeezenet1_1,
    "inceptionv3": inception_v3,
    "mobilenet1.0": mobilenet1_0, "mobilenet0.75": mobilenet0_75,
    "mobilenet0.5": mobilenet0_5, "mobilenet0.25": mobilenet0_25,
    "mobilenetv2_1.0": mobilenet_v2_1_0, "mobilenetv2_0.75": mobilenet_v2_0_75,
    "mobilenetv2_0.5": mobilenet_v2_0_5, "mobilenetv2_0.25": mobilenet_v2_0_25,
}


def get_model(name: str, pretrained: bool = False, classes: int = 1000, ctx=cpu(),
              root=DEFAULT_ROOT, **kwargs):
    """The model called ``name`` ('resnet18_v1', 'squeezenet1.0', 'inceptionv3',
    'mobilenetv2_1.0', ...; MXNet's names, case-insensitive).

    ``pretrained``: load MXNet's published ImageNet parameters from ``root`` onto
    ``ctx`` (downloaded when missing; they need ``classes=1000``). Other keyword
    arguments go to the model's constructor (``prefix``, ``thumbnail``, ...).
    """
    key = name.lower()
    if key not in _MODELS:
        raise ValueError(f"Model {name} is not supported. Available options are\n\t"
                         + "\n\t".join(sorted(_MODELS)))
    return _MODELS[key](pretrained=pretrained, classes=classes, ctx=ctx, root=root, **kwargs)
