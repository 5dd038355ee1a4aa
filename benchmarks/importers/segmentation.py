"""Semantic segmentation: LandCover.ai and mmsegmentation-converted datasets
(LoveDA, ISPRS Potsdam, ISPRS Vaihingen).

LandCover.ai v1: ``images/<tile>.tif`` + ``masks/<tile>.tif`` (values 0 background,
1 building, 2 woodland, 3 water, 4 road). When ``output/`` (the 512x512 patches
made by the dataset's ``split.py``: ``<name>.jpg`` + ``<name>_m.png``) and
``test.txt`` exist, the official patch split is used; otherwise whole tiles are
split with a seed (``test_fraction``, ``split_seed``).

mmseg layout: ``img_dir/{train,val,test}/<id>.png|tif`` + ``ann_dir/{...}/<id>.png``
(or flat ``img_dir/`` + ``ann_dir/`` → seeded split). ``split`` picks the test
folder (default ``test`` when it has annotations, else ``val``: LoveDA's and the
ISPRS test labels are the val folder in mmseg). ``reduce_zero_label`` (default
true, as mmseg's LoveDA/Potsdam/Vaihingen configs) maps 0 → 255 (ignored) and
k → k−1; the converted masks are written one at a time as PNG.

Public: ``test/<id>.*``, ``train/images/``, ``train/masks/`` (in the evaluator's
encoding), README. Truth: ``truth/<id>.png|tif``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.generators import DemoData
from benchmarks.importers._common import (
    ImporterError,
    child,
    files_by_stem,
    image_size,
    place,
    read_lines,
    rel,
    require_child,
    result,
    seeded_test,
    split_params,
)
from benchmarks.writers import write_readme

_README = """
Semantic segmentation. test/<id>.*: test images. train/images + train/masks:
training pairs (mask values = class index, 255 = ignore).
Submit a ZIP of single-band PNG masks <id>.png (class index per pixel), one per
test id, same size as the image.
"""


def _read_mask(path: Path, source: Path) -> np.ndarray:
    from evaluator.errors import ValidationError
    from evaluator.images import decode

    try:
        arr = decode(path.read_bytes(), rel(path, source))
    except ValidationError as exc:
        raise ImporterError(f"{rel(path, source)}: unreadable label ({exc})") from None
    if arr.ndim != 2:
        raise ImporterError(
            f"{rel(path, source)}: label has {arr.shape[-1]} bands, expected 1"
        )
    return arr


def _write_mask(
    src: Path, dst_dir: Path, sid: str, source: Path, reduce_zero: bool
) -> None:
    if not reduce_zero:
        place(src, dst_dir / f"{sid}{src.suffix.lower()}")
        return
    from PIL import Image

    arr = _read_mask(src, source).astype(np.int64)
    out = np.where(arr == 0, 255, arr - 1)
    out[arr == 255] = 255
    dst_dir.mkdir(parents=True, exist_ok=True)
    Image.fromarray(out.astype(np.uint8)).save(dst_dir / f"{sid}.png")


def _pairs(
    img_dir: Path, ann_dir: Path, source: Path, mask_suffix: str = ""
) -> dict[str, tuple[Path, Path]]:
    imgs = files_by_stem(img_dir)
    anns = files_by_stem(ann_dir)
    if mask_suffix:  # images and masks share one folder: `<name>.jpg` + `<name>_m.png`
        imgs = {k: v for k, v in imgs.items() if not k.endswith(mask_suffix)}
        anns = {
            k[: -len(mask_suffix)]: v
            for k, v in anns.items()
            if k.endswith(mask_suffix)
        }
    out = {}
    for sid, ann in anns.items():
        if sid not in imgs:
            raise ImporterError(
                f"{rel(ann, source)}: no image {rel(img_dir, source)}/{sid}.*"
            )
        out[sid] = (imgs[sid], ann)
    if not out:
        raise ImporterError(f"{rel(ann_dir, source)}: no label masks")
    return out


def _emit(
    source: Path,
    out_dir: Path,
    test: dict,
    train: dict,
    reduce_zero: bool,
    params: dict,
) -> DemoData:
    public, truth = out_dir / "public", out_dir / "private" / "truth"
    truth.mkdir(parents=True, exist_ok=True)
    for sid, (img, ann) in sorted(test.items()):
        if image_size(img, source) != image_size(ann, source):
            raise ImporterError(
                f"{rel(img, source)}: size differs from {rel(ann, source)} (mismatched sizes)"
            )
        place(img, public / "test" / f"{sid}{img.suffix.lower()}")
        _write_mask(ann, truth, sid, source, reduce_zero)
    if params.get("include_train", True):
        for sid, (img, ann) in sorted(train.items()):
            place(img, public / "train" / "images" / f"{sid}{img.suffix.lower()}")
            _write_mask(ann, public / "train" / "masks", sid, source, reduce_zero)
    write_readme(public, _README)
    return result(public, truth, sorted(test))


def import_mmseg(*, source: Path, out_dir: Path, params: dict) -> DemoData:
    img_root = require_child(source, ("img_dir", "images"), source)
    ann_root = require_child(source, ("ann_dir", "annotations", "labels"), source)
    reduce_zero = bool(params.get("reduce_zero_label", True))
    splits = [
        s
        for s in ("train", "val", "test")
        if child(ann_root, (s,)) and child(img_root, (s,))
    ]
    if splits:
        want = params.get("split") or ("test" if "test" in splits else "val")
        if want not in splits:
            raise ImporterError(f"{rel(ann_root, source)}: missing folder `{want}/`")
        test = _pairs(img_root / want, ann_root / want, source)
        train = {}
        for s in splits:
            if s != want:
                train.update(_pairs(img_root / s, ann_root / s, source))
    else:
        every = _pairs(img_root, ann_root, source)
        frac, seed = split_params(params)
        ids = seeded_test(every, frac, seed)
        test = {s: every[s] for s in ids}
        train = {s: v for s, v in every.items() if s not in ids}
    return _emit(source, out_dir, test, train, reduce_zero, params)


def import_landcoverai(*, source: Path, out_dir: Path, params: dict) -> DemoData:
    patches = child(source, ("output",))
    if patches is not None and (source / "test.txt").is_file():
        every = _pairs(patches, patches, source, mask_suffix="_m")
        names = set(read_lines(source / "test.txt"))
        unknown = sorted(names - set(every))
        if unknown:
            raise ImporterError(
                f"test.txt: {len(unknown)} names have no patch in output/, e.g. {unknown[:3]}"
            )
        train_names = set()
        for lst in ("train.txt", "val.txt"):
            if (source / lst).is_file():
                train_names |= set(read_lines(source / lst))
        test = {s: every[s] for s in names}
        train = {s: every[s] for s in train_names if s in every}
    else:
        img = require_child(source, ("images",), source)
        msk = require_child(source, ("masks",), source)
        every = _pairs(img, msk, source)
        frac, seed = split_params(params)
        ids = seeded_test(every, frac, seed)
        test = {s: every[s] for s in ids}
        train = {s: v for s, v in every.items() if s not in ids}
    return _emit(
        source,
        out_dir,
        test,
        train,
        bool(params.get("reduce_zero_label", False)),
        params,
    )
