"""Fixtures for website tests: the platform fixtures plus scored-entry factories
and a headless Chromium (browser tests)."""

from __future__ import annotations

import copy
import io
import os
import shutil
from pathlib import Path

import pytest

from earthbench import storage
from earthbench.submissions import intake, lifecycle, scoring
from tests.platform import conftest as platform_fixtures
from tests.platform.conftest import UserFactory, csv_bytes, upload

# The platform fixtures, shared with these tests.
user = platform_fixtures.user
other_user = platform_fixtures.other_user
eurosat = platform_fixtures.eurosat
truth_rows = platform_fixtures.truth_rows
perfect_csv = platform_fixtures.perfect_csv
half_right_csv = platform_fixtures.half_right_csv

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture
def eurosat_results(eurosat, perfect_csv, tmp_path) -> dict:
    """Real scores of a perfect file, computed once per test and reused for fake entries."""
    path = tmp_path / "perfect.csv"
    path.write_bytes(perfect_csv)
    return scoring.compute_scores(benchmark=eurosat, predictions_path=path)


def make_scored(
    *, user, benchmark, results: dict, primary: float | None = None, **meta
):
    """A scored submission with ``results`` (its primary value overridden), through
    the real services but without re-running the scorer."""
    sub, _ = intake.submission_create(
        user=user,
        benchmark=benchmark,
        file=io.BytesIO(os.urandom(16)),
        filename="p.csv",
        metadata=meta,
        enqueue=False,
    )
    lifecycle.submission_start(submission_id=sub.pk)
    res = copy.deepcopy(results)
    if primary is not None:
        for split in res.values():
            split["primary_value"] = primary
            split["metrics"][benchmark.primary_metric] = primary
            split["ci"][benchmark.primary_metric] = [primary - 0.01, primary + 0.01]
    lifecycle.submission_record_scores(submission_id=sub.pk, results=res)
    sub.refresh_from_db()
    return sub


@pytest.fixture
def many_teams(eurosat, eurosat_results):
    """30 teams, each with two scored entries on the demo EuroSAT benchmark."""
    users = [UserFactory() for _ in range(30)]
    for i, u in enumerate(users):
        make_scored(
            user=u,
            benchmark=eurosat,
            results=eurosat_results,
            primary=0.5 + i / 100,
            method_name=f"m{i}",
        )
        make_scored(
            user=u, benchmark=eurosat, results=eurosat_results, primary=0.4 + i / 100
        )
    return users


# ---------------------------------------------------------------- browser

_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def chromium(django_db_setup):
    if not CHROMIUM.exists():
        msg = (
            "\n"
            + "!" * 78
            + "\n!!! BROWSER TESTS SKIPPED: /usr/bin/chromium is missing "
            "(apt-get install chromium).\n" + "!" * 78
        )
        print(msg)  # noqa: T201 - loud on purpose, beside the skip reason
        pytest.skip(msg)
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="python package playwright missing"
    )
    # Playwright's sync API keeps an event loop running in this thread, which
    # Django takes for async code; the test's ORM calls are synchronous and safe.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(
        viewport={"width": 1280, "height": 900}, base_url=live_server.url
    )
    context.set_default_timeout(15000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def shot(page, name: str, *, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


@pytest.fixture
def tmp_catalog(tmp_path, settings):
    """An empty catalog folder with the shared include files, as settings' catalog."""
    from benchmarks.catalog import CATALOG_DIR

    root = tmp_path / "catalog"
    root.mkdir()
    if (CATALOG_DIR / "_shared").is_dir():
        shutil.copytree(CATALOG_DIR / "_shared", root / "_shared")
    settings.EARTHBENCH_CATALOG_DIR = root
    return root


__all__ = ["UserFactory", "csv_bytes", "make_scored", "shot", "storage", "upload"]
