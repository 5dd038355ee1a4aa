"""Catalog → database, demo data → storage (layout: ``benchmarks/layout.py``).

Baselines are submissions: ``submissions.baselines`` submits and scores them."""

from __future__ import annotations

import logging
import shutil
import zipfile
from datetime import UTC as datetime_utc
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from benchmarks import generators
from benchmarks.catalog import BenchmarkSpec, load_catalog
from benchmarks.generators.cache import generate_cached
from benchmarks.splits import assign_splits
from earthbench import storage
from earthbench.benchmarks import layout, previews
from earthbench.benchmarks.models import Benchmark, Split

log = logging.getLogger(__name__)

DEMO_FORMAT = 1  # bump to regenerate every demo dataset


def _deadline(value) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        dt = parse_datetime(str(value))
        if dt is None:
            raise ValueError(f"deadline {value!r} is not an ISO 8601 date-time")
    return dt if timezone.is_aware(dt) else timezone.make_aware(dt, datetime_utc)


@transaction.atomic
def benchmark_sync(*, spec: BenchmarkSpec) -> Benchmark:
    """Create or update the Benchmark row for a spec (idempotent)."""
    d = spec.data
    sub = d.get("submission", {})
    primary = d["primary_metric"]
    # A suite aggregates its members' leaderboards; participants submit to them.
    suite = bool(d.get("suite", {}).get("members"))
    defaults = {
        "version": spec.version,
        "title": d["title"],
        "summary": d["summary"].strip(),
        "task_kind": d["task_kind"],
        "papers": d["papers"],
        "modalities": d.get("modalities", []),
        "metrics": d["metrics"],
        "primary_metric": primary,
        "primary_direction": spec.metric_direction(primary),
        "formats": d["formats"],
        "options": d.get("options", {}),
        "reference_results": d.get("reference_results", []),
        "card": spec.card,
        "accepts_predictions": sub.get("predictions", True) and not suite,
        "accepts_containers": sub.get("containers", False) and not suite,
        "container_limits": sub.get("container_limits", {}),
        "daily_quota": sub.get("daily_quota", 5),
        "max_in_flight": sub.get("max_in_flight", 3),
        "final_selection_count": sub.get("final_selection", 2),
        "spec": d,
        "spec_sha256": spec.sha256,
    }
    bench, created = Benchmark.objects.get_or_create(slug=spec.slug, defaults={
        **defaults, "deadline": _deadline(sub.get("deadline"))
    })
    if not created and bench.spec_sha256 != spec.sha256:
        # Deadline and quotas are host-editable in the admin: only the YAML's own
        # changes overwrite them.
        for k, v in defaults.items():
            setattr(bench, k, v)
        bench.deadline = _deadline(sub.get("deadline"))
        bench.save()
    elif suite and (bench.accepts_predictions or bench.accepts_containers):
        # Rows loaded before suites refused uploads (the YAML did not change).
        bench.accepts_predictions = bench.accepts_containers = False
        bench.save(update_fields=["accepts_predictions", "accepts_containers"])
    for name in (Split.Name.PUBLIC, Split.Name.PRIVATE):
        Split.objects.get_or_create(benchmark=bench, name=name)
    return bench


def _zip_dir(src: Path, dest: Path) -> None:
    tmp = dest.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(src.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(src).as_posix())
    tmp.replace(dest)


def install_dataset(
    *,
    benchmark: Benchmark,
    data: generators.DemoData,
    source: str,
    split_seed: int | None = None,
    extra_meta: dict | None = None,
    splits: dict[str, list[str]] | None = None,
) -> None:
    """Move generated or imported data into the storage area, with its splits
    (``splits``: a fixed assignment, e.g. a bundle's ``splits.json``)."""
    spec_splits = benchmark.spec.get("splits", {})
    seed = spec_splits.get("seed", 0) if split_seed is None else split_seed
    if splits is None:
        splits = assign_splits(
            data.sample_ids, public_fraction=spec_splits.get("public_fraction", 0.5), seed=seed
        )
    bdir = storage.benchmark_dir(benchmark.slug)
    staging = bdir.with_name(bdir.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "private").mkdir(parents=True)
    shutil.copytree(data.public_dir, staging / "public")
    truth_name = "truth" + ("" if data.truth_path.is_dir() else data.truth_path.suffix)
    if data.truth_path.is_dir():
        shutil.copytree(data.truth_path, staging / "private" / truth_name)
    else:
        shutil.copy2(data.truth_path, staging / "private" / truth_name)
    meta = {
        "truth": truth_name,
        "source": source,
        "demo_format": DEMO_FORMAT,
        "spec_sha256": benchmark.spec_sha256,
        "n_samples": len(data.sample_ids),
        "baseline_name": data.baseline_name,
        "blocks": data.blocks or None,
        **(extra_meta or {}),
    }
    if data.baseline_path is not None:
        base_name = "baseline" + "".join(data.baseline_path.suffixes)
        shutil.copy2(data.baseline_path, staging / "private" / base_name)
        meta["baseline"] = base_name
    layout.write_private(staging / "private", splits=splits, meta=meta)
    _zip_dir(staging / "public", staging / "public.zip")
    previews.render_previews(staging / "public", staging / "previews")
    old = bdir.with_name(bdir.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if bdir.exists():
        bdir.rename(old)
    staging.rename(bdir)
    shutil.rmtree(old, ignore_errors=True)
    with transaction.atomic():
        for name in (Split.Name.PUBLIC, Split.Name.PRIVATE):
            Split.objects.filter(benchmark=benchmark, name=name).update(
                n_samples=len(splits[name])
            )


def ensure_previews(benchmark: Benchmark) -> None:
    """Render the data tab's previews of an installed dataset that has none."""
    bdir = storage.benchmark_dir(benchmark.slug)
    if (bdir / "public").is_dir() and not (bdir / "previews" / "previews.json").exists():
        previews.render_previews(bdir / "public", bdir / "previews")


def benchmark_prepare_demo(*, benchmark: Benchmark, force: bool = False) -> bool:
    """Generate the demo dataset unless an up-to-date one (or an import) exists."""
    demo = benchmark.spec.get("demo")
    if not demo:
        return False
    meta = layout.dataset_meta(benchmark)
    if meta and not force:
        if meta["source"] != "demo":
            return False  # a real import is never overwritten by demo data
        if (
            meta.get("demo_format") == DEMO_FORMAT
            and meta.get("spec_sha256") == benchmark.spec_sha256
            and meta.get("generator_sha256") == generators.generator_sha256(demo["generator"])
        ):
            ensure_previews(benchmark)  # data installed before previews existed
            return False
    work = storage.benchmark_dir(benchmark.slug).with_name(benchmark.slug + ".work")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        args = dict(params=demo.get("params", {}), out_dir=work, seed=demo.get("seed", 0))
        if settings.EARTHBENCH_DEMO_CACHE_DIR:  # the same bytes, generated once
            data = generate_cached(demo["generator"], cache_dir=settings.EARTHBENCH_DEMO_CACHE_DIR, **args)
        else:
            data = generators.generate(demo["generator"], **args)
        install_dataset(
            benchmark=benchmark,
            data=data,
            source="demo",
            extra_meta={"generator_sha256": generators.generator_sha256(demo["generator"])},
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return True


def catalog_sync(*, root: Path | None = None) -> list[Benchmark]:
    specs = load_catalog(root) if root else load_catalog()
    return [benchmark_sync(spec=spec) for spec in specs]
