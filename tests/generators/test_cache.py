"""The shared demo-data cache (benchmarks/generators/cache.py): the same bytes as a
fresh generation, one generation per key across processes, a new key when the
generator's code, params or seed change."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from benchmarks import generators
from benchmarks.generators import DemoData
from benchmarks.generators import cache as demo_cache

from .conftest import tree_digest

NAME = "multilabel"
PARAMS = {"n_train": 12, "n_test": 10, "size": 16, "bands": 3, "modality": "multispectral"}


@pytest.fixture
def calls(monkeypatch, tmp_path):
    """Every generation the cache asks for appends a line to this file (any process)."""
    log = tmp_path / "generations.log"
    real = demo_cache.generate

    def counted(name, **kw):
        with open(log, "a") as fh:
            fh.write(f"{name}\n")
        return real(name, **kw)

    monkeypatch.setattr(demo_cache, "generate", counted)
    return lambda: len(log.read_text().splitlines()) if log.exists() else 0


def test_cached_copies_are_the_bytes_of_a_fresh_generation(tmp_path, calls):
    fresh = generators.generate(NAME, params=PARAMS, out_dir=tmp_path / "fresh", seed=3)
    cache = tmp_path / "cache"
    a = demo_cache.generate_cached(NAME, params=PARAMS, out_dir=tmp_path / "a", seed=3, cache_dir=cache)
    b = demo_cache.generate_cached(NAME, params=PARAMS, out_dir=tmp_path / "b", seed=3, cache_dir=cache)
    assert calls() == 1
    assert tree_digest(tmp_path / "a") == tree_digest(tmp_path / "b") == tree_digest(tmp_path / "fresh")
    for got, root in ((a, tmp_path / "a"), (b, tmp_path / "b")):
        assert got.sample_ids == fresh.sample_ids and got.blocks == fresh.blocks
        assert got.baseline_name == fresh.baseline_name
        for field in ("public_dir", "truth_path", "baseline_path"):
            assert getattr(got, field) == root / getattr(fresh, field).relative_to(tmp_path / "fresh")
    (tmp_path / "a" / "extra.txt").write_text("a copy is the caller's to change")
    assert not list(cache.rglob("extra.txt"))
    inplace = demo_cache.read_cached(NAME, params=PARAMS, seed=3, cache_dir=cache)
    assert calls() == 1 and inplace.sample_ids == fresh.sample_ids
    assert tree_digest(inplace.public_dir) == tree_digest(fresh.public_dir)


def test_a_change_of_code_params_or_seed_is_a_new_entry(tmp_path, calls, monkeypatch):
    cache = tmp_path / "cache"

    def read(seed=3, **params):
        return demo_cache.read_cached(NAME, params={**PARAMS, **params}, seed=seed, cache_dir=cache)

    read()
    read(seed=4)
    read(n_test=12)
    assert calls() == 3
    monkeypatch.setattr(demo_cache, "generator_sha256", lambda name: "edited generator")
    read()
    assert calls() == 4
    assert len([p for p in cache.iterdir() if p.is_dir()]) == 4
    assert not list(cache.glob("*.tmp"))


def _generate_in_child(args):
    out, cache = args
    demo_cache.generate_cached(NAME, params=PARAMS, out_dir=Path(out), seed=3, cache_dir=Path(cache))
    return tree_digest(Path(out))


def test_processes_at_once_generate_once(tmp_path, calls):
    cache = tmp_path / "cache"
    with multiprocessing.get_context("fork").Pool(3) as pool:
        digests = pool.map(_generate_in_child, [(str(tmp_path / f"out{i}"), str(cache)) for i in range(3)])
    assert calls() == 1
    assert digests[0] == digests[1] == digests[2] and digests[0]


def test_a_generator_writing_outside_its_folder_is_not_cached(tmp_path, monkeypatch):
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("id,label\n")

    def stray(name, *, params, out_dir, seed):
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        return DemoData(public_dir=Path(out_dir), truth_path=outside, sample_ids=["x"])

    monkeypatch.setattr(demo_cache, "generate", stray)
    cache = tmp_path / "cache"
    got = demo_cache.generate_cached(NAME, params=PARAMS, out_dir=tmp_path / "out", seed=3, cache_dir=cache)
    assert got.truth_path == outside and got.sample_ids == ["x"]
    assert not [p for p in cache.iterdir() if p.is_dir()]
    with pytest.raises(RuntimeError, match="writes outside its folder"):
        demo_cache.read_cached(NAME, params=PARAMS, seed=3, cache_dir=cache)
