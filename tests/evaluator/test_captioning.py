"""captioning kind vs pycocoevalcap (tokenizer + Bleu/Rouge/Cider/Meteor)."""

from __future__ import annotations

import functools
import json
import random
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from evaluator import api
from evaluator.errors import ValidationError
from evaluator.text.tokenizer import java_available, tokenize_java, tokenize_python

pytest.importorskip("pycocoevalcap.bleu.bleu")
from pycocoevalcap.bleu.bleu import Bleu  # noqa: E402
from pycocoevalcap.cider.cider import Cider  # noqa: E402
from pycocoevalcap.meteor.meteor import Meteor  # noqa: E402
from pycocoevalcap.rouge.rouge import Rouge  # noqa: E402
from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer  # noqa: E402

needs_java = pytest.mark.skipif(not java_available(), reason="no Java runtime")
RSICD = ("rsicd_coco_captions_jwdevx", "processed", "captions_test2017.json")
SYDNEY = ("sydney_captions_awaret_processed", "misc", "test_sydney.json")


def load_refs(path: Path, n: int | None = None) -> dict[int, list[str]]:
    refs: dict[int, list[str]] = defaultdict(list)
    for a in json.loads(path.read_text())["annotations"]:
        refs[a["image_id"]].append(a["caption"])
    keep = sorted(refs)[:n] if n else sorted(refs)
    return {k: refs[k] for k in keep}


def perturb(refs: dict[int, list[str]], seed: int = 0) -> dict[int, str]:
    """Predictions: a reference with words dropped / shuffled / replaced."""
    rng = random.Random(seed)
    vocab = sorted({w for rs in refs.values() for r in rs for w in r.split()})
    out = {}
    for k, rs in refs.items():
        w = rng.choice(rs).split()
        if rng.random() < 0.3:
            rng.shuffle(w)
        if rng.random() < 0.5 and len(w) > 2:
            del w[rng.randrange(len(w))]
        if rng.random() < 0.5:
            w[rng.randrange(len(w))] = rng.choice(vocab)
        out[k] = " ".join(w)
    return out


def write_case(tmp_path: Path, refs: dict, hyps: dict) -> tuple[Path, Path]:
    truth = {
        "images": [{"id": k, "file_name": f"{k}.jpg"} for k in refs],
        "annotations": [
            {"id": i, "image_id": k, "caption": c}
            for i, (k, c) in enumerate((k, c) for k, rs in refs.items() for c in rs)
        ],
    }
    t = tmp_path / "truth.json"
    t.write_text(json.dumps(truth))
    p = tmp_path / "pred.json"
    p.write_text(json.dumps([{"image_id": k, "caption": c} for k, c in hyps.items()]))
    return p, t


@functools.cache
def reference_meteor() -> Meteor:
    """One reference METEOR process for the module (starting the jar and loading its
    paraphrase table takes ~5 s): each ``compute_score`` sends one self-contained
    EVAL line, so calls do not affect each other."""
    return Meteor()


def reference_scores(refs: dict, hyps: dict, meteor: bool = False) -> dict[str, float]:
    tok = PTBTokenizer()
    gts = tok.tokenize({k: [{"caption": c} for c in rs] for k, rs in refs.items()})
    res = tok.tokenize({k: [{"caption": hyps[k]}] for k in refs})
    b, _ = Bleu(4).compute_score(gts, res, verbose=0)
    out = {f"bleu_{i + 1}": b[i] for i in range(4)}
    out["rouge_l"] = Rouge().compute_score(gts, res)[0]
    out["cider_d"] = Cider().compute_score(gts, res)[0]
    if meteor:
        out["meteor"] = reference_meteor().compute_score(gts, res)[0]
    return out


def assert_close(ours: dict, ref: dict) -> None:
    for key, val in ref.items():
        assert ours[key] == pytest.approx(val, rel=1e-6, abs=1e-12), key


@needs_java
def test_rsicd_subset_matches_pycocoevalcap(tmp_path, shared_data):
    refs = load_refs(shared_data(*RSICD), 200)
    hyps = perturb(refs)
    p, t = write_case(tmp_path, refs, hyps)
    ev = api.evaluate("captioning", p, t, {"meteor": False})
    out = ev.compute(None)
    assert out["tokenizer"] == "ptb-corenlp" and out["meteor"] == "unavailable"
    assert_close(out, reference_scores(refs, hyps))
    # Split consistency: IDF of CIDEr-D and corpus BLEU come from the subset only.
    keys = list(refs)
    idx = np.arange(0, len(keys), 3)
    sub = {keys[i]: refs[keys[i]] for i in idx}
    assert_close(ev.compute(idx), reference_scores(sub, hyps))


