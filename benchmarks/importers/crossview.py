"""CVUSA cross-view geo-localization (ground panorama → aerial image).

Layout: pair CSVs without header, ``aerial,ground[,segmentation]`` paths relative
to the dataset root: the official ``splits/train-19zl.csv`` and
``splits/val-19zl.csv`` (val is the test set, as in every CVUSA paper), or a
single ``data.csv`` (CrossNet demo layout, all test) or ``params.test_csv``.

Ids: the ground image stem is the query id, the aerial image stem the gallery id
(they may coincide: the two id lists are separate). Truth: ``truth.csv``
``query_id,gallery_id``. Public: ``test/ground/<qid>.*``, ``test/aerial/<gid>.*``,
``query_ids.txt``, ``gallery_ids.txt``, ``train/{ground,aerial}/`` +
``train_pairs.csv``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from benchmarks.generators import DemoData
from benchmarks.importers._common import ImporterError, place, rel, result
from benchmarks.writers import write_csv, write_readme


def _rows(csv_path: Path, source: Path) -> list[tuple[str, Path, str, Path]]:
    out, seen_q, seen_g = [], set(), {}
    with open(csv_path, newline="", encoding="utf-8") as fh:
        for lineno, row in enumerate(csv.reader(fh), 1):
            if not row or not row[0].strip():
                continue
            if len(row) < 2:
                raise ImporterError(
                    f"{rel(csv_path, source)} line {lineno}: expected aerial,ground[,seg]"
                )
            paths = []
            for value in row[:2]:
                p = source / value.strip()
                if not p.is_file():
                    p = csv_path.parent / value.strip()
                if not p.is_file():
                    raise ImporterError(
                        f"{rel(csv_path, source)} line {lineno}: {value.strip()}: file not found"
                    )
                paths.append(p)
            aerial, ground = paths
            qid, gid = ground.stem, aerial.stem
            if qid in seen_q:
                raise ImporterError(
                    f"{rel(csv_path, source)} line {lineno}: duplicate ground image {qid!r}"
                )
            if seen_g.get(gid, aerial) != aerial:
                raise ImporterError(
                    f"{rel(csv_path, source)} line {lineno}: aerial id {gid!r} names two files"
                )
            seen_q.add(qid)
            seen_g[gid] = aerial
            out.append((qid, ground, gid, aerial))
    return out


def import_dataset(*, source: Path, out_dir: Path, params: dict) -> DemoData:
    test_csv = params.get("test_csv")
    if test_csv:
        test_path = source / test_csv
    else:
        test_path = next(
            (
                source / n
                for n in ("splits/val-19zl.csv", "data.csv")
                if (source / n).is_file()
            ),
            None,
        )
    if test_path is None or not test_path.is_file():
        raise ImporterError(f"{source}: missing splits/val-19zl.csv (or data.csv)")
    test = _rows(test_path, source)
    train_path = source / params.get("train_csv", "splits/train-19zl.csv")
    train = (
        _rows(train_path, source)
        if train_path.is_file() and params.get("include_train", True)
        else []
    )
    public = out_dir / "public"
    for sub, rows in (("test", test), ("train", train)):
        for qid, ground, gid, aerial in rows:
            place(ground, public / sub / "ground" / f"{qid}{ground.suffix.lower()}")
            place(aerial, public / sub / "aerial" / f"{gid}{aerial.suffix.lower()}")
    write_csv(
        public / "train_pairs.csv",
        ["query_id", "gallery_id"],
        ((q, g) for q, _, g, _ in train),
    )
    (public / "query_ids.txt").write_text(
        "".join(f"{q}\n" for q, *_ in test), encoding="utf-8"
    )
    (public / "gallery_ids.txt").write_text(
        "".join(f"{g}\n" for g in dict.fromkeys(g for _, _, g, _ in test)),
        encoding="utf-8",
    )
    write_readme(
        public,
        """
Cross-view geo-localization. Queries: test/ground/<id>.* (query_ids.txt); gallery:
test/aerial/<id>.* (gallery_ids.txt). train/ and train_pairs.csv: matched pairs.
Submit a ZIP with similarity.npy (queries x gallery, higher = more similar),
query_ids.txt and gallery_ids.txt in the row/column order.
""",
    )
    truth = write_csv(
        out_dir / "private" / "truth.csv",
        ["query_id", "gallery_id"],
        ((q, g) for q, _, g, _ in test),
    )
    return result(public, truth, [q for q, *_ in test])
