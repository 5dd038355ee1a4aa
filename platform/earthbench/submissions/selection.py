"""A team's final selections and a host's hiding of entries: the two actions
on a scored submission that change what its leaderboards show."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from earthbench.accounts.models import Team
from earthbench.leaderboards.services import leaderboard_refresh_team
from earthbench.submissions.errors import SubmissionRefused
from earthbench.submissions.events import record_event
from earthbench.submissions.lifecycle import lock_team_of
from earthbench.submissions.models import Submission


def submission_select(*, submission: Submission, user, selected: bool, now: datetime | None = None) -> Submission:
    """Mark a scored submission as (not) one of its team's final selections."""
    bench = submission.benchmark
    if not submission.team.memberships.filter(user=user).exists():
        raise SubmissionRefused("only members of the submitting team can select it")
    if bench.deadline and (now or timezone.now()) >= bench.deadline:
        raise SubmissionRefused("final selection closed at the deadline")
    with transaction.atomic():
        Team.objects.select_for_update().filter(pk=submission.team_id).first()
        sub = Submission.objects.select_for_update().get(pk=submission.pk)
        if selected and not sub.is_selected:
            if sub.status != Submission.Status.SCORED:
                raise SubmissionRefused("only scored submissions can be selected")
            n = Submission.objects.filter(benchmark=bench, team=sub.team, is_selected=True).count()
            if n >= bench.final_selection_count:
                raise SubmissionRefused(
                    f"at most {bench.final_selection_count} submissions can be selected; "
                    "deselect one first"
                )
        sub.is_selected = selected
        sub.save(update_fields=["is_selected", "updated_at"])
        record_event(sub, sub.status, "selected as final" if selected else "deselected")
        leaderboard_refresh_team(benchmark=bench, team=sub.team)
    return sub


def submission_hide(*, submission: Submission, by, reason: str, hidden: bool = True) -> Submission:
    """Disqualify (hide) or restore an entry; hosts only, with a reason."""
    from earthbench.leaderboards.selectors import is_host

    if not is_host(benchmark=submission.benchmark, user=by):
        raise SubmissionRefused("only the benchmark's hosts can hide entries")
    if hidden and not reason.strip():
        raise SubmissionRefused("a reason is required", field="reason")
    with transaction.atomic():
        lock_team_of(submission.pk)
        sub = Submission.objects.select_for_update().get(pk=submission.pk)
        sub.is_hidden = hidden
        sub.hidden_reason = reason.strip() if hidden else ""
        sub.save(update_fields=["is_hidden", "hidden_reason", "updated_at"])
        record_event(sub, sub.status, f"{'hidden' if hidden else 'restored'} by {by}: {reason}".strip())
        leaderboard_refresh_team(benchmark=sub.benchmark, team=sub.team)
    return sub
