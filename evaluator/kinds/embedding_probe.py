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

Multi-label truth (e.g. BigEarthNet): a label cell lists the sample's labels
separated by ``|`` (``Coniferous forest|Pastures``; whitespace around each label
is stripped; spaces belong to the label names, so they never separate labels).
Option ``multilabel``: ``"auto"`` (default) = multi-label when any cell of
train.csv or test.csv contains ``|``; ``true`` = always (one label per row is
allowed); ``false`` = never (cells are taken verbatim as single class names).
The classes are the sorted labels occurring in train.csv. Then:

- kNN probe: the same ``knn_k`` cosine neighbours (sklearn ``NearestNeighbors(
  metric="cosine", algorithm="brute")``; at the k-th place equal distances are
  resolved by sklearn's ``argpartition``); the score of a class = the fraction
  of the k neighbours carrying it (so scores tie often; the order of the
  neighbours does not matter).
- linear probe: ``make_pipeline(StandardScaler(), OneVsRestClassifier(
  LogisticRegression(max_iter=1000, random_state=seed)))``, scores =
  ``predict_proba`` (a class carried by every train sample scores 1, sklearn's
  constant predictor).
- ``knn_map`` (the result's ``primary``) / ``linear_map``: macro mAP = mean over
  the classes with >= 1 positive in the scored test subset of sklearn
  ``average_precision_score`` (ties enter together; evaluator/kinds/multilabel.py).
  ``knn_micro_map`` / ``linear_micro_map``: AP of the flattened (sample, class)
  pairs. ``per_class``: ``{class: {"knn_ap", "linear_ap"}}`` (None without a
  positive). ``knn_oa`` / ``linear_oa`` are None.

``compute(index)`` uses only stored per-test-sample values of the two probes
fitted once on all train ids (single-label: correctness flags; multi-label:
label and score vectors, AP recomputed on the chosen subset), so the
public/private split and bootstrap act on test samples only.

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

Options: ``knn_k`` (5), ``seed`` (0), ``multilabel`` (``"auto"``).
"""

from __future__ import annotations

import warnings
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from evaluator.errors import ValidationError
from evaluator.formats.embeddings import read_embeddings
from evaluator.io import Source, iter_csv, preview
from evaluator.kinds.base import Evaluation, Kind
from evaluator.kinds.classification import read_label_table
from evaluator.kinds.multilabel import MultilabelStats
from evaluator.registry import register

LABEL_SEP = "|"  # separates the labels of a multi-label truth cell


def _truth_file(truth: Source, stem: str) -> str:
    found = [f for f in truth.files() if PurePosixPath(f).name.lower() == f"{stem}.csv"]
    if len(found) != 1:
        raise ValidationError(
            f"{truth.display}: expected exactly one {stem}.csv, found {len(found)}"
        )
    return found[0]


def _truth_table(truth: Source, stem: str) -> tuple[list[str], list[str], dict]:
    return read_label_table(truth, None, role="truth", name=_truth_file(truth, stem))


def _data_line(truth: Source, name: str, row: int) -> int:
    """Line number of data row ``row`` (only on the error path: blank lines skip)."""
    _, rows = iter_csv(truth, name)
    for i, (lineno, _) in enumerate(rows):
        if i == row:
            return lineno
    return row + 2  # pragma: no cover - the row was read before


def _label_problem(parts: list[str]) -> str | None:
    if not all(parts):
        return "an empty label"
    if len(set(parts)) != len(parts):
        return "a repeated label"
    return None


def _label_sets(
    truth: Source, stem: str, ids: list[str], cells: list[str]
) -> list[list[str]]:
    """Split multi-label cells; an empty or repeated label is an error.

    Messages name file, line and id but never the hidden label values.
    """
    out: list[list[str]] = []
    for i, cell in enumerate(cells):
        parts = [p.strip() for p in cell.split(LABEL_SEP)]
        problem = _label_problem(parts)
        if problem:
            name = _truth_file(truth, stem)
            raise ValidationError(
                f"{truth.where(name)} line {_data_line(truth, name, i)}: id "
                f"{ids[i]!r} has {problem} in its {LABEL_SEP!r}-separated label list"
            )
        out.append(parts)
    return out


def _indicator(sets: list[list[str]], col: dict[str, int]) -> np.ndarray:
    """Bool matrix samples × classes; every label must be in ``col``."""
    rows = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
    cols = np.array([col[lab] for s in sets for lab in s], dtype=np.int64)
    y = np.zeros((len(sets), len(col)), dtype=bool)
    y[rows, cols] = True
    return y


def _multilabel_truth(
    truth: Source,
    tr: tuple[list[str], list[str]],
    te: tuple[list[str], list[str]],
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Classes (sorted train labels) and train/test indicator matrices.

    ``tr`` and ``te`` are (ids, label cells) of train.csv and test.csv.
    """
    tr_sets = _label_sets(truth, "train", *tr)
    te_ids, te_cells = te
    te_sets = _label_sets(truth, "test", te_ids, te_cells)
    classes = sorted({lab for s in tr_sets for lab in s})
    col = {c: i for i, c in enumerate(classes)}
    for i, s in enumerate(te_sets):
        if any(lab not in col for lab in s):
            # The probes are fitted on train labels: an unseen class has no
            # train positive and cannot be probed. Host data error.
            name = _truth_file(truth, "test")
            raise ValidationError(
                f"{truth.where(name)} line {_data_line(truth, name, i)}: id "
                f"{te_ids[i]!r} has a label that occurs in no row of train.csv"
            )
    return classes, _indicator(tr_sets, col), _indicator(te_sets, col)


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


def fit_multilabel_probes(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    *,
    knn_k: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Class scores (test × classes) of the kNN and the one-vs-rest linear probe.

    ``y_train`` is a bool indicator matrix (train × classes).
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.neighbors import NearestNeighbors
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    nn = NearestNeighbors(n_neighbors=knn_k, metric="cosine", algorithm="brute")
    idx = nn.fit(x_train).kneighbors(x_test, return_distance=False)
    # Fraction of the k neighbours carrying each label (uniform weights).
    knn_scores = y_train[idx].mean(axis=1, dtype=np.float64)
    linear = make_pipeline(
        StandardScaler(),
        OneVsRestClassifier(LogisticRegression(max_iter=1000, random_state=seed)),
    )
    with warnings.catch_warnings(record=True) as caught:
        # also swallows sklearn's "label present in all training examples"
        warnings.simplefilter("always", ConvergenceWarning)
        lin_scores = linear.fit(x_train, y_train.astype(np.int64)).predict_proba(x_test)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return knn_scores, np.asarray(lin_scores, dtype=np.float64), converged


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


class MultilabelProbeEvaluation(Evaluation):
    """Stored test label vectors and both probes' score vectors; AP per subset."""

    def __init__(self, ids, y, knn_scores, lin_scores, classes, info, blocks):
        self.sample_ids = ids
        self.y = y
        self.classes = classes
        self.info = info
        self.blocks = blocks
        # threshold unused: only the AP parts of the stats are reported
        self.knn = MultilabelStats(y, knn_scores, 0.5)
        self.lin = MultilabelStats(y, lin_scores, 0.5)

    def compute(self, index: np.ndarray | None = None) -> dict[str, Any]:
        n = len(self.sample_ids)
        if index is None:
            w = np.ones(n)
        else:  # a subset or resample = a multiplicity per test sample
            w = np.bincount(np.asarray(index, dtype=np.int64), minlength=n)
            w = w.astype(np.float64)
        k = self.knn.metrics(w, self.classes)
        lin = self.lin.metrics(w, self.classes)
        return {
            "knn_map": k["macro_map"],
            "linear_map": lin["macro_map"],
            "knn_micro_map": k["micro_map"],
            "linear_micro_map": lin["micro_map"],
            "knn_oa": None,
            "linear_oa": None,
            "per_class": {
                c: {"knn_ap": k["per_class"][c], "linear_ap": lin["per_class"][c]}
                for c in self.classes
            },
            "n_samples": k["n_samples"],
            "n_classes": len(self.classes),
            "n_classes_scored": k["n_classes_scored"],
            **self.info,
            "primary": "knn_map",
        }

    def samples(self) -> dict[str, list]:
        return {"n_true": self.y.sum(axis=1).tolist()}


def _multilabel_option(value: Any) -> bool | None:
    """None for auto-detection, else the forced mode."""
    if isinstance(value, str) and value.lower() in ("auto", "true", "false"):
        return {"auto": None, "true": True, "false": False}[value.lower()]
    if isinstance(value, bool):
        return value
    raise ValidationError(
        f'option multilabel must be "auto", true or false, got {value!r}'
    )


def _int_option(options: dict[str, Any], key: str, low: int) -> int:
    v = options[key]
    if isinstance(v, bool) or not isinstance(v, int) or v < low:
        raise ValidationError(f"option {key} must be an integer >= {low}, got {v!r}")
    return v


@register
class EmbeddingProbe(Kind):
    """Frozen-embedding evaluation: kNN and linear-probe OA fitted by the platform."""

    name = "embedding-probe"
    options = {"knn_k": 5, "seed": 0, "multilabel": "auto"}
    metrics = {
        "knn_oa": "max",
        "linear_oa": "max",
        "knn_map": "max",
        "linear_map": "max",
        "knn_micro_map": "max",
        "linear_micro_map": "max",
    }
    primary = "knn_oa"
    prediction_bytes_per_sample = 1 << 20  # train and test embeddings, D <= 16,384 float32
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
        multi = _multilabel_option(options["multilabel"])
        if multi is None:
            multi = any(LABEL_SEP in lab for lab in (*tr_labels, *te_labels))
        if multi:
            classes, y_train, y_test = _multilabel_truth(
                truth, (tr_ids, tr_labels), (te_ids, te_labels)
            )
            n_classes = len(classes)
        else:
            n_classes = len(set(tr_labels))
        if n_classes < 2:
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
        info = {
            "n_train": len(tr_ids),
            "dim": int(emb.shape[1]),
            "knn_k": knn_k,
            "seed": seed,
            "knn_metric": "cosine",
            "multilabel": multi,
        }
        if multi:
            knn_s, lin_s, converged = fit_multilabel_probes(
                emb[tr_pos], y_train, emb[te_pos], knn_k=knn_k, seed=seed
            )
            info |= {"linear_converged": converged, "label_sep": LABEL_SEP}
            return MultilabelProbeEvaluation(
                te_ids, y_test, knn_s, lin_s, classes, info, te_extra.get("block")
            )
        y_train = np.asarray(tr_labels)
        knn_pred, lin_pred, converged = fit_probes(
            emb[tr_pos], y_train, emb[te_pos], knn_k=knn_k, seed=seed
        )
        y_test = np.asarray(te_labels)
        info["linear_converged"] = converged
        return EmbeddingProbeEvaluation(
            te_ids, knn_pred == y_test, lin_pred == y_test, info, te_extra.get("block")
        )
