"""embedding-probe: participants submit a vector per image; the platform probes it.

The participant embeds every train and test image of the benchmark with a frozen
model; the platform fits two probes on the train ids and scores the test ids:

- ``knn_oa`` (primary): OA of scikit-learn
  ``KNeighborsClassifier(n_neighbors=knn_k, metric="cosine", algorithm="brute")``
  (uniform votes). Tie-breaking, as sklearn does it: neighbours at equal distance
  are ordered by sklearn's brute-force ``argpartition``/``argsort`` of the
  distance row; a tied vote goes to the class that sorts first among the train
  labels (``np.argmax`` over ``classes_``, which sklearn sorts). With cosine
  distance a zero vector is at distance 1 from everything.
- ``linear_oa``: OA of ``make_pipeline(StandardScaler(), LogisticRegression(
  max_iter=1000, random_state=seed))`` (lbfgs, multinomial, C = 1).
  ``linear_converged`` says whether lbfgs converged within 1000 iterations.
- Embeddings are cast to float64 before fitting, so results do not depend on
  the dtype the participant saved.
- Multi-label probes (mAP) are not implemented: labels are single class names;
  a multi-label benchmark must use the ``multilabel`` kind with predicted scores.

``compute(index)`` averages the stored per-test-sample correctness flags of the
two fitted probes over the chosen test samples (the probes are fitted once, on
all train ids; the public/private split and bootstrap act on test samples only).

Formats:

- predictions: an NPZ (``np.savez``; or a ZIP/folder holding exactly one) with
  ``ids`` (1-D string array, ``dtype=str``; object arrays are refused because
  pickles are never loaded) and ``embeddings`` (2-D floating array, N × D,
  float32 recommended, aligned with ``ids``). It must cover every train and
  test id exactly once and nothing else. Caps: D <= 16384, N × D <= 2e8.
- truth (host side): a folder or ZIP with ``train.csv`` and ``test.csv``, each
  ``id,label`` (extra columns: ``split`` ignored, ``block`` used for the blocked
  bootstrap of ``test.csv``). Both label files stay hidden from participants;
  they receive only the id lists.

Options: ``knn_k`` (5), ``seed`` (0).
"""

from __future__ import annotations

import io
import warnings
import zipfile
from pathlib import PurePosixPath
from typing import IO, Any

import numpy as np

from evaluator.errors import ValidationError
from evaluator.io import Source, preview
from evaluator.kinds.base import Evaluation, Kind
from evaluator.kinds.classification import read_label_table
from evaluator.registry import register

MAX_DIM = 16_384
MAX_VALUES = 200_000_000  # N × D


def _npy_header(fh: IO[bytes], where: str) -> tuple[tuple[int, ...], np.dtype]:
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
    except (ValueError, OSError, SyntaxError) as exc:
        raise ValidationError(f"{where}: not a valid .npy array ({exc})") from None
    return shape, dtype


def _open_npz(source: Source) -> tuple[zipfile.ZipFile, str]:
    name = source.single((".npz",))
    where = source.where(name)
    fh = source.open(name)
    if not fh.seekable():  # a member of an uploaded ZIP
        fh = io.BytesIO(fh.read())
    try:
        return zipfile.ZipFile(fh), where
    except zipfile.BadZipFile:
        raise ValidationError(f"{where}: not a valid NPZ (numpy zip) file") from None


def _check_headers(npz: zipfile.ZipFile, where: str) -> None:
    """Validate names, dtypes, shapes and size caps before loading any data."""
    members = {PurePosixPath(n).name: n for n in npz.namelist()}
    info: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    for key in ("ids", "embeddings"):
        if f"{key}.npy" not in members:
            raise ValidationError(
                f"{where}: array {key!r} missing (found {sorted(members)}); "
                "save with np.savez(path, ids=..., embeddings=...)"
            )
        with npz.open(members[f"{key}.npy"]) as fh:
            info[key] = _npy_header(fh, f"{where}:{key}")
    (ids_shape, ids_dtype), (emb_shape, emb_dtype) = info["ids"], info["embeddings"]
    if ids_dtype.kind not in "US" or len(ids_shape) != 1:
        raise ValidationError(
            f"{where}: 'ids' must be a 1-D string array (dtype=str), found "
            f"{ids_dtype} with shape {ids_shape}"
        )
    if emb_dtype.kind != "f" or len(emb_shape) != 2:
        raise ValidationError(
            f"{where}: 'embeddings' must be a 2-D float array (N x D, float32), "
            f"found {emb_dtype} with shape {emb_shape}"
        )
    n, d = emb_shape
    if n != ids_shape[0]:
        raise ValidationError(
            f"{where}: 'embeddings' has {n} rows but 'ids' has {ids_shape[0]} entries"
        )
    if d == 0 or d > MAX_DIM:
        raise ValidationError(f"{where}: embedding dimension {d} not in 1..{MAX_DIM}")
    if n * d > MAX_VALUES:
        raise ValidationError(
            f"{where}: {n} x {d} = {n * d} values exceed the limit of {MAX_VALUES:.0e}"
        )


