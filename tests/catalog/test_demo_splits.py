"""Every demo split holds enough test samples for its interval to mean something
(docs/confidence-intervals.md states the minimum): the bootstrap resamples the
samples of one split, and with one or four of them an interval says nothing."""

from __future__ import annotations

import pytest

from benchmarks.catalog import load_catalog
from benchmarks.generators.cache import read_cached
from benchmarks.splits import assign_splits

# Samples per split, public and private alike. Kinds scored per image or scene
# (many pixels, boxes or pairs each) need fewer than kinds with one label each.
MIN_PER_SPLIT = 10
MIN_PER_SPLIT_BY_KIND = {
    "classification": 20, "multilabel": 20, "regression": 20, "vqa": 20,
    "set-prediction": 20, "embedding-probe": 20, "patch-matching": 20,
}

SPECS = [s for s in load_catalog() if s.data.get("demo") and not s.data.get("suite")]


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPECS, ids=[s.slug for s in SPECS])
def test_demo_splits_hold_enough_samples(spec, demo_cache_dir):
    demo = spec.data["demo"]  # generated once per run, shared with the catalog tests
    data = read_cached(demo["generator"], params=demo.get("params", {}),
                       seed=demo.get("seed", 0), cache_dir=demo_cache_dir)
    cfg = spec.data.get("splits", {})
    splits = assign_splits(data.sample_ids, public_fraction=cfg.get("public_fraction", 0.5),
                           seed=cfg.get("seed", 0))
    need = MIN_PER_SPLIT_BY_KIND.get(spec.data["task_kind"], MIN_PER_SPLIT)
    sizes = {name: len(splits.get(name, [])) for name in ("public", "private")}
    assert min(sizes.values()) >= need, f"{spec.slug}: {sizes}, need {need} per split"
