"""``retrieval.pair_ranks`` (counting against the best true score) equals the
definition computed cell by cell, with heavy ties, several captions per image
at the best score, integer matrices and row blocks of any size."""

from __future__ import annotations

import numpy as np
import pytest

from evaluator.kinds import retrieval


class _Matrix:
    def __init__(self, array):
        self.array = array
        self.where = "similarity.npy"

    def chunks(self):
        return retrieval.MatrixFile.chunks(self)


def _definition(sim, col_img):
    n_img, n_cap = sim.shape
    i2t = np.zeros(n_img, dtype=np.int64)
    t2i = np.zeros(n_cap, dtype=np.int64)
    for i in range(n_img):
        own = col_img == i
        best = sim[i, own].max()
        i2t[i] = sum(1 for c in range(n_cap) if not own[c] and sim[i, c] >= best)
    for c in range(n_cap):
        true = sim[col_img[c], c]
        t2i[c] = sum(1 for i in range(n_img) if i != col_img[c] and sim[i, c] >= true)
    return i2t, t2i


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.uint8])
@pytest.mark.parametrize("chunk", [5, 1 << 22])
def test_pair_ranks_equal_the_definition(monkeypatch, dtype, chunk):
    monkeypatch.setattr(retrieval, "CHUNK_ELEMENTS", chunk)
    rng = np.random.default_rng(chunk % 7)
    for _ in range(20):
        n_img = int(rng.integers(1, 12))
        col_img = rng.integers(0, n_img, int(rng.integers(n_img, 4 * n_img)))
        col_img[:n_img] = np.arange(n_img)  # every image has a caption
        sim = rng.integers(0, 3, (n_img, len(col_img))).astype(dtype)  # many ties
        got = retrieval.pair_ranks(_Matrix(sim), col_img)
        want = _definition(sim, col_img)
        assert (got[0] == want[0]).all() and (got[1] == want[1]).all()


def test_nan_is_refused_with_its_position():
    sim = np.ones((3, 4), dtype=np.float32)
    sim[2, 1] = np.nan
    from evaluator.errors import ValidationError

    with pytest.raises(ValidationError, match="NaN similarity at row 2, column 1"):
        retrieval.pair_ranks(_Matrix(sim), np.array([0, 1, 2, 0]))
