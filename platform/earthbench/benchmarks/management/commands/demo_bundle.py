"""``manage.py demo_bundle``: the demo's benchmark created from a bundle.

Builds the example bundle (``benchmarks/bundle_example.py``) into ``var/``, makes
a non-staff user with the host role (``demo-host`` / ``demo-password-123``) and
creates and publishes the benchmark through the same service as the website, the
API and ``earthbench host create``. Idempotent: an existing benchmark is kept.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from benchmarks.bundle_example import EXAMPLE_SPEC, build_example_bundle
from earthbench.accounts.services import user_create
from earthbench.benchmarks.bundles import BundleError
from earthbench.benchmarks.host_services import benchmark_set_published, bundle_create
from earthbench.benchmarks.hosting import host_role_grant
from earthbench.benchmarks.models import Benchmark


class Command(BaseCommand):
    help = "Create and publish the example benchmark from a bundle (for make demo)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo-host")
        parser.add_argument("--password", default="demo-password-123")

    def handle(self, *args, **o):
        slug = EXAMPLE_SPEC["slug"]
        user = get_user_model().objects.filter(username=o["username"]).first()
        if user is None:
            user = user_create(username=o["username"], password=o["password"])
        host_role_grant(user=user)
        user = get_user_model().objects.get(pk=user.pk)
        bench = Benchmark.objects.filter(slug=slug).first()
        if bench is None:
            path = build_example_bundle(settings.VAR_DIR / "example-bundle.zip")
            try:
                bench, report = bundle_create(user=user, path=path, display=path.name)
            except BundleError as exc:
                raise CommandError(str(exc)) from None
            splits = report["splits"]
            self.stdout.write(
                f"{slug}: created from {path} (public {splits['public']}, "
                f"private {splits['private']})"
            )
        if not bench.is_published:
            benchmark_set_published(user=user, benchmark=bench, published=True)
        self.stdout.write(
            f"Bundle benchmark: /benchmarks/{slug}/ — host page /benchmarks/{slug}/host/ "
            f"(log in as {o['username']} / {o['password']})"
        )
