"""embedding-probe kind: parity with a direct scikit-learn pipeline, guards."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from evaluator import api, cli
from evaluator.errors import ValidationError
from evaluator.formats import embeddings
from tests.evaluator.embedding_cases import make_case, reference, write_npz, write_truth


@pytest.mark.parametrize("seed,knn_k", [(0, 5), (1, 5), (2, 1), (3, 9), (4, 5)])
def test_matches_direct_sklearn_pipeline(tmp_path, seed, knn_k):
    ids, emb, names, is_train = make_case(seed)
    truth = write_truth(tmp_path / "truth", ids, names, is_train)
    perm = np.random.default_rng(seed).permutation(len(ids))  # any row order
    pred = write_npz(tmp_path / "emb.npz", [ids[i] for i in perm], emb[perm])
    out = api.score("embedding-probe", pred, truth, {"knn_k": knn_k})
    ref = reference(emb, names, is_train, knn_k=knn_k)
    assert out["knn_oa"] == pytest.approx(ref["knn_oa"], abs=1e-12)
    assert out["linear_oa"] == pytest.approx(ref["linear_oa"], abs=1e-12)
    assert out["primary"] == "knn_oa" and out["knn_k"] == knn_k
    assert out["n_samples"] == int((~is_train).sum())
    assert out["n_train"] == int(is_train.sum()) and out["dim"] == emb.shape[1]


def test_knn_vote_tie_goes_to_first_sorted_class(tmp_path):
    # Four train points at the same cosine distance from the query, two per
    # class: a 2-2 vote that sklearn resolves to the class sorting first.
    train = np.array([[1, 0.1], [1, -0.1], [1, 0.1], [1, -0.1]], dtype=np.float32)
    ids = ["t0", "t1", "t2", "t3", "q_a", "q_b"]
    emb = np.vstack([train, [[1, 0], [1, 0]]]).astype(np.float32)
    names = ["b", "b", "a", "a", "a", "b"]
    is_train = np.array([True] * 4 + [False] * 2)
    truth = write_truth(tmp_path / "truth", ids, names, is_train)
    pred = write_npz(tmp_path / "emb.npz", ids, emb)
    ev = api.evaluate("embedding-probe", pred, truth, {"knn_k": 4})
    assert ev.samples()["knn_correct"] == [1, 0]


def test_subset_equals_scoring_the_subset_alone(tmp_path):
    ids, emb, names, is_train = make_case(7)
    truth = write_truth(
        tmp_path / "truth", ids, names, is_train, blocks=["b"] * len(ids)
    )
    pred = write_npz(tmp_path / "emb.npz", ids, emb)
    ev = api.evaluate("embedding-probe", pred, truth)
    assert ev.blocks == ["b"] * int((~is_train).sum())
    test_pos = np.flatnonzero(~is_train)
    sub = np.arange(0, len(test_pos), 3)
    keep = is_train.copy()
    keep[test_pos[sub]] = True
    part_truth = write_truth(
        tmp_path / "part",
        [s for s, k in zip(ids, keep, strict=True) if k],
        [n for n, k in zip(names, keep, strict=True) if k],
        is_train[keep],
    )
    part_pred = write_npz(
        tmp_path / "part.npz",
        [s for s, k in zip(ids, keep, strict=True) if k],
        emb[keep],
    )
    alone = api.score("embedding-probe", part_pred, part_truth)
    got = ev.compute(sub)
    assert got["knn_oa"] == alone["knn_oa"] and got["linear_oa"] == alone["linear_oa"]


def test_zip_inputs(tmp_path):
    ids, emb, names, is_train = make_case(2, n=40)
    truth_dir = write_truth(tmp_path / "truth", ids, names, is_train)
    tz = tmp_path / "truth.zip"
    with zipfile.ZipFile(tz, "w") as z:
        for f in ("train.csv", "test.csv"):
            z.write(truth_dir / f, f"labels/{f}")
    npz = write_npz(tmp_path / "emb.npz", ids, emb)
    pz = tmp_path / "sub.zip"
    with zipfile.ZipFile(pz, "w") as z:
        z.write(npz, "emb.npz")
    assert api.score("embedding-probe", pz, tz) == api.score(
        "embedding-probe", npz, truth_dir
    )


# --- guards ---------------------------------------------------------------------


@pytest.fixture
def case(tmp_path):
    ids, emb, names, is_train = make_case(0, n=30, d=4)
    return ids, emb, write_truth(tmp_path / "truth", ids, names, is_train), is_train


def score(tmp_path, case, ids, emb, **extra):
    pred = tmp_path / "emb.npz"
    np.savez(
        pred,
        ids=np.asarray(ids, dtype=extra.pop("ids_dtype", None)),
        embeddings=emb,
        **extra,
    )
    return api.score("embedding-probe", pred, case[2])


def test_guard_row_count_mismatch(tmp_path, case):
    ids, emb, _, _ = case
    with pytest.raises(
        ValidationError, match=r"emb.npz: 'embeddings' has 29 rows but 'ids' has 30"
    ):
        score(tmp_path, case, ids, emb[:-1])


def test_guard_nan_names_id(tmp_path, case):
    ids, emb, _, _ = case
    emb = emb.copy()
    emb[3, 1] = np.nan
    emb[5, 0] = np.inf
    with pytest.raises(
        ValidationError,
        match=r"2 embedding\(s\) contain NaN or infinity, e.g. id 'img_0003'",
    ):
        score(tmp_path, case, ids, emb)


def test_guard_missing_train_and_test_ids(tmp_path, case):
    ids, emb, _, is_train = case
    first_train = int(np.flatnonzero(is_train)[0])
    first_test = int(np.flatnonzero(~is_train)[0])
    keep = np.arange(len(ids)) != first_train
    with pytest.raises(
        ValidationError,
        match=rf"1 train id\(s\) missing from 'ids': '{ids[first_train]}'",
    ):
        score(tmp_path, case, [ids[i] for i in np.flatnonzero(keep)], emb[keep])
    keep = np.arange(len(ids)) != first_test
    with pytest.raises(
        ValidationError,
        match=rf"1 test id\(s\) missing from 'ids': '{ids[first_test]}'",
    ):
        score(tmp_path, case, [ids[i] for i in np.flatnonzero(keep)], emb[keep])


def test_guard_duplicate_and_extra_ids(tmp_path, case):
    ids, emb, _, _ = case
    with pytest.raises(
        ValidationError,
        match=rf"'ids' row {len(ids)}: duplicate id 'img_0000' \(first on row 0\)",
    ):
        score(tmp_path, case, [*ids, ids[0]], np.vstack([emb, emb[:1]]))
    with pytest.raises(
        ValidationError, match=r"1 id\(s\) are neither train nor test ids: 'stray'"
    ):
        score(tmp_path, case, [*ids, "stray"], np.vstack([emb, emb[:1]]))


def test_guard_dtypes_and_shapes(tmp_path, case):
    ids, emb, _, _ = case
    with pytest.raises(
        ValidationError, match=r"'ids' must be a 1-D string array .* found object"
    ):
        score(tmp_path, case, ids, emb, ids_dtype=object)  # would need a pickle
    with pytest.raises(
        ValidationError, match=r"'embeddings' must be a 2-D float array .* int64"
    ):
        score(tmp_path, case, ids, emb.astype(np.int64))
    with pytest.raises(
        ValidationError,
        match=r"'embeddings' must be a 2-D float array .* shape \(120,\)",
    ):
        score(tmp_path, case, ids, emb.ravel())
    pred = tmp_path / "other.npz"
    np.savez(pred, ids=np.asarray(ids), features=emb)
    with pytest.raises(ValidationError, match=r"array 'embeddings' missing"):
        api.score("embedding-probe", pred, case[2])
    pred.write_bytes(b"not a zip")
    with pytest.raises(ValidationError, match=r"other.npz: not a valid NPZ"):
        api.score("embedding-probe", pred, case[2])


def test_guard_size_caps(tmp_path, case, monkeypatch):
    ids, emb, _, _ = case
    wide = np.zeros((len(ids), embeddings.MAX_DIM + 1), dtype=np.float32)
    with pytest.raises(
        ValidationError, match=r"embedding dimension 16385 not in 1..16384"
    ):
        score(tmp_path, case, ids, wide)
    monkeypatch.setattr(embeddings, "MAX_VALUES", 100)
    with pytest.raises(ValidationError, match=r"30 x 4 = 120 values exceed the limit"):
        score(tmp_path, case, ids, emb)


def test_bytes_ids_and_float16_are_accepted(tmp_path, case):
    ids, emb, truth, is_train = case
    pred = tmp_path / "emb.npz"
    np.savez(
        pred,
        ids=np.asarray([s.encode() for s in ids]),
        embeddings=emb.astype(np.float16),
    )
    out = api.score("embedding-probe", pred, truth)
    assert out["n_samples"] == int((~is_train).sum())


def test_options_and_truth_checks(tmp_path, case):
    ids, emb, truth, is_train = case
    pred = write_npz(tmp_path / "emb.npz", ids, emb)
    with pytest.raises(ValidationError, match=r"option knn_k must be an integer >= 1"):
        api.score("embedding-probe", pred, truth, {"knn_k": 0})
    with pytest.raises(
        ValidationError, match=r"option knn_k=1000 exceeds the \d+ train samples"
    ):
        api.score("embedding-probe", pred, truth, {"knn_k": 1000})
    (truth / "test.csv").unlink()
    with pytest.raises(
        ValidationError, match=r"expected exactly one test.csv, found 0"
    ):
        api.score("embedding-probe", pred, truth)


def test_cli_in_process(tmp_path, case, capsys):
    ids, emb, truth, _ = case
    pred = write_npz(tmp_path / "emb.npz", ids, emb)
    argv = [
        "score",
        "--kind",
        "embedding-probe",
        "--predictions",
        str(pred),
        "--truth",
        str(truth),
    ]
    assert cli.main([*argv, "--options", '{"knn_k": 3, "seed": 1}']) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["knn_k"] == 3 and out["seed"] == 1 and 0 <= out["knn_oa"] <= 1
    assert cli.main([*argv, "--options", '{"k": 3}']) == 2
    assert "unknown option 'k'" in capsys.readouterr().err
