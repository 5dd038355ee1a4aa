"""geo-localization: R@K / R@1% against brute force, hand cases, validation, CLI."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from evaluator import api, ranking
from evaluator.errors import ValidationError

REPO = Path(__file__).resolve().parents[2]


def write_pred(folder: Path, sim, q_ids, g_ids, *, fortran: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    arr = np.asfortranarray(sim) if fortran else np.asarray(sim)
    np.save(folder / "similarity.npy", arr)
    (folder / "query_ids.txt").write_text("\n".join(q_ids) + "\n")
    (folder / "gallery_ids.txt").write_text("\n".join(g_ids) + "\n")
    return folder


def write_truth(path: Path, pairs) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["query_id", "gallery_id"])
        w.writerows(pairs)
    return path


def brute_force(sim, q_ids, g_ids, truth: dict[str, str], ks):
    """Independent reference: loop over queries, count strictly greater."""
    col = {g: i for i, g in enumerate(g_ids)}
    ranks = []
    for qi, q in enumerate(q_ids):
        t = sim[qi, col[truth[q]]]
        ranks.append(int(np.sum(sim[qi] > t)))
    ranks = np.array(ranks)
    one_pct = max(1, len(g_ids) // 100)
    out = {f"r_at_{k}": float(np.mean(ranks < k)) for k in ks}
    out["r_at_1pct"] = float(np.mean(ranks < one_pct))
    return out


def random_case(seed: int, n_q: int, n_g: int, levels: int | None = None):
    rng = np.random.default_rng(seed)
    g_ids = [f"sat_{i:05d}" for i in rng.permutation(n_g)]
    q_ids = [f"grd_{i:05d}" for i in range(n_q)]
    truth = {q: g_ids[rng.integers(n_g)] for q in q_ids}
    sim = rng.normal(size=(n_q, n_g)).astype(np.float32)
    if levels:
        sim = np.round(sim * levels) / levels  # ties
    return sim, q_ids, g_ids, truth


@pytest.mark.parametrize("seed,levels", [(0, None), (1, 2), (2, 1)])
def test_matches_brute_force_on_random_matrices(tmp_path, seed, levels, monkeypatch):
    # Tiny chunk budget: the rows are streamed in many chunks.
    monkeypatch.setattr(ranking, "CHUNK_BYTES", 3 * 250 * 4)
    sim, q_ids, g_ids, truth = random_case(seed, 120, 250, levels)
    # truth lists the queries in a different order from the matrix rows
    order = np.random.default_rng(seed).permutation(len(q_ids))
    write_truth(tmp_path / "truth.csv", [(q_ids[i], truth[q_ids[i]]) for i in order])
    write_pred(tmp_path / "pred", sim, q_ids, g_ids)
    got = api.score("geo-localization", tmp_path / "pred", tmp_path / "truth.csv")
    want = brute_force(sim, q_ids, g_ids, truth, [1, 5, 10])
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=1e-12), key
    assert got["k_1pct"] == 2 and got["n_gallery"] == 250
    assert got["primary"] == "r_at_1" and got["ties"] == "optimistic"
    assert got["n_samples"] == 120


def test_hand_case_ties_do_not_hurt_and_one_percent(tmp_path):
    # 3 queries x 4 gallery; K for R@1% = max(1, 4 // 100) = 1.
    sim = np.array(
        [
            [0.2, 0.2, 0.2, 0.2],  # q0 -> g1: all tied, rank 0 (hit at 1)
            [0.9, 0.1, 0.8, 0.3],  # q1 -> g3: 0.9 and 0.8 above, rank 2
            [0.1, 0.5, 0.5, 0.6],  # q2 -> g1: tie with g2, 0.6 above, rank 1
        ]
    )
    write_pred(tmp_path / "p", sim, ["q0", "q1", "q2"], ["g0", "g1", "g2", "g3"])
    write_truth(tmp_path / "t.csv", [("q0", "g1"), ("q1", "g3"), ("q2", "g1")])
    got = api.score(
        "geo-localization", tmp_path / "p", tmp_path / "t.csv", {"k": [1, 2, 3]}
    )
    assert got["r_at_1"] == pytest.approx(1 / 3)
    assert got["r_at_2"] == pytest.approx(2 / 3)
    assert got["r_at_3"] == pytest.approx(1.0)
    assert got["r_at_1pct"] == pytest.approx(1 / 3) and got["k_1pct"] == 1
    ev = api.evaluate("geo-localization", tmp_path / "p", tmp_path / "t.csv")
    assert ev.samples() == {"rank": [0, 2, 1]}


def test_zip_fortran_and_dtypes_give_the_same_result(tmp_path):
    sim, q_ids, g_ids, truth = random_case(5, 40, 60, levels=3)
    write_truth(tmp_path / "t.csv", list(truth.items()))
    base = api.score(
        "geo-localization",
        write_pred(tmp_path / "c", sim, q_ids, g_ids),
        tmp_path / "t.csv",
    )
    f = write_pred(tmp_path / "f", sim, q_ids, g_ids, fortran=True)
    assert api.score("geo-localization", f, tmp_path / "t.csv") == base
    # integers keep the order of sim*3 exactly (values are multiples of 1/3)
    ints = write_pred(tmp_path / "i", np.round(sim * 3).astype(np.int16), q_ids, g_ids)
    assert api.score("geo-localization", ints, tmp_path / "t.csv") == base
    zpath = tmp_path / "sub.zip"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
        for name in ("similarity.npy", "query_ids.txt", "gallery_ids.txt"):
            z.write(tmp_path / "c" / name, f"submission/{name}")
    assert api.score("geo-localization", zpath, tmp_path / "t.csv") == base


def test_subset_equals_separate_scoring(tmp_path):
    sim, q_ids, g_ids, truth = random_case(7, 90, 300, levels=4)
    write_truth(tmp_path / "t.csv", list(truth.items()))
    ev = api.evaluate(
        "geo-localization",
        write_pred(tmp_path / "p", sim, q_ids, g_ids),
        tmp_path / "t.csv",
    )
    idx = np.arange(0, 90, 3)
    sub_q = [q_ids[i] for i in idx]
    write_truth(tmp_path / "s.csv", [(q, truth[q]) for q in sub_q])
    sep = api.score(
        "geo-localization",
        write_pred(tmp_path / "ps", sim[idx], sub_q, g_ids),
        tmp_path / "s.csv",
    )
    assert ev.compute(idx) == sep


def test_partial_counts_missing_queries_as_misses(tmp_path):
    sim = np.eye(3)
    write_pred(tmp_path / "p", sim[:2, :], ["a", "b"], ["x", "y", "z"])
    write_truth(tmp_path / "t.csv", [("a", "x"), ("b", "y"), ("c", "z")])
    with pytest.raises(
        ValidationError, match=r"query_ids.txt: 1 test query id\(s\) missing: 'c'"
    ):
        api.score("geo-localization", tmp_path / "p", tmp_path / "t.csv")
    got = api.score(
        "geo-localization",
        tmp_path / "p",
        tmp_path / "t.csv",
        {"partial": True, "k": [1, 5]},
    )
    assert got["r_at_1"] == pytest.approx(2 / 3) and got["r_at_5"] == pytest.approx(
        2 / 3
    )
    ev = api.evaluate(
        "geo-localization", tmp_path / "p", tmp_path / "t.csv", {"partial": True}
    )
    assert ev.samples()["rank"] == [0, 0, None]


def test_real_sample_cvusa_triplets(tmp_path, shared_data):
    csv_path = shared_data("cvusa_crossnet_demo", "data.csv")
    rows = [r for r in csv.reader(open(csv_path)) if r]
    aerial = [Path(r[0]).stem for r in rows]  # aerial0..4 (gallery)
    ground = [Path(r[1]).stem for r in rows]  # ground0..4 (queries)
    assert len(rows) == 5
    write_truth(tmp_path / "t.csv", list(zip(ground, aerial, strict=True)))
    # Similarity: query i prefers aerial (i + shift_i) % 5 over its own match.
    sim = np.full((5, 5), 0.0)
    for i in range(5):
        sim[i, i] = 0.5
        for s in range(1, [0, 1, 2, 0, 4][i] + 1):
            sim[i, (i + s) % 5] = 0.9
    # ranks: [0, 1, 2, 0, 4]  -> R@1 = 2/5, R@5 = 5/5, R@1% (K=1) = 2/5
    write_pred(tmp_path / "p", sim, ground, aerial)
    got = api.score(
        "geo-localization", tmp_path / "p", tmp_path / "t.csv", {"k": [1, 2, 5]}
    )
    assert got["r_at_1"] == pytest.approx(0.4)
    assert got["r_at_2"] == pytest.approx(0.6)
    assert got["r_at_5"] == pytest.approx(1.0)
    assert got["r_at_1pct"] == pytest.approx(0.4)


# ----------------------------------------------------------------- validation


@pytest.fixture
def valid(tmp_path):
    sim, q_ids, g_ids, truth = random_case(3, 6, 8)
    write_truth(tmp_path / "t.csv", list(truth.items()))
    return tmp_path, sim, q_ids, g_ids


def score(tmp_path, **opts):
    return api.score("geo-localization", tmp_path / "p", tmp_path / "t.csv", opts)


def test_duplicate_query_id_names_file_and_line(valid):
    tmp, sim, q, g = valid
    write_pred(tmp / "p", sim, q[:5] + [q[1]], g)
    with pytest.raises(
        ValidationError,
        match=r"query_ids.txt line 6: duplicate id 'grd_00001' \(first on line 2\)",
    ):
        score(tmp)


def test_shape_mismatch(valid):
    tmp, sim, q, g = valid
    write_pred(tmp / "p", sim[:, :7], q, g)
    with pytest.raises(
        ValidationError,
        match=r"similarity.npy: shape 6x7 does not match 6 query ids x 8 gallery ids",
    ):
        score(tmp)


def test_nan_similarity_names_the_query(valid):
    tmp, sim, q, g = valid
    sim = sim.copy()
    sim[4, 2] = np.nan
    write_pred(tmp / "p", sim, q, g)
    with pytest.raises(
        ValidationError,
        match=r"row 4, column 2\) for query 'grd_00004' is not a finite",
    ):
        score(tmp)


def test_unknown_query_and_missing_gallery_ids(valid):
    tmp, sim, q, g = valid
    write_pred(tmp / "p", sim, q[:5] + ["intruder"], g)
    with pytest.raises(
        ValidationError,
        match=r"query_ids.txt: 1 query id\(s\) not in the test set: 'intruder'",
    ):
        score(tmp)
    truth_g = {r[1] for r in csv.reader(open(tmp / "t.csv"))}
    renamed = [x if x not in truth_g else x + "_renamed" for x in g]
    write_pred(tmp / "p", sim, q, renamed)
    with pytest.raises(
        ValidationError,
        match=r"gallery_ids.txt: \d+ gallery id\(s\) of the test set are missing",
    ):
        score(tmp)


def test_non_2d_and_object_dtype(valid):
    tmp, sim, q, g = valid
    write_pred(tmp / "p", sim, q, g)
    np.save(tmp / "p" / "similarity.npy", sim.reshape(6, 8, 1))
    with pytest.raises(
        ValidationError,
        match=r"similarity.npy: expected a 2-D array .* 3-D shape \(6, 8, 1\)",
    ):
        score(tmp)
    np.save(tmp / "p" / "similarity.npy", sim.astype(object), allow_pickle=True)
    with pytest.raises(
        ValidationError,
        match=r"similarity.npy: dtype object is not a real numeric type",
    ):
        score(tmp)
    (tmp / "p" / "similarity.npy").write_bytes(b"not an npy file at all")
    with pytest.raises(ValidationError, match=r"similarity.npy: not a valid NPY file"):
        score(tmp)


def test_truncated_npy_and_missing_member(valid):
    tmp, sim, q, g = valid
    write_pred(tmp / "p", sim, q, g)
    data = (tmp / "p" / "similarity.npy").read_bytes()
    (tmp / "p" / "similarity.npy").write_bytes(data[:-10])
    with pytest.raises(ValidationError, match=r"similarity.npy: truncated file"):
        score(tmp)
    (tmp / "p" / "similarity.npy").unlink()
    with pytest.raises(
        ValidationError, match=r"expected a file named 'similarity.npy', found none"
    ):
        score(tmp)


def test_truth_duplicate_query_and_bad_option(valid):
    tmp, sim, q, g = valid
    write_pred(tmp / "p", sim, q, g)
    write_truth(tmp / "t.csv", [(q[0], g[0]), (q[0], g[1])])
    with pytest.raises(ValidationError, match=r"t.csv line 3: duplicate query_id"):
        score(tmp)
    with pytest.raises(
        ValidationError, match=r"option k must be a list of positive integers"
    ):
        score(tmp, k=[0, 5])


def test_cli_ok_and_error(valid):
    tmp, sim, q, g = valid
    write_pred(tmp / "p", sim, q, g)
    cmd = [
        sys.executable,
        "-m",
        "evaluator",
        "score",
        "--kind",
        "geo-localization",
        "--predictions",
        str(tmp / "p"),
        "--truth",
        str(tmp / "t.csv"),
        "--options",
        '{"k": [1, 5]}',
    ]
    ok = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)
    assert set(out) >= {"r_at_1", "r_at_5", "r_at_1pct", "primary", "n_samples"}
    (tmp / "p" / "gallery_ids.txt").write_text("\n".join(g[:-1]) + "\n")
    bad = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert bad.returncode == 2
    assert (
        bad.stderr.count("\n") == 1
        and "does not match 6 query ids x 7 gallery ids" in bad.stderr
    )
