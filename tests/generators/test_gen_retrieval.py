"""Demo generator: retrieval (image-text pairs, change pairs, graded)."""

import io
import json
import zipfile

import numpy as np
import pytest

import evaluator
from benchmarks.generators import retrieval as gen

KIND = "retrieval"


def _matrix_zip(path, mat, rows, cols, names):
    buf = io.BytesIO()
    np.save(buf, mat.astype(np.float32))
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("similarity.npy", buf.getvalue())
        zf.writestr(names[0], "\n".join(rows) + "\n")
        zf.writestr(names[1], "\n".join(cols) + "\n")
    return path


def _ids(zip_path, name):
    with zipfile.ZipFile(zip_path) as zf:
        return zf.read(name).decode().split()


@pytest.mark.parametrize("variant", ["pairs", "graded"])
def test_retrieval_demo(tmp_path, digest, variant):
    params = {"variant": variant, "n_train": 20, "n_test": 16}
    a = gen.generate(params=params, out_dir=tmp_path / "a", seed=6)
    gen.generate(params=params, out_dir=tmp_path / "b", seed=6)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    ev = evaluator.evaluate(KIND, a.baseline_path, a.truth_path, {})
    assert sorted(ev.sample_ids) == sorted(a.sample_ids)
    key = "mr" if variant == "pairs" else "ndcg_at_10"
    base = evaluator.score(KIND, a.baseline_path, a.truth_path, {})[key]
    names = (
        ("image_ids.txt", "caption_ids.txt")
        if variant == "pairs"
        else ("query_ids.txt", "gallery_ids.txt")
    )
    rows, cols = _ids(a.baseline_path, names[0]), _ids(a.baseline_path, names[1])
    perfect = np.zeros((len(rows), len(cols)))
    if variant == "pairs":
        truth = json.loads(a.truth_path.read_text())
        for j, c in enumerate(cols):
            perfect[rows.index(truth[c]), j] = 1.0
    else:
        for line in a.truth_path.read_text().splitlines():
            q, _, d, rel = line.split()
            perfect[rows.index(q), cols.index(d)] = float(rel)
    top = evaluator.score(
        KIND,
        _matrix_zip(tmp_path / "p.zip", perfect, rows, cols, names),
        a.truth_path,
        {},
    )
    assert top[key] == 1.0
    rng = np.random.default_rng(0)
    chance = np.mean(
        [
            evaluator.score(
                KIND,
                _matrix_zip(
                    tmp_path / f"r{s}.zip",
                    rng.uniform(size=perfect.shape),
                    rows,
                    cols,
                    names,
                ),
                a.truth_path,
                {},
            )[key]
            for s in range(5)
        ]
    )
    assert chance < base < 1.0


def test_retrieval_change_demo(tmp_path):
    a = gen.generate(
        params={"variant": "change", "n_train": 12, "n_test": 10},
        out_dir=tmp_path,
        seed=1,
    )
    ev = evaluator.evaluate(KIND, a.baseline_path, a.truth_path, {})
    assert sorted(ev.sample_ids) == sorted(a.sample_ids)
    assert (a.public_dir / "test" / "A").is_dir() and (
        a.public_dir / "test" / "B"
    ).is_dir()
    assert 0.0 < evaluator.score(KIND, a.baseline_path, a.truth_path, {})["mr"] < 1.0
