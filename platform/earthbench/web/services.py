"""Website-only glue over the catalog and benchmark services."""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from pathlib import Path

import yaml
from django.conf import settings

from benchmarks.catalog import SLUG_RE, CatalogError, load_spec
from earthbench.benchmarks.models import Benchmark
from earthbench.benchmarks.services import benchmark_prepare_demo, benchmark_sync

log = logging.getLogger(__name__)

MAX_YAML_BYTES = 256 * 1024


def _slug_of(text: str) -> str:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        data = None  # load_spec reports the YAML error with its position
    slug = data.get("slug") if isinstance(data, dict) else None
    if isinstance(slug, str) and re.fullmatch(SLUG_RE, slug):
        return slug
    # load_spec names the bad or missing slug; the folder name is irrelevant then.
    return "uploaded-v1"


def benchmark_create_from_yaml(
    *, content: bytes, prepare_demo: bool = True
) -> tuple[Benchmark, str | None]:
    """Validate an uploaded benchmark.yaml, add it to the catalog folder and sync it.

    Raises ``CatalogError`` (naming the field) for an invalid file or a slug whose
    catalog folder already exists; nothing is written in that case. Returns the
    benchmark and, when its demo data could not be generated, why (the benchmark
    itself exists then; a real dataset can still be imported).
    """
    if len(content) > MAX_YAML_BYTES:
        raise CatalogError(f"benchmark.yaml: larger than {MAX_YAML_BYTES // 1024} KiB")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise CatalogError("benchmark.yaml: not UTF-8 text") from None
    catalog_dir = Path(settings.EARTHBENCH_CATALOG_DIR)
    slug = _slug_of(text)
    with tempfile.TemporaryDirectory(prefix="eb-yaml-") as tmp:
        folder = Path(tmp) / slug
        folder.mkdir()
        (folder / "benchmark.yaml").write_text(text, encoding="utf-8")
        # ``include:`` resolves against the real catalog.
        try:
            spec = load_spec(folder / "benchmark.yaml", root=catalog_dir)
        except CatalogError as exc:
            # Name the uploaded file, not the temporary folder.
            message = str(exc).replace(str(folder / "benchmark.yaml"), "benchmark.yaml")
            raise CatalogError(message) from None
        target = catalog_dir / spec.slug
        if target.exists():
            raise CatalogError(
                f"benchmark.yaml: field 'slug': {spec.slug!r} already exists in the catalog; "
                "publish a new version (e.g. -v2) instead"
            )
        target.mkdir(parents=True)
        try:
            shutil.copy2(folder / "benchmark.yaml", target / "benchmark.yaml")
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
    spec = load_spec(target / "benchmark.yaml", root=catalog_dir)
    bench = benchmark_sync(spec=spec)
    demo_error = None
    if prepare_demo:
        try:
            benchmark_prepare_demo(benchmark=bench)
        except Exception as exc:  # a generator problem must not lose the new benchmark
            log.exception("demo data for %s failed", bench.slug)
            demo_error = f"{type(exc).__name__}: {exc}"
    return bench, demo_error