@needs_java
def test_sydney_real_sample_and_karpathy_format(tmp_path, shared_data):
    path = shared_data(*SYDNEY)
    data = json.loads(path.read_text())
    refs = load_refs(path)
    hyps = perturb(refs, seed=1)
    pred = tmp_path / "pred.json"
    pred.write_text(
        json.dumps([{"image_id": k, "caption": c} for k, c in hyps.items()])
    )
    out = api.score("captioning", pred, path, {"meteor": False})
    assert_close(out, reference_scores(refs, hyps))
    # Same data as an RSICD dataset_rsicd.json (with a train image that must be
    # ignored) and predictions keyed by file name.
    names = {im["id"]: im["file_name"] for im in data["images"]}
    images = [
        {
            "filename": names[k],
            "imgid": k,
            "split": "test",
            "sentences": [{"raw": c, "tokens": c.split()} for c in rs],
        }
        for k, rs in refs.items()
    ]
    images.append(
        {
            "filename": "x.tif",
            "imgid": -1,
            "split": "train",
            "sentences": [{"raw": "a"}],
        }
    )
    kp = tmp_path / "dataset_rsicd.json"
    kp.write_text(json.dumps({"images": images}))
    pred2 = tmp_path / "pred2.json"
    pred2.write_text(
        json.dumps([{"image_id": names[k], "caption": c} for k, c in hyps.items()])
    )
    out2 = api.score("captioning", pred2, kp, {"meteor": False})
    assert out2["truth_format"] == "rsicd"
    assert_close(out2, reference_scores(refs, hyps))


def test_levir_cc_change_variant_without_java(tmp_path, monkeypatch):
    """LEVIR-CC layout; no Java: METEOR and S*m say unavailable, never 0."""
    monkeypatch.setenv("EARTHBENCH_NO_JAVA", "1")
    images = [
        {
            "filepath": "test",
            "filename": f"test_{i:06d}.png",
            "imgid": i,
            "split": "test",
            "changeflag": 1,
            "sentences": [
                {"raw": f" many houses are built along road {i} .", "tokens": []},
                {"raw": " the scene is the same as before .", "tokens": []},
            ],
        }
        for i in range(4)
    ]
    t = tmp_path / "LevirCCcaptions.json"
    t.write_text(json.dumps({"images": images}))
    p = tmp_path / "pred.json"
    caps = [
        "many houses are built along road 0",
        "the scene is the same",
        "roads appear",
        "a house",
    ]
    p.write_text(
        json.dumps(
            [{"image_id": f"test_{i:06d}", "caption": c} for i, c in enumerate(caps)]
        )
    )
    out = api.score("captioning", p, t, {"variant": "change"})
    assert out["truth_format"] == "levir-cc" and out["tokenizer"] == "ptb-python"
    assert out["meteor"] == "unavailable" and out["s_m"] == "unavailable"
    assert out["primary"] == "s_m" and "meteor_note" in out
    assert 0 < out["cider_d"] and 0 < out["bleu_1"] <= 1


@needs_java
def test_python_tokenizer_matches_corenlp_on_real_captions(shared_data):
    caps = [c for rs in load_refs(shared_data(*SYDNEY)).values() for c in rs]
    caps += [c for rs in load_refs(shared_data(*RSICD), 300).values() for c in rs]
    caps += ["A plane's parked (near) the airport, isn't it?", "can't stop: roads.Many"]
    assert tokenize_python(caps) == tokenize_java(caps)


@needs_java
@pytest.mark.slow(25)
def test_full_rsicd_with_meteor_matches_pycocoevalcap(tmp_path, shared_data):
    refs = load_refs(shared_data(*RSICD))
    assert len(refs) == 1093
    hyps = perturb(refs, seed=2)
    p, t = write_case(tmp_path, refs, hyps)
    ev = api.evaluate("captioning", p, t, {"variant": "change"})
    out = ev.compute(None)
    ref = reference_scores(refs, hyps, meteor=True)
    assert_close(out, ref)
    parts = [ref["bleu_4"], ref["meteor"], ref["rouge_l"], ref["cider_d"]]
    assert out["s_m"] == pytest.approx(np.mean(parts), rel=1e-9)
    # Corpus METEOR is the jar's aggregate, not the mean of per-image scores.
    assert out["meteor"] != pytest.approx(np.mean(ev.samples()["meteor"]), rel=1e-3)
    keys = list(refs)
    idx = np.arange(1, len(keys), 4)
    sub = {keys[i]: refs[keys[i]] for i in idx}
    assert_close(ev.compute(idx), reference_scores(sub, hyps, meteor=True))


