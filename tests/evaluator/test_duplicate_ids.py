"""A repeated id in a prediction reads the same for every registered kind:

    <file> line|item|row N: duplicate <id noun> '<id>' (first on line|item|row M)

(``evaluator.ids.unique_id_rows``). Kinds whose samples are files named by id
name both files instead; detection has no per-sample rows to repeat (boxes of
one image are many lines by design). A new kind must be added to one of the
tables below, so it cannot skip the check unnoticed.
"""

from __future__ import annotations

import json
import re
import zipfile

import numpy as np
import pytest

import evaluator
from evaluator.errors import ValidationError
from evaluator.registry import kind_names
from tests.fuzz.cases import IDS, build, encode


def _append_line(text: bytes, line: str) -> bytes:
    return text.rstrip(b"\n") + b"\n" + line.encode() + b"\n"


def _csv_dup(member: str):
    def dup(pred):
        rows = pred[member].decode().splitlines()
        pred[member] = _append_line(pred[member], rows[2])  # the id of line 3
        return member, 8, IDS[1], 3

    return dup


def _jsonl_dup(member: str, key: str, sid, line: int):
    def dup(pred):
        rows = [json.loads(r) for r in pred[member].decode().splitlines()]
        first = next(k for k, r in enumerate(rows, 1) if r[key] == sid)
        pred[member] = _append_line(pred[member], json.dumps(rows[first - 1]))
        return member, line, str(sid), first

    return dup


def _object_dup(member: str):
    """A JSON object keyed by id, one key per line, whose second key repeats."""

    def dup(pred):
        pairs = list(json.loads(pred[member]).items())
        pairs.append(pairs[1])
        body = ",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in pairs)
        pred[member] = ("{\n" + body + "\n}").encode()
        return member, len(pairs) + 1, pairs[1][0], 3

    return dup


def _id_list_dup(member: str):
    def dup(pred):
        ids = pred[member].decode().split()
        pred[member] = _append_line(pred[member], ids[1])
        return member, len(ids) + 1, ids[1], 2

    return dup


def _captions_dup(pred):
    items = json.loads(pred["pred.json"])
    items.append(items[1])
    pred["pred.json"] = json.dumps(items).encode()
    return "pred.json", len(items) - 1, "1", 1  # items count from 0


def _embeddings_dup(pred):
    arrays = pred["emb.npz"]
    ids, emb = list(arrays["ids"]), arrays["embeddings"]
    pred["emb.npz"] = {
        "ids": np.array([*ids, ids[1]]),
        "embeddings": np.vstack([emb, emb[1:2]]),
    }
    return "emb.npz 'ids'", len(ids), str(ids[1]), 1  # rows count from 0


def _log_dup(pred):
    lines = pred["kitchen.log"].decode().splitlines()
    n = len(lines)
    pred["kitchen.log"] = _append_line(pred["kitchen.log"], "\n".join(lines[5:10]))
    return "kitchen.log", n + 1, " ".join(lines[5].split()[:2]), 6


#: kind -> how to repeat an id in its valid case: returns (file, position, id,
#: first position) of the expected message.
ROW_IDS = {
    "captioning": _captions_dup,
    "classification": _csv_dup("pred.csv"),
    "embedding-probe": _embeddings_dup,
    "geo-localization": _id_list_dup("query_ids.txt"),
    "grounding": _jsonl_dup("pred.jsonl", "id", IDS[1], 7),
    "image-matching": _object_dup("pred.json"),
    "multilabel": _csv_dup("pred.csv"),
    "patch-matching": _csv_dup("pred.csv"),
    "registration": _log_dup,
    "regression": _csv_dup("pred.csv"),
    "retrieval": _id_list_dup("caption_ids.txt"),
    "scene-graph": _object_dup("pred.json"),
    "set-prediction": _csv_dup("pred.csv"),
    "vqa": _jsonl_dup("pred.jsonl", "question_id", 1, 5),
}
#: kinds whose samples are files named ``<id>.<ext>``: a second file for an id.
FILE_IDS = {"change-detection", "referring-segmentation", "segmentation", "super-resolution"}
#: kinds without a per-sample id to repeat.
NO_IDS = {"detection"}


def test_every_registered_kind_is_covered():
    assert set(kind_names()) == set(ROW_IDS) | FILE_IDS | NO_IDS
    assert not (set(ROW_IDS) & FILE_IDS) and not ((set(ROW_IDS) | FILE_IDS) & NO_IDS)


def _write(pred: dict, folder, as_zip: bool):
    if as_zip:
        path = folder / "pred.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for name, member in pred.items():
                zf.writestr(name, encode(name, member))
        return path
    if len(pred) == 1:
        [(name, member)] = pred.items()
        path = folder / name
        path.write_bytes(encode(name, member))
        return path
    root = folder / "pred"
    for name, member in pred.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(encode(name, member))
    return root


@pytest.mark.parametrize("as_zip", [False, True], ids=["plain", "zip"])
@pytest.mark.parametrize("kind", sorted(ROW_IDS))
def test_duplicate_id_names_file_position_and_id(kind, as_zip, tmp_path):
    case = build(kind, tmp_path / "case")
    member, pos, sid, first = ROW_IDS[kind](case.pred)
    pred = _write(case.pred, tmp_path, as_zip)
    with pytest.raises(ValidationError) as exc:
        evaluator.evaluate(kind, pred, case.truth, case.options)
    msg = str(exc.value)
    unit = r"(line|item|row)"
    want = (
        rf"{re.escape(member)} {unit} {pos}: duplicate \w+ {re.escape(repr(sid))} "
        rf"\(first on \1 {first}\)$"
    )
    assert re.search(want, msg), msg


@pytest.mark.parametrize("kind", sorted(FILE_IDS))
def test_second_file_for_an_id_names_both_files(kind, tmp_path):
    case = build(kind, tmp_path / "case")
    name = next(n for n in case.pred if n.startswith(IDS[1]))
    case.pred[f"again/{name}"] = case.pred[name]
    pred = _write(case.pred, tmp_path, as_zip=True)
    with pytest.raises(ValidationError) as exc:
        evaluator.evaluate(kind, pred, case.truth, case.options)
    msg = str(exc.value)
    assert f"two files for id {IDS[1]!r}" in msg and f"again/{name}" in msg, msg


@pytest.mark.parametrize("kind", ["retrieval", "scene-graph", "image-matching"])
def test_truth_object_keyed_by_id_refuses_a_repeated_key(kind, tmp_path):
    """JSON parsers keep the last of two equal keys; a truth file keyed by id
    must not lose a sample that way."""
    case = build(kind, tmp_path / "case")
    pairs = list(json.loads(case.truth.read_text()).items())
    pairs.append(pairs[1])
    body = ",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in pairs)
    case.truth.write_text("{\n" + body + "\n}")
    pred = _write(case.pred, tmp_path, as_zip=True)
    with pytest.raises(ValidationError) as exc:
        evaluator.evaluate(kind, pred, case.truth, case.options)
    msg = str(exc.value)
    want = rf"truth.json line {len(pairs) + 1}: duplicate \w+ {re.escape(repr(pairs[1][0]))} "
    assert re.search(want + r"\(first on line 3\)$", msg), msg
