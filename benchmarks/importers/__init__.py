"""Importers: a real dataset in its native on-disk layout → a :class:`DemoData`
(public inputs, hidden truth in the evaluator's format, test sample ids).

An importer is ``import_dataset(*, source: Path, out_dir: Path, params: dict) ->
DemoData``. It streams the dataset (hard-links or copies one file at a time,
reads one label file at a time) and takes the test set from the dataset's own
split files where they exist, else from a seeded split (``params.split_seed``,
``params.test_fraction``). ``IMPORTERS`` maps an importer name to its callable;
``DEFAULT_IMPORTER`` names the importer of each benchmark slug (a benchmark's
YAML ``importer: {name, params}`` overrides it). See docs/importers.md.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from benchmarks.generators import DemoData
from benchmarks.importers import (
    bigearthnet,
    captions,
    change,
    crossview,
    detection,
    geolifeclef,
    scenes,
    segmentation,
    threedmatch,
    vqa,
    worldstrat,
)
from benchmarks.importers._common import ImporterError

Importer = Callable[..., DemoData]

__all__ = [
    "DEFAULT_IMPORTER",
    "IMPORTERS",
    "ImporterError",
    "get_importer",
    "run_importer",
]


def _with(fn: Importer, **defaults) -> Importer:
    """``fn`` with default params (the caller's params win)."""

    def run(*, source: Path, out_dir: Path, params: dict) -> DemoData:
        return fn(source=source, out_dir=out_dir, params={**defaults, **(params or {})})

    run.__doc__ = fn.__doc__
    return run


IMPORTERS: dict[str, Importer] = {
    # classification (class folders)
    "scene-folders": scenes.import_dataset,
    "eurosat": scenes.import_dataset,
    "eurosat-zeroshot": _with(scenes.import_dataset, zero_shot=True),
    "resisc45": scenes.import_dataset,
    # RESISC45 protocol: 10 % or 20 % of each class for training, the rest is test.
    "resisc45-tr10": _with(scenes.import_dataset, test_fraction=0.9),
    "resisc45-tr20": _with(scenes.import_dataset, test_fraction=0.8),
    "aid": scenes.import_dataset,
    "aid-zeroshot": _with(scenes.import_dataset, zero_shot=True),
    "ucmerced": scenes.import_dataset,
    # multilabel / segmentation
    "bigearthnet-v1": bigearthnet.import_bigearthnet_v1,
    "bigearthnet-v1-19": _with(bigearthnet.import_bigearthnet_v1, nomenclature="19"),
    "reben": bigearthnet.import_reben,
    "reben-segmentation": bigearthnet.import_reben_segmentation,
    "landcoverai": segmentation.import_landcoverai,
    "mmseg": segmentation.import_mmseg,
    "loveda": segmentation.import_mmseg,
    "potsdam": segmentation.import_mmseg,
    "vaihingen": segmentation.import_mmseg,
    # change detection
    "change-folders": change.import_dataset,
    "levir-cd": change.import_dataset,
    "whu-cd": change.import_dataset,
    "s2looking": change.import_dataset,
    "clcd": change.import_dataset,
    "cdd": change.import_dataset,
    # detection
    "dota": detection.import_dota,
    "dior": detection.import_dior,
    # captioning / retrieval
    "rsicd-captions": captions.import_captioning,
    "ucm-captions": captions.import_captioning,
    "sydney-captions": captions.import_captioning,
    "rsicd-retrieval": captions.import_retrieval,
    "rsitmd": captions.import_retrieval,
    "levir-cc": _with(captions.import_captioning, pairs=True),
    "levir-cc-retrieval": _with(captions.import_retrieval, pairs=True),
    # vqa
    "rsvqa-lr": _with(vqa.import_rsvqa, prefix="LR"),
    "rsvqa-hr": _with(vqa.import_rsvqa, prefix="USGS"),
    # others
    "worldstrat": worldstrat.import_dataset,
    "3dmatch": _with(threedmatch.import_dataset, benchmarks=["3DMatch"]),
    "3dlomatch": _with(threedmatch.import_dataset, benchmarks=["3DLoMatch"]),
    "cvusa": crossview.import_dataset,
    "geolifeclef": geolifeclef.import_dataset,
}

DEFAULT_IMPORTER: dict[str, str] = {
    "eurosat-classification-v1": "eurosat",
    "eurosat-ms-zeroshot-v1": "eurosat-zeroshot",
    "resisc45-classification-v1": "resisc45-tr20",
    "resisc45-classification-tr10-v1": "resisc45-tr10",
    "aid-zeroshot-v1": "aid-zeroshot",
    "bigearthnet-multilabel-v1": "bigearthnet-v1-19",
    "reben-multilabel-v1": "reben",
    "reben-segmentation-v1": "reben-segmentation",
    "landcoverai-segmentation-v1": "landcoverai",
    "vaihingen-segmentation-v1": "vaihingen",
    "potsdam-semisup-segmentation-v1": "potsdam",
    "potsdam-rgbdsm-segmentation-v1": "potsdam",
    "levir-cd-v1": "levir-cd",
    "clcd-change-detection-v1": "clcd",
    "s2looking-change-detection-v1": "s2looking",
    "cdd-change-detection-v1": "cdd",
    "gz-cd-change-detection-v1": "change-folders",
    "dota-obb-detection-v1": "dota",
    "rsicd-captioning-v1": "rsicd-captions",
    "rsicd-retrieval-v1": "rsicd-retrieval",
    "rsitmd-retrieval-v1": "rsitmd",
    "levir-cc-captioning-v1": "levir-cc",
    "levir-cc-retrieval-v1": "levir-cc-retrieval",
    "rsvqa-lr-v1": "rsvqa-lr",
    "rsvqa-hr-v1": "rsvqa-hr",
    "worldstrat-sr-v1": "worldstrat",
    "3dmatch-registration-v1": "3dmatch",
    "3dlomatch-registration-v1": "3dlomatch",
    "cvusa-crossview-v1": "cvusa",
    "geoplant-presence-absence-v1": "geolifeclef",
}


def get_importer(name: str) -> Importer:
    try:
        return IMPORTERS[name]
    except KeyError:
        raise ImporterError(
            f"unknown importer {name!r} (known: {', '.join(sorted(IMPORTERS))})"
        ) from None


def run_importer(
    name: str, *, source: Path, out_dir: Path, params: dict | None = None
) -> DemoData:
    source = Path(source)
    if not source.is_dir():
        raise ImporterError(f"{source}: not a folder")
    return get_importer(name)(
        source=source, out_dir=Path(out_dir), params=dict(params or {})
    )
