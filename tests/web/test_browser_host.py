"""A non-staff host in a real (headless) Chromium: upload a bundle (with the
progress bar), read the validation report, publish, edit with a card preview,
then upload new truth and get -v2. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from benchmarks.bundle_example import EXAMPLE_SPEC, build_example_bundle
from earthbench.benchmarks.hosting import host_role_grant
from earthbench.benchmarks.models import Benchmark
from tests.web.conftest import UserFactory, shot
from tests.web.test_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow(10)]

SLUG = EXAMPLE_SPEC["slug"]


@pytest.fixture(autouse=True)
def own_storage(settings, tmp_path):
    settings.EARTHBENCH_STORAGE_DIR = tmp_path / "storage"


def test_host_creates_validates_publishes_edits_and_versions(page, tmp_path, transactional_db):
    bundle = build_example_bundle(tmp_path / "example.zip")
    host = UserFactory()
    host_role_grant(user=host)
    assert not host.is_staff
    log_in(page, host.username)
    page.get_by_role("link", name="Host a benchmark").click()
    expect(page).to_have_title(re.compile("Host a benchmark"))

    # A bad bundle: the error names the field and line, nothing is created.
    bad = build_example_bundle(tmp_path / "bad.zip", spec={"primary_metric": "nope"})
    page.locator("#id_bundle").set_input_files(str(bad))
    page.get_by_role("button", name="Upload and validate").click()
    error = page.locator("#bundle-form [data-upload-error]")
    expect(error).to_contain_text("benchmark.yaml line")
    expect(error).to_contain_text("field 'primary_metric'")
    assert not Benchmark.objects.exists()

    page.locator("#id_bundle").set_input_files(str(bundle))
    page.get_by_role("button", name="Upload and validate").click()
    expect(page).to_have_url(re.compile(f"/benchmarks/{SLUG}/host/$"))
    expect(page.get_by_role("status")).to_contain_text("created (unpublished)")
    bench = Benchmark.objects.get(slug=SLUG)
    n_pub = bench.splits.get(name="public").n_samples
    n_priv = bench.splits.get(name="private").n_samples
    expect(page.locator("#split-counts")).to_contain_text(f"{n_pub} public, {n_priv} private")
    expect(page.locator("#report-scores")).to_contain_text("baseline.csv")
    expect(page.locator("#publish-state")).to_contain_text("unpublished")
    shot(page, "20-host-bundle-report")

    page.get_by_role("button", name="Publish").click()
    expect(page.locator("#publish-state")).to_contain_text("published — participants")
    assert Benchmark.objects.get(slug=SLUG).is_published

    page.get_by_label("Card (Markdown)").fill("# Card\n\nNow with **bold** claims.")
    page.get_by_role("button", name="Preview card").click()
    expect(page.locator("#card-preview strong")).to_have_text("bold")
    page.get_by_label("Title").fill("Example, edited in the browser")
    page.get_by_label("Daily quota").fill("7")
    page.get_by_label("Final selections per team").fill("1")
    page.get_by_label("Deadline (UTC)", exact=True).fill("2031-05-01T10:00")
    page.get_by_label("Time (s)").fill("90")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_contain_text("Saved:")
    bench.refresh_from_db()
    assert bench.title == "Example, edited in the browser"
    assert (bench.daily_quota, bench.final_selection_count) == (7, 1)
    assert bench.deadline.isoformat() == "2031-05-01T10:00:00+00:00"
    assert bench.container_limits.get("time_s") == 90 and "**bold**" in bench.card
    audit = page.locator("#audit")
    for field in ("title", "daily_quota", "final_selection_count", "deadline", "card"):
        expect(audit).to_contain_text(field)
    shot(page, "21-host-edited-audit")

    # New truth: a new version, unpublished; v1 is untouched.
    v2 = build_example_bundle(tmp_path / "v2.zip", seed=11)
    page.locator("#id_update_bundle").set_input_files(str(v2))
    page.locator("#update-form").get_by_role("button", name="Upload and validate").click()
    expect(page).to_have_url(re.compile("/benchmarks/example-landcover-v2/host/$"))
    expect(page.get_by_role("status")).to_contain_text("new version of example-landcover-v1")
    expect(page.locator("#publish-state")).to_contain_text("New version of example-landcover-v1")
    page.once("dialog", lambda dialog: dialog.accept())  # the data-confirm question
    page.get_by_role("button", name=re.compile("Re-score example-landcover-v1")).click()
    expect(page.get_by_role("status")).to_contain_text("0 submission(s) of example-landcover-v1")
    assert Benchmark.objects.get(slug=SLUG).title == "Example, edited in the browser"
    shot(page, "22-host-v2")


def test_bundle_upload_resumes_after_an_interruption(page, tmp_path, transactional_db):
    from earthbench.submissions.models import Upload

    bundle = build_example_bundle(tmp_path / "example.zip")
    host = UserFactory()
    host_role_grant(user=host)
    log_in(page, host.username)
    page.goto("/benchmarks/new/")
    page.evaluate("document.querySelector('#bundle-form').setAttribute('data-chunk-size', '8192')")
    page.evaluate("window.EB_TEST_ABORT_AFTER_CHUNKS = 2")
    page.locator("#id_bundle").set_input_files(str(bundle))
    page.get_by_role("button", name="Upload and validate").click()
    expect(page.locator("#bundle-form [data-upload-error]")).to_contain_text(
        "interrupted at 16384 bytes")
    up = Upload.objects.get(user=host)
    assert (up.offset, up.status) == (16384, "open")
    assert not Benchmark.objects.exists()

    page.evaluate("window.EB_TEST_ABORT_AFTER_CHUNKS = 0")
    page.get_by_role("button", name="Upload and validate").click()
    expect(page).to_have_url(re.compile(f"/benchmarks/{SLUG}/host/$"))
    up.refresh_from_db()
    assert up.status == "consumed" and Upload.objects.filter(user=host).count() == 1
    assert up.size == bundle.stat().st_size
    expect(page.locator("#split-counts")).to_contain_text("30 test samples")
