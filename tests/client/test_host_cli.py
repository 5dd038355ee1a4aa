"""`earthbench host ...` in-process against the fake API: the chunked upload ends
at the host endpoint, the report is printed, bad arguments exit 2."""

from __future__ import annotations

import json

import httpx
import pytest

REPORT = {
    "slug": "example-landcover-v1", "is_published": False,
    "report": {"action": "created", "n_samples": 30,
               "splits": {"public": 14, "private": 16, "source": "computed"},
               "baseline": {"file": "baseline.csv", "scores": {"public": {"oa": 0.5}}},
               "sample_submission": {"file": "sample_submission.csv",
                                     "scores": {"public": {"oa": 0.25}}}},
}


def test_create_uploads_in_chunks_then_posts_the_upload_id(run_cli, fake_api, tmp_path):
    bundle = tmp_path / "b.zip"
    bundle.write_bytes(b"z" * 10_000)
    fake_api.add("POST", "/api/v1/host/benchmarks/", httpx.Response(201, json=REPORT))
    r = run_cli("host", "create", str(bundle), "--chunk-size", "4096")
    assert r.code == 0, r.err
    assert len(fake_api.calls("PUT", r"/api/v1/uploads/.+/")) == 3
    (up,) = fake_api.uploads.values()
    assert bytes(up.data) == bundle.read_bytes() and up.status == "complete"
    final = fake_api.calls("POST", "/api/v1/host/benchmarks/")[0]
    assert up.id.encode() in final.read()
    assert "created example-landcover-v1 (unpublished)" in r.out
    assert "30 test samples: public 14, private 16" in r.out
    assert "baseline (baseline.csv) public: oa=0.5000" in r.out
    assert "earthbench host publish example-landcover-v1" in r.out


def test_refused_bundle_exits_2_with_the_message(run_cli, fake_api, tmp_path):
    bundle = tmp_path / "b.zip"
    bundle.write_bytes(b"z" * 100)
    msg = "benchmark.yaml line 8: field 'metrics.1.direction': 'up' is not one of"
    fake_api.add("POST", "/api/v1/host/benchmarks/x-v1/bundle/", httpx.Response(
        400, json={"error": {"code": "invalid_bundle", "message": msg, "field": "bundle"}}))
    r = run_cli("host", "update", "x-v1", str(bundle))
    assert r.code == 2 and msg in r.err


def test_edit_sends_json_values_and_bad_arguments_exit_2(run_cli, fake_api, tmp_path):
    fake_api.add("PATCH", "/api/v1/host/benchmarks/x-v1/",
                 httpx.Response(200, json={"changed": ["daily_quota", "deadline"]}))
    r = run_cli("host", "edit", "x-v1", "--set", "daily_quota=3", "--set", "deadline=null",
                "--set", "title=A new title")
    assert r.code == 0 and "daily_quota, deadline" in r.out
    body = json.loads(fake_api.calls("PATCH", "/api/v1/host/benchmarks/x-v1/")[0].read())
    assert body == {"daily_quota": 3, "deadline": None, "title": "A new title"}
    assert run_cli("host", "edit", "x-v1", "--set", "novalue").code == 2
    r = run_cli("host", "create", str(tmp_path / "missing.zip"))
    assert r.code == 2 and "no such file" in r.err


def test_options_go_after_the_action(run_cli, tmp_path):
    # Before the action they would be silently dropped by argparse; refuse instead.
    with pytest.raises(SystemExit) as exc:
        run_cli("host", "--url", "http://elsewhere", "publish", "x-v1")
    assert exc.value.code == 2
