"""``earthbench team ...`` end to end: the CLI as a subprocess against the real
server and worker (teams per benchmark, issue 25)."""

from __future__ import annotations

import json

import pytest

from .conftest import BENCH

pytestmark = pytest.mark.slow(20)


def test_team_create_join_list_and_leave_from_the_cli(eb_server):
    mate = {"EARTHBENCH_TOKEN": eb_server.token_for("mate")}

    def cli(*argv, env=None):
        r = eb_server.cli(*argv, env=env)
        assert r.returncode == 0, r.stderr
        return r

    shown = json.loads(cli("team", "show", BENCH, "--json").stdout)
    assert shown == {"benchmark": BENCH, "team": None}
    created = json.loads(cli("team", "create", BENCH, "CLI Crew", "--json").stdout)["team"]
    assert created["name"] == "CLI Crew" and created["benchmark"] == BENCH and created["join_code"]

    # mate's first submission makes a personal team, which then merges into CLI Crew
    truth = eb_server.storage.joinpath("benchmarks", BENCH, "private", "truth.csv")
    cli("submit", BENCH, str(truth), "--wait", env=mate)
    assert "team mate (personal)" in cli("team", "show", BENCH, env=mate).stdout
    bad = eb_server.cli("team", "join", BENCH, "not-a-code", env=mate)
    assert bad.returncode == 2 and "no team on" in bad.stderr
    joined = cli("team", "join", BENCH, created["join_code"], env=mate).stdout
    assert "team CLI Crew" in joined and "mate" in joined and "join code:" in joined
    board = json.loads(cli("leaderboard", BENCH, "--format", "json").stdout)
    assert [r["team"] for r in board["results"] if not r.get("is_baseline")] == ["CLI Crew"]
    listed = cli("team", "list", env=mate).stdout
    assert BENCH in listed and "CLI Crew" in listed

    left = cli("team", "leave", BENCH, env=mate).stdout
    assert "no team" in left
    # the submission made in the team stays with it
    board = json.loads(cli("leaderboard", BENCH, "--format", "json").stdout)
    assert [r["team"] for r in board["results"] if not r.get("is_baseline")] == ["CLI Crew"]
