"""Bi-temporal change detection with ``A/``, ``B/``, ``label/`` folders.

Folder names accepted (case-insensitive): before = A, time1, im1, T1, prev,
Image1; after = B, time2, im2, T2, curr, Image2; label = label, OUT, gt, mask,
labels. Covered layouts:

- split folders: ``train/ val/ test/`` each holding A/B/label (LEVIR-CD, WHU-CD
  BIT split, CLCD, S2Looking, CDD ``Real/subset/{train,val,test}/{A,B,OUT}``);
- one flat A/B/label folder with list files ``list/test.txt`` (BIT-CD) or
  ``test.txt``; or with ``test_``/``train_``/``val_`` file-name prefixes;
- otherwise a seeded split (``test_fraction``, ``split_seed``).

The sample id is the label file's stem. Labels are copied as they are (0/255 or
0/1 single band, which the evaluator reads); an RGB label (S2Looking) is reduced
to one band (any non-zero channel = change, written as 255). A, B and label must
have the same size. ``on_missing: skip`` skips a pair with a missing file
instead of failing (e.g. a composite image without label).

Public: ``test/A/<id>.*``, ``test/B/<id>.*``, ``train/{A,B,label}/`` when the
dataset has a training split (``include_train: false`` to leave it out),
``sample_submission/`` (all-zero masks are NOT written: the README explains the
format). Truth: ``truth/<id>.png|tif``.
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

A_NAMES = ("A", "time1", "im1", "T1", "prev", "Image1", "before")
B_NAMES = ("B", "time2", "im2", "T2", "curr", "Image2", "after")
L_NAMES = ("label", "OUT", "gt", "mask", "labels", "cm")
SPLIT_NAMES = {"test": ("test",), "train": ("train",), "val": ("val", "validation")}


def _triplets(
    folder: Path, source: Path, params: dict
) -> dict[str, tuple[Path, Path, Path]]:
    a_dir = require_child(folder, A_NAMES, source)
    b_dir = require_child(folder, B_NAMES, source)
    l_dir = require_child(folder, L_NAMES, source)
    a, b, lab = files_by_stem(a_dir), files_by_stem(b_dir), files_by_stem(l_dir)
    skip = params.get("on_missing", "error") == "skip"
    out = {}
    for sid in sorted(set(a) | set(b) | set(lab)):
        missing = [
            f"{rel(d, source)}/{sid}.*"
            for d, m in ((a_dir, a), (b_dir, b), (l_dir, lab))
            if sid not in m
        ]
        if missing:
            if skip:
                continue
            raise ImporterError(
                f"{missing[0]}: missing (the pair {sid!r} is incomplete)"
            )
        out[sid] = (a[sid], b[sid], lab[sid])
    if not out:
        raise ImporterError(f"{rel(folder, source)}: no complete A/B/label triplets")
    return out


def _check_sizes(sid: str, files: tuple[Path, Path, Path], source: Path) -> None:
    sizes = [image_size(f, source) for f in files]
    if len(set(sizes)) > 1:
        (wa, ha), (wb, hb), (wl, hl) = sizes
        raise ImporterError(
            f"{rel(files[0], source)}: size {wa}x{ha}, {rel(files[1], source)} {wb}x{hb}, "
            f"{rel(files[2], source)} {wl}x{hl} (mismatched sizes for {sid!r})"
        )


def _write_label(src: Path, dst_dir: Path, sid: str, source: Path) -> None:
    from PIL import Image

    try:
        with Image.open(src) as im:
            mode = im.mode
            if mode in ("L", "1", "P", "I", "I;16"):
                place(src, dst_dir / f"{sid}{src.suffix.lower()}")
                return
            arr = np.asarray(im)
    except ImporterError:
        raise
    except Exception as exc:
        raise ImporterError(f"{rel(src, source)}: unreadable label ({exc})") from None
    # Multi-channel label (S2Looking colours): any non-zero channel is change.
    mask = (arr.reshape(arr.shape[0], arr.shape[1], -1)[..., :3] > 0).any(-1)
    dst_dir.mkdir(parents=True, exist_ok=True)
    Image.fromarray((mask * 255).astype(np.uint8)).save(dst_dir / f"{sid}.png")


def _split_dirs(source: Path) -> dict[str, Path]:
    out = {}
    for name, aliases in SPLIT_NAMES.items():
        d = child(source, aliases)
        if d is not None and child(d, L_NAMES) is not None:
            out[name] = d
    return out


def _flat_split(
    source: Path, folder: Path, sids: list[str], params: dict
) -> tuple[set, set]:
    for lst in ("list/test.txt", "test.txt", "list/test_list.txt"):
        p = folder / lst
        if p.is_file():
            test = {Path(n).stem for n in read_lines(p)}
            unknown = sorted(test - set(sids))
            if unknown:
                raise ImporterError(
                    f"{rel(p, source)}: {len(unknown)} listed names have no triplet, e.g. {unknown[:3]}"
                )
            return test, set(sids) - test
    prefixed = {s for s in sids if s.lower().startswith("test_")}
    if prefixed:
        return prefixed, {s for s in sids if s.lower().startswith(("train_", "val_"))}
    frac, seed = split_params(params)
    test = seeded_test(sids, frac, seed)
    return test, set(sids) - test


def import_dataset(*, source: Path, out_dir: Path, params: dict) -> DemoData:
    splits = _split_dirs(source)
    if splits:
        want = params.get("split", "test")
        if want not in splits:
            raise ImporterError(
                f"{source}: missing folder `{want}/` (found {sorted(splits)})"
            )
        test_trip = _triplets(splits[want], source, params)
        train_trip: dict = {}
        for name in ("train", "val"):
            if name in splits and name != want:
                train_trip.update(_triplets(splits[name], source, params))
    else:
        folder = source
        if child(source, A_NAMES) is None:
            # One wrapper folder (e.g. `LEVIR-CD/`): descend once.
            subs = [p for p in source.iterdir() if p.is_dir() and child(p, A_NAMES)]
            if len(subs) == 1:
                folder = subs[0]
        trip = _triplets(folder, source, params)
        test_ids, train_ids = _flat_split(source, folder, list(trip), params)
        test_trip = {s: trip[s] for s in sorted(test_ids)}
        train_trip = {s: trip[s] for s in sorted(train_ids)}
    public, truth = out_dir / "public", out_dir / "private" / "truth"
    truth.mkdir(parents=True, exist_ok=True)
    for sid, files in test_trip.items():
        _check_sizes(sid, files, source)
        place(files[0], public / "test" / "A" / f"{sid}{files[0].suffix.lower()}")
        place(files[1], public / "test" / "B" / f"{sid}{files[1].suffix.lower()}")
        _write_label(files[2], truth, sid, source)
    if params.get("include_train", True):
        for sid, files in train_trip.items():
            for sub, f in zip(("A", "B", "label"), files, strict=True):
                place(f, public / "train" / sub / f"{sid}{f.suffix.lower()}")
    write_readme(
        public,
        """
Bi-temporal change detection. test/A/<id>.* (before) and test/B/<id>.* (after);
train/ holds training pairs with label/ masks (0 = no change, 255 = change).
Submit a ZIP of single-band PNG masks <id>.png (0 = no change, 1 or 255 = change),
one per test id, same size as the images.
""",
    )
    return result(public, truth, list(test_trip))
