"""The daily quota and the compute budget hold against team hopping and failing
containers (issue 16).

Every way a participant can change teams is enumerated; none yields a fresh
quota. Container runs that started count whatever their outcome; a run that
could exceed the team's daily compute budget is refused before it starts.
"""

from __future__ import annotations

import contextlib
import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
from rest_framework.test import APIClient

import evaluator.sandbox as sandbox_mod
from earthbench.accounts.teams import team_create, team_for, team_join, team_leave
from earthbench.submissions import containers, errors, intake, lifecycle, quota, reaper
from earthbench.submissions.models import Submission
from evaluator.sandbox.runner import RunResult
from tests.platform.conftest import UserFactory


def submit(user, bench, kind="predictions"):
    return intake.submission_create(
        user=user, benchmark=bench, file=io.BytesIO(os.urandom(32)), filename="p.csv",
        kind=kind, enqueue=False,
    )[0]


@pytest.fixture
def bench(eurosat):
    eurosat.daily_quota = 3
    eurosat.max_in_flight = 100
    eurosat.save()
    return eurosat


def _leave(a, b, c, bench):
    """a leaves the team: a fresh personal team."""
    team_leave(user=a, benchmark=bench)
    return [a]


def _leave_and_join_other(a, b, c, bench):
    """a leaves and joins c's team, which has not submitted today."""
    team_leave(user=a, benchmark=bench)
    other = team_create(user=c, benchmark=bench, name="Fresh team")
    team_join(user=a, benchmark=bench, code=other.join_code)
    return [a, c]


def _stay(a, b, c, bench):
    """b, still in the team that used the quota."""
    return [b]


def _teammate_of_hopper(a, b, c, bench):
    """c forms a team and a joins it: c now shares a's day (Kaggle's merged total)."""
    team_leave(user=a, benchmark=bench)
    other = team_create(user=c, benchmark=bench, name="Fresh team")
    team_join(user=a, benchmark=bench, code=other.join_code)
    return [c]


HOPS = [_leave, _leave_and_join_other, _stay, _teammate_of_hopper]


@pytest.mark.parametrize("hop", HOPS, ids=[h.__name__.strip("_") for h in HOPS])
def test_changing_teams_gives_no_fresh_quota(bench, hop):
    a, b, c = UserFactory(), UserFactory(), UserFactory()
    team = team_create(user=a, benchmark=bench, name="Hoppers")
    team_join(user=b, benchmark=bench, code=team.join_code)
    for _ in range(3):
        submit(a, bench)  # the team's quota of 3 is used, all by a
    for who in hop(a, b, c, bench):
        q = quota.quota_for(team=team_for(user=who, benchmark=bench), benchmark=bench)
        assert q.used == 3 and q.remaining == 0, who
        with pytest.raises(errors.QuotaExceeded, match="daily quota of 3"):
            submit(who, bench)
    assert Submission.objects.filter(benchmark=bench).count() == 3


def test_members_other_team_submissions_count_only_that_day_and_that_benchmark(bench):
    a, c = UserFactory(), UserFactory()
    for _ in range(2):
        submit(a, bench)
    Submission.objects.update(created_at=quota.utc_day_start() - timedelta(minutes=1))
    submit(a, bench)
    other = team_create(user=c, benchmark=bench, name="Other")
    q = quota.quota_for(team=team_for(user=a, benchmark=bench), benchmark=bench)
    assert q.used == 1  # yesterday's two do not count
    # a joins c's team (a's personal team merges in): only today's submission counts
    team_join(user=a, benchmark=bench, code=other.join_code)
    assert quota.quota_for(team=other, benchmark=bench).used == 1


# ---------------------------------------------------------------- containers


class FakeSandbox:
    """Stands in for the Docker engine (no engine in these tests): reports what a
    hostile container does (sleeps to its time limit, fork bomb, memory bomb)."""

    runs: list = []
    outcome = "timed out after 600 s"
    seconds = 600.0

    def __init__(self, config, client=None):
        pass

    def run(self, *, job_id, limits, **kw):
        FakeSandbox.runs.append(limits.time_s)
        return RunResult(job_id=job_id, image_id="sha256:x", job_dir=Path("/nonexistent"),
                         output_dir=Path("/nonexistent"), n_samples=1,
                         run_s=FakeSandbox.seconds, error=FakeSandbox.outcome)


def _fake_loaded_image(error):
    """Stands in for ``evaluator.sandbox.loaded_image`` (load, then remove the image)."""

    @contextlib.contextmanager
    def loaded_image(client, path, leases, job_id):
        if error is not None:
            raise error
        yield type("I", (), {"image_id": "sha256:x"})()

    return loaded_image


@pytest.fixture
def fake_engine(bench, monkeypatch, tmp_path, settings):
    settings.EARTHBENCH_SANDBOX_DIR = tmp_path
    bench.accepts_containers = True
    bench.container_limits = {"time_s": 600}
    bench.save()
    FakeSandbox.runs = []
    monkeypatch.setattr(sandbox_mod, "Sandbox", FakeSandbox)
    monkeypatch.setattr(sandbox_mod, "docker_client", lambda: object())
    monkeypatch.setattr(sandbox_mod, "loaded_image", _fake_loaded_image(None))
    monkeypatch.setattr(containers, "benchmark_input_samples", lambda b: [])
    return bench


