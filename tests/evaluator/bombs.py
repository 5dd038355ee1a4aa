"""Small files that inflate to gigabytes, built in milliseconds (issue 18).

- :func:`big_tiff`: a deflated TIFF whose header declares ``n x n`` pixels
  (40,132² is 1.6 MB on disk, 1.6 GB decoded); the compressed tile is made
  once and repeated, so nothing large is ever held by the test.
- :func:`npz_bomb`: an ``.npz`` with one genuinely deflated ``.npy`` member of
  ``n x n`` uint8 zeros (a real bomb: ``np.load`` inflates it), written as a ZIP
  by hand from a repeated full-flush deflate block.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

CHUNK = 1 << 24  # 16 MiB of zeros per repeated deflate block


def big_tiff(path: Path, n: int = 40_132, tile: int = 4096) -> Path:
    import tifffile

    blob = zlib.compress(bytes(tile * tile), 9)
    count = ((n + tile - 1) // tile) ** 2
    tifffile.imwrite(
        path,
        (blob for _ in range(count)),
        shape=(n, n),
        dtype=np.uint8,
        tile=(tile, tile),
        compression="zlib",
    )
    return path


def _deflated_zeros(prefix: bytes, n_zeros: int) -> tuple[bytes, int]:
    """Raw deflate stream and CRC-32 of ``prefix + bytes(n_zeros)``."""
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts = [co.compress(prefix)]
    crc = zlib.crc32(prefix)
    zeros = bytes(CHUNK)
    full, rest = divmod(n_zeros, CHUNK)
    if full:
        parts.append(co.compress(zeros) + co.flush(zlib.Z_FULL_FLUSH))
        crc = zlib.crc32(zeros, crc)
    if full > 1:
        # After a full flush the compressor starts afresh: the same input gives
        # the same bytes, so one block stands for every further chunk.
        block = co.compress(zeros) + co.flush(zlib.Z_FULL_FLUSH)
        crc = zlib.crc32(zeros, crc)
        parts.append(block * (full - 1))
        for _ in range(full - 2):
            crc = zlib.crc32(zeros, crc)
    parts.append(co.compress(bytes(rest)) + co.flush())
    crc = zlib.crc32(bytes(rest), crc)
    return b"".join(parts), crc


def zip_deflated(path: Path, members: list[tuple[str, bytes, int]]) -> Path:
    """A ZIP of deflated members ``(name, prefix, n_zeros)``, written by hand."""
    body, central = b"", b""
    for name, prefix, n_zeros in members:
        data, crc = _deflated_zeros(prefix, n_zeros)
        usize = len(prefix) + n_zeros
        fn = name.encode()
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(data), usize, len(fn),
            0, 0, 0, 0, 0, len(body),
        ) + fn
        body += struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(data), usize,
            len(fn), 0,
        ) + fn + data
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central),
        len(body), 0,
    )
    path.write_bytes(body + central + end)
    return path


def zip_one_deflated(path: Path, name: str, prefix: bytes, n_zeros: int) -> Path:
    return zip_deflated(path, [(name, prefix, n_zeros)])


def npy_header(shape: tuple[int, ...], dtype: str = "|u1") -> bytes:
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": dtype, "fortran_order": False, "shape": shape}
    )
    return buf.getvalue()


def npz_bomb(path: Path, key: str, n: int = 40_000) -> Path:
    return zip_one_deflated(path, f"{key}.npy", npy_header((n, n)), n * n)
