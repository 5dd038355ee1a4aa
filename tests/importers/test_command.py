"""End-to-end: ``manage.py import_benchmark`` installs an imported dataset."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from benchmarks.catalog import CATALOG_DIR
from benchmarks.splits import assign_splits

SLUG = "levir-cd-v1"


def _catalog(tmp_path):
    """A one-benchmark catalog: the repository's levir-cd-v1 YAML, else a minimal one."""
    root = tmp_path / "catalog"
    (root / SLUG).mkdir(parents=True)
    src = CATALOG_DIR / SLUG / "benchmark.yaml"
    if src.is_file() and "include:" not in src.read_text():
        shutil.copy(src, root / SLUG / "benchmark.yaml")
    else:
        spec = {
            "slug": SLUG,
            "title": "LEVIR-CD",
            "summary": "Building change detection.",
            "papers": ["p"],
            "task_kind": "change-detection",
            "metrics": [{"key": "f1", "direction": "max"}],
            "primary_metric": "f1",
            "formats": ["masks"],
            "options": {"variant": "binary"},
            "splits": {"public_fraction": 0.5, "seed": 0},
        }
        (root / SLUG / "benchmark.yaml").write_text(yaml.safe_dump(spec))
    return root


@pytest.mark.django_db(transaction=True)
def test_import_benchmark_levir_cd(shared_data, tmp_path):
    src = shared_data("ucd_scm_samples", "samples_LEVIR")
    call_command(
        "import_benchmark",
        SLUG,
        source=str(src),
        catalog=str(_catalog(tmp_path)),
        split_seed=3,
    )
    bdir = settings.EARTHBENCH_STORAGE_DIR / "benchmarks" / SLUG
    truth = bdir / "private" / "truth"
    assert sorted(p.stem for p in truth.iterdir()) == ["test_102", "test_12", "test_7"]
    splits = json.loads((bdir / "private" / "splits.json").read_text())
    assert splits == assign_splits(
        ["test_102", "test_12", "test_7"], public_fraction=0.5, seed=3
    )
    meta = json.loads((bdir / "private" / "meta.json").read_text())
    assert meta["source"] == "import:levir-cd" and meta["n_samples"] == 3
    assert (bdir / "public.zip").is_file()
    # The import is never replaced by demo data.
    from earthbench.benchmarks import services
    from earthbench.benchmarks.models import Benchmark

    assert (
        services.benchmark_prepare_demo(benchmark=Benchmark.objects.get(slug=SLUG))
        is False
    )
    # No leftover work folders next to the storage area.
    assert not list(
        (settings.EARTHBENCH_STORAGE_DIR / "benchmarks").glob(f"{SLUG}.import.*")
    )


@pytest.mark.django_db(transaction=True)
def test_import_benchmark_errors(tmp_path):
    cat = str(_catalog(tmp_path))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CommandError, match=r"levir-cd: .*missing folder `A/`"):
        call_command("import_benchmark", SLUG, source=str(empty), catalog=cat)
    with pytest.raises(CommandError, match="unknown importer 'nope'"):
        call_command(
            "import_benchmark", SLUG, source=str(empty), catalog=cat, importer="nope"
        )
    with pytest.raises(CommandError, match="unknown benchmark 'zz-v1'"):
        call_command("import_benchmark", "zz-v1", source=str(empty), catalog=cat)
    with pytest.raises(CommandError, match="not a folder"):
        call_command(
            "import_benchmark", SLUG, source=str(tmp_path / "missing"), catalog=cat
        )
