"""One converter per MXNet operator, grouped by kind; ``CONVERTERS`` maps names to them."""
from ._registry import CONVERTERS, register
from . import activation, arith, nn, norm, tensor  # noqa: F401  (they register themselves)

__all__ = ["CONVERTERS", "register"]
