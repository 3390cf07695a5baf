"""Test set-up: every op test runs on cpu(0) and on gpu(0).

Without a real GPU, gpu(0) is backed by the strict test module
(``strict_backend``), which fails on any implicit host conversion. Set
FRAMEWORK_TEST_GPU=cupy on a CUDA machine to run gpu(0) on real CuPy.
"""
import os
import pathlib

import pytest

import framework as fw
from framework.context import set_array_module

from strict_backend import strict

MNIST_DIR = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"

if os.environ.get("FRAMEWORK_TEST_GPU") != "cupy":
    set_array_module("gpu", lambda: strict)

os.environ.setdefault("FRAMEWORK_DATA", str(MNIST_DIR))


@pytest.fixture(params=["cpu", "gpu"])
def ctx(request):
    """The context an op test runs on: cpu(0), then gpu(0) (strict or CuPy)."""
    return fw.cpu(0) if request.param == "cpu" else fw.gpu(0)


@pytest.fixture(autouse=True)
def _fresh_autograd_state():
    """Each test starts outside record(), in predict mode."""
    fw.autograd.set_recording(False)
    fw.autograd.set_training(False)
    yield
    fw.autograd.set_recording(False)
    fw.autograd.set_training(False)
