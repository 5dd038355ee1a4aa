"""registration: rigid transform per point-cloud fragment pair (3DMatch / 3DLoMatch).

Definition (METRICS.md; the 3DMatch/Redwood ``evaluate.m`` protocol, as ported
to Python in OverlapPredator's ``lib/benchmark.py``):

- Evaluated pairs: the pairs (i, j) listed in a scene's ``gt.log`` with
  ``j > i + 1`` (consecutive fragments are skipped, as in ``evaluate.m`` and
  Predator's ``evaluate_registration``: 1,279 of 1,623 pairs on 3DMatch). Option
  ``skip_consecutive=false`` scores every listed pair. Predator's Python port
  also drops the *first* pair of each ``gt.log`` (it stores the pair index in a
  mask where 0 means "absent"); that off-by-one is not reproduced (MATLAB has
  1-based indices and keeps it).
- Error (``computeTransformationErr``): with delta = inv(T_gt) @ T_pred,
  t = translation of delta and q = (qw, qx, qy, qz) the unit quaternion of its
  rotation with qw >= 0 (nibabel ``mat2quat``; equal to MATLAB's
  ``-dcm2quat(R)(2:4)``), p = [t, qx, qy, qz] and
  ``err = p' * info * p / info(1, 1)`` -- an approximation of the squared RMSE of
  the fragment's points (info(1,1) is the number of points of the 6x6 information
  matrix in ``gt.info``; dividing by info(6,6) would not be an RMSE).
- Variant ``rmse`` (default): success iff err < ``rmse_m``^2 (0.2 m -> 0.04;
  METRICS.md writes a strict ``<``, ``evaluate.m`` uses ``<=``: they differ only
  on exact equality).
- Variant ``rre_rte`` (FCGF / DGR ``eval_dgr`` style): success iff RRE < 15 deg
  and RTE < 0.3 m (options ``max_rre_deg``, ``max_rte_m``). A different number.
- ``rr`` (primary): per scene, successes / evaluated pairs; then the mean over
  scenes (Predator's reported "registration recall"). ``rr_pooled``: successes /
  pairs over all scenes together.
- RRE = arccos((trace(R_gt' R_pred) - 1) / 2) in degrees, RTE = ||t_gt - t_pred||
  in metres, each averaged over the *successful* pairs of a scene, then over the
  scenes having at least one success (Predator's per-scene mean). None if none.
- ``per_scene``: {scene: {rr, rre_deg, rte_m, n_pairs}}.

Quirks kept from the reference: a ``gt.info`` block that is all zeros (pair 23 25
of 3DLoMatch ``sun3d-home_md-home_md_scan9_2012_sep_30``) gives err = 0/0 = NaN,
which fails under ``rmse`` whatever the estimate (the pair stays in the
denominator, as in Predator's numbers). The ground-truth rotations are stored with
8 decimals and are orthonormal only to ~5e-4, so even the ground truth scored
against itself has RRE ~0.1-2 degrees from arccos rounding (as in the reference).

Formats: predictions are a ZIP or folder of 3DMatch ``.log`` files, one per scene,
named ``<scene>.log`` (or ``<scene>/est.log``, Predator's layout): blocks of a
header line ``i j n`` followed by 4 lines of the 4x4 transform, in the same
convention as the ground-truth ``gt.log`` (the estimate is compared with the
ground-truth block of the same (i, j)). Truth: a folder or ZIP with ``<scene>/gt.log`` and
``<scene>/gt.info`` (header ``i j n`` + 6 lines of the 6x6 information matrix);
the scene key is the folder path (e.g. ``3DMatch/7-scenes-redkitchen``). A
prediction file matches a truth scene when one path is a trailing part of the
other, the longest match winning (so ``7-scenes-redkitchen.log`` serves both
``3DMatch/...`` and ``3DLoMatch/...``, while ``3DLoMatch/7-scenes-redkitchen.log``
serves only the latter). Pairs a prediction lists beyond the evaluated ones are
ignored; a missing evaluated pair (or scene) is an error unless option
``partial``, where it counts as a failure. ``.log`` files that match no test
scene are ignored. Each predicted rotation must be
orthonormal (max |R'R - I| <= 1e-3 and |det R - 1| <= 1e-3) with last row
(0, 0, 0, 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from evaluator.errors import ValidationError
from evaluator.ids import unique_id_rows
from evaluator.io import Source, preview, read_text
from evaluator.kinds.base import Evaluation, Kind
from evaluator.registry import register

ORTHO_TOL = 1e-3
_ABSENT = np.full((4, 4), np.nan)  # a pair missing from a partial submission
_ABSENT.flags.writeable = False


@dataclass
class LogFile:
    """Blocks of one ``.log``/``.info`` file: pairs, matrices, header lines."""

    pairs: np.ndarray  # (m, 2) int
    n_frames: np.ndarray  # (m,) int
    mats: np.ndarray  # (m, d, d)
    lines: np.ndarray  # (m,) header line numbers (1-based)


def parse_blocks(text: str, dim: int, where: str) -> LogFile:
    """Parse ``i j n`` headers each followed by ``dim`` rows of ``dim`` numbers.

    Well-formed files take a bulk path (token counts per line from a byte scan,
    one numpy conversion of all numbers); anything else, or any doubt, is read
    line by line, which names the first bad line.
    """
    fast = _parse_bulk(text, dim)
    return fast if fast is not None else _parse_lines(text, dim, where)


def _parse_bulk(text: str, dim: int) -> LogFile | None:
    if not text.isascii():
        return None
    b = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    if b.size == 0:
        return None
    # Characters str.split() treats as whitespace or str.splitlines() as a line
    # break besides " \t\n" and "\r\n" send the file to the line-by-line reader.
    cr = b == 13
    cr[:-1] &= b[1:] != 10
    if cr.any() or ((b == 11) | (b == 12) | ((b >= 28) & (b <= 31))).any():
        return None
    space = (b == 32) | (b == 9) | (b == 10) | (b == 13)
    start = ~space
    start[1:] &= space[:-1]
    line_of = np.cumsum(b == 10)[start]  # 0-based line of each token
    n_lines = int(line_of[-1]) + 1 if line_of.size else 0
    counts = np.bincount(line_of, minlength=n_lines)
    used = np.flatnonzero(counts)
    per_block = np.array([3] + [dim] * dim)
    if used.size == 0 or used.size % (dim + 1):
        return None
    m = used.size // (dim + 1)
    if not np.array_equal(counts[used], np.tile(per_block, m)):
        return None
    tokens = np.array(text.split(), dtype=object).reshape(m, 3 + dim * dim)
    try:
        head = tokens[:, :3].astype(np.int64)
        mats = tokens[:, 3:].astype(np.float64).reshape(m, dim, dim)
    except (ValueError, OverflowError):
        return None
    lines = used[:: dim + 1].astype(np.int64) + 1
    return LogFile(np.ascontiguousarray(head[:, :2]), head[:, 2].copy(), mats, lines)


def _parse_lines(text: str, dim: int, where: str) -> LogFile:
    rows = [(k, ln.split()) for k, ln in enumerate(text.splitlines(), start=1)]
    rows = [(k, f) for k, f in rows if f]
    if len(rows) % (dim + 1):
        k = rows[-(len(rows) % (dim + 1))][0] if rows else 0
        raise ValidationError(
            f"{where} line {k}: incomplete block (each pair needs a header line "
            f"'i j n' and {dim} lines of {dim} numbers)"
        )
    m = len(rows) // (dim + 1)
    pairs = np.empty((m, 2), dtype=np.int64)
    n_frames = np.empty(m, dtype=np.int64)
    mats = np.empty((m, dim, dim))
    lines = np.empty(m, dtype=np.int64)
    for b in range(m):
        k, head = rows[b * (dim + 1)]
        if len(head) != 3 or not all(_is_int(x) for x in head):
            raise ValidationError(
                f"{where} line {k}: expected a header 'i j n' of 3 integers, "
                f"found {' '.join(head)[:60]!r}"
            )
        pairs[b] = int(head[0]), int(head[1])
        n_frames[b] = int(head[2])
        lines[b] = k
        for r in range(dim):
            k2, vals = rows[b * (dim + 1) + 1 + r]
            if len(vals) != dim:
                raise ValidationError(
                    f"{where} line {k2}: expected {dim} numbers (row {r + 1} of the "
                    f"matrix of pair {head[0]} {head[1]}), found {len(vals)}"
                )
            try:
                mats[b, r] = [float(v) for v in vals]
            except ValueError:
                raise ValidationError(
                    f"{where} line {k2}: not a number in {' '.join(vals)[:80]!r}"
                ) from None
    return LogFile(pairs, n_frames, mats, lines)


def _is_int(s: str) -> bool:
    try:
        int(s)
    except ValueError:
        return False
    return True


def check_rigid(log: LogFile, where: str) -> None:
    """Every 4x4 must be finite, with an orthonormal rotation and a 0 0 0 1 row."""
    T = log.mats
    finite = np.isfinite(T).all(axis=(1, 2))
    R = np.where(finite[:, None, None], T[:, :3, :3], np.eye(3))
    ortho = np.abs(np.swapaxes(R, 1, 2) @ R - np.eye(3)).max(axis=(1, 2))
    det = np.linalg.det(R)
    last = np.abs(T[:, 3] - [0.0, 0.0, 0.0, 1.0]).max(axis=1)
    bad = (
        ~finite
        | (ortho > ORTHO_TOL)
        | (np.abs(det - 1) > ORTHO_TOL)
        | ~(last <= ORTHO_TOL)
    )
    if not bad.any():
        return
    b = int(np.flatnonzero(bad)[0])
    i, j = log.pairs[b]
    pair = f"line {log.lines[b]}: pair {i} {j}:"
    if not finite[b]:
        why = "transform has a non-finite entry"
    elif not last[b] <= ORTHO_TOL:
        why = f"last row must be 0 0 0 1, found {' '.join(f'{x:g}' for x in T[b, 3])}"
    else:
        why = (
            f"rotation is not orthonormal (max |R'R - I| = {ortho[b]:.3g}, "
            f"det = {det[b]:.6g}; tolerance {ORTHO_TOL:g})"
        )
    raise ValidationError(f"{where} {pair} {why}")


def mat2quat(R: np.ndarray) -> np.ndarray:
    """Batch (w, x, y, z) unit quaternions with w >= 0, nibabel's ``mat2quat``
    (Bar-Itzhack's eigenvector method, robust to slightly non-orthonormal R)."""
    Qxx, Qyx, Qzx = R[:, 0, 0], R[:, 0, 1], R[:, 0, 2]
    Qxy, Qyy, Qzy = R[:, 1, 0], R[:, 1, 1], R[:, 1, 2]
    Qxz, Qyz, Qzz = R[:, 2, 0], R[:, 2, 1], R[:, 2, 2]
    K = np.zeros((len(R), 4, 4))
    K[:, 0, 0] = Qxx - Qyy - Qzz
    K[:, 1, 0] = Qyx + Qxy
    K[:, 1, 1] = Qyy - Qxx - Qzz
    K[:, 2, 0] = Qzx + Qxz
    K[:, 2, 1] = Qzy + Qyz
    K[:, 2, 2] = Qzz - Qxx - Qyy
    K[:, 3, 0] = Qyz - Qzy
    K[:, 3, 1] = Qzx - Qxz
    K[:, 3, 2] = Qxy - Qyx
    K[:, 3, 3] = Qxx + Qyy + Qzz
    vals, vecs = np.linalg.eigh(K / 3.0, UPLO="L")
    q = vecs[np.arange(len(R)), :, np.argmax(vals, axis=1)][:, [3, 0, 1, 2]]
    return np.where(q[:, :1] < 0, -q, q)


def transformation_error(
    T_gt: np.ndarray, T_pred: np.ndarray, info: np.ndarray
) -> np.ndarray:
    """3DMatch ``computeTransformationErr`` (squared-RMSE proxy) per pair."""
    delta = np.linalg.inv(T_gt) @ T_pred
    q = mat2quat(delta[:, :3, :3])
    p = np.concatenate([delta[:, :3, 3], q[:, 1:]], axis=1)
    # An all-zero info block (3DLoMatch home_md pair 23 25) gives 0/0 = NaN, a
    # failure whatever the estimate, exactly as in the reference code.
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.einsum("ni,nij,nj->n", p, info, p) / info[:, 0, 0]


def rotation_error_deg(T_gt: np.ndarray, T_pred: np.ndarray) -> np.ndarray:
    tr = np.einsum("nji,nji->n", T_gt[:, :3, :3], T_pred[:, :3, :3])
    return np.degrees(np.arccos(np.clip((tr - 1) / 2, -1.0, 1.0)))


def translation_error(T_gt: np.ndarray, T_pred: np.ndarray) -> np.ndarray:
    return np.linalg.norm(T_gt[:, :3, 3] - T_pred[:, :3, 3], axis=1)


@dataclass
class Scene:
    key: str
    pairs: np.ndarray  # evaluated (i, j)
    T_gt: np.ndarray
    info: np.ndarray


def read_truth(source: Source, skip_consecutive: bool) -> list[Scene]:
    files = source.files()
    logs = sorted(f for f in files if PurePosixPath(f).name.lower() == "gt.log")
    if not logs:
        raise ValidationError(f"{source.display}: no <scene>/gt.log found")
    by_lower = {f.lower(): f for f in files}
    scenes = []
    for name in logs:
        key = str(PurePosixPath(name).parent)
        if key == ".":
            raise ValidationError(
                f"{source.where(name)}: gt.log must sit in a scene folder"
            )
        info_name = by_lower.get(str(PurePosixPath(name).with_name("gt.info")).lower())
        if info_name is None:
            raise ValidationError(f"{source.where(name)}: no gt.info next to it")
        log = parse_blocks(read_text(source, name), 4, source.where(name))
        info = parse_blocks(read_text(source, info_name), 6, source.where(info_name))
        if len(info.pairs) != len(log.pairs) or (info.pairs != log.pairs).any():
            raise ValidationError(
                f"{source.where(info_name)}: its pairs differ from gt.log's "
                f"({len(info.pairs)} vs {len(log.pairs)} blocks)"
            )
        keep = (
            (log.pairs[:, 1] - log.pairs[:, 0] > 1) if skip_consecutive else slice(None)
        )
        scenes.append(Scene(key, log.pairs[keep], log.mats[keep], info.mats[keep]))
    return scenes


def prediction_files(source: Source) -> dict[str, str]:
    """``scene key -> member`` for ``<scene>.log`` and ``<scene>/est.log`` files."""
    out: dict[str, str] = {}
    for f in source.files():
        p = PurePosixPath(f)
        if p.suffix.lower() != ".log":
            continue
        key = str(p.parent) if p.name.lower() == "est.log" else str(p.with_suffix(""))
        if key == ".":
            raise ValidationError(
                f"{source.where(f)}: est.log must sit in a scene folder"
            )
        out[key] = f
    if not out:
        raise ValidationError(
            f"{source.display}: no .log files found (expected <scene>.log)"
        )
    return out


def match_scenes(
    truth_keys: list[str], pred_keys: list[str], display: str
) -> dict[str, str]:
    """Truth scene -> prediction key, when one path is a trailing part of the
    other (``lab`` ~ ``3DMatch/lab`` ~ ``submission/3DMatch/lab``); the longest
    such match wins."""

    def common(a: str, b: str) -> int:
        pa, pb = PurePosixPath(a).parts, PurePosixPath(b).parts
        n = min(len(pa), len(pb))
        return n if pa[len(pa) - n :] == pb[len(pb) - n :] else 0

    out: dict[str, str] = {}
    for t in truth_keys:
        scores = [(common(t, p), p) for p in pred_keys]
        best = max((s for s, _ in scores), default=0)
        if best == 0:
            continue
        tied = sorted(p for s, p in scores if s == best)
        if len(tied) > 1:
            raise ValidationError(
                f"{display}: scene {t!r} matches several files ({preview(tied)})"
            )
        out[t] = tied[0]
    return out


class RegistrationEvaluation(Evaluation):
    def __init__(self, ids, scene_keys, scene_idx, success, rre, rte, err, variant):
        self.sample_ids = ids
        self.scene_keys = scene_keys
        self.scene_idx = scene_idx
        self.success = success
        self.rre = rre
        self.rte = rte
        self.err = err
        self.variant = variant

    def compute(self, index: np.ndarray | None = None) -> dict[str, Any]:
        idx = np.arange(len(self.success)) if index is None else np.asarray(index)
        if len(idx) == 0:
            raise ValidationError("no samples to score")
        sc, ok = self.scene_idx[idx], self.success[idx]
        rre, rte = self.rre[idx], self.rte[idx]
        per_scene: dict[str, Any] = {}
        for s in np.unique(sc):
            m = sc == s
            good = m & ok
            per_scene[self.scene_keys[s]] = {
                "rr": float(ok[m].mean()),
                "rre_deg": float(rre[good].mean()) if good.any() else None,
                "rte_m": float(rte[good].mean()) if good.any() else None,
                "n_pairs": int(m.sum()),
            }
        vals = list(per_scene.values())
        rres = [v["rre_deg"] for v in vals if v["rre_deg"] is not None]
        rtes = [v["rte_m"] for v in vals if v["rte_m"] is not None]
        return {
            "rr": float(np.mean([v["rr"] for v in vals])),
            "rre_deg": float(np.mean(rres)) if rres else None,
            "rte_m": float(np.mean(rtes)) if rtes else None,
            "rr_pooled": float(ok.mean()),
            "per_scene": per_scene,
            "variant": self.variant,
            "n_samples": int(len(idx)),
            "primary": "rr",
        }

    def samples(self) -> dict[str, list]:
        def clean(a):
            return [float(x) if math.isfinite(x) else None for x in a]

        return {
            "success": self.success.astype(int).tolist(),
            "rre_deg": clean(self.rre),
            "rte_m": clean(self.rte),
            "error": clean(self.err),
        }


@register
class Registration(Kind):
    """Point-cloud registration (3DMatch): registration recall, RRE, RTE."""

    name = "registration"
    options = {
        "variant": "rmse",
        "rmse_m": 0.2,
        "max_rre_deg": 15.0,
        "max_rte_m": 0.3,
        "skip_consecutive": True,
        "partial": False,
    }
    metrics = {"rr": "max", "rre_deg": "min", "rte_m": "min"}
    primary = "rr"
    prediction_bytes_per_sample = 4 << 10  # a 3DMatch log block per pair
    formats = ["ZIP/folder of 3DMatch <scene>.log files (or <scene>/est.log)"]

    def evaluate(self, predictions: Source, truth: Source, options: dict[str, Any]):
        variant = options["variant"]
        if variant not in ("rmse", "rre_rte"):
            raise ValidationError(
                f"option variant must be 'rmse' or 'rre_rte', got {variant!r}"
            )
        for opt in ("rmse_m", "max_rre_deg", "max_rte_m"):
            v = options[opt]
            if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
                raise ValidationError(
                    f"option {opt} must be a positive number, got {v!r}"
                )
        scenes = read_truth(truth, bool(options["skip_consecutive"]))
        files = prediction_files(predictions)
        matched = match_scenes(
            [s.key for s in scenes], list(files), predictions.display
        )
        parsed: dict[str, dict[tuple[int, int], np.ndarray]] = {}
        ids, scene_idx, T_gt, T_pred, info = [], [], [], [], []
        for s_i, scene in enumerate(scenes):
            key = matched.get(scene.key)
            if key is None and not options["partial"]:
                unused = sorted(set(files) - set(matched.values()))
                raise ValidationError(
                    f"{predictions.display}: no prediction for scene {scene.key!r} "
                    f"(expected {PurePosixPath(scene.key).name}.log; unmatched .log "
                    f"files: {preview(unused) or 'none'})"
                )
            if key is not None and key not in parsed:
                parsed[key] = read_prediction(predictions, files[key])
            preds = parsed.get(key, {})
            missing = [
                f"{i} {j}" for i, j in scene.pairs.tolist() if (i, j) not in preds
            ]
            if missing and not options["partial"]:
                raise ValidationError(
                    f"{predictions.where(files[key])}: {len(missing)} evaluated pair(s) "
                    f"missing: {preview(missing)}"
                )
            for (i, j), Tg, inf in zip(
                scene.pairs.tolist(), scene.T_gt, scene.info, strict=True
            ):
                ids.append(f"{scene.key}/{i}_{j}")
                scene_idx.append(s_i)
                T_gt.append(Tg)
                info.append(inf)
                T_pred.append(preds.get((i, j), _ABSENT))
        if not ids:
            raise ValidationError(f"{truth.display}: no pairs to evaluate")
        T_gt, T_pred, info = np.stack(T_gt), np.stack(T_pred), np.stack(info)
        present = np.isfinite(T_pred).all(axis=(1, 2))
        safe = np.where(present[:, None, None], T_pred, T_gt)
        err = np.where(present, transformation_error(T_gt, safe, info), np.inf)
        rre = np.where(present, rotation_error_deg(T_gt, safe), np.inf)
        rte = np.where(present, translation_error(T_gt, safe), np.inf)
        if variant == "rmse":
            success = err < float(options["rmse_m"]) ** 2
        else:
            success = (rre < options["max_rre_deg"]) & (rte < options["max_rte_m"])
        return RegistrationEvaluation(
            ids,
            [s.key for s in scenes],
            np.array(scene_idx, dtype=np.int64),
            success & present,
            rre,
            rte,
            err,
            variant,
        )


def read_prediction(source: Source, name: str) -> dict[tuple[int, int], np.ndarray]:
    where = source.where(name)
    log = parse_blocks(read_text(source, name), 4, where)
    check_rigid(log, where)
    rows = zip(log.lines.tolist(), zip(log.pairs.tolist(), log.mats, strict=True), strict=True)
    pairs = unique_id_rows(rows, where, noun="pair", id_of=lambda r: "{} {}".format(*r[0]))
    return {(i, j): T for _, _, ((i, j), T) in pairs}