def read_embeddings(source: Source) -> tuple[list[str], np.ndarray, str]:
    """Ids and float64 embeddings from the submitted NPZ, fully validated."""
    npz, where = _open_npz(source)
    with npz:
        _check_headers(npz, where)
        members = {PurePosixPath(n).name: n for n in npz.namelist()}
        try:
            with npz.open(members["ids.npy"]) as fh:
                ids_arr = np.lib.format.read_array(fh, allow_pickle=False)
            with npz.open(members["embeddings.npy"]) as fh:
                emb = np.lib.format.read_array(fh, allow_pickle=False)
        except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
            raise ValidationError(f"{where}: cannot read the arrays ({exc})") from None
    if ids_arr.dtype.kind == "S":
        try:
            ids = [b.decode("utf-8") for b in ids_arr.tolist()]
        except UnicodeDecodeError:
            raise ValidationError(f"{where}: 'ids' are not valid UTF-8") from None
    else:
        ids = [str(x) for x in ids_arr.tolist()]
    bad = ~np.isfinite(emb).all(axis=1)
    if bad.any():
        first = [ids[i] for i in np.flatnonzero(bad)]
        raise ValidationError(
            f"{where}: {len(first)} embedding(s) contain NaN or infinity, e.g. id "
            f"{preview(first, 3)}"
        )
    seen: set[str] = set()
    dups = [x for x in ids if x in seen or seen.add(x)]
    if dups:
        raise ValidationError(f"{where}: duplicate id(s) in 'ids': {preview(dups)}")
    return ids, emb.astype(np.float64), where


def _truth_table(truth: Source, stem: str) -> tuple[list[str], list[str], dict]:
    found = [f for f in truth.files() if PurePosixPath(f).name.lower() == f"{stem}.csv"]
    if len(found) != 1:
        raise ValidationError(
            f"{truth.display}: expected exactly one {stem}.csv, found {len(found)}"
        )
    return read_label_table(truth, None, role="truth", name=found[0])


def _positions(
    wanted: list[str], pos: dict[str, int], where: str, split: str
) -> np.ndarray:
    missing = [sid for sid in wanted if sid not in pos]
    if missing:
        raise ValidationError(
            f"{where}: {len(missing)} {split} id(s) missing from 'ids': {preview(missing)}"
        )
    return np.array([pos[sid] for sid in wanted], dtype=np.int64)


def fit_probes(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    *,
    knn_k: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Predictions of the kNN and the linear probe on the test rows."""
    # Imported here: sklearn takes seconds to import and every CLI call of any
    # kind loads this module through the registry.
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    knn = KNeighborsClassifier(n_neighbors=knn_k, metric="cosine", algorithm="brute")
    knn_pred = knn.fit(x_train, y_train).predict(x_test)
    linear = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed)
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        lin_pred = linear.fit(x_train, y_train).predict(x_test)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return knn_pred, lin_pred, converged


class EmbeddingProbeEvaluation(Evaluation):
    def __init__(self, ids, knn_correct, lin_correct, info, blocks):
        self.sample_ids = ids
        self.knn_correct = knn_correct
        self.lin_correct = lin_correct
        self.info = info
        self.blocks = blocks

    def compute(self, index: np.ndarray | None = None) -> dict[str, Any]:
        k = self.knn_correct if index is None else self.knn_correct[index]
        lin = self.lin_correct if index is None else self.lin_correct[index]
        if len(k) == 0:
            raise ValidationError("no samples to score")
        return {
            "knn_oa": float(k.mean()),
            "linear_oa": float(lin.mean()),
            "n_samples": int(len(k)),
            **self.info,
            "primary": "knn_oa",
        }

    def samples(self) -> dict[str, list]:
        return {
            "knn_correct": self.knn_correct.astype(int).tolist(),
            "linear_correct": self.lin_correct.astype(int).tolist(),
        }


def _int_option(options: dict[str, Any], key: str, low: int) -> int:
    v = options[key]
    if isinstance(v, bool) or not isinstance(v, int) or v < low:
        raise ValidationError(f"option {key} must be an integer >= {low}, got {v!r}")
    return v


@register
class EmbeddingProbe(Kind):
    """Frozen-embedding evaluation: kNN and linear-probe OA fitted by the platform."""

    name = "embedding-probe"
    options = {"knn_k": 5, "seed": 0}
    metrics = {"knn_oa": "max", "linear_oa": "max"}
    primary = "knn_oa"
    formats = ["NPZ with ids (str) and embeddings (float32, N x D)"]

    def evaluate(self, predictions: Source, truth: Source, options: dict[str, Any]):
        knn_k = _int_option(options, "knn_k", 1)
        seed = _int_option(options, "seed", 0)
        tr_ids, tr_labels, _ = _truth_table(truth, "train")
        te_ids, te_labels, te_extra = _truth_table(truth, "test")
        both = set(tr_ids).intersection(te_ids)
        if both:
            raise ValidationError(
                f"truth: id(s) in both train and test: {preview(both)}"
            )
        if knn_k > len(tr_ids):
            raise ValidationError(
                f"option knn_k={knn_k} exceeds the {len(tr_ids)} train samples"
            )
        if len(set(tr_labels)) < 2:
            raise ValidationError("truth: train.csv needs at least two classes")
        ids, emb, where = read_embeddings(predictions)
        pos = {sid: i for i, sid in enumerate(ids)}
        tr_pos = _positions(tr_ids, pos, where, "train")
        te_pos = _positions(te_ids, pos, where, "test")
        if len(ids) != len(tr_ids) + len(te_ids):
            known = set(tr_ids).union(te_ids)
            extra = [sid for sid in ids if sid not in known]
            raise ValidationError(
                f"{where}: {len(extra)} id(s) are neither train nor test ids: "
                f"{preview(extra)}"
            )
        y_train = np.asarray(tr_labels)
        knn_pred, lin_pred, converged = fit_probes(
            emb[tr_pos], y_train, emb[te_pos], knn_k=knn_k, seed=seed
        )
        y_test = np.asarray(te_labels)
        info = {
            "n_train": len(tr_ids),
            "dim": int(emb.shape[1]),
            "knn_k": knn_k,
            "seed": seed,
            "knn_metric": "cosine",
            "linear_converged": converged,
        }
        return EmbeddingProbeEvaluation(
            te_ids, knn_pred == y_test, lin_pred == y_test, info, te_extra.get("block")
        )
