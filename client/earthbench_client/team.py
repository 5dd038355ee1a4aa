"""``earthbench team ...``: your team on one benchmark (teams are per benchmark).

    earthbench team show BENCH            # your team there (none before your first submission)
    earthbench team create BENCH NAME     # a new team, or name your personal one
    earthbench team join BENCH CODE       # join with a member's join code
    earthbench team merge BENCH CODE      # merge your whole team (you own it) into another
    earthbench team leave BENCH
    earthbench team copy BENCH FROM_BENCH # your team on FROM_BENCH, formed again on BENCH
    earthbench team list                  # all your teams, one per benchmark
"""

from __future__ import annotations

import argparse
from typing import Any

from earthbench_client.errors import EXIT_OK
from earthbench_client.formatting import dump_json, render_table
from earthbench_client.idempotency import invocation_key


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("team", parents=[common], help="your team on a benchmark")
    actions = p.add_subparsers(dest="team_action", required=True, metavar="ACTION")
    for name, help_, extra in (
        ("show", "your team on BENCH", None),
        ("create", "create a team on BENCH (or name your personal one)", "name"),
        ("join", "join the team with this code on BENCH", "code"),
        ("merge", "merge your team into the team with this code", "code"),
        ("leave", "leave your team on BENCH", None),
        ("copy", "form your team on FROM_BENCH again on BENCH", "from_benchmark"),
    ):
        a = actions.add_parser(name, parents=[common], help=help_)
        a.add_argument("benchmark", metavar="BENCH")
        if extra:
            a.add_argument(extra, metavar="FROM_BENCH" if extra == "from_benchmark" else extra.upper())
        a.add_argument("--json", action="store_true")
    a = actions.add_parser("list", parents=[common], help="all your teams, by benchmark")
    a.add_argument("--json", action="store_true")


def _base(slug: str) -> str:
    return f"/api/v1/benchmarks/{slug}/team/"


def _describe(body: dict) -> str:
    team = body.get("team")
    bench = body.get("benchmark", "")
    if not team:
        return f"{bench}: no team (a personal team is made with your first submission there)\n"
    lines = [
        f"{bench}: team {team['name']}" + (" (personal)" if team.get("is_personal") else ""),
        f"members: {', '.join(team.get('members') or [])}" + (
            f" (owner {team['owner']})" if team.get("owner") else ""
        ),
    ]
    if team.get("join_code"):
        lines.append(f"join code: {team['join_code']}")
    return "\n".join(lines) + "\n"


def cmd_team(ctx: Any) -> int:
    a = ctx.args
    client = ctx.api.client
    if a.team_action == "list":
        teams = client.get_json("/api/v1/me/teams/")
        if a.json:
            dump_json(teams, ctx.out)
        else:
            rows = [
                [t["benchmark"], t["name"] + (" (personal)" if t.get("is_personal") else ""),
                 ", ".join(t.get("members") or [])]
                for t in teams
            ]
            ctx.out.write(render_table(["benchmark", "team", "members"], rows) + "\n")
        return EXIT_OK
    base = _base(a.benchmark)
    if a.team_action == "show":
        body = client.get_json(base)
    elif a.team_action == "create":
        # Retried on network trouble: the key makes a retry return the same team.
        body = client.post_json(
            base, json={"name": a.name}, headers={"Idempotency-Key": invocation_key()}
        )
    elif a.team_action == "copy":
        body = client.post_json(
            f"{base}copy/",
            json={"from_benchmark": a.from_benchmark},
            headers={"Idempotency-Key": invocation_key()},
        )
    elif a.team_action in ("join", "merge"):
        body = client.post_json(f"{base}{a.team_action}/", json={"code": a.code})
    else:
        body = client.post_json(f"{base}leave/")
    if a.json:
        dump_json(body, ctx.out)
    else:
        ctx.out.write(_describe(body))
        if body.get("skipped"):
            ctx.out.write(f"not added (already in a team there): {', '.join(body['skipped'])}\n")
    return EXIT_OK
