"""An uncompressed, single-page, striped TIFF read straight from its bytes.

tifffile parses every tag of every page and builds a series before it reads a
pixel: about 0.2 ms per file, as long as cPSNR's whole shift search on a 128 x 128
image. Most super-resolution files are the simplest TIFF there is (one page, no
compression, chunky samples, strips), so :func:`read` parses that case in a few
microseconds and answers None -- "use tifffile" -- for anything else: BigTIFF,
more than one page, compression, tiles, planar bands, a predictor, a photometric
other than grey or RGB, bit depths other than 8/16/32/64, an ImageDescription that
is not tifffile's own ``{"shape": ...}`` equal to the page, any tag outside a short
list, and every inconsistency (offsets past the end, strips that do not add up to
the image). tifffile then reads the file and reports its errors, as before.

Where :func:`read` answers, the array equals tifffile's ``TiffFile.asarray()``:
same shape, dtype (native byte order) and values. ``tests/evaluator/
test_tiff_simple.py`` checks that on every layout tifffile writes and on every
single-byte corruption of a file's header and tags.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable

import numpy as np

_BYTE_ORDER = {b"II*\x00": "<", b"MM\x00*": ">"}
# SHORT and LONG (struct code, bytes): the types of the layout tags. Any other type
# is left to tifffile (it reads a BYTE-typed layout tag as bytes and fails).
_UNSIGNED = {3: ("H", 2), 4: ("I", 4)}
_SAMPLE_KIND = {1: "u", 2: "i", 3: "f"}  # SampleFormat -> numpy kind
# The tags read below, and the ones whose presence does not change what tifffile
# reads from such a file: resolution, software, date, GeoTIFF's and GDAL's.
_LAYOUT = {256, 257, 258, 259, 262, 270, 273, 277, 278, 279, 284, 317, 338, 339}
_HARMLESS = {254, 282, 283, 296, 305, 306, 33550, 33922, 34264, 34735, 34736, 34737,
             42112, 42113}
# tifffile's own description of a plain array, e.g. {"shape": [128, 128]}.
_SHAPED = re.compile(rb'\{"shape": \[((?:0|[1-9]\d{0,8})(?:, (?:0|[1-9]\d{0,8}))*)\]\}')


def _values(data: bytes, order: str, entry: int) -> tuple[int, ...] | None:
    """The integers of one IFD entry (SHORT or LONG); None for another type or an
    out-of-file value."""
    ftype, count, inline = struct.unpack_from(order + "HII", data, entry + 2)
    if ftype not in _UNSIGNED or count == 0:
        return None
    code, width = _UNSIGNED[ftype]
    size = width * count
    start = entry + 8 if size <= 4 else inline
    if start + size > len(data):
        return None
    return struct.unpack_from(f"{order}{count}{code}", data, start)


def _description_shape(data: bytes, order: str, entry: int) -> tuple[int, ...] | None:
    ftype, count, inline = struct.unpack_from(order + "HII", data, entry + 2)
    if ftype != 2 or count == 0:
        return None
    start = entry + 8 if count <= 4 else inline
    if start + count > len(data):
        return None
    found = _SHAPED.fullmatch(bytes(data[start : start + count]).rstrip(b"\x00"))
    return tuple(int(s) for s in found[1].split(b",")) if found else None


def read(data: bytes) -> tuple[tuple[int, ...], int, Callable[[], np.ndarray]] | None:
    """``(shape, bytes per sample, load)`` of a simple TIFF, or None.

    ``shape`` is tifffile's series shape ((H, W) or (H, W, samples)); ``load()``
    returns the pixels, a new writable array in native byte order. Nothing is
    decoded before ``load`` is called, so the caller checks the size first."""
    order = _BYTE_ORDER.get(bytes(data[:4]))
    if order is None or len(data) < 16:
        return None
    try:
        ifd = struct.unpack_from(order + "I", data, 4)[0]
        n = struct.unpack_from(order + "H", data, ifd)[0]
        if ifd < 8 or n > 4096 or ifd + 2 + 12 * n + 4 > len(data):
            return None  # (tifffile refuses more than 4096 tags)
        if struct.unpack_from(order + "I", data, ifd + 2 + 12 * n)[0] != 0:
            return None  # a second page
        tags: dict[int, tuple[int, ...] | None] = {}
        description = None
        for k in range(n):
            entry = ifd + 2 + 12 * k
            code = struct.unpack_from(order + "H", data, entry)[0]
            if code in tags or (code == 270 and description is not None):
                return None  # a repeated tag
            if code == 270:
                description = _description_shape(data, order, entry) or ()
            elif code in _LAYOUT:
                tags[code] = _values(data, order, entry)
            elif code == 254:
                if _values(data, order, entry) != (0,):
                    return None  # a reduced-resolution or mask page
            elif code not in _HARMLESS:
                return None
        return _layout(data, order, tags, description)
    except struct.error:
        return None


def _one(tags: dict, code: int, default: int | None = None) -> int | None:
    if code not in tags:
        return default
    values = tags[code]
    return values[0] if values is not None and len(values) == 1 else None


def _uniform(tags: dict, code: int, samples: int, default: int) -> int | None:
    """A per-sample tag whose values are all equal (one value or one per sample)."""
    if code not in tags:
        return default
    values = tags[code]
    if values is None or len(values) not in (1, samples) or len(set(values)) != 1:
        return None
    return values[0]


def _layout(data: bytes, order: str, tags: dict, description) -> tuple | None:
    width, height = _one(tags, 256), _one(tags, 257)
    samples = _one(tags, 277, 1)
    if not width or not height or not samples:
        return None
    bits = _uniform(tags, 258, samples, 1)
    fmt = _uniform(tags, 339, samples, 1)
    colour = {1: 1, 2: 3}.get(_one(tags, 262))  # grey or RGB: samples before extras
    extra = tags.get(338, ())
    if (
        colour is None
        or samples < colour
        or extra is None
        or len(extra) != (samples - colour if 338 in tags else 0)
        or _one(tags, 259, 1) != 1  # compressed
        or (samples > 1 and _one(tags, 284, 1) != 1)  # planar bands
        or _one(tags, 317, 1) != 1  # a predictor
        or bits not in (8, 16, 32, 64)
        or fmt not in _SAMPLE_KIND
        or (fmt == 3 and bits == 8)
    ):
        return None
    shape = (height, width) if samples == 1 else (height, width, samples)
    if description is not None and description != shape:
        return None  # another series shape, or a description tifffile may read
    offsets, counts = tags.get(273), tags.get(279)
    if not offsets or not counts or len(offsets) != len(counts):
        return None
    itemsize = bits // 8
    row = width * samples * itemsize
    per_strip = min(_one(tags, 278, height) or 0, height)
    if per_strip <= 0 or len(offsets) != -(-height // per_strip):
        return None
    expected = [per_strip * row] * (len(offsets) - 1)
    expected.append((height - per_strip * (len(offsets) - 1)) * row)
    if list(counts) != expected or any(
        o < 8 or o + c > len(data) for o, c in zip(offsets, counts, strict=True)
    ):
        return None
    dtype = np.dtype(f"{order}{_SAMPLE_KIND[fmt]}{itemsize}")

    def load() -> np.ndarray:
        if len(offsets) == 1:
            raw = np.frombuffer(data, dtype, height * width * samples, offsets[0])
        else:
            raw = np.concatenate([np.frombuffer(data, dtype, c // itemsize, o)
                                  for o, c in zip(offsets, counts, strict=True)])
        return raw.reshape(shape).astype(dtype.newbyteorder("="), copy=True)

    return shape, itemsize, load
