from django.contrib import admin

from earthbench.submissions.models import Score, Submission, SubmissionEvent


class ScoreInline(admin.TabularInline):
    model = Score
    extra = 0
    fields = ("split", "primary_value", "evaluator_version", "is_current", "created_at")
    readonly_fields = fields


class EventInline(admin.TabularInline):
    model = SubmissionEvent
    extra = 0
    readonly_fields = ("status", "note", "at")


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ("id", "benchmark", "team", "status", "is_baseline", "is_hidden", "created_at")
    list_filter = ("status", "kind", "is_hidden", "benchmark")
    search_fields = ("team__name", "method_name", "file_sha256")
    readonly_fields = ("uuid", "file_path", "file_sha256", "file_size", "image_digest", "attempts",
                       "created_at", "started_at", "finished_at")
    inlines = [ScoreInline, EventInline]
