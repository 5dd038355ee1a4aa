"""``earthbench team`` against the in-memory fake API: requests and output."""

from __future__ import annotations

import json

import httpx

from .conftest import BENCH

TEAM = {"id": 3, "benchmark": BENCH, "name": "Crew", "is_personal": False, "join_code": "abc",
        "members": ["ada", "bob"], "owner": "ada"}


def test_team_create_sends_an_idempotency_key_and_prints_the_team(fake_api, run_cli):
    fake_api.add("POST", f"/api/v1/benchmarks/{BENCH}/team/",
                 httpx.Response(201, json={"benchmark": BENCH, "team": TEAM}))
    r = run_cli("team", "create", BENCH, "Crew")
    assert r.code == 0, r.err
    assert "team Crew" in r.out and "members: ada, bob (owner ada)" in r.out and "join code: abc" in r.out
    (req,) = fake_api.calls("POST", f"/api/v1/benchmarks/{BENCH}/team/")
    assert json.loads(req.content) == {"name": "Crew"} and req.headers["Idempotency-Key"].startswith("cli-")


def test_team_join_refused_exits_2_with_the_message(fake_api, run_cli):
    body = {"error": {"code": "refused", "message": "team changes closed (the merge deadline)", "field": None}}
    fake_api.add("POST", f"/api/v1/benchmarks/{BENCH}/team/join/", httpx.Response(400, json=body))
    r = run_cli("team", "join", BENCH, "abc")
    assert r.code == 2 and "merge deadline" in r.err


def test_team_list_and_merge(fake_api, run_cli):
    fake_api.add("GET", "/api/v1/me/teams/", httpx.Response(200, json=[TEAM]))
    fake_api.add("POST", f"/api/v1/benchmarks/{BENCH}/team/merge/",
                 httpx.Response(200, json={"benchmark": BENCH, "team": TEAM}))
    r = run_cli("team", "list")
    assert r.code == 0 and BENCH in r.out and "ada, bob" in r.out
    r = run_cli("team", "merge", BENCH, "abc", "--json")
    assert r.code == 0 and r.json()["team"]["name"] == "Crew"
    (req,) = fake_api.calls("POST", f"/api/v1/benchmarks/{BENCH}/team/merge/")
    assert json.loads(req.content) == {"code": "abc"}


def test_team_copy_names_the_members_left_out(fake_api, run_cli):
    fake_api.add("POST", f"/api/v1/benchmarks/{BENCH}/team/copy/",
                 httpx.Response(201, json={"benchmark": BENCH, "team": TEAM, "skipped": ["cy"]}))
    r = run_cli("team", "copy", BENCH, "other-bench-v1")
    assert r.code == 0, r.err
    assert "team Crew" in r.out and "not added (already in a team there): cy" in r.out
    (req,) = fake_api.calls("POST", f"/api/v1/benchmarks/{BENCH}/team/copy/")
    assert json.loads(req.content) == {"from_benchmark": "other-bench-v1"}
