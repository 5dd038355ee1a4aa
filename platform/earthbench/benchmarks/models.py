from django.db import models


class Benchmark(models.Model):
    """Database mirror of one ``benchmarks/<slug>/benchmark.yaml``."""

    slug = models.SlugField(max_length=100, unique=True)
    version = models.PositiveIntegerField(default=1)
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    task_kind = models.CharField(max_length=50, db_index=True)
    papers = models.JSONField(default=list)
    modalities = models.JSONField(default=list)
    # [{"key": "oa", "label": "OA", "direction": "max"}, ...]; the first is primary
    metrics = models.JSONField(default=list)
    primary_metric = models.CharField(max_length=50)
    primary_direction = models.CharField(max_length=3, default="max")
    formats = models.JSONField(default=list)
    options = models.JSONField(default=dict)
    reference_results = models.JSONField(default=list)
    card = models.TextField(blank=True)
    accepts_predictions = models.BooleanField(default=True)
    accepts_containers = models.BooleanField(default=False)
    container_limits = models.JSONField(default=dict)
    deadline = models.DateTimeField(null=True, blank=True)
    # Teams may merge until this moment (Kaggle's "team merger deadline").
    merge_deadline = models.DateTimeField(null=True, blank=True)
    daily_quota = models.PositiveIntegerField(default=5)
    max_in_flight = models.PositiveIntegerField(default=3)
    # Container seconds a team may use per UTC day on this benchmark (host-editable;
    # 0 = no budget). A run that would exceed it is refused before it starts.
    daily_compute_seconds = models.PositiveIntegerField(default=3600)
    final_selection_count = models.PositiveIntegerField(default=2)
    is_published = models.BooleanField(default=True)
    hosts = models.ManyToManyField(
        "auth.User", blank=True, related_name="hosted_benchmarks"
    )
    # The version this one replaced (a bundle with new truth or metrics makes -vN+1).
    previous_version = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="next_versions"
    )
    spec = models.JSONField(default=dict)  # the whole validated YAML
    spec_sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        # The host role: staff grant it to a user (admin or ``manage.py host_role``);
        # hosts create benchmarks and manage the ones they host (benchmarks/hosting.py).
        permissions = [("host_benchmarks", "Can create and manage own benchmarks")]

    def __str__(self) -> str:
        return self.slug

    def get_absolute_url(self) -> str:
        return f"/benchmarks/{self.slug}/"

    @property
    def suite_members(self) -> list[str]:
        """Member slugs of a suite (empty for an ordinary benchmark). A suite only
        aggregates its members' leaderboards: it takes no submissions itself."""
        return list((self.spec or {}).get("suite", {}).get("members") or [])


class Split(models.Model):
    """A hidden test split. Who may see its values is decided by one rule,
    ``earthbench.leaderboards.selectors.split_visible`` (public: always; private:
    at the deadline, or at once without one; hosts and staff always). There is no
    per-split visibility field: a field that the rule ignored would mislead hosts."""

    class Name(models.TextChoices):
        PUBLIC = "public"
        PRIVATE = "private"

    benchmark = models.ForeignKey(Benchmark, on_delete=models.CASCADE, related_name="splits")
    name = models.CharField(max_length=20, choices=Name.choices)
    n_samples = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["benchmark", "name"], name="uniq_split_name")
        ]

    def __str__(self) -> str:
        return f"{self.benchmark.slug}:{self.name}"


class BenchmarkChange(models.Model):
    """Audit trail of what hosts changed on a benchmark (shown on the host page)."""

    benchmark = models.ForeignKey(Benchmark, on_delete=models.CASCADE, related_name="changes")
    user = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=30)  # created, edited, published, bundle, version, ...
    field = models.CharField(max_length=50, blank=True)
    old = models.JSONField(null=True, blank=True)
    new = models.JSONField(null=True, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.benchmark.slug}: {self.action} {self.field}".strip()
