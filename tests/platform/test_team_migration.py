"""The data migration from global teams to teams per benchmark (issue 25)
changes no leaderboard: boards are built with the old schema (MigrationExecutor
back to accounts 0002), the migrations run forward, and every board (each
benchmark's public and private split, and the suite's) is compared."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import F
from django.utils import timezone

# Found by name so that the test survives renumbering at merge time.
FIRST_TEAMS_PER_BENCHMARK = "i25_team_benchmark"

pytestmark = pytest.mark.django_db(transaction=True)


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor


def _old_targets() -> tuple[list, list]:
    """Every app at its latest migration that does not depend on teams per
    benchmark (accounts: just before it), and the latest state."""
    graph = MigrationExecutor(connection).loader.graph
    leaves = graph.leaf_nodes()
    (first,) = [n for n in graph.nodes if n[0] == "accounts" and n[1].endswith(FIRST_TEAMS_PER_BENCHMARK)]
    after = set(graph.backwards_plan(first))  # it and everything that depends on it
    targets = []
    for leaf in leaves:
        node = leaf
        while node is not None and node in after:  # step back within the app
            parents = [p.key for p in graph.node_map[node].parents if p.key[0] == leaf[0]]
            node = parents[0] if parents else None
        if node is not None:
            targets.append(node)
    return targets, leaves


def _build_old_world(apps):
    """Global teams with submissions spread over benchmarks; entries made by the
    real refresh rule (it touches team ids only, which both schemas share)."""
    from earthbench.accounts.models import Team as CurrentTeam
    from earthbench.benchmarks.models import Benchmark as CurrentBenchmark
    from earthbench.leaderboards.services import leaderboard_refresh_team

    User = apps.get_model("auth", "User")
    Team = apps.get_model("accounts", "Team")
    Membership = apps.get_model("accounts", "Membership")
    Benchmark = apps.get_model("eb_benchmarks", "Benchmark")
    Submission = apps.get_model("eb_submissions", "Submission")
    Score = apps.get_model("eb_submissions", "Score")
    rnd = random.Random(25)
    metrics = [{"key": "oa", "label": "OA", "direction": "max"}]
    benches = [
        Benchmark.objects.create(slug=f"b{i}-v1", title=f"b{i}", task_kind="classification",
                                 primary_metric="oa", metrics=metrics, primary_direction=d)
        for i, d in enumerate(["max", "max", "min"], start=1)
    ]
    suite = Benchmark.objects.create(
        slug="s-suite-v1", title="suite", task_kind="suite", primary_metric="iqm",
        metrics=[{"key": "iqm", "direction": "max"}],
        spec={"suite": {"members": ["b1-v1", "b2-v1", "b3-v1"], "n_resamples": 50,
                        "reference": {"b3-v1": {"metric": "oa", "min": 0.0, "max": 1.0, "direction": "min"}}}},
    )
    users = {n: User.objects.create(username=n) for n in ["u1", "u2", "u3", "u4", "u5", "gone", "baseline"]}
    spec = {  # team: (personal, members, {bench index: n submissions})
        "u1": (True, ["u1"], {0: 3, 1: 2}),
        "Beta Lab": (False, ["u2", "u3"], {0: 4, 1: 3, 2: 2}),
        "Gamma": (False, ["u4"], {0: 2, 2: 1}),
        "Empty": (False, ["u5"], {}),
        "Orphans": (False, [], {0: 1, 1: 1}),  # members gone, submissions kept
        "Baselines": (False, ["baseline"], {0: 1, 1: 1, 2: 1}),
    }
    t0 = timezone.now() - timedelta(days=3)
    n = 0
    teams = {}
    for name, (personal, members, per_bench) in spec.items():
        team = Team.objects.create(name=name, is_personal=personal, join_code=f"code-{n}")
        teams[name] = team
        for m in members:
            Membership.objects.create(team=team, user=users[m], role="owner" if m == members[0] else "member")
        for bi, count in per_bench.items():
            for k in range(count):
                n += 1
                author = users[members[k % len(members)]] if members else users["gone"]
                sub = Submission.objects.create(
                    benchmark=benches[bi], team=team, created_by=author, file_path="x", file_name="p.csv",
                    file_sha256="0" * 64, file_size=1, status="scored", is_baseline=name == "Baselines",
                    is_selected=(name == "Beta Lab" and bi == 0 and k == 3),
                )
                Submission.objects.filter(pk=sub.pk).update(created_at=t0 + timedelta(minutes=n))
                for split in ("public", "private"):
                    # coarse values so that ties (broken by time) happen
                    v = None if (name == "Gamma" and bi == 0 and k == 0) else rnd.choice([0.5, 0.6, 0.7, 0.8])
                    Score.objects.create(
                        submission=sub, split=split, metrics={"oa": v}, primary_value=v,
                        ci={"oa": [v - 0.05, v + 0.05]} if v is not None else {},
                        primary_draws=[round(v + rnd.uniform(-0.05, 0.05), 4) for _ in range(20)] if v else [],
                        evaluator_version="test",
                    )
        for bi in per_bench:
            leaderboard_refresh_team(
                benchmark=CurrentBenchmark.objects.get(pk=benches[bi].pk), team=CurrentTeam(pk=team.pk)
            )
    return benches, suite, teams


def _old_boards(apps, benches, suite):
    from earthbench.benchmarks.models import Benchmark as CurrentBenchmark
    from earthbench.leaderboards.suites import suite_references, suite_rows_from

    Entry = apps.get_model("eb_leaderboards", "LeaderboardEntry")
    boards = {}
    for b in benches:
        for split in ("public", "private"):
            rank, rows = 0, []
            for e in Entry.objects.filter(benchmark=b, split=split).select_related("team").order_by(
                "sort_value", "submitted_at", "submission_id"
            ):
                rank += 0 if e.is_baseline else 1
                rows.append((None if e.is_baseline else rank, "Baseline" if e.is_baseline else e.team.name,
                             e.submission_id, e.primary_value, e.entries))
            boards[(b.slug, split)] = rows
    current_suite = CurrentBenchmark.objects.get(pk=suite.pk)
    references, metric_of = suite_references(benchmark=current_suite)
    for split in ("public", "private"):
        # The old rule: one suite row per (global) team name.
        values = [
            (e.team.name, e.benchmark, e.score)
            for e in Entry.objects.filter(
                benchmark__slug__in=list(references), split=split, is_baseline=False
            ).select_related("team", "score", "benchmark")
        ]
        rows = suite_rows_from(benchmark=current_suite, values=values, references=references, metric_of=metric_of)
        boards[(suite.slug, split)] = _suite_tuple(rows)
    return boards


def _suite_tuple(rows):
    return [(r.rank, r.team, r.iqm, r.ci, r.normalised, r.raw, r.missing) for r in rows]


def _new_boards(benches, suite):
    from earthbench.benchmarks.models import Benchmark
    from earthbench.leaderboards.selectors import leaderboard_rows
    from earthbench.leaderboards.suites import suite_rows

    boards = {}
    for b in Benchmark.objects.filter(pk__in=[x.pk for x in benches]):
        for split in ("public", "private"):
            boards[(b.slug, split)] = [
                (r.rank, r.team, r.submission_id, r.primary_value, r.entries)
                for r in leaderboard_rows(benchmark=b, split=split)
            ]
    s = Benchmark.objects.get(pk=suite.pk)
    for split in ("public", "private"):
        boards[(s.slug, split)] = _suite_tuple(suite_rows(benchmark=s, split=split))
    return boards


def test_global_teams_become_per_benchmark_teams_and_every_board_is_unchanged():
    old_targets, latest = _old_targets()
    try:
        executor = _migrate(old_targets)
        old_apps = executor.loader.project_state(old_targets).apps
        benches, suite, old_teams = _build_old_world(old_apps)
        before = _old_boards(old_apps, benches, suite)
        assert len(before[("b1-v1", "public")]) == 5 and before[("s-suite-v1", "public")]
        _migrate(latest)
    except BaseException:
        _migrate(latest)
        raise

    from earthbench.accounts.models import Membership, Team
    from earthbench.benchmarks.models import Benchmark
    from earthbench.leaderboards.models import LeaderboardEntry
    from earthbench.leaderboards.services import leaderboard_refresh_benchmark
    from earthbench.submissions.models import Submission

    after = _new_boards(benches, suite)
    assert after == before
    # entries were moved with their submissions, not left on another benchmark's team
    assert not LeaderboardEntry.objects.exclude(team__benchmark_id=F("benchmark_id")).exists()
    # the boards also survive a full recomputation from the re-pointed submissions
    for b in Benchmark.objects.filter(pk__in=[x.pk for x in benches]):
        leaderboard_refresh_benchmark(benchmark=b)
    assert _new_boards(benches, suite) == before

    # one team per (old team, benchmark with submissions), memberships copied
    beta = Team.objects.filter(name="Beta Lab").order_by("benchmark__slug")
    assert [t.benchmark.slug for t in beta] == ["b1-v1", "b2-v1", "b3-v1"]
    assert beta[0].pk == old_teams["Beta Lab"].pk  # the old row keeps its first benchmark
    for t in beta:
        assert sorted(m.user.username for m in t.memberships.all()) == ["u2", "u3"]
        assert all(m.benchmark_id == t.benchmark_id for m in t.memberships.all())
        assert t.join_code == old_teams["Beta Lab"].join_code and not t.is_personal
        assert Submission.objects.filter(team=t).exclude(benchmark=t.benchmark).count() == 0
    assert Submission.objects.filter(team__name="Beta Lab").count() == 9
    assert not Submission.objects.exclude(team__benchmark_id=F("benchmark_id")).exists()
    assert not Team.objects.filter(name="Empty").exists()
    assert not Membership.objects.filter(user__username="u5").exists()
    assert Team.objects.filter(name="Orphans").count() == 2
    assert Membership.objects.filter(user__username="u2").count() == 3
