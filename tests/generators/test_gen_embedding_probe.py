"""Demo generator: embedding-probe (hidden labels, platform-fitted probes)."""

import csv
import io

import numpy as np

import evaluator
from benchmarks.generators import embedding_probe as gen

KIND = "embedding-probe"
PARAMS = {"classes": 4, "n_train_per_class": 12, "n_test_per_class": 8, "size": 16}


def _npz(path, ids, emb):
    buf = io.BytesIO()
    np.savez(buf, ids=np.array(ids, dtype=str), embeddings=emb.astype(np.float32))
    path.write_bytes(buf.getvalue())
    return path


def test_embedding_probe_demo(tmp_path, digest):
    a = gen.generate(params=PARAMS, out_dir=tmp_path / "a", seed=10)
    gen.generate(params=PARAMS, out_dir=tmp_path / "b", seed=10)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    ev = evaluator.evaluate(KIND, a.baseline_path, a.truth_path, {})
    assert sorted(ev.sample_ids) == sorted(a.sample_ids)
    base = evaluator.score(KIND, a.baseline_path, a.truth_path, {})["knn_oa"]
    labels = {}
    for split in ("train", "test"):
        with open(a.truth_path / f"{split}.csv") as fh:
            labels |= {r["id"]: r["label"] for r in csv.DictReader(fh)}
    ids = sorted(labels)
    names = sorted(set(labels.values()))
    onehot = np.eye(len(names))[[names.index(labels[i]) for i in ids]]
    assert (
        evaluator.score(KIND, _npz(tmp_path / "p.npz", ids, onehot), a.truth_path, {})[
            "knn_oa"
        ]
        == 1.0
    )
    rng = np.random.default_rng(0)
    rand = _npz(tmp_path / "r.npz", ids, rng.normal(size=(len(ids), 8)))
    assert evaluator.score(KIND, rand, a.truth_path, {})["knn_oa"] < base < 1.0
    # Participants get ids only, never labels.
    assert not list(a.public_dir.rglob("*.csv"))
