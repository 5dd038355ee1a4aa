"""regression: continuous values per point or per pixel.

Two input forms (predictions and truth must use the same one):

- points: one CSV ``id,value`` (e.g. SatCLIP air temperature per location, AGBD
  biomass per GEDI footprint). Each row is a sample. The truth may carry extra
  columns after ``id,value`` (e.g. ``split``), which are ignored.
- rasters: a ZIP/folder of ``<id>.tif`` (or ``.png``) maps, or an NPZ keyed by id;
  each raster is a sample whose valid pixels all count. Prediction and truth
  must have the same height, width and band count.

Option ``nodata`` (none by default): truth values equal to it are excluded; NaN
truth is always excluded. A NaN or infinite prediction at a valid truth position
is an error naming the id (file and line for CSV).

Metrics over all valid points/pixels of the scored samples (pooled, not averaged
per raster), with e = prediction − truth:

- ``rmse`` = sqrt(mean e²) (primary, lower is better); ``mae`` = mean |e|;
  ``bias`` = mean e;
- ``r2`` = 1 − Σe² / Σ(y − ȳ)², scikit-learn ``r2_score`` semantics: 1.0 for a
  constant truth predicted exactly, 0.0 for a constant truth otherwise, ``None``
  with fewer than two valid values.

Each sample stores (n, Σe, Σe², Σ|e|, Σy', Σy'²) with y' = y − c (c = the truth
mean over all samples, to keep Σy'² free of cancellation), so any subset's metrics
are exact dataset-level values. Reference: scikit-learn ``mean_squared_error``,
``mean_absolute_error``, ``r2_score``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from evaluator.errors import ValidationError
from evaluator.ids import unique_id_rows
from evaluator.images import IMAGE_SUFFIXES, ArraySet
from evaluator.io import Source, iter_csv, preview
from evaluator.kinds.base import Evaluation, Kind
from evaluator.registry import register

STATS = ("n", "sum_e", "sum_e2", "sum_abs", "sum_y", "sum_y2")


def _is_points(source: Source) -> bool:
    files = [f for f in source.files() if f.lower().endswith(".csv")]
    return len(files) == 1 and not any(
        f.lower().endswith(IMAGE_SUFFIXES) for f in source.files()
    )


def read_value_csv(
    source: Source, *, role: str
) -> tuple[list[str], np.ndarray, list[int]]:
    """Ids, float values and line numbers of an ``id,value`` CSV.

    Truth values may be empty or ``nan`` (excluded later); prediction values must
    parse as numbers.
    """
    name = source.single((".csv",))
    where = source.where(name)
    header, rows = iter_csv(source, name)
    lowered = [h.lower() for h in header]
    if lowered[:2] != ["id", "value"] or (role == "predictions" and len(header) != 2):
        want = "id,value" if role == "predictions" else "id,value[,...]"
        raise ValidationError(
            f"{where} line 1: header must be {want!r}, found {','.join(header)!r}"
        )
    ids: list[str] = []
    values: list[float] = []
    lines: list[int] = []
    for lineno, sid, row in unique_id_rows(rows, where):
        raw = row[1]
        try:
            val = float(raw) if raw or role == "predictions" else math.nan
        except ValueError:
            val = None
        if val is None:
            raise ValidationError(
                f"{where} line {lineno}: value {raw!r} for id {sid!r} is not a number"
            )
        ids.append(sid)
        values.append(val)
        lines.append(lineno)
    if not ids:
        raise ValidationError(f"{where}: no data rows")
    return ids, np.asarray(values, dtype=np.float64), lines


def valid_mask(truth: np.ndarray, nodata: float | None) -> np.ndarray:
    """Truth positions that count: finite, and not equal to ``nodata``."""
    ok = np.isfinite(truth)
    if nodata is not None:
        ok &= truth != nodata
    return ok


def sample_stats(pred: np.ndarray, truth: np.ndarray, center: float) -> np.ndarray:
    """The six sufficient statistics of one sample's valid values (1-D arrays)."""
    e = pred - truth
    y = truth - center
    return np.array(
        [e.size, e.sum(), (e * e).sum(), np.abs(e).sum(), y.sum(), (y * y).sum()],
        dtype=np.float64,
    )


