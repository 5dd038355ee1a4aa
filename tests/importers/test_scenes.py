"""Class-folder classification importers (EuroSAT, AID, UC Merced, RESISC45)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from benchmarks.importers import ImporterError
from tests.importers._util import png, run, self_score


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("eurosat", ("bigearthnet_rico_hdl", "EuroSAT_RGB")),
        ("eurosat", ("bigearthnet_rico_hdl", "EuroSAT_MS")),
        ("ucmerced", ("bigearthnet_rico_hdl", "UCMerced_LandUse")),
        ("aid", ("aid_resized150_testtensor_subset",)),
    ],
)
def test_real_class_folders(shared_data, tmp_path, name, parts):
    data = run(name, shared_data(*parts), tmp_path)
    out = self_score("classification", data, data.truth_path)
    assert out["oa"] == 1.0 and out["n_samples"] == len(data.sample_ids) > 0
    truth = _rows(data.truth_path)
    # The label is the class folder; the public test file is named by the id.
    for r in truth:
        assert r["id"].lower().startswith(r["label"].lower()[:4])
        assert any((data.public_dir / "test").glob(f"{r['id']}.*"))


def test_aid_stratified_split_and_zero_shot(shared_data, tmp_path):
    src = shared_data("aid_resized150_testtensor_subset")
    data = run("aid", src, tmp_path, test_fraction=0.3, split_seed=1)
    truth, train = _rows(data.truth_path), _rows(data.public_dir / "train.csv")
    assert len(truth) + len(train) == 300
    assert {r["label"] for r in truth} == {
        r["label"] for r in train
    }  # every class in both
    assert not {r["id"] for r in truth} & {r["id"] for r in train}
    again = run("aid", src, tmp_path / "again", test_fraction=0.3, split_seed=1)
    assert again.sample_ids == data.sample_ids  # deterministic
    zs = run("aid-zeroshot", src, tmp_path / "zs")
    assert not (zs.public_dir / "train").exists()
    assert not (zs.public_dir / "train.csv").exists()
    assert (zs.public_dir / "classes.txt").read_text().count("\n") == 30


def test_train_fraction_and_duplicate_ids(tmp_path):
    rng = np.random.default_rng(0)
    for c in ("forest", "river"):
        for k in range(20):
            png(
                tmp_path / "src" / c / f"{c}_{k:03d}.png",
                rng.integers(0, 255, (8, 8, 3), np.uint8),
            )
    data = run(
        "resisc45", tmp_path / "src", tmp_path, train_fraction=0.5, test_fraction=0.5
    )
    n_train = len(_rows(data.public_dir / "train.csv"))
    assert 0 < n_train < 40 - len(data.sample_ids)
    png(tmp_path / "src" / "river" / "forest_000.jpg", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(
        ImporterError,
        match="forest_000.jpg: id 'forest_000' also used by forest/forest_000.png",
    ):
        run("resisc45", tmp_path / "src", tmp_path / "b")
