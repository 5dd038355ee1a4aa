"""``manage.py import_benchmark <slug> --source DIR``: install a real dataset.

Runs the benchmark's importer (YAML ``importer.name``, else
``benchmarks.importers.DEFAULT_IMPORTER[slug]``, or ``--importer``) on the
dataset folder in its native layout, in a temporary work folder, then installs
it like demo data (private truth, fixed public/private splits, public.zip) with
source ``import:<name>`` so that ``load_catalog`` never replaces it by demo data.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from benchmarks.catalog import CatalogError
from benchmarks.importers import DEFAULT_IMPORTER, ImporterError, run_importer
from earthbench import storage
from earthbench.benchmarks import services
from earthbench.benchmarks.models import Benchmark


class Command(BaseCommand):
    help = "Import a real dataset (native layout) as a benchmark's test data."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument(
            "--source", required=True, help="dataset folder (native layout)"
        )
        parser.add_argument(
            "--split-seed",
            type=int,
            default=None,
            help="seed of the public/private split (and of a seeded test split)",
        )
        parser.add_argument(
            "--importer", default=None, help="importer name (overrides the YAML)"
        )
        parser.add_argument(
            "--catalog", default=None, help="catalog folder to sync from"
        )

    def _benchmark(self, slug: str, catalog: str | None) -> Benchmark:
        bench = Benchmark.objects.filter(slug=slug).first()
        if bench is None or catalog:
            try:
                services.catalog_sync(
                    root=Path(catalog)
                ) if catalog else services.catalog_sync()
            except CatalogError as exc:
                raise CommandError(str(exc)) from None
            bench = Benchmark.objects.filter(slug=slug).first()
        if bench is None:
            raise CommandError(f"unknown benchmark {slug!r} (not in the catalog)")
        return bench

    def handle(self, *args, **opts):
        slug = opts["slug"]
        source = Path(opts["source"]).expanduser()
        if not source.is_dir():
            raise CommandError(f"--source {source}: not a folder")
        bench = self._benchmark(slug, opts["catalog"])
        spec_imp = (bench.spec or {}).get("importer", {}) or {}
        name = opts["importer"] or spec_imp.get("name") or DEFAULT_IMPORTER.get(slug)
        if not name:
            raise CommandError(
                f"{slug}: no importer (add `importer: {{name: ...}}` to its YAML or pass --importer)"
            )
        params = dict(spec_imp.get("params") or {})
        if opts["split_seed"] is not None:
            params["split_seed"] = opts["split_seed"]
        # Work next to the storage area: hard links from the source stay cheap there.
        root = storage.benchmark_dir(slug).parent
        root.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f"{slug}.import.", dir=root))
        try:
            try:
                data = run_importer(name, source=source, out_dir=work, params=params)
            except ImporterError as exc:
                raise CommandError(f"{name}: {exc}") from None
            services.install_dataset(
                benchmark=bench,
                data=data,
                source=f"import:{name}",
                split_seed=opts["split_seed"],
            )
        finally:
            shutil.rmtree(work, ignore_errors=True)
        self.stdout.write(
            self.style.SUCCESS(
                f"{slug}: imported {len(data.sample_ids)} test samples with importer {name!r}"
            )
        )
