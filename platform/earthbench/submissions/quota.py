"""The daily quota and compute budget: ONE rule, ``quota_for``.

Kaggle's rule, independent of how teams are formed (global or per benchmark): a
day's quota on a benchmark is counted over

- the team's own submissions on that benchmark, and
- each current member's own submissions on that benchmark made that day in ANY
  team (``created_by``),

so leaving a team, re-joining or forming a new one never yields a fresh quota,
and a merged team's total must fit the limit. A submission counts unless it was
cancelled or refused before any work was spent on it (an invalid prediction
file; a container whose tarball or image checks failed before the container
started). A container that started counts, whatever its outcome.

The compute budget (``Benchmark.daily_compute_seconds``, container seconds per
UTC day; 0 = none) is counted over the same submissions: each container run
holds its time limit while it runs and its measured seconds once finished.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC as datetime_utc
from datetime import datetime, timedelta

from django.db.models import Q, Sum
from django.utils import timezone

from earthbench.accounts.models import Membership, Team
from earthbench.benchmarks.models import Benchmark
from earthbench.submissions.models import Submission


def utc_day_start(now: datetime | None = None) -> datetime:
    now = now or timezone.now()
    return now.astimezone(datetime_utc).replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Quota:
    limit: int
    used: int
    in_flight: int
    max_in_flight: int
    resets_at: datetime
    compute_limit_s: int = 0  # 0: no compute budget
    compute_used_s: float = 0.0

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def compute_remaining_s(self) -> float | None:
        if not self.compute_limit_s:
            return None
        return max(0.0, self.compute_limit_s - self.compute_used_s)


def submissions_of(*, benchmark: Benchmark, teams, users):
    """The non-baseline submissions on ``benchmark`` of ``teams`` and those made by
    ``users`` in any team: whose quota a team (or a merged team) shares."""
    return Submission.objects.filter(
        Q(team__in=teams) | Q(created_by__in=users), benchmark=benchmark, is_baseline=False
    )


def counting(submissions):
    """Those of ``submissions`` that use up the quota (not refused for free, not cancelled)."""
    return submissions.filter(counts_against_quota=True).exclude(
        status=Submission.Status.CANCELLED
    )


def quota_for(*, team: Team, benchmark: Benchmark, now: datetime | None = None) -> Quota:
    """The team's quota on ``benchmark`` today (see the module docstring)."""
    start = utc_day_start(now)
    members = Membership.objects.filter(team=team).values("user_id")
    counted = submissions_of(benchmark=benchmark, teams=[team], users=members)
    used = counting(counted).filter(created_at__gte=start).count()
    in_flight = counted.filter(
        status__in=[Submission.Status.QUEUED, Submission.Status.RUNNING]
    ).count()
    compute = counted.filter(container_started_at__gte=start).aggregate(s=Sum("compute_seconds"))["s"]
    return Quota(
        limit=benchmark.daily_quota,
        used=used,
        in_flight=in_flight,
        max_in_flight=benchmark.max_in_flight,
        resets_at=start + timedelta(days=1),
        # no budget applies where no container can run
        compute_limit_s=benchmark.daily_compute_seconds if benchmark.accepts_containers else 0,
        compute_used_s=float(compute or 0.0),
    )
