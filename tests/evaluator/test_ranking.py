"""evaluator.ranking: rank of the true match = count of strictly greater entries."""

from __future__ import annotations

import io
import time
import tracemalloc

import numpy as np
import pytest

from evaluator import ranking
from evaluator.ranking import iter_npy_row_chunks, iter_row_chunks, true_ranks


def brute_force_ranks(sim: np.ndarray, true_index: np.ndarray) -> np.ndarray:
    out = []
    for r in range(sim.shape[0]):
        t = sim[r, true_index[r]]
        out.append(sum(1 for x in sim[r] if x > t))
    return np.array(out)


@pytest.mark.parametrize("rows", [1, 7, 1000])
def test_true_ranks_matches_brute_force_with_ties(rows):
    rng = np.random.default_rng(0)
    # Few distinct values: many ties with the true item, which must not count.
    sim = rng.integers(0, 6, size=(53, 41)).astype(np.float32)
    true_index = rng.integers(0, 41, size=53)
    got = true_ranks(iter_row_chunks(sim, rows), true_index)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, brute_force_ranks(sim, true_index))


def test_ties_are_optimistic_hand_case():
    sim = np.array([[0.5, 0.5, 0.5], [0.1, 0.9, 0.9], [0.3, 0.2, 0.1]])
    # row 0: all tied -> rank 0; row 1: true col 0 has two greater -> 2;
    # row 2: true col 2 (0.1) has 0.3 and 0.2 above -> 2.
    got = true_ranks([sim], np.array([1, 0, 2]))
    assert got.tolist() == [0, 2, 2]


def test_npy_stream_chunks_equal_the_array(monkeypatch):
    rng = np.random.default_rng(1)
    sim = rng.normal(size=(37, 11)).astype(">f8")  # big-endian on purpose
    buf = io.BytesIO()
    np.save(buf, sim)
    buf.seek(0)
    np.lib.format.read_magic(buf)
    shape, _, dtype = np.lib.format.read_array_header_1_0(buf)
    monkeypatch.setattr(ranking, "CHUNK_BYTES", 5 * 11 * 8)  # 5 rows per chunk
    chunks = list(iter_npy_row_chunks(buf, shape, dtype))
    assert [c.shape[0] for c in chunks] == [5, 5, 5, 5, 5, 5, 5, 2]
    np.testing.assert_array_equal(np.concatenate(chunks), sim)


def test_npy_stream_truncated_raises():
    buf = io.BytesIO()
    np.save(buf, np.zeros((4, 3), dtype=np.float32))
    data = buf.getvalue()[:-5]
    fh = io.BytesIO(data)
    np.lib.format.read_magic(fh)
    shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
    with pytest.raises(EOFError):
        list(iter_npy_row_chunks(fh, shape, dtype))


def test_row_count_mismatch_raises():
    sim = np.zeros((3, 4))
    with pytest.raises(ValueError):
        true_ranks([sim], np.array([0, 1]))
    with pytest.raises(ValueError):
        true_ranks([sim], np.array([0, 1, 2, 3]))


@pytest.mark.slow
def test_benchmark_10k_by_50k_memmap(tmp_path):
    """10,000 x 50,000 float32 (2 GB) on disk: time and peak numpy memory."""
    n, m = 10_000, 50_000
    path = tmp_path / "sim.npy"
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, m))
    rng = np.random.default_rng(0)
    for r0 in range(0, n, 500):
        mm[r0 : r0 + 500] = rng.random((min(500, n - r0), m), dtype=np.float32)
    true_index = rng.integers(0, m, size=n)
    mm[np.arange(n), true_index] += 0.5  # make most true matches rank high
    mm.flush()
    del mm
    sim = np.load(path, mmap_mode="r")
    tracemalloc.start()
    t0 = time.perf_counter()
    ranks = true_ranks(iter_row_chunks(sim), true_index)
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"\ntrue_ranks 10k x 50k float32: {elapsed:.1f} s, peak traced {peak / 2**20:.0f} MiB"
    )
    assert peak < 256 * 2**20  # the 2 GB matrix is never materialised
    sample = np.arange(0, n, 997)
    np.testing.assert_array_equal(
        ranks[sample],
        (np.asarray(sim[sample]) > sim[sample, true_index[sample]][:, None]).sum(1),
    )
