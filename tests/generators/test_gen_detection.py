"""detection demo generator."""

from __future__ import annotations

import json

import pytest

SMALL = {"size": 96, "n_train": 2, "n_test": 5}


def _truth_as_task1(tmp_path):
    """DOTA Task1 files with score 1 made from the labelTxt truth (all objects)."""

    def make(demo):
        out = tmp_path / "perfect"
        out.mkdir()
        rows: dict[str, list[str]] = {}
        for f in sorted(demo.truth_path.glob("*.txt")):
            for line in f.read_text().splitlines():
                parts = line.split()
                rows.setdefault(parts[8], []).append(
                    f"{f.stem} 1.0 " + " ".join(parts[:8])
                )
        for c, lines in rows.items():
            (out / f"Task1_{c}.txt").write_text("\n".join(lines) + "\n")
        return out

    return make


@pytest.mark.parametrize("box", ["obb", "hbb"])
def test_detection_dota(tmp_path, demo_check, box):
    params = {"box": box, **SMALL}
    demo, base, best, low, primary = demo_check(
        "detection",
        "detection",
        params,
        {"box": box},
        tmp_path,
        perfect=_truth_as_task1(tmp_path),
    )
    assert primary == "map" and best["map"] == pytest.approx(1.0) and low["map"] == 0.0
    assert 0.2 < base["map"] < 0.9
    lines = [
        ln for f in demo.truth_path.glob("*.txt") for ln in f.read_text().splitlines()
    ]
    assert any(ln.endswith(" 1") for ln in lines) and any(
        ln.endswith(" 0") for ln in lines
    )
    for ln in lines:
        coords = [float(v) for v in ln.split()[:8]]
        assert min(coords) >= 0 and max(coords) <= SMALL["size"]


def test_detection_coco_with_renamed_classes(tmp_path, digest):
    cmap = {"vehicle": "small-vehicle", "ship": "ship", "storage-tank": "storage-tank"}
    params = {
        "box": "hbb",
        "truth_format": "coco",
        "class_map": cmap,
        "modalities": ["sar"],
        **SMALL,
    }
    from benchmarks.generators import generate
    from evaluator.api import evaluate

    demo = generate("detection", params=params, out_dir=tmp_path / "c", seed=3)
    generate("detection", params=params, out_dir=tmp_path / "d", seed=3)
    assert digest(tmp_path / "c") == digest(tmp_path / "d")
    data = json.loads(demo.truth_path.read_text())
    assert {c["name"] for c in data["categories"]} == set(cmap.values())
    ev = evaluate(
        "detection",
        demo.baseline_path,
        demo.truth_path,
        {"box": "hbb", "ap_mode": "coco"},
    )
    assert sorted(ev.sample_ids) == sorted(demo.sample_ids)
    res = ev.compute(None)
    assert 0.05 < res["map"] < res["ap50"] < 0.95
    assert len(list((demo.public_dir / "test" / "sar").iterdir())) == SMALL["n_test"]
