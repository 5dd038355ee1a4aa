"""What hosts do to their benchmarks: create or update from a bundle, publish,
edit fields, make and fill new versions. Every rule is checked before anything
changes; every change is recorded in the audit trail (``BenchmarkChange``)."""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from pathlib import Path

from django.db import IntegrityError, transaction

from benchmarks.catalog import BenchmarkSpec
from benchmarks.generators import DemoData
from earthbench import storage
from earthbench.benchmarks import layout, services
from earthbench.benchmarks.bundles import Bundle, BundleError, bundle_load, scoring_key
from earthbench.benchmarks.host_edits import (  # noqa: F401 - re-exported for the views
    LIMIT_KEYS,
    EditError,
    benchmark_edit,
    editable_fields,
)
from earthbench.benchmarks.hosting import (
    record_change,
    require_host,
    require_manage,
)
from earthbench.benchmarks.models import Benchmark
from earthbench.submissions import baselines, intake, uploads
from earthbench.submissions.errors import SubmissionRefused
from earthbench.submissions.models import Submission, Upload

VERSION_RE = re.compile(r"^(?P<family>.+)-v(?P<n>[0-9]+)$")


def _work_dir() -> Path:
    base = storage.root() / "bundles"
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="work.", dir=base))


def _spec(bundle: Bundle, slug: str) -> BenchmarkSpec:
    import hashlib
    import json

    data = {**bundle.data, "slug": slug}
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    return BenchmarkSpec(slug=slug, path=bundle.yaml_path, data=data, sha256=digest)


def _install(bench: Benchmark, bundle: Bundle) -> None:
    services.install_dataset(
        benchmark=bench,
        data=DemoData(
            public_dir=bundle.public_dir,
            truth_path=bundle.truth,
            sample_ids=bundle.sample_ids,
            baseline_path=bundle.baseline,
            baseline_name="baseline (bundle)",
        ),
        source="bundle",
        splits=bundle.splits,
        extra_meta={
            "bundle_report": bundle.report,
            "scoring_key": bundle.scoring_key(),
            "truth_sha256": bundle.truth_sha256,
        },
    )


def _create(bundle: Bundle, *, slug: str, user, previous: Benchmark | None, note: str):
    """A new, unpublished benchmark from a validated bundle."""
    spec = _spec(bundle, slug)
    try:
        with transaction.atomic():
            # create() first: a concurrent creator of the same slug loses here,
            # never overwrites; benchmark_sync then fills every field from the YAML.
            Benchmark.objects.create(
                slug=slug, title=bundle.data["title"], task_kind=bundle.data["task_kind"],
                is_published=False, previous_version=previous,
            )
            bench = services.benchmark_sync(spec=spec)
            bench.hosts.add(user)
            if previous is not None:
                bench.hosts.add(*previous.hosts.all())
            record_change(benchmark=bench, user=user, action="created", new=slug, note=note)
            if previous is not None:
                record_change(benchmark=previous, user=user, action="version", new=slug,
                              note=note)
    except IntegrityError:
        raise BundleError(f"benchmark.yaml: field 'slug': {slug!r} already exists") from None
    try:
        _install(bench, bundle)
        baselines.baseline_ensure(benchmark=bench)
    except BaseException:
        # Nothing half-made stays behind.
        shutil.rmtree(storage.benchmark_dir(slug), ignore_errors=True)
        Submission.objects.filter(benchmark=bench).delete()
        bench.delete()
        raise
    bench.refresh_from_db()
    return bench