@pytest.mark.parametrize("outcome", ["timed out after 600 s", "pids limit hit (fork bomb)", "out of memory"])
def test_failed_container_run_counts_against_quota_and_budget(fake_engine, user, outcome):
    FakeSandbox.outcome = outcome
    FakeSandbox.seconds = 600.0
    fake_engine.daily_compute_seconds = 3600
    fake_engine.save()
    sub = submit(user, fake_engine, kind="container")
    containers.submission_run_container(submission_id=sub.pk)
    sub.refresh_from_db()
    assert sub.status == "failed" and sub.error == outcome
    assert sub.counts_against_quota and sub.container_started_at is not None
    q = quota.quota_for(team=team_for(user=user, benchmark=fake_engine), benchmark=fake_engine)
    assert q.used == 1 and q.compute_used_s == 600.0 and q.compute_remaining_s == 3000.0


def test_refusal_before_the_container_starts_is_free(fake_engine, user, monkeypatch):
    import evaluator

    monkeypatch.setattr(
        sandbox_mod, "loaded_image",
        _fake_loaded_image(evaluator.ValidationError("model.tar: not a docker save archive")),
    )
    sub = submit(user, fake_engine, kind="container")
    containers.submission_run_container(submission_id=sub.pk)
    sub.refresh_from_db()
    assert sub.status == "failed" and not sub.counts_against_quota and sub.container_started_at is None
    assert quota.quota_for(team=team_for(user=user, benchmark=fake_engine), benchmark=fake_engine).used == 0


def test_run_that_could_exceed_the_compute_budget_is_refused_before_it_starts(fake_engine, user):
    fake_engine.daily_compute_seconds = 1000  # one run of up to 600 s fits, a second does not
    fake_engine.daily_quota = 10
    fake_engine.save()
    FakeSandbox.outcome, FakeSandbox.seconds = "timed out", 600.0
    first = submit(user, fake_engine, kind="container")
    containers.submission_run_container(submission_id=first.pk)
    second = submit(user, fake_engine, kind="container")
    containers.submission_run_container(submission_id=second.pk)
    second.refresh_from_db()
    assert FakeSandbox.runs == [600]  # the second never reached the engine
    assert second.status == "failed" and "compute budget of 1000" in second.error
    assert not second.counts_against_quota and second.compute_seconds == 0
    # the budget is used up: a further container submission is refused at once
    fake_engine.daily_compute_seconds = 600
    fake_engine.save()
    with pytest.raises(errors.QuotaExceeded, match="compute budget"):
        submit(user, fake_engine, kind="container")


def test_quota_endpoint_and_submit_page_show_the_compute_budget(fake_engine, user, client):
    fake_engine.daily_compute_seconds = 1800
    fake_engine.save()
    sub = submit(user, fake_engine, kind="container")
    containers.submission_run_container(submission_id=sub.pk)
    api = APIClient()
    api.force_authenticate(user)
    body = api.get(f"/api/v1/me/quota/?benchmark={fake_engine.slug}").json()
    assert body["compute_limit_s"] == 1800 and body["compute_used_s"] == 600.0
    assert body["compute_remaining_s"] == 1200.0
    client.force_login(user)
    page = client.get(f"/benchmarks/{fake_engine.slug}/submit/").content.decode()
    assert 'id="compute-budget"' in page and "1200" in page


def test_reaped_container_that_started_counts(fake_engine, user, settings):
    from django.utils import timezone

    settings.EARTHBENCH_MAX_ATTEMPTS = 1
    sub = submit(user, fake_engine, kind="container")
    lifecycle.submission_start(submission_id=sub.pk)
    containers.container_reserve_compute(submission_id=sub.pk, time_limit_s=600)
    Submission.objects.filter(pk=sub.pk).update(started_at=timezone.now() - timedelta(days=1))
    assert reaper.reap_stuck_submissions()["failed"] == 1
    sub.refresh_from_db()
    assert sub.status == "failed" and sub.counts_against_quota


def test_prediction_only_benchmark_reports_no_compute_budget(bench, user):
    bench.accepts_containers = False
    bench.save()
    q = quota.quota_for(team=team_for(user=user, benchmark=bench), benchmark=bench)
    assert q.compute_limit_s == 0 and q.compute_remaining_s is None


def test_no_free_gpu_releases_the_reserved_compute_and_costs_nothing(fake_engine, user, monkeypatch):
    from evaluator.sandbox import GpuUnavailable

    def no_gpu(self, *, job_id, limits, **kw):
        raise GpuUnavailable("every GPU of this worker is busy")

    monkeypatch.setattr(FakeSandbox, "run", no_gpu)
    sub = submit(user, fake_engine, kind="container")
    containers.submission_run_container(submission_id=sub.pk)
    sub.refresh_from_db()
    assert sub.status == "failed" and "does not count against your quota" in sub.error
    assert sub.container_started_at is None and sub.compute_seconds == 0.0
    q = quota.quota_for(team=team_for(user=user, benchmark=fake_engine), benchmark=fake_engine)
    assert q.used == 0 and q.compute_used_s == 0.0
