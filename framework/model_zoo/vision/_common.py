"""What the vision models share: the default context and root, and loading a
pretrained file from the model store."""
from __future__ import annotations

from ...context import cpu
from ..model_store import DEFAULT_ROOT, get_model_file

__all__ = ["cpu", "DEFAULT_ROOT", "load_pretrained"]


def load_pretrained(net, name: str, ctx, root) -> None:
    """Load MXNet's published parameters of model ``name`` (from ``root``, downloading
    them when missing) into ``net`` on ``ctx``."""
    net.load_parameters(get_model_file(name, root=root), ctx=ctx)
