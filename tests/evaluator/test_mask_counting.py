"""Fast paths of the mask kinds give exactly what the plain ones give:
``evaluator.counting.bincount_codes`` vs ``np.bincount``, the unsigned
confusion path vs boolean selection, ``images.png_uint8`` vs Pillow."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

import evaluator.counting as counting
from evaluator.counting import bincount_codes
from evaluator.images import decode, png_uint8
from evaluator.masks import _confusion_unsigned, _valid


@pytest.mark.parametrize("chunk", [16, 1 << 18])
def test_bincount_codes_equals_numpy(monkeypatch, chunk):
    monkeypatch.setattr(counting, "CHUNK", chunk)
    rng = np.random.default_rng(0)
    for trial in range(400):
        n = int(rng.integers(0, 3000))
        hi = int(rng.choice([1, 2, 3, 6, 8, 9, 49, 128, 200, 256]))
        a = rng.integers(0, hi, n).astype(rng.choice([np.uint8, np.uint16]))
        if trial % 3 == 0:
            a = a[1:]  # unaligned words
        minlength = int(rng.choice([hi, hi + 1, max(hi - 1, 0), 1, 300]))
        want = np.bincount(a.astype(np.intp), minlength=minlength)
        got = bincount_codes(a, minlength)
        assert got.shape == want.shape and (got == want).all(), (n, hi, minlength)


def _confusion_by_selection(truth, pred, n_true, n_pred, keep):
    valid = _valid(truth, n_true, keep)
    t = truth.ravel() if valid is None else truth[valid]
    p = pred.ravel() if valid is None else pred[valid]
    code = t.astype(np.int64) * n_pred + p
    return np.bincount(code, minlength=n_true * n_pred).reshape(n_true, n_pred)


@pytest.mark.parametrize(
    "n_true,n_pred,dtype", [(2, 2, np.uint8), (6, 7, np.uint8), (20, 21, np.uint8), (300, 301, np.uint16)]
)
def test_unsigned_confusion_equals_selection(n_true, n_pred, dtype):
    rng = np.random.default_rng(n_true)
    for odd in (0, 1):
        shape = (37 + odd, 53)
        truth = rng.integers(0, n_true, shape).astype(dtype)
        truth[rng.random(shape) < 0.1] = np.iinfo(dtype).max  # the ignore index
        pred = rng.integers(0, n_pred, shape).astype(dtype)
        keep = rng.random(shape) < 0.8
        for k in (None, keep):
            got = _confusion_unsigned(truth, pred, n_true, n_pred, k)
            assert (got == _confusion_by_selection(truth, pred, n_true, n_pred, k)).all()


def _png(rows: np.ndarray, colour: int, filters, extra=b"", idat_parts=1) -> bytes:
    """A hand-made 8-bit PNG using the given filter type per row (0-4)."""
    h, w = rows.shape
    x = rows.astype(np.int64)
    raw = bytearray()
    for y in range(h):
        f = filters[y % len(filters)]
        prev = x[y - 1] if y else np.zeros(w, np.int64)
        line = []
        for i in range(w):
            a = x[y, i - 1] if i else 0
            b, c = prev[i], (prev[i - 1] if i else 0)
            if f == 0:
                pr = 0
            elif f == 1:
                pr = a
            elif f == 2:
                pr = b
            elif f == 3:
                pr = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            line.append((x[y, i] - pr) % 256)
        raw += bytes([f] + line)
    data = zlib.compress(bytes(raw))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0))
    if colour == 3:
        out += chunk(b"PLTE", bytes(range(256)) * 3)
    out += extra
    step = -(-len(data) // idat_parts)
    for i in range(0, len(data), step):
        out += chunk(b"IDAT", data[i : i + step])
    return out + chunk(b"IEND", b"")


def _pillow(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im, dtype=np.uint8) if im.mode == "P" else np.asarray(im)


@pytest.mark.parametrize("colour", [0, 3])
@pytest.mark.parametrize("filters", [[0], [1], [2], [3], [4], [0, 1, 2, 3, 4]])
def test_png_uint8_equals_pillow(colour, filters):
    rows = np.random.default_rng(len(filters)).integers(0, 256, (9, 13)).astype(np.uint8)
    text = struct.pack(">I", 3) + b"tEXt" + b"a\x00b" + struct.pack(">I", zlib.crc32(b"tEXta\x00b"))
    for data in (_png(rows, colour, filters), _png(rows, colour, filters, text, idat_parts=3)):
        fast = png_uint8(data)
        assert fast is not None and fast.dtype == np.uint8
        assert (fast == _pillow(data)).all() and (fast == rows).all()
        assert (decode(data, "x") == rows).all()


def test_png_uint8_takes_the_pillow_saved_mask():
    """A mask saved by Pillow (what participants and the bench write) takes the
    fast path: a Pillow upgrade that removes its internals fails here."""
    mask = np.random.default_rng(1).integers(0, 6, (64, 48)).astype(np.uint8)
    for mode in ("L", "P"):
        im = Image.fromarray(mask, mode="L")
        if mode == "P":  # a 256-colour palette, as label-map tools write
            im = im.convert("P")
            im.putpalette(list(range(256)) * 3)
        buf = io.BytesIO()
        im.save(buf, format="PNG")
        fast = png_uint8(buf.getvalue())
        assert fast is not None and (fast == mask).all()
    # a palette of 6 colours is saved 1-bit deep here: Pillow's path, same indices
    buf = io.BytesIO()
    Image.fromarray(mask, mode="P").save(buf, format="PNG")
    assert png_uint8(buf.getvalue()) is None
    assert (decode(buf.getvalue(), "x") == _pillow(buf.getvalue())).all()


def test_png_uint8_leaves_the_unusual_to_pillow():
    rows = np.arange(12 * 10, dtype=np.uint8).reshape(12, 10)
    good = _png(rows, 0, [4])
    assert png_uint8(good) is not None
    bad_crc = bytearray(good)
    bad_crc[29] ^= 1  # IHDR checksum
    truncated = good[: len(good) - 30]
    broken = good.replace(good[41:50], b"\x00" * 9)  # inside the zlib stream
    buf = io.BytesIO()
    Image.fromarray(rows.astype(np.uint16) * 300).save(buf, format="PNG")  # 16-bit
    rgb = io.BytesIO()
    Image.fromarray(np.stack([rows] * 3, -1)).save(rgb, format="PNG")
    for data in (bytes(bad_crc), truncated, broken, buf.getvalue(), rgb.getvalue()):
        assert png_uint8(data) is None


def test_png_uint8_leaves_rows_past_the_stream_end_zero():
    """A zlib stream that ends before the last row: Pillow stops there without
    an error and the rows not reached are 0; png_uint8 gives the same (it left
    them uninitialised before)."""
    rows = np.arange(1, 31, dtype=np.uint8).reshape(6, 5)
    data = _png(rows, 0, [0])
    body = struct.pack(">IIBBBBB", 5, 400, 8, 0, 0, 0, 0)  # IHDR: 400 rows, data for 6
    tall = data[:16] + body + struct.pack(">I", zlib.crc32(b"IHDR" + body)) + data[33:]
    fast = png_uint8(tall)
    assert fast is not None and (fast == _pillow(tall)).all()
    assert (fast[:6] == rows).all() and not fast[6:].any()
