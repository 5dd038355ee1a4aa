from django.conf import settings
from django.db import models


class Team(models.Model):
    """Who competes on one benchmark. A user is in at most one team per
    benchmark; a personal team of one is made on their first submission there.
    A team shares quota and a leaderboard row (see docs/teams.md)."""

    benchmark = models.ForeignKey(
        "eb_benchmarks.Benchmark", on_delete=models.CASCADE, related_name="teams"
    )
    name = models.CharField(max_length=100)
    is_personal = models.BooleanField(default=False)
    # Members invite others by sharing this code; valid on this benchmark only.
    join_code = models.CharField(max_length=32, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["benchmark", "name"], name="uniq_team_name_per_benchmark")
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner"
        MEMBER = "member"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    # The team's benchmark, copied so that the database holds "at most one team
    # per user and benchmark"; accounts.teams keeps it equal to team.benchmark.
    benchmark = models.ForeignKey(
        "eb_benchmarks.Benchmark", on_delete=models.CASCADE, related_name="+"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "benchmark"], name="uniq_membership_per_benchmark")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"


class ApiToken(models.Model):
    """A bearer token. Only a SHA-256 of the key is stored; the key is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)  # subset of ["read", "submit"]
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
