"""Preview pictures rendered at install time: composites of test inputs, labels
drawn on training samples only, shown on the data tab."""

from __future__ import annotations

import io
import json

import numpy as np
import yaml
from PIL import Image

from benchmarks import generators
from benchmarks.catalog import CATALOG_DIR
from earthbench import storage
from earthbench.benchmarks.previews import composite, render_previews


def test_composites_pick_bands_by_sensor():
    s2 = np.random.default_rng(0).random((13, 32, 32)).astype(np.float32)  # bands first
    rgb, how = composite(s2)
    assert rgb.shape == (32, 32, 3) and rgb.dtype == np.uint8 and "B4, B3, B2" in how
    assert (rgb[..., 0] == composite(s2[[3]])[0][..., 0]).all()  # red is band 4
    sar = np.random.default_rng(1).normal(size=(16, 16, 2))
    rgb, how = composite(sar)
    assert rgb.shape == (16, 16, 3) and "false colour" in how
    plain = np.full((8, 8, 3), 7, np.uint8)
    rgb, how = composite(plain)
    assert how == "RGB" and (rgb == plain).all()


def test_arrays_that_are_not_pictures_get_no_preview(tmp_path):
    (tmp_path / "public" / "test").mkdir(parents=True)
    np.save(tmp_path / "public" / "test" / "cloud.npy", np.zeros((5000, 3)))
    np.save(tmp_path / "public" / "test" / "embedding.npy", np.zeros((16, 16, 768)))
    assert render_previews(tmp_path / "public", tmp_path / "previews") == []


def test_installing_a_dataset_renders_previews_shown_on_the_data_tab(client, eurosat):
    folder = storage.benchmark_dir(eurosat.slug) / "previews"
    items = json.loads((folder / "previews.json").read_text())
    assert [i["file"] for i in items] == ["test-0.png", "test-1.png", "test-2.png", "test-3.png"]
    assert "test/test_00000.npy" in items[0]["caption"] and "B4, B3, B2" in items[0]["caption"]
    html = client.get(f"/benchmarks/{eurosat.slug}/data/").content.decode()
    assert f'src="/benchmarks/{eurosat.slug}/data/preview/test-0.png"' in html
    r = client.get(f"/benchmarks/{eurosat.slug}/data/preview/test-0.png")
    assert r["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(b"".join(r.streaming_content))) as im:
        assert min(im.size) >= 160 and im.mode == "RGB"
    assert client.get(f"/benchmarks/{eurosat.slug}/data/preview/..%2Fprivate").status_code == 404
    assert client.get(f"/benchmarks/{eurosat.slug}/data/preview/truth.png").status_code == 404


def _generate(slug: str, tmp_path):
    spec = yaml.safe_load((CATALOG_DIR / slug / "benchmark.yaml").read_text())
    demo = spec["demo"]
    return generators.generate(demo["generator"], params=demo.get("params", {}),
                               out_dir=tmp_path / "gen", seed=demo.get("seed", 0))


def test_boxes_are_drawn_on_training_samples_only(tmp_path):
    data = _generate("dota-obb-detection-v1", tmp_path)
    items = render_previews(data.public_dir, tmp_path / "previews")
    tests = [i for i in items if i["file"].startswith("test-")]
    (train, *_) = [i for i in items if i["file"].startswith("train-")]
    assert tests and all("test input" in i["caption"] for i in tests)
    assert "labelled box" in train["caption"] and "train/images/" in train["caption"]
    with Image.open(tmp_path / "previews" / train["file"]) as im:
        pixels = np.asarray(im.convert("RGB")).reshape(-1, 3)
    assert ((pixels == [255, 225, 25]).all(axis=1)).sum() > 20  # the box outlines


def test_masks_are_overlaid_on_training_samples(tmp_path):
    data = _generate("vaihingen-segmentation-v1", tmp_path)
    items = render_previews(data.public_dir, tmp_path / "previews")
    assert any("class mask overlaid" in i["caption"] for i in items)
