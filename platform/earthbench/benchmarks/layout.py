"""The installed dataset of a benchmark: the one module that knows its layout.

Under ``storage.benchmark_dir(slug)`` (``EARTHBENCH_STORAGE_DIR/benchmarks/<slug>/``)::

    public/              inputs participants may download
    public/test/         per-sample test inputs, ``<id>.*`` or ``<id>/...`` (containers)
    public.zip           the same, zipped
    previews/            the data tab's preview images
    private/meta.json    what was installed: truth file name, source, baseline, blocks...
    private/splits.json  the fixed public/private assignment {"public": [ids], "private": [ids]}
    private/<truth>      hidden ground truth (``meta["truth"]``: a file or a folder)
    private/<baseline>   the baseline submission (``meta["baseline"]``), if any

``benchmarks.services.install_dataset`` writes it (``write_private``); everything
that reads it (scoring, containers, hosting, the API and website) asks here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from earthbench import storage

META = "meta.json"
SPLITS = "splits.json"
TEST_INPUTS = "test"  # under public/


class NotInstalled(RuntimeError):
    """The benchmark has no dataset installed (yet)."""


@dataclass(frozen=True)
class Dataset:
    """An installed dataset (``installed(benchmark)``); paths are absolute."""

    slug: str
    meta: dict

    @property
    def private_dir(self) -> Path:
        return storage.private_dir(self.slug)

    @property
    def public_dir(self) -> Path:
        return storage.public_dir(self.slug)

    @property
    def truth_path(self) -> Path:
        return self.private_dir / self.meta["truth"]

    @property
    def baseline_path(self) -> Path | None:
        name = self.meta.get("baseline")
        return self.private_dir / name if name else None

    @property
    def baseline_name(self) -> str | None:
        return self.meta.get("baseline_name", "baseline")

    @property
    def blocks(self):
        """Spatial blocks of the test samples (block bootstrap), or None."""
        return self.meta.get("blocks")

    @property
    def test_inputs_dir(self) -> Path:
        return self.public_dir / TEST_INPUTS

    @functools.cached_property
    def splits(self) -> dict[str, list[str]]:
        return storage.read_json(self.private_dir / SPLITS)

    @property
    def test_ids(self) -> list[str]:
        """Every test id (both splits), sorted."""
        return sorted({sid for ids in self.splits.values() for sid in ids})


def dataset_meta(benchmark) -> dict | None:
    """``private/meta.json`` of the installed dataset, or None without one."""
    path = storage.private_dir(benchmark.slug) / META
    return storage.read_json(path) if path.exists() else None


def installed(benchmark) -> Dataset | None:
    meta = dataset_meta(benchmark)
    return None if meta is None else Dataset(slug=benchmark.slug, meta=meta)


def require(benchmark) -> Dataset:
    """The installed dataset; ``NotInstalled`` without one."""
    data = installed(benchmark)
    if data is None:
        raise NotInstalled(f"no dataset installed for {benchmark.slug}")
    return data


def prediction_cap_of(benchmark, splits: dict | None = None):
    """The kind's cap on a prediction file for this benchmark's test set
    (``evaluator.limits``), or None while no dataset is installed."""
    from evaluator.limits import prediction_cap

    if splits is None:
        path = storage.private_dir(benchmark.slug) / SPLITS
        if not path.exists():
            return None
        splits = storage.read_json(path)
    n = len({sid for ids in splits.values() for sid in ids})
    return prediction_cap(benchmark.task_kind, n)


def write_private(private_dir: Path, *, splits: dict, meta: dict) -> None:
    """Write ``splits.json`` and ``meta.json`` of a dataset being installed."""
    storage.write_json_atomic(private_dir / SPLITS, splits)
    storage.write_json_atomic(private_dir / META, meta)
