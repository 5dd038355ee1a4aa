"""Segmentation importers: mmseg-converted LoveDA/Potsdam/Vaihingen, LandCover.ai."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from benchmarks.importers import ImporterError
from tests.importers._util import png, run, self_score


@pytest.mark.parametrize(
    ("name", "folder", "n_classes"),
    [
        ("loveda", "pseudo_loveda_dataset", 7),
        ("potsdam", "pseudo_potsdam_dataset", 6),
        ("vaihingen", "pseudo_vaihingen_dataset", 6),
    ],
)
def test_mmseg_real(shared_data, tmp_path, name, folder, n_classes):
    src = shared_data("mmseg_pseudo_rs", folder)
    data = run(name, src, tmp_path, test_fraction=1.0)
    assert sorted(data.sample_ids) == sorted(
        p.stem for p in (src / "ann_dir").glob("*.png")
    )
    out = self_score("segmentation", data, data.truth_path, {"num_classes": n_classes})
    assert out["miou"] == 1.0
    # reduce_zero_label: 0 -> 255 (ignored), k -> k-1, as mmseg's configs.
    sid = data.sample_ids[0]
    raw = np.asarray(Image.open(src / "ann_dir" / f"{sid}.png")).astype(int)
    got = np.asarray(Image.open(data.truth_path / f"{sid}.png")).astype(int)
    assert np.array_equal(got, np.where(raw == 0, 255, raw - 1))


def test_mmseg_split_folders_use_val(tmp_path):
    rng = np.random.default_rng(0)
    for split, n in (("train", 2), ("val", 3)):
        for k in range(n):
            png(
                tmp_path / "src" / "img_dir" / split / f"{split}{k}.png",
                rng.integers(0, 255, (8, 8, 3), np.uint8),
            )
            png(
                tmp_path / "src" / "ann_dir" / split / f"{split}{k}.png",
                rng.integers(1, 7, (8, 8), np.uint8),
            )
    data = run("loveda", tmp_path / "src", tmp_path)
    assert sorted(data.sample_ids) == ["val0", "val1", "val2"]
    assert len(list((data.public_dir / "train" / "masks").iterdir())) == 2
    assert (
        self_score("segmentation", data, data.truth_path, {"num_classes": 7})["miou"]
        == 1.0
    )
    (tmp_path / "src" / "img_dir" / "val" / "val1.png").unlink()
    with pytest.raises(
        ImporterError, match=r"ann_dir/val/val1.png: no image img_dir/val/val1"
    ):
        run("loveda", tmp_path / "src", tmp_path / "b")


def test_landcoverai_tiles_and_patches(tmp_path):
    import tifffile

    rng = np.random.default_rng(1)
    src = tmp_path / "landcover.ai"
    (src / "images").mkdir(parents=True)
    (src / "masks").mkdir()
    for k in range(5):
        tifffile.imwrite(
            src / "images" / f"M-33-{k}.tif",
            rng.integers(0, 255, (16, 16, 3), np.uint8),
        )
        tifffile.imwrite(
            src / "masks" / f"M-33-{k}.tif", rng.integers(0, 5, (16, 16), np.uint8)
        )
    data = run("landcoverai", src, tmp_path, test_fraction=0.4)
    assert data.sample_ids and len(data.sample_ids) < 5
    assert (
        self_score("segmentation", data, data.truth_path, {"num_classes": 5})["miou"]
        == 1.0
    )
    # The official 512x512 patch split (output/ + test.txt) wins when present.
    for k in range(3):
        png(
            src / "output" / f"M-33-0_{k}.jpg",
            rng.integers(0, 255, (8, 8, 3), np.uint8),
        )
        png(src / "output" / f"M-33-0_{k}_m.png", rng.integers(0, 5, (8, 8), np.uint8))
    (src / "test.txt").write_text("M-33-0_1\n")
    (src / "train.txt").write_text("M-33-0_0\nM-33-0_2\n")
    data = run("landcoverai", src, tmp_path / "p")
    assert data.sample_ids == ["M-33-0_1"]
    assert (data.public_dir / "test" / "M-33-0_1.jpg").is_file()
    assert (
        self_score("segmentation", data, data.truth_path, {"num_classes": 5})["miou"]
        == 1.0
    )
