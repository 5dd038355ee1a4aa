"""Captioning, retrieval and VQA importers (RSICD, Sydney, RSITMD, LEVIR-CC, RSVQA)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.importers import ImporterError
from tests.importers._util import png, run, self_score, write_json


def _perfect_similarity(data, out_dir):
    pairs = json.loads(data.truth_path.read_text())
    imgs = list(dict.fromkeys(pairs.values()))
    caps = list(pairs)
    sim = np.array(
        [[1.0 if pairs[c] == i else 0.0 for c in caps] for i in imgs], np.float32
    )
    out_dir.mkdir()
    np.save(out_dir / "similarity.npy", sim)
    (out_dir / "image_ids.txt").write_text("\n".join(imgs) + "\n")
    (out_dir / "caption_ids.txt").write_text("\n".join(caps) + "\n")
    return out_dir


def _first_refs(data, path):
    coco = json.loads(data.truth_path.read_text())
    first = {}
    for a in coco["annotations"]:
        first.setdefault(a["image_id"], a["caption"])
    path.write_text(
        json.dumps([{"image_id": k, "caption": v} for k, v in first.items()])
    )
    return path


def test_rsicd_coco_captions(shared_data, tmp_path):
    src = shared_data("rsicd_coco_captions_jwdevx")
    # The sample ships 6 images, none from the test split: a strict import says so.
    with pytest.raises(ImporterError, match=r"image not found for 'viaduct_322'"):
        run("rsicd-captions", src, tmp_path / "strict")
    data = run("rsicd-captions", src, tmp_path, missing_images="ignore")
    assert len(data.sample_ids) == 1093
    out = self_score(
        "captioning", data, _first_refs(data, tmp_path / "pred.json"), {"meteor": False}
    )
    assert out["n_samples"] == 1093 and out["bleu_1"] > 0.5
    # val captions are published as training data, with their images when present
    assert (data.public_dir / "train_captions.csv").stat().st_size > 1000


def test_sydney_coco_captions(shared_data, tmp_path):
    data = run(
        "sydney-captions",
        shared_data("sydney_captions_awaret_processed"),
        tmp_path,
        missing_images="ignore",
    )
    assert len(data.sample_ids) == 58
    out = self_score(
        "captioning", data, _first_refs(data, tmp_path / "p.json"), {"meteor": False}
    )
    assert out["n_samples"] == 58


def test_rsitmd_precomp_retrieval(shared_data, tmp_path):
    src = shared_data("rsitmd_rsicd_amfmn_precomp")
    data = run(
        "rsitmd", src, tmp_path, captions="rsitmd_precomp", missing_images="ignore"
    )
    assert len(data.sample_ids) == 452  # 2,260 test captions, 5 per image
    out = self_score("retrieval", data, _perfect_similarity(data, tmp_path / "pred"))
    assert out["mr"] == 1.0
    # RSICD precomp: one name per image in train_filename.txt, 5 captions each
    data = run(
        "rsicd-retrieval",
        src,
        tmp_path / "rsicd",
        captions="rsicd_precomp",
        missing_images="ignore",
    )
    assert len(data.sample_ids) == 1093


def _levir_cc(root):
    rng = np.random.default_rng(0)
    images = []
    for split, n in (("train", 2), ("test", 3)):
        for k in range(n):
            fname = f"{split}_{k:06d}.png"
            for ab in ("A", "B"):
                png(
                    root / "images" / split / ab / fname,
                    rng.integers(0, 255, (8, 8, 3), np.uint8),
                )
            images.append(
                {
                    "filepath": split,
                    "filename": fname,
                    "imgid": len(images),
                    "split": split,
                    "changeflag": k % 2,
                    "sentences": [
                        {"raw": f" change {k} number {j} .", "tokens": ["change"]}
                        for j in range(5)
                    ],
                }
            )
    write_json(root / "LevirCCcaptions.json", {"images": images})


def test_levir_cc_captioning_and_retrieval(tmp_path):
    _levir_cc(tmp_path / "Levir-CC-dataset")
    data = run("levir-cc", tmp_path / "Levir-CC-dataset", tmp_path)
    assert sorted(data.sample_ids) == ["test_000000", "test_000001", "test_000002"]
    assert (data.public_dir / "test" / "A" / "test_000001.png").is_file()
    assert (data.public_dir / "test" / "B" / "test_000001.png").is_file()
    out = self_score(
        "captioning",
        data,
        _first_refs(data, tmp_path / "p.json"),
        {"meteor": False, "variant": "change"},
    )
    assert out["bleu_4"] > 0.5
    ret = run("levir-cc-retrieval", tmp_path / "Levir-CC-dataset", tmp_path / "r")
    assert (
        self_score("retrieval", ret, _perfect_similarity(ret, tmp_path / "pred"))["mr"]
        == 1.0
    )
    (
        tmp_path / "Levir-CC-dataset" / "images" / "test" / "B" / "test_000002.png"
    ).unlink()
    with pytest.raises(ImporterError, match=r"test/B/test_000002.png: image not found"):
        run("levir-cc", tmp_path / "Levir-CC-dataset", tmp_path / "x")


@pytest.mark.parametrize(
    ("name", "folder"), [("rsvqa-lr", "RSVQA-LR"), ("rsvqa-hr", "RSVQA-HR")]
)
def test_rsvqa(shared_data, tmp_path, name, folder):
    src = shared_data("rsvqa_configilm_subset", folder)
    data = run(name, src, tmp_path)
    prefix = "LR" if folder == "RSVQA-LR" else "USGS"
    qs = json.loads((src / f"{prefix}_split_test_questions.json").read_text())[
        "questions"
    ]
    ans = {
        a["id"]: a["answer"]
        for a in json.loads((src / f"{prefix}_split_test_answers.json").read_text())[
            "answers"
        ]
    }
    pred = tmp_path / "pred.jsonl"
    with open(pred, "w") as fh:
        for q in qs:
            if str(q["id"]) in set(data.sample_ids):
                fh.write(
                    json.dumps(
                        {"question_id": q["id"], "answer": ans[q["answers_ids"][0]]}
                    )
                    + "\n"
                )
    out = self_score("vqa", data, pred)
    assert out["aa"] == 1.0 and out["oa"] == 1.0
    lines = (data.public_dir / "test_questions.jsonl").read_text().splitlines()
    assert len(lines) == len(data.sample_ids)
    for line in lines[:20]:
        img = json.loads(line)["image_id"]
        assert any((data.public_dir / "test" / "images").glob(f"{img}.*"))
    assert (
        data.public_dir / "train" / f"{prefix}_split_train_questions.json"
    ).is_file()


def test_rsvqa_hr_phili_and_missing(shared_data, tmp_path):
    src = shared_data("rsvqa_configilm_subset", "RSVQA-HR")
    data = run("rsvqa-hr", src, tmp_path, split="test_phili")
    assert (data.truth_path / "USGS_split_test_phili_questions.json").is_file()
    with pytest.raises(
        ImporterError, match=r"USGS_split_nope_questions.json: file not found"
    ):
        run("rsvqa-hr", src, tmp_path / "b", split="nope")
