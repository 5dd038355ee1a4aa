"""WorldStrat, 3DMatch, CVUSA and GeoLifeCLEF importers."""

from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest

from benchmarks.importers import ImporterError
from tests.importers._util import run, self_score


def _worldstrat(root, split_csv):
    import tifffile

    rng = np.random.default_rng(0)
    with open(split_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    picked = [r for r in rows if r["split"] == "test"][:2] + [
        r for r in rows if r["split"] == "train"
    ][:2]
    root.mkdir(parents=True)
    with open(root / "stratified_train_val_test_split.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(picked)
    for r in picked:
        aoi = r["tile"]
        hr = root / "hr_dataset" / "12bit" / aoi
        hr.mkdir(parents=True)
        tifffile.imwrite(
            hr / f"{aoi}_ps.tiff", rng.integers(0, 4096, (24, 24, 4), np.uint16)
        )
        lr = root / "lr_dataset" / aoi / "L2A"
        lr.mkdir(parents=True)
        for n in (1, 2, 10):
            tifffile.imwrite(
                lr / f"{aoi}-{n}-L2A_data.tiff", rng.random((8, 8, 12), np.float32)
            )
    return picked


def test_worldstrat_layout(shared_data, tmp_path):
    split_csv = shared_data(
        "worldstrat_metadata_demo",
        "pretrained_model",
        "stratified_train_val_test_split.csv",
    )
    picked = _worldstrat(tmp_path / "worldstrat", split_csv)
    data = run("worldstrat", tmp_path / "worldstrat", tmp_path)
    assert data.sample_ids == [r["tile"] for r in picked if r["split"] == "test"]
    aoi = data.sample_ids[0]
    assert sorted(p.name for p in (data.public_dir / "test" / aoi).iterdir()) == [
        "1.tiff",
        "2.tiff",
        "3.tiff",
    ]
    out = self_score("super-resolution", data, data.truth_path, {"data_range": 4095})
    assert out["psnr"] == out["psnr_cap_db"]
    shutil.rmtree(tmp_path / "worldstrat" / "lr_dataset" / aoi)
    with pytest.raises(
        ImporterError, match=rf"lr_dataset/{aoi}/L2A/.*: missing for test AOI"
    ):
        run("worldstrat", tmp_path / "worldstrat", tmp_path / "b")


def test_3dmatch_gt_logs(shared_data, tmp_path):
    src = shared_data("3dmatch_overlappredator", "benchmarks")
    data = run("3dmatch", src, tmp_path)
    pred = tmp_path / "pred"
    for log in (data.truth_path).rglob("gt.log"):
        dest = pred / log.parent.relative_to(data.truth_path) / "est.log"
        dest.parent.mkdir(parents=True)
        shutil.copy(log, dest)
    out = self_score("registration", data, pred)
    assert out["rr"] == 1.0
    assert len(data.sample_ids) == 1279  # pairs with j > i + 1 in the 8 scenes
    assert (data.public_dir / "pairs" / "3DMatch" / "7-scenes-redkitchen.txt").is_file()
    lo = run("3dlomatch", src, tmp_path / "lo")
    assert (
        all(s.startswith("3DLoMatch/") for s in lo.sample_ids)
        and len(lo.sample_ids) == 1726
    )


def test_cvusa_data_csv(shared_data, tmp_path):
    data = run("cvusa", shared_data("cvusa_crossnet_demo"), tmp_path)
    assert data.sample_ids == [f"ground{k}" for k in range(5)]
    pred = tmp_path / "pred"
    pred.mkdir()
    np.save(pred / "similarity.npy", np.eye(5, dtype=np.float32))
    (pred / "query_ids.txt").write_text("\n".join(data.sample_ids) + "\n")
    (pred / "gallery_ids.txt").write_text(
        (data.public_dir / "gallery_ids.txt").read_text()
    )
    assert self_score("geo-localization", data, pred)["r_at_1"] == 1.0


def test_cvusa_missing_file(tmp_path):
    (tmp_path / "splits").mkdir()
    (tmp_path / "splits" / "val-19zl.csv").write_text(
        "bingmap/19/0000001.jpg,streetview/panos/0000001.jpg\n"
    )
    with pytest.raises(
        ImporterError,
        match=r"splits/val-19zl.csv line 1: bingmap/19/0000001.jpg: file not found",
    ):
        run("cvusa", tmp_path, tmp_path / "o")


@pytest.mark.parametrize(
    "folder", ["geolifeclef2023_malpolon", "geolifeclef2024_malpolon"]
)
def test_geolifeclef_sites(shared_data, tmp_path, folder):
    data = run("geolifeclef", shared_data(folder), tmp_path)
    assert data.sample_ids
    pred = tmp_path / "pred.csv"
    pred.write_text(
        data.truth_path.read_text().replace("id,species", "id,predicted", 1)
    )
    assert self_score("set-prediction", data, pred)["samples_f1"] == 1.0
    with open(data.public_dir / "train_pa.csv", newline="") as fh:
        train = {r["id"] for r in csv.DictReader(fh)}
    assert train and not train & set(data.sample_ids)
