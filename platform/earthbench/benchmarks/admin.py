from django.contrib import admin

from earthbench.benchmarks.models import Benchmark, BenchmarkChange, Split


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
        "daily_quota", "daily_compute_seconds", "max_in_flight", "final_selection_count",
        "accepts_predictions", "accepts_containers", "hosts", "previous_version",
    )
    readonly_fields = ("slug", "title", "task_kind", "previous_version")
    filter_horizontal = ("hosts",)
    inlines = [SplitInline]
    actions = ["rescore"]

    def save_model(self, request, obj, form, change):
        """Staff edits join the hosts' audit trail."""
        super().save_model(request, obj, form, change)
        if change:
            from earthbench.benchmarks.hosting import record_change

            for name in form.changed_data:
                if name == "hosts":
                    continue
                old = form.initial.get(name)
                new = getattr(obj, name)
                record_change(
                    benchmark=obj, user=request.user, action="admin", field=name,
                    old=old.isoformat() if hasattr(old, "isoformat") else old,
                    new=new.isoformat() if hasattr(new, "isoformat") else new,
                )

    @admin.action(description="Re-score all submissions (keeps old scores)")
    def rescore(self, request, queryset):
        from earthbench.submissions.lifecycle import benchmark_rescore

        n = sum(benchmark_rescore(benchmark=b) for b in queryset)
        self.message_user(request, f"{n} submissions queued for re-scoring")


@admin.register(BenchmarkChange)
class BenchmarkChangeAdmin(admin.ModelAdmin):
    """The audit trail: read-only."""

    list_display = ("created_at", "benchmark", "user", "action", "field", "note")
    list_filter = ("action",)
    search_fields = ("benchmark__slug", "user__username", "field")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
