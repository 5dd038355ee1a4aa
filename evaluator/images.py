"""Decoding of raster members (PNG, TIFF/GeoTIFF, NPY/NPZ) into numpy arrays.

One place for the rules every raster kind shares: which suffixes count, how a
corrupt file is reported, and how an ``id -> array`` collection is built from a
ZIP, a folder or an NPZ, streaming one array at a time.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from collections.abc import Iterator

import numpy as np

from evaluator import tiff_simple
from evaluator.errors import ValidationError
from evaluator.io import Source, check_zip_members, preview

IMAGE_SUFFIXES = (".png", ".tif", ".tiff")

#: Decoded size above which an image is refused from its header alone, whatever
#: the ground truth (a 40,132² deflated TIFF is 1.5 MB on disk, 1.6 GB decoded).
MAX_IMAGE_BYTES = int(os.environ.get("EARTHBENCH_MAX_IMAGE_BYTES", 1 << 30))
#: Bands a prediction may have beyond the ground truth's before it is refused
#: from its header (an RGB rendering of a mask gets the usual message later).
_SPARE_BANDS = 4

_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def _shape_str(shape) -> str:
    return "x".join(str(s) for s in shape)


def spatial(shape: tuple[int, ...]) -> tuple[tuple[int, int], int]:
    """``((height, width), bands)`` of an array shape as :func:`decode` returns it."""
    if len(shape) < 2:
        return (int(shape[0]) if shape else 0, 1), 1
    bands = 1
    for s in shape[2:]:
        bands *= int(s)
    return (int(shape[0]), int(shape[1])), bands


def header_shape(data: bytes, where: str) -> tuple[tuple[int, ...], int] | None:
    """``(shape, bytes per sample)`` of a PNG or TIFF read from its header only
    (no pixel is decoded), in the layout :func:`decode` returns; None if neither."""
    head = data[:8]
    try:
        if head.startswith(b"\x89PNG"):
            if len(data) < 26 or data[12:16] != b"IHDR":
                raise ValueError("no IHDR header")
            width, height = struct.unpack(">II", data[16:24])
            depth, colour = data[24], data[25]
            channels = _PNG_CHANNELS.get(colour, 4)
            shape = (height, width) if channels == 1 else (height, width, channels)
            return shape, 2 if depth == 16 else 1
        if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
            simple = tiff_simple.read(data)
            if simple is not None:
                return _bands_last(simple[0]), simple[1]
            import tifffile

            with tifffile.TiffFile(io.BytesIO(data)) as tif:
                return _tiff_layout(tif)
    except MemoryError:
        raise
    except Exception as exc:  # header parsers raise assorted types
        raise ValidationError(f"{where}: corrupt or unreadable image ({exc})") from None
    return None


def check_header(
    data: bytes,
    where: str,
    expect: tuple[int, ...] | None = None,
    what: str = "shape",
) -> None:
    """Refuse, before decoding, an image whose header promises a size that is
    over :data:`MAX_IMAGE_BYTES`, or whose height x width differ from
    ``expect`` (the ground truth's shape), or with far more bands than it."""
    found = header_shape(data, where)
    if found is not None:
        check_found(found, where, expect, what)


def check_found(
    found: tuple[tuple[int, ...], int],
    where: str,
    expect: tuple[int, ...] | None = None,
    what: str = "shape",
) -> None:
    """:func:`check_header` on an already read ``(shape, bytes per sample)``."""
    shape, itemsize = found
    (h, w), bands = spatial(shape)
    if expect is not None:
        (eh, ew), ebands = spatial(tuple(expect))
        if (h, w) != (eh, ew):
            raise ValidationError(
                f"{where}: {what} {h}x{w} differs from the ground truth {eh}x{ew} "
                "(height x width, read from the file header)"
            )
        if bands > ebands + _SPARE_BANDS:
            raise ValidationError(
                f"{where}: the file header declares {bands} bands per pixel; the "
                f"ground truth has {ebands}"
            )
    nbytes = h * w * bands * itemsize
    if nbytes > MAX_IMAGE_BYTES:
        raise ValidationError(
            f"{where}: the file header declares {_shape_str(shape)} pixels "
            f"({nbytes} bytes decoded), over the limit of {MAX_IMAGE_BYTES} bytes"
        )


def decode(
    data: bytes,
    where: str,
    expect: tuple[int, ...] | None = None,
    what: str = "shape",
) -> np.ndarray:
    """Array from PNG or TIFF bytes: (H, W) or (H, W, C); dtype kept (16-bit too).

    The header is checked first (:func:`check_header`), so a small file that
    inflates to gigabytes, or does not match ``expect``, is never decoded."""
    head = data[:8]
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return _decode_tiff(data, where, expect, what)
    check_header(data, where, expect, what)
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

            fast = png_uint8(data)
            if fast is not None:
                return fast
            with Image.open(io.BytesIO(data)) as im:
                im.load()
                if im.mode == "P":
                    # Palette PNGs (common for label masks) carry class indices.
                    return np.asarray(im, dtype=np.uint8)
                return np.asarray(im)
    except (ValidationError, MemoryError):
        raise
    except Exception as exc:  # decoder errors come in many types
        raise ValidationError(f"{where}: corrupt or unreadable image ({exc})") from None
    raise ValidationError(f"{where}: not a PNG or TIFF file")


def _decode_tiff(data: bytes, where: str, expect, what: str) -> np.ndarray:
    """TIFF: the simplest files (one uncompressed page) parsed directly
    (:mod:`evaluator.tiff_simple`), any other with tifffile; the same header
    check before any pixel is read, the same array either way."""
    simple = tiff_simple.read(data)
    if simple is None:
        return _decode_tiff_tifffile(data, where, expect, what)
    shape, itemsize, load = simple
    check_found((_bands_last(shape), itemsize), where, expect, what)
    return _tiff_array(load(), where)


def _decode_tiff_tifffile(data: bytes, where: str, expect, what: str) -> np.ndarray:
    """One ``TiffFile`` parse for the header check and the pixels."""
    import tifffile

    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            check_found(_tiff_layout(tif), where, expect, what)
            arr = tif.asarray()
    except (ValidationError, MemoryError):
        raise
    except Exception as exc:  # header parsers and decoders raise assorted types
        raise ValidationError(f"{where}: corrupt or unreadable image ({exc})") from None
    return _tiff_array(arr, where)


def _tiff_array(arr: np.ndarray, where: str) -> np.ndarray:
    if arr.ndim < 2 or arr.size == 0:
        # tifffile only warns on a broken IFD and returns an empty array.
        raise ValidationError(f"{where}: corrupt or unreadable image (no pixel data)")
    if _band_first(arr.shape):
        arr = np.moveaxis(arr, 0, -1)
    return arr


def _band_first(shape: tuple[int, ...]) -> bool:
    """tifffile returns band-first for some multi-band GeoTIFFs (planar): few
    leading planes, each larger than their count."""
    return len(shape) == 3 and shape[0] < min(shape[1:]) and shape[0] <= 64


def _bands_last(shape: tuple[int, ...]) -> tuple[int, ...]:
    shape = tuple(int(s) for s in shape)
    return (shape[1], shape[2], shape[0]) if _band_first(shape) else shape


def _tiff_layout(tif) -> tuple[tuple[int, ...], int]:
    """``(shape, bytes per sample)`` of a parsed TIFF's first series, bands last."""
    series = tif.series[0]
    return _bands_last(series.shape), np.dtype(series.dtype).itemsize


_PNG_ANIMATION = (b"acTL", b"fcTL", b"fdAT")


def png_uint8(data: bytes) -> np.ndarray | None:
    """An 8-bit greyscale or palette PNG (the usual mask) decoded straight into
    a uint8 array by Pillow's own zlib/unfilter decoder, without ``Image.open``
    (header chunks parsed in Python, a second copy for ``np.asarray``).

    Same pixels as :func:`decode`'s Pillow path (palette: the indices); None --
    use that path -- for anything else: another depth or colour type,
    interlacing, animation, an unknown critical chunk, a bad checksum on a
    header chunk, data that do not decode to exactly one whole image, more
    pixels than ``Image.MAX_IMAGE_PIXELS``, or a Pillow without these internals.
    Errors are therefore always reported by the Pillow path, as before."""
    try:
        from PIL import Image

        if len(data) < 33 or data[12:16] != b"IHDR":
            return None
        width, height, depth, colour, comp, filt, interlace = struct.unpack_from(
            ">IIBBBBB", data, 16
        )
        limit = Image.MAX_IMAGE_PIXELS
        if (
            depth != 8
            or colour not in (0, 3)
            or comp
            or filt
            or interlace
            or not width
            or not height
            or (limit is not None and width * height > limit)
        ):
            return None
        idat = []
        pos, end = 8, len(data)
        while True:
            if pos + 12 > end:
                return None  # no IEND
            length, ctype = struct.unpack_from(">I4s", data, pos)
            stop = pos + 12 + length
            if stop > end:
                return None
            if ctype == b"IDAT":
                idat.append(data[pos + 8 : stop - 4])
            elif ctype == b"IEND":
                break
            else:
                if ctype in _PNG_ANIMATION or not ctype[0] & 0x20 and ctype not in (
                    b"IHDR",
                    b"PLTE",
                ):
                    return None
                crc = struct.unpack_from(">I", data, stop - 4)[0]
                if zlib.crc32(data[pos + 4 : stop - 4]) != crc:
                    return None
            pos = stop
        if not idat:
            return None
        rawmode = "L" if colour == 0 else "P"
        # zeros: Pillow ends the image where the zlib stream ends, rows left 0
        arr = np.zeros((height, width), dtype=np.uint8)
        core = Image.core.map_buffer(arr, (width, height), "raw", 0, (rawmode, 0, 1))
        decoder = Image._getdecoder(rawmode, "zip", rawmode)
        try:
            decoder.setimage(core, (0, 0, width, height))
            consumed, err = decoder.decode(b"".join(idat))
        finally:
            decoder.cleanup()
        if consumed >= 0 or err < 0:  # image incomplete, or a decoder error
            return None
        return arr
    except (AttributeError, TypeError, ValueError, OSError, struct.error, ImportError):
        return None


def read_image(
    source: Source,
    name: str,
    expect: tuple[int, ...] | None = None,
    what: str = "shape",
) -> np.ndarray:
    return decode(source.read_bytes(name), source.where(name), expect, what)


class ArraySet:
    """``id -> array`` over a ZIP/folder of images or an NPZ/NPY-keyed archive.

    Arrays are decoded on demand, so a split of thousands of masks is held one at
    a time.
    """

    def __init__(self, source: Source, suffixes: tuple[str, ...] = IMAGE_SUFFIXES):
        self.source = source
        files = source.files()
        if len(files) == 1 and files[0].lower().endswith(".npz"):
            self._npz = NpzArrays(source, files[0])
            self._members = {k: k for k in self._npz.keys()}
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

    def get(
        self, sid: str, expect: tuple[int, ...] | None = None, what: str = "shape"
    ) -> np.ndarray:
        """The array of ``sid``; with ``expect`` (the ground truth's shape) its
        header is checked against it before any pixel is decoded or allocated."""
        if self._npz is not None:
            return self._npz.get(sid, self.where(sid), expect, what)
        return read_image(self.source, self._members[sid], expect, what)

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


class NpzArrays:
    """The arrays of an ``.npz`` (a ZIP of ``.npy``), read one at a time.

    The ZIP guards of :func:`evaluator.io.check_zip_members` (count, inflated
    size, ratio) run on its central directory, and each ``.npy`` header (dtype,
    shape) is checked before its data is allocated: ``np.load`` does neither.
    """

    def __init__(self, source: Source, name: str):
        where = source.where(name)
        self._display = where
        fh = source.open(name)
        if not fh.seekable():  # a member of an uploaded ZIP (already capped)
            fh = io.BytesIO(fh.read())
        try:
            self._zip = zipfile.ZipFile(fh)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise ValidationError(f"{source.display}: unreadable NPZ ({exc})") from None
        members = check_zip_members(self._zip.infolist(), where)
        self._infos = {
            (k[:-4] if k.endswith(".npy") else k): info for k, info in members.items()
        }

    def keys(self) -> list[str]:
        return list(self._infos)

    def get(
        self,
        key: str,
        where: str,
        expect: tuple[int, ...] | None = None,
        what: str = "shape",
    ) -> np.ndarray:
        info = self._infos[key]
        fmt = np.lib.format
        try:
            with self._zip.open(info) as fh:
                version = fmt.read_magic(fh)
                if version == (1, 0):
                    shape, _, dtype = fmt.read_array_header_1_0(fh)
                else:
                    shape, _, dtype = fmt.read_array_header_2_0(fh)
            if dtype.hasobject:
                raise ValueError("object arrays are not accepted")
            _check_array_header(tuple(shape), dtype, info.file_size, where, expect, what)
            with self._zip.open(info) as fh:
                return fmt.read_array(fh, allow_pickle=False)
        except (ValidationError, MemoryError):
            raise
        except (
            ValueError,
            OSError,
            EOFError,
            SyntaxError,
            zipfile.BadZipFile,
            NotImplementedError,
            RuntimeError,
        ) as exc:
            # object arrays refused; a truncated, corrupt or encrypted member
            raise ValidationError(f"{where}: unreadable array ({exc})") from None


def _check_array_header(shape, dtype, member_size, where, expect, what) -> None:
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if nbytes > member_size:
        raise ValueError(
            f"header declares {_shape_str(shape)} {dtype} ({nbytes} bytes) but the "
            f"member holds {member_size} bytes"
        )
    if expect is not None and len(shape) >= 2:
        (h, w), bands = spatial(shape)
        (eh, ew), ebands = spatial(tuple(expect))
        if (h, w) != (eh, ew):
            raise ValidationError(
                f"{where}: {what} {h}x{w} differs from the ground truth {eh}x{ew} "
                "(height x width, read from the array header)"
            )
        if bands > ebands + _SPARE_BANDS:
            raise ValidationError(
                f"{where}: the array header declares {bands} bands per pixel; the "
                f"ground truth has {ebands}"
            )
    if nbytes > MAX_IMAGE_BYTES:
        raise ValidationError(
            f"{where}: the array header declares {_shape_str(shape)} {dtype} "
            f"({nbytes} bytes), over the limit of {MAX_IMAGE_BYTES} bytes"
        )
