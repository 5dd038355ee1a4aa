import pytest
from rest_framework.test import APIClient

from earthbench.accounts.services import token_create, token_revoke
from tests.platform.conftest import upload

SUBMIT = "/api/v1/submissions/"


def post(client, content, key=None, **fields):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    data = {"benchmark": "eurosat-classification-v1", "file": upload(content), **fields}
    return client.post(SUBMIT, data, format="multipart", **headers)


def test_submit_scores_and_appears_on_leaderboard(api, eurosat, perfect_csv):
    r = post(api, perfect_csv, method_name="oracle")
    assert r.status_code == 201, r.content
    sub = api.get(f"{SUBMIT}{r.json()['id']}/").json()
    assert sub["status"] == "scored"
    assert {s["split"] for s in sub["scores"]} == {"public", "private"}  # no deadline
    lb = APIClient().get("/api/v1/benchmarks/eurosat-classification-v1/leaderboard/").json()
    assert lb["results"][0]["method_name"] == "oracle" and lb["results"][0]["primary_value"] == 1.0


def test_malformed_upload_error_visible_through_api(api, eurosat, truth_rows):
    content = ("id,label\n" + "".join(f"{a},{b}\n" for a, b in truth_rows[:-2])).encode()
    r = post(api, content)
    body = api.get(f"{SUBMIT}{r.json()['id']}/").json()
    assert body["status"] == "failed" and "2 test id(s) missing" in body["error"]


def test_idempotency_header(api, eurosat, perfect_csv, half_right_csv):
    a = post(api, perfect_csv, key="ci-abc")
    b = post(api, perfect_csv, key="ci-abc")
    assert a.status_code == 201 and b.status_code == 200 and a.json()["id"] == b.json()["id"]
    c = post(api, half_right_csv, key="ci-abc")
    assert c.status_code == 409 and c.json()["error"]["code"] == "idempotency_conflict"
    assert len(api.get(SUBMIT).json()["results"]) == 1


def test_auth_required_and_bad_tokens_rejected(eurosat, perfect_csv, user):
    anon = APIClient()
    assert post(anon, perfect_csv).status_code == 401
    anon.credentials(HTTP_AUTHORIZATION="Token nope")
    assert anon.get(SUBMIT).status_code == 401
    token, key = token_create(user=user, name="t")
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert c.get(SUBMIT).status_code == 200
    token_revoke(token=token)
    assert c.get(SUBMIT).status_code == 401


def test_read_scope_cannot_submit(eurosat, perfect_csv, user):
    _, key = token_create(user=user, name="ro", scopes=["read"])
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert c.get(SUBMIT).status_code == 200
    assert post(c, perfect_csv).status_code == 403


def test_token_stored_hashed(user):
    token, key = token_create(user=user, name="t")
    assert key not in token.key_hash and len(token.key_hash) == 64


def test_cannot_read_another_users_submission(api, eurosat, perfect_csv, other_user):
    sid = post(api, perfect_csv).json()["id"]
    _, key = token_create(user=other_user, name="o")
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert other.get(f"{SUBMIT}{sid}/").status_code == 404
    assert other.get(SUBMIT).json()["results"] == []


def test_private_leaderboard_forbidden_before_deadline(api, eurosat, perfect_csv):
    from datetime import timedelta

    from django.utils import timezone

    eurosat.deadline = timezone.now() + timedelta(days=3)
    eurosat.save()
    sid = post(api, perfect_csv).json()["id"]
    r = api.get("/api/v1/benchmarks/eurosat-classification-v1/leaderboard/?split=private")
    assert r.status_code == 403 and "error" in r.json()
    detail = api.get(f"{SUBMIT}{sid}/").json()
    assert [s["split"] for s in detail["scores"]] == ["public"]


def test_quota_endpoint(api, eurosat, perfect_csv):
    post(api, perfect_csv)
    q = api.get("/api/v1/me/quota/?benchmark=eurosat-classification-v1").json()
    assert q["used"] == 1 and q["remaining"] == eurosat.daily_quota - 1 and q["resets_at"].endswith("Z")


def test_benchmarks_endpoints_and_schema(eurosat):
    c = APIClient()
    slugs = [b["slug"] for b in c.get("/api/v1/benchmarks/").json()["results"]]
    assert "eurosat-classification-v1" in slugs
    d = c.get("/api/v1/benchmarks/eurosat-classification-v1/").json()
    assert d["primary_metric"] == "oa" and d["task_kind"] == "classification"
    r = c.get("/api/schema/")
    assert r.status_code == 200 and b"/api/v1/submissions/" in r.content


@pytest.mark.parametrize("field,value", [("paper_url", "not a url"), ("benchmark", "nope-v1")])
def test_bad_fields_get_error_body(api, eurosat, perfect_csv, field, value):
    r = post(api, perfect_csv, **{field: value})
    assert r.status_code == 400
    assert r.json()["error"]["field"] == field
