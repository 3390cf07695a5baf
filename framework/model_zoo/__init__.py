"""Predefined and pretrained models (MXNet's ``gluon.model_zoo``): ``vision`` holds
the image classifiers and ``get_model``; ``model_store`` finds and downloads their
published parameter files."""
from . import model_store  # noqa: F401
from . import vision       # noqa: F401
from .vision import get_model  # noqa: F401
