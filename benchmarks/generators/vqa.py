"""Visual question answering demo data from scene facts.

Open answers (default, RSVQA-like): question types ``presence`` ("Is there a
ship?"), ``comp`` -> comparison ("Are there more buildings than vehicles?"),
``rural_urban``, ``count`` and ``area`` (RSVQA-HR-like share bins of a terrain
class). Truth: a folder in the RSVQA layout (``demo_split_test_questions.json``,
``..._answers.json``, ``..._images.json``), the layout the vqa kind reads.

Multiple choice (``choice: true``, XLRS-Bench / AgroMind-like): each question lists
four options ``A``-``D``; the answer is the option letter; ``question_types`` names
the sub-tasks (e.g. ``[counting, land_use, object_presence, spatial_relation]``);
a name is mapped by keywords onto a fact family (count, presence, terrain /
land use, position, comparison, urban / rural, area). Truth: ``truth.jsonl``
``{"question_id", "answer", "type"}``.

Public: ``train/``, ``test/`` PNG images, ``train_questions.jsonl`` (with answers,
and ``options`` in choice mode), ``test_questions.jsonl`` (without answers),
``sample_submission.jsonl``. Baseline: the answer prior per question type (the
most frequent training answer; in choice mode the option carrying that answer
text, else ``A``).

Params: ``size`` (64), ``n_train`` (24), ``n_test`` (20) images,
``questions_per_image`` (6), ``choice`` (false), ``question_types`` (choice mode;
default the five RSVQA families).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from benchmarks.generators import DemoData
from benchmarks.generators.scene.geometry import position_name
from benchmarks.generators.scene.make import make_scene
from benchmarks.generators.scene.model import OBJECT_CATEGORIES, Scene
from benchmarks.generators.text import OBJECT_PLURALS, TERRAIN_WORDS, ranked_terrain
from benchmarks.writers import write_json, write_jsonl, write_png, write_readme

OPEN_TYPES = ["presence", "comp", "rural_urban", "count", "area"]
AREA_BINS = ["0%", "between 0% and 10%", "between 10% and 30%", "more than 30%"]
LETTERS = "ABCD"
_TERRAIN_NAMES = ["water", "forest", "farmland", "bare", "road", "building"]
_FAMILIES = [
    (("count", "number", "quantit"), "count"),
    (("presence", "exist", "detect"), "presence"),
    (("land", "scene", "classif", "terrain", "crop", "cover"), "terrain"),
    (("spatial", "relation", "position", "locat", "where"), "position"),
    (("compar", "more", "reason"), "comp"),
    (("urban", "rural", "setting"), "rural_urban"),
    (("area", "proportion", "extent", "size"), "area"),
]


def family(qtype: str) -> str:
    """The fact family behind a (sub-task) type name; unknown names cycle."""
    name = qtype.lower()
    for keys, fam in _FAMILIES:
        if any(k in name for k in keys):
            return fam
    order = [f for _, f in _FAMILIES]
    return order[sum(map(ord, name)) % len(order)]


def _area_bin(f: float) -> str:
    return AREA_BINS[0 if f == 0 else 1 if f < 0.1 else 2 if f < 0.3 else 3]


def _fact(fam: str, scene: Scene, rng) -> tuple[str, str, list[str]]:
    """(question, answer, answer space) of one fact family."""
    counts = scene.counts()
    if fam == "presence":
        c = OBJECT_CATEGORIES[rng.integers(len(OBJECT_CATEGORIES))]
        return (
            f"Is there a {c.replace('-', ' ')}?",
            "yes" if counts[c] else "no",
            ["yes", "no"],
        )
    if fam == "comp":
        a, b = rng.choice(len(OBJECT_CATEGORIES), 2, replace=False)
        ca, cb = OBJECT_CATEGORIES[a], OBJECT_CATEGORIES[b]
        q = f"Are there more {OBJECT_PLURALS[ca]} than {OBJECT_PLURALS[cb]}?"
        return q, "yes" if counts[ca] > counts[cb] else "no", ["yes", "no"]
    if fam == "rural_urban":
        return (
            "Is it a rural or an urban area?",
            "urban" if scene.is_urban else "rural",
            ["rural", "urban"],
        )
    if fam == "count":
        c = ("building", "vehicle", "tree", "ship")[rng.integers(4)]
        n = min(counts[c], 15)
        return (
            f"How many {OBJECT_PLURALS[c]} are there?",
            str(n),
            [str(k) for k in range(16)],
        )
    if fam == "area":
        t = _TERRAIN_NAMES[rng.integers(len(_TERRAIN_NAMES))]
        q = f"What share of the image is covered by {TERRAIN_WORDS[t]}?"
        return q, _area_bin(scene.fractions()[t]), AREA_BINS
    if fam == "terrain":
        order = [t for t in ranked_terrain(scene.fractions()) if t != "background"]
        words = [TERRAIN_WORDS[t] for t in _TERRAIN_NAMES]
        return "Which land cover dominates the image?", TERRAIN_WORDS[order[0]], words
    # position: where is an object of a category present in the scene
    if not scene.objects:
        return _fact("rural_urban", scene, rng)
    o = scene.objects[rng.integers(len(scene.objects))]
    where = position_name(*o.center, scene.size)
    space = [
        "north-west", "north", "north-east", "west", "centre", "east",
        "south-west", "south", "south-east",
    ]  # fmt: skip
    return (
        f"In which part of the image is a {o.category.replace('-', ' ')}?",
        where,
        space,
    )


def _options(answer: str, space: list[str], rng) -> dict[str, str]:
    others = [a for a in space if a != answer]
    pick = [others[i] for i in rng.permutation(len(others))[:3]]
    opts = [answer, *pick]
    opts = [opts[i] for i in rng.permutation(len(opts))]
    return {LETTERS[k]: v for k, v in enumerate(opts)}


def _questions(rng, scenes, ids, types, per_image, choice, q0):
    rows = []
    for img_id, scene in zip(ids, scenes, strict=True):
        for k in range(per_image):
            qtype = types[(k + int(rng.integers(len(types)))) % len(types)]
            q, a, space = _fact(family(qtype), scene, rng)
            row = {
                "question_id": q0 + len(rows),
                "image": img_id,
                "type": qtype,
                "question": q,
            }
            if choice:
                row["options"] = _options(a, space, rng)
                row["answer_text"] = a
                row["answer"] = next(k for k, v in row["options"].items() if v == a)
            else:
                row["answer"] = a
            rows.append(row)
    return rows


def _rsvqa_truth(folder: Path, rows: list[dict], img_ids: dict[str, int]) -> None:
    qs, ans = [], []
    for r in rows:
        qid = r["question_id"]
        qs.append(
            {
                "id": qid, "img_id": img_ids[r["image"]], "people_id": 0, "type": r["type"],
                "question": r["question"], "answers_ids": [qid], "active": True,
            }
        )  # fmt: skip
        ans.append(
            {
                "id": qid,
                "question_id": qid,
                "people_id": 0,
                "answer": r["answer"],
                "active": True,
            }
        )
    write_json(folder / "demo_split_test_questions.json", {"questions": qs})
    write_json(folder / "demo_split_test_answers.json", {"answers": ans})
    images = [{"id": v, "active": True, "questions_ids": []} for v in img_ids.values()]
    for q in qs:
        images[list(img_ids.values()).index(q["img_id"])]["questions_ids"].append(
            q["id"]
        )
    write_json(folder / "demo_split_test_images.json", {"images": images})


def _prior(train_rows, test_rows, choice) -> list[dict]:
    key = "answer_text" if choice else "answer"
    by_type: dict[str, Counter] = {}
    for r in train_rows:
        by_type.setdefault(r["type"], Counter())[r[key]] += 1
    out = []
    for r in test_rows:
        cnt = by_type.get(r["type"], Counter())
        best = min(cnt, key=lambda a: (-cnt[a], a)) if cnt else "yes"
        if choice:
            best = next((k for k, v in r["options"].items() if v == best), "A")
        out.append({"question_id": r["question_id"], "answer": best})
    return out


def generate(*, params: dict, out_dir: Path, seed: int) -> DemoData:
    rng = np.random.default_rng(seed)
    size = int(params.get("size", 64))
    n_train, n_test = int(params.get("n_train", 24)), int(params.get("n_test", 20))
    per_image = int(params.get("questions_per_image", 6))
    choice = bool(params.get("choice", False))
    types = list(params.get("question_types") or OPEN_TYPES)
    public, private = out_dir / "public", out_dir / "private"
    split_rows = {}
    img_num: dict[str, int] = {}
    for split, n, q0 in (("train", n_train, 100000), ("test", n_test, 500000)):
        scenes = [make_scene(rng, size) for _ in range(n)]
        ids = [f"{split}_{k:04d}" for k in range(n)]
        for sid, sc in zip(ids, scenes, strict=True):
            write_png(public / split / f"{sid}.png", sc.render(rng=rng))
            img_num[sid] = len(img_num)
        split_rows[split] = _questions(rng, scenes, ids, types, per_image, choice, q0)
    train_rows, test_rows = split_rows["train"], split_rows["test"]
    write_jsonl(public / "train_questions.jsonl", train_rows)
    public_test = [
        {k: v for k, v in r.items() if k not in ("answer", "answer_text")}
        for r in test_rows
    ]
    write_jsonl(public / "test_questions.jsonl", public_test)
    write_jsonl(
        public / "sample_submission.jsonl",
        [
            {"question_id": r["question_id"], "answer": "A" if choice else "yes"}
            for r in test_rows
        ],
    )
    if choice:
        truth = write_jsonl(
            private / "truth.jsonl",
            [
                {
                    "question_id": r["question_id"],
                    "answer": r["answer"],
                    "type": r["type"],
                }
                for r in test_rows
            ],
        )
    else:
        truth = private / "truth"
        _rsvqa_truth(
            truth,
            test_rows,
            {s: img_num[s] for s in dict.fromkeys(r["image"] for r in test_rows)},
        )
    write_readme(
        public,
        f"""
Visual question answering on generated scenes ({"multiple choice" if choice else "open answers"}).
train/, test/: PNG images. train_questions.jsonl: question_id, image, type, question,
{"options (A-D), answer (the letter), answer_text" if choice else "answer"}.
test_questions.jsonl: the same without answers.
Submit JSONL lines {{"question_id": ..., "answer": "..."}} for every test question
(see sample_submission.jsonl). Scored by AA, the mean of the per-type accuracies.
""",
    )
    baseline = write_jsonl(
        out_dir / "baseline.jsonl", _prior(train_rows, test_rows, choice)
    )
    return DemoData(
        public_dir=public,
        truth_path=truth,
        sample_ids=[str(r["question_id"]) for r in test_rows],
        baseline_path=baseline,
        baseline_name="Answer prior per question type",
    )
