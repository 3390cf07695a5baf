"""fw.utils: split_data / split_and_load, clip_global_norm, check_sha1, download
(no network: file:// URLs and a local http.server thread)."""
import functools
import hashlib
import http.server
import math
import threading

import numpy
import pytest

import framework as fw
from framework import utils


# ---------------------------------------------------------------- splitting
def test_split_data_even_and_uneven():
    x = numpy.arange(10 * 3, dtype=numpy.float32).reshape(10, 3)
    data = fw.nd.array(x)
    parts = utils.split_data(data, 5)
    assert [p.shape for p in parts] == [(2, 3)] * 5
    numpy.testing.assert_array_equal(numpy.concatenate([p.asnumpy() for p in parts]), x)
    parts = utils.split_data(data, 3, even_split=False)       # extras go to the first slices
    assert [p.shape[0] for p in parts] == [4, 3, 3]
    numpy.testing.assert_array_equal(parts[1].asnumpy(), x[4:7])
    assert len(utils.split_data(data, 1)) == 1


def test_split_data_other_axis():
    x = numpy.arange(2 * 7 * 2, dtype=numpy.float32).reshape(2, 7, 2)
    parts = utils.split_data(fw.nd.array(x), 2, batch_axis=1, even_split=False)
    assert [p.shape for p in parts] == [(2, 4, 2), (2, 3, 2)]
    numpy.testing.assert_array_equal(parts[1].asnumpy(), x[:, 4:])
    parts = utils.split_data(fw.nd.array(x), 7, batch_axis=-2)
    numpy.testing.assert_array_equal(parts[6].asnumpy(), x[:, 6:7])


def test_split_data_errors():
    data = fw.nd.zeros((10, 3))
    with pytest.raises(ValueError, match=r"data with shape \(10, 3\) cannot be evenly split "
                                         r"into 3 slices along axis 0"):
        utils.split_data(data, 3)
    with pytest.raises(ValueError, match=r"Too many slices for data with shape \(10, 3\)"):
        utils.split_data(data, 4, batch_axis=1, even_split=False)
    with pytest.raises(ValueError, match="batch_axis 2 is out of range"):
        utils.split_data(data, 2, batch_axis=2)
    with pytest.raises(ValueError, match="num_slice must be a positive int, got 0"):
        utils.split_data(data, 0)
    with pytest.raises(TypeError, match="data must be an NDArray"):
        utils.split_data(numpy.zeros((4, 2)), 2)


def test_split_and_load_over_contexts(ctx):
    x = numpy.random.default_rng(0).random((6, 4)).astype(numpy.float32)
    parts = utils.split_and_load(x, [fw.cpu(0), ctx])                 # NumPy input
    assert [p.context for p in parts] == [fw.cpu(0), ctx]
    numpy.testing.assert_array_equal(parts[1].asnumpy(), x[3:])
    single = utils.split_and_load(fw.nd.array(x), [ctx])
    assert len(single) == 1 and single[0].context == ctx and single[0].shape == (6, 4)
    with pytest.raises(ValueError, match="ctx_list is empty"):
        utils.split_and_load(x, [])


def test_split_and_load_is_differentiable():
    x = fw.nd.array(numpy.arange(8, dtype=numpy.float32).reshape(4, 2))
    x.attach_grad()
    with fw.autograd.record():
        parts = utils.split_and_load(x, [fw.cpu(0), fw.cpu(1)])
        heads = [(parts[0] * 2).sum(), (parts[1] * 3).sum()]      # one head per context
    fw.autograd.backward(heads)
    expected = numpy.array([[2, 2], [2, 2], [3, 3], [3, 3]], dtype=numpy.float32)
    numpy.testing.assert_array_equal(x.grad.asnumpy(), expected)


