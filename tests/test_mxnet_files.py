"""The files real MXNet 1.9.1 wrote (../shared/data/mxnet): each net, defined by the
very ``net.py`` MXNet ran (``from mxnet.gluon import nn`` with ``nn`` = ``fw.nn``),
loads each of its three parameter files and reproduces MXNet's ``output.npy``."""
import json
import pathlib

import numpy as np
import pytest

import framework as fw
from framework import nd
from framework.test_utils import assert_almost_equal

MXNET_DIR = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "mxnet"
NETS = ["mlp_bn", "tiny_convnet"]
FILES = ["net.params", "net-prefixed.params", "model-0000.params"]


def build(name: str):
    """The net of ``name``/net.py, run with framework's nn in place of MXNet's."""
    source = (MXNET_DIR / name / "net.py").read_text()
    scope = {"nn": fw.nn}
    exec(compile(source, str(MXNET_DIR / name / "net.py"), "exec"), scope)
    return scope["net"]


@pytest.mark.parametrize("filename", FILES)
@pytest.mark.parametrize("name", NETS)
def test_mxnet_file_reproduces_mxnet_output(name, filename, ctx):
    folder = MXNET_DIR / name
    net = build(name)
    net.load_parameters(str(folder / filename), ctx=ctx)
    x = nd.array(np.load(folder / "input.npy"), ctx=ctx)
    out = net(x)                                   # predict mode: Dropout off, running stats
    assert out.context == ctx
    assert_almost_equal(out, np.load(folder / "output.npy"), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", NETS)
def test_structural_names_match_mxnet(name, tmp_path):
    """save_parameters writes the names MXNet's save_parameters wrote."""
    folder = MXNET_DIR / name
    meta = json.loads((folder / "meta.json").read_text())
    net = build(name)
    net.load_parameters(str(folder / "net.params"))
    path = str(tmp_path / "again.params")
    net.save_parameters(path)
    assert sorted(nd.load(path)) == sorted(meta["save_parameters_keys"])
    again = build(name)
    again.load_parameters(path)
    x = nd.array(np.load(folder / "input.npy"))
    assert_almost_equal(again(x), np.load(folder / "output.npy"), rtol=1e-5, atol=1e-5)
