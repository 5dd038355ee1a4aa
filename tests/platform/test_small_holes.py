"""Smaller holes of issue 16: CSV injection in every CSV export, one chunked
upload consumed by two racing submissions."""

from __future__ import annotations

import csv
import hashlib
import io
import threading

import pytest
from rest_framework.test import APIClient

from earthbench import storage
from earthbench.accounts.services import token_create
from earthbench.accounts.teams import team_create
from earthbench.submissions import intake
from earthbench.submissions.models import Submission, Upload
from tests.platform.conftest import UserFactory, upload

# What a spreadsheet would execute, one per leading character.
PAYLOADS = ['=HYPERLINK("http://x","y")', "@SUM(1+1)", "+1+1", "-1+1", "\tcmd", "\rcmd"]


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _assert_neutral(rows):
    cells = [c for row in rows for c in row]
    bad = [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r") or (c[:1] == "-" and not _number(c))]
    assert not bad, bad


def _number(c: str) -> bool:
    try:
        float(c)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("payload", PAYLOADS, ids=["eq", "at", "plus", "minus", "tab", "cr"])
def test_every_csv_export_neutralises_formulas(eurosat, perfect_csv, payload):
    u, host = UserFactory(), UserFactory()
    eurosat.hosts.add(host)
    team_create(user=u, benchmark=eurosat, name=f"{payload} team")
    intake.submission_create(user=u, benchmark=eurosat, file=upload(perfect_csv), filename="p.csv",
                               metadata={"method_name": payload})
    h = APIClient()
    h.force_authenticate(host)
    exports = {
        "public": APIClient().get(f"/api/v1/benchmarks/{eurosat.slug}/leaderboard/?format=csv"),
        "private": h.get(f"/api/v1/benchmarks/{eurosat.slug}/leaderboard/?split=private&format=csv"),
        "results": h.get(f"/api/v1/benchmarks/{eurosat.slug}/results/?format=csv"),
    }
    for name, r in exports.items():
        assert r.status_code == 200, name
        rows = _rows(r.content.decode())
        _assert_neutral(rows)
        text = r.content.decode()
        assert "'" + payload.replace('"', '""') in text or "'" + payload in text, name  # kept, as text


def test_negative_numbers_stay_numbers():
    from earthbench.leaderboards.exports import to_csv

    rows = _rows(to_csv([{"team": "-x", "delta": -0.25}]))
    assert rows[1] == ["'-x", "-0.25"]


def test_one_completed_upload_feeds_one_submission_when_two_submit_at_once(eurosat, perfect_csv, monkeypatch):
    user = UserFactory()
    _, key = token_create(user=user, name="t")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    uid = api.post("/api/v1/uploads/", {"filename": "p.csv", "size": len(perfect_csv)}, format="json").json()["id"]
    api.generic("PUT", f"/api/v1/uploads/{uid}/", perfect_csv, content_type="application/octet-stream",
                HTTP_UPLOAD_OFFSET="0")
    api.post(f"/api/v1/uploads/{uid}/complete/", {"sha256": hashlib.sha256(perfect_csv).hexdigest()}, format="json")
    # Both requests have opened the completed upload before either creates its row.
    barrier = threading.Barrier(2, timeout=30)
    real_store = storage.store_fileobj

    def store_then_wait(*a, **kw):
        out = real_store(*a, **kw)
        barrier.wait()
        return out

    monkeypatch.setattr(storage, "store_fileobj", store_then_wait)
    codes = []

    def submit():
        c = APIClient()
        c.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        codes.append(c.post("/api/v1/submissions/", {"benchmark": eurosat.slug, "upload": uid},
                            format="multipart").status_code)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [201, 400], codes
    assert Submission.objects.filter(created_by=user).count() == 1
    assert Upload.objects.get(uuid=uid).status == Upload.Status.CONSUMED