@contextlib.contextmanager
def uploaded_path(uploaded):
    """A Django ``UploadedFile`` as a path on disk (spilled to a temporary file)."""
    if hasattr(uploaded, "temporary_file_path"):
        yield Path(uploaded.temporary_file_path())
        return
    tmp = Path(tempfile.mkdtemp(prefix="eb-bundle-up-"))
    try:
        path = tmp / "bundle.zip"
        with open(path, "wb") as out:
            for chunk in uploaded.chunks():
                out.write(chunk)
        yield path
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def completed_upload_path(*, user, upload_id):
    """A completed chunked upload of ``user`` (``/api/v1/uploads/``) as a path and
    its file name. It is claimed (atomically marked consumed) before the block
    runs and given back if the block fails, so one upload makes one benchmark
    even when two requests race for it."""
    import uuid

    try:
        up = Upload.objects.filter(uuid=uuid.UUID(str(upload_id)), user=user).first()
    except ValueError:
        up = None
    if up is None:
        raise BundleError(f"upload {upload_id!r}: no such upload")
    try:
        uploads.upload_open(upload=up).close()  # refuses incomplete or used uploads
    except SubmissionRefused as exc:
        raise BundleError(f"upload {upload_id}: {exc}") from None
    if not uploads.upload_claim(upload=up):
        raise BundleError(f"upload {upload_id}: this upload was already used")
    try:
        yield storage.absolute(up.rel_path), up.filename
    except BaseException:
        uploads.upload_release(upload=up)
        raise
    # The bundle now lives in the benchmark's own storage: the upload's bytes
    # (up to the upload limit) would otherwise stay on the volume for good.
    storage.absolute(up.rel_path).unlink(missing_ok=True)


def _load(path: Path, display: str) -> tuple[Bundle, Path]:
    work = _work_dir()
    try:
        return bundle_load(Path(path), workdir=work, display=display), work
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def bundle_create(*, user, path: Path, display: str = "bundle.zip") -> tuple[Benchmark, dict]:
    """Validate a bundle and create its benchmark, unpublished, hosted by ``user``."""
    require_host(user=user)
    bundle, work = _load(path, display)
    try:
        existing = Benchmark.objects.filter(slug=bundle.slug).first()
        if existing is not None:
            from earthbench.benchmarks.hosting import can_manage

            if can_manage(user=user, benchmark=existing):
                raise BundleError(
                    f"benchmark.yaml: field 'slug': {bundle.slug!r} already exists; update it "
                    f"(earthbench host update {bundle.slug} BUNDLE.zip) or pick a new slug"
                )
            raise BundleError(
                f"benchmark.yaml: field 'slug': {bundle.slug!r} belongs to another host; "
                "pick another slug"
            )
        if _in_catalog(bundle.slug):
            raise BundleError(
                f"benchmark.yaml: field 'slug': {bundle.slug!r} is a catalog benchmark "
                "(benchmarks/ folder); pick another slug"
            )
        bench = _create(bundle, slug=bundle.slug, user=user, previous=None,
                        note=f"created from {display}")
        return bench, {**bundle.report, "action": "created", "slug": bench.slug}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _in_catalog(slug: str) -> bool:
    """The catalog folder owns this slug (``load_catalog`` would sync onto it)."""
    from django.conf import settings

    return (Path(settings.EARTHBENCH_CATALOG_DIR) / slug).exists()


def next_version_slug(slug: str) -> str:
    m = VERSION_RE.match(slug)
    family = m.group("family") if m else slug
    n = max(
        [int(VERSION_RE.match(s).group("n")) for s in Benchmark.objects.filter(
            slug__regex=rf"^{re.escape(family)}-v[0-9]+$").values_list("slug", flat=True)]
        or [0]
    )
    while _in_catalog(f"{family}-v{n + 1}"):
        n += 1
    return f"{family}-v{n + 1}"


def _current_key(bench: Benchmark) -> dict | None:
    meta = layout.dataset_meta(bench) or {}
    key = meta.get("scoring_key")
    if key is None:
        return None
    splits = layout.require(bench).splits
    return scoring_key(
        task_kind=bench.task_kind, metrics=bench.metrics, primary=bench.primary_metric,
        options=bench.options, truth_sha256=meta.get("truth_sha256"), splits=splits,
    )


