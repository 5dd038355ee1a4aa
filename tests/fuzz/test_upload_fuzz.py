"""``POST /api/v1/submissions/`` under random input: never a 5xx, nothing half-saved.

Properties checked after every request:
- the status is below 500 (the test client re-raises view exceptions, so a crash
  fails here with its traceback);
- a refused request (4xx) creates no Submission row;
- every stored upload folder belongs to a Submission row (no orphans);
- a failed submission has no Score rows, a scored one has one per split.
"""

from __future__ import annotations

import io
import string
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from earthbench import storage
from earthbench.submissions.models import Score, Submission

SUBMIT = "/api/v1/submissions/"
FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    # The database fixture is per test, not per example: rows accumulate,
    # which the invariants below are written for.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

any_text = st.one_of(
    st.text(max_size=50),
    st.text(alphabet=string.printable, min_size=190, max_size=6000),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "javascript:alert(1)",
            "http://",
            "https://e.x/" + "a" * 3000,
            "é" * 300,
        ]
    ),
)
file_names = st.one_of(
    st.sampled_from(
        [
            "p.csv",
            "../../../etc/passwd",
            "/abs/p.csv",
            "..",
            ".",
            ".hidden",
            "a\\..\\b.csv",
            "p.csv\x00.exe",
            "",
            "ünï côdé.csv",
        ]
    ),
    st.text(min_size=1, max_size=300),
)


@st.composite
def file_contents(draw, valid: bytes) -> bytes:
    how = draw(
        st.sampled_from(
            ["valid", "random", "empty", "truncated", "utf16", "flip", "dup_rows"]
        )
    )
    if how == "valid":
        return valid
    if how == "random":
        return draw(st.binary(max_size=4096))
    if how == "empty":
        return b""
    if how == "truncated":
        return valid[: draw(st.integers(0, len(valid)))]
    if how == "utf16":
        return valid.decode().encode("utf-16")
    if how == "flip":
        b = bytearray(valid)
        b[draw(st.integers(0, len(b) - 1))] ^= draw(st.integers(1, 255))
        return bytes(b)
    return valid + valid.split(b"\n", 2)[1] + b"\n"


METADATA = ("method_name", "description", "paper_url", "code_url", "git_commit")


@st.composite
def submit_requests(draw, valid: bytes):
    """A plausible request (benchmark, file, some metadata) with 0-3 fields broken."""
    f = io.BytesIO(draw(file_contents(valid)))
    f.name = "predictions.csv"
    data: dict = {"benchmark": "eurosat-classification-v1", "file": f}
    for field in draw(st.lists(st.sampled_from(METADATA), max_size=3, unique=True)):
        data[field] = draw(
            st.sampled_from(["m1", "https://example.org/x", "0" * 40, ""])
        )
    headers = {}
    if draw(st.booleans()):
        headers["HTTP_IDEMPOTENCY_KEY"] = draw(
            st.sampled_from(["k1", "k2", "ci-abc123"])
        )
    broken = draw(
        st.lists(
            st.sampled_from(
                [
                    "benchmark",
                    "file_name",
                    "no_file",
                    "kind",
                    "upload",
                    "junk_field",
                    "key",
                    *METADATA,
                ]
            ),
            max_size=3,
            unique=True,
        )
    )
    for what in broken:
        if what == "file_name":
            f.name = draw(file_names)
        elif what == "no_file":
            del data["file"]
        elif what == "key":
            headers["HTTP_IDEMPOTENCY_KEY"] = draw(
                st.one_of(any_text, st.text(min_size=201, max_size=400))
            )
        else:
            value = st.sampled_from(
                ["predictions", "container", "no-such-bench", "0" * 64, "deadbeef"]
            )
            data[what] = draw(st.one_of(any_text, value))
    return data, headers


def _strip_nul(data: dict) -> dict:
    # A NUL byte cannot travel in a multipart field name/value through a real
    # HTTP stack either; Django's test client would also refuse to encode some.
    return {
        k: (v.replace("\x00", "") if isinstance(v, str) else v) for k, v in data.items()
    }


def stored_uploads() -> set[str]:
    return {p.name for p in (storage.root() / "submissions").glob("*") if p.is_dir()}


def snapshot() -> tuple[set[int], set[str]]:
    return set(Submission.objects.values_list("pk", flat=True)), stored_uploads()


def check_invariants(response, before: tuple[set[int], set[str]]) -> None:
    before_ids, before_files = before
    assert response.status_code < 500, response.content[:500]
    now_ids = set(Submission.objects.values_list("pk", flat=True))
    if response.status_code >= 400:
        assert now_ids == before_ids, (
            f"refused ({response.status_code}) but a row was created"
        )
        body = response.json()
        assert body["error"]["message"], body
    assert not Score.objects.filter(
        submission__status=Submission.Status.FAILED
    ).exists()
    for sub in Submission.objects.filter(status=Submission.Status.SCORED):
        assert sub.scores.filter(is_current=True).count() == 2  # public + private
    # Earlier tests' files outlive their (flushed) rows: compare what is new.
    new_files = stored_uploads() - before_files
    rows = {str(u) for u in Submission.objects.values_list("uuid", flat=True)}
    assert new_files <= rows, f"orphan upload folders: {sorted(new_files - rows)[:3]}"


@pytest.fixture
def open_bench(eurosat):
    # Quotas would turn most examples into 429s; the quota has its own tests.
    eurosat.daily_quota = 10**6
    eurosat.max_in_flight = 10**6
    eurosat.save()
    return eurosat


@pytest.mark.slow
def test_random_submit_requests_never_5xx(api, open_bench, perfect_csv):
    @FUZZ
    @given(req=submit_requests(perfect_csv))
    def check(req):
        data, headers = req
        before = snapshot()
        response = api.post(SUBMIT, _strip_nul(data), format="multipart", **headers)
        check_invariants(response, before)
        seen[response.status_code // 100] += 1
        if response.status_code < 300:
            seen[Submission.objects.get(pk=response.json()["id"]).status] += 1

    seen: Counter = Counter()
    check()
    # The generator must reach both sides, or the properties prove little.
    assert seen[2] and seen[4] and seen["scored"] and seen["failed"], seen


@pytest.mark.slow
def test_raw_bodies_never_5xx(api, open_bench):
    """Bytes that are not a well-formed multipart body at all."""

    @FUZZ
    @given(
        body=st.binary(max_size=2048),
        ctype=st.sampled_from(
            [
                "multipart/form-data; boundary=xyz",
                "multipart/form-data",
                "multipart/form-data; boundary=" + "b" * 300,
                "application/json",
                "application/x-www-form-urlencoded",
                "text/plain; charset=utf-16",
                "",
            ]
        ),
    )
    def check(body, ctype):
        before = snapshot()
        response = api.generic("POST", SUBMIT, body, content_type=ctype)
        check_invariants(response, before)

    check()


def test_valid_upload_then_same_key_other_file_conflicts(api, open_bench, perfect_csv):
    """The idempotency contract under the fuzz fixture: the anchor for the above."""
    f1, f2 = io.BytesIO(perfect_csv), io.BytesIO(perfect_csv + b"\n")
    f1.name = f2.name = "p.csv"
    r1 = api.post(
        SUBMIT,
        {"benchmark": open_bench.slug, "file": f1},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="k",
    )
    assert r1.status_code == 201, r1.content
    before = snapshot()
    r2 = api.post(
        SUBMIT,
        {"benchmark": open_bench.slug, "file": f2},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="k",
    )
    assert r2.status_code == 409
    check_invariants(r2, before)
