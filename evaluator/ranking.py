"""Rank of the true match in a similarity matrix, in bounded memory.

The rank of query ``q``'s true gallery item ``g`` is the number of gallery items
with a similarity *strictly greater* than ``sim[q, g]`` (0 = ranked first). Ties
with the true item therefore do not push it down: this is the optimistic tie rule
METRICS.md fixes for geo-localization (a kind that wants pessimistic ties counts
``>=`` minus one instead).

The matrix is consumed as an iterator of row chunks, so a 10k x 50k float32 matrix
(2 GB) never needs to be in memory at once: only one chunk and its boolean
comparison are alive at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO

import numpy as np

#: Target bytes of one row chunk (the comparison mask adds a quarter of that for
#: float32); small enough for a 2-core worker, large enough for numpy to be fast.
CHUNK_BYTES = 64 * 1024 * 1024


def true_ranks(
    sim_chunks_iter: Iterable[np.ndarray], true_index: np.ndarray
) -> np.ndarray:
    """Rank of the true column of every row, over consecutive row chunks.

    ``sim_chunks_iter`` yields 2-D arrays (rows x gallery) whose rows, in order,
    are the rows of the full matrix; ``true_index[r]`` is the gallery column of
    row ``r``'s true match. Returns an int64 array with, for each row, the count
    of entries strictly greater than the true entry.
    """
    true_index = np.asarray(true_index, dtype=np.int64)
    ranks = np.empty(len(true_index), dtype=np.int64)
    start = 0
    for chunk in sim_chunks_iter:
        chunk = np.asarray(chunk)
        if chunk.ndim != 2:
            raise ValueError(f"chunk must be 2-D, got shape {chunk.shape}")
        stop = start + chunk.shape[0]
        if stop > len(true_index):
            raise ValueError(
                f"more rows ({stop}) than true indices ({len(true_index)})"
            )
        cols = true_index[start:stop]
        true_sim = chunk[np.arange(chunk.shape[0]), cols]
        ranks[start:stop] = np.count_nonzero(chunk > true_sim[:, None], axis=1)
        start = stop
    if start != len(true_index):
        raise ValueError(f"{start} rows for {len(true_index)} true indices")
    return ranks


def chunk_rows(n_cols: int, itemsize: int, budget: int | None = None) -> int:
    """Rows per chunk so that one chunk stays under ``budget`` bytes
    (``CHUNK_BYTES`` by default, read at call time so tests can shrink it)."""
    budget = CHUNK_BYTES if budget is None else budget
    return max(1, budget // max(1, n_cols * itemsize))


def iter_row_chunks(
    matrix: np.ndarray, rows: int | None = None
) -> Iterator[np.ndarray]:
    """Consecutive row blocks of an array or ``np.memmap`` (copied, C-ordered)."""
    n, m = matrix.shape
    rows = rows or chunk_rows(m, matrix.dtype.itemsize)
    for r0 in range(0, n, rows):
        yield np.ascontiguousarray(matrix[r0 : r0 + rows])


def iter_npy_row_chunks(
    fh: IO[bytes], shape: tuple[int, int], dtype: np.dtype, rows: int | None = None
) -> Iterator[np.ndarray]:
    """Row blocks of a C-ordered NPY body read sequentially from a stream.

    ``fh`` must be positioned just after the NPY header. Works on ZIP members
    (no seek, no temporary copy), reading ``rows`` rows at a time.
    """
    n, m = shape
    rows = rows or chunk_rows(m, dtype.itemsize)
    row_bytes = m * dtype.itemsize
    for r0 in range(0, n, rows):
        k = min(rows, n - r0)
        want = k * row_bytes
        buf = _read_exact(fh, want)
        if len(buf) != want:
            raise EOFError(
                f"NPY data ends after {r0 + len(buf) // max(row_bytes, 1)} rows"
            )
        yield np.frombuffer(buf, dtype=dtype).reshape(k, m)


def _read_exact(fh: IO[bytes], n: int) -> bytes:
    parts = []
    left = n
    while left > 0:
        part = fh.read(left)
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)
