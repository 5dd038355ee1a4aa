"""Error bodies a script or a person can act on: a wrong slug names the slug and
the closest ones, every error has a code, a 409 says which field differed."""

import pytest
from rest_framework.test import APIClient

from tests.platform.conftest import upload

SUBMIT = "/api/v1/submissions/"
TYPO = "eurosat-clasification-v1"


def post(client, content, key=None, benchmark="eurosat-classification-v1", **fields):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    data = {"benchmark": benchmark, "file": upload(content), **fields}
    return client.post(SUBMIT, data, format="multipart", **headers)


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/benchmarks/{TYPO}/",
        f"/api/v1/benchmarks/{TYPO}/leaderboard/",
        f"/api/v1/me/quota/?benchmark={TYPO}",
    ],
)
def test_a_wrong_slug_names_it_and_suggests_the_closest(api, eurosat, path):
    r = api.get(path)
    assert r.status_code == 404
    error = r.json()["error"]
    assert error["code"] == "benchmark_not_found" and error["field"] == "benchmark"
    assert TYPO in error["message"]
    assert "did you mean eurosat-classification-v1?" in error["message"]
    assert error["suggestions"] == ["eurosat-classification-v1"]


def test_a_slug_like_nothing_says_where_the_list_is(eurosat):
    r = APIClient().get("/api/v1/benchmarks/zzzz/")
    error = r.json()["error"]
    assert r.status_code == 404 and "'zzzz'" in error["message"]
    assert "GET /api/v1/benchmarks/" in error["message"] and error["suggestions"] == []


def test_submitting_to_a_wrong_slug_names_it(api, eurosat, perfect_csv):
    r = post(api, perfect_csv, benchmark=TYPO)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "benchmark_not_found" and error["field"] == "benchmark"
    assert TYPO in error["message"] and "eurosat-classification-v1" in error["message"]


def test_every_404_has_a_code(api, eurosat):
    for path in (f"{SUBMIT}999999/", "/api/v1/uploads/00000000-0000-4000-8000-000000000000/"):
        error = api.get(path).json()["error"]
        assert error["code"], path


def test_an_idempotency_conflict_names_the_file(api, eurosat, perfect_csv, half_right_csv):
    first = post(api, perfect_csv, key="ci-1")
    r = post(api, half_right_csv, key="ci-1")
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "idempotency_conflict" and error["field"] == "file"
    assert f"submission #{first.json()['id']}" in error["message"]
    assert "file: sha256" in error["message"] and "method_name" not in error["message"]


def test_an_idempotency_conflict_names_the_metadata_field(api, eurosat, perfect_csv):
    post(api, perfect_csv, key="ci-2", method_name="run 1")
    r = post(api, perfect_csv, key="ci-2", method_name="run 2")
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["field"] == "method_name"
    assert "method_name: 'run 2' here, 'run 1' then" in error["message"]
    assert "file" not in error["message"].split("):")[1].split(".")[0]


def test_a_replayed_upload_or_team_key_names_what_differs(api, eurosat):
    uploads = "/api/v1/uploads/"
    api.post(uploads, {"filename": "x.csv", "size": 10}, format="json", HTTP_IDEMPOTENCY_KEY="u-1")
    r = api.post(uploads, {"filename": "x.csv", "size": 11}, format="json", HTTP_IDEMPOTENCY_KEY="u-1")
    error = r.json()["error"]
    assert r.status_code == 409 and error["code"] == "idempotency_conflict"
    assert error["field"] == "size" and "size: '11' here, '10' then" in error["message"]
    team_url = f"/api/v1/benchmarks/{eurosat.slug}/team/"
    assert api.post(team_url, {"name": "Alpha"}, format="json", HTTP_IDEMPOTENCY_KEY="t-1").status_code == 201
    r = api.post(team_url, {"name": "Beta"}, format="json", HTTP_IDEMPOTENCY_KEY="t-1")
    assert r.json()["error"]["field"] == "name"
    assert "name: 'Beta' here, 'Alpha' then" in r.json()["error"]["message"]
