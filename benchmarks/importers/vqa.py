"""RSVQA low- and high-resolution (the JSON files of the original release).

Layout: ``<prefix>_split_<split>_{questions,answers,images}.json`` with
``<prefix>`` = ``LR`` (low resolution, images ``Images_LR/<id>.tif``) or ``USGS``
(high resolution, images ``Images/Data/<id>.tif`` or ``Data/<id>.tif``). The test
split is ``split`` (default ``test``; RSVQA-HR also has ``test_phili``). ``prefix``
is auto-detected (``LR`` before ``USGS``) or given.

Truth: ``truth/`` with the three test JSON files copied as they are (the
evaluator reads RSVQA JSON directly and drops inactive questions/answers/images);
the sample ids are the active question ids, as the evaluator computes them.
Public: ``test/images/<img_id>.tif`` of the images with active test questions,
``test_questions.jsonl`` ({question_id, image_id, type, question}), training
JSON files and images under ``train/``, ``sample_submission.jsonl``.
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.generators import DemoData
from benchmarks.importers._common import (
    ImporterError,
    child,
    files_by_stem,
    place,
    read_json,
    rel,
    result,
)
from benchmarks.writers import write_readme

_PARTS = ("questions", "answers", "images")


def _files(source: Path, prefix: str, split: str) -> dict[str, Path]:
    out = {p: source / f"{prefix}_split_{split}_{p}.json" for p in _PARTS}
    for part in ("questions", "answers"):
        if not out[part].is_file():
            raise ImporterError(f"{rel(out[part], source)}: file not found")
    if not out["images"].is_file():
        del out["images"]
    return out


def _image_dir(source: Path, params: dict) -> Path | None:
    if params.get("images"):
        return source / params["images"]
    for cand in ("Images_LR", "Images/Data", "Data", "Images"):
        d = source / cand
        if d.is_dir() and any(d.iterdir()):
            return d
    return child(source, ("images",))


def _truth_ids(truth: Path) -> list[str]:
    from evaluator.errors import ValidationError
    from evaluator.formats.vqa import read_vqa_truth
    from evaluator.io import open_source

    try:
        return read_vqa_truth(open_source(truth, label="truth")).ids
    except ValidationError as exc:
        raise ImporterError(str(exc)) from None


def import_rsvqa(*, source: Path, out_dir: Path, params: dict) -> DemoData:
    prefix = params.get("prefix") or next(
        (
            p
            for p in ("LR", "USGS")
            if (source / f"{p}_split_test_questions.json").is_file()
        ),
        None,
    )
    if prefix is None:
        raise ImporterError(
            f"{source}: no LR_split_test_questions.json or USGS_split_test_questions.json"
        )
    split = params.get("split", "test")
    test = _files(source, prefix, split)
    truth = out_dir / "private" / "truth"
    for f in test.values():
        place(f, truth / f.name)
    ids = _truth_ids(truth)
    keep = set(ids)
    qdata = read_json(test["questions"], source)
    public = out_dir / "public"
    public.mkdir(parents=True, exist_ok=True)
    img_dir = _image_dir(source, params)
    images = (
        files_by_stem(img_dir, (".tif", ".tiff", ".png", ".jpg")) if img_dir else {}
    )
    missing_mode = params.get("missing_images", "error")
    needed: set[str] = set()
    with (
        open(public / "test_questions.jsonl", "w", encoding="utf-8") as fq,
        open(public / "sample_submission.jsonl", "w", encoding="utf-8") as fs,
    ):
        for q in qdata["questions"]:
            qid = str(q.get("id"))
            if qid not in keep:
                continue
            img = str(q.get("img_id"))
            needed.add(img)
            fq.write(
                json.dumps(
                    {
                        "question_id": qid,
                        "image_id": img,
                        "type": q.get("type"),
                        "question": q.get("question"),
                    }
                )
                + "\n"
            )
            fs.write(json.dumps({"question_id": qid, "answer": "yes"}) + "\n")
    for img in sorted(needed, key=lambda s: (len(s), s)):
        if img not in images:
            if missing_mode == "error":
                where = (
                    rel(img_dir, source) if img_dir else "Images_LR/ or Images/Data/"
                )
                raise ImporterError(
                    f"{where}/{img}.tif: image not found (needed by test questions)"
                )
            continue
        place(
            images[img],
            public / "test" / "images" / f"{img}{images[img].suffix.lower()}",
        )
    if params.get("include_train", True):
        for tr in ("train", "val"):
            try:
                files = _files(source, prefix, tr)
            except ImporterError:
                continue
            for f in files.values():
                place(f, public / "train" / f.name)
            if "images" in files and images:
                for im in read_json(files["images"], source).get("images", []):
                    sid = str(im.get("id"))
                    if im.get("active", True) and sid in images:
                        place(
                            images[sid],
                            public
                            / "train"
                            / "images"
                            / f"{sid}{images[sid].suffix.lower()}",
                        )
    write_readme(
        public,
        f"""
RSVQA ({"low" if prefix == "LR" else "high"} resolution). test_questions.jsonl lists the
test questions with their image (test/images/<image_id>.*). train/ holds the
training/validation questions, answers and images in the original RSVQA JSON.
Submit JSONL lines {{"question_id": "...", "answer": "..."}} for every test question,
like sample_submission.jsonl.
""",
    )
    return result(public, truth, ids)
