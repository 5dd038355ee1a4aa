"""The benchmark catalog: every paper covered, every spec consistent with its kind."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from evaluator.registry import get_kind, kind_names

REPO = Path(__file__).resolve().parents[2]
BRIEF = REPO.parent / "shared" / "brief" / "CATALOG.md"

# Keys a kind outputs that are not in its `metrics` class attribute (which lists the
# keys with a fixed direction); each is checked against the kind's card.
EXTRA_OUTPUT_KEYS: dict[str, dict[str, str]] = {
    # graded retrieval (TREC qrels) reports r_at_K per query, not the i2t/t2i pair keys
    "retrieval": {"r_at_1": "max", "r_at_5": "max", "r_at_10": "max"},
    # regression reports the signed mean error too; it has no "better" direction
    "regression": {},
}

# Keys only produced by some option values (a listed key the variant never outputs would
# show as an empty column). Maps kind -> (option, value) -> keys that variant produces.
VARIANT_KEYS: dict[str, tuple[str, dict[str, set[str]]]] = {
    "change-detection": (
        "variant",
        {
            "binary": {"f1", "iou", "precision", "recall", "oa", "kappa"},
            "conditional": {
                "bc_iou",
                "bc_precision",
                "bc_recall",
                "bc_f1",
                "sc_miou",
                "scs",
            },
            "referring": {"miou", "sek", "score", "fscd"},
        },
    ),
    "detection": (
        "ap_mode",
        {
            "voc07": {"map", "ap50"},
            "voc12": {"map", "ap50"},
            "coco": {
                "map",
                "ap50",
                "ap75",
                "ap_small",
                "ap_medium",
                "ap_large",
                "ar1",
                "ar10",
                "ar100",
                "ar_small",
                "ar_medium",
                "ar_large",
            },
        },
    ),
    "grounding": (
        "box",
        {
            "hbb": {"acc_at_0_5", "miou"},
            "obb": {"acc_at_0_5", "miou"},
            "mask": {"acc_at_0_5", "miou", "giou", "ciou"},
        },
    ),
    "captioning": (
        "variant",
        {
            "caption": {
                "bleu_1",
                "bleu_2",
                "bleu_3",
                "bleu_4",
                "meteor",
                "rouge_l",
                "cider_d",
            },
            "change": {
                "bleu_1",
                "bleu_2",
                "bleu_3",
                "bleu_4",
                "meteor",
                "rouge_l",
                "cider_d",
                "s_m",
            },
        },
    ),
    "super-resolution": (
        "variant",
        {
            "plain": {"psnr", "ssim", "sam_deg", "ergas"},
            "probav": {"psnr", "ssim", "cpsnr", "cssim", "sam_deg", "ergas"},
            "worldstrat": {"psnr", "ssim", "cpsnr", "cssim", "sam_deg", "ergas"},
        },
    ),
}

SUITE = "suite"  # pseudo-kind: a leaderboard over member benchmarks, no evaluator kind


def catalog_table() -> list[tuple[str, list[str]]]:
    """(exact paper title, [slugs]) for each row of the brief's paper table."""
    if not BRIEF.exists():
        pytest.skip(f"catalog brief not available: {BRIEF}")
    rows = []
    for line in BRIEF.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 4 and cells[1].isdigit():
            rows.append((cells[2], re.findall(r"`([a-z0-9-]+-v\d+)`", cells[3])))
    return rows


def test_brief_table_parses_sixty_papers():
    rows = catalog_table()
    assert len(rows) == 60
    assert all(slugs for _, slugs in rows)


def test_every_paper_title_is_covered_exactly(specs):
    titles = {title for title, _ in catalog_table()}
    covered = {p for s in specs for p in s.data["papers"]}
    assert titles - covered == set(), "papers without a benchmark"
    assert covered - titles == set(), (
        "papers: titles not character-for-character in CATALOG.md"
    )


def test_every_slug_in_the_table_exists(by_slug):
    missing = sorted({s for _, slugs in catalog_table() for s in slugs} - set(by_slug))
    assert missing == []


def test_each_paper_is_listed_on_the_benchmarks_the_table_names(by_slug):
    for title, slugs in catalog_table():
        for slug in slugs:
            assert title in by_slug[slug].data["papers"], (slug, title)


def test_task_kind_is_an_evaluator_kind_or_a_suite(specs, by_slug):
    kinds = set(kind_names())
    for s in specs:
        kind = s.data["task_kind"]
        if kind == SUITE:
            assert "suite" in s.data, (
                f"{s.slug}: task_kind suite needs a suite: section"
            )
            assert "demo" not in s.data, (
                f"{s.slug}: a mixed suite has no demo of its own"
            )
        else:
            assert kind in kinds, f"{s.slug}: unknown task_kind {kind!r}"


