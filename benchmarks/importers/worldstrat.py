"""WorldStrat multi-frame super-resolution (Cornebise et al., NeurIPS 2022).

Documented layout of the Zenodo release (the shared sample has the CSVs only, so
tests build tiny TIFFs in exactly this layout)::

    metadata.csv                              # optional (dataset.csv also accepted)
    stratified_train_val_test_split.csv       # columns: tile, split (train/val/test)
    hr_dataset/[12bit/]<AOI>/<AOI>_ps.tiff    # also _rgbn.tiff, _pan.tiff, _rgb.png
    lr_dataset/<AOI>/L2A/<AOI>-<n>-L2A_data.tiff   # revisits 1..16 (also L1C/)

``hr_product`` (default ``ps``), ``lr_product`` (``L2A``) and ``split`` (``test``)
select the files. An AOI listed in the split CSV without its HR file is an error
(``missing_images: skip`` drops it). The sample id is the AOI name.

Truth: ``truth/<AOI>.tif`` (the HR image, hard-linked/copied as it is).
Public: ``test/<AOI>/<n>.tiff`` (LR revisits), ``train/<AOI>/lr/`` + ``train/<AOI>/hr.tiff``.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from benchmarks.generators import DemoData
from benchmarks.importers._common import (
    ImporterError,
    child,
    place,
    rel,
    require_child,
    result,
)
from benchmarks.writers import write_readme

SPLIT_NAMES = ("stratified_train_val_test_split.csv", "split.csv")


def _split_rows(source: Path, params: dict) -> list[tuple[str, str]]:
    name = params.get("split_csv")
    path = (
        source / name
        if name
        else next((p for n in SPLIT_NAMES for p in sorted(source.rglob(n))), None)
    )
    if path is None or not path.is_file():
        raise ImporterError(f"{source}: missing stratified_train_val_test_split.csv")
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        cols = reader.fieldnames or []
        if "tile" not in cols or "split" not in cols:
            raise ImporterError(
                f"{rel(path, source)}: expected columns tile and split, found {cols}"
            )
        return [(r["tile"], r["split"]) for r in reader]


def _hr_root(source: Path) -> Path:
    hr = require_child(source, ("hr_dataset",), source)
    return child(hr, ("12bit",)) or hr


def _lr_frames(lr_root: Path | None, aoi: str, product: str) -> list[Path]:
    if lr_root is None:
        return []
    folder = lr_root / aoi / product
    if not folder.is_dir():
        return []
    pat = re.compile(rf"^{re.escape(aoi)}-(\d+)-{product}_data\.tiff?$")
    frames = [
        (int(m.group(1)), p) for p in folder.iterdir() if (m := pat.match(p.name))
    ]
    return [p for _, p in sorted(frames)]


def import_dataset(*, source: Path, out_dir: Path, params: dict) -> DemoData:
    rows = _split_rows(source, params)
    hr_root = _hr_root(source)
    lr_root = child(source, ("lr_dataset",))
    hr_suffix = params.get("hr_product", "ps")
    lr_product = params.get("lr_product", "L2A")
    want = params.get("split", "test")
    skip = params.get("missing_images", "error") == "skip"
    public, truth = out_dir / "public", out_dir / "private" / "truth"
    truth.mkdir(parents=True, exist_ok=True)
    ids = []
    for aoi, split in rows:
        is_test = split == want
        if not is_test and not params.get("include_train", True):
            continue
        hr = next(
            (
                hr_root / aoi / f"{aoi}_{hr_suffix}{ext}"
                for ext in (".tiff", ".tif", ".png")
                if (hr_root / aoi / f"{aoi}_{hr_suffix}{ext}").is_file()
            ),
            None,
        )
        frames = _lr_frames(lr_root, aoi, lr_product)
        if hr is None or not frames:
            if skip or not is_test:
                continue
            what = (
                f"{rel(hr_root, source)}/{aoi}/{aoi}_{hr_suffix}.tiff"
                if hr is None
                else f"lr_dataset/{aoi}/{lr_product}/{aoi}-<n>-{lr_product}_data.tiff"
            )
            raise ImporterError(f"{what}: missing for test AOI {aoi!r}")
        if is_test:
            place(hr, truth / f"{aoi}{'.tif' if hr.suffix != '.png' else '.png'}")
            for k, f in enumerate(frames, 1):
                place(f, public / "test" / aoi / f"{k}.tiff")
            ids.append(aoi)
        else:
            place(hr, public / "train" / aoi / f"hr{hr.suffix}")
            for k, f in enumerate(frames, 1):
                place(f, public / "train" / aoi / "lr" / f"{k}.tiff")
    write_readme(
        public,
        """
WorldStrat multi-frame super-resolution. test/<AOI>/<n>.tiff: the low-resolution
Sentinel-2 revisits of each test area. train/<AOI>/: revisits (lr/) and the
high-resolution target (hr.*).
Submit a ZIP of <AOI>.tif images with the shape, band count and dtype of the
high-resolution target.
""",
    )
    return result(public, truth, ids)
