"""retrieval: image<->text recall (R@K, mR) and graded nDCG@k, with bounded memory.

Two settings, chosen by the truth format:

**Image-text pairs** (truth: JSON object ``{caption_id: image_id}``, several captions
per image). Predictions: a folder or ZIP with ``similarity.npy`` (float, rows =
images, columns = captions), ``image_ids.txt`` and ``caption_ids.txt`` (one id per
line, in row / column order; both must equal the truth's images / captions).

- image->text: an image's rank = number of *wrong* captions with similarity >= its
  best true caption's; hit at K if rank < K.
- text->image: a caption's rank = number of wrong images with similarity >= its
  true image's; hit at K if rank < K. (Ties pessimistic: a tie with a wrong item
  ranks above.)
- Keys ``i2t_r_at_K``, ``t2i_r_at_K`` for K in option ``k`` (default 1, 5, 10);
  ``mr`` = mean of these recalls (primary). Option ``direction`` = ``both`` |
  ``i2t`` | ``t2i``.
- Samples are images (with their captions): a subset or resample selects queries;
  the gallery is always the full submitted matrix, as in the standard protocol.

**Graded relevance** (truth: TREC qrels ``qid 0 docid rel``). Predictions: a TREC run
``qid Q0 docid rank score tag`` (rank column ignored, as trec_eval does) or a
folder/ZIP with ``similarity.npy`` + ``query_ids.txt`` + ``gallery_ids.txt``.

- ``ndcg_at_{ndcg_k}`` (primary): DCG = sum_i rel_i / log2(i + 1) over the top k
  (linear gains, trec_eval ``ndcg_cut`` convention), divided by the ideal DCG from
  the qrels. Ties in score are ordered pessimistically (lower relevance first).
- ``r_at_K``: share of queries with a relevant (rel > 0) document in the top K.
- Queries = qrels queries with at least one rel > 0; each must be in the run.

The matrix is read with ``np.load(mmap_mode="r")`` in row chunks (a ZIP member is
first copied to a temporary file): no full sort, ranks come from comparisons
against the true item's score, so a 10,000 x 50,000 float32 matrix needs only a
few tens of MB. NaN similarities are errors.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from evaluator.errors import ValidationError
from evaluator.formats.trec import read_pairs_truth, read_qrels, read_run
from evaluator.ids import read_id_list
from evaluator.io import Source, preview
from evaluator.kinds.base import Evaluation, Kind
from evaluator.registry import register

CHUNK_ELEMENTS = 1 << 22  # ~16 MB of float32 per row chunk


# Reading the matrix ----------------------------------------------------------------


def _member(source: Source, basename: str) -> str | None:
    found = [f for f in source.files() if PurePosixPath(f).name == basename]
    if len(found) > 1:
        raise ValidationError(
            f"{source.display}: more than one {basename} ({', '.join(found)})"
        )
    return found[0] if found else None


class MatrixFile:
    """A memory-mapped ``similarity.npy`` from a folder or ZIP (temp copy)."""

    def __init__(self, source: Source, name: str):
        self.where = source.where(name)
        self._tmp: str | None = None
        with source.open(name) as fh:
            path = getattr(fh, "name", None)
            if not isinstance(path, str) or not os.path.isfile(path):
                fd, self._tmp = tempfile.mkstemp(suffix=".npy")
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(fh, out, 1 << 20)
                path = self._tmp
        try:
            self.array = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            self.close()
            raise ValidationError(
                f"{self.where}: not a readable .npy array ({exc})"
            ) from None
        if self.array.ndim != 2 or self.array.dtype.kind not in "fiu":
            shape, dtype = self.array.shape, self.array.dtype
            self.close()  # drops self.array: name the shape before
            raise ValidationError(
                f"{self.where}: expected a 2-D numeric matrix, found shape "
                f"{shape} dtype {dtype}"
            )

    def chunks(self):
        """``(row_start, rows as an in-memory array)`` in bounded-size blocks."""
        n, m = self.array.shape
        step = max(1, CHUNK_ELEMENTS // max(m, 1))
        for r0 in range(0, n, step):
            block = np.asarray(self.array[r0 : r0 + step])
            if block.dtype.kind == "f" and np.isnan(block.max()):
                bad = np.isnan(block)
                if bad.any():
                    r, c = np.argwhere(bad)[0]
                    raise ValidationError(
                        f"{self.where}: NaN similarity at row {r0 + r}, column {c}"
                    )
            yield r0, block

    def close(self) -> None:
        self.array = None
        if self._tmp:
            os.unlink(self._tmp)
            self._tmp = None


def _open_matrix(source: Source, row_file: str, col_file: str):
    name = _member(source, "similarity.npy")
    if name is None:
        raise ValidationError(
            f"{source.display}: expected similarity.npy with {row_file} and {col_file}"
        )
    ids = []
    for f in (row_file, col_file):
        m = _member(source, f)
        if m is None:
            raise ValidationError(
                f"{source.display}: {f} is missing (needed with similarity.npy)"
            )
        ids.append(read_id_list(source, m))
    mat = MatrixFile(source, name)
    want = (len(ids[0]), len(ids[1]))
    if mat.array.shape != want:
        shape = mat.array.shape
        mat.close()
        raise ValidationError(
            f"{mat.where}: shape {shape[0]}x{shape[1]} differs from {row_file} x "
            f"{col_file} ({want[0]}x{want[1]})"
        )
    return mat, ids[0], ids[1]


def _same_ids(found: list[str], expected: set[str], where: str, what: str) -> None:
    have = set(found)
    if have == expected:
        return  # the usual case: one set comparison (else: say which)
    extra = [x for x in found if x not in expected]
    if extra:
        raise ValidationError(
            f"{where}: {len(extra)} {what} not in the truth: {preview(extra)}"
        )
    missing = sorted(x for x in expected if x not in have)
    if missing:
        raise ValidationError(
            f"{where}: {len(missing)} {what} missing: {preview(missing)}"
        )


# Image-text pairs --------------------------------------------------------------------


def pair_ranks(mat: MatrixFile, col_img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pessimistic 0-based ranks: (per image, best true caption), (per caption).

    Counted without a per-pixel "own caption" mask: an image's best true score
    and how many of its captions reach it come from the n_cap true scores
    alone, so each block costs one comparison per direction and a count:
    i2t = #(row >= best) - #(own captions at best); t2i = #(column >= true) - 1
    (the true image itself; a NaN anywhere is refused by ``chunks``).
    """
    n_img, n_cap = mat.array.shape
    cols = np.arange(n_cap)
    true_t2i = np.asarray(mat.array[col_img, cols])  # each caption's true score
    best = np.full(n_img, _lowest(true_t2i.dtype), dtype=true_t2i.dtype)
    np.maximum.at(best, col_img, true_t2i)
    at_best = np.bincount(
        col_img, weights=(true_t2i == best[col_img]), minlength=n_img
    ).astype(np.int64)
    i2t = np.zeros(n_img, dtype=np.int64)
    t2i = np.full(n_cap, -1, dtype=np.int64)
    for r0, block in mat.chunks():
        r1 = r0 + len(block)
        i2t[r0:r1] = np.count_nonzero(block >= best[r0:r1, None], axis=1)
        t2i += np.count_nonzero(block >= true_t2i[None, :], axis=0)
    return i2t - at_best, t2i


