"""Decoding of raster members (PNG, TIFF/GeoTIFF, NPY/NPZ) into numpy arrays.

One place for the rules every raster kind shares: which suffixes count, how a
corrupt file is reported, and how an ``id -> array`` collection is built from a
ZIP, a folder or an NPZ, streaming one array at a time.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import numpy as np

from evaluator.errors import ValidationError
from evaluator.io import Source, preview

IMAGE_SUFFIXES = (".png", ".tif", ".tiff")


def decode(data: bytes, where: str) -> np.ndarray:
    """Array from PNG or TIFF bytes: (H, W) or (H, W, C); dtype kept (16-bit too)."""
    head = data[:8]
    try:
        if head.startswith(b"\x89PNG"):
            from PIL import Image

            # IHDR bit depth (byte 24) and colour type (byte 25): Pillow reads
            # 16-bit colour PNGs as 8-bit, silently; refuse rather than mis-score.
            if len(data) > 25 and data[24] == 16 and data[25] in (2, 4, 6):
                raise ValidationError(
                    f"{where}: 16-bit colour PNG cannot be read losslessly; "
                    "save it as TIFF (16-bit greyscale PNG is fine)"
                )

            with Image.open(io.BytesIO(data)) as im:
                im.load()
                if im.mode == "P":
                    # Palette PNGs (common for label masks) carry class indices.
                    return np.asarray(im, dtype=np.uint8)
                return np.asarray(im)
        if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
            import tifffile

            arr = tifffile.imread(io.BytesIO(data))
            if arr.ndim < 2 or arr.size == 0:
                # tifffile only warns on a broken IFD and returns an empty array.
                raise ValidationError(f"{where}: corrupt or unreadable image (no pixel data)")
            # tifffile returns band-first for some multi-band GeoTIFFs (planar).
            if arr.ndim == 3 and arr.shape[0] < min(arr.shape[1:]) and arr.shape[0] <= 64:
                arr = np.moveaxis(arr, 0, -1)
            return arr
    except ValidationError:
        raise
    except Exception as exc:  # decoder errors come in many types
        raise ValidationError(f"{where}: corrupt or unreadable image ({exc})") from None
    raise ValidationError(f"{where}: not a PNG or TIFF file")


def read_image(source: Source, name: str) -> np.ndarray:
    return decode(source.read_bytes(name), source.where(name))


class ArraySet:
    """``id -> array`` over a ZIP/folder of images or an NPZ/NPY-keyed archive.

    Arrays are decoded on demand, so a split of thousands of masks is held one at
    a time.
    """

    def __init__(self, source: Source, suffixes: tuple[str, ...] = IMAGE_SUFFIXES):
        self.source = source
        files = source.files()
        if len(files) == 1 and files[0].lower().endswith(".npz"):
            self._npz_name = files[0]
            try:
                self._npz = np.load(source.open(files[0]), allow_pickle=False)
                self._members = {k: k for k in self._npz.files}
            except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
                raise ValidationError(f"{source.display}: unreadable NPZ ({exc})") from None
        else:
            self._npz = None
            self._members = source.by_stem(suffixes)
            if not self._members:
                raise ValidationError(
                    f"{source.display}: no {'/'.join(suffixes)} files found"
                )

    def ids(self) -> list[str]:
        return sorted(self._members)

    def where(self, sid: str) -> str:
        if self._npz is not None:
            return f"{self.source.display}[{sid!r}]"
        return self.source.where(self._members[sid])

    def get(self, sid: str) -> np.ndarray:
        if self._npz is not None:
            try:
                return np.asarray(self._npz[sid])
            except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
                # object arrays refused; a truncated or corrupt NPZ member
                raise ValidationError(f"{self.where(sid)}: unreadable array ({exc})") from None
        return read_image(self.source, self._members[sid])

    def check_ids(self, truth_ids: list[str], *, partial: bool = False) -> None:
        """Missing/extra ids → one precise error (first few ids and the count)."""
        have = set(self._members)
        want = set(truth_ids)
        extra = sorted(have - want)
        if extra:
            raise ValidationError(
                f"{self.source.display}: {len(extra)} id(s) not in the test set: "
                f"{preview(extra)}"
            )
        missing = sorted(want - have)
        if missing and not partial:
            raise ValidationError(
                f"{self.source.display}: {len(missing)} test id(s) missing: "
                f"{preview(missing)}"
            )

    def __iter__(self) -> Iterator[tuple[str, np.ndarray]]:
        for sid in self.ids():
            yield sid, self.get(sid)
