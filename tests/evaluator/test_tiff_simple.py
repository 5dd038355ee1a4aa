"""The direct reader of simple TIFFs (evaluator/tiff_simple.py) against tifffile.

Differential: every file below is decoded by ``images._decode_tiff`` (direct reader
where it answers, tifffile otherwise) and by ``images._decode_tiff_tifffile`` alone;
the outcomes must be identical -- same array (shape, dtype, values) or the same
error message. The files are every layout tifffile writes over dtypes, shapes, byte
orders and options, and every single-byte corruption and truncation of small
files' headers and tags. The direct reader must also actually answer for the
common layouts (otherwise the test would pass with it switched off)."""

from __future__ import annotations

import io
import itertools
import struct
import warnings

import numpy as np
import pytest

from evaluator import images, tiff_simple
from evaluator.errors import ValidationError

tifffile = pytest.importorskip("tifffile")

DTYPES = ["uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
          "float16", "float32", "float64", "bool"]
SHAPES = [(5, 7), (40, 33), (5, 7, 1), (5, 7, 2), (5, 7, 3), (5, 7, 4), (3, 5, 7),
          (1, 5, 7), (2, 9, 3), (6, 4, 5)]


def _write(arr, **kw) -> bytes | None:
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tifffile.imwrite(buf, arr, **kw)
    except Exception:  # an option combination tifffile refuses
        return None
    return buf.getvalue()


def _array(dtype: str, shape, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if np.dtype(dtype).kind == "f":
        a = (rng.standard_normal(shape) * 100).astype(dtype)
        a.flat[0] = np.nan
        return a
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)


def _outcome(fn, data: bytes):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = fn(data, "f.tif", None, "shape")
    except ValidationError as exc:
        return ("error", str(exc))
    return ("array", arr.shape, arr.dtype.str, arr.tobytes())


def _same(data: bytes) -> bool:
    """Both paths agree on ``data``; True when the direct reader answered."""
    fast = _outcome(images._decode_tiff, data)
    slow = _outcome(images._decode_tiff_tifffile, data)
    assert fast == slow
    answered = tiff_simple.read(data) is not None
    if answered:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with tifffile.TiffFile(io.BytesIO(data)) as tif:
                assert images.header_shape(data, "f.tif") == images._tiff_layout(tif)
    return answered


def _corpus():
    for dtype, shape, order in itertools.product(DTYPES, SHAPES, "<>"):
        yield f"{dtype}-{shape}-{order}", _write(_array(dtype, shape), byteorder=order)
    base = {"u16": _array("uint16", (9, 6)), "rgb": _array("uint8", (9, 6, 3)),
            "rgba": _array("uint8", (9, 6, 4)), "bands": _array("float32", (4, 9, 6))}
    options = [
        {"metadata": None}, {"description": "a note"}, {"bigtiff": True},
        {"compression": "zlib"}, {"compression": "zlib", "predictor": True},
        {"tile": (16, 16)}, {"rowsperstrip": 1}, {"rowsperstrip": 2},
        {"rowsperstrip": 4, "byteorder": ">"}, {"photometric": "minisblack"},
        {"photometric": "miniswhite"}, {"photometric": "rgb"},
        {"planarconfig": "separate"}, {"planarconfig": "contig"},
        {"extrasamples": ["assocalpha"]}, {"extrasamples": ["unspecified"]},
        {"resolution": (300, 300)}, {"software": None}, {"datetime": True},
        {"subfiletype": 1}, {"contiguous": False},
        {"metadata": None, "description": '{"shape": [9, 6]}'},
        {"metadata": None, "description": '{"shape": [09, 6]}'},  # not JSON: tifffile refuses
    ]
    for (name, arr), opt in itertools.product(base.items(), options):
        yield f"{name}-{opt}", _write(arr, **opt)
    buf = io.BytesIO()
    with tifffile.TiffWriter(buf) as tw:  # two pages
        tw.write(base["u16"])
        tw.write(base["u16"])
    yield "two-pages", buf.getvalue()


