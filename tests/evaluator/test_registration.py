"""registration (3DMatch): RR / RRE / RTE against a reimplementation of
OverlapPredator's benchmark code, hand cases, the real gt.log/gt.info files,
validation and CLI."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from evaluator import api
from evaluator.errors import ValidationError
from evaluator.kinds.registration import mat2quat

REPO = Path(__file__).resolve().parents[2]


# ---- independent references (Predator lib/benchmark.py, with scipy quaternions)


def ref_transformation_err(trans, info):
    """Predator ``computeTransformationErr`` with nibabel's mat2quat replaced by
    scipy (canonical = w >= 0, the same quaternion)."""
    t = trans[:3, 3]
    x, y, z, w = Rotation.from_matrix(trans[:3, :3]).as_quat(canonical=True)
    er = np.concatenate([t, [x, y, z]])
    return (er.reshape(1, 6) @ info @ er.reshape(6, 1) / info[0, 0]).item()


def ref_scene(gt_pairs, gt, gt_info, est, err2=0.2):
    """Predator ``evaluate_registration`` recall + RRE/RTE over successes,
    without its first-pair off-by-one (see the kind's card)."""
    err2 = err2**2
    n_gt = good = 0
    rre, rte = [], []
    for idx, (i, j) in enumerate(gt_pairs):
        if j - i <= 1:
            continue
        n_gt += 1
        p = ref_transformation_err(np.linalg.inv(gt[idx]) @ est[(i, j)], gt_info[idx])
        if p <= err2:
            good += 1
            R_ = gt[idx][:3, :3].T @ est[(i, j)][:3, :3]
            rre.append(math.degrees(math.acos(np.clip((np.trace(R_) - 1) / 2, -1, 1))))
            rte.append(np.linalg.norm(gt[idx][:3, 3] - est[(i, j)][:3, 3]))
    return good / n_gt, (np.mean(rre) if rre else None), (np.mean(rte) if rte else None)


# ---- writers ----------------------------------------------------------------


def fmt_block(i, j, n, M) -> str:
    rows = "\n".join("\t".join(f"{v: .12e}" for v in row) for row in M)
    return f"{i}\t {j}\t {n}\t\n{rows}\n"


def write_log(path: Path, blocks) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(fmt_block(i, j, n, M) for i, j, n, M in blocks))
    return path


def info_matrix(rng, n_pts=3000):
    """Information matrix of a random fragment: sum of J'J with J = [I, -[p]x]."""
    P = rng.normal([0.5, -0.3, 2.0], 0.8, (n_pts, 3))
    info = np.zeros((6, 6))
    info[:3, :3] = n_pts * np.eye(3)
    S = np.zeros((n_pts, 3, 3))
    S[:, 0, 1], S[:, 0, 2], S[:, 1, 2] = -P[:, 2], P[:, 1], -P[:, 0]
    S = S - np.swapaxes(S, 1, 2)
    info[:3, 3:] = -S.sum(0)
    info[3:, :3] = info[:3, 3:].T
    info[3:, 3:] = np.einsum("nji,njk->ik", S, S)
    return info


def rigid(rot: Rotation, t) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = rot.as_matrix()
    T[:3, 3] = t
    return T


def synthetic_scene(rng, n_frag=12, n_pairs=30):
    pairs = set()
    while len(pairs) < n_pairs:
        i, j = sorted(rng.choice(n_frag, 2, replace=False).tolist())
        pairs.add((i, j))
    pairs = sorted(pairs)
    gt = [rigid(Rotation.random(random_state=rng), rng.normal(0, 1, 3)) for _ in pairs]
    info = [info_matrix(rng) for _ in pairs]
    est = {}
    for (i, j), T in zip(pairs, gt, strict=True):
        angle = rng.uniform(0, 12)
        P = rigid(
            Rotation.from_rotvec(np.radians(angle) * _unit(rng)),
            rng.uniform(0, 0.35) * _unit(rng),
        )
        est[(i, j)] = T @ P
    return pairs, gt, info, est, n_frag


def _unit(rng):
    v = rng.normal(size=3)
    return v / np.linalg.norm(v)


def write_scene(truth_root: Path, pred_root: Path, name, scene):
    pairs, gt, info, est, n = scene
    write_log(
        truth_root / name / "gt.log",
        [(i, j, n, T) for (i, j), T in zip(pairs, gt, strict=True)],
    )
    write_log(
        truth_root / name / "gt.info",
        [(i, j, n, M) for (i, j), M in zip(pairs, info, strict=True)],
    )
    write_log(pred_root / f"{name}.log", [(i, j, n, est[(i, j)]) for i, j in pairs])


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


