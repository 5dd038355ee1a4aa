"""The catalog loader: YAML and schema errors name the file and field, include
merges, idempotent loads, the management command."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.catalog import CATALOG_DIR, CatalogError, load_catalog, load_spec

REPO = Path(__file__).resolve().parents[2]
BRIEF = REPO.parent / "shared" / "brief" / "CATALOG.md"


GOOD = """\
slug: {slug}
title: A test benchmark
summary: Classify things into classes for the catalog loader tests.
papers: ["A paper"]
task_kind: classification
metrics:
  - {{key: oa, label: OA, direction: max, format: percent}}
primary_metric: oa
formats: ["CSV id,label"]
"""


def write(root: Path, slug: str, text: str) -> Path:
    d = root / slug
    d.mkdir(parents=True, exist_ok=True)
    p = d / "benchmark.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_yaml_syntax_error_names_the_file(tmp_path):
    p = write(
        tmp_path,
        "broken-v1",
        GOOD.format(slug="broken-v1") + "options: {classes: [a, b\n",
    )
    with pytest.raises(CatalogError) as exc:
        load_spec(p, tmp_path)
    assert str(p) in str(exc.value) and "invalid YAML" in str(exc.value)


def test_schema_error_names_the_file_and_field(tmp_path):
    text = GOOD.format(slug="bad-direction-v1").replace(
        "direction: max", "direction: up"
    )
    p = write(tmp_path, "bad-direction-v1", text)
    with pytest.raises(CatalogError) as exc:
        load_spec(p, tmp_path)
    msg = str(exc.value)
    assert str(p) in msg and "field 'metrics.0.direction'" in msg


def test_unknown_field_and_slug_mismatch_are_errors(tmp_path):
    p = write(tmp_path, "extra-v1", GOOD.format(slug="extra-v1") + "colour: blue\n")
    with pytest.raises(CatalogError, match="colour"):
        load_spec(p, tmp_path)
    p = write(tmp_path, "folder-v1", GOOD.format(slug="other-v1"))
    with pytest.raises(CatalogError, match="field 'slug'"):
        load_spec(p, tmp_path)


def test_suite_section_is_validated(tmp_path):
    text = GOOD.format(slug="s-v1").replace(
        "task_kind: classification", "task_kind: suite"
    )
    p = write(tmp_path, "s-v1", text + "suite: {members: [only-one-v1]}\n")
    with pytest.raises(CatalogError, match="field 'suite.members'"):
        load_spec(p, tmp_path)
    p = write(
        tmp_path,
        "s-v1",
        text + "suite: {members: [a-v1, b-v1], reference: {a-v1: {min: 0}}}\n",
    )
    with pytest.raises(CatalogError, match="field 'suite.reference.a-v1'"):
        load_spec(p, tmp_path)


def test_include_merges_the_base_and_overrides(tmp_path):
    write(
        tmp_path,
        "base-v1",
        GOOD.format(slug="base-v1") + "options: {classes: [a, b]}\n"
        "demo: {generator: classification, seed: 1, params: {size: 8, bands: 3}}\n",
    )
    p = write(
        tmp_path,
        "child-v1",
        "include: base-v1\nslug: child-v1\ntitle: Child track\n"
        "demo: {seed: 2, params: {size: 16}}\n",
    )
    spec = load_spec(p, tmp_path)
    assert spec.slug == "child-v1" and spec.data["title"] == "Child track"
    assert spec.data["options"] == {"classes": ["a", "b"]}
    assert spec.data["demo"] == {
        "generator": "classification",
        "seed": 2,
        "params": {"size": 16, "bands": 3},
    }
    assert spec.data["papers"] == ["A paper"]


def test_include_of_a_shared_base_and_missing_target(tmp_path):
    (tmp_path / "_shared").mkdir()
    (tmp_path / "_shared" / "probe.yaml").write_text(
        GOOD.format(slug="ignored-v1").split("\n", 1)[1], encoding="utf-8"
    )
    p = write(tmp_path, "member-v1", "include: _shared/probe.yaml\nslug: member-v1\n")
    assert load_spec(p, tmp_path).data["title"] == "A test benchmark"
    assert [s.slug for s in load_catalog(tmp_path)] == ["member-v1"]
    p = write(tmp_path, "orphan-v1", "include: nowhere-v1\nslug: orphan-v1\n")
    with pytest.raises(CatalogError, match="field 'include'"):
        load_spec(p, tmp_path)


def test_real_include_variants_inherit_their_base(by_slug):
    obb = by_slug["refgeo-grounding-obb-v1"].data
    hbb = by_slug["refgeo-grounding-v1"].data
    assert obb["options"]["box"] == "obb" and hbb["options"]["box"] == "hbb"
    assert obb["task_kind"] == hbb["task_kind"] and obb["papers"] == hbb["papers"]
    assert (
        obb["demo"]["generator"] == "grounding"
        and obb["demo"]["seed"] != hbb["demo"]["seed"]
    )
    probe = by_slug["eurosat-embedding-probe-v1"].data
    assert probe["task_kind"] == "embedding-probe" and probe["options"] == {
        "knn_k": 5,
        "seed": 0,
    }


def test_catalog_load_is_idempotent():
    first, second = load_catalog(), load_catalog()
    assert [s.slug for s in first] == [s.slug for s in second]
    assert [s.data for s in first] == [s.data for s in second]
    assert [s.sha256 for s in first] == [s.sha256 for s in second]
    assert all(s.path.parent.parent == CATALOG_DIR for s in first)
