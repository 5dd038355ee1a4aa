import hashlib

from earthbench.submissions.models import Submission

BASE = "/api/v1/uploads/"


def put(api, uid, offset, data):
    return api.generic("PUT", f"{BASE}{uid}/", data, content_type="application/octet-stream",
                       HTTP_UPLOAD_OFFSET=str(offset))


def test_interrupted_chunked_upload_resumes_and_submits(api, eurosat, perfect_csv):
    r = api.post(BASE, {"filename": "preds.csv", "size": len(perfect_csv)}, format="json")
    assert r.status_code == 201, r.content
    uid = r.json()["id"]
    half = len(perfect_csv) // 2
    assert put(api, uid, 0, perfect_csv[:half]).json()["offset"] == half
    # the client lost the connection and retries a chunk from a wrong offset
    bad = put(api, uid, 0, perfect_csv[:half])
    assert bad.status_code == 409 and f"resume from {half}" in bad.json()["error"]["message"]
    # it asks where to resume, and finishes
    assert api.get(f"{BASE}{uid}/").json()["offset"] == half
    assert put(api, uid, half, perfect_csv[half:]).json()["offset"] == len(perfect_csv)
    wrong = api.post(f"{BASE}{uid}/complete/", {"sha256": "0" * 64}, format="json")
    assert wrong.status_code == 400 and "sha256 mismatch" in wrong.json()["error"]["message"]
    sha = hashlib.sha256(perfect_csv).hexdigest()
    done = api.post(f"{BASE}{uid}/complete/", {"sha256": sha}, format="json")
    assert done.json()["status"] == "complete"
    sub = api.post("/api/v1/submissions/", {"benchmark": eurosat.slug, "upload": uid},
                   format="multipart", HTTP_IDEMPOTENCY_KEY="chunked-1")
    assert sub.status_code == 201, sub.content
    assert sub.json()["file_sha256"] == sha and sub.json()["status"] == "scored"
    # idempotent repeat returns the same submission; a new one cannot reuse the upload
    again = api.post("/api/v1/submissions/", {"benchmark": eurosat.slug, "upload": uid},
                     format="multipart", HTTP_IDEMPOTENCY_KEY="chunked-1")
    assert again.status_code == 200 and again.json()["id"] == sub.json()["id"]
    reuse = api.post("/api/v1/submissions/", {"benchmark": eurosat.slug, "upload": uid}, format="multipart")
    assert reuse.status_code == 400 and "already used" in reuse.json()["error"]["message"]
    assert Submission.objects.count() == 1


def test_upload_limits_and_ownership(api, eurosat, other_user, settings):
    settings.EARTHBENCH_MAX_UPLOAD_BYTES = 100
    settings.EARTHBENCH_MAX_CONTAINER_BYTES = 100
    assert api.post(BASE, {"filename": "x", "size": 101}, format="json").status_code == 400
    uid = api.post(BASE, {"filename": "x", "size": 10}, format="json").json()["id"]
    assert put(api, uid, 0, b"x" * 11).status_code == 400
    from rest_framework.test import APIClient

    from earthbench.accounts.services import token_create

    _, key = token_create(user=other_user, name="o")
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert other.get(f"{BASE}{uid}/").status_code == 404
    sub = api.post("/api/v1/submissions/", {"benchmark": eurosat.slug, "upload": uid}, format="multipart")
    assert sub.status_code == 400 and "incomplete" in sub.json()["error"]["message"]


def test_idempotent_upload_and_team_creation(api, eurosat):
    a = api.post(BASE, {"filename": "x.csv", "size": 10}, format="json", HTTP_IDEMPOTENCY_KEY="up-1")
    b = api.post(BASE, {"filename": "x.csv", "size": 10}, format="json", HTTP_IDEMPOTENCY_KEY="up-1")
    assert a.status_code == b.status_code == 201 and a.json()["id"] == b.json()["id"]
    c = api.post(BASE, {"filename": "x.csv", "size": 11}, format="json", HTTP_IDEMPOTENCY_KEY="up-1")
    assert c.status_code == 409 and c.json()["error"]["code"] == "idempotency_conflict"
    from earthbench.submissions.models import Upload

    assert Upload.objects.count() == 1
    team_url = f"/api/v1/benchmarks/{eurosat.slug}/team/"
    t1 = api.post(team_url, {"name": "Replayers"}, format="json", HTTP_IDEMPOTENCY_KEY="team-1")
    t2 = api.post(team_url, {"name": "Replayers"}, format="json", HTTP_IDEMPOTENCY_KEY="team-1")
    assert t1.status_code == t2.status_code == 201 and t1.json() == t2.json()


def test_container_uploads_have_their_own_size_limit(api, eurosat, settings):
    import io

    settings.EARTHBENCH_MAX_UPLOAD_BYTES = 10
    settings.EARTHBENCH_MAX_CONTAINER_BYTES = 1000
    eurosat.accepts_containers = True
    eurosat.save()
    big = io.BytesIO(b"x" * 100)
    big.name = "model.tar"
    r = api.post("/api/v1/submissions/", {"benchmark": eurosat.slug, "file": big, "kind": "predictions"},
                 format="multipart")
    assert r.status_code == 400 and "upload limit of 10 bytes" in r.json()["error"]["message"]
    big.seek(0)
    r = api.post("/api/v1/submissions/", {"benchmark": eurosat.slug, "file": big, "kind": "container"},
                 format="multipart")
    assert r.status_code == 201  # accepted for the sandbox (which then rejects it as no image)
