"""Change-detection importers (LEVIR-CD, WHU-CD, S2Looking, CLCD, CDD layouts)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from benchmarks.importers import ImporterError
from tests.importers._util import png, run, self_score


def test_levir_bitcd_samples(shared_data, tmp_path):
    src = shared_data("levir_cd_bitcd_samples")
    # test_113_0256 is an RGBA composite without label: a strict import names it.
    with pytest.raises(ImporterError, match=r"label/test_113_0256\.\*: missing"):
        run("levir-cd", src, tmp_path / "strict")
    data = run("levir-cd", src, tmp_path, on_missing="skip")
    assert sorted(data.sample_ids) == sorted(
        p.stem for p in (src / "label").glob("test_*.png")
    )
    out = self_score("change-detection", data, data.truth_path)
    assert out["f1"] == 1.0 and out["truth_encoding"] == "0/255"
    assert sorted(
        p.name for p in (data.public_dir / "train" / "label").iterdir()
    ) == sorted(
        p.name for p in (src / "label").glob("*.png") if not p.name.startswith("test_")
    )


@pytest.mark.parametrize(
    ("name", "parts"),
    [("levir-cd", ("samples_LEVIR",)), ("whu-cd", ("samples_WHU-CD",))],
)
def test_ucd_scm_1024_pairs(shared_data, tmp_path, name, parts):
    data = run(
        name, shared_data("ucd_scm_samples", *parts), tmp_path, test_fraction=0.5
    )
    out = self_score("change-detection", data, data.truth_path)
    assert out["f1"] == 1.0
    for sid in data.sample_ids:
        assert (data.public_dir / "test" / "A" / f"{sid}.png").is_file()
        assert (data.public_dir / "test" / "B" / f"{sid}.png").is_file()


def _triplet(root, sid, size=16, rgb_label=False, seed=0):
    rng = np.random.default_rng(seed)
    png(root / "A" / f"{sid}.png", rng.integers(0, 255, (size, size, 3), np.uint8))
    png(root / "B" / f"{sid}.png", rng.integers(0, 255, (size, size, 3), np.uint8))
    lab = (rng.random((size, size)) < 0.3).astype(np.uint8) * 255
    if rgb_label:
        rgbl = np.zeros((size, size, 3), np.uint8)
        rgbl[..., 0] = lab
        png(root / "label" / f"{sid}.png", rgbl)
    else:
        png(root / "label" / f"{sid}.png", lab)
    return lab


def test_split_folders_and_rgb_labels(tmp_path):
    src = tmp_path / "S2Looking"
    labs = {}
    for split, n in (("train", 3), ("val", 2), ("test", 4)):
        for k in range(n):
            sid = f"{split}{k}"
            labs[sid] = _triplet(src / split, sid, rgb_label=True, seed=k + len(split))
    # S2Looking names the folders Image1/Image2: aliases work too.
    (src / "test" / "A").rename(src / "test" / "Image1")
    (src / "test" / "B").rename(src / "test" / "Image2")
    data = run("s2looking", src, tmp_path)
    assert sorted(data.sample_ids) == [f"test{k}" for k in range(4)]
    for sid in data.sample_ids:
        got = np.asarray(Image.open(data.truth_path / f"{sid}.png"))
        assert got.ndim == 2 and np.array_equal(got, labs[sid])
    assert len(list((data.public_dir / "train" / "A").iterdir())) == 5  # train + val
    # Images are hard-linked (same file system), never decoded or held in memory.
    pub = data.public_dir / "test" / "A" / "test0.png"
    assert pub.stat().st_ino == (src / "test" / "Image1" / "test0.png").stat().st_ino
    assert self_score("change-detection", data, data.truth_path)["f1"] == 1.0


def test_list_file_and_errors(tmp_path):
    src = tmp_path / "CLCD"
    for k in range(5):
        _triplet(src, f"p{k}", seed=k)
    (src / "list").mkdir()
    (src / "list" / "test.txt").write_text("p1.png\np3.png\n")
    data = run("clcd", src, tmp_path)
    assert sorted(data.sample_ids) == ["p1", "p3"]
    (src / "list" / "test.txt").write_text("p1.png\nzz.png\n")
    with pytest.raises(
        ImporterError, match=r"list/test.txt: 1 listed names have no triplet"
    ):
        run("clcd", src, tmp_path / "b")
    (src / "list" / "test.txt").unlink()
    png(src / "B" / "p2.png", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(
        ImporterError, match=r"A/p2.png: size 16x16, B/p2.png 8x8, label/p2.png 16x16"
    ):
        run("clcd", src, tmp_path / "c", test_fraction=1.0)
    (src / "label").rename(src / "labelz")
    with pytest.raises(ImporterError, match=r"missing folder `label/` or `OUT/`"):
        run("clcd", src, tmp_path / "d")
