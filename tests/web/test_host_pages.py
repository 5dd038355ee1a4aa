"""Host pages without a browser: the host role on /benchmarks/new/, the bundle
upload, the validation report, publishing, editing with preview and audit."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from benchmarks.bundle_example import EXAMPLE_SPEC, build_example_bundle
from earthbench.benchmarks.hosting import host_role_grant
from earthbench.benchmarks.models import Benchmark
from tests.platform.conftest import UserFactory

SLUG = EXAMPLE_SPEC["slug"]
HOST = f"/benchmarks/{SLUG}/host/"


@pytest.fixture(autouse=True)
def own_storage(settings, tmp_path):
    settings.EARTHBENCH_STORAGE_DIR = tmp_path / "storage"


@pytest.fixture(scope="module")
def example_zip(tmp_path_factory) -> Path:
    return build_example_bundle(tmp_path_factory.mktemp("bundle") / "example.zip")


@pytest.fixture
def host(transactional_db):
    u = UserFactory()
    host_role_grant(user=u)
    return u


def _upload(client, path: Path, url="/benchmarks/new/", **headers):
    with open(path, "rb") as fh:
        return client.post(url, {"bundle": fh}, **headers)


def test_non_hosts_get_a_clear_403_not_a_debug_404(client, transactional_db):
    client.force_login(UserFactory())
    r = client.get("/benchmarks/new/")
    assert r.status_code == 403
    html = r.content.decode()
    assert "needs the host role" in html and "URLconf" not in html
    assert "Host a benchmark" not in html.split("<main")[0]  # no nav link


def test_host_uploads_publishes_and_edits(client, host, example_zip):
    client.force_login(host)
    r = client.get("/benchmarks/new/")
    assert r.status_code == 200 and 'name="bundle"' in r.content.decode()
    assert "Staff: create a catalog benchmark" not in r.content.decode()
    r = _upload(client, example_zip)
    assert r.status_code == 302 and r["Location"] == HOST
    html = client.get(HOST).content.decode()
    bench = Benchmark.objects.get(slug=SLUG)
    n_pub, n_priv = (bench.splits.get(name=n).n_samples for n in ("public", "private"))
    assert f"<strong>{n_pub}</strong> public, <strong>{n_priv}</strong> private" in html
    assert "baseline.csv" in html and "sample_submission.csv" in html and "unpublished" in html
    # Not public yet: hosts preview it (with a note), everybody else gets a 404.
    r = client.get(f"/benchmarks/{SLUG}/")
    assert r.status_code == 200 and 'id="unpublished-note"' in r.content.decode()
    assert client.get(f"/benchmarks/{SLUG}/data/").status_code == 200
    stranger = Client()
    stranger.force_login(UserFactory())
    for tab in ("", "data/", "leaderboard/", "data/public.zip"):
        assert stranger.get(f"/benchmarks/{SLUG}/{tab}").status_code == 404, tab

    r = client.post(f"{HOST}publish/", {"published": "1"})
    assert r.status_code == 302 and Benchmark.objects.get(slug=SLUG).is_published
    assert client.get(f"/benchmarks/{SLUG}/").status_code == 200

    form = {"title": "Edited title", "summary": bench.summary, "card": "# T\n\nSome **bold** text",
            "deadline": "2031-03-01T12:00", "merge_deadline": "", "daily_quota": "4",
            "max_in_flight": "2", "final_selection_count": "1", "limit_time_s": "120",
            "limit_memory_mb": "", "limit_cpus": "1.5", "limit_gpus": ""}
    r = client.post(f"{HOST}edit/", {**form, "preview": "1"})
    assert r.status_code == 200 and "<strong>bold</strong>" in r.content.decode()
    assert Benchmark.objects.get(slug=SLUG).title != "Edited title"  # preview saves nothing
    r = client.post(f"{HOST}edit/", form)
    assert r.status_code == 302
    bench.refresh_from_db()
    assert (bench.title, bench.daily_quota, bench.final_selection_count) == ("Edited title", 4, 1)
    assert bench.deadline.isoformat() == "2031-03-01T12:00:00+00:00"
    assert bench.container_limits == {"time_s": 120, "cpus": 1.5}
    html = client.get(HOST).content.decode()
    audit = html.split('id="audit"')[1]
    for field in ("title", "daily_quota", "deadline", "container_limits", "card"):
        assert f"<td>{field}</td>" in audit
    assert "published" in audit and host.username in audit


def test_bad_edit_shows_the_field_and_changes_nothing(client, host, example_zip):
    client.force_login(host)
    _upload(client, example_zip)
    r = client.post(f"{HOST}edit/", {"title": "Fine title", "daily_quota": "0"})
    assert r.status_code == 400 and "field &#x27;daily_quota&#x27;" in r.content.decode()
    assert Benchmark.objects.get(slug=SLUG).title == EXAMPLE_SPEC["title"]


def test_bad_bundle_is_shown_and_json_for_the_upload_script(client, host, example_zip, tmp_path):
    client.force_login(host)
    bad = build_example_bundle(tmp_path / "bad.zip", spec={"task_kind": "astrology"})
    r = _upload(client, bad)
    assert r.status_code == 400 and "field &#x27;task_kind&#x27;" in r.content.decode()
    r = _upload(client, bad, HTTP_ACCEPT="application/json")
    assert r.status_code == 400 and "benchmark.yaml line" in r.json()["error"]
    assert not Benchmark.objects.exists()
    r = _upload(client, example_zip, HTTP_ACCEPT="application/json")
    assert r.json() == {"ok": True, "redirect": HOST}


def test_other_hosts_cannot_see_or_change(client, host, example_zip, transactional_db):
    client.force_login(host)
    _upload(client, example_zip)
    other = UserFactory()
    host_role_grant(user=other)
    client.force_login(other)
    assert client.get(HOST).status_code == 404
    for url, data in ((f"{HOST}edit/", {"title": "Hijack"}), (f"{HOST}publish/", {"published": "1"})):
        assert client.post(url, data).status_code == 404
    bench = Benchmark.objects.get(slug=SLUG)
    assert bench.title == EXAMPLE_SPEC["title"] and not bench.is_published


def test_staff_admin_edits_join_the_audit_trail(client, host, example_zip, transactional_db):
    client.force_login(host)
    _upload(client, example_zip)
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    bench = Benchmark.objects.get(slug=SLUG)
    url = f"/admin/eb_benchmarks/benchmark/{bench.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    form = {"is_published": "", "deadline_0": "", "deadline_1": "", "merge_deadline_0": "",
            "merge_deadline_1": "", "daily_quota": "9", "daily_compute_seconds": "3600",
            "max_in_flight": "3",
            "final_selection_count": "2", "accepts_predictions": "on", "hosts": [host.pk],
            "splits-TOTAL_FORMS": "2", "splits-INITIAL_FORMS": "2", "splits-MIN_NUM_FORMS": "0",
            "splits-MAX_NUM_FORMS": "1000", "_save": "Save"}
    for i, split in enumerate(bench.splits.order_by("pk")):
        form[f"splits-{i}-id"] = split.pk
        form[f"splits-{i}-benchmark"] = bench.pk
    r = client.post(url, form)
    assert r.status_code == 302, r.content.decode()[:3000]
    change = bench.changes.get(action="admin", field="daily_quota")
    assert (change.old, change.new, change.user_id) == (5, 9, staff.pk)
    client.force_login(host)
    assert "admin" in client.get(HOST).content.decode().split('id="audit"')[1]
