"""Image captioning and image–text retrieval: RSICD, UCM-captions, Sydney-captions,
RSITMD, LEVIR-CC.

Caption files understood (``params.captions`` names one, else auto-detected):

- Karpathy-style ``dataset_rsicd.json`` / UCM / Sydney ``dataset.json`` /
  ``dataset_RSITMD.json`` / LEVIR-CC ``LevirCCcaptions.json``:
  ``images[{filename, imgid, split, sentences[{raw, tokens}]}]``; the test set is
  ``split == "test"``;
- COCO-caption JSON (``images[{id, file_name}]`` + ``annotations[{image_id,
  caption}]``), one file per split: a file whose name contains ``test`` is the
  test set, ``train``/``val`` files are training data;
- "precomp" text (AMFMN / RSITMD): ``<split>_caps.txt`` (one caption per line) +
  ``<split>_filename.txt`` (one image name per caption line, or one per image
  when the caption file is an integer multiple longer).

Images are looked up in ``params.images`` or in ``RSICD_images/``, ``images/``,
``imgs/``, ``Images/``, ``original_images/`` (recursively for LEVIR-CC
``images/<split>/{A,B}/``). A test image missing on disk is an error; with
``missing_images: skip`` the sample is dropped, with ``ignore`` it is kept
without an image (tests on caption files shipped without images).

The sample id is the image file stem. Captioning truth: COCO-caption JSON
``truth.json`` of the test images (ids = stems). Retrieval truth:
``truth.json`` = ``{caption_id: image_id}`` with caption ids ``<stem>#<k>``.
The caption files are JSON/text metadata read once; images are hard-linked or
copied one at a time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.generators import DemoData
from benchmarks.importers._common import (
    IMAGE_EXTS,
    ImporterError,
    child,
    place,
    read_json,
    rel,
    result,
)
from benchmarks.writers import write_csv, write_json, write_readme

KARPATHY_NAMES = (
    "dataset_rsicd.json",
    "LevirCCcaptions.json",
    "dataset_RSITMD.json",
    "dataset.json",
)
IMAGE_DIRS = ("RSICD_images", "images", "imgs", "Images", "original_images")


@dataclass
class Record:
    sid: str
    filename: str
    split: str
    captions: list[str]
    subdir: str = ""  # LEVIR-CC: images/<subdir>/{A,B}/<filename>
    paths: list[Path] = field(default_factory=list)


def _sentence(s) -> str | None:
    if isinstance(s, str):
        return s
    if isinstance(s, dict):
        if isinstance(s.get("raw"), str):
            return s["raw"].strip()
        if isinstance(s.get("tokens"), list):
            return " ".join(map(str, s["tokens"]))
    return None


def _karpathy(path: Path, source: Path) -> list[Record]:
    data = read_json(path, source)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise ImporterError(f"{rel(path, source)}: expected {{'images': [...]}}")
    out = []
    for k, im in enumerate(data["images"]):
        fname = im.get("filename") if isinstance(im, dict) else None
        if not isinstance(fname, str):
            raise ImporterError(f"{rel(path, source)}: images[{k}] has no filename")
        caps = [c for c in (_sentence(s) for s in im.get("sentences") or []) if c]
        if not caps:
            raise ImporterError(
                f"{rel(path, source)}: images[{k}] ({fname}) has no sentences"
            )
        split = str(im.get("split", "train"))
        out.append(
            Record(Path(fname).stem, fname, split, caps, str(im.get("filepath", "")))
        )
    return out


def _coco(path: Path, source: Path, split: str) -> list[Record]:
    data = read_json(path, source)
    if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
        raise ImporterError(
            f"{rel(path, source)}: expected COCO-caption {{images, annotations}}"
        )
    recs: dict[str, Record] = {}
    for im in data.get("images") or []:
        fname = str(im.get("file_name") or im["id"])
        recs[str(im["id"])] = Record(Path(fname).stem, fname, split, [])
    for k, ann in enumerate(data["annotations"]):
        rec = recs.get(str(ann.get("image_id")))
        if rec is None or not isinstance(ann.get("caption"), str):
            raise ImporterError(
                f"{rel(path, source)}: annotations[{k}] refers to unknown image or has no caption"
            )
        rec.captions.append(ann["caption"].strip())
    return [r for r in recs.values() if r.captions]


def _raw_lines(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        lines = [ln.rstrip("\r\n") for ln in fh]
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _precomp(folder: Path, source: Path) -> list[Record]:
    out: list[Record] = []
    for split in ("train", "val", "test"):
        caps_p, names_p = folder / f"{split}_caps.txt", folder / f"{split}_filename.txt"
        if not caps_p.is_file():
            continue
        if not names_p.is_file():
            raise ImporterError(
                f"{rel(names_p, source)}: file not found (needed by {caps_p.name})"
            )
        # Positional files: keep empty lines so caption k stays aligned with name k.
        caps, names = _raw_lines(caps_p), _raw_lines(names_p)
        if len(caps) % len(names):
            raise ImporterError(
                f"{rel(caps_p, source)}: {len(caps)} captions do not match the {len(names)} names "
                f"of {names_p.name}"
            )
        per = len(caps) // len(names)
        by_name: dict[str, Record] = {}
        for i, cap in enumerate(caps):
            fname = names[i // per] if per > 1 else names[i]
            rec = by_name.get(fname)
            if rec is None:
                rec = by_name[fname] = Record(Path(fname).stem, fname, split, [])
            if cap.strip():
                rec.captions.append(cap.strip())
        out += [r for r in by_name.values() if r.captions]
    if not out:
        raise ImporterError(f"{rel(folder, source)}: no <split>_caps.txt files")
    return out


def load_records(source: Path, params: dict) -> list[Record]:
    named = params.get("captions")
    if named:
        p = source / named
        if p.is_dir():
            return _precomp(p, source)
        if not p.is_file():
            raise ImporterError(f"{named}: file not found")
        data = read_json(p, source)
        if isinstance(data, dict) and "annotations" in data:
            return _coco(p, source, "test")
        return _karpathy(p, source)
    for name in KARPATHY_NAMES:
        hits = sorted(source.rglob(name))
        if hits:
            return _karpathy(hits[0], source)
    cocos = [p for p in sorted(source.rglob("*.json")) if "test" in p.name.lower()]
    if cocos:
        recs = _coco(cocos[0], source, "test")
        for p in sorted(source.rglob("*.json")):
            low = p.name.lower()
            if (
                ("train" in low or "val" in low)
                and "ids2path" not in str(p)
                and "vocab" not in low
            ):
                try:
                    recs += _coco(p, source, "train")
                except (ImporterError, KeyError):
                    continue
        return recs
    caps = sorted(source.rglob("test_caps.txt"))
    if caps:
        return _precomp(caps[0].parent, source)
    raise ImporterError(
        f"{source}: no caption file found (dataset_rsicd.json, dataset.json, "
        "LevirCCcaptions.json, a COCO captions_*test*.json or test_caps.txt)"
    )


def _image_index(source: Path, params: dict) -> dict[str, Path]:
    """``{file name: path}`` of images under the image folder (walks names, not data)."""
    roots = (
        [source / params["images"]]
        if params.get("images")
        else [d for n in IMAGE_DIRS if (d := child(source, (n,))) is not None]
    )
    index: dict[str, Path] = {}
    for r in roots:
        for p in sorted(r.rglob("*")):
            if p.suffix.lower() in IMAGE_EXTS:
                index.setdefault(p.relative_to(r).as_posix(), p)
                index.setdefault(p.name, p)
    return index


def _attach_images(
    recs: list[Record], source: Path, params: dict, pair: bool
) -> list[Record]:
    index = _image_index(source, params)
    mode = params.get("missing_images", "error")
    kept = []
    for r in recs:
        names = (
            [f"{r.subdir}/{ab}/{r.filename}" for ab in ("A", "B")]
            if pair
            else [r.filename]
        )
        found = [
            index.get(n) if pair else (index.get(n) or index.get(Path(n).name))
            for n in names
        ]
        if any(f is None for f in found):
            if mode == "skip":
                continue
            if mode != "ignore":
                raise ImporterError(
                    f"{names[found.index(None)]}: image not found for {r.sid!r} "
                    f"(looked in {params.get('images') or ', '.join(IMAGE_DIRS)})"
                )
        r.paths = [f for f in found if f is not None]
        kept.append(r)
    return kept


def _check_unique(recs: list[Record]) -> None:
    seen: dict[tuple[str, str], str] = {}
    for r in recs:
        key = (r.split, r.sid)
        if key in seen:
            raise ImporterError(
                f"{r.filename}: image id {r.sid!r} appears twice in split {r.split!r}"
            )
        seen[key] = r.filename


def _publish_images(public: Path, recs: list[Record], pair: bool) -> None:
    for r in recs:
        sub = "test" if r.split == "test" else "train"
        if pair:
            for ab, p in zip(("A", "B"), r.paths, strict=False):
                place(p, public / sub / ab / f"{r.sid}{p.suffix.lower()}")
        elif r.paths:
            place(
                r.paths[0],
                public / sub / "images" / f"{r.sid}{r.paths[0].suffix.lower()}",
            )


def _prepare(
    source: Path, params: dict, pair: bool
) -> tuple[list[Record], list[Record]]:
    recs = load_records(source, params)
    test_split = params.get("split", "test")
    for r in recs:
        # Every other split (train, val, and test when another split is chosen)
        # is published as training data.
        r.split = "test" if r.split == test_split else "train"
    _check_unique(recs)
    recs = _attach_images(recs, source, params, pair)
    test = [r for r in recs if r.split == "test"]
    if not test:
        raise ImporterError(f"{source}: no images in the test split {test_split!r}")
    return test, [r for r in recs if r.split != "test"]


def import_captioning(*, source: Path, out_dir: Path, params: dict) -> DemoData:
    pair = bool(params.get("pairs", False))
    test, train = _prepare(source, params, pair)
    public = out_dir / "public"
    _publish_images(
        public, test + (train if params.get("include_train", True) else []), pair
    )
    write_csv(
        public / "train_captions.csv",
        ["image_id", "caption"],
        ((r.sid, c) for r in train for c in r.captions),
    )
    (public / "test_ids.txt").write_text(
        "".join(f"{r.sid}\n" for r in test), encoding="utf-8"
    )
    write_json(
        public / "sample_submission.json",
        [{"image_id": r.sid, "caption": "a remote sensing image"} for r in test],
    )
    write_readme(
        public,
        f"""
{"Change captioning: test/A and test/B hold the before/after image of each pair." if pair else "Image captioning: test/images/<id>.* are the test images."}
train/ and train_captions.csv (image_id,caption) are training data.
Submit a COCO results JSON [{{"image_id": "<id>", "caption": "..."}}] with one caption
per id of test_ids.txt, like sample_submission.json.
""",
    )
    coco = {
        "images": [{"id": r.sid, "file_name": r.filename} for r in test],
        "annotations": [
            {"id": n, "image_id": r.sid, "caption": c}
            for n, (r, c) in enumerate((r, c) for r in test for c in r.captions)
        ],
    }
    truth = write_json(out_dir / "private" / "truth.json", coco)
    return result(public, truth, [r.sid for r in test])


def import_retrieval(*, source: Path, out_dir: Path, params: dict) -> DemoData:
    pair = bool(params.get("pairs", False))
    test, train = _prepare(source, params, pair)
    public = out_dir / "public"
    _publish_images(
        public, test + (train if params.get("include_train", True) else []), pair
    )
    write_csv(
        public / "train_captions.csv",
        ["image_id", "caption"],
        ((r.sid, c) for r in train for c in r.captions),
    )
    pairs = {f"{r.sid}#{k}": r.sid for r in test for k in range(len(r.captions))}
    write_csv(
        public / "test_captions.csv",
        ["caption_id", "caption"],
        ((f"{r.sid}#{k}", c) for r in test for k, c in enumerate(r.captions)),
    )
    (public / "image_ids.txt").write_text(
        "".join(f"{r.sid}\n" for r in test), encoding="utf-8"
    )
    (public / "caption_ids.txt").write_text(
        "".join(f"{c}\n" for c in pairs), encoding="utf-8"
    )
    write_readme(
        public,
        """
Image-text retrieval. Gallery images: test/images/<id>.* (image_ids.txt); text
queries: test_captions.csv (caption_id,caption; caption_ids.txt).
Submit a ZIP with similarity.npy (rows = image_ids.txt order, columns =
caption_ids.txt order, higher = more similar) plus the two id files.
""",
    )
    truth = out_dir / "private" / "truth.json"
    truth.parent.mkdir(parents=True, exist_ok=True)
    truth.write_text(json.dumps(pairs), encoding="utf-8")
    return result(public, truth, [r.sid for r in test])