# ---------------------------------------------------------------- clipping
def arrays_of(ctx, *shapes, scale=1.0, dtype=numpy.float32):
    rng = numpy.random.default_rng(len(shapes))
    hosts = [(rng.normal(size=s) * scale).astype(dtype) for s in shapes]
    return hosts, [fw.nd.array(h, ctx=ctx, dtype=dtype) for h in hosts]


def global_norm(hosts):
    return math.sqrt(sum(float((h.astype(numpy.float64) ** 2).sum()) for h in hosts))


@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_global_norm(ctx, max_norm):
    hosts, arrays = arrays_of(ctx, (3, 4), (5,), (2, 2, 2))
    norm = utils.clip_global_norm(arrays, max_norm)
    expected = global_norm(hosts)
    assert isinstance(norm, float) and norm == pytest.approx(expected, rel=1e-6)
    scale = min(max_norm / (expected + 1e-8), 1.0)
    for host, arr in zip(hosts, arrays):
        numpy.testing.assert_allclose(arr.asnumpy(), host * scale, rtol=1e-6)
        assert arr.dtype == numpy.float32
    if max_norm == 0.5:
        assert global_norm([a.asnumpy() for a in arrays]) == pytest.approx(0.5, rel=1e-5)


def test_clip_global_norm_across_contexts_and_without_sync(ctx):
    hosts, first = arrays_of(fw.cpu(0), (4, 3))
    more_hosts, second = arrays_of(ctx, (6,), (2, 5))
    hosts += more_hosts
    arrays = first + second
    norm = utils.clip_global_norm(arrays, 1.0, check_isfinite=False)
    assert isinstance(norm, fw.nd.NDArray)
    assert norm.shape == (1,) and norm.context == fw.cpu(0)
    expected = global_norm(hosts)
    assert norm.asnumpy()[0] == pytest.approx(expected, rel=1e-6)
    for host, arr in zip(hosts, arrays):
        numpy.testing.assert_allclose(arr.asnumpy(), host / (expected + 1e-8), rtol=1e-6)


def test_clip_global_norm_float16(ctx):
    # the sum of squares exceeds float16's range: it is formed in float32
    hosts, arrays = arrays_of(ctx, (300,), scale=30.0, dtype=numpy.float16)
    norm = utils.clip_global_norm(arrays, 1.0)
    assert norm == pytest.approx(global_norm(hosts), rel=1e-3)
    assert arrays[0].dtype == numpy.float16
    numpy.testing.assert_allclose(arrays[0].asnumpy().astype(numpy.float64),
                                  hosts[0] / global_norm(hosts), rtol=2e-3, atol=1e-5)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")   # inf * 0
def test_clip_global_norm_warns_on_nan_and_inf(ctx):
    for bad in (numpy.nan, numpy.inf):
        _, arrays = arrays_of(ctx, (3,))
        arrays[0][1] = bad
        with pytest.warns(UserWarning, match="nan or inf is detected"):
            norm = utils.clip_global_norm(arrays, 1.0)
        assert not math.isfinite(norm)
    with pytest.raises(ValueError, match="arrays is empty"):
        utils.clip_global_norm([], 1.0)
    with pytest.raises(TypeError, match=r"arrays\[0\] must be an NDArray"):
        utils.clip_global_norm([numpy.ones(3)], 1.0)


# ---------------------------------------------------------------- sha1 and download
PAYLOAD = b"framework utils download test\n" * 100
PAYLOAD_SHA1 = hashlib.sha1(PAYLOAD).hexdigest()


@pytest.fixture
def source(tmp_path):
    folder = tmp_path / "server"
    folder.mkdir()
    (folder / "data.bin").write_bytes(PAYLOAD)
    return folder


def test_check_sha1(source):
    assert utils.check_sha1(source / "data.bin", PAYLOAD_SHA1)
    assert not utils.check_sha1(source / "data.bin", "0" * 40)


