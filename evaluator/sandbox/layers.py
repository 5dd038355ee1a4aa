"""Count what each layer of an image archive becomes once the engine unpacks it.

``docker load`` inflates compressed layers (gzip, bzip2, xz, zstd are detected
by their magic bytes, whatever the member is called) and unpacks every layer
tar onto the engine's disk. The outer archive's headers say nothing about
that, so a 5 MB upload could store gigabytes. :func:`inspect_member` streams a
member once, inflating it when compressed, and charges

- the inflated bytes, and the apparent size of every file inside the layer
  (a sparse member costs its full size once unpacked),
- the number of entries inside the layer,

against the caps, raising :class:`ValidationError` the moment one is crossed
(nothing is inflated past the cap, nothing is written anywhere).
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import zlib
from dataclasses import dataclass

from evaluator.errors import ValidationError

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)
_HEAD = 512  # one tar header: enough for every magic and for "ustar" at 257
_CHUNK = 1 << 20


@dataclass
class LayerBudget:
    """What is left of the caps while the outer archive is being scanned."""

    max_member_bytes: int
    layer_members_left: int


class _Capped(io.RawIOBase):
    """Reads from ``source``, raising as soon as more than ``limit`` bytes came."""

    def __init__(self, source, limit: int, on_over):
        self._src = source
        self._limit = limit
        self._over = on_over
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        data = self._src.read(min(len(b), _CHUNK))
        n = len(data)
        self.count += n
        if self.count > self._limit:
            self._over(self.count)
        b[:n] = data
        return n


class _Prefixed(io.RawIOBase):
    """``head`` followed by the rest of ``source``."""

    def __init__(self, head: bytes, source):
        self._head = head
        self._src = source

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self._head:
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._src.read(len(b))
        b[: len(data)] = data
        return len(data)


def compression_of(head: bytes) -> str | None:
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def _is_tar(head: bytes) -> bool:
    return len(head) >= 262 and head[257:262] == b"ustar"


def _drain(stream) -> None:
    while stream.read(_CHUNK):
        pass


def inspect_member(
    fh,
    name: str,
    archive: str,
    limit: int,
    budget: LayerBudget,
    reason: str = "the image size limit",
) -> int:
    """Stream one archive member; returns the bytes it costs once unpacked.

    ``limit`` is the most it may cost (what is left of the total cap, and the
    per-file cap). Compressed members are inflated through a counter; tar
    members (layers) are walked, counting their entries and file sizes.
    """
    head = fh.read(_HEAD)
    kind = compression_of(head)
    raw = io.BufferedReader(_Prefixed(head, fh), _CHUNK)

    def over(n: int) -> None:
        what = f"inflates ({kind}) to" if kind else "unpacks to"
        raise ValidationError(
            f"{archive}: layer {name!r} {what} more than {limit} bytes, over "
            f"{reason} (counted before loading)"
        )

    if kind == "zstd":
        raise ValidationError(
            f"{archive}: layer {name!r} is zstd-compressed; not accepted "
            "(save the image with `docker save`, whose layers are plain tar)"
        )
    if kind is None and not _is_tar(head):
        return 0  # config, index, plain data: the outer header counted it
    opener = {"gzip": gzip.GzipFile, "bzip2": bz2.BZ2File, "xz": lzma.LZMAFile}
    try:
        inflated = (
            (opener[kind](fileobj=raw) if kind == "gzip" else opener[kind](raw))
            if kind
            else raw
        )
        counted = _Capped(inflated, limit, over)
        stream = io.BufferedReader(counted, _CHUNK)
        apparent = _walk_layer(stream, name, archive, limit, budget, over)
        _drain(stream)  # trailing data is inflated by the engine too
    except (
        OSError,
        EOFError,
        zlib.error,
        lzma.LZMAError,
        tarfile.TarError,
        ValueError,
    ) as exc:
        raise ValidationError(
            f"{archive}: layer {name!r} is corrupt ({kind or 'tar'}: {exc})"
        ) from None
    return max(counted.count, apparent)


def _walk_layer(stream, name, archive, limit, budget: LayerBudget, over) -> int:
    """Entries and apparent file sizes inside a layer tar (0 when not a tar)."""
    head = stream.read(_HEAD)  # a buffered read: full unless the stream ends
    if not _is_tar(head):
        return 0
    apparent = 0
    tar = tarfile.open(fileobj=_Prefixed(head, stream), mode="r|")
    for info in tar:
        budget.layer_members_left -= 1
        if budget.layer_members_left < 0:
            raise ValidationError(
                f"{archive}: layer {name!r} brings the image over the limit of "
                "files inside its layers"
            )
        if info.isreg():
            if info.size > budget.max_member_bytes:
                raise ValidationError(
                    f"{archive}: layer {name!r} holds {info.name!r} of {info.size} "
                    f"bytes, over the per-file limit of {budget.max_member_bytes}"
                )
            apparent += info.size
            if apparent > limit:
                over(apparent)
    return apparent
