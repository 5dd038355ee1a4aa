"""Refresh time of rank intervals / P(first) / paired comparisons.

    python bench/rank_uncertainty.py --teams 2000 --resamples 1000

Creates a scratch benchmark with one scored submission per team, each Score
holding ``--resamples`` paired primary-metric draws (one draws key), builds the
leaderboard entries, then times (a) ``evaluator.rank_stats.rank_statistics``
alone on the (teams × resamples) matrix and (b) the platform's whole refresh
(``leaderboard_refresh_rank_stats``: load the draws, compute, bulk-update every
entry of both splits), each ``--repeats`` times, median reported. The refresh
reads stored draws, so its cost does not depend on the number of test samples
(a 10,000-sample split costs the same as a 100-sample one here; the samples are
paid once, when a submission is scored). Prints JSON; removes its data.
"""

from __future__ import annotations

import argparse
import json
import os
import platform as pyplatform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "platform")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "earthbench.settings.dev")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--teams", type=int, default=2000)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    import django

    django.setup()
    import numpy as np
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from earthbench.accounts.models import Membership, Team
    from earthbench.benchmarks.models import Benchmark
    from earthbench.leaderboards.models import LeaderboardEntry
    from earthbench.leaderboards.rank_uncertainty import leaderboard_refresh_rank_stats
    from earthbench.submissions.models import Score, Submission
    from evaluator.rank_stats import rank_statistics

    call_command("migrate", verbosity=0)
    slug = "rank-bench-v1"
    Benchmark.objects.filter(slug=slug).delete()
    rng = np.random.default_rng(0)
    skill = rng.uniform(0.5, 0.9, args.teams)
    draws = skill[:, None] + rng.normal(0, 0.01, (args.teams, args.resamples))
    with transaction.atomic():
        bench = Benchmark.objects.create(
            slug=slug, title="rank bench", task_kind="classification", primary_metric="oa",
            metrics=[{"key": "oa", "direction": "max"}],
        )
        User = get_user_model()
        users = User.objects.bulk_create([User(username=f"{slug}-{i}") for i in range(args.teams)])
        teams = Team.objects.bulk_create([Team(benchmark=bench, name=f"{slug}-{i}") for i in range(args.teams)])
        Membership.objects.bulk_create([Membership(team=t, user=u, benchmark=bench) for t, u in zip(teams, users, strict=True)])
        subs = Submission.objects.bulk_create([
            Submission(benchmark=bench, team=t, created_by=u, file_path="x", file_name="x",
                       file_sha256="0" * 64, file_size=1, status="scored")
            for t, u in zip(teams, users, strict=True)
        ])
        scores = Score.objects.bulk_create([
            Score(submission=s, split=split, metrics={"oa": float(skill[i])}, primary_value=float(skill[i]),
                  primary_draws=[round(float(x), 6) for x in draws[i]], draws_key="k", evaluator_version="bench")
            for i, s in enumerate(subs) for split in ("public", "private")
        ], batch_size=500)
        now = timezone.now()
        LeaderboardEntry.objects.bulk_create([
            LeaderboardEntry(benchmark=bench, split=sc.split, team=sc.submission.team, submission=sc.submission,
                             score=sc, primary_value=sc.primary_value, sort_value=-sc.primary_value,
                             submitted_at=now)
            for sc in scores
        ], batch_size=500)

    def timed(fn) -> list[float]:
        out = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
        return out

    core = timed(lambda: rank_statistics(draws, "max"))
    refresh = timed(lambda: leaderboard_refresh_rank_stats(benchmark=bench))
    top = LeaderboardEntry.objects.filter(benchmark=bench, split="public").order_by("sort_value").first()
    report = {
        "database": connection.vendor,
        "machine": f"{pyplatform.machine()}, {os.cpu_count()} cores",
        "teams": args.teams,
        "resamples": args.resamples,
        "rank_statistics_s": round(statistics.median(core), 3),
        "refresh_both_splits_s": round(statistics.median(refresh), 3),
        "leader": {"rank_low": top.rank_low, "rank_high": top.rank_high, "p_first": top.p_first},
    }
    print(json.dumps(report, indent=1))
    with transaction.atomic():
        LeaderboardEntry.objects.filter(benchmark=bench).delete()
        Score.objects.filter(submission__benchmark=bench).delete()
        Submission.objects.filter(benchmark=bench).delete()
        Team.objects.filter(benchmark=bench).delete()
        bench.delete()
        User.objects.filter(username__startswith=f"{slug}-").delete()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