# ---- validation -------------------------------------------------------------


@pytest.fixture
def small(tmp_path):
    info = np.diag([100.0, 100, 100, 40, 50, 60])
    blocks = [(0, 2, 5, np.eye(4)), (1, 3, 5, np.eye(4)), (2, 4, 5, np.eye(4))]
    write_log(tmp_path / "t" / "kitchen" / "gt.log", blocks)
    write_log(
        tmp_path / "t" / "kitchen" / "gt.info",
        [(i, j, n, info) for i, j, n, _ in blocks],
    )
    return tmp_path, blocks


def score(tmp_path, **opts):
    return api.score("registration", tmp_path / "p", tmp_path / "t", opts)


def test_non_orthonormal_rotation_names_file_line_pair(small):
    tmp, blocks = small
    bad = np.eye(4)
    bad[:3, :3] *= 1.01
    write_log(tmp / "p" / "kitchen.log", [blocks[0], (1, 3, 5, bad), blocks[2]])
    with pytest.raises(
        ValidationError,
        match=r"kitchen.log line 6: pair 1 3: rotation is not orthonormal",
    ):
        score(tmp)
    refl = np.diag([1.0, 1, -1, 1])  # orthogonal but det = -1
    write_log(tmp / "p" / "kitchen.log", [blocks[0], blocks[1], (2, 4, 5, refl)])
    with pytest.raises(
        ValidationError,
        match=r"line 11: pair 2 4: rotation is not orthonormal .*det = -1",
    ):
        score(tmp)
    last = np.eye(4)
    last[3, 0] = 0.5
    write_log(tmp / "p" / "kitchen.log", [(0, 2, 5, last), blocks[1], blocks[2]])
    with pytest.raises(
        ValidationError, match=r"line 1: pair 0 2: last row must be 0 0 0 1"
    ):
        score(tmp)


def test_malformed_blocks_name_the_line(small):
    tmp, blocks = small
    good = write_log(tmp / "p" / "kitchen.log", blocks).read_text().splitlines()
    cases = [
        (8, "1\t0\tx\t0", r"kitchen.log line 8: not a number"),
        (6, "1 3", r"kitchen.log line 6: expected a header 'i j n' of 3 integers"),
        (
            3,
            "0 1 0",
            r"kitchen.log line 3: expected 4 numbers \(row 2 of the matrix of pair 0 2\)",
        ),
    ]
    for lineno, text, msg in cases:
        lines = list(good)
        lines[lineno - 1] = text
        (tmp / "p" / "kitchen.log").write_text("\n".join(lines) + "\n")
        with pytest.raises(ValidationError, match=msg):
            score(tmp)
    (tmp / "p" / "kitchen.log").write_text("\n".join(good[:-2]) + "\n")
    with pytest.raises(ValidationError, match=r"kitchen.log line 11: incomplete block"):
        score(tmp)


def test_missing_duplicate_and_partial(small):
    tmp, blocks = small
    write_log(tmp / "p" / "kitchen.log", [blocks[0], blocks[0], blocks[2]])
    with pytest.raises(
        ValidationError,
        match=r"kitchen.log line 6: duplicate pair '0 2' \(first on line 1\)",
    ):
        score(tmp)
    write_log(tmp / "p" / "kitchen.log", [blocks[0], blocks[2], (0, 1, 5, np.eye(4))])
    with pytest.raises(
        ValidationError, match=r"kitchen.log: 1 evaluated pair\(s\) missing: '1 3'"
    ):
        score(tmp)
    out = score(tmp, partial=True)
    assert out["rr"] == pytest.approx(2 / 3)  # the missing pair fails; (0,1) ignored
    (tmp / "p" / "kitchen.log").rename(tmp / "p" / "bedroom.log")
    with pytest.raises(
        ValidationError, match=r"no prediction for scene 'kitchen' .*'bedroom'"
    ):
        score(tmp)
    with pytest.raises(
        ValidationError, match=r"option variant must be 'rmse' or 'rre_rte'"
    ):
        score(tmp, variant="dgr")


