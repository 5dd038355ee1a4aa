from django.contrib import admin

from earthbench.accounts.models import ApiToken, Membership, Team


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    # Always the team's benchmark (set on save): one team per user and benchmark.
    exclude = ("benchmark",)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "benchmark", "is_personal", "created_at")
    list_filter = ("benchmark",)
    search_fields = ("name",)
    inlines = [MembershipInline]

    def get_readonly_fields(self, request, obj=None):
        # A team never changes benchmark (its members and submissions are there).
        return ("benchmark",) if obj is not None else ()

    def save_formset(self, request, form, formset, change):
        for obj in formset.save(commit=False):
            obj.benchmark_id = form.instance.benchmark_id
            obj.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("key_hash", "prefix")
