"""One meaning per catalog filter: the API (``GET /api/v1/benchmarks/?…``) and the
website (``/?…``) return the same benchmarks for the same filter, for every filter
parameter (``benchmarks.selectors.CatalogFilter``), and each means what
docs/api.md and docs/website.md say. The API read ``paper`` as a substring and the
site as a whole title; the API ignored ``sensor`` and ``q``.
"""

from __future__ import annotations

import dataclasses

import pytest
from django.test import Client

from earthbench.benchmarks.models import Benchmark
from earthbench.benchmarks.selectors import CATALOG_FILTER_HELP, CatalogFilter

BENCHES = [
    # slug, kind, modalities, sensors, papers, summary
    ("sar-floods-v1", "segmentation", ["sar"], ["Sentinel-1"], ["Sen1Floods11: a georeferenced dataset"],
     "Flood water masks from radar."),
    ("ships-v1", "detection", ["rgb", "sar"], ["WorldView-3", "Sentinel-1"], ["xView3: dark vessels"],
     "Ships at sea."),
    ("crops-v1", "classification", ["multispectral"], ["Sentinel-2"], ["TorchGeo: deep learning", "CropHarvest"],
     "Crop types of fields."),
    ("unpublished-v1", "classification", ["rgb"], ["Sentinel-2"], ["TorchGeo: deep learning"], "Hidden draft."),
]

# Every filter parameter with values that tell the possible meanings apart: the
# expected slugs pin the documented meaning (eurosat is the fixture's benchmark:
# classification, multispectral, Sentinel-2, paper "TorchGeo: Deep Learning With Geospatial Data").
CASES: dict[str, list[tuple[str, set[str]]]] = {
    "kind": [
        ("classification", {"crops-v1", "eurosat-classification-v1"}),
        ("Detection", {"ships-v1"}),  # ignoring case
        ("class", set()),  # a whole kind, not a part of one
    ],
    "modality": [
        ("sar", {"sar-floods-v1", "ships-v1"}),
        ("RGB", {"ships-v1"}),
        ("multi", set()),
    ],
    "sensor": [
        ("Sentinel-1", {"sar-floods-v1", "ships-v1"}),
        ("sentinel-2", {"crops-v1", "eurosat-classification-v1"}),
        ("Sentinel", set()),
    ],
    "paper": [
        ("torchgeo", {"crops-v1", "eurosat-classification-v1"}),  # part of a title, ignoring case
        ("xView3: dark vessels", {"ships-v1"}),  # a whole title (the site's menu offers these)
        ("nothing like it", set()),
    ],
    "q": [
        ("sentinel-1 ships", {"ships-v1"}),  # every word, anywhere
        ("flood", {"sar-floods-v1"}),
        ("CROPS", {"crops-v1"}),
        ("ships crops", set()),
    ],
}


@pytest.fixture
def catalog(eurosat):
    for slug, kind, modalities, sensors, papers, summary in BENCHES:
        Benchmark.objects.create(
            slug=slug, title=slug.split("-")[0].capitalize(), task_kind=kind, modalities=modalities,
            spec={"sensors": sensors}, papers=papers, summary=summary, is_published=slug != "unpublished-v1",
            metrics=[{"key": "m", "direction": "max"}], primary_metric="m",
        )


def api_slugs(query: str) -> set[str]:
    body = Client().get(f"/api/v1/benchmarks/?limit=1000&{query}").json()
    assert body["count"] == len(body["results"])
    return {b["slug"] for b in body["results"]}


def site_slugs(query: str) -> set[str]:
    resp = Client().get(f"/?{query}")
    assert resp.status_code == 200
    return {b.slug for b in resp.context["benchmarks"]}


def test_every_filter_parameter_is_covered():
    params = {f.name for f in dataclasses.fields(CatalogFilter)}
    assert params == set(CASES) == set(CATALOG_FILTER_HELP)


@pytest.mark.parametrize("param, value, expected", [
    (p, v, e) for p, cases in CASES.items() for v, e in cases
])
def test_api_and_site_return_the_same_benchmarks(catalog, param, value, expected):
    from urllib.parse import urlencode

    query = urlencode({param: value})
    assert api_slugs(query) == site_slugs(query) == expected


def test_filters_combine_the_same_way(catalog):
    query = "kind=classification&sensor=Sentinel-2&paper=crop"
    assert api_slugs(query) == site_slugs(query) == {"crops-v1"}
    everything = {"sar-floods-v1", "ships-v1", "crops-v1", "eurosat-classification-v1"}
    assert api_slugs("") == site_slugs("") == everything  # never the unpublished one
