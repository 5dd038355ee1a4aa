"""BigEarthNet v1 and reBEN importers."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from benchmarks.importers import ImporterError
from benchmarks.importers.bigearthnet import CLASSES_19, CLC_TO_19
from tests.importers._util import run, self_score


def test_ben_v1_tiny(shared_data, tmp_path):
    src = shared_data("bigearthnet_v1_gdf_builder_tiny")
    metas = sorted(src.rglob("*_labels_metadata.json"))
    data = run("bigearthnet-v1", src, tmp_path, test_fraction=0.5)
    assert 0 < len(data.sample_ids) < len(metas)
    out = self_score("multilabel", data, data.truth_path)
    assert out["macro_map"] == 1.0 and out["samples_f1"] == 1.0
    with open(data.truth_path, newline="") as fh:
        rows = {r["id"]: r for r in csv.DictReader(fh)}
    for sid in data.sample_ids:
        meta = next(p for p in metas if p.parent.name == sid)
        labels = json.loads(meta.read_text())["labels"]
        assert {c for c, v in rows[sid].items() if v == "1"} == set(labels)
        # band files published, labels JSON not
        assert any((data.public_dir / "test" / sid).glob("*.tif"))
        assert not list((data.public_dir / "test" / sid).glob("*.json"))


def test_ben_v1_19_classes_and_test_list(shared_data, tmp_path):
    src = shared_data("bigearthnet_v1_gdf_builder_tiny")
    data = run("bigearthnet-v1-19", src, tmp_path, test_fraction=1.0)
    with open(data.truth_path, newline="") as fh:
        header = next(csv.reader(fh))
    assert header == ["id", *CLASSES_19]
    assert self_score("multilabel", data, data.truth_path)["samples_f1"] == 1.0
    with pytest.raises(ImporterError, match="nope.csv: file not found"):
        run("bigearthnet-v1", src, tmp_path / "b", test_list="nope.csv")


def test_reben_reference_map_segmentation(shared_data, tmp_path):
    src = shared_data("bigearthnet_rico_hdl", "BigEarthNet")
    # The sample's only reference map has no S2 patch folder next to it.
    with pytest.raises(ImporterError, match="missing S2 patch folder"):
        run("reben-segmentation", src, tmp_path / "strict")
    data = run(
        "reben-segmentation", src, tmp_path, missing_images="ignore", test_fraction=1.0
    )
    (sid,) = data.sample_ids
    assert sid.endswith("_26_57")
    got = np.asarray(Image.open(data.truth_path / f"{sid}.png"))
    import tifffile

    ref = tifffile.imread(next(src.rglob(f"{sid}_reference_map.tif")))
    assert np.array_equal(got, np.vectorize(lambda c: CLC_TO_19.get(int(c), 255))(ref))
    out = self_score("segmentation", data, data.truth_path, {"num_classes": 19})
    assert out["miou"] == 1.0
    ml = run("reben", src, tmp_path / "ml", missing_images="ignore", test_fraction=1.0)
    assert self_score("multilabel", ml, ml.truth_path)["samples_f1"] == 1.0


def _reben_fixture(root):
    import tifffile

    rng = np.random.default_rng(0)
    rows = []
    for k in range(6):
        pid = f"S2A_MSIL2A_20170613T101031_N9999_R022_T33UUP_{k}_{k}"
        d = (
            root
            / "BigEarthNet-S2"
            / "S2A_MSIL2A_20170613T101031_N9999_R022_T33UUP"
            / pid
        )
        d.mkdir(parents=True)
        for b in ("B02", "B03", "B04"):
            tifffile.imwrite(
                d / f"{pid}_{b}.tif", rng.integers(0, 3000, (12, 12), np.uint16)
            )
        s1 = f"S1A_IW_GRDH_1SDV_20170613T165043_33UUP_{k}_{k}"
        d1 = root / "BigEarthNet-S1" / "S1A_IW_GRDH_1SDV_20170613T165043" / s1
        d1.mkdir(parents=True)
        tifffile.imwrite(
            d1 / f"{s1}_VV.tif", rng.normal(size=(12, 12)).astype(np.float32)
        )
        labels = [CLASSES_19[k], CLASSES_19[k + 5]]
        rows.append(
            {
                "patch_id": pid,
                "labels": str(np.array(labels)),
                "split": ["train", "validation", "test"][k % 3],
                "country": "Austria",
                "s1_name": s1,
            }
        )
    with open(root / "metadata.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return rows


def test_reben_metadata_csv(tmp_path):
    rows = _reben_fixture(tmp_path / "reBEN")
    data = run("reben", tmp_path / "reBEN", tmp_path)
    want = [r["patch_id"] for r in rows if r["split"] == "test"]
    assert sorted(data.sample_ids) == sorted(want)
    with open(data.truth_path, newline="") as fh:
        truth = {
            r["id"]: {c for c, v in r.items() if v == "1"} for r in csv.DictReader(fh)
        }
    k = int(want[0].rsplit("_", 1)[1])
    assert truth[want[0]] == {
        CLASSES_19[k],
        CLASSES_19[k + 5],
    }  # numpy-repr label lists parsed
    assert (data.public_dir / "test" / want[0] / "s1").is_dir()
    assert self_score("multilabel", data, data.truth_path)["macro_map"] == 1.0
