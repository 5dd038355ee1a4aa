"""Shared fixtures for the whole suite."""

from __future__ import annotations

import os
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
# `make test` runs the suite on pytest-xdist workers with `--dist loadgroup`
# (docs/performance.md, "The test suite"). Each worker is its own process with its
# own settings: earthbench.settings.test makes a fresh temporary folder per process
# for storage, the SQLite test database and the embedded broker. What must not be
# split across workers is grouped here, by rule, so new test files need nothing:
#  - tests that use a module- (or class-/package-) scoped fixture of this suite
#    (a live server, a browser, a loaded catalog) run on one worker, which builds
#    it once, as a serial run does (a session-scoped one is built once per worker);
#  - `docker` tests share one engine and one image cache: one worker runs them all.
# A test may still name its own group with @pytest.mark.xdist_group("name").
# Slow tests are handed out first, so the longest ones do not start last.


def _shared_scope(item: pytest.Item) -> str | None:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    tests_dir = str(REPO / "tests")
    module = item.nodeid.split("::", 1)[0]
    for defs in info.name2fixturedefs.values():
        for fixturedef in defs:
            if fixturedef.scope == "function":
                continue
            src = getattr(getattr(fixturedef.func, "__code__", None), "co_filename", "")
            if not src.startswith(tests_dir):
                continue  # plugin fixtures (pytest-django's database setup, ...)
            if fixturedef.scope == "session":
                continue  # built at most once per worker; not worth serialising for
            if fixturedef.scope == "package":
                return module.rsplit("/", 1)[0]
            return module
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return  # a serial run: nothing to group or reorder
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        if item.get_closest_marker("docker"):
            item.add_marker(pytest.mark.xdist_group("docker"))
            continue
        scope = _shared_scope(item)
        if scope:
            item.add_marker(pytest.mark.xdist_group(scope))
    items.sort(key=lambda it: it.get_closest_marker("slow") is None)  # stable
