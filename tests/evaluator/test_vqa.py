"""vqa kind vs an independent loop on the real RSVQA subsets, plus validation."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from evaluator import api
from evaluator.errors import ValidationError
from evaluator.text.answers import normalize_answer, normalize_choice

SETS = [
    ("RSVQA-LR", "LR_split_test", {"presence", "comparison", "count", "rural_urban"}),
    ("RSVQA-HR", "USGS_split_test", {"presence", "comparison", "count", "area"}),
    ("RSVQA-HR", "USGS_split_test_phili", {"presence", "comparison", "count", "area"}),
]


def truth_folder(tmp_path: Path, src: Path, prefix: str) -> Path:
    out = tmp_path / "truth"
    out.mkdir()
    for part in ("questions", "answers", "images"):
        shutil.copy(src / f"{prefix}_{part}.json", out / f"{prefix}_{part}.json")
    return out


def noisy_predictions(questions, answers, seed):
    """Truth answers, a third replaced, some re-spelled (case, article, words)."""
    rng = random.Random(seed)
    by_id = {a["id"]: a["answer"] for a in answers}
    pool = sorted(set(by_id.values()))
    spell = {"yes": "Yes.", "no": " NO", "2": "two", "rural": "a rural"}
    preds = {}
    for q in questions:
        ans = by_id[q["answers_ids"][0]]
        if rng.random() < 0.33:
            ans = rng.choice(pool)
        elif rng.random() < 0.5:
            ans = spell.get(ans, ans)
        preds[q["id"]] = ans
    return preds


def simple_norm(s: str) -> str:
    s = "".join(ch for ch in s.lower().strip() if ch.isalnum() or ch.isspace())
    words = {"two": "2", "three": "3"}
    return " ".join(words.get(w, w) for w in s.split() if w not in ("a", "an", "the"))


@pytest.mark.parametrize("folder, prefix, expected_types", SETS)
def test_rsvqa_subsets_against_independent_loop(
    tmp_path, shared_data, folder, prefix, expected_types
):
    src = shared_data("rsvqa_configilm_subset", folder)
    truth = truth_folder(tmp_path, src, prefix)
    qs = json.loads((src / f"{prefix}_questions.json").read_text())["questions"]
    ans = json.loads((src / f"{prefix}_answers.json").read_text())["answers"]
    preds = noisy_predictions(qs, ans, seed=len(prefix))
    pred = tmp_path / "pred.jsonl"
    pred.write_text(
        "".join(
            json.dumps({"question_id": k, "answer": v}) + "\n" for k, v in preds.items()
        )
    )
    ev = api.evaluate("vqa", pred, truth, {})
    out = ev.compute(None)
    # Independent reference loop.
    by_id = {a["id"]: a["answer"] for a in ans}
    right, total = defaultdict(int), defaultdict(int)
    names = {"comp": "comparison"}
    for q in qs:
        if not q["active"]:
            continue
        t = names.get(q["type"], q["type"])
        total[t] += 1
        right[t] += simple_norm(preds[q["id"]]) == simple_norm(
            by_id[q["answers_ids"][0]]
        )
    assert set(total) == expected_types == set(out["per_type"])
    for t in total:
        assert out["per_type"][t] == pytest.approx(right[t] / total[t])
    assert out["oa"] == pytest.approx(sum(right.values()) / sum(total.values()))
    assert out["aa"] == pytest.approx(np.mean([right[t] / total[t] for t in total]))
    assert out["primary"] == "aa" and 0 < out["oa"] < 1
    # Split consistency: a subset equals scoring that subset's questions alone.
    idx = np.arange(0, len(ev.sample_ids), 2)
    sub_ids = {ev.sample_ids[i] for i in idx}
    sub_truth = tmp_path / "sub.jsonl"
    type_of = {str(q["id"]): names.get(q["type"], q["type"]) for q in qs}
    sub_truth.write_text(
        "".join(
            json.dumps({"question_id": q, "answer": by_id[int(q)], "type": type_of[q]})
            + "\n"
            for q in sorted(sub_ids)
        )
    )
    sub_pred = tmp_path / "sub_pred.jsonl"
    sub_pred.write_text(
        "".join(
            json.dumps({"question_id": q, "answer": preds[int(q)]}) + "\n"
            for q in sub_ids
        )
    )
    direct = api.score("vqa", sub_pred, sub_truth, {})
    got = ev.compute(idx)
    assert got["oa"] == pytest.approx(direct["oa"]) and got["aa"] == pytest.approx(
        direct["aa"]
    )
    assert got["per_type"] == pytest.approx(direct["per_type"])


def test_inactive_questions_and_images_are_excluded(tmp_path):
    truth = tmp_path / "t"
    truth.mkdir()
    qs = [
        {"id": 1, "img_id": 10, "type": "presence", "answers_ids": [1], "active": True},
        {"id": 2, "img_id": 10, "type": "count", "answers_ids": [2], "active": False},
        {"id": 3, "img_id": 11, "type": "count", "answers_ids": [3], "active": True},
        {"id": 4, "img_id": 12, "type": "comp", "answers_ids": [4], "active": True},
    ]
    ans = [
        {"id": i, "question_id": i, "answer": a, "active": True}
        for i, a in [(1, "yes"), (2, "3"), (3, "4"), (4, "no")]
    ]
    (truth / "x_questions.json").write_text(json.dumps({"questions": qs}))
    (truth / "x_answers.json").write_text(json.dumps({"answers": ans}))
    (truth / "x_images.json").write_text(
        json.dumps(
            {
                "images": [
                    {"id": 10, "active": True},
                    {"id": 11, "active": False},
                    {"id": 12, "active": True},
                ]
            }
        )
    )
    pred = tmp_path / "p.jsonl"
    pred.write_text(
        "".join(
            json.dumps({"question_id": q, "answer": a}) + "\n"
            for q, a in [(1, "yes"), (2, "3"), (3, "4"), (4, "yes")]
        )
    )
    out = api.score("vqa", pred, truth, {})
    assert out["n_samples"] == 2 and out["per_type"] == {
        "presence": 1.0,
        "comparison": 0.0,
    }
    assert out["aa"] == 0.5
    out = api.score("vqa", pred, truth, {"types": ["comparison"]})
    assert out["n_samples"] == 1 and out["oa"] == 0.0


def test_normalisation_rule():
    assert normalize_answer("  The Two!  ") == "2"
    assert normalize_answer("An urban area.") == "urban area"
    # official VQA rule: number words up to ten only; a period between digits stays
    assert normalize_answer("ten") == "10" and normalize_answer("zero") == "0"
    assert normalize_answer("twenty") == "twenty"
    assert normalize_answer("1.4") == "1.4" != normalize_answer("14")
    assert normalize_answer("1,082 m2") == "1082 m2"
    assert normalize_choice("(b).") == "B" and normalize_choice(" c ") == "C"


def test_choice_mode_and_types(tmp_path):
    t = tmp_path / "t.jsonl"
    t.write_text(
        "".join(
            json.dumps(r) + "\n"
            for r in [
                {"question_id": "a", "answer": "A", "type": "land use"},
                {"question_id": "b", "answer": "C", "type": "land use"},
                {"question_id": "c", "answer": "D", "type": "counting"},
            ]
        )
    )
    p = tmp_path / "p.jsonl"
    p.write_text(
        '{"question_id": "a", "answer": "a"}\n{"question_id": "b", "answer": "(B)"}\n'
        '{"question_id": "c", "answer": "d."}\n'
    )
    out = api.score("vqa", p, t, {"mode": "choice"})
    assert out["per_type"] == {"land use": 0.5, "counting": 1.0}
    assert out["oa"] == pytest.approx(2 / 3) and out["aa"] == pytest.approx(0.75)
    with pytest.raises(ValidationError, match="not in the truth: 'area'"):
        api.evaluate("vqa", p, t, {"types": ["area"]})
    with pytest.raises(ValidationError, match="mode"):
        api.evaluate("vqa", p, t, {"mode": "mc"})


@pytest.mark.parametrize(
    "content, fragment",
    [
        (
            b'{"question_id": 1, "answer": "yes"}\n{"question_id": 9, "answer": "no"}\n'
            b'{"question_id": 2, "answer": "no"}\n',
            "1 question id(s) not in the test set: '9'",
        ),
        (
            b'{"question_id": 1, "answer": "yes"}\n{"question_id": 1, "answer": "no"}\n',
            "p.jsonl line 2: duplicate question_id '1' (first on line 1)",
        ),
        (
            b'{"question_id": 1, "answer": "yes"}\n{"question_id": 2}\n',
            "p.jsonl line 2: missing key 'answer'",
        ),
        (
            b'{"question_id": 1, "answer": "yes"}\n{"question_id": 2, "answer": "n\xffo"}\n',
            "p.jsonl line 2: not valid UTF-8",
        ),
        (
            b'{"question_id": 1, "answer": "yes"}\n{"question_id": 2, answer}\n',
            "p.jsonl line 2: invalid JSON",
        ),
        (b'{"question_id": 1, "answer": "yes"}\n', "1 question(s) missing: '2'"),
        (
            b'{"question_id": 1, "answer": null}\n',
            "answer for question '1' must be a string",
        ),
    ],
)
def test_validation_errors(tmp_path, content, fragment):
    t = tmp_path / "t.jsonl"
    t.write_text(
        '{"question_id": 1, "answer": "yes"}\n{"question_id": 2, "answer": "no"}\n'
    )
    p = tmp_path / "p.jsonl"
    p.write_bytes(content)
    with pytest.raises(ValidationError) as exc:
        api.evaluate("vqa", p, t, {})
    assert fragment in str(exc.value)


def test_empty_answer_is_wrong_not_an_error(tmp_path):
    t = tmp_path / "t.jsonl"
    t.write_text(
        '{"question_id": 1, "answer": "yes"}\n{"question_id": 2, "answer": "no"}\n'
    )
    p = tmp_path / "p.jsonl"
    p.write_text(
        '{"question_id": 1, "answer": ""}\n{"question_id": 2, "answer": "No"}\n'
    )
    assert api.score("vqa", p, t, {})["oa"] == 0.5


def test_cli(tmp_path):
    t = tmp_path / "t.jsonl"
    t.write_text('{"question_id": 1, "answer": "yes", "type": "presence"}\n')
    p = tmp_path / "p.jsonl"
    p.write_text('{"question_id": 1, "answer": "Yes"}\n')
    cmd = [
        sys.executable,
        "-m",
        "evaluator",
        "score",
        "--kind",
        "vqa",
        "--predictions",
        str(p),
        "--truth",
        str(t),
    ]
    ok = subprocess.run(
        cmd, capture_output=True, text=True, cwd=Path(__file__).parents[2]
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["aa"] == 1.0
    p.write_text('{"question_id": 7, "answer": "Yes"}\n')
    bad = subprocess.run(
        cmd, capture_output=True, text=True, cwd=Path(__file__).parents[2]
    )
    assert bad.returncode == 2 and "'7'" in bad.stderr and bad.stderr.count("\n") == 1
