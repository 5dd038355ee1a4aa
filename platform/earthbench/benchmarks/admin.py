from django.contrib import admin

from earthbench.benchmarks.models import Benchmark, Split


class SplitInline(admin.TabularInline):
    model = Split
    extra = 0
    readonly_fields = ("name", "n_samples")


@admin.register(Benchmark)
class BenchmarkAdmin(admin.ModelAdmin):
    list_display = ("slug", "task_kind", "primary_metric", "deadline", "daily_quota", "is_published")
    list_filter = ("task_kind", "is_published", "accepts_containers")
    search_fields = ("slug", "title")
    # Hosts adjust schedule and limits here; the rest comes from benchmark.yaml.
    fields = (
        "slug", "title", "task_kind", "is_published", "deadline", "merge_deadline",
        "daily_quota", "daily_compute_seconds", "max_in_flight", "final_selection_count", "accepts_predictions",
        "accepts_containers", "hosts",
    )
    readonly_fields = ("slug", "title", "task_kind")
    filter_horizontal = ("hosts",)
    inlines = [SplitInline]
    actions = ["rescore"]

    @admin.action(description="Re-score all submissions (keeps old scores)")
    def rescore(self, request, queryset):
        from earthbench.submissions.services import benchmark_rescore

        n = sum(benchmark_rescore(benchmark=b) for b in queryset)
        self.message_user(request, f"{n} submissions queued for re-scoring")