def _lowest(dtype: np.dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


class PairEvaluation(Evaluation):
    def __init__(self, images, i2t_rank, cap_img, t2i_rank, ks, direction):
        self.sample_ids = images
        self.i2t_rank = i2t_rank
        self.ks = ks
        self.direction = direction
        n = len(images)
        self.n_caps = np.bincount(cap_img, minlength=n).astype(np.float64)
        self.t2i_hits = {
            k: np.bincount(cap_img, weights=(t2i_rank < k).astype(float), minlength=n)
            for k in ks
        }
        self.t2i_rank = t2i_rank
        self.cap_img = cap_img

    def compute(self, index: np.ndarray | None = None) -> dict[str, Any]:
        idx = np.arange(len(self.sample_ids)) if index is None else np.asarray(index)
        if len(idx) == 0:
            raise ValidationError("no samples to score")
        out: dict[str, Any] = {}
        recalls = []
        for k in self.ks:
            if self.direction in ("both", "i2t"):
                out[f"i2t_r_at_{k}"] = float((self.i2t_rank[idx] < k).mean())
                recalls.append(out[f"i2t_r_at_{k}"])
        for k in self.ks:
            if self.direction in ("both", "t2i"):
                hits = self.t2i_hits[k][idx].sum() / self.n_caps[idx].sum()
                out[f"t2i_r_at_{k}"] = float(hits)
                recalls.append(out[f"t2i_r_at_{k}"])
        out["mr"] = float(np.mean(recalls))
        out.update(primary="mr", direction=self.direction, ties="pessimistic")
        out["n_samples"] = int(len(idx))
        return out

    def samples(self) -> dict[str, list]:
        ranks: list[list[int]] = [[] for _ in self.sample_ids]
        for c, img in enumerate(self.cap_img):
            ranks[img].append(int(self.t2i_rank[c]))
        return {"i2t_rank": self.i2t_rank.tolist(), "t2i_ranks": ranks}


# Graded relevance --------------------------------------------------------------------


def ndcg_from_list(
    scores: np.ndarray, rels: np.ndarray, ideal: np.ndarray, k: int
) -> float:
    """nDCG@k of one ranked list (pessimistic ties), ideal gains sorted descending."""
    order = np.lexsort((rels, -scores))[:k]  # score desc, then lower relevance first
    gains = np.maximum(rels[order], 0.0)
    disc = 1.0 / np.log2(np.arange(2, len(order) + 2))
    idcg = float(
        (ideal[:k] * (1.0 / np.log2(np.arange(2, min(k, len(ideal)) + 2)))).sum()
    )
    return float((gains * disc).sum() / idcg) if idcg > 0 else 0.0


def best_relevant_rank(scores: np.ndarray, rels: np.ndarray) -> float:
    """Wrong items scoring >= the best relevant item (inf if none retrieved)."""
    pos = rels > 0
    if not pos.any():
        return np.inf
    best = scores[pos].max()
    return float(((scores >= best) & ~pos).sum())


class GradedEvaluation(Evaluation):
    def __init__(self, qids, ndcg, best_rank, ks, ndcg_k, fmt):
        self.sample_ids = qids
        self.ndcg = ndcg
        self.best_rank = best_rank
        self.ks = ks
        self.ndcg_k = ndcg_k
        self.fmt = fmt

    def compute(self, index: np.ndarray | None = None) -> dict[str, Any]:
        idx = np.arange(len(self.sample_ids)) if index is None else np.asarray(index)
        if len(idx) == 0:
            raise ValidationError("no samples to score")
        key = f"ndcg_at_{self.ndcg_k}"
        out: dict[str, Any] = {key: float(self.ndcg[idx].mean())}
        for k in self.ks:
            out[f"r_at_{k}"] = float((self.best_rank[idx] < k).mean())
        out.update(
            primary=key, gain="linear", ties="pessimistic", predictions_format=self.fmt
        )
        out["n_samples"] = int(len(idx))
        return out

    def samples(self) -> dict[str, list]:
        return {"ndcg": self.ndcg.tolist()}


def _graded_from_run(run, qrels, qids, k):
    extra = [q for q in run if q not in qrels]
    if extra:
        raise ValidationError(
            f"run: {len(extra)} query id(s) not in the truth: {preview(extra)}"
        )
    missing = [q for q in qids if q not in run]
    if missing:
        raise ValidationError(
            f"run: {len(missing)} query id(s) missing: {preview(missing)}"
        )
    ndcg, best = [], []
    for q in qids:
        docs = run[q]
        scores = np.fromiter(docs.values(), dtype=np.float64, count=len(docs))
        rels = np.array([qrels[q].get(d, 0.0) for d in docs], dtype=np.float64)
        ideal = np.sort(np.maximum(list(qrels[q].values()), 0.0))[::-1]
        ndcg.append(ndcg_from_list(scores, rels, ideal, k))
        best.append(best_relevant_rank(scores, rels))
    return np.array(ndcg), np.array(best)


def _graded_from_matrix(mat, rows, cols, qrels, qids, k):
    extra = [q for q in rows if q not in qrels]
    if extra:
        raise ValidationError(
            f"query_ids.txt: {len(extra)} query id(s) not in the truth: {preview(extra)}"
        )
    missing = [q for q in qids if q not in set(rows)]
    if missing:
        raise ValidationError(
            f"query_ids.txt: {len(missing)} query id(s) missing: {preview(missing)}"
        )
    col_pos = {d: j for j, d in enumerate(cols)}
    row_pos = {q: i for i, q in enumerate(rows)}
    ndcg = np.zeros(len(rows))
    best = np.full(len(rows), np.inf)
    for r0, block in mat.chunks():
        kk = min(k, block.shape[1])
        kth = -np.partition(-block, kk - 1, axis=1)[:, kk - 1]
        for i in range(len(block)):
            q = rows[r0 + i]
            rel_cols = [(col_pos[d], r) for d, r in qrels[q].items() if d in col_pos]
            rels_full = np.zeros(block.shape[1])
            if rel_cols:
                c, r = np.array(rel_cols).T
                rels_full[c.astype(np.int64)] = r
            cand = np.flatnonzero(block[i] >= kth[i])
            ideal = np.sort(np.maximum(list(qrels[q].values()), 0.0))[::-1]
            ndcg[r0 + i] = ndcg_from_list(
                block[i, cand].astype(np.float64), rels_full[cand], ideal, k
            )
            best[r0 + i] = best_relevant_rank(block[i], rels_full)
    order = np.array([row_pos[q] for q in qids])
    return ndcg[order], best[order]


# The kind ----------------------------------------------------------------------------


@register
class Retrieval(Kind):
    """Image<->text retrieval R@K / mR, or graded nDCG@k from TREC qrels."""

    name = "retrieval"
    options = {"k": [1, 5, 10], "ndcg_k": 10, "direction": "both"}
    metrics = {"mr": "max", "ndcg_at_10": "max"} | {
        f"{d}_r_at_{k}": "max" for d in ("i2t", "t2i") for k in (1, 5, 10)
    }
    primary = "mr"
    prediction_bytes_per_sample = 1 << 20  # one similarity row or 1,000 run lines per query
    formats = [
        "folder/ZIP: similarity.npy + image_ids.txt + caption_ids.txt",
        "TREC run 'qid Q0 docid rank score tag' (graded truth)",
    ]

    def evaluate(self, predictions: Source, truth: Source, options: dict[str, Any]):
        ks = options["k"]
        if (
            not isinstance(ks, list)
            or not ks
            or not all(isinstance(x, int) and x > 0 for x in ks)
        ):
            raise ValidationError(
                f"option k={ks!r} must be a list of positive integers"
            )
        if options["direction"] not in ("both", "i2t", "t2i"):
            raise ValidationError(
                f"option direction={options['direction']!r} must be both, i2t or t2i"
            )
        nk = options["ndcg_k"]
        if not isinstance(nk, int) or nk <= 0:
            raise ValidationError(f"option ndcg_k={nk!r} must be a positive integer")
        tname = truth.single((".json", ".txt", ".qrels", ".tsv"))
        if tname.lower().endswith(".json"):
            return self._pairs(predictions, read_pairs_truth(truth, tname), ks, options)
        qrels = read_qrels(truth, tname)
        return self._graded(predictions, qrels, ks, nk)

    def _pairs(self, predictions, cap2img, ks, options):
        if _member(predictions, "similarity.npy") is None:
            raise ValidationError(
                f"{predictions.display}: image-text truth needs a folder/ZIP with "
                "similarity.npy, image_ids.txt and caption_ids.txt"
            )
        mat, img_ids, cap_ids = _open_matrix(
            predictions, "image_ids.txt", "caption_ids.txt"
        )
        try:
            _same_ids(
                img_ids,
                set(cap2img.values()),
                predictions.where("image_ids.txt"),
                "image id(s)",
            )
            _same_ids(
                cap_ids,
                set(cap2img),
                predictions.where("caption_ids.txt"),
                "caption id(s)",
            )
            row = {s: i for i, s in enumerate(img_ids)}
            col_img = np.array([row[cap2img[c]] for c in cap_ids], dtype=np.int64)
            i2t, t2i = pair_ranks(mat, col_img)
        finally:
            mat.close()
        return PairEvaluation(img_ids, i2t, col_img, t2i, ks, options["direction"])

    def _graded(self, predictions, qrels, ks, nk):
        qids = [q for q, docs in qrels.items() if any(r > 0 for r in docs.values())]
        if not qids:
            raise ValidationError("truth: no query has a relevant document")
        if _member(predictions, "similarity.npy") is not None:
            mat, rows, cols = _open_matrix(
                predictions, "query_ids.txt", "gallery_ids.txt"
            )
            try:
                ndcg, best = _graded_from_matrix(mat, rows, cols, qrels, qids, nk)
            finally:
                mat.close()
            fmt = "matrix"
        else:
            name = predictions.single((".txt", ".run", ".tsv", ".trec"))
            ndcg, best = _graded_from_run(read_run(predictions, name), qrels, qids, nk)
            fmt = "trec_run"
        return GradedEvaluation(qids, ndcg, best, ks, nk, fmt)