def regression_metrics(stats: np.ndarray) -> dict[str, float | None]:
    """rmse/mae/bias/r2 from summed statistics (order as :data:`STATS`)."""
    n, se, se2, sabs, sy, sy2 = (float(x) for x in stats)
    if n == 0:
        return {"rmse": None, "mae": None, "bias": None, "r2": None, "n_valid": 0}
    out: dict[str, float | None] = {
        "rmse": math.sqrt(se2 / n),
        "mae": sabs / n,
        "bias": se / n,
        "r2": None,
        "n_valid": int(n),
    }
    if n >= 2:
        ss_tot = max(sy2 - sy * sy / n, 0.0)
        # Relative floor: a truth constant up to rounding counts as constant.
        if ss_tot <= 1e-12 * max(sy2, 1e-300):
            out["r2"] = 1.0 if se2 == 0 else 0.0
        else:
            out["r2"] = 1.0 - se2 / ss_tot
    return out


class RegressionEvaluation(Evaluation):
    def __init__(self, ids: list[str], stats: np.ndarray, form: str, nodata):
        self.sample_ids = ids
        self.stats = stats  # (n_samples, 6)
        self.form = form
        self.nodata = nodata

    def compute(self, index: np.ndarray | None = None) -> dict[str, Any]:
        rows = self.stats if index is None else self.stats[np.asarray(index)]
        out: dict[str, Any] = regression_metrics(rows.sum(axis=0))
        out.update(
            primary="rmse",
            n_samples=int(len(rows)),
            input_form=self.form,
            nodata=self.nodata,
        )
        return out

    def samples(self) -> dict[str, list]:
        n = self.stats[:, 0]
        has = n > 0
        safe = np.where(has, n, 1)
        bias = self.stats[:, 1] / safe
        rmse = np.sqrt(self.stats[:, 2] / safe)
        if self.form == "points":
            return {
                "error": [
                    float(b) if h else None for b, h in zip(bias, has, strict=True)
                ]
            }
        return {
            "n_valid": n.astype(int).tolist(),
            "rmse": [float(r) if h else None for r, h in zip(rmse, has, strict=True)],
            "bias": [float(b) if h else None for b, h in zip(bias, has, strict=True)],
        }


def _evaluate_points(
    predictions: Source, truth: Source, nodata
) -> RegressionEvaluation:
    t_ids, t_vals, _ = read_value_csv(truth, role="truth")
    p_ids, p_vals, p_lines = read_value_csv(predictions, role="predictions")
    where = predictions.where(predictions.single((".csv",)))
    truth_set = set(t_ids)
    extra = [sid for sid in p_ids if sid not in truth_set]
    if extra:
        raise ValidationError(
            f"{where}: {len(extra)} id(s) not in the test set: {preview(extra)}"
        )
    pos = {sid: i for i, sid in enumerate(p_ids)}
    missing = [sid for sid in t_ids if sid not in pos]
    if missing:
        raise ValidationError(
            f"{where}: {len(missing)} test id(s) missing: {preview(missing)}"
        )
    order = np.array([pos[sid] for sid in t_ids], dtype=np.int64)
    pred = p_vals[order]
    ok = valid_mask(t_vals, nodata)
    bad = np.flatnonzero(ok & ~np.isfinite(pred))
    if bad.size:
        i = int(order[bad[0]])
        raise ValidationError(
            f"{where} line {p_lines[i]}: value {p_vals[i]} for id {p_ids[i]!r} is not "
            "a finite number"
        )
    center = float(t_vals[ok].mean()) if ok.any() else 0.0
    e = np.where(ok, pred - t_vals, 0.0)
    y = np.where(ok, t_vals - center, 0.0)
    stats = np.stack([ok.astype(np.float64), e, e * e, np.abs(e), y, y * y], axis=1)
    return RegressionEvaluation(t_ids, stats, "points", nodata)


def _as_bands(arr: np.ndarray, where: str) -> np.ndarray:
    if arr.ndim not in (2, 3):
        raise ValidationError(
            f"{where}: expected a height x width [x bands] raster, found shape {arr.shape}"
        )
    return arr[:, :, None] if arr.ndim == 2 else arr


