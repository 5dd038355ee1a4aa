"""geo-localization: cross-view retrieval of the one true aerial match (CVUSA-style).

Definition (METRICS.md): each query (ground image) has exactly one true gallery
item (aerial image). Its **rank** is the number of gallery items whose similarity
is *strictly greater* than the true item's (0 = first). A query is a hit at K if
``rank < K``.

- ``r_at_<k>`` for K in option ``k`` (default 1, 5, 10): share of queries that hit.
- ``r_at_1pct``: the same with K = max(1, floor(G / 100)), G = gallery size
  (number of similarity columns); the K used is reported as ``k_1pct``.

Ties are **optimistic**: gallery items with a similarity *equal* to the true one
do not count against it (so a constant similarity matrix gives R@1 = 1). This is
the rule of the common CVUSA/CVACT evaluation code (SAFA, CVM-Net:
``prediction = sum(dist[:, i] < dist[i, i])``, with distances), and it differs from
the ``retrieval`` kind, which breaks ties pessimistically. Note that SAFA's code
uses K = floor(G / 100) + 1 for R@1%; METRICS.md fixes floor(G / 100). Reported as
``"ties": "optimistic"``.

Formats
-------
Predictions: a ZIP or folder holding ``similarity.npy`` (a 2-D array, queries x
gallery, real numeric dtype; higher = more similar; C or Fortran order),
``query_ids.txt`` and ``gallery_ids.txt`` (one id per line, in the row / column
order of the matrix). Truth: CSV ``query_id,gallery_id`` (the true match of each
test query). Every gallery id of the truth must be a column; every test query must
be a row (unless option ``partial``: a missing query is a miss); rows for queries
outside the test set are an error.

Memory: the matrix is streamed in row chunks (``evaluator.ranking``); a 10k x 50k
float32 matrix is never loaded whole. NaN or infinite similarities are errors.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from evaluator.errors import ValidationError
from evaluator.ids import read_id_list, unique_id_rows
from evaluator.io import Source, iter_csv, preview
from evaluator.kinds.base import Evaluation, Kind
from evaluator.ranking import iter_npy_row_chunks, iter_row_chunks, true_ranks
from evaluator.registry import register

#: Rank stored for a query with no prediction (partial submissions): never a hit.
MISSING_RANK = np.iinfo(np.int64).max


def member(source: Source, basename: str) -> str:
    """The one member called ``basename`` (in any folder of the source)."""
    found = [f for f in source.files() if PurePosixPath(f).name.lower() == basename]
    if len(found) == 1:
        return found[0]
    if not found:
        raise ValidationError(
            f"{source.display}: expected a file named {basename!r}, found none "
            f"(files: {preview(source.files())})"
        )
    raise ValidationError(
        f"{source.display}: expected one file named {basename!r}, found "
        f"{len(found)} ({preview(found)})"
    )


def read_truth_pairs(source: Source) -> tuple[list[str], list[str]]:
    """``query_id,gallery_id`` rows of the truth CSV (one row per query)."""
    name = source.single((".csv",))
    where = source.where(name)
    _, rows = iter_csv(source, name, header=["query_id", "gallery_id"])
    queries: list[str] = []
    gallery: list[str] = []
    for lineno, qid, (_, gid) in unique_id_rows(rows, where, noun="query_id"):
        if not gid:
            raise ValidationError(f"{where} line {lineno}: empty gallery_id")
        queries.append(qid)
        gallery.append(gid)
    if not queries:
        raise ValidationError(f"{where}: no data rows")
    return queries, gallery


class SimilarityMatrix:
    """Header of ``similarity.npy`` plus a way to stream its rows."""

    def __init__(self, source: Source, name: str):
        self.source = source
        self.name = name
        self.where = source.where(name)
        with source.open(name) as fh:
            self.shape, self.fortran, self.dtype = self._header(fh)
        if len(self.shape) != 2:
            raise ValidationError(
                f"{self.where}: expected a 2-D array (queries x gallery), found "
                f"{len(self.shape)}-D shape {self.shape}"
            )
        if self.dtype.kind not in "fiu" or self.dtype.fields is not None:
            raise ValidationError(
                f"{self.where}: dtype {self.dtype} is not a real numeric type "
                "(expected float32/float64 or an integer type)"
            )

    def _header(self, fh) -> tuple[tuple[int, ...], bool, np.dtype]:
        fmt = np.lib.format
        try:
            version = fmt.read_magic(fh)
            if version == (1, 0):
                return fmt.read_array_header_1_0(fh)
            if version == (2, 0):
                return fmt.read_array_header_2_0(fh)
        except (ValueError, OSError, EOFError) as exc:
            raise ValidationError(
                f"{self.where}: not a valid NPY file ({exc})"
            ) from None
        raise ValidationError(f"{self.where}: unsupported NPY format version {version}")

    def row_chunks(self, query_ids: list[str]) -> Iterator[np.ndarray]:
        """Row chunks, each checked for NaN/inf (the error names the query)."""
        start = 0
        for chunk in self._raw_chunks():
            if chunk.dtype.kind == "f":
                bad = ~np.isfinite(chunk)
                if bad.any():
                    r, c = np.argwhere(bad)[0]
                    row = start + int(r)
                    raise ValidationError(
                        f"{self.where}: similarity {chunk[r, c]} (row {row}, column "
                        f"{int(c)}) for query {query_ids[row]!r} is not a finite number"
                    )
            start += chunk.shape[0]
            yield chunk

    def _raw_chunks(self) -> Iterator[np.ndarray]:
        if not self.fortran:
            with self.source.open(self.name) as fh:
                self._header(fh)
                try:
                    yield from iter_npy_row_chunks(fh, self.shape, self.dtype)
                except EOFError as exc:
                    raise ValidationError(
                        f"{self.where}: truncated file ({exc})"
                    ) from None
            return
        # Fortran order stores columns contiguously: rows are strided, so spill
        # to disk once and let a memmap gather them (memory stays bounded).
        with tempfile.TemporaryDirectory(prefix="earthbench-sim-") as tmp:
            path = Path(tmp) / "similarity.npy"
            with self.source.open(self.name) as src, open(path, "wb") as dst:
                shutil.copyfileobj(src, dst, 16 * 1024 * 1024)
            try:
                mm = np.load(path, mmap_mode="r", allow_pickle=False)
            except ValueError as exc:
                raise ValidationError(f"{self.where}: truncated file ({exc})") from None
            yield from iter_row_chunks(mm)
            del mm


class GeoLocalizationEvaluation(Evaluation):
    def __init__(
        self, ids: list[str], ranks: np.ndarray, n_gallery: int, ks: list[int]
    ):
        self.sample_ids = ids
        self.ranks = ranks
        self.n_gallery = n_gallery
        self.ks = ks

    def compute(self, index: np.ndarray | None = None) -> dict[str, Any]:
        r = self.ranks if index is None else self.ranks[index]
        if len(r) == 0:
            raise ValidationError("no samples to score")
        k_1pct = max(1, self.n_gallery // 100)
        out: dict[str, Any] = {f"r_at_{k}": float(np.mean(r < k)) for k in self.ks}
        out["r_at_1pct"] = float(np.mean(r < k_1pct))
        out.update(
            k_1pct=k_1pct,
            n_gallery=self.n_gallery,
            ties="optimistic",
            n_samples=int(len(r)),
            primary="r_at_1" if 1 in self.ks else f"r_at_{self.ks[0]}",
        )
        return out

    def samples(self) -> dict[str, list]:
        return {"rank": [None if x == MISSING_RANK else int(x) for x in self.ranks]}


def parse_ks(value: Any) -> list[int]:
    vals = value if isinstance(value, list | tuple) else [value]
    if not vals or not all(
        isinstance(k, int) and not isinstance(k, bool) for k in vals
    ):
        raise ValidationError(
            f"option k must be a list of positive integers, got {value!r}"
        )
    if min(vals) < 1:
        raise ValidationError(
            f"option k must be a list of positive integers, got {value!r}"
        )
    return sorted(set(vals))


@register
class GeoLocalization(Kind):
    """Cross-view geo-localization: R@1/5/10 and R@1% of the true aerial match."""

    name = "geo-localization"
    options = {"k": [1, 5, 10], "partial": False}
    metrics = {"r_at_1": "max", "r_at_5": "max", "r_at_10": "max", "r_at_1pct": "max"}
    primary = "r_at_1"
    prediction_bytes_per_sample = 1 << 20  # one similarity row over a gallery of up to 256k
    formats = [
        "ZIP/folder: similarity.npy (queries x gallery) + query_ids.txt + gallery_ids.txt"
    ]

    def evaluate(self, predictions: Source, truth: Source, options: dict[str, Any]):
        ks = parse_ks(options["k"])
        t_queries, t_gallery = read_truth_pairs(truth)
        q_name = member(predictions, "query_ids.txt")
        g_name = member(predictions, "gallery_ids.txt")
        q_ids = read_id_list(predictions, q_name)
        g_ids = read_id_list(predictions, g_name)
        sim = SimilarityMatrix(predictions, member(predictions, "similarity.npy"))
        if sim.shape != (len(q_ids), len(g_ids)):
            raise ValidationError(
                f"{sim.where}: shape {sim.shape[0]}x{sim.shape[1]} does not match "
                f"{len(q_ids)} query ids x {len(g_ids)} gallery ids"
            )
        truth_of = dict(zip(t_queries, t_gallery, strict=True))
        extra = [q for q in q_ids if q not in truth_of]
        if extra:
            raise ValidationError(
                f"{predictions.where(q_name)}: {len(extra)} query id(s) not in the "
                f"test set: {preview(extra)}"
            )
        col = {g: i for i, g in enumerate(g_ids)}
        absent = sorted({g for g in t_gallery if g not in col})
        if absent:
            raise ValidationError(
                f"{predictions.where(g_name)}: {len(absent)} gallery id(s) of the test "
                f"set are missing: {preview(absent)}"
            )
        pos = {q: i for i, q in enumerate(q_ids)}
        missing = [q for q in t_queries if q not in pos]
        if missing and not options["partial"]:
            raise ValidationError(
                f"{predictions.where(q_name)}: {len(missing)} test query id(s) "
                f"missing: {preview(missing)}"
            )
        row_ranks = true_ranks(
            sim.row_chunks(q_ids), np.array([col[truth_of[q]] for q in q_ids])
        )
        ranks = np.array(
            [row_ranks[pos[q]] if q in pos else MISSING_RANK for q in t_queries],
            dtype=np.int64,
        )
        return GeoLocalizationEvaluation(t_queries, ranks, len(g_ids), ks)
