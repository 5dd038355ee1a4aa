"""Super-resolution demo data: a high-resolution render of the shared synthetic scene
and low-resolution inputs made by block-average downsampling plus noise.

Params: ``variant`` (``plain`` | ``worldstrat`` | ``spectral``), ``scale`` (4),
``size`` (HR side, 64; a multiple of ``scale``), ``n_train`` (4), ``n_test`` (6),
``bands`` (spectral: 16), ``n_frames`` (worldstrat: 4), ``reference`` (false: when
true, an HR image of the same place at another date is given as a reference, as in
reference-guided SR), ``guide_bands`` (spectral: 0; when > 0, an HR multispectral
image with that many broad bands is given for hyperspectral/multispectral fusion).

- plain: ``lr/<id>.png`` uint8 RGB; truth ``<id>.png`` uint8 RGB.
- worldstrat: ``lr/<id>/<t>.png`` — ``n_frames`` revisits with sub-pixel shifts,
  brightness changes and clouds; truth ``<id>.png`` plus ``masks/<id>.png`` (255 =
  clear HR pixel, 0 = cloud in the HR target).
- spectral: ``lr/<id>.tif`` float32 H×W×bands reflectance; truth ``<id>.tif``.

Public: ``train/{lr,hr,...}``, ``test/{lr,...}``, ``sample_submission.zip``.
Baseline: bicubic upsampling (of the mean of the frames for worldstrat), ZIP.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.generators import DemoData, stable_seed
from benchmarks.generators.scene.make import change_scene, make_scene
from benchmarks.writers import write_png, write_readme, write_tiff, zip_folder


def block_average(img: np.ndarray, scale: int) -> np.ndarray:
    h, w = img.shape[:2]
    x = img.astype(np.float64).reshape(h // scale, scale, w // scale, scale, -1)
    return x.mean(axis=(1, 3))


def subpixel_shift(img: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """Shift a float (H, W, C) image by a fraction of a pixel (bilinear, edge clamp)."""
    h, w = img.shape[:2]
    ys = np.clip(np.arange(h) - dy, 0, h - 1)
    xs = np.clip(np.arange(w) - dx, 0, w - 1)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    top = img[y0][:, x0] * (1 - fx) + img[y0][:, x1] * fx
    bottom = img[y1][:, x0] * (1 - fx) + img[y1][:, x1] * fx
    return top * (1 - fy) + bottom * fy


def upsample(img: np.ndarray, size: int) -> np.ndarray:
    """Bicubic upsampling band by band (PIL, float32), same dtype range as the input."""
    bands = img.reshape(img.shape[0], img.shape[1], -1).astype(np.float32)
    out = np.stack(
        [
            np.asarray(
                Image.fromarray(bands[..., b], mode="F").resize(
                    (size, size), Image.BICUBIC
                )
            )
            for b in range(bands.shape[-1])
        ],
        axis=-1,
    )
    return out


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def _clouds(rng: np.random.Generator, size: int, cover: float) -> np.ndarray:
    """Bool cloud mask: a few soft blobs covering about ``cover`` of the image."""
    ys, xs = np.mgrid[0:size, 0:size]
    field = np.zeros((size, size))
    for _ in range(3):
        cx, cy, r = rng.uniform(0, size, 2).tolist() + [rng.uniform(0.1, 0.25) * size]
        field += np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * r * r))
    return (
        field > np.quantile(field, 1 - cover)
        if cover > 0
        else np.zeros_like(field, bool)
    )


def generate(*, params: dict, out_dir: Path, seed: int) -> DemoData:
    variant = str(params.get("variant", "plain"))
    if variant not in ("plain", "worldstrat", "spectral"):
        raise ValueError(f"super-resolution generator: unknown variant {variant!r}")
    scale = int(params.get("scale", 4))
    size = int(params.get("size", 64))
    size -= size % scale
    n_train, n_test = int(params.get("n_train", 4)), int(params.get("n_test", 6))
    bands = int(params.get("bands", 16)) if variant == "spectral" else 3
    n_frames = int(params.get("n_frames", 4))
    reference = bool(params.get("reference", False))
    guide_bands = int(params.get("guide_bands", 0)) if variant == "spectral" else 0
    public, private = out_dir / "public", out_dir / "private"
    rng = np.random.default_rng(stable_seed(seed, "super-resolution", variant))

    ids = []
    for split, n in (("train", n_train), ("test", n_test)):
        for k in range(n):
            sid = f"{split}_{k:04d}"
            scene = make_scene(rng, size)
            hr = scene.render(bands, rng)
            hr_dir = public / "train" / "hr" if split == "train" else private / "truth"
            _write_image(hr_dir, sid, hr)
            if reference:
                other, _ = change_scene(scene, rng)
                write_png(public / split / "reference" / f"{sid}.png", other.render(3))
            if guide_bands:
                _write_image(
                    public / split / "hr_msi", sid, _broad_bands(hr, guide_bands)
                )
            if variant == "worldstrat":
                frames, clear = _worldstrat(rng, hr, scale, n_frames)
                for t, f in enumerate(frames):
                    write_png(
                        public / split / "lr" / sid / f"{t:02d}.png", _to_uint8(f)
                    )
                mask_dir = (
                    public / "train" / "hr_masks"
                    if split == "train"
                    else private / "truth" / "masks"
                )
                write_png(mask_dir / f"{sid}.png", clear.astype(np.uint8) * 255)
                lr_input = np.mean(frames, axis=0)
            else:
                lr = _degrade(rng, hr, scale)
                _write_image(public / split / "lr", sid, lr)
                lr_input = lr.astype(np.float32)
            if split == "test":
                ids.append(sid)
                up = upsample(lr_input, size)
                pred = _to_uint8(up) if hr.dtype == np.uint8 else up.astype(np.float32)
                _write_image(out_dir / "baseline", sid, pred)
                _write_image(out_dir / "sample", sid, np.zeros_like(hr))
    zip_folder(out_dir / "sample", public / "sample_submission.zip")
    zip_folder(out_dir / "baseline", out_dir / "baseline.zip")
    write_readme(public, _readme(variant, scale, size, bands, reference, guide_bands))
    return DemoData(
        public_dir=public,
        truth_path=private / "truth",
        sample_ids=ids,
        baseline_path=out_dir / "baseline.zip",
        baseline_name="Bicubic upsampling"
        + (" of the mean frame" if variant == "worldstrat" else ""),
    )


def _write_image(folder: Path, sid: str, img: np.ndarray) -> None:
    if img.dtype == np.uint8:
        write_png(folder / f"{sid}.png", img)
    else:
        write_tiff(folder / f"{sid}.tif", img.astype(np.float32))


def _degrade(rng: np.random.Generator, hr: np.ndarray, scale: int) -> np.ndarray:
    lr = block_average(hr, scale)
    if hr.dtype == np.uint8:
        return _to_uint8(lr + rng.normal(0, 2.0, lr.shape))
    return (lr + rng.normal(0, 0.005, lr.shape)).astype(np.float32)


def _broad_bands(hr: np.ndarray, n: int) -> np.ndarray:
    """An HR multispectral image: n broad bands, each the mean of a block of bands."""
    groups = np.array_split(np.arange(hr.shape[-1]), n)
    return np.stack([hr[..., g].mean(axis=-1) for g in groups], axis=-1).astype(
        np.float32
    )


def _worldstrat(rng: np.random.Generator, hr: np.ndarray, scale: int, n_frames: int):
    """LR revisits (sub-pixel shifts, gain, clouds) and the HR clear-pixel mask."""
    size = hr.shape[0]
    base = hr.astype(np.float64)
    frames = []
    for _ in range(n_frames):
        dy, dx = rng.uniform(-0.5, 0.5, 2) * scale
        f = block_average(subpixel_shift(base, dy, dx), scale) * rng.uniform(0.9, 1.1)
        cloud = _clouds(rng, size // scale, float(rng.uniform(0, 0.15)))
        f[cloud] = 0.7 * f[cloud] + 0.3 * 240
        frames.append(f + rng.normal(0, 2.0, f.shape))
    clear = ~_clouds(rng, size, float(rng.uniform(0, 0.1)))
    return frames, clear


def _readme(variant, scale, size, bands, reference, guide_bands) -> str:
    lr = size // scale
    lines = [
        f"Synthetic demo data for ×{scale} super-resolution ({lr}×{lr} → {size}×{size} pixels)."
    ]
    if variant == "plain":
        lines.append(
            "{train,test}/lr/<id>.png: low-resolution RGB; train/hr/<id>.png: the target."
        )
    elif variant == "worldstrat":
        lines.append(
            "{train,test}/lr/<id>/<t>.png: low-resolution revisits (shifted, cloudy at times)."
        )
        lines.append(
            "train/hr/<id>.png: target; train/hr_masks/<id>.png: 255 = clear target pixel."
        )
        lines.append(
            "Scored with cPSNR: a global brightness offset and small shifts are forgiven."
        )
    else:
        lines.append(
            f"{{train,test}}/lr/<id>.tif: {bands}-band float32 reflectance (H×W×bands)."
        )
        lines.append("train/hr/<id>.tif: the high-resolution target, same bands.")
    if reference:
        lines.append(
            "{train,test}/reference/<id>.png: HR RGB of the same place at another date."
        )
    if guide_bands:
        lines.append(
            f"{{train,test}}/hr_msi/<id>.tif: HR multispectral image, {guide_bands} broad bands."
        )
    ext = "tif (float32)" if variant == "spectral" else "png (uint8 RGB)"
    lines.append(
        f"Submit a ZIP of <id>.{ext} at {size}×{size}; sample_submission.zip has the layout."
    )
    return "\n".join(lines)
