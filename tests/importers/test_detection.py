"""Detection importers: DOTA v1 labelTxt and DIOR-R XML."""

from __future__ import annotations

import shutil
from collections import defaultdict

import pytest

from benchmarks.importers import ImporterError
from evaluator.formats.detection import read_truth
from evaluator.io import open_source
from tests.importers._util import run, self_score


def _task1_from_truth(truth_dir, out_dir):
    """DOTA Task1 files holding every truth box with score 1 (a perfect submission)."""
    t = read_truth(open_source(truth_dir, label="truth"))
    polys = t.table.arrays("obb")
    lines = defaultdict(list)
    for img, label, poly in zip(t.table.image, t.table.label, polys, strict=True):
        lines[label].append(f"{img} 1.0 " + " ".join(f"{v:.1f}" for v in poly))
    out_dir.mkdir()
    for label, ls in lines.items():
        (out_dir / f"Task1_{label}.txt").write_text("\n".join(ls) + "\n")
    return out_dir


def test_dota_devkit_example(shared_data, tmp_path):
    src = shared_data("dota_v1_devkit_example")
    with pytest.raises(
        ImporterError, match=r"labelTxt/P0770.txt: no image images/P0770"
    ):
        run("dota", src, tmp_path / "strict", test_fraction=1.0)
    data = run("dota", src, tmp_path, test_fraction=1.0, missing_images="skip")
    assert sorted(data.sample_ids) == ["P0706", "P1888"]  # the two images present
    pred = _task1_from_truth(data.truth_path, tmp_path / "pred")
    assert self_score("detection", data, pred)["map"] == pytest.approx(1.0)
    assert (data.public_dir / "test" / "images" / "P0706.png").is_file()


def test_dota_split_folders_val_is_test(shared_data, tmp_path):
    ex = shared_data("dota_v1_devkit_example")
    src = tmp_path / "DOTA"
    for split, ids in (("train", ["P0706"]), ("val", ["P1888"])):
        (src / split / "images").mkdir(parents=True)
        (src / split / "labelTxt-v1.0" / "labelTxt").mkdir(parents=True)
        for sid in ids:
            shutil.copy(ex / "images" / f"{sid}.png", src / split / "images")
            shutil.copy(
                ex / "labelTxt" / f"{sid}.txt",
                src / split / "labelTxt-v1.0" / "labelTxt",
            )
    data = run("dota", src, tmp_path)
    assert data.sample_ids == ["P1888"]
    assert (data.public_dir / "train" / "labelTxt" / "P0706.txt").is_file()


def test_dior_oriented_xml(shared_data, tmp_path):
    src = shared_data("mmrotate_testdata", "1.x", "dior")
    data = run("dior", src, tmp_path, test_fraction=1.0)
    assert data.sample_ids == ["00001"]
    assert (data.truth_path / "00001.xml").is_file()
    pred = _task1_from_truth(data.truth_path, tmp_path / "pred")
    assert self_score("detection", data, pred)["map"] == pytest.approx(1.0)
