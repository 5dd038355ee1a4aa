"""Leaderboard read time with many submissions (run against Postgres).

    DATABASE_URL=postgres://user:pw@127.0.0.1:5432/db \
        python bench/leaderboard_scale.py --submissions 100000 --teams 2000

Creates a scratch benchmark with N scored submissions spread over T teams
(bulk inserts), refreshes the precomputed leaderboard entries, then times the
selector and the API endpoint (in-process, Django test client) over repeated
reads. Prints JSON; removes its data unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "platform")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "earthbench.settings.dev")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--submissions", type=int, default=100_000)
    ap.add_argument("--teams", type=int, default=2_000)
    ap.add_argument("--reads", type=int, default=30)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--reuse", action="store_true",
                    help="keep the data between runs and reuse it when its sizes match")
    args = ap.parse_args()

    import django

    django.setup()
    import numpy as np
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from earthbench.accounts.models import Membership, Team
    from earthbench.benchmarks.models import Benchmark
    from earthbench.leaderboards.services import leaderboard_refresh_benchmark
    from earthbench.submissions.models import Score, Submission

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    slug = "scale-test-v1"
    User = get_user_model()
    old = Benchmark.objects.filter(slug=slug).first()
    if args.reuse and old is not None and (
        Submission.objects.filter(benchmark=old).count() == args.submissions
        and Team.objects.filter(benchmark=old).count() == args.teams
    ):
        report = {"reused": True, **_reads(args, old, slug)}
        print(json.dumps(report, indent=1))
        return 0
    args.keep = args.keep or args.reuse
    if old is not None:
        Score.objects.filter(submission__benchmark=old).delete()
        Submission.objects.filter(benchmark=old).delete()
        old.delete()
    Team.objects.filter(name__startswith=f"scale-{slug}-").delete()
    User.objects.filter(username__startswith=f"scale-{slug}-").delete()
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    with transaction.atomic():
        bench = Benchmark.objects.create(
            slug=slug, title="scale test", task_kind="classification", primary_metric="oa",
            metrics=[{"key": "oa", "direction": "max"}, {"key": "kappa", "direction": "max"}],
        )
        users = User.objects.bulk_create(
            [User(username=f"scale-{slug}-{i}") for i in range(args.teams)], batch_size=5000
        )
        teams = Team.objects.bulk_create(
            [Team(benchmark=bench, name=f"scale-{slug}-{i}") for i in range(args.teams)], batch_size=5000
        )
        Membership.objects.bulk_create(
            [Membership(team=t, user=u, benchmark=bench) for t, u in zip(teams, users, strict=True)], batch_size=5000
        )
        now = timezone.now()
        owners = rng.integers(0, args.teams, args.submissions)
        subs = Submission.objects.bulk_create(
            [
                Submission(
                    benchmark=bench, team=teams[o], created_by=users[o], file_path="x", file_name="x",
                    file_sha256="0" * 64, file_size=1, status="scored",
                )
                for o in owners
            ],
            batch_size=5000,
        )
        values = rng.uniform(0.3, 0.99, (args.submissions, 2))
        Score.objects.bulk_create(
            [
                Score(submission=s, split=split, metrics={"oa": float(v[j]), "kappa": float(v[j]) - 0.1},
                      primary_value=float(v[j]), ci={"oa": [float(v[j]) - 0.02, float(v[j]) + 0.02]},
                      evaluator_version="bench")
                for s, v in zip(subs, values, strict=True)
                for j, split in enumerate(("public", "private"))
            ],
            batch_size=5000,
        )
        # Submissions spread over 90 days (created_at is set on insert, so in
        # 90 updates), as a real board's score-over-time plot sees them.
        ids = [s.pk for s in subs]
        days = 90
        for d in range(days):
            Submission.objects.filter(pk__in=ids[d::days]).update(
                created_at=now - timedelta(days=days - d, minutes=int(rng.integers(0, 1440)))
            )
    insert_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    leaderboard_refresh_benchmark(benchmark=bench)
    refresh_s = time.perf_counter() - t0
    # The scores here carry no bootstrap draws (200,000 x 1,000 would dwarf the
    # insert), so give every entry stored rank statistics of a realistic size:
    # the read path then loads them as it does on a real board.
    from earthbench.leaderboards.models import LeaderboardEntry

    LeaderboardEntry.objects.filter(benchmark=bench).update(
        rank_low=1, rank_high=12, p_first=0.05, vs_leader=[0.012, -0.004, 0.031],
        vs_above=[0.001, -0.01, 0.012], rank_shares={str(k): 0.083 for k in range(1, 13)},
    )

    report = {"insert_s": round(insert_s, 1), "refresh_all_entries_s": round(refresh_s, 1),
              **_reads(args, bench, slug)}
    print(json.dumps(report, indent=1))
    if not args.keep:
        Score.objects.filter(submission__benchmark=bench).delete()
        Submission.objects.filter(benchmark=bench).delete()
        bench.delete()
        Team.objects.filter(name__startswith=f"scale-{slug}-").delete()
        User.objects.filter(username__startswith=f"scale-{slug}-").delete()
    return 0


def _reads(args, bench, slug: str) -> dict:
    from django.db import connection
    from django.test import Client

    from earthbench.leaderboards.selectors import leaderboard_rows

    def timed(fn) -> list[float]:
        fn()  # warm
        out = []
        for _ in range(args.reads):
            t = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t) * 1000)
        return out

    client = Client()
    sel = timed(lambda: leaderboard_rows(benchmark=bench, split="public", limit=100))
    full = timed(lambda: leaderboard_rows(benchmark=bench, split="public"))
    api = timed(lambda: client.get(f"/api/v1/benchmarks/{slug}/leaderboard/?limit=100"))
    status = client.get(f"/benchmarks/{slug}/leaderboard/").status_code
    if status != 200:
        raise SystemExit(f"the leaderboard page answered {status}")
    page = timed(lambda: client.get(f"/benchmarks/{slug}/leaderboard/"))
    from earthbench.web import fragments

    # The first view after the board changed: the table's HTML is not cached yet.
    cold = timed(lambda: (fragments.clear(), client.get(f"/benchmarks/{slug}/leaderboard/")))
    from earthbench.leaderboards import plots

    plot = timed(lambda: plots.score_over_time(benchmark=bench, split="public"))
    return {
        "database": connection.vendor,
        "submissions": args.submissions,
        "teams": args.teams,
        "selector_top100_ms": {"p50": round(statistics.median(sel), 1), "max": round(max(sel), 1)},
        "selector_all_rows_ms": {"p50": round(statistics.median(full), 1), "max": round(max(full), 1)},
        "api_ms": {"p50": round(statistics.median(api), 1), "max": round(max(api), 1)},
        "page_ms": {"p50": round(statistics.median(page), 1), "max": round(max(page), 1)},
        "page_after_a_change_ms": {"p50": round(statistics.median(cold), 1), "max": round(max(cold), 1)},
        "score_over_time_plot_ms": {"p50": round(statistics.median(plot), 1), "max": round(max(plot), 1)},
    }


if __name__ == "__main__":
    raise SystemExit(main())
