"""fw.recordio: MXNet's RecordIO format byte for byte, indexed files, image records."""
import os
import pickle
import struct

import numpy as np
import pytest

from framework import recordio
from framework.recordio import IRHeader, MXIndexedRecordIO, MXRecordIO, pack, unpack

MAGIC = 0xCED7230A


def head(cflag, length):
    """A record part's header as dmlc-core writes it: magic, then cflag << 29 | length."""
    return struct.pack("<II", MAGIC, cflag << 29 | length)


def test_bytes_of_plain_records_match_mxnet_format(tmp_path):
    path = tmp_path / "plain.rec"
    rec = MXRecordIO(path, "w")
    for payload in (b"abc", b"", b"abcd", b"hello world"):
        rec.write(payload)
    rec.close()
    expected = (head(0, 3) + b"abc\0" + head(0, 0) + head(0, 4) + b"abcd"
                + head(0, 11) + b"hello world\0")
    assert path.read_bytes() == expected


def test_payload_holding_the_magic_word_is_cut_into_parts(tmp_path):
    """Aligned magic words split the record (cflag 1 first, 2 middle, 3 last); an unaligned
    one is plain data."""
    magic = struct.pack("<I", MAGIC)
    payload = b"1234" + magic + b"5678" + magic + b"xy"
    unaligned = b"ab" + magic + b"c"
    path = tmp_path / "magic.rec"
    with MXRecordIO(path, "w") as rec:
        rec.write(payload)
        rec.write(unaligned)
        rec.write(magic)
    expected = (head(1, 4) + b"1234" + head(2, 4) + b"5678" + head(3, 2) + b"xy\0\0"
                + head(0, 7) + unaligned + b"\0"
                + head(1, 0) + head(3, 0))
    assert path.read_bytes() == expected
    reader = MXRecordIO(path, "r")
    assert [reader.read(), reader.read(), reader.read(), reader.read()] == [
        payload, unaligned, magic, None]


def test_reads_a_file_written_by_mxnet(tmp_path):
    """Bytes laid out as MXNet's writer lays them out (handmade) read back as the records."""
    path = tmp_path / "mx.rec"
    path.write_bytes(head(0, 8) + b"record_0" + head(0, 5) + b"abcde\0\0\0")
    reader = MXRecordIO(str(path), "r")
    assert reader.read() == b"record_0"
    assert reader.read() == b"abcde"
    assert reader.read() is None
    reader.reset()
    assert reader.read() == b"record_0"
    reader.close()


def test_round_trip_of_many_records(tmp_path):
    rng = np.random.RandomState(0)
    records = [rng.bytes(int(n)) for n in rng.randint(0, 300, size=50)]
    records.append(struct.pack("<I", MAGIC) * 5)
    path = str(tmp_path / "many.rec")
    with MXRecordIO(path, "w") as rec:
        for r in records:
            rec.write(r)
    reader = MXRecordIO(path, "r")
    assert [reader.read() for _ in records] == records
    assert reader.read() is None


def test_indexed_file_offsets_and_index_text_as_mxnet(tmp_path):
    idx, rec_path = tmp_path / "t.idx", tmp_path / "t.rec"
    rec = MXIndexedRecordIO(idx, rec_path, "w")
    tells = []
    for i in range(5):
        rec.write_idx(i, b"record_%d" % i)
        tells.append(rec.tell())
    rec.close()
    assert tells == [16, 32, 48, 64, 80]          # MXNet's tell() docstring
    assert idx.read_text() == "".join(f"{i}\t{16 * i}\n" for i in range(5))
    reader = MXIndexedRecordIO(str(idx), str(rec_path), "r")
    assert reader.keys == [0, 1, 2, 3, 4]
    assert reader.read_idx(3) == b"record_3"
    assert reader.read_idx(0) == b"record_0"
    with pytest.raises(KeyError, match="no record with key 9"):
        reader.read_idx(9)


def test_string_keys(tmp_path):
    rec = MXIndexedRecordIO(tmp_path / "s.idx", tmp_path / "s.rec", "w", key_type=str)
    rec.write_idx("cat", b"meow")
    rec.write_idx("dog", b"woof")
    rec.close()
    reader = MXIndexedRecordIO(tmp_path / "s.idx", tmp_path / "s.rec", "r", key_type=str)
    assert reader.keys == ["cat", "dog"]
    assert reader.read_idx("dog") == b"woof"


def test_writes_are_atomic(tmp_path):
    path = tmp_path / "a.rec"
    with MXRecordIO(path, "w") as rec:
        rec.write(b"old")
    before = path.read_bytes()
    rec = MXRecordIO(path, "w")
    rec.write(b"new data")
    assert path.read_bytes() == before               # nothing visible before close
    rec.close()
    assert MXRecordIO(path, "r").read() == b"new data"
    with pytest.raises(RuntimeError, match="boom"):
        with MXIndexedRecordIO(tmp_path / "a.idx", path, "w") as rec:
            rec.write_idx(0, b"half")
            raise RuntimeError("boom")
    assert MXRecordIO(path, "r").read() == b"new data"
    assert not (tmp_path / "a.idx").exists()
    assert sorted(os.listdir(tmp_path)) == ["a.rec"]  # no temporary files left


