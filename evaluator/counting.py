"""Exact histograms of small unsigned codes, the inner loop of the mask kinds.

A confusion matrix of two masks is the histogram of ``truth * K + pred``;
``np.bincount`` is by far the slowest step of that (it converts its input to a
fresh 8-byte intp array, then increments one counter per pixel: ~1.5 ns a
pixel, where an elementwise uint8 operation costs ~0.03 ns). Two things make
it cheaper without changing a single count:

- Packing: with all codes below ``k``, 2 (or, for ``k <= 8``, 4) adjacent uint8
  codes are read as one uint16 (uint32) word and turned into one index
  ``a + k*b`` (``a + k*b + k²*c + k³*d``) with a few vectorised integer
  operations; the histogram of those indices, summed over all but one of its
  axes, is the histogram of each position, and the sum over positions is the
  histogram of the codes. Half (a quarter) as many counter increments.
- The intp conversion goes into a per-thread buffer reused across masks (at
  most :data:`CHUNK` elements, 2 MB; larger inputs are counted in chunks), so
  no mask pays fresh page faults for it.

Anything else (wider codes, a code not below ``n_codes``) takes the plain
``np.bincount`` path, which returns what ``np.bincount`` returns.
"""

from __future__ import annotations

import threading
from functools import lru_cache

import numpy as np

CHUNK = 1 << 18  # elements per bincount pass (a 2 MB intp buffer)
_MIN_PACKED = 64  # below this, packing costs more than it saves

_scratch = threading.local()


def bincount_codes(codes: np.ndarray, n_codes: int) -> np.ndarray:
    """``np.bincount(codes.ravel(), minlength=n_codes)`` as intp, same integers."""
    flat = np.ascontiguousarray(codes).reshape(-1)
    if flat.dtype != np.uint8 or flat.size < _MIN_PACKED or not 1 <= n_codes <= 128:
        return _plain(flat, n_codes)
    if int(flat.max()) >= n_codes:
        return _plain(flat, n_codes)
    group = 4 if n_codes <= 8 else 2
    body = flat.size - flat.size % group
    hist = _packed(flat[:body], n_codes, group)
    if body < flat.size:
        hist += np.bincount(flat[body:], minlength=n_codes)
    return hist


def _buffer(size: int) -> np.ndarray:
    buf = getattr(_scratch, "buf", None)
    if buf is None or buf.size < size:
        buf = np.empty(max(size, 1), dtype=np.intp)
        _scratch.buf = buf
    return buf[:size]


def _plain(flat: np.ndarray, minlength: int) -> np.ndarray:
    if flat.dtype.kind != "u":  # negative values: let np.bincount raise
        return np.bincount(flat, minlength=minlength)
    total = np.zeros(minlength, dtype=np.intp)
    for start in range(0, flat.size, CHUNK):
        part = flat[start : start + CHUNK]
        buf = _buffer(part.size)
        np.copyto(buf, part, casting="unsafe")
        counts = np.bincount(buf, minlength=minlength)
        if counts.size > total.size:  # a code at or past minlength
            counts[: total.size] += total
            total = counts
        else:
            total[: counts.size] += counts
    return total


@lru_cache(maxsize=16)
def _masks(group: int) -> tuple[type, int]:
    return (np.uint16, 0xFF) if group == 2 else (np.uint32, 0x00FF00FF)


def _packed(flat: np.ndarray, k: int, group: int) -> np.ndarray:
    """Histogram of uint8 codes all < ``k``; ``flat.size`` a multiple of ``group``."""
    word, low = _masks(group)
    words = flat.view(word)
    n_bins = k**group
    grid = np.zeros(n_bins, dtype=np.intp)
    for start in range(0, words.size, CHUNK):
        w = words[start : start + CHUNK]
        buf = _buffer(w.size)
        hi = w >> 8
        if group == 2:  # w = a + 256 b  ->  a + k b
            hi *= k
            lo = w & low
        else:  # w = a + 256 b + 65536 c + 2**24 d  ->  a + k b + k² c + k³ d
            hi &= low
            hi *= k
            lo = w & low
            lo += hi  # (a + k b) + (c + k d) << 16; both halves < k² <= 64
            hi = lo >> 16
            hi *= k * k
            lo &= 0xFFFF
        np.add(lo, hi, out=buf, casting="unsafe")
        grid += np.bincount(buf, minlength=n_bins)
    grid = grid.reshape((k,) * group)
    hist = np.zeros(k, dtype=np.intp)
    for axis in range(group):
        hist += grid.sum(axis=tuple(a for a in range(group) if a != axis))
    return hist


@lru_cache(maxsize=64)
def const_row(width: int, value: int, dtype: str) -> np.ndarray:
    """A read-only row of ``value`` to broadcast against masks of that width:
    ``np.minimum(mask, row)`` runs vectorised, ``np.minimum(mask, scalar)``
    about ten times slower (numpy 2.4, uint8)."""
    row = np.full(width, value, dtype=dtype)
    row.flags.writeable = False
    return row


def clip_max(arr: np.ndarray, value: int) -> np.ndarray:
    """``np.minimum(arr, value)`` as a new array of ``arr``'s dtype."""
    if arr.ndim == 0 or arr.shape[-1] > 1 << 16:
        return np.minimum(arr, arr.dtype.type(value))
    return np.minimum(arr, const_row(arr.shape[-1], value, arr.dtype.str))