@needs_java
@pytest.mark.slow(10)
def test_meteor_subset_aggregation_matches_jar(tmp_path):
    refs = {
        i: [f"a plane {w} parked at the airport", f"there are {i} planes near {w}"]
        for i, w in enumerate(["is", "was", "stays", "sits", "waits"])
    }
    hyps = {
        0: "a plane parked at the airport",
        1: "planes near an airport",
        2: "road",
        3: "a plane sits parked at the airport",
        4: "there are 4 planes near waits",
    }
    p, t = write_case(tmp_path, refs, hyps)
    ev = api.evaluate("captioning", p, t, {})
    idx = np.array([0, 2, 3])
    sub = {k: refs[k] for k in idx}
    ref = reference_scores(sub, hyps, meteor=True)
    assert ev.compute(idx)["meteor"] == pytest.approx(ref["meteor"], rel=1e-9)


def test_bootstrap_repeats_count_as_duplicated_images(tmp_path, monkeypatch):
    monkeypatch.setenv("EARTHBENCH_NO_JAVA", "1")
    refs = {i: [f"a b c {i}", f"c d e {i % 2}", "x y z"] for i in range(6)}
    hyps = {i: f"a b d {i % 3}" for i in range(6)}
    p, t = write_case(tmp_path, refs, hyps)
    ev = api.evaluate("captioning", p, t, {})
    # Scoring [0, 0, 1] equals scoring a data set where image 0 appears twice.
    refs2 = {0: refs[0], 10: refs[0], 1: refs[1]}
    hyps2 = {0: hyps[0], 10: hyps[0], 1: hyps[1]}
    (tmp_path / "b").mkdir()
    p2, t2 = write_case(tmp_path / "b", refs2, hyps2)
    direct = api.score("captioning", p2, t2, {})
    got = ev.compute(np.array([0, 0, 1]))
    for key in ("bleu_4", "rouge_l", "cider_d"):
        assert got[key] == pytest.approx(direct[key], rel=1e-12)


@pytest.mark.parametrize(
    "preds, fragment",
    [
        (
            [{"image_id": 1, "caption": "a"}, {"image_id": 2, "caption": "  "}],
            "empty caption for image '2'",
        ),
        (
            [{"image_id": 1, "caption": "a"}, {"image_id": 9, "caption": "b"}],
            "not in the test set: '9'",
        ),
        (
            [{"image_id": 1, "caption": "a"}, {"image_id": 1, "caption": "b"}],
            "item 1: duplicate image_id '1' (first on item 0)",
        ),
        ([{"image_id": 1, "caption": "a"}], "1 test image(s) missing: '2'"),
        (
            [{"image_id": 1, "caption": 3}, {"image_id": 2, "caption": "b"}],
            "caption must be a string",
        ),
        ([{"image_id": 1}], "item 0 must be an object with image_id and caption"),
    ],
)
def test_validation_errors(tmp_path, preds, fragment):
    p, t = write_case(tmp_path, {1: ["a b"], 2: ["c d"]}, {})
    p.write_text(json.dumps(preds))
    with pytest.raises(ValidationError) as exc:
        api.evaluate("captioning", p, t, {"meteor": False})
    assert fragment in str(exc.value) and "pred.json" in str(exc.value)


def test_encoding_json_and_option_errors(tmp_path):
    p, t = write_case(tmp_path, {1: ["a b"]}, {1: "a"})
    p.write_bytes(b'[{"image_id": 1, "caption": "caf\xe9"}]')
    with pytest.raises(ValidationError, match=r"pred.json line 1: not valid UTF-8"):
        api.evaluate("captioning", p, t, {"meteor": False})
    p.write_text('[{"image_id": 1,\n "caption": }]')
    with pytest.raises(
        ValidationError, match=r"pred.json line 2 column 13: invalid JSON"
    ):
        api.evaluate("captioning", p, t, {"meteor": False})
    with pytest.raises(ValidationError, match="variant"):
        api.evaluate("captioning", p, t, {"variant": "dense"})
    t.write_text(
        json.dumps(
            {"images": [{"id": 1}], "annotations": [{"image_id": 1, "caption": " "}]}
        )
    )
    with pytest.raises(ValidationError, match="empty reference caption for image '1'"):
        api.evaluate("captioning", p, t, {"meteor": False})


