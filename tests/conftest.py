"""Shared fixtures for the whole suite."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_root() -> Path:
    return Path(os.environ.get("EARTHBENCH_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def shared_data():
    """Folder of real dataset samples; the test is skipped when it is absent."""

    def get(*parts: str) -> Path:
        p = shared_data_root().joinpath(*parts)
        if not p.exists():
            pytest.skip(f"real sample data not available: {p}")
        return p

    return get


# ------------------------------------------------------------ parallel runs
# `make test` runs the suite on pytest-xdist workers with `--dist load` (tests handed
# out one by one, by index). Each worker is its own process: earthbench.settings.test
# makes a fresh temporary folder per process for storage, the SQLite test database and
# the embedded broker, and live servers pick free ports. (Not `loadgroup`/`loadscope`:
# under pytest 9 xdist cannot tag node ids with a group, and they key work by node id,
# so schemathesis' 41 cases that share one id would run once.)
# Slow tests are handed out first, so the longest ones do not start last.


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda it: it.get_closest_marker("slow") is None)  # stable


# ------------------------------------------------------------ shared demo data
# Every demo dataset is generated once per `pytest` run, not once per test that loads
# it: earthbench.settings.test makes a demo-data cache folder in the first process
# (the xdist controller, or the only process) and exports it; the workers and the
# `manage.py` subprocesses inherit it (EARTHBENCH_DEMO_CACHE_DIR,
# benchmarks/generators/cache.py). The generator tests call generate() directly and
# still compare two fresh runs byte for byte.


def pytest_unconfigure(config: pytest.Config) -> None:
    from django.conf import settings

    if settings.configured and getattr(settings, "EARTHBENCH_DEMO_CACHE_OWNED", False):
        shutil.rmtree(settings.EARTHBENCH_DEMO_CACHE_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def demo_cache_dir() -> Path:
    from django.conf import settings

    return Path(settings.EARTHBENCH_DEMO_CACHE_DIR)
