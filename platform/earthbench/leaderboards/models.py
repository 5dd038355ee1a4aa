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
    # Rank uncertainty over the split's paired bootstrap resamples
    # (leaderboards.rank_uncertainty); null where the entry has no paired draws.
    rank_low = models.PositiveIntegerField(null=True)
    rank_high = models.PositiveIntegerField(null=True)
    p_first = models.FloatField(null=True)
    rank_shares = models.JSONField(default=dict, blank=True)
    # [estimate, low, high] of the paired difference (leader or row above minus
    # this row, larger = better), or null.
    vs_leader = models.JSONField(null=True, blank=True)
    vs_above = models.JSONField(null=True, blank=True)

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