def _many_tags(k: int) -> bytes:
    """A 2 x 3 uint8 TIFF whose IFD adds ``k`` Software entries (tifffile refuses
    an IFD of more than 4096 entries)."""
    tags = [(256, 3, 3), (257, 3, 2), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, 0),
            (277, 3, 1), (278, 3, 2), (279, 4, 6)] + [(305, 2, 0)] * k
    pixels = 8 + 2 + 12 * len(tags) + 4
    ifd = b"".join(
        struct.pack("<HHI", tag, kind, 2 if tag == 305 else 1)
        + (b"a\x00\x00\x00" if tag == 305 else struct.pack("<I" if kind == 4 else "<HH",
                                                          *((pixels,) if tag == 273 else (value,) if kind == 4 else (value, 0))))
        for tag, kind, value in tags
    )
    return b"II*\x00" + struct.pack("<IH", 8, len(tags)) + ifd + b"\x00" * 4 + bytes(range(6))


def _more():
    for k in (0, 4087, 4088):  # 4,096 entries in all, then 4,097
        yield f"tags+{k}", _many_tags(k)


CORPUS = [(name, data) for name, data in [*_corpus(), *_more()] if data is not None]


def test_every_layout_tifffile_writes_decodes_identically_and_the_common_ones_directly():
    direct = {name for name, data in CORPUS if _same(data)}
    assert len(CORPUS) > 300
    for name in ("uint16-(40, 33)-<", "uint16-(5, 7)->", "uint8-(5, 7, 3)-<",
                 "float32-(40, 33)-<", "int64-(5, 7)->", "u16-{'rowsperstrip': 1}",
                 "u16-{'metadata': None}", "rgba-{'extrasamples': ['assocalpha']}",
                 "u16-{'resolution': (300, 300)}"):
        assert name in direct, name
    assert "tags+0" in direct and "tags+4087" in direct and "tags+4088" not in direct
    assert "u16-{'metadata': None, 'description': '{\"shape\": [9, 6]}'}" in direct
    for name in ("u16-{'compression': 'zlib'}", "u16-{'tile': (16, 16)}", "two-pages",
                 "u16-{'metadata': None, 'description': '{\"shape\": [09, 6]}'}",
                 "u16-{'bigtiff': True}", "u16-{'description': 'a note'}",
                 "bands-{'planarconfig': 'separate'}"):
        assert name not in direct, name


def test_a_buffer_that_is_not_bytes_is_read_the_same():
    data = _write(_array("uint16", (6, 5)))
    for view in (memoryview(data), bytearray(data)):
        shape, itemsize, load = tiff_simple.read(view)
        assert (shape, itemsize) == ((6, 5), 2)
        assert np.array_equal(load(), tiff_simple.read(data)[2]())


def _small_files():
    yield _write(_array("uint16", (6, 5)))
    yield _write(_array("uint8", (4, 3, 3)), byteorder=">", rowsperstrip=1)
    yield _write(_array("float32", (3, 4)), metadata=None, rowsperstrip=2)


@pytest.mark.parametrize("data", list(_small_files()), ids=["u16", "rgb-be-strips", "f32-strips"])
def test_every_corruption_and_truncation_of_the_header_gives_the_same_outcome(data, monkeypatch):
    # A corrupted height makes tifffile pad a 324-byte file to 150 MB in 20 s; the
    # decoded-size cap refuses it from the header (the same way on both paths).
    monkeypatch.setattr(images, "MAX_IMAGE_BYTES", 1 << 16)
    assert tiff_simple.read(data) is not None  # the direct reader's case
    first_pixel = min(_strip_offsets(data))  # every byte before it is header or tags
    answered = 0
    for pos in range(first_pixel):
        for value in {0, 1, 0xFF, data[pos] ^ 1, data[pos] ^ 0x80}:
            answered += _same(data[:pos] + bytes([value]) + data[pos + 1 :])
    for end in range(len(data)):
        _same(data[:end])
    assert answered > first_pixel  # many corruptions (tag values, text) still read


def _strip_offsets(data: bytes) -> list[int]:
    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        return list(tif.pages[0].dataoffsets)
