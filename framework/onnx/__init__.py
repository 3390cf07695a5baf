"""``fw.onnx``: MXNet graphs written as ONNX models (MXNet 1.9's ``mx.onnx``).

    fw.onnx.export_model("model-symbol.json", "model-0000.params", [(1, 3, 224, 224)],
                         numpy.float32, "model.onnx")

Needs the optional ``onnx`` package (``pip install framework[onnx]``); it is imported
only when a model is exported.
"""
from .export import export_model, get_operator_support  # noqa: F401

__all__ = ["export_model", "get_operator_support"]