def test_download_file_url_into_folder_and_file(source, tmp_path):
    url = (source / "data.bin").as_uri()
    folder = tmp_path / "into"
    folder.mkdir()
    got = utils.download(url, path=str(folder), sha1_hash=PAYLOAD_SHA1)
    assert got == str(folder / "data.bin")
    assert (folder / "data.bin").read_bytes() == PAYLOAD
    target = tmp_path / "nested" / "deeper" / "copy.bin"                # folders are made
    assert utils.download(url, path=target) == str(target)
    assert target.read_bytes() == PAYLOAD
    assert sorted(p.name for p in target.parent.iterdir()) == ["copy.bin"]   # no temp left


def test_download_default_path_is_cwd(source, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert utils.download((source / "data.bin").as_uri()) == "data.bin"
    assert (tmp_path / "data.bin").read_bytes() == PAYLOAD
    with pytest.raises(ValueError, match="can't construct a file name"):
        utils.download("file:///tmp/folder/")


def test_download_checksum_mismatch_leaves_nothing(source, tmp_path):
    url = (source / "data.bin").as_uri()
    target = tmp_path / "out" / "data.bin"
    wrong = "f" * 40
    with pytest.raises(utils.DownloadError) as info:
        utils.download(url, path=target, sha1_hash=wrong, retries=2)
    message = str(info.value)
    assert str(target) in message and PAYLOAD_SHA1 in message and wrong in message
    assert list((tmp_path / "out").iterdir()) == []


def test_download_keeps_existing_unless_stale_or_overwrite(source, tmp_path):
    url = (source / "data.bin").as_uri()
    target = tmp_path / "data.bin"
    target.write_bytes(b"old contents")
    assert utils.download(url, path=target) == str(target)             # exists: kept
    assert target.read_bytes() == b"old contents"
    utils.download(url, path=target, sha1_hash=PAYLOAD_SHA1)           # wrong hash: replaced
    assert target.read_bytes() == PAYLOAD
    (source / "data.bin").write_bytes(b"new")
    utils.download(url, path=target, sha1_hash=PAYLOAD_SHA1)           # right hash: kept
    assert target.read_bytes() == PAYLOAD
    utils.download(url, path=target, overwrite=True)
    assert target.read_bytes() == b"new"


def test_download_argument_errors(source, tmp_path):
    with pytest.raises(ValueError, match="number of retries should be at least 0"):
        utils.download((source / "data.bin").as_uri(), path=tmp_path / "x", retries=-1)
    with pytest.warns(UserWarning, match="Unverified HTTPS request"):
        utils.download((source / "data.bin").as_uri(), path=tmp_path / "y", verify_ssl=False)
    assert (tmp_path / "y").read_bytes() == PAYLOAD


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests_seen = []

    def do_GET(self):
        _QuietHandler.requests_seen.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def http_root(source):
    handler = functools.partial(_QuietHandler, directory=str(source))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _QuietHandler.requests_seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_download_over_http_with_retries(http_root, tmp_path, capsys):
    target = tmp_path / "got.bin"
    assert utils.download(http_root + "/data.bin", path=target, sha1_hash=PAYLOAD_SHA1) \
        == str(target)
    assert target.read_bytes() == PAYLOAD
    assert "Downloading" in capsys.readouterr().out
    _QuietHandler.requests_seen = []
    with pytest.raises(utils.DownloadError, match=r"missing\.bin from .* failed after 3 "
                                                  r"attempts: HTTP Error 404"):
        utils.download(http_root + "/missing.bin", path=tmp_path / "missing.bin", retries=3)
    assert _QuietHandler.requests_seen == ["/missing.bin"] * 3
    assert "retrying, 1 attempt left" in capsys.readouterr().out
    assert not (tmp_path / "missing.bin").exists()
    _QuietHandler.requests_seen = []
    with pytest.raises(utils.DownloadError):
        utils.download(http_root + "/missing.bin", path=tmp_path / "missing.bin", retries=0)
    assert len(_QuietHandler.requests_seen) == 1                       # at least one attempt
