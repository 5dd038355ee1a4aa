"""``manage.py host_role USERNAME [--revoke]``: staff grant (or take back) the host role."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from earthbench.benchmarks.hosting import can_host, host_role_grant


class Command(BaseCommand):
    help = "Grant or revoke the host role (create and manage own benchmarks)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--revoke", action="store_true")

    def handle(self, *args, **opts):
        try:
            user = get_user_model().objects.get(username=opts["username"])
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user {opts['username']!r}") from None
        host_role_grant(user=user, granted=not opts["revoke"])
        user = get_user_model().objects.get(pk=user.pk)
        state = "is a host" if can_host(user=user) else "is not a host"
        self.stdout.write(f"{user.username} {state}")
