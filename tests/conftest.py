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
