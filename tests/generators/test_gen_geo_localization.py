"""Demo generator: geo-localization (ground panoramas -> aerial tiles)."""

import csv
import io
import zipfile

import numpy as np

import evaluator
from benchmarks.generators import geo_localization as gen

KIND, PARAMS = "geo-localization", {"n_train": 20, "n_test": 20}


def _zip(path, sim, q, g):
    buf = io.BytesIO()
    np.save(buf, sim.astype(np.float32))
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("similarity.npy", buf.getvalue())
        zf.writestr("query_ids.txt", "\n".join(q) + "\n")
        zf.writestr("gallery_ids.txt", "\n".join(g) + "\n")
    return path


def test_geo_localization_demo(tmp_path, digest):
    a = gen.generate(params=PARAMS, out_dir=tmp_path / "a", seed=12)
    gen.generate(params=PARAMS, out_dir=tmp_path / "b", seed=12)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    ev = evaluator.evaluate(KIND, a.baseline_path, a.truth_path, {})
    assert sorted(ev.sample_ids) == sorted(a.sample_ids)
    base = evaluator.score(KIND, a.baseline_path, a.truth_path, {})["r_at_5"]
    with open(a.truth_path) as fh:
        pairs = [(r["query_id"], r["gallery_id"]) for r in csv.DictReader(fh)]
    q = [p for p, _ in pairs]
    g = sorted(x for _, x in pairs)
    perfect = np.zeros((len(q), len(g)))
    for i, (_, x) in enumerate(pairs):
        perfect[i, g.index(x)] = 1.0
    assert (
        evaluator.score(
            KIND, _zip(tmp_path / "p.zip", perfect, q, g), a.truth_path, {}
        )["r_at_1"]
        == 1.0
    )
    # Chance R@5 with 20 gallery items is 0.25.
    assert 5 / len(g) < base < 1.0


def test_limited_field_of_view(tmp_path):
    a = gen.generate(
        params={"n_train": 4, "n_test": 4, "fov": 70, "pano_width": 144},
        out_dir=tmp_path,
        seed=1,
    )
    from PIL import Image

    w = Image.open(next((a.public_dir / "test" / "ground").glob("*.png"))).size[0]
    assert w == 28  # 144 * 70 / 360
