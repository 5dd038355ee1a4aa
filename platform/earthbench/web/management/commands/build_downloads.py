"""``manage.py build_downloads``: wheels of the CLI and the scorer for /downloads/."""

import subprocess

from django.core.management.base import BaseCommand, CommandError

from earthbench.downloads import build_wheels, downloads_dir


class Command(BaseCommand):
    help = "Build the wheels of earthbench-client and earthbench-evaluator served at /downloads/."

    def add_arguments(self, parser):
        parser.add_argument("--dest", default=None, help=f"folder (default {downloads_dir()})")

    def handle(self, *args, **opts):
        try:
            wheels = build_wheels(opts["dest"])
        except subprocess.CalledProcessError as exc:
            raise CommandError(f"pip wheel failed:\n{exc.stderr[-2000:]}") from None
        for wheel in wheels:
            self.stdout.write(f"{wheel}")
