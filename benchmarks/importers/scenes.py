"""Scene classification datasets stored as one folder per class.

Layouts: EuroSAT RGB / MS (``<Class>/<Class>_<n>.jpg|tif``, also under
``2750/`` or ``EuroSAT_RGB/``), RESISC45 (``NWPU-RESISC45/<class>/<class>_NNN.jpg``),
AID (``AID/<Class>/<class>_N.jpg``), UC Merced (``UCMerced_LandUse/Images/<class>/
<class>NN.tif``). The sample id is the file stem (unique in these datasets).

The test set is a seeded, class-stratified fraction (``test_fraction``, default
0.2; ``split_seed``), or given by a list file (``params.test_list``: one file name
or stem per line, relative to the source). ``train_fraction`` (RESISC45 10 % /
20 % tracks) keeps only that fraction of each class's non-test images as
training data. ``zero_shot: true`` publishes no training images or labels.

Public: ``train/<id>.<ext>`` + ``train.csv`` (id,label), ``test/<id>.<ext>``,
``classes.txt``, ``sample_submission.csv``. Truth: ``truth.csv`` (id,label).
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.generators import DemoData
from benchmarks.importers._common import (
    IMAGE_EXTS,
    ImporterError,
    place,
    read_lines,
    rel,
    result,
    seeded_test,
    split_params,
    unit,
)
from benchmarks.writers import write_csv, write_readme

# Folders that wrap the class folders in the published archives.
_WRAPPERS = (
    "2750",
    "EuroSAT_RGB",
    "EuroSAT_MS",
    "EuroSAT",
    "ds/images/remote_sensing/otherDatasets/sentinel_2/tif",
    "NWPU-RESISC45",
    "AID",
    "UCMerced_LandUse/Images",
    "Images",
)


def _class_root(source: Path) -> Path:
    for w in _WRAPPERS:
        cand = source / w
        if cand.is_dir() and _class_dirs(cand):
            return cand
    return source


def _class_dirs(root: Path) -> list[Path]:
    return sorted(
        p
        for p in root.iterdir()
        if p.is_dir()
        and not p.name.startswith(".")
        and any(f.suffix.lower() in IMAGE_EXTS for f in p.iterdir())
    )


def scan(source: Path) -> tuple[list[str], list[tuple[str, str, Path]]]:
    """Classes and ``(id, class, path)`` for every image, streamed from the folders."""
    root = _class_root(source)
    classes = [p.name for p in _class_dirs(root)]
    if len(classes) < 2:
        raise ImporterError(
            f"{source}: expected one folder per class with images (found {len(classes)})"
        )
    items: list[tuple[str, str, Path]] = []
    seen: dict[str, Path] = {}
    for c in classes:
        for f in sorted((root / c).iterdir()):
            if f.suffix.lower() not in IMAGE_EXTS or f.name.startswith("."):
                continue
            if f.stem in seen:
                raise ImporterError(
                    f"{rel(f, source)}: id {f.stem!r} also used by {rel(seen[f.stem], source)}"
                )
            seen[f.stem] = f
            items.append((f.stem, c, f))
    return classes, items


def _test_ids(source: Path, items, params: dict) -> set[str]:
    listed = params.get("test_list")
    if listed:
        names = {Path(n).stem for n in read_lines(source / listed)}
        unknown = names - {i for i, _, _ in items}
        if unknown:
            raise ImporterError(
                f"{listed}: {len(unknown)} names not found, e.g. {sorted(unknown)[:3]}"
            )
        return names
    frac, seed = split_params(params)
    test: set[str] = set()
    by_class: dict[str, list[str]] = {}
    for sid, c, _ in items:
        by_class.setdefault(c, []).append(sid)
    for ids in by_class.values():  # stratified: every class in the test set
        test |= seeded_test(ids, frac, seed)
    return test


def import_dataset(*, source: Path, out_dir: Path, params: dict) -> DemoData:
    classes, items = scan(source)
    test = _test_ids(source, items, params)
    zero_shot = bool(params.get("zero_shot", False))
    train_frac = params.get("train_fraction")
    seed = int(params.get("split_seed", 0))
    public = out_dir / "public"
    train_rows, truth_rows = [], []
    for sid, c, f in items:
        if sid in test:
            place(f, public / "test" / f"{sid}{f.suffix.lower()}")
            truth_rows.append((sid, c))
        elif not zero_shot and (
            train_frac is None or unit(seed, sid, "train") < float(train_frac)
        ):
            place(f, public / "train" / f"{sid}{f.suffix.lower()}")
            train_rows.append((sid, c))
    if not zero_shot:
        write_csv(public / "train.csv", ["id", "label"], train_rows)
    (public / "classes.txt").write_text("\n".join(classes) + "\n", encoding="utf-8")
    write_csv(
        public / "sample_submission.csv",
        ["id", "label"],
        [(s, classes[0]) for s, _ in truth_rows],
    )
    write_readme(
        public,
        f"""
Scene classification, {len(classes)} classes (classes.txt).
test/<id>.*: the test images; predict one class per id.
{"No training labels are given (zero-shot)." if zero_shot else "train/<id>.* with labels in train.csv (id,label)."}
Submit a CSV id,label like sample_submission.csv.
""",
    )
    truth = write_csv(out_dir / "private" / "truth.csv", ["id", "label"], truth_rows)
    return result(public, truth, [s for s, _ in truth_rows])
