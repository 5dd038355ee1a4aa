from rest_framework import serializers

from earthbench.benchmarks.models import Benchmark
from earthbench.benchmarks.selectors import BenchmarkNotFound, published_benchmark
from earthbench.submissions.models import Submission
from earthbench.submissions.selectors import visible_scores


class BenchmarkSerializer(serializers.ModelSerializer):
    class Meta:
        model = Benchmark
        fields = [
            "slug",
            "version",
            "title",
            "summary",
            "task_kind",
            "papers",
            "modalities",
            "metrics",
            "primary_metric",
            "primary_direction",
            "formats",
            "deadline",
            "daily_quota",
            "final_selection_count",
            "accepts_predictions",
            "accepts_containers",
        ]


class BenchmarkDetailSerializer(BenchmarkSerializer):
    reference_results = serializers.JSONField()
    data_url = serializers.SerializerMethodField()
    max_prediction_bytes = serializers.SerializerMethodField()
    suite_members = serializers.ListField(
        child=serializers.CharField(), read_only=True,
        help_text="a suite's member benchmarks (submit to them); empty otherwise",
    )

    class Meta(BenchmarkSerializer.Meta):
        fields = BenchmarkSerializer.Meta.fields + [
            "reference_results", "options", "data_url", "suite_members", "max_prediction_bytes",
        ]

    def get_data_url(self, obj) -> str | None:
        """A suite has no data of its own (null): its members have."""
        return None if obj.suite_members else f"/benchmarks/{obj.slug}/data/public.zip"

    def get_max_prediction_bytes(self, obj) -> int | None:
        """Largest prediction file scored (evaluator/limits.py); null without data."""
        from earthbench.benchmarks.layout import prediction_cap_of

        cap = prediction_cap_of(obj)
        return cap.total if cap else None


class ScoreSerializer(serializers.Serializer):
    split = serializers.CharField()
    primary_metric = serializers.SerializerMethodField(help_text="the benchmark's primary metric key")
    metrics = serializers.JSONField()
    primary_value = serializers.FloatField(allow_null=True)
    ci = serializers.JSONField()
    evaluator_version = serializers.CharField()

    def get_primary_metric(self, obj) -> str:
        return self.context.get("primary_metric") or obj.submission.benchmark.primary_metric


class SubmissionSerializer(serializers.ModelSerializer):
    benchmark = serializers.CharField(source="benchmark.slug", read_only=True)
    team = serializers.CharField(source="team.name", read_only=True)
    scores = serializers.SerializerMethodField()

    class Meta:
        model = Submission
        fields = [
            "id",
            "uuid",
            "benchmark",
            "team",
            "kind",
            "status",
            "error",
            "file_name",
            "file_sha256",
            "file_size",
            "image_digest",
            "method_name",
            "description",
            "paper_url",
            "code_url",
            "git_commit",
            "is_selected",
            "is_baseline",
            "attempts",
            "created_at",
            "started_at",
            "finished_at",
            "scores",
            "efficiency",
        ]
        read_only_fields = fields

    def get_scores(self, obj) -> list[dict]:
        """The current scores on the splits the viewer (``context["user"]``) may see."""
        context = {"primary_metric": obj.benchmark.primary_metric}
        return [
            ScoreSerializer(s, context=context).data
            for s in visible_scores(submission=obj, user=self.context["user"])
        ]


class SubmissionCreateSerializer(serializers.Serializer):
    benchmark = serializers.CharField(help_text="a published benchmark's slug")
    file = serializers.FileField(required=False)
    upload = serializers.UUIDField(required=False, help_text="a completed chunked upload instead of file")
    kind = serializers.ChoiceField(choices=Submission.Kind.choices, default="predictions")
    method_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    paper_url = serializers.URLField(required=False, allow_blank=True)
    code_url = serializers.URLField(required=False, allow_blank=True)
    git_commit = serializers.RegexField(r"^[0-9a-fA-F]{0,64}$", required=False, allow_blank=True)

    def validate_benchmark(self, value: str) -> Benchmark:
        try:
            return published_benchmark(value)
        except BenchmarkNotFound as exc:
            raise serializers.ValidationError(str(exc), code=exc.code) from None

    def validate(self, attrs):
        if bool(attrs.get("file")) == bool(attrs.get("upload")):
            raise serializers.ValidationError({"file": "send exactly one of file or upload"})
        return attrs