def test_reader_pickles_as_its_path(tmp_path):
    rec = MXIndexedRecordIO(tmp_path / "p.idx", tmp_path / "p.rec", "w")
    rec.write_idx(0, b"zero")
    rec.write_idx(1, b"one")
    with pytest.raises(TypeError, match="open for writing"):
        pickle.dumps(rec)
    rec.close()
    reader = MXIndexedRecordIO(tmp_path / "p.idx", tmp_path / "p.rec", "r")
    reader.read_idx(1)
    clone = pickle.loads(pickle.dumps(reader))
    assert clone.read_idx(1) == b"one" and clone.read_idx(0) == b"zero"


def test_errors_name_the_file_and_the_problem(tmp_path):
    with pytest.raises(ValueError, match="flag must be 'r' or 'w'"):
        MXRecordIO(tmp_path / "x.rec", "a")
    with pytest.raises(FileNotFoundError, match="missing.rec"):
        MXRecordIO(tmp_path / "missing.rec", "r")
    bad = tmp_path / "bad.rec"
    bad.write_bytes(b"not a record file")
    with pytest.raises(ValueError, match=r"bad\.rec.*magic number 0xced7230a at offset 0"):
        MXRecordIO(bad, "r").read()
    cut = tmp_path / "cut.rec"
    cut.write_bytes(head(0, 10) + b"abc")
    with pytest.raises(ValueError, match=r"truncated.*needs 12 bytes"):
        MXRecordIO(cut, "r").read()
    writer = MXRecordIO(tmp_path / "w.rec", "w")
    with pytest.raises(TypeError, match="bytes-like, got str"):
        writer.write("text")
    with pytest.raises(ValueError, match="needs flag 'r'"):
        writer.read()
    writer.close()
    (tmp_path / "i.rec").write_bytes(b"")
    (tmp_path / "i.idx").write_text("0\t0\nbroken line\n")
    with pytest.raises(ValueError, match=r"line 2 of the index"):
        MXIndexedRecordIO(tmp_path / "i.idx", tmp_path / "i.rec", "r")


def test_pack_single_label_bytes():
    packed = pack(IRHeader(0, 4, 2574, 0), b"payload")
    assert packed == struct.pack("<IfQQ", 0, 4.0, 2574, 0) + b"payload"
    header, s = unpack(packed)
    assert header == IRHeader(0, 4.0, 2574, 0) and s == b"payload"


def test_pack_multi_label_bytes():
    packed = pack(IRHeader(0, [1.5, 2, 3], 7, 1), b"xy")
    assert packed == (struct.pack("<IfQQ", 3, 0.0, 7, 1)
                      + np.array([1.5, 2, 3], "<f4").tobytes() + b"xy")
    header, s = unpack(packed)
    assert header.flag == 3 and header.id == 7 and header.id2 == 1 and s == b"xy"
    np.testing.assert_array_equal(header.label, np.array([1.5, 2, 3], np.float32))
    assert header.label.dtype == np.float32
    with pytest.raises(ValueError, match="shorter than the 24-byte IRHeader"):
        unpack(b"short")


def test_pack_img_unpack_img_png_round_trip_keeps_bgr():
    import PIL  # noqa: F401  (Pillow is in the dev extra: these tests run, never skip)
    rng = np.random.RandomState(0)
    bgr = rng.randint(0, 256, size=(6, 5, 3)).astype(np.uint8)
    packed = recordio.pack_img(IRHeader(0, 2.0, 11, 0), bgr, quality=3, img_fmt=".png")
    header, img = recordio.unpack_img(packed)
    assert header.label == 2.0 and header.id == 11
    np.testing.assert_array_equal(img, bgr)
    _, colour = recordio.unpack_img(packed, iscolor=1)
    np.testing.assert_array_equal(colour, bgr)
    _, grey = recordio.unpack_img(packed, iscolor=0)
    expected = (0.299 * bgr[..., 2] + 0.587 * bgr[..., 1] + 0.114 * bgr[..., 0])
    assert grey.shape == (6, 5) and np.abs(grey - expected).max() <= 1.0
    g = rng.randint(0, 256, size=(4, 7)).astype(np.uint8)
    _, back = recordio.unpack_img(recordio.pack_img(IRHeader(0, 0, 0, 0), g, img_fmt=".png"))
    np.testing.assert_array_equal(back, g)
    # the payload is a real PNG (what MXNet's cv2.imencode would store)
    assert unpack(packed)[1][:8] == b"\x89PNG\r\n\x1a\n"


def test_pack_img_jpeg():
    bgr = np.zeros((16, 16, 3), np.uint8)
    bgr[..., 0] = 200           # blue
    packed = recordio.pack_img(IRHeader(0, [1, 2], 3, 0), bgr, quality=95)
    header, img = recordio.unpack_img(packed)
    np.testing.assert_array_equal(header.label, [1, 2])
    assert unpack(packed)[1][:2] == b"\xff\xd8"
    assert img.shape == (16, 16, 3) and abs(int(img[..., 0].mean()) - 200) <= 3
    assert img[..., 2].mean() < 5
    with pytest.raises(ValueError, match="expected uint8"):
        recordio.pack_img(IRHeader(0, 0, 0, 0), np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="img_fmt"):
        recordio.pack_img(IRHeader(0, 0, 0, 0), bgr, img_fmt=".bmp")


def test_missing_pillow_message(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_pil(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("No module named 'PIL'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pil)
    with pytest.raises(ImportError, match=r"pip install 'framework\[vision\]'"):
        recordio.unpack_img(pack(IRHeader(0, 0, 0, 0), b"x"))
