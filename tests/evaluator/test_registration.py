"""registration (3DMatch): RR / RRE / RTE against a reimplementation of
OverlapPredator's benchmark code, hand cases, the real gt.log/gt.info files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from evaluator import api
from evaluator.kinds.registration import mat2quat
from tests.evaluator.registration_cases import (
    ref_scene,
    ref_transformation_err,
    rigid,
    synthetic_scene,
    write_log,
    write_scene,
)

# ---- metric -----------------------------------------------------------------


def test_mat2quat_matches_scipy():
    R = Rotation.random(200, random_state=3)
    q = mat2quat(R.as_matrix())
    x, y, z, w = R.as_quat(canonical=True).T
    np.testing.assert_allclose(q, np.stack([w, x, y, z], 1), atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_predator_benchmark_on_synthetic_scenes(tmp_path, seed):
    rng = np.random.default_rng(seed)
    scenes = {f"scene{k}": synthetic_scene(rng) for k in range(3)}
    for name, sc in scenes.items():
        write_scene(tmp_path / "truth", tmp_path / "pred", name, sc)
    got = api.score("registration", tmp_path / "pred", tmp_path / "truth")
    refs = {n: ref_scene(s[0], s[1], s[2], s[3]) for n, s in scenes.items()}
    for name, (rr, rre, rte) in refs.items():
        ps = got["per_scene"][name]
        assert ps["rr"] == pytest.approx(rr, abs=1e-12)
        assert ps["rre_deg"] == pytest.approx(rre, rel=1e-6)
        assert ps["rte_m"] == pytest.approx(rte, rel=1e-6)
    assert got["rr"] == pytest.approx(np.mean([r[0] for r in refs.values()]))
    assert got["rre_deg"] == pytest.approx(
        np.mean([r[1] for r in refs.values()]), rel=1e-6
    )
    assert got["rte_m"] == pytest.approx(
        np.mean([r[2] for r in refs.values()]), rel=1e-6
    )
    assert 0.1 < got["rr"] < 0.9  # the perturbations straddle the 0.2 m threshold
    # the transformation error of every pair equals the reference's
    ev = api.evaluate("registration", tmp_path / "pred", tmp_path / "truth")
    want = []
    for sc in scenes.values():
        for k, (i, j) in enumerate(sc[0]):
            if j - i > 1:
                want.append(
                    ref_transformation_err(
                        np.linalg.inv(sc[1][k]) @ sc[3][(i, j)], sc[2][k]
                    )
                )
    np.testing.assert_allclose(ev.err, want, rtol=1e-9, atol=1e-15)


def test_hand_cases_translation_and_rotation(tmp_path):
    info = np.diag([100.0, 100, 100, 40, 50, 60])
    gt = np.eye(4)
    blocks_gt = [(0, 2, 9, gt), (0, 3, 9, gt), (0, 4, 9, gt), (1, 2, 9, gt)]
    # (0,2): translation 0.19 m -> err 0.0361 < 0.04 (success)
    # (0,3): translation 0.21 m -> 0.0441 (failure)
    # (0,4): rotation 60 deg about z -> q = (cos30, 0, 0, sin30): 60 * 0.25 / 100 = 0.15 (failure)
    # (1,2): consecutive, not evaluated even though wrong
    est = [np.eye(4) for _ in range(4)]
    est[0][:3, 3] = [0.19, 0, 0]
    est[1][:3, 3] = [0, 0.21, 0]
    est[2] = rigid(Rotation.from_euler("z", 60, degrees=True), [0, 0, 0])
    est[3][:3, 3] = [5, 5, 5]
    write_log(tmp_path / "t" / "s" / "gt.log", blocks_gt)
    write_log(
        tmp_path / "t" / "s" / "gt.info", [(i, j, n, info) for i, j, n, _ in blocks_gt]
    )
    write_log(
        tmp_path / "p" / "s.log",
        [(b[0], b[1], 9, e) for b, e in zip(blocks_gt, est, strict=True)],
    )
    ev = api.evaluate("registration", tmp_path / "p", tmp_path / "t")
    np.testing.assert_allclose(ev.err, [0.0361, 0.0441, 0.15], rtol=1e-9)
    out = ev.compute()
    assert out["rr"] == pytest.approx(1 / 3) and out["n_samples"] == 3
    assert out["rte_m"] == pytest.approx(0.19) and out["rre_deg"] == pytest.approx(
        0.0, abs=1e-6
    )
    # rre_rte variant: RRE 0/0/60 deg, RTE .19/.21/0 -> the first two succeed
    out = api.score(
        "registration", tmp_path / "p", tmp_path / "t", {"variant": "rre_rte"}
    )
    assert out["rr"] == pytest.approx(2 / 3) and out["variant"] == "rre_rte"
    # consecutive pairs included on request: (1,2) is 8.66 m off
    out = api.score(
        "registration", tmp_path / "p", tmp_path / "t", {"skip_consecutive": False}
    )
    assert out["rr"] == pytest.approx(1 / 4)
    # a looser threshold: 0.21 m passes with rmse_m = 0.25 (err 0.0441 < 0.0625)
    assert api.score("registration", tmp_path / "p", tmp_path / "t", {"rmse_m": 0.25})[
        "rr"
    ] == pytest.approx(2 / 3)


def test_subset_equals_separate_scoring(tmp_path):
    rng = np.random.default_rng(5)
    scenes = {f"s{k}": synthetic_scene(rng, n_pairs=20) for k in range(2)}
    for name, sc in scenes.items():
        write_scene(tmp_path / "truth", tmp_path / "pred", name, sc)
    ev = api.evaluate("registration", tmp_path / "pred", tmp_path / "truth")
    idx = np.array([0, 2, 3, 5, len(ev.sample_ids) - 1, len(ev.sample_ids) - 4])
    keep = {sid for sid in np.array(ev.sample_ids)[idx]}
    for name, (pairs, gt, info, _, n) in scenes.items():
        sel = [k for k, (i, j) in enumerate(pairs) if f"{name}/{i}_{j}" in keep]
        write_log(
            tmp_path / "sub" / name / "gt.log", [(*pairs[k], n, gt[k]) for k in sel]
        )
        write_log(
            tmp_path / "sub" / name / "gt.info", [(*pairs[k], n, info[k]) for k in sel]
        )
    assert ev.compute(idx) == api.score(
        "registration", tmp_path / "pred", tmp_path / "sub"
    )


# ---- real 3DMatch / 3DLoMatch ground truth ----------------------------------


def read_gt_blocks(path: Path):
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    out = []
    for b in range(0, len(lines), 5):
        i, j, n = (int(x) for x in lines[b].split())
        M = np.array([[float(v) for v in ln.split()] for ln in lines[b + 1 : b + 5]])
        out.append((i, j, n, M))
    return out


def gt_as_predictions(
    bench: Path, pred: Path, perturb=None
) -> dict[str, tuple[int, int]]:
    """Write every scene's gt.log as <scene>.log; ``perturb(scene, k)`` returns a
    4x4 right-multiplied onto the k-th evaluated pair (or None). Returns per
    scene (n_perturbed, n_evaluated)."""
    counts = {}
    for scene_dir in sorted(p for p in bench.iterdir() if p.is_dir()):
        blocks, k, hit = [], 0, 0
        for i, j, n, T in read_gt_blocks(scene_dir / "gt.log"):
            if j - i > 1:
                P = perturb(scene_dir.name, k) if perturb else None
                if P is not None:
                    T, hit = T @ P, hit + 1
                k += 1
            blocks.append((i, j, n, T))
        write_log(pred / f"{scene_dir.name}.log", blocks)
        counts[scene_dir.name] = (hit, k)
    return counts


def test_real_3dmatch_ground_truth_scores_one(tmp_path, shared_data):
    bench = shared_data("3dmatch_overlappredator", "benchmarks", "3DMatch")
    counts = gt_as_predictions(bench, tmp_path / "pred")
    got = api.score("registration", tmp_path / "pred", bench)
    assert got["rr"] == 1.0 and got["rr_pooled"] == 1.0
    assert got["n_samples"] == sum(k for _, k in counts.values()) == 1279
    assert len(got["per_scene"]) == 8


def test_real_3dlomatch_zero_information_block(tmp_path, shared_data):
    bench = shared_data("3dmatch_overlappredator", "benchmarks", "3DLoMatch")
    gt_as_predictions(bench, tmp_path / "pred")
    got = api.score("registration", tmp_path / "pred", bench)
    # pair 23 25 of home_md has an all-zero gt.info block: 0/0 fails, as in Predator
    bad = "sun3d-home_md-home_md_scan9_2012_sep_30"
    assert got["per_scene"][bad]["rr"] == pytest.approx(221 / 222)
    assert all(v["rr"] == 1.0 for k, v in got["per_scene"].items() if k != bad)
    assert got["rr"] == pytest.approx((7 + 221 / 222) / 8)
    ev = api.evaluate("registration", tmp_path / "pred", bench)
    assert ev.samples()["error"][ev.sample_ids.index(f"{bad}/23_25")] is None


@pytest.mark.parametrize("variant", ["rmse", "rre_rte"])
def test_real_3dmatch_perturbed_pairs_fail(tmp_path, shared_data, variant):
    bench = shared_data("3dmatch_overlappredator", "benchmarks", "3DMatch")
    rot20 = rigid(
        Rotation.from_rotvec(np.radians(20) * np.array([1, 1, 0]) / math.sqrt(2)),
        [0, 0, 0],
    )
    move = rigid(Rotation.identity(), [0.3, -0.4, 0.0])  # 0.5 m

    def perturb(scene, k):
        if scene == "7-scenes-redkitchen" and k % 4 == 0:
            return rot20
        if scene == "sun3d-hotel_uc-scan3" and k % 3 == 1:
            return move
        return None

    counts = gt_as_predictions(bench, tmp_path / "pred", perturb)
    got = api.score("registration", tmp_path / "pred", bench, {"variant": variant})
    for scene, (hit, n) in counts.items():
        assert got["per_scene"][scene]["rr"] == pytest.approx(1 - hit / n), scene
    assert counts["7-scenes-redkitchen"] == (113, 449)  # ceil(449 / 4) pairs perturbed
    assert counts["sun3d-hotel_uc-scan3"] == (61, 182)
    assert got["rr"] == pytest.approx((8 - 113 / 449 - 61 / 182) / 8)
    assert got["rr_pooled"] == pytest.approx(1 - (113 + 61) / 1279)