def test_suite_members_exist_and_have_references(specs, by_slug):
    suites = [s for s in specs if "suite" in s.data]
    assert {s.slug for s in suites} >= {
        "embedding-probe-suite-v1",
        "falcon-multitask-suite-v1",
        "gfm-bench-suite-v1",
    }
    for s in suites:
        suite = s.data["suite"]
        for member in suite["members"]:
            assert member in by_slug, f"{s.slug}: member {member!r} does not exist"
            assert member != s.slug
            m = by_slug[member]
            assert m.data["task_kind"] != SUITE, f"{s.slug}: nested suite {member}"
            ref = suite["reference"][member]
            assert ref["metric"] == m.data["primary_metric"], (s.slug, member)
            assert ref["direction"] == m.metric_direction(m.data["primary_metric"])
            assert ref["max"] > ref["min"]
        assert set(suite["reference"]) == set(suite["members"])
        if s.data["task_kind"] != SUITE:  # uniform suite: members share its kind
            assert {by_slug[m].data["task_kind"] for m in suite["members"]} == {
                s.data["task_kind"]
            }


def test_suite_references_feed_the_suite_scorer(specs):
    from evaluator.suite import suite_scores

    for s in (s for s in specs if "suite" in s.data):
        refs = s.data["suite"]["reference"]
        # An entry exactly at each member's upper reference normalises to 1 everywhere.
        scores = {"top": {m: r["max"] for m, r in refs.items()}}
        out = suite_scores(scores, refs, seed=0)
        assert out["top"]["iqm"] == pytest.approx(1.0), s.slug


def kind_for(spec):
    return None if spec.data["task_kind"] == SUITE else get_kind(spec.data["task_kind"])


def test_options_are_accepted_by_the_kind(specs):
    for s in specs:
        kind = kind_for(s)
        if kind is None:
            assert not s.data.get("options"), (
                f"{s.slug}: a suite takes no scorer options"
            )
            continue
        kind.resolve_options(
            s.data.get("options", {})
        )  # raises ValidationError if unknown


def test_metric_keys_are_keys_the_kind_outputs(specs):
    for s in specs:
        kind = kind_for(s)
        if kind is None:
            assert [m["key"] for m in s.data["metrics"]] == ["iqm"], s.slug
            continue
        known = {**kind.metrics, **EXTRA_OUTPUT_KEYS.get(kind.name, {})}
        for m in s.data["metrics"]:
            assert m["key"] in known, (
                f"{s.slug}: {kind.name} does not output {m['key']!r}"
            )
            assert m["direction"] == known[m["key"]], (
                f"{s.slug}: direction of {m['key']}"
            )


def test_metric_keys_match_the_variant(specs):
    for s in specs:
        kind = kind_for(s)
        if kind is None or kind.name not in VARIANT_KEYS:
            continue
        option, table = VARIANT_KEYS[kind.name]
        value = kind.resolve_options(s.data.get("options", {}))[option]
        keys = {m["key"] for m in s.data["metrics"]}
        assert keys <= table[value], (
            f"{s.slug}: {keys - table[value]} not output for {value}"
        )


def test_cssim_is_computed_exactly_where_a_benchmark_lists_it(specs):
    """cSSIM costs an SSIM per offset ((2s+1)² per image, ≈ 20× cPSNR): a
    super-resolution benchmark pays for it (option cssim: true) only when its
    metrics list cssim, and one that lists it enables it (else the column is empty)."""
    seen = 0
    for s in specs:
        if s.data["task_kind"] != "super-resolution":
            continue
        seen += 1
        on = get_kind("super-resolution").resolve_options(s.data.get("options", {}))["cssim"]
        listed = "cssim" in {m["key"] for m in s.data["metrics"]}
        assert on is listed, f"{s.slug}: metrics list cssim: {listed}, option cssim: {on}"
    assert seen


def test_super_resolution_computes_exactly_the_listed_metrics(specs):
    """The kind option ``metrics`` is the catalog's list: every listed metric is
    computed (PSNR/SSIM where listed) and nothing else is paid for."""
    seen = 0
    for s in specs:
        if s.data["task_kind"] != "super-resolution":
            continue
        seen += 1
        listed = {m["key"] for m in s.data["metrics"]}
        opts = get_kind("super-resolution").resolve_options(s.data.get("options", {}))
        assert opts["metrics"] is not None and set(opts["metrics"]) == listed, s.slug
    assert seen


def test_graded_retrieval_lists_the_ndcg_key_for_its_cutoff(specs):
    for s in specs:
        if s.data["task_kind"] != "retrieval":
            continue
        keys = {m["key"] for m in s.data["metrics"]}
        graded = any(k.startswith("ndcg_at_") for k in keys)
        if graded:
            k = get_kind("retrieval").resolve_options(s.data.get("options", {}))[
                "ndcg_k"
            ]
            assert f"ndcg_at_{k}" in keys and not keys & {"mr", "i2t_r_at_1"}, s.slug
        else:
            assert "mr" in keys and not keys & {"r_at_1", "r_at_5", "r_at_10"}, s.slug


