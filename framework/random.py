"""``framework.random`` (MXNet's ``mx.random``): seeding and sampling."""
from .ndarray.random import normal, randint, randn, seed, shuffle, uniform  # noqa: F401

__all__ = ["seed", "uniform", "normal", "randn", "randint", "shuffle"]
