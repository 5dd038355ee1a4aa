"""retrieval kind vs brute-force numpy ranks and sklearn ndcg_score."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import ndcg_score

from evaluator import api
from evaluator.errors import ValidationError
from evaluator.kinds import retrieval as rmod


def brute_ranks(sim: np.ndarray, col_img: np.ndarray):
    """Full argsort per row/column; ties pessimistic (wrong items sort first)."""
    n_img, n_cap = sim.shape
    i2t = np.empty(n_img, dtype=int)
    for i in range(n_img):
        true = col_img == i
        order = np.lexsort((true, -sim[i]))  # score desc, wrong before true
        i2t[i] = np.flatnonzero(true[order])[0]
    t2i = np.empty(n_cap, dtype=int)
    for c in range(n_cap):
        true = np.arange(n_img) == col_img[c]
        order = np.lexsort((true, -sim[:, c]))
        t2i[c] = np.flatnonzero(true[order])[0]
    return i2t, t2i


def brute_metrics(sim, col_img, ks, rows=None):
    i2t, t2i = brute_ranks(sim, col_img)
    rows = np.arange(sim.shape[0]) if rows is None else rows
    caps = np.flatnonzero(np.isin(col_img, rows))
    out = {f"i2t_r_at_{k}": (i2t[rows] < k).mean() for k in ks}
    out |= {f"t2i_r_at_{k}": (t2i[caps] < k).mean() for k in ks}
    out["mr"] = np.mean(list(out.values()))
    return out


def write_pairs(folder: Path, sim, img_ids, cap_ids, col_img, zipped=False):
    folder.mkdir(parents=True, exist_ok=True)
    pred = folder / "pred"
    pred.mkdir()
    np.save(pred / "similarity.npy", sim)
    (pred / "image_ids.txt").write_text("\n".join(img_ids) + "\n")
    (pred / "caption_ids.txt").write_text("\n".join(cap_ids) + "\n")
    truth = folder / "truth.json"
    truth.write_text(
        json.dumps({c: img_ids[col_img[j]] for j, c in enumerate(cap_ids)})
    )
    if zipped:
        zp = folder / "pred.zip"
        with zipfile.ZipFile(zp, "w") as z:
            for f in pred.iterdir():
                z.write(f, f.name)
        return zp, truth
    return pred, truth


@pytest.mark.parametrize("seed, zipped", [(0, False), (1, True), (2, False)])
def test_pairs_match_brute_force_with_ties(tmp_path, seed, zipped, monkeypatch):
    rng = np.random.default_rng(seed)
    n_img, per = 37, 5
    col_img = np.repeat(np.arange(n_img), per)
    rng.shuffle(col_img)
    # Coarse values -> many ties; a signal so recalls are neither 0 nor 1.
    sim = np.round(rng.random((n_img, n_img * per)) * 4) / 4
    sim[col_img, np.arange(len(col_img))] += rng.integers(0, 2, len(col_img)) * 0.25
    sim = sim.astype(np.float32)
    img_ids = [f"img{i}" for i in range(n_img)]
    cap_ids = [f"cap{j}" for j in range(len(col_img))]
    monkeypatch.setattr(rmod, "CHUNK_ELEMENTS", 500)  # force many row chunks
    pred, truth = write_pairs(tmp_path, sim, img_ids, cap_ids, col_img, zipped)
    ev = api.evaluate("retrieval", pred, truth, {})
    out = ev.compute(None)
    ref = brute_metrics(sim.astype(np.float64), col_img, [1, 5, 10])
    for key, val in ref.items():
        assert out[key] == pytest.approx(val, abs=1e-12), key
    assert out["primary"] == "mr"
    # Subset = those images as queries (their captions for t2i), full gallery.
    idx = np.arange(0, n_img, 2)
    sub = ev.compute(idx)
    ref_sub = brute_metrics(sim.astype(np.float64), col_img, [1, 5, 10], rows=idx)
    for key, val in ref_sub.items():
        assert sub[key] == pytest.approx(val, abs=1e-12), key


def test_direction_and_k_options(tmp_path):
    rng = np.random.default_rng(5)
    col_img = np.repeat(np.arange(6), 2)
    sim = rng.random((6, 12))
    pred, truth = write_pairs(
        tmp_path,
        sim,
        [f"i{i}" for i in range(6)],
        [f"c{j}" for j in range(12)],
        col_img,
    )
    out = api.score("retrieval", pred, truth, {"direction": "t2i", "k": [1, 3]})
    ref = brute_metrics(sim, col_img, [1, 3])
    assert set(k for k in out if "_r_at_" in k) == {"t2i_r_at_1", "t2i_r_at_3"}
    assert out["mr"] == pytest.approx((ref["t2i_r_at_1"] + ref["t2i_r_at_3"]) / 2)


def test_rsitmd_real_caption_structure(tmp_path, shared_data):
    root = shared_data("rsitmd_rsicd_amfmn_precomp", "rsitmd_precomp")
    files = (root / "test_filename.txt").read_text().split()
    img_ids = list(dict.fromkeys(files))
    cap_ids = [f"{f}#{j}" for j, f in enumerate(files)]
    assert len(cap_ids) == 5 * len(img_ids)
    row = {s: i for i, s in enumerate(img_ids)}
    col_img = np.array([row[f] for f in files])
    rng = np.random.default_rng(0)
    sim = rng.normal(size=(len(img_ids), len(cap_ids))).astype(np.float32)
    sim[col_img, np.arange(len(cap_ids))] += 2.0
    pred, truth = write_pairs(tmp_path, sim, img_ids, cap_ids, col_img)
    out = api.score("retrieval", pred, truth, {})
    ref = brute_metrics(sim.astype(np.float64), col_img, [1, 5, 10])
    for key, val in ref.items():
        assert out[key] == pytest.approx(val, abs=1e-12), key


def _graded_case(rng, n_q=12, n_d=40):
    rel = rng.integers(0, 4, (n_q, n_d)) * (rng.random((n_q, n_d)) < 0.3)
    rel[:, 0] = np.maximum(rel[:, 0], 1)  # every query has a relevant doc
    scores = rng.random((n_q, n_d))
    return rel.astype(float), scores


def test_graded_ndcg_matches_sklearn_for_run_and_matrix(tmp_path):
    rng = np.random.default_rng(3)
    rel, scores = _graded_case(rng)
    qids = [f"q{i}" for i in range(len(rel))]
    docs = [f"d{j}" for j in range(rel.shape[1])]
    qrels = tmp_path / "qrels.txt"
    qrels.write_text(
        "".join(
            f"{q} 0 {docs[j]} {int(rel[i, j])}\n"
            for i, q in enumerate(qids)
            for j in range(len(docs))
            if rel[i, j] > 0
        )
    )
    run = tmp_path / "run.txt"
    run.write_text(
        "".join(
            f"{q} Q0 {docs[j]} {r} {scores[i, j]:.17g} test\n"
            for i, q in enumerate(qids)
            for r, j in enumerate(np.argsort(-scores[i]))
        )
    )
    mdir = tmp_path / "m"
    mdir.mkdir()
    np.save(mdir / "similarity.npy", scores)
    (mdir / "query_ids.txt").write_text("\n".join(qids))
    (mdir / "gallery_ids.txt").write_text("\n".join(docs))
    expected = ndcg_score(rel, scores, k=10)
    for pred in (run, mdir):
        ev = api.evaluate("retrieval", pred, qrels, {})
        out = ev.compute(None)
        assert out["ndcg_at_10"] == pytest.approx(expected, rel=1e-9)
        assert out["primary"] == "ndcg_at_10"
        idx = np.array([1, 4, 7])
        assert ev.compute(idx)["ndcg_at_10"] == pytest.approx(
            ndcg_score(rel[idx], scores[idx], k=10), rel=1e-9
        )
        hits = [
            (np.argsort(-scores[i])[:5].tolist(), set(np.flatnonzero(rel[i] > 0)))
            for i in range(len(rel))
        ]
        assert out["r_at_5"] == pytest.approx(
            np.mean([bool(set(t) & r) for t, r in hits])
        )


def test_graded_ties_are_pessimistic_hand_computed(tmp_path):
    (tmp_path / "qrels.txt").write_text("q 0 a 3\nq 0 b 1\n")
    # a, b, x all tie: pessimistic order x (0), b (1), a (3).
    (tmp_path / "run.txt").write_text(
        "q Q0 a 1 0.5 r\nq Q0 b 2 0.5 r\nq Q0 x 3 0.5 r\n"
    )
    out = api.score(
        "retrieval",
        tmp_path / "run.txt",
        tmp_path / "qrels.txt",
        {"ndcg_k": 2, "k": [1, 2]},
    )
    dcg = 0 / np.log2(2) + 1 / np.log2(3)
    idcg = 3 / np.log2(2) + 1 / np.log2(3)
    assert out["ndcg_at_2"] == pytest.approx(dcg / idcg)
    assert out["r_at_1"] == 0.0 and out["r_at_2"] == 1.0


def test_validation_errors(tmp_path):
    rng = np.random.default_rng(0)
    col_img = np.array([0, 0, 1, 1])
    pred, truth = write_pairs(
        tmp_path, rng.random((2, 4)), ["a", "b"], ["c0", "c1", "c2", "c3"], col_img
    )
    np.save(pred / "similarity.npy", rng.random((2, 3)))
    with pytest.raises(
        ValidationError, match=r"similarity.npy: shape 2x3 differs .* \(2x4\)"
    ):
        api.evaluate("retrieval", pred, truth, {})
    bad = rng.random((2, 4))
    bad[1, 2] = np.nan
    np.save(pred / "similarity.npy", bad)
    with pytest.raises(ValidationError, match="NaN similarity at row 1, column 2"):
        api.evaluate("retrieval", pred, truth, {})
    np.save(pred / "similarity.npy", rng.random((2, 4)))
    (pred / "caption_ids.txt").write_text("c0\nc1\nc2\nc9\n")
    with pytest.raises(
        ValidationError,
        match=r"caption_ids.txt: 1 caption id\(s\) not in the truth: 'c9'",
    ):
        api.evaluate("retrieval", pred, truth, {})
    (pred / "caption_ids.txt").write_text("c0\nc1\nc1\nc3\n")
    with pytest.raises(
        ValidationError, match=r"caption_ids.txt line 3: duplicate id 'c1'"
    ):
        api.evaluate("retrieval", pred, truth, {})
    (pred / "caption_ids.txt").write_bytes(b"c0\nc1\nc\xff2\nc3\n")
    with pytest.raises(
        ValidationError, match=r"caption_ids.txt line 3: not valid UTF-8"
    ):
        api.evaluate("retrieval", pred, truth, {})
    (tmp_path / "qrels.txt").write_text("q 0 a 1\n")
    (tmp_path / "run.txt").write_text("q Q0 a 1 nan r\n")
    with pytest.raises(ValidationError, match="run.txt line 1: score is NaN"):
        api.evaluate("retrieval", tmp_path / "run.txt", tmp_path / "qrels.txt", {})
    (tmp_path / "run.txt").write_text("q Q0 a 1 0.5 r\n")
    (tmp_path / "qrels.txt").write_text("q 0 a nan\n")  # a NaN grade used to pass
    with pytest.raises(ValidationError, match="qrels.txt line 1: relevance is NaN"):
        api.evaluate("retrieval", tmp_path / "run.txt", tmp_path / "qrels.txt", {})
    (tmp_path / "qrels.txt").write_text("q 0 a 1\n")
    (tmp_path / "run.txt").write_text("z Q0 a 1 0.3 r\n")
    with pytest.raises(ValidationError, match="not in the truth: 'z'"):
        api.evaluate("retrieval", tmp_path / "run.txt", tmp_path / "qrels.txt", {})


@pytest.mark.slow
def test_large_matrix_bounded_memory(tmp_path):
    """10,000 x 50,000 float32 (2 GB on disk) scored through mmap row chunks."""
    import resource

    n_img, per = 10_000, 5
    sim = np.lib.format.open_memmap(
        tmp_path / "similarity.npy", "w+", np.float32, (n_img, n_img * per)
    )
    rng = np.random.default_rng(0)
    for r0 in range(0, n_img, 500):
        sim[r0 : r0 + 500] = rng.random((500, n_img * per), dtype=np.float32)
    col_img = np.repeat(np.arange(n_img), per)
    sim[col_img, np.arange(len(col_img))] += 0.9999
    sim.flush()
    del sim
    pred = tmp_path / "pred"
    pred.mkdir()
    (tmp_path / "similarity.npy").rename(pred / "similarity.npy")
    (pred / "image_ids.txt").write_text("\n".join(f"i{i}" for i in range(n_img)))
    (pred / "caption_ids.txt").write_text(
        "\n".join(f"c{j}" for j in range(len(col_img)))
    )
    (tmp_path / "t.json").write_text(
        json.dumps({f"c{j}": f"i{col_img[j]}" for j in range(len(col_img))})
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = api.score("retrieval", pred, tmp_path / "t.json", {})
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert 0.5 < out["mr"] <= 1.0
    assert grown_mb < 600  # far below the 2 GB matrix


def test_cli(tmp_path):
    pred, truth = write_pairs(
        tmp_path,
        np.eye(2, 4),
        ["a", "b"],
        ["c0", "c1", "c2", "c3"],
        np.array([0, 1, 0, 1]),
    )
    cmd = [
        sys.executable,
        "-m",
        "evaluator",
        "score",
        "--kind",
        "retrieval",
        "--predictions",
        str(pred),
        "--truth",
        str(truth),
    ]
    ok = subprocess.run(
        cmd, capture_output=True, text=True, cwd=Path(__file__).parents[2]
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["primary"] == "mr"
    (pred / "image_ids.txt").write_text("a\n")
    bad = subprocess.run(
        cmd, capture_output=True, text=True, cwd=Path(__file__).parents[2]
    )
    assert bad.returncode == 2 and "shape 2x4 differs" in bad.stderr
