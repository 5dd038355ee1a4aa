from django.db import models

from earthbench.accounts.models import Team
from earthbench.benchmarks.models import Benchmark
from earthbench.submissions.models import Score, Submission

MISSING_SORT_VALUE = 1e300


class LeaderboardEntry(models.Model):
    """Precomputed best row per (benchmark, split, team).

    Refreshed whenever a team's scores, selections or visibility change, so a
    leaderboard read is one indexed query however many submissions exist.
    """

    benchmark = models.ForeignKey(Benchmark, on_delete=models.CASCADE, related_name="entries")
    split = models.CharField(max_length=20)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="entries")
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="+")
    score = models.ForeignKey(Score, on_delete=models.CASCADE, related_name="+")
    primary_value = models.FloatField(null=True)
    # Sort key: primary value signed so that ascending order is best first; a
    # missing value is MISSING_SORT_VALUE so it sorts last on every database.
    sort_value = models.FloatField()
    ci_low = models.FloatField(null=True)
    ci_high = models.FloatField(null=True)
    submitted_at = models.DateTimeField()
    is_baseline = models.BooleanField(default=False)
    entries = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["benchmark", "split", "team"], name="uniq_entry_team_split"
            )
        ]
        indexes = [
            models.Index(
                fields=["benchmark", "split", "sort_value", "submitted_at"], name="entry_rank_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.benchmark_id}:{self.split}:{self.team_id}={self.primary_value}"
