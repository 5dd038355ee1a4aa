"""The one set of file writers of the demo generators and the importers.

Same input, same bytes: CSV and JSON lines end in ``\\n`` (never ``\\r\\n``),
text is UTF-8, ZIP and NPZ members are sorted with a fixed timestamp
(1980-01-01, the ZIP epoch) and mode 0644, PNG and TIFF carry no timestamps.
Every writer creates the parent folder and returns the path it wrote.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _parent(path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    path = _parent(path)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_json(path: Path, data: Any, indent: int | None = None) -> Path:
    path = _parent(path)
    text = json.dumps(data, indent=indent, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def write_jsonl(path: Path, rows: Iterable[dict]) -> Path:
    path = _parent(path)
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    path.write_text(text, encoding="utf-8")
    return path


def write_readme(public: Path, text: str) -> Path:
    return write_text(Path(public) / "README.txt", text.strip() + "\n")


def write_text(path: Path, text: str) -> Path:
    path = _parent(path)
    path.write_text(text, encoding="utf-8")
    return path


def write_zip(path: Path, members: dict[str, bytes | str]) -> Path:
    """ZIP of ``{name: bytes or text}``, members sorted, fixed timestamp."""
    path = _parent(path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(members):
            data = members[name]
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data.encode() if isinstance(data, str) else data)
    return path


def zip_folder(folder: Path, zip_path: Path) -> Path:
    """ZIP of every file under ``folder`` (names relative to it)."""
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return write_zip(zip_path, {f.relative_to(folder).as_posix(): f.read_bytes() for f in files})


def npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    """NPZ (readable by ``np.load``); ``np.savez`` would stamp the clock."""
    return write_zip(path, {f"{key}.npy": npy_bytes(a) for key, a in arrays.items()})


def to_uint8(img: np.ndarray) -> np.ndarray:
    """Float image in [0, 1] (or uint8) -> uint8, channels last."""
    if img.dtype == np.uint8:
        return img
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def write_png(path: Path, array: np.ndarray) -> Path:
    """(H, W), (H, W, 1) or (H, W, 3) image as PNG; floats in [0, 1] become
    uint8, other arrays are written as they are."""
    from PIL import Image

    arr = np.asarray(array)
    if arr.dtype.kind == "f":
        arr = to_uint8(arr)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    path = _parent(path)
    Image.fromarray(np.ascontiguousarray(arr)).save(path, format="PNG")
    return path


def write_tiff(
    path: Path, array: np.ndarray, geo: tuple[float, float, float] | None = None, nodata=None
) -> Path:
    """(H, W) or (H, W, bands) array as TIFF; with ``geo`` = (lon0, lat0, degrees per
    pixel) it carries GeoTIFF tags (EPSG:4326, north-up, top-left corner lon0, lat0)."""
    import tifffile

    path = _parent(path)
    extratags = []
    if geo is not None:
        lon0, lat0, step = geo
        extratags += [
            (33550, "d", 3, (step, step, 0.0), True),  # ModelPixelScale
            (33922, "d", 6, (0.0, 0.0, 0.0, lon0, lat0, 0.0), True),  # ModelTiepoint
            # GeoKeyDirectory: version 1.1.0, 3 keys: raster type = area,
            # model type = geographic, geographic type = EPSG:4326.
            (
                34735,
                "H",
                16,
                (1, 1, 0, 3, 1024, 0, 1, 2, 1025, 0, 1, 1, 2048, 0, 1, 4326),
                True,
            ),
        ]
    if nodata is not None:
        extratags.append((42113, "s", 0, f"{nodata:g}", True))  # GDAL_NODATA
    planar = "contig" if array.ndim == 3 else None
    tifffile.imwrite(
        path, array, photometric="minisblack", planarconfig=planar, extratags=extratags
    )
    return path