def test_primary_metric_is_first_and_direction_matches_the_kind(specs):
    for s in specs:
        d = s.data
        assert d["metrics"][0]["key"] == d["primary_metric"], s.slug
        kind = kind_for(s)
        if kind is not None:
            known = {**kind.metrics, **EXTRA_OUTPUT_KEYS.get(kind.name, {})}
            assert s.metric_direction(d["primary_metric"]) == known[d["primary_metric"]]


def test_classification_primary_option_matches_primary_metric(specs):
    for s in specs:
        if s.data["task_kind"] == "classification":
            opts = get_kind("classification").resolve_options(s.data.get("options", {}))
            assert opts["primary"] == s.data["primary_metric"], s.slug


def test_demo_uses_the_kind_generator_with_small_params(specs):
    for s in specs:
        demo = s.data.get("demo")
        if s.data["task_kind"] == SUITE:
            continue
        assert demo, f"{s.slug}: no demo section"
        assert demo["generator"] == s.data["task_kind"], s.slug
        params = demo.get("params", {})
        for key in ("n_train", "n_test", "n_queries", "n_gallery", "n_images"):
            assert params.get(key, 0) <= 500, (s.slug, key)
        assert params.get("size", 0) <= 512, s.slug


def test_demo_seeds_are_distinct(specs):
    seeds = [s.data["demo"]["seed"] for s in specs if s.data.get("demo")]
    assert len(seeds) == len(set(seeds))


def test_reference_results_use_listed_or_efficiency_metrics(specs):
    efficiency = {
        "latency_ms_median",
        "latency_ms_p90",
        "peak_gpu_memory_mb",
        "peak_memory_mb",
    }
    for s in specs:
        keys = {m["key"] for m in s.data["metrics"]}
        formats = {m["key"]: m.get("format") for m in s.data["metrics"]}
        for r in s.data.get("reference_results", []):
            assert r["metric"] in keys | efficiency, (s.slug, r["metric"])
            if formats.get(r["metric"]) == "percent":
                assert 0 <= r["value"] <= 1, f"{s.slug}: ratios are stored as fractions"
            assert re.search(r"\(\d{4}\)$", r["source"]), (
                f"{s.slug}: source = title (year)"
            )


def test_published_headline_numbers_are_recorded(by_slug):
    def ref(slug, metric):
        return [
            r["value"]
            for r in by_slug[slug].data["reference_results"]
            if r["metric"] == metric
        ]

    assert ref("landcoverai-segmentation-v1", "miou") == [0.8556]
    assert ref("eurosat-classification-v1", "oa") == [0.9723]
    assert ref("3dmatch-registration-v1", "rr") == [0.959]
    assert ref("3dlomatch-registration-v1", "rr") == [0.816]
    assert ref("levir-cd-v1", "f1") == [0.9127]


def test_containers_only_benchmark(by_slug):
    sub = by_slug["uhr-segmentation-efficiency-v1"].data["submission"]
    assert sub["predictions"] is False and sub["containers"] is True
    assert sub["container_limits"]["gpus"] == 1


def test_every_benchmark_has_a_card_with_the_essentials(specs):
    for s in specs:
        card = s.card
        assert card.startswith(f"# {s.data['title']}"), s.slug
        for word in ("**Licence.**", "**Papers served.**"):
            assert word in card, (s.slug, word)
        if s.data["task_kind"] != SUITE:
            for word in (
                "**Submit.**",
                "**Metric.**",
                "**Splits.**",
                "python -m evaluator score",
            ):
                assert word in card, (s.slug, word)


def test_docs_catalog_lists_every_benchmark(specs):
    text = (REPO / "docs" / "catalog.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([a-z0-9-]+-v\d+)` \|", text, re.M))
    assert listed == {s.slug for s in specs}


@pytest.mark.slow
def test_manage_py_catalog_json_lists_all_papers(specs):
    out = subprocess.run(
        [sys.executable, "manage.py", "catalog", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert {r["slug"] for r in rows} == {s.slug for s in specs}
    titles = {t for t, _ in catalog_table()}
    assert {p for r in rows for p in r["papers"]} == titles
    assert all(r["direction"] in ("max", "min") for r in rows)


def test_the_fast_yaml_parser_reads_every_catalog_file_as_the_pure_python_one():
    import yaml

    from benchmarks import catalog

    files = sorted(catalog.CATALOG_DIR.glob("**/*.yaml"))
    assert len(files) >= 77
    for f in files:
        text = f.read_text(encoding="utf-8")
        assert yaml.load(text, Loader=catalog.YAML_LOADER) == yaml.safe_load(text), f  # noqa: S506
