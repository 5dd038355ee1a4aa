"""The resumable-upload endpoints under random input: never a 5xx, the stored
offset only ever equals the bytes accepted, and a completed upload's bytes hash to
what was acknowledged."""

from __future__ import annotations

import hashlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from earthbench import storage
from earthbench.submissions.models import Upload

BASE = "/api/v1/uploads/"
FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

sizes = st.one_of(st.integers(-5, 70), st.just(10**15), st.text(max_size=5), st.none())
steps = st.lists(
    st.tuples(
        st.sampled_from(["put", "put_wrong_offset", "put_bad_header", "get", "complete", "complete_bad"]),
        st.binary(max_size=40),
    ),
    max_size=6,
)


@FUZZ
@given(size=sizes, name=st.text(max_size=300), script=steps)
def test_chunked_upload_endpoints_never_fail(api, eurosat, size, name, script):
    r = api.post(BASE, {"filename": name, "size": size}, format="json")
    assert r.status_code < 500, r.content
    if r.status_code != 201:
        assert "error" in r.json()
        return
    uid = r.json()["id"]
    received = b""
    for action, data in script:
        if action.startswith("put"):
            offset = {"put": len(received), "put_wrong_offset": len(received) + 3}.get(action, "x")
            r = api.generic("PUT", f"{BASE}{uid}/", data, content_type="application/octet-stream",
                            HTTP_UPLOAD_OFFSET=str(offset))
            assert r.status_code < 500, r.content
            if r.status_code == 200:
                received += data
                assert r.json()["offset"] == len(received)
        elif action == "get":
            r = api.get(f"{BASE}{uid}/")
            assert r.status_code == 200 and r.json()["offset"] == len(received)
        else:
            sha = hashlib.sha256(received).hexdigest() if action == "complete" else "z" * 64
            r = api.post(f"{BASE}{uid}/complete/", {"sha256": sha}, format="json")
            assert r.status_code < 500, r.content
    up = Upload.objects.get(uuid=uid)
    assert up.offset == len(received)
    assert storage.absolute(up.rel_path).read_bytes() == received
    if up.status == Upload.Status.COMPLETE:
        assert up.sha256 == hashlib.sha256(received).hexdigest() and len(received) == up.size
