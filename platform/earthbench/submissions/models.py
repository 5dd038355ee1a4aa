import uuid

from django.conf import settings
from django.db import models

from earthbench.accounts.models import Team
from earthbench.benchmarks.models import Benchmark


class Submission(models.Model):
    class Kind(models.TextChoices):
        PREDICTIONS = "predictions"
        CONTAINER = "container"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SCORED = "scored"
        FAILED = "failed"
        CANCELLED = "cancelled"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    benchmark = models.ForeignKey(
        Benchmark, on_delete=models.PROTECT, related_name="submissions"
    )
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="submissions")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="submissions"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PREDICTIONS)
    # Path relative to EARTHBENCH_STORAGE_DIR; never a URL.
    file_path = models.CharField(max_length=500)
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64)
    file_size = models.BigIntegerField()
    image_digest = models.CharField(max_length=100, blank=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    error = models.TextField(blank=True)
    # Invalid uploads are kept and shown but do not use up the daily quota.
    counts_against_quota = models.BooleanField(default=True)
    method_name = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    paper_url = models.URLField(blank=True)
    code_url = models.URLField(blank=True)
    git_commit = models.CharField(max_length=64, blank=True)
    idempotency_key = models.CharField(max_length=200, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)
    is_baseline = models.BooleanField(default=False)
    is_selected = models.BooleanField(default=False)
    is_hidden = models.BooleanField(default=False)
    hidden_reason = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    efficiency = models.JSONField(default=dict, blank=True)
    log_tail = models.TextField(blank=True)
    # Container runs: when the container was started (from then on the submission
    # counts against the daily quota whatever its outcome) and the container
    # seconds it holds against the daily compute budget (its time limit while it
    # runs, its measured run time once finished).
    container_started_at = models.DateTimeField(null=True, blank=True)
    compute_seconds = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Written by the worker while it scores (submissions/heartbeat.py).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="uniq_submission_idempotency_key",
            )
        ]
        indexes = [models.Index(fields=["benchmark", "team", "created_at"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.benchmark.slug} ({self.status})"

    def get_absolute_url(self) -> str:
        return f"/submissions/{self.pk}/"

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.SCORED, self.Status.FAILED, self.Status.CANCELLED}


class SubmissionEvent(models.Model):
    """Audit trail: every status transition with its time."""

    submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, related_name="events"
    )
    status = models.CharField(max_length=20)
    note = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.submission_id} → {self.status}"


class Score(models.Model):
    """Metrics of one submission on one split, from one evaluator version.

    Re-scoring keeps old rows (``is_current=False``) so history stays auditable.
    """

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="scores")
    split = models.CharField(max_length=20)
    metrics = models.JSONField(default=dict)
    primary_value = models.FloatField(null=True, blank=True)
    ci = models.JSONField(default=dict, blank=True)
    # Bootstrap draws of the primary metric: suites aggregate them (stratified CI).
    primary_draws = models.JSONField(default=list, blank=True)
    # Fingerprint of the resamples behind primary_draws (evaluator.stats.
    # resample_plan_key): equal keys mean paired draws (rank uncertainty).
    draws_key = models.CharField(max_length=32, blank=True, default="")
    samples = models.JSONField(default=dict, blank=True)
    evaluator_version = models.CharField(max_length=50)
    is_current = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["split"]
        indexes = [models.Index(fields=["split", "is_current", "primary_value"])]

    def __str__(self) -> str:
        return f"{self.submission_id}:{self.split}={self.primary_value}"


class Upload(models.Model):
    """A resumable chunked upload: create → PUT chunks at offsets → complete.

    The bytes go to ``uploads/<uuid>/data`` in the storage area; a completed
    upload is consumed by exactly one submission.
    """

    class Status(models.TextChoices):
        OPEN = "open"
        COMPLETE = "complete"
        CONSUMED = "consumed"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads"
    )
    filename = models.CharField(max_length=255)
    size = models.BigIntegerField()
    offset = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"upload {self.uuid} {self.offset}/{self.size}"

    @property
    def rel_path(self) -> str:
        return f"uploads/{self.uuid}/data"
