"""A small model-definition library, written as an outside package is: it uses only
the public API (``import framework as fw``), as a model zoo built on Gluon would."""
from .models import ResidualUnit, TinyClassifier  # noqa: F401
