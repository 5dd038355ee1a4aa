from django.contrib import admin

from earthbench.accounts.models import ApiToken, Membership, Team


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    readonly_fields = ("benchmark",)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "benchmark", "is_personal", "created_at")
    list_filter = ("benchmark",)
    inlines = [MembershipInline]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("key_hash", "prefix")
