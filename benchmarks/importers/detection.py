"""Object detection: DOTA v1 (``images/`` + ``labelTxt/``) and DIOR / DIOR-R (XML).

DOTA: split folders ``train/ val/ [test/]`` each with ``images/`` and
``labelTxt/`` (also ``labelTxt-v1.0/[labelTxt/]``); DOTA's own test labels are
not public, so **val is the test set** (``split`` to change it) and train is
published. A flat ``images/`` + ``labelTxt/`` folder is split with a seed
(``test_fraction``, ``split_seed``; 1.0 = all test). Truth: ``truth/<id>.txt``,
the labelTxt files as they are (the evaluator reads them, header lines included).

DIOR: images in ``JPEGImages-test/``, ``JPEGImages-trainval/`` or ``JPEGImages/``;
annotations ``Annotations/Oriented Bounding Boxes/*.xml`` (DIOR-R, default,
``boxes: horizontal`` for ``Annotations/Horizontal Bounding Boxes/`` or plain
``Annotations/*.xml``); test ids from ``ImageSets/Main/test.txt``, else the
``JPEGImages-test/`` folder, else a seeded split. Truth: ``truth/<id>.xml``.

An annotation without its image is an error unless ``missing_images: skip``.
Public: ``test/images/``, ``train/images/`` + ``train/labelTxt/`` (or
``train/annotations/``), README.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.generators import DemoData
from benchmarks.importers._common import (
    ImporterError,
    child,
    files_by_stem,
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
Object detection. test/images/<id>.*: the test images. train/: training images
with their annotations ({ann}).
Submit a ZIP of DOTA Task1_<class>.txt files (`imgname score x1 y1 x2 y2 x3 y3 x4 y4`
per line) or, for horizontal boxes, Task2_<class>.txt (`imgname score xmin ymin xmax ymax`).
"""


def _labeltxt_dir(folder: Path, source: Path) -> Path:
    d = require_child(folder, ("labelTxt", "labelTxt-v1.0", "labelTxt-v1.5"), source)
    inner = child(d, ("labelTxt",))
    return inner if inner is not None else d


def _match(
    images: Path, anns: dict[str, Path], source: Path, params: dict
) -> dict[str, tuple[Path, Path]]:
    imgs = files_by_stem(images)
    out = {}
    for sid, ann in sorted(anns.items()):
        if sid not in imgs:
            if params.get("missing_images", "error") == "skip":
                continue
            raise ImporterError(
                f"{rel(ann, source)}: no image {rel(images, source)}/{sid}.*"
            )
        out[sid] = (imgs[sid], ann)
    return out


def _emit(
    out_dir: Path, test: dict, train: dict, ann_sub: str, params: dict
) -> DemoData:
    public, truth = out_dir / "public", out_dir / "private" / "truth"
    truth.mkdir(parents=True, exist_ok=True)
    for sid, (img, ann) in sorted(test.items()):
        place(img, public / "test" / "images" / f"{sid}{img.suffix.lower()}")
        place(ann, truth / f"{sid}{ann.suffix.lower()}")
    if params.get("include_train", True):
        for sid, (img, ann) in sorted(train.items()):
            place(img, public / "train" / "images" / f"{sid}{img.suffix.lower()}")
            place(ann, public / "train" / ann_sub / f"{sid}{ann.suffix.lower()}")
    write_readme(public, _README.format(ann=ann_sub))
    return result(public, truth, sorted(test))


def import_dota(*, source: Path, out_dir: Path, params: dict) -> DemoData:
    splits = {
        s: d for s in ("train", "val", "test") if (d := child(source, (s,))) is not None
    }
    splits = {
        s: d
        for s, d in splits.items()
        if child(d, ("labelTxt", "labelTxt-v1.0", "labelTxt-v1.5"))
    }
    if splits:
        want = params.get("split", "val")
        if want not in splits:
            raise ImporterError(f"{source}: missing folder `{want}/` with labelTxt/")
        parts = {}
        for s, d in splits.items():
            anns = files_by_stem(_labeltxt_dir(d, source), (".txt",))
            parts[s] = _match(
                require_child(d, ("images",), source), anns, source, params
            )
        test = parts.pop(want)
        train = {k: v for p in parts.values() for k, v in p.items()}
    else:
        anns = files_by_stem(_labeltxt_dir(source, source), (".txt",))
        every = _match(require_child(source, ("images",), source), anns, source, params)
        frac, seed = split_params(params)
        ids = seeded_test(every, frac, seed)
        test = {s: every[s] for s in ids}
        train = {s: v for s, v in every.items() if s not in ids}
    if not test:
        raise ImporterError(f"{source}: no test images with labels")
    return _emit(out_dir, test, train, "labelTxt", params)


def import_dior(*, source: Path, out_dir: Path, params: dict) -> DemoData:
    ann_root = require_child(source, ("Annotations",), source)
    sub = (
        "Horizontal Bounding Boxes"
        if params.get("boxes") == "horizontal"
        else "Oriented Bounding Boxes"
    )
    ann_dir = child(ann_root, (sub,)) or ann_root
    anns = files_by_stem(ann_dir, (".xml",))
    if not anns:
        raise ImporterError(f"{rel(ann_dir, source)}: no .xml annotations")
    img_dirs = [
        d
        for n in ("JPEGImages-test", "JPEGImages-trainval", "JPEGImages", "JPEGImage")
        if (d := child(source, (n,))) is not None
    ]
    if not img_dirs:
        raise ImporterError(
            f"{source}: missing folder `JPEGImages-test/` or `JPEGImages/`"
        )
    imgs: dict[str, Path] = {}
    for d in img_dirs:
        for k, v in files_by_stem(d).items():
            imgs.setdefault(k, v)
    every = {}
    for sid, ann in anns.items():
        if sid in imgs:
            every[sid] = (imgs[sid], ann)
        elif params.get("missing_images", "error") != "skip":
            raise ImporterError(
                f"{rel(ann, source)}: no image {sid}.jpg in {', '.join(d.name + '/' for d in img_dirs)}"
            )
    lst = source / "ImageSets" / "Main" / "test.txt"
    test_dir = child(source, ("JPEGImages-test",))
    if lst.is_file():
        ids = set(read_lines(lst)) & set(every)
    elif test_dir is not None:
        ids = set(files_by_stem(test_dir)) & set(every)
    else:
        frac, seed = split_params(params)
        ids = seeded_test(every, frac, seed)
    test = {s: every[s] for s in ids}
    train = {s: v for s, v in every.items() if s not in ids}
    if not test:
        raise ImporterError(f"{source}: no test images with annotations")
    return _emit(out_dir, test, train, "annotations", params)
