"""Who may host: the host role and the per-benchmark check, in one place.

The host role is the ``eb_benchmarks.host_benchmarks`` permission, granted by staff
(admin, or ``manage.py host_role USER``) to a user or a group; it is not staff
rights. A host creates benchmarks and manages only those whose ``hosts`` include
them; staff manage every benchmark.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from earthbench.benchmarks.models import Benchmark, BenchmarkChange

HOST_PERMISSION = "eb_benchmarks.host_benchmarks"


class HostingDenied(PermissionError):
    """The user may not do this; the message says why."""


def can_host(*, user) -> bool:
    """May ``user`` create benchmarks (the host role, or staff)?"""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.is_staff or user.has_perm(HOST_PERMISSION)


def can_manage(*, user, benchmark: Benchmark) -> bool:
    """May ``user`` edit, publish, update or version ``benchmark``?"""
    if not can_host(user=user):
        return False
    return user.is_staff or benchmark.hosts.filter(pk=user.pk).exists()


def require_host(*, user) -> None:
    if not can_host(user=user):
        raise HostingDenied(
            "creating benchmarks needs the host role; ask the site staff to grant it"
        )


def require_manage(*, user, benchmark: Benchmark) -> None:
    require_host(user=user)
    if not can_manage(user=user, benchmark=benchmark):
        raise HostingDenied(f"{benchmark.slug} is hosted by another host; you cannot change it")


def hosted_benchmarks(*, user):
    """The benchmarks ``user`` manages, newest first (all of them for staff)."""
    if not can_host(user=user):
        return Benchmark.objects.none()
    qs = Benchmark.objects.all() if user.is_staff else Benchmark.objects.filter(hosts=user)
    return qs.order_by("-created_at", "slug")


def host_role_grant(*, user, granted: bool = True) -> None:
    """Give (or take back) the host role; the staff-side action. Taking it back
    also ends the user's hosting of every benchmark (its private split, queue and
    re-scoring), recorded in each benchmark's audit trail."""
    perm = Permission.objects.get(
        content_type__app_label="eb_benchmarks", codename="host_benchmarks"
    )
    if granted:
        user.user_permissions.add(perm)
    else:
        user.user_permissions.remove(perm)
        for bench in Benchmark.objects.filter(hosts=user):
            bench.hosts.remove(user)
            record_change(benchmark=bench, user=None, action="edited", field="hosts",
                          old=user.get_username(), new=None, note="host role revoked")
    # Drop Django's per-object permission cache.
    for attr in ("_perm_cache", "_user_perm_cache"):
        user.__dict__.pop(attr, None)


def get_user(username: str):
    return get_user_model().objects.get(username=username)


def record_change(
    *, benchmark: Benchmark, user, action: str, field: str = "", old=None, new=None, note: str = ""
) -> BenchmarkChange:
    return BenchmarkChange.objects.create(
        benchmark=benchmark,
        user=user if user is not None and user.is_authenticated else None,
        action=action,
        field=field,
        old=old,
        new=new,
        note=note,
    )


def change_log(*, benchmark: Benchmark, limit: int = 200) -> list[BenchmarkChange]:
    return list(benchmark.changes.select_related("user")[:limit])
