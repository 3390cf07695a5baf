"""``fw.contrib`` (MXNet's ``gluon.contrib``): the parts built on top of the rest.

    from framework.contrib.estimator import Estimator

Floor 7 (DESIGN.md section 2): may import every floor below; nothing imports it.
"""
from . import estimator  # noqa: F401

__all__ = ["estimator"]
