"""Deeply nested JSON (200,000 ``[``) in any prediction format that reads JSON is a
one-line ValidationError naming the file, never a RecursionError (issue 18)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import evaluator
from evaluator.errors import ValidationError
from evaluator.registry import get_kind, kind_names
from tests.fuzz.cases import build

REPO = Path(__file__).resolve().parents[2]
BOMB = "[" * 200_000

# Every (kind, prediction file name) that is parsed as JSON. Kinds whose formats
# mention JSON must appear here (checked below), so a new JSON format is covered.
JSON_READERS = [
    ("captioning", "pred.json"),
    ("detection", "pred.json"),  # COCO results (with a COCO ground truth)
    ("grounding", "pred.jsonl"),
    ("grounding", "pred.json"),
    ("image-matching", "pred.json"),
    ("scene-graph", "pred.json"),
    ("vqa", "pred.jsonl"),
    ("vqa", "pred.json"),
]


def _coco_truth(tmp: Path) -> Path:
    truth = {
        "images": [{"id": 1, "file_name": "a.png", "width": 20, "height": 20}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5],
             "area": 25, "iscrowd": 0}
        ],
        "categories": [{"id": 1, "name": "ship"}],
    }
    path = tmp / "coco_truth.json"
    path.write_text(json.dumps(truth))
    return path


@pytest.mark.parametrize(("kind", "name"), JSON_READERS)
def test_deeply_nested_json_is_a_one_line_error(kind, name, tmp_path):
    if kind == "detection":
        truth, options = _coco_truth(tmp_path), {}
    else:
        case = build(kind, tmp_path / "case")
        truth, options = case.truth, case.options
    pred = tmp_path / name
    pred.write_text(BOMB)
    with pytest.raises(ValidationError) as info:
        evaluator.evaluate(kind, pred, truth, options)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(name) and "nested deeper than" in msg, msg


def test_every_json_format_is_enumerated():
    covered = {k for k, _ in JSON_READERS}
    for kind in kind_names():
        formats = " ".join(get_kind(kind).formats)
        if re.search(r"json", formats, re.IGNORECASE):
            assert kind in covered, f"{kind} reads JSON but is not in JSON_READERS"


def test_no_direct_json_loads_on_participant_files():
    """Everything in the scorer parses JSON through evaluator.io.parse_json."""
    offenders = []
    for path in (REPO / "evaluator").rglob("*.py"):
        rel = path.relative_to(REPO).as_posix()
        if rel in ("evaluator/io.py", "evaluator/cli.py") or "/sandbox/" in rel:
            continue
        if "json.loads(" in path.read_text():
            offenders.append(rel)
    assert not offenders, offenders