def test_scene_matching_by_trailing_path(tmp_path):
    # truth with two benchmark folders sharing scene names; one prediction
    # file per scene (Predator's <scene>/est.log layout) serves both.
    info = np.diag([100.0, 100, 100, 40, 50, 60])
    for bench in ("3DMatch", "3DLoMatch"):
        write_log(tmp_path / "t" / bench / "lab" / "gt.log", [(0, 2, 5, np.eye(4))])
        write_log(tmp_path / "t" / bench / "lab" / "gt.info", [(0, 2, 5, info)])
    moved = np.eye(4)
    moved[0, 3] = 1.0
    write_log(tmp_path / "p" / "lab" / "est.log", [(0, 2, 5, np.eye(4))])
    out = api.score("registration", tmp_path / "p", tmp_path / "t")
    assert (
        set(out["per_scene"]) == {"3DMatch/lab", "3DLoMatch/lab"} and out["rr"] == 1.0
    )
    # a more specific file wins for its benchmark
    write_log(tmp_path / "p" / "3DLoMatch" / "lab.log", [(0, 2, 5, moved)])
    out = api.score("registration", tmp_path / "p", tmp_path / "t")
    assert out["per_scene"]["3DMatch/lab"]["rr"] == 1.0
    assert out["per_scene"]["3DLoMatch/lab"]["rr"] == 0.0


def test_cli_zip_ok_and_error(small):
    tmp, blocks = small
    zpath = tmp / "sub.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr("kitchen.log", "".join(fmt_block(*b) for b in blocks))
    cmd = [
        sys.executable,
        "-m",
        "evaluator",
        "score",
        "--kind",
        "registration",
        "--predictions",
        str(zpath),
        "--truth",
        str(tmp / "t"),
    ]
    ok = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)
    assert out["rr"] == 1.0 and out["per_scene"]["kitchen"]["n_pairs"] == 3
    bad = np.eye(4)
    bad[0, 1] = 0.3
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr(
            "kitchen.log",
            "".join(fmt_block(*b) for b in blocks[:2]) + fmt_block(2, 4, 5, bad),
        )
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert (
        "sub.zip:kitchen.log line 11: pair 2 4: rotation is not orthonormal"
        in res.stderr
    )


# ----------------------------------------------------- bulk reader (issue 23)

_VALID_LOGS = [
    "0 2 5\n1 0 0 0.5\n0 1 0 0\n0 0 1 0\n0 0 0 1\n",
    "\n\n  3   4 9 \r\n1 0 0 1e-3\r\n0 1 0 -2.5E+1\r\n0 0 1 0\r\n0 0 0 1\r\n\n",
    "1 3 9\n\t1.0000000000e+00 0 0 nan\n0 1 0 inf\n0 0 1 0\n0 0 0 1\n"
    "2 4 9\n+1 0 0 0\n0 1_0 0 0\n0 0 1 0\n0 0 0 1",
    "7 9 12\n 1 2 3 4 5 6\n1 2 3 4 5 6\n1 2 3 4 5 6\n1 2 3 4 5 6\n1 2 3 4 5 6\n1 2 3 4 5 6\n",
]


@pytest.mark.parametrize("text", _VALID_LOGS)
def test_bulk_reader_equals_the_line_reader(text):
    from evaluator.kinds.registration import _parse_bulk, _parse_lines

    dim = 6 if text.startswith("7 9") else 4
    bulk, lines = _parse_bulk(text, dim), _parse_lines(text, dim, "f")
    assert bulk is not None
    for field in ("pairs", "n_frames", "mats", "lines"):
        np.testing.assert_array_equal(getattr(bulk, field), getattr(lines, field))
        assert getattr(bulk, field).dtype == getattr(lines, field).dtype


@pytest.mark.parametrize(
    "text",
    [
        "0 2 5\n1 0 0 0.5\n0 1 0 0\n0 0 1 0\n",  # incomplete block
        "0 2.0 5\n1 0 0 0.5\n0 1 0 0\n0 0 1 0\n0 0 0 1\n",  # float in the header
        "0 2 5\n1 0 0 0.5 7\n0 1 0\n0 0 1 0\n0 0 0 1\n",  # right total, wrong rows
        "0 2 5\n1 0 0 x\n0 1 0 0\n0 0 1 0\n0 0 0 1\n",  # not a number
        "0 2 5\r1 0 0 0\r0 1 0 0\r0 0 1 0\r0 0 0 1\r",  # old Mac line breaks
        "0 2 5\n1 0 0 0\x0c0 1 0 0\n0 0 1 0\n0 0 0 1\n",  # form feed: a line break
        "0 2 5\n1 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 0 \u00a01\n",  # non-ASCII space
        "",
    ],
)
def test_bulk_reader_leaves_anything_unusual_to_the_line_reader(text):
    from evaluator.kinds.registration import _parse_bulk, parse_blocks

    assert _parse_bulk(text, 4) is None
    try:  # whatever the line reader says (a result or its error) is the answer
        parse_blocks(text, 4, "f")
    except ValidationError as exc:
        assert "f line" in str(exc)