def _evaluate_rasters(
    predictions: Source, truth: Source, nodata
) -> RegressionEvaluation:
    t_set = ArraySet(truth)
    ids = t_set.ids()
    p_set = ArraySet(predictions)
    p_set.check_ids(ids)
    raw: list[tuple[float, int]] = []
    stats = np.zeros((len(ids), len(STATS)))
    total, count = 0.0, 0
    # Streaming: one raster pair at a time; only statistics are kept. The truth
    # mean (the centring constant) is accumulated on the way, so a first pass
    # stores uncentred sums and the centring is applied afterwards exactly.
    for i, sid in enumerate(ids):
        t = _as_bands(np.asarray(t_set.get(sid)), t_set.where(sid))
        p = _as_bands(np.asarray(p_set.get(sid, expect=t.shape)), p_set.where(sid))
        _check_raster(p, t, p_set.where(sid))
        ok = valid_mask(t.astype(np.float64), nodata)
        pv = p[ok].astype(np.float64)
        if not np.isfinite(pv).all():
            raise ValidationError(
                f"{p_set.where(sid)}: NaN or infinite prediction at a valid pixel"
            )
        tv = t[ok].astype(np.float64)
        # Centre on this raster's own mean first (stable), re-centre below.
        c_i = float(tv.mean()) if tv.size else 0.0
        stats[i] = sample_stats(pv, tv, c_i)
        raw.append((c_i, tv.size))
        total += float(tv.sum())
        count += tv.size
    center = total / count if count else 0.0
    for i, (c_i, n_i) in enumerate(raw):
        # Σ(y−c) = Σ(y−c_i) + n(c_i−c); Σ(y−c)² = Σ(y−c_i)² + 2(c_i−c)Σ(y−c_i) + n(c_i−c)².
        d = c_i - center
        s1, s2 = stats[i, 4], stats[i, 5]
        stats[i, 4] = s1 + n_i * d
        stats[i, 5] = s2 + 2 * d * s1 + n_i * d * d
    return RegressionEvaluation(ids, stats, "rasters", nodata)


def _check_raster(pred: np.ndarray, truth: np.ndarray, where: str) -> None:
    if pred.shape[:2] != truth.shape[:2]:
        raise ValidationError(
            f"{where}: shape {pred.shape[0]}x{pred.shape[1]} differs from the ground "
            f"truth {truth.shape[0]}x{truth.shape[1]} (height x width)"
        )
    if pred.shape[2] != truth.shape[2]:
        raise ValidationError(
            f"{where}: {pred.shape[2]} band(s), the ground truth has {truth.shape[2]}"
        )
    if pred.dtype.kind not in "iuf":
        raise ValidationError(f"{where}: dtype {pred.dtype} is not numeric")


@register
class Regression(Kind):
    """Regression on points (CSV) or rasters (GeoTIFF): RMSE, MAE, bias, R²."""

    name = "regression"
    options = {"nodata": None}
    metrics = {"rmse": "min", "mae": "min", "r2": "max"}
    primary = "rmse"
    prediction_bytes_per_sample = 64 << 20  # a raster per sample (or a CSV line)
    formats = ["CSV id,value", "ZIP/folder of <id>.tif rasters", "NPZ keyed by id"]

    def evaluate(self, predictions: Source, truth: Source, options: dict[str, Any]):
        nodata = options["nodata"]
        if nodata is not None and (
            not isinstance(nodata, int | float) or isinstance(nodata, bool)
        ):
            raise ValidationError(f"option nodata={nodata!r} must be a number or null")
        if _is_points(truth):
            if not _is_points(predictions):
                raise ValidationError(
                    f"{predictions.display}: expected one CSV file id,value "
                    "(the ground truth is a points CSV)"
                )
            return _evaluate_points(predictions, truth, nodata)
        if _is_points(predictions):
            raise ValidationError(
                f"{predictions.display}: expected a ZIP/folder of <id>.tif rasters "
                "(the ground truth is rasters), found a CSV"
            )
        return _evaluate_rasters(predictions, truth, nodata)
