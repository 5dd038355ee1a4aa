"""Demo generator: vqa (RSVQA-like open answers and multiple choice)."""

import json

import pytest

import evaluator
from benchmarks.generators import vqa as gen

KIND = "vqa"
CHOICE_TYPES = [
    "counting",
    "land_use",
    "object_presence",
    "spatial_relation",
    "urban_rural",
]


def _truth_answers(truth_path):
    if truth_path.is_dir():
        ans = json.loads(next(truth_path.glob("*_answers.json")).read_text())["answers"]
        return {a["question_id"]: a["answer"] for a in ans}
    rows = [json.loads(x) for x in truth_path.read_text().splitlines()]
    return {r["question_id"]: r["answer"] for r in rows}


@pytest.mark.parametrize("choice", [False, True])
def test_vqa_demo(tmp_path, digest, choice):
    params = {"n_train": 16, "n_test": 12, "choice": choice}
    if choice:
        params["question_types"] = CHOICE_TYPES
    opts = {"mode": "choice"} if choice else {}
    a = gen.generate(params=params, out_dir=tmp_path / "a", seed=8)
    gen.generate(params=params, out_dir=tmp_path / "b", seed=8)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    ev = evaluator.evaluate(KIND, a.baseline_path, a.truth_path, opts)
    assert sorted(ev.sample_ids) == sorted(a.sample_ids)
    base = evaluator.score(KIND, a.baseline_path, a.truth_path, opts)
    answers = _truth_answers(a.truth_path)
    perfect = tmp_path / "perfect.jsonl"
    perfect.write_text(
        "".join(
            json.dumps({"question_id": q, "answer": v}) + "\n"
            for q, v in answers.items()
        )
    )
    assert evaluator.score(KIND, perfect, a.truth_path, opts)["aa"] == 1.0
    # Chance: a fixed wrong-ish guess for every question.
    const = tmp_path / "const.jsonl"
    guess = "D" if choice else "maybe"
    const.write_text(
        "".join(json.dumps({"question_id": q, "answer": guess}) + "\n" for q in answers)
    )
    assert evaluator.score(KIND, const, a.truth_path, opts)["aa"] < base["aa"] < 1.0
    expected = (
        set(CHOICE_TYPES)
        if choice
        else {"presence", "comparison", "rural_urban", "count", "area"}
    )
    assert set(base["per_type"]) == expected
    public_q = [
        json.loads(x)
        for x in (a.public_dir / "test_questions.jsonl").read_text().splitlines()
    ]
    assert all("answer" not in q for q in public_q)
