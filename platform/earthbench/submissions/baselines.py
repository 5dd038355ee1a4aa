"""Baselines: the installed dataset's baseline file, submitted and scored like
any prediction file, by the inactive ``baseline`` user in a "Baselines" team of
each benchmark.

Called after a dataset is installed (``manage.py load_catalog``, a host's
bundle in ``benchmarks.host_services``); the arrow runs one way: the catalog
calls here, nothing here calls the catalog.
"""

from __future__ import annotations

import hashlib

from django.contrib.auth import get_user_model

from earthbench.accounts.models import Membership, Team
from earthbench.benchmarks import layout
from earthbench.benchmarks.models import Benchmark
from earthbench.leaderboards.services import leaderboard_refresh_benchmark
from earthbench.submissions.attempt import score_file_submission
from earthbench.submissions.intake import submission_create
from earthbench.submissions.models import Submission

BASELINE_USERNAME = "baseline"


def baseline_user():
    user, created = get_user_model().objects.get_or_create(
        username=BASELINE_USERNAME, defaults={"is_active": False}
    )
    if created:
        user.set_unusable_password()
        user.save()
    return user


def baseline_team(*, benchmark: Benchmark) -> Team:
    """The "Baselines" team of ``benchmark`` (one per benchmark, like every team)."""
    user = baseline_user()
    team = Team.objects.filter(benchmark=benchmark, memberships__user=user).first()
    if team is None:
        # "Baselines" unless a participant took the name on this benchmark first.
        taken = Team.objects.filter(benchmark=benchmark, name__iexact="Baselines").exists()
        name = "Baselines (platform)" if taken else "Baselines"
        team = Team.objects.create(benchmark=benchmark, name=name, is_personal=False)
        Membership.objects.create(
            team=team, user=user, benchmark=benchmark, role=Membership.Role.OWNER
        )
    return team


def baseline_ensure(*, benchmark: Benchmark) -> Submission | None:
    """Submit and score the installed baseline unless that exact file already is;
    None when the dataset has no baseline."""
    data = layout.installed(benchmark)
    path = data.baseline_path if data else None
    if path is None:
        return None
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    existing = Submission.objects.filter(
        benchmark=benchmark, is_baseline=True, file_sha256=sha, status=Submission.Status.SCORED
    ).first()
    if existing:
        return existing
    # Older baselines (from an earlier dataset) leave the board.
    Submission.objects.filter(benchmark=benchmark, is_baseline=True).update(
        is_hidden=True, hidden_reason="superseded baseline"
    )
    leaderboard_refresh_benchmark(benchmark=benchmark)
    baseline_team(benchmark=benchmark)
    with open(path, "rb") as fh:
        sub, _ = submission_create(
            user=baseline_user(),
            benchmark=benchmark,
            file=fh,
            filename=path.name,
            metadata={"method_name": data.baseline_name},
            is_baseline=True,
            enqueue=False,
        )
    return score_file_submission(submission_id=sub.pk)
