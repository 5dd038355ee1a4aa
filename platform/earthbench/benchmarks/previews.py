"""A picture of the data: PNG previews of a few public inputs, rendered when a
dataset is installed and shown on the data tab.

Test inputs are shown as they are (true colour when the bands allow it, else a
false-colour composite); labels are drawn only on *training* samples, whose labels
are public anyway — never on test inputs, whose labels are the hidden truth.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from earthbench.benchmarks.layout import TEST_INPUTS

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".npy", ".png", ".jpg", ".jpeg", ".tif", ".tiff")
MIN_SIDE = 160  # small chips are enlarged (nearest neighbour) to be visible
PALETTE = np.array(
    [[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
     [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212]],
    dtype=np.uint8,
)


def _read(path: Path) -> np.ndarray:
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False)
    if path.suffix in (".tif", ".tiff"):
        import tifffile

        return tifffile.imread(path)
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB") if im.mode in ("P", "RGBA", "CMYK") else im)


def _stretch(band: np.ndarray) -> np.ndarray:
    band = band.astype(np.float64)
    finite = band[np.isfinite(band)]
    if finite.size == 0:
        return np.zeros(band.shape, np.uint8)
    lo, hi = np.percentile(finite, [2, 98])
    if hi <= lo:
        hi = lo + 1
    return (np.clip((np.nan_to_num(band, nan=lo) - lo) / (hi - lo), 0, 1) * 255).astype(np.uint8)


def composite(arr: np.ndarray) -> tuple[np.ndarray, str]:
    """An H×W×3 uint8 picture of an image array and how it was made."""
    if arr.ndim == 3 and arr.shape[0] < arr.shape[-1] and arr.shape[0] <= 64:
        arr = np.moveaxis(arr, 0, -1)  # channels first → last
    h, w = arr.shape[:2] if arr.ndim in (2, 3) else (0, 0)
    # Point clouds, tables and embeddings are arrays too, but not pictures.
    if min(h, w) < 8 or max(h, w) > 8 * min(h, w) or (arr.ndim == 3 and arr.shape[-1] > 256):
        raise ValueError(f"not an image: shape {arr.shape}")
    if arr.ndim == 2:
        return np.repeat(_stretch(arr)[..., None], 3, axis=2), "single band, grey"
    c = arr.shape[-1]
    if c == 3 and arr.dtype == np.uint8:
        return arr, "RGB"
    if c in (3, 4):
        return np.stack([_stretch(arr[..., i]) for i in range(3)], axis=2), "RGB, stretched"
    if c >= 13:  # Sentinel-2 order: B4, B3, B2 are bands 4, 3, 2
        return np.stack([_stretch(arr[..., i]) for i in (3, 2, 1)], axis=2), (
            f"true colour from {c} bands (B4, B3, B2)")
    if c == 2:  # SAR VV/VH: VV, VH, VV−VH
        vv, vh = arr[..., 0].astype(float), arr[..., 1].astype(float)
        bands = [_stretch(vv), _stretch(vh), _stretch(vv - vh)]
        return np.stack(bands, axis=2), "false colour from 2 bands (1, 2, 1−2), e.g. SAR VV, VH"
    if c == 1:
        return np.repeat(_stretch(arr[..., 0])[..., None], 3, axis=2), "single band, grey"
    picks = (c - 1, c // 2, 0)
    return np.stack([_stretch(arr[..., i]) for i in picks], axis=2), (
        f"false colour from {c} bands ({picks[0] + 1}, {picks[1] + 1}, {picks[2] + 1})")


def _enlarge(rgb: np.ndarray):
    """The picture at a visible size, and the factor from pixel to picture
    coordinates (small chips enlarged, large scenes reduced)."""
    from PIL import Image

    im = Image.fromarray(rgb)
    width = im.width
    if max(im.size) > 640:
        im.thumbnail((640, 640))
    factor = max(1, -(-MIN_SIDE // max(1, min(im.size))))
    if factor > 1:
        im = im.resize((im.width * factor, im.height * factor), Image.NEAREST)
    return im, im.width / width


def _inputs(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        and not {"masks", "labels", "labelTxt"} & set(p.relative_to(folder).parts)
    )


def _overlay_mask(im, mask: np.ndarray, scale: int):
    from PIL import Image

    colours = PALETTE[mask.astype(np.int64) % len(PALETTE)]
    layer = Image.fromarray(colours).resize(im.size, Image.NEAREST)
    return Image.blend(im.convert("RGB"), layer, 0.45)


def _overlay_boxes(im, label_file: Path, scale: int):
    from PIL import ImageDraw

    draw = ImageDraw.Draw(im)
    n = 0
    for line in label_file.read_text(errors="replace").splitlines():
        parts = line.split()
        try:
            xy = [float(v) * scale for v in parts[:8]]
        except ValueError:
            continue  # DOTA headers ("imagesource:...", "gsd:...")
        if len(xy) == 8:
            draw.polygon(list(zip(xy[::2], xy[1::2], strict=True)), outline=(255, 225, 25), width=2)
            n += 1
    return im, n


def _train_labelled(public: Path) -> list[tuple[Path, Path, str]]:
    """(image, label, "mask"|"boxes") for training samples with public labels."""
    out = []
    for image in _inputs(public / "train" / "images"):
        mask = public / "train" / "masks" / f"{image.stem}.png"
        boxes = public / "train" / "labelTxt" / f"{image.stem}.txt"
        if mask.is_file():
            out.append((image, mask, "mask"))
        elif boxes.is_file():
            out.append((image, boxes, "boxes"))
    return out


def render_previews(public: Path, out: Path, *, n_test: int = 4, n_train: int = 2) -> list[dict]:
    """Write ``out/*.png`` and ``out/previews.json``; returns the entries."""
    out.mkdir(parents=True, exist_ok=True)
    items: list[dict] = []
    for i, path in enumerate(_inputs(public / TEST_INPUTS)[:n_test]):
        try:
            rgb, how = composite(_read(path))
        except Exception as exc:  # an odd file must not stop the install
            log.warning("no preview of %s: %s", path, exc)
            continue
        im, _ = _enlarge(rgb)
        name = f"test-{i}.png"
        im.save(out / name)
        rel = path.relative_to(public).as_posix()
        items.append({"file": name, "caption": f"{rel} (test input; {how})"})
    for i, (image, label, kind) in enumerate(_train_labelled(public)[:n_train]):
        try:
            rgb, how = composite(_read(image))
            im, scale = _enlarge(rgb)
            if kind == "mask":
                im = _overlay_mask(im, _read(label), scale)
                what = "class mask overlaid"
            else:
                im, n = _overlay_boxes(im, label, scale)
                what = f"{n} labelled box{'es' if n != 1 else ''} drawn"
        except Exception as exc:
            log.warning("no preview of %s: %s", image, exc)
            continue
        name = f"train-{i}.png"
        im.save(out / name)
        rel = image.relative_to(public).as_posix()
        items.append({"file": name, "caption": f"{rel} (training sample, {what}; {how})"})
    (out / "previews.json").write_text(json.dumps(items, indent=1))
    return items


def read_previews(folder: Path) -> list[dict]:
    path = folder / "previews.json"
    try:
        return json.loads(path.read_text()) if path.is_file() else []
    except (OSError, ValueError):
        return []
