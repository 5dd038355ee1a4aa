"""Benchmark bundles: validation, creation, refusals that change nothing, versions."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from pathlib import Path

import pytest

from benchmarks.bundle_example import EXAMPLE_SPEC, build_example_bundle
from earthbench import storage
from earthbench.benchmarks.bundles import BundleError, yaml_line
from earthbench.benchmarks.host_services import (
    benchmark_set_published,
    bundle_create,
    bundle_update,
    rescore_into_new_version,
)
from earthbench.benchmarks.hosting import HostingDenied, host_role_grant
from earthbench.benchmarks.models import Benchmark, BenchmarkChange
from earthbench.leaderboards.selectors import leaderboard_rows
from earthbench.submissions.intake import submission_create
from earthbench.submissions.models import Submission

from .conftest import UserFactory

SLUG = EXAMPLE_SPEC["slug"]


@pytest.fixture(scope="module")
def example_zip(tmp_path_factory) -> Path:
    return build_example_bundle(tmp_path_factory.mktemp("bundle") / "example.zip")


@pytest.fixture(autouse=True)
def own_storage(settings, tmp_path):
    """A fresh storage area per test: "nothing changed" is checked on disk too."""
    settings.EARTHBENCH_STORAGE_DIR = tmp_path / "storage"


@pytest.fixture
def host(transactional_db):
    u = UserFactory()
    host_role_grant(user=u)
    return u


def _rewrite(src: Path, dest: Path, *, drop=(), add: dict | None = None) -> Path:
    """Copy a bundle ZIP, dropping members and adding/replacing some."""
    add = add or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w") as zout:
        for info in zin.infolist():
            if info.filename in drop or info.filename in add:
                continue
            zout.writestr(info, zin.read(info))
        for name, data in add.items():
            zout.writestr(name, data)
    return dest


def _nothing_created():
    assert not Benchmark.objects.filter(slug=SLUG).exists()
    assert not storage.benchmark_dir(SLUG).exists()
    assert not BenchmarkChange.objects.exists()


def test_create_validates_scores_and_stays_unpublished(host, example_zip):
    bench, report = bundle_create(user=host, path=example_zip, display="example.zip")
    assert bench.slug == SLUG and bench.is_published is False
    assert list(bench.hosts.all()) == [host]
    assert report["splits"]["public"] + report["splits"]["private"] == report["n_samples"] == 30
    assert report["splits"]["public"] > 0 and report["splits"]["private"] > 0
    assert 0 < report["baseline"]["scores"]["public"]["oa"] <= 1
    assert set(report["sample_submission"]["scores"]) == {"public", "private"}
    assert bench.card.startswith("# Example land-cover")
    # Data installed like a catalog benchmark; the baseline is on the board.
    assert (storage.private_dir(SLUG) / "truth.csv").exists()
    assert storage.public_zip(SLUG).exists()
    assert {s.name: s.n_samples for s in bench.splits.all()} == {
        "public": report["splits"]["public"], "private": report["splits"]["private"]}
    base = Submission.objects.get(benchmark=bench, is_baseline=True)
    assert base.status == Submission.Status.SCORED
    assert [c.action for c in bench.changes.all()] == ["created"]
    # Unpublished: participants cannot submit until the host publishes.
    with pytest.raises(Exception, match="not open for submissions"):
        submission_create(user=UserFactory(), benchmark=bench, file=io.BytesIO(b"id,label\n"),
                          filename="p.csv", enqueue=False)
    benchmark_set_published(user=host, benchmark=bench, published=True)
    bench.refresh_from_db()
    assert bench.is_published
    assert [c.action for c in bench.changes.all()][0] == "published"


def test_fixed_split_assignment_is_used(host, example_zip, tmp_path):
    ids = [f"test_{i:05d}" for i in range(30)]
    splits = {"public": ids[:10], "private": ids[10:]}
    z = build_example_bundle(tmp_path / "b.zip", splits=splits)
    bench, report = bundle_create(user=host, path=z)
    assert report["splits"] == {"public": 10, "private": 20, "source": "fixed by splits.json"}
    saved = storage.read_json(storage.private_dir(bench.slug) / "splits.json")
    assert saved == splits


@pytest.mark.parametrize(
    "splits, message",
    [
        ({"public": ["test_00000"], "private": ["nope"]}, "'nope' is not a sample id"),
        ({"public": ["test_00000"], "private": ["test_00000"]}, "in both"),
        ({"public": ["test_00000"], "private": ["test_00001"]}, "in neither split"),
        ({"public": []}, "expected"),
    ],
)
def test_bad_split_assignment_is_refused(host, tmp_path, splits, message):
    z = build_example_bundle(tmp_path / "b.zip", splits=splits)
    with pytest.raises(BundleError, match=message) as exc:
        bundle_create(user=host, path=z)
    assert "splits.json" in str(exc.value)
    _nothing_created()


def test_schema_error_names_field_and_line(host, tmp_path):
    text = (
        "slug: example-landcover-v1\ntitle: Example\nsummary: A long enough summary.\n"
        "papers: [x]\ntask_kind: classification\nmetrics:\n"
        "  - {key: oa, direction: max}\n  - {key: macro_f1, direction: up}\n"
        "primary_metric: oa\nformats: [csv]\n"
    )
    z = build_example_bundle(tmp_path / "b.zip", yaml_text=text)
    with pytest.raises(BundleError) as exc:
        bundle_create(user=host, path=z)
    assert str(exc.value).startswith("benchmark.yaml line 8: field 'metrics.1.direction'")
    assert "'up' is not one of" in str(exc.value)
    _nothing_created()


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"task_kind": "astrology"}, "line {task_kind}: field 'task_kind': 'astrology' is not a"),
        ({"options": {"colour": "red"}}, "field 'options': unknown option 'colour'"),
        ({"metrics": [{"key": "ap50", "direction": "max"}], "primary_metric": "ap50"},
         "field 'metrics.0.key': 'ap50' is not a metric of kind 'classification'"),
        ({"demo": {"generator": "classification"}}, "field 'demo': not used in a bundle"),
        ({"submission": {"deadline": "next tuesday"}}, "field 'submission.deadline'"),
        ({"submission": {"container_limits": {"gpus": 1, "tpus": 8}}},
         r"line \d+: field 'submission.container_limits.tpus': unknown limit"),
    ],
)
def test_kind_rules_are_checked(host, tmp_path, spec, message):
    z = build_example_bundle(tmp_path / "b.zip", spec=spec)
    text = zipfile.ZipFile(z).read("benchmark.yaml").decode()
    line = 1 + next(i for i, t in enumerate(text.splitlines()) if t.startswith("task_kind:"))
    message = message.replace("{task_kind}", str(line))
    with pytest.raises(BundleError, match=message):
        bundle_create(user=host, path=z)
    _nothing_created()


def test_yaml_line_of_nested_fields():
    text = "a: 1\nb:\n  c: [1, 2]\n  d:\n    - x\n    - y\n"
    assert yaml_line(text, ["a"]) == 1
    assert yaml_line(text, ["b", "c"]) == 3
    assert yaml_line(text, ["b", "d", 1]) == 6


def test_failing_baseline_refuses_the_bundle(host, example_zip, tmp_path):
    bad = _rewrite(example_zip, tmp_path / "b.zip",
                   add={"baseline.csv": "id,label\ntest_00000,Desert\n"})
    with pytest.raises(BundleError) as exc:
        bundle_create(user=host, path=bad)
    assert str(exc.value).startswith("baseline.csv: the baseline was refused:")
    assert "Desert" in str(exc.value)
    _nothing_created()


def test_truth_the_kind_cannot_read_is_refused(host, example_zip, tmp_path):
    bad = _rewrite(example_zip, tmp_path / "b.zip", add={"truth.csv": "identifier;class\n1;2\n"})
    with pytest.raises(BundleError, match="truth.csv"):
        bundle_create(user=host, path=bad)
    _nothing_created()


def _zip_with(tmp_path: Path, infos: list[tuple[zipfile.ZipInfo, bytes]]) -> Path:
    p = tmp_path / "evil.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in infos:
            zf.writestr(info, data)
    return p


def test_traversal_links_and_bombs_are_refused(host, tmp_path):
    cases = []
    cases.append(([(zipfile.ZipInfo("../evil.txt"), b"x")], "unsafe path"))
    link = zipfile.ZipInfo("public/link")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    cases.append(([(link, b"/etc/passwd")], "symbolic link"))
    bomb = zipfile.ZipInfo("public/zeros.bin")
    bomb.compress_type = zipfile.ZIP_DEFLATED
    cases.append(([(bomb, b"\0" * (20 * 1024 * 1024))], "ZIP bomb"))
    for infos, message in cases:
        with pytest.raises(BundleError, match=message) as exc:
            bundle_create(user=host, path=_zip_with(tmp_path, infos), display="evil.zip")
        assert str(exc.value).startswith("evil.zip")
    assert not (tmp_path.parent / "evil.txt").exists()
    _nothing_created()
    # No extraction leftovers in the storage area either.
    assert not any((storage.root() / "bundles").iterdir())


def test_file_and_folder_of_one_name_is_refused(host, example_zip, tmp_path):
    z = _rewrite(example_zip, tmp_path / "b.zip",
                 add={"public/x": "a file", "public/x/y.txt": "under the file"})
    with pytest.raises(BundleError, match="entry 'public/x/y.txt' cannot be extracted"):
        bundle_create(user=host, path=z, display="b.zip")
    _nothing_created()


def test_missing_parts_and_strays_are_named(host, example_zip, tmp_path):
    for drop, add, message in [
        (("baseline.csv",), {}, "missing baseline.<ext>"),
        (("truth.csv",), {}, "missing truth.<ext> or truth/"),
        ((), {"notes.txt": "hi"}, "unexpected entry 'notes.txt'"),
    ]:
        z = _rewrite(example_zip, tmp_path / "b.zip", drop=drop, add=add)
        with pytest.raises(BundleError, match=message):
            bundle_create(user=host, path=z)
    _nothing_created()


def test_not_a_host_and_other_hosts_benchmark(host, example_zip, transactional_db):
    plain = UserFactory()
    with pytest.raises(HostingDenied, match="host role"):
        bundle_create(user=plain, path=example_zip)
    _nothing_created()
    bench, _ = bundle_create(user=host, path=example_zip)
    other = UserFactory()
    host_role_grant(user=other)
    with pytest.raises(BundleError, match="belongs to another host"):
        bundle_create(user=other, path=example_zip)
    with pytest.raises(BundleError, match="already exists; update it"):
        bundle_create(user=host, path=example_zip)
    with pytest.raises(HostingDenied, match="hosted by another host"):
        bundle_update(user=other, slug=SLUG, path=example_zip)
    with pytest.raises(HostingDenied):
        benchmark_set_published(user=other, benchmark=bench, published=True)
    assert Benchmark.objects.get(slug=SLUG).is_published is False
    assert bench.changes.count() == 1


def test_catalog_slugs_are_not_taken_by_bundles(host, tmp_path):
    z = build_example_bundle(tmp_path / "b.zip", spec={"slug": "eurosat-classification-v1"})
    with pytest.raises(BundleError, match="is a catalog benchmark"):
        bundle_create(user=host, path=z)
    assert not Benchmark.objects.exists()


def test_update_same_truth_edits_in_place(host, example_zip, tmp_path):
    bench, _ = bundle_create(user=host, path=example_zip)
    z = build_example_bundle(tmp_path / "b.zip", spec={"title": "Renamed example"})
    same, report = bundle_update(user=host, slug=SLUG, path=z)
    assert same.pk == bench.pk and report["action"] == "updated"
    assert report["changed"] == ["title"]
    assert Benchmark.objects.get(slug=SLUG).title == "Renamed example"
    change = bench.changes.filter(action="bundle").get()
    assert (change.field, change.old, change.new) == ("title", EXAMPLE_SPEC["title"],
                                                      "Renamed example")


def test_new_truth_makes_v2_and_rescore_carries_submissions(host, example_zip, tmp_path):
    v1, _ = bundle_create(user=host, path=example_zip)
    v1 = benchmark_set_published(user=host, benchmark=v1, published=True)
    participant = UserFactory()
    truth = (storage.private_dir(SLUG) / "truth.csv").read_bytes()
    sub, _ = submission_create(user=participant, benchmark=v1, file=io.BytesIO(truth),
                               filename="perfect.csv")
    sub.refresh_from_db()
    assert sub.status == Submission.Status.SCORED
    old_rows = [(r["team"], r["value"]) for r in _rows(v1)]

    z = build_example_bundle(tmp_path / "b.zip", seed=99)  # new truth
    v2, report = bundle_update(user=host, slug=SLUG, path=z)
    assert v2.slug == "example-landcover-v2" and report["action"] == "new_version"
    assert "new truth" in report["reasons"]
    assert v2.previous_version_id == v1.pk and not v2.is_published
    v1.refresh_from_db()
    assert [(r["team"], r["value"]) for r in _rows(v1)] == old_rows
    assert (storage.private_dir(SLUG) / "truth.csv").read_bytes() == truth

    assert rescore_into_new_version(user=host, new=v2) == 1
    assert rescore_into_new_version(user=host, new=v2) == 0  # idempotent
    copy = Submission.objects.get(benchmark=v2, is_baseline=False)
    assert copy.status == Submission.Status.SCORED and copy.team_id == sub.team_id
    assert copy.file_sha256 == sub.file_sha256
    from earthbench.submissions.quota import quota_for

    assert quota_for(team=sub.team, benchmark=v2).used == 0  # carried over, not spent
    # The v1 oracle is not perfect against the new truth.
    new_value = next(r["value"] for r in _rows(v2) if r["team"] == sub.team.name)
    assert new_value < 1.0
    assert [(r["team"], r["value"]) for r in _rows(v1)] == old_rows
    assert v1.changes.filter(action="version", new="example-landcover-v2").exists()


def test_changed_metric_makes_a_new_version(host, example_zip, tmp_path):
    bundle_create(user=host, path=example_zip)
    z = build_example_bundle(tmp_path / "b.zip", spec={
        "metrics": [{"key": "kappa", "direction": "max"}], "primary_metric": "kappa"})
    v2, report = bundle_update(user=host, slug=SLUG, path=z)
    assert v2.slug.endswith("-v2") and "changed metrics" in report["reasons"]
    assert Benchmark.objects.get(slug=SLUG).primary_metric == "oa"


def _rows(bench):
    rows = leaderboard_rows(benchmark=bench, split="public", limit=50)
    return sorted(({"team": r.team, "value": r.primary_value} for r in rows),
                  key=lambda x: (x["team"], x["value"] or 0))


def test_example_bundle_is_json_serialisable_report(host, example_zip):
    _, report = bundle_create(user=host, path=example_zip)
    json.dumps(report)


def test_demo_bundle_command_creates_and_publishes_once(transactional_db, settings, tmp_path):
    from django.core.management import call_command

    settings.VAR_DIR = tmp_path
    out = io.StringIO()
    call_command("demo_bundle", stdout=out)
    assert f"{SLUG}: created from" in out.getvalue()
    bench = Benchmark.objects.get(slug=SLUG)
    assert bench.is_published and [u.username for u in bench.hosts.all()] == ["demo-host"]
    assert not bench.hosts.get().is_staff
    assert Submission.objects.filter(benchmark=bench, is_baseline=True,
                                     status=Submission.Status.SCORED).exists()
    call_command("demo_bundle", stdout=io.StringIO())  # idempotent
    assert Benchmark.objects.filter(slug__startswith="example-landcover").count() == 1


def test_host_role_command(transactional_db):
    from django.core.management import call_command

    u = UserFactory()
    out = io.StringIO()
    call_command("host_role", u.username, stdout=out)
    assert out.getvalue().strip() == f"{u.username} is a host"
    call_command("host_role", u.username, "--revoke", stdout=out)
    assert out.getvalue().strip().endswith(f"{u.username} is not a host")


def test_revoking_the_host_role_ends_hosting_of_every_benchmark(eurosat):
    """A revoked host must not keep the private split of the benchmarks it hosted."""
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    from earthbench.leaderboards.selectors import is_host, split_visible

    u = UserFactory()
    call_command("host_role", u.username, stdout=io.StringIO())
    eurosat.hosts.add(u)
    eurosat.deadline = timezone.now() + timedelta(days=3)
    eurosat.save()
    assert split_visible(benchmark=eurosat, split="private", user=u)
    call_command("host_role", u.username, "--revoke", stdout=io.StringIO())
    u = type(u).objects.get(pk=u.pk)
    assert not is_host(benchmark=eurosat, user=u)
    assert not split_visible(benchmark=eurosat, split="private", user=u)
    change = eurosat.changes.get(field="hosts")
    assert change.old == u.username and change.note == "host role revoked"