def test_cli(tmp_path):
    p, t = write_case(
        tmp_path, {1: ["a red roof"], 2: ["green trees"]}, {1: "a roof", 2: "trees"}
    )
    cmd = [
        sys.executable,
        "-m",
        "evaluator",
        "score",
        "--kind",
        "captioning",
        "--predictions",
        str(p),
        "--truth",
        str(t),
        "--options",
        '{"meteor": false}',
    ]
    env = {"EARTHBENCH_NO_JAVA": "1", "PATH": "/usr/bin:/bin"}
    ok = subprocess.run(
        cmd, capture_output=True, text=True, cwd=Path(__file__).parents[2], env=env
    )
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)
    assert out["primary"] == "cider_d" and out["meteor"] == "unavailable"
    p.write_text(
        json.dumps([{"image_id": 1, "caption": ""}, {"image_id": 2, "caption": "x"}])
    )
    bad = subprocess.run(
        cmd, capture_output=True, text=True, cwd=Path(__file__).parents[2], env=env
    )
    assert bad.returncode == 2
    assert (
        bad.stderr.strip().count("\n") == 0
        and "empty caption for image '1'" in bad.stderr
    )


def test_cider_no_shared_words_is_zero_not_a_crash(tmp_path):
    """Regression: a caption sharing no word with any reference scored 0 instead
    of crashing (bincount of an empty array is int64)."""
    import json

    from evaluator.api import score

    truth = tmp_path / "truth.json"
    truth.write_text(
        json.dumps(
            {
                "images": [{"id": 1}, {"id": 2}],
                "annotations": [
                    {"image_id": 1, "caption": "many buildings near a road"},
                    {"image_id": 2, "caption": "a river crosses green farmland"},
                ],
            }
        )
    )
    pred = tmp_path / "pred.json"
    pred.write_text(
        json.dumps(
            [{"image_id": 1, "caption": "zzz"}, {"image_id": 2, "caption": "qqq"}]
        )
    )
    out = score("captioning", pred, truth, {"meteor": False})
    assert out["cider_d"] == 0.0


# --- line breaks inside captions (better than pycocoevalcap, on purpose) -----------

BREAKS = ["\r", "\n", "\r\n", "\u2028", "\u2029", "\x0b", "\x0c", "\x85"]


def _captions_with_breaks() -> tuple[dict, dict, dict, dict]:
    rng = random.Random(7)
    words = "a plane is parked near the green runway with many white cars".split()
    refs, hyps = {}, {}
    for k in range(12):
        refs[k] = [" ".join(rng.sample(words, 6)) for _ in range(3)]
        hyps[k] = " ".join(rng.sample(words, 5))
    for j, br in enumerate(BREAKS):  # one break inside a reference or prediction
        k = j % 12
        if j % 2:
            w = hyps[k].split(" ")
            hyps[k] = " ".join(w[:2]) + br + " ".join(w[2:])
        else:
            w = refs[k][1].split(" ")
            refs[k][1] = " ".join(w[:3]) + br + " ".join(w[3:])
    clean = {k: [" ".join(c.split()) for c in rs] for k, rs in refs.items()}
    clean_h = {k: " ".join(c.split()) for k, c in hyps.items()}
    return refs, hyps, clean, clean_h


@pytest.mark.parametrize("path", ["java", "python"])
def test_line_breaks_inside_captions_become_spaces(tmp_path, monkeypatch, path):
    if path == "java" and not java_available():
        pytest.skip("no Java runtime")
    if path == "python":
        monkeypatch.setenv("EARTHBENCH_NO_JAVA", "1")
    refs, hyps, clean, clean_h = _captions_with_breaks()
    p, t = write_case(tmp_path, refs, hyps)
    out = api.score("captioning", p, t, {"meteor": False})
    assert out["tokenizer"] == ("ptb-corenlp" if path == "java" else "ptb-python")
    # equal to the reference on the same captions with the breaks made spaces
    assert_close(out, reference_scores(clean, clean_h))


@needs_java
def test_jar_tokenizer_keeps_one_line_per_caption():
    refs, hyps, clean, clean_h = _captions_with_breaks()
    caps = [c for rs in refs.values() for c in rs] + list(hyps.values())
    want = [c for rs in clean.values() for c in rs] + list(clean_h.values())
    assert tokenize_java(caps) == tokenize_java(want) == tokenize_python(caps)