def bundle_update(
    *, user, slug: str, path: Path, display: str = "bundle.zip"
) -> tuple[Benchmark, dict]:
    """Update a hosted benchmark from a bundle. Same truth, splits and metrics: the
    benchmark is updated in place (its numbers cannot change). Otherwise a new
    version ``<name>-v<N+1>`` is created, unpublished, and the old one is untouched."""
    bench = Benchmark.objects.filter(slug=slug).first()
    if bench is None:
        raise BundleError(f"no benchmark {slug!r}")
    require_manage(user=user, benchmark=bench)
    bundle, work = _load(path, display)
    try:
        if bundle.slug != slug:
            raise BundleError(
                f"benchmark.yaml: field 'slug': {bundle.slug!r} must be {slug!r}, the "
                "benchmark being updated (a new version is named by the platform)"
            )
        old_key = _current_key(bench)
        if old_key is not None and old_key == bundle.scoring_key():
            changed = _update_in_place(bench, bundle, user=user, display=display)
            return bench, {**bundle.report, "action": "updated", "slug": bench.slug,
                           "changed": changed}
        reasons = _why_new_version(old_key, bundle.scoring_key())
        new_slug = next_version_slug(slug)
        new = _create(bundle, slug=new_slug, user=user, previous=bench,
                      note=f"new version of {slug} ({reasons}) from {display}")
        return new, {**bundle.report, "action": "new_version", "slug": new.slug,
                     "previous": slug, "reasons": reasons}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _why_new_version(old: dict | None, new: dict) -> str:
    if old is None:
        return "the installed data did not come from a bundle"
    names = {"truth_sha256": "new truth", "splits_sha256": "new split assignment",
             "metrics": "changed metrics", "primary": "changed primary metric",
             "options": "changed options", "task_kind": "changed task kind"}
    return ", ".join(v for k, v in names.items() if old.get(k) != new.get(k))


TRACKED = ("title", "summary", "card", "deadline", "daily_quota", "max_in_flight",
           "final_selection_count", "container_limits", "accepts_predictions",
           "accepts_containers")


def _update_in_place(bench: Benchmark, bundle: Bundle, *, user, display: str) -> list[str]:
    before = {f: _jsonable(getattr(bench, f)) for f in TRACKED}
    services.benchmark_sync(spec=_spec(bundle, bench.slug))
    _install(bench, bundle)
    baselines.baseline_ensure(benchmark=bench)
    bench.refresh_from_db()
    changed = []
    for f in TRACKED:
        after = _jsonable(getattr(bench, f))
        if after != before[f]:
            changed.append(f)
            record_change(benchmark=bench, user=user, action="bundle", field=f,
                          old=before[f], new=after, note=f"from {display}")
    if not changed:
        record_change(benchmark=bench, user=user, action="bundle",
                      note=f"{display}: public files and baseline re-installed")
    return changed


def _jsonable(v):
    return v.isoformat() if hasattr(v, "isoformat") else v


def benchmark_set_published(*, user, benchmark: Benchmark, published: bool) -> Benchmark:
    require_manage(user=user, benchmark=benchmark)
    if published and layout.dataset_meta(benchmark) is None:
        raise BundleError(f"{benchmark.slug}: no data installed; upload a bundle first")
    with transaction.atomic():
        bench = Benchmark.objects.select_for_update().get(pk=benchmark.pk)
        if bench.is_published != published:
            bench.is_published = published
            bench.save(update_fields=["is_published", "updated_at"])
            record_change(benchmark=bench, user=user,
                          action="published" if published else "unpublished",
                          field="is_published", old=not published, new=published)
    return bench


# ------------------------------------------------------------------ versions


def rescore_into_new_version(*, user, new: Benchmark, old: Benchmark | None = None) -> int:
    """Queue the old version's scored prediction submissions on the new version
    (same team, author, file and metadata); the old board keeps its numbers.
    Idempotent: a submission already carried over is skipped."""
    old = old or new.previous_version
    if old is None:
        raise BundleError(f"{new.slug} is not a new version of another benchmark")
    require_manage(user=user, benchmark=new)
    require_manage(user=user, benchmark=old)
    n = 0
    for sub in Submission.objects.filter(
        benchmark=old, status=Submission.Status.SCORED, kind=Submission.Kind.PREDICTIONS,
        is_baseline=False, is_hidden=False,
    ).order_by("pk"):
        copy = intake.submission_copy(
            source=sub, benchmark=new, idempotency_key=f"rescore:{sub.uuid}:{new.slug}",
            note=f"re-scored from {old.slug} #{sub.pk}",
        )
        n += copy is not None
    record_change(benchmark=new, user=user, action="rescore", old=old.slug, new=n,
                  note=f"{n} submission(s) of {old.slug} queued on {new.slug}")
    return n
