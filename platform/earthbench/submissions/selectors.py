"""Who may see a submission, shared by the API and the website.

A submission (its detail, status, scores, log and events) is seen by the members
of its team and by the benchmark's hosts (staff included); to anyone else it does
not exist (the API answers 404, the site 404), so an id tells nothing. Its scores
are shown only on the splits the viewer may see (``leaderboards.selectors.
split_visible``: the private split after the deadline, to hosts always).
"""

from __future__ import annotations

from django.db.models import QuerySet

from earthbench.leaderboards.selectors import is_host, visible_splits
from earthbench.submissions.models import Score, Submission, Upload


class SubmissionNotFound(LookupError):
    """No submission with this id that the viewer may see."""

    def __init__(self, pk):
        self.pk = pk
        super().__init__("no such submission")


def is_member(*, submission: Submission, user) -> bool:
    """The user belongs to the submission's team (may cancel and select it)."""
    if user is None or not user.is_authenticated:
        return False
    return submission.team.memberships.filter(user=user).exists()


def can_see(*, submission: Submission, user) -> bool:
    return is_member(submission=submission, user=user) or is_host(benchmark=submission.benchmark, user=user)


def visible_submission(*, pk, user) -> Submission:
    """The submission ``pk`` if ``user`` may see it; ``SubmissionNotFound`` when it
    is missing or someone else's (the two are indistinguishable)."""
    sub = Submission.objects.select_related("benchmark", "team").filter(pk=pk).first()
    if sub is None or not can_see(submission=sub, user=user):
        raise SubmissionNotFound(pk)
    return sub


def visible_scores(*, submission: Submission, user) -> list[Score]:
    """The submission's current scores on the splits ``user`` may see (uses the
    ``scores`` prefetch when the caller made one)."""
    splits = visible_splits(benchmark=submission.benchmark, user=user)
    return [s for s in submission.scores.all() if s.is_current and s.split in splits]


def submissions_of(*, user) -> QuerySet:
    """Every submission of every team of ``user`` (a team is per benchmark), newest
    first: "my submissions" on the site and in the API."""
    return Submission.objects.filter(team__memberships__user=user)


def own_upload(*, uuid, user) -> Upload | None:
    """A chunked upload is seen by the user who started it only."""
    return Upload.objects.filter(uuid=uuid, user=user).first()
