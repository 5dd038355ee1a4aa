"""The loaded catalog, shared by the catalog tests (loaded once per module)."""

import pytest

from benchmarks.catalog import load_catalog


@pytest.fixture(scope="module")
def specs():
    return load_catalog()


@pytest.fixture(scope="module")
def by_slug(specs):
    return {s.slug: s for s in specs}