class LeaderboardRowSerializer(serializers.Serializer):
    """One leaderboard row (``leaderboards.exports.rows_as_dicts``). Flat: besides
    these, each declared metric ``<m>`` with ``<m>_ci_low`` and ``<m>_ci_high``, and
    efficiency columns of container submissions."""

    rank = serializers.IntegerField(allow_null=True)
    team = serializers.CharField()
    submission_id = serializers.IntegerField()
    method_name = serializers.CharField()
    submitted_at = serializers.DateTimeField()
    primary_value = serializers.FloatField(allow_null=True)
    is_baseline = serializers.BooleanField()
    tied_with_leader = serializers.BooleanField()
    entries = serializers.IntegerField()
    rank_low = serializers.IntegerField(allow_null=True, help_text="2.5% quantile of the bootstrap rank")
    rank_high = serializers.IntegerField(allow_null=True, help_text="97.5% quantile of the bootstrap rank")
    p_first = serializers.FloatField(allow_null=True, help_text="share of bootstrap resamples ranked first")
    vs_leader_diff = serializers.FloatField(allow_null=True)
    vs_leader_diff_low = serializers.FloatField(allow_null=True)
    vs_leader_diff_high = serializers.FloatField(allow_null=True)
    vs_leader_significant = serializers.BooleanField(allow_null=True)
    vs_above_diff = serializers.FloatField(allow_null=True)
    vs_above_diff_low = serializers.FloatField(allow_null=True)
    vs_above_diff_high = serializers.FloatField(allow_null=True)
    vs_above_significant = serializers.BooleanField(allow_null=True)


class QuotaSerializer(serializers.Serializer):
    benchmark = serializers.CharField()
    limit = serializers.IntegerField()
    used = serializers.IntegerField()
    remaining = serializers.IntegerField()
    in_flight = serializers.IntegerField()
    max_in_flight = serializers.IntegerField()
    resets_at = serializers.DateTimeField()
    compute_limit_s = serializers.IntegerField(help_text="container seconds a day; 0 = no budget")
    compute_used_s = serializers.FloatField()
    compute_remaining_s = serializers.FloatField(allow_null=True)


class LeaderboardSerializer(serializers.Serializer):
    benchmark = serializers.CharField()
    split = serializers.CharField()
    primary_metric = serializers.CharField()
    direction = serializers.CharField()
    metrics = serializers.JSONField()
    count = serializers.IntegerField()
    offset = serializers.IntegerField(required=False)
    results = serializers.ListField(child=serializers.DictField())


class HideSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class LogsSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    log_tail = serializers.CharField()
    events = serializers.ListField(child=serializers.DictField())


class TeamSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    benchmark = serializers.CharField(source="benchmark.slug", read_only=True)
    name = serializers.CharField()
    is_personal = serializers.BooleanField()
    join_code = serializers.CharField()
    members = serializers.SerializerMethodField()
    owner = serializers.SerializerMethodField()

    def get_members(self, obj) -> list[str]:
        return [m.user.get_username() for m in obj.memberships.all() if m.user_id]

    def get_owner(self, obj) -> str | None:
        return next(
            (m.user.get_username() for m in obj.memberships.all() if m.role == "owner"), None
        )


class BenchmarkTeamSerializer(serializers.Serializer):
    benchmark = serializers.CharField()
    team = TeamSerializer(allow_null=True)


class TeamCopySerializer(serializers.Serializer):
    from_benchmark = serializers.SlugField(max_length=100)


class TeamCopiedSerializer(BenchmarkTeamSerializer):
    skipped = serializers.ListField(child=serializers.CharField())


class TeamCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class TeamJoinSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=32)


class TokenSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class TokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.MultipleChoiceField(choices=["read", "submit", "tokens"], required=False)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class TokenCreatedSerializer(TokenSerializer):
    key = serializers.CharField()


class UploadSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    filename = serializers.CharField()
    size = serializers.IntegerField()
    offset = serializers.IntegerField()
    sha256 = serializers.CharField()
    status = serializers.CharField()


class UploadCreateSerializer(serializers.Serializer):
    filename = serializers.CharField(max_length=255)
    size = serializers.IntegerField(min_value=1)


class UploadCompleteSerializer(serializers.Serializer):
    sha256 = serializers.RegexField(r"^[0-9a-fA-F]{64}$")


class SubmissionPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = SubmissionSerializer(many=True)
