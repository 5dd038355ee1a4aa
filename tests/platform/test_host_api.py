"""The host API: bundles (multipart and chunked), publish, edit with audit, versions,
and the host role's boundaries."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from benchmarks.bundle_example import EXAMPLE_SPEC, build_example_bundle
from earthbench.accounts.services import token_create
from earthbench.benchmarks.hosting import host_role_grant
from earthbench.benchmarks.models import Benchmark

from .conftest import UserFactory

SLUG = EXAMPLE_SPEC["slug"]
BASE = "/api/v1/host/benchmarks/"


@pytest.fixture(autouse=True)
def own_storage(settings, tmp_path):
    settings.EARTHBENCH_STORAGE_DIR = tmp_path / "storage"


@pytest.fixture(scope="module")
def example_zip(tmp_path_factory) -> Path:
    return build_example_bundle(tmp_path_factory.mktemp("bundle") / "example.zip")


def _client(user) -> APIClient:
    c = APIClient()
    _, key = token_create(user=user, name="t")
    c.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return c


@pytest.fixture
def host_api(transactional_db):
    u = UserFactory()
    host_role_grant(user=u)
    c = _client(u)
    c.user = u
    return c


def _create(c, path: Path):
    with open(path, "rb") as fh:
        return c.post(BASE, {"bundle": fh}, format="multipart")


def test_create_publish_edit_through_the_api(host_api, example_zip):
    r = _create(host_api, example_zip)
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["slug"] == SLUG and body["is_published"] is False
    assert body["report"]["splits"]["public"] + body["report"]["splits"]["private"] == 30
    assert "oa" in body["report"]["baseline"]["scores"]["public"]
    # Unpublished: not in the public API yet.
    assert host_api.get(f"/api/v1/benchmarks/{SLUG}/").status_code == 404
    assert host_api.post(f"{BASE}{SLUG}/publish/").json()["is_published"] is True
    assert host_api.get(f"/api/v1/benchmarks/{SLUG}/").status_code == 200

    r = host_api.patch(f"{BASE}{SLUG}/", {"daily_quota": 3, "deadline": "2031-01-01T00:00:00Z",
                                          "container_limits": {"time_s": 60},
                                          "daily_compute_seconds": 900}, format="json")
    assert r.status_code == 200, r.json()
    assert sorted(r.json()["changed"]) == [
        "container_limits", "daily_compute_seconds", "daily_quota", "deadline"]
    bench = Benchmark.objects.get(slug=SLUG)
    assert bench.daily_quota == 3 and bench.deadline.year == 2031
    assert bench.daily_compute_seconds == 900
    changes = host_api.get(f"{BASE}{SLUG}/").json()["changes"]
    assert [c["action"] for c in changes][:1] == ["edited"]
    quota = next(c for c in changes if c["field"] == "daily_quota")
    assert (quota["old"], quota["new"], quota["user"]) == (5, 3, host_api.user.username)
    assert host_api.get(BASE).json()[0]["slug"] == SLUG


@pytest.mark.parametrize(
    "patch, field",
    [
        ({"daily_quota": 0}, "daily_quota"),
        ({"daily_compute_seconds": -5}, "daily_compute_seconds"),
        ({"deadline": "soon"}, "deadline"),
        ({"container_limits": {"gpus": "many"}}, "container_limits.gpus"),
        ({"slug": "x-v9"}, "slug"),
        ({"merge_deadline": "2031-02-01T00:00:00Z", "deadline": "2031-01-01T00:00:00Z"},
         "merge_deadline"),
    ],
)
def test_bad_edits_name_the_field_and_change_nothing(host_api, example_zip, patch, field):
    assert _create(host_api, example_zip).status_code == 201
    before = Benchmark.objects.filter(slug=SLUG).values().get()
    r = host_api.patch(f"{BASE}{SLUG}/", {"title": "Changed title", **patch}, format="json")
    assert r.status_code == 400
    assert r.json()["error"]["field"] == field and f"'{field}'" in r.json()["error"]["message"]
    assert Benchmark.objects.filter(slug=SLUG).values().get() == before
    assert Benchmark.objects.get(slug=SLUG).changes.count() == 1  # "created" only


def test_other_hosts_and_non_hosts_are_refused(host_api, example_zip, transactional_db):
    plain = _client(UserFactory())
    r = _create(plain, example_zip)
    assert r.status_code == 403 and "host role" in r.json()["error"]["message"]
    assert not Benchmark.objects.exists()
    assert _create(host_api, example_zip).status_code == 201
    other_user = UserFactory()
    host_role_grant(user=other_user)
    other = _client(other_user)
    for method, url, data in [
        ("patch", f"{BASE}{SLUG}/", {"title": "Hijacked"}),
        ("post", f"{BASE}{SLUG}/publish/", None),
        ("get", f"{BASE}{SLUG}/", None),
    ]:
        r = getattr(other, method)(url, data, format="json")
        # another host's unpublished draft does not exist for them
        assert r.status_code == 404, (url, r.content)
    r = _create(other, example_zip)
    assert r.status_code == 400 and "belongs to another host" in r.json()["error"]["message"]
    assert other.get(BASE).json() == []
    bench = Benchmark.objects.get(slug=SLUG)
    assert bench.title == EXAMPLE_SPEC["title"] and not bench.is_published
    assert host_api.post(f"{BASE}{SLUG}/publish/").status_code == 200
    r = other.patch(f"{BASE}{SLUG}/", {"title": "Hijacked"}, format="json")
    assert r.status_code == 403 and "another host" in r.json()["error"]["message"]
    assert Benchmark.objects.get(slug=SLUG).title == EXAMPLE_SPEC["title"]


def test_chunked_upload_then_update_makes_v2_and_rescore(host_api, example_zip, tmp_path):
    assert _create(host_api, example_zip).status_code == 201
    new = build_example_bundle(tmp_path / "v2.zip", seed=5)
    data = new.read_bytes()
    up = host_api.post("/api/v1/uploads/", {"filename": "v2.zip", "size": len(data)},
                       format="json").json()
    half = len(data) // 2
    for offset, chunk in ((0, data[:half]), (half, data[half:])):
        r = host_api.put(f"/api/v1/uploads/{up['id']}/", chunk,
                         content_type="application/octet-stream", HTTP_UPLOAD_OFFSET=str(offset))
        assert r.status_code == 200, r.content
    r = host_api.post(f"/api/v1/uploads/{up['id']}/complete/",
                      {"sha256": hashlib.sha256(data).hexdigest()}, format="json")
    assert r.status_code == 200
    r = host_api.post(f"{BASE}{SLUG}/bundle/", {"upload": up["id"]}, format="multipart")
    assert r.status_code == 201, r.json()
    assert r.json()["slug"] == "example-landcover-v2"
    assert r.json()["previous_version"] == SLUG
    # The upload is consumed, its bytes gone from the volume: it cannot create a
    # second version.
    from earthbench import storage
    from earthbench.submissions.models import Upload

    assert not storage.absolute(Upload.objects.get(uuid=up["id"]).rel_path).exists()
    r = host_api.post(f"{BASE}{SLUG}/bundle/", {"upload": up["id"]}, format="multipart")
    assert r.status_code == 400
    assert not Benchmark.objects.filter(slug="example-landcover-v3").exists()
    r = host_api.post(f"{BASE}example-landcover-v2/rescore-previous/")
    assert r.status_code == 200 and r.json() == {"queued": 0}  # only the baseline existed


def test_bad_bundle_is_a_400_naming_the_problem(host_api, tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip at all")
    r = _create(host_api, bad)
    assert r.status_code == 400
    assert r.json()["error"]["message"].startswith("bad.zip: not a valid ZIP archive")
    assert not Benchmark.objects.exists()
