from earthbench.accounts.models import ApiToken
from earthbench.submissions.models import Submission
from tests.platform.conftest import upload


def test_signup_login_and_token_page(client, transactional_db):
    r = client.post(
        "/accounts/signup/",
        {"username": "ada", "password1": "a-long-pass-123", "password2": "a-long-pass-123"},
    )
    assert r.status_code == 302
    r = client.post("/account/tokens/", {"name": "ci", "scope_read": "on", "scope_submit": "on"})
    key = r.context["new_key"]
    assert key.startswith("eb_") and key.encode() in r.content
    token = ApiToken.objects.get()
    assert token.prefix == key[:10]
    client.post(f"/account/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None
    # the key is never shown again
    assert key.encode() not in client.get("/account/tokens/").content


def test_benchmark_pages_and_data_download(client, eurosat):
    r = client.get("/")
    assert b"eurosat-classification-v1" in r.content
    r = client.get("/benchmarks/eurosat-classification-v1/")
    assert r.status_code == 200 and b"Leaderboard" in r.content and b"TorchGeo" in r.content
    r = client.get("/benchmarks/eurosat-classification-v1/data/public.zip")
    assert r.status_code == 200 and r["Content-Type"] == "application/zip"
    import io
    import zipfile

    names = zipfile.ZipFile(io.BytesIO(b"".join(r.streaming_content))).namelist()
    assert "train.csv" in names and any(n.startswith("test/") for n in names)
    assert not any("truth" in n or "splits" in n for n in names)


def test_web_submit_shows_status_and_error(client, user, eurosat, perfect_csv, truth_rows):
    client.force_login(user)
    r = client.post(
        "/benchmarks/eurosat-classification-v1/submit/",
        {"file": upload(perfect_csv), "kind": "predictions", "method_name": "web"},
    )
    sub = Submission.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/submissions/{sub.pk}/"
    page = client.get(r["Location"])
    assert b"scored" in page.content
    status = client.get(f"/submissions/{sub.pk}/status.json").json()
    assert status["status"] == "scored" and status["scores"]
    bad = ("id,label\n" + "".join(f"{a},{b}\n" for a, b in truth_rows[:5])).encode()
    client.post("/benchmarks/eurosat-classification-v1/submit/", {"file": upload(bad), "kind": "predictions"})
    failed = Submission.objects.filter(status="failed").get()
    page = client.get(f"/submissions/{failed.pk}/")
    assert b"test id(s) missing" in page.content


def test_other_users_submission_page_is_404(client, user, other_user, eurosat, perfect_csv):
    client.force_login(user)
    client.post("/benchmarks/eurosat-classification-v1/submit/", {"file": upload(perfect_csv), "kind": "predictions"})
    sub = Submission.objects.get()
    client.force_login(other_user)
    assert client.get(f"/submissions/{sub.pk}/").status_code == 404
    assert client.get(f"/submissions/{sub.pk}/status.json").status_code == 404


def test_no_url_serves_hidden_truth(client, eurosat):
    for url in (
        "/benchmarks/eurosat-classification-v1/data/truth.csv",
        "/benchmarks/eurosat-classification-v1/data/../private/truth.csv",
        "/static/../var/storage/benchmarks/eurosat-classification-v1/private/truth.csv",
        "/media/benchmarks/eurosat-classification-v1/private/truth.csv",
    ):
        assert client.get(url).status_code == 404, url
