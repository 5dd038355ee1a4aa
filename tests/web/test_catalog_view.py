"""Home: a compact catalog table, sortable by its columns and filterable, with the
summaries' Markdown rendered (and their HTML escaped); the cards on request."""

from __future__ import annotations

import re

import pytest

from earthbench.benchmarks.models import Benchmark


@pytest.fixture
def catalog(eurosat):
    for slug, kind, modality, sensor in [
        ("aaa-segmentation-v1", "segmentation", "sar", "Sentinel-1"),
        ("zzz-detection-v1", "detection", "rgb", "WorldView-3"),
    ]:
        Benchmark.objects.create(
            slug=slug, title=slug.split("-")[0].upper() + " benchmark", task_kind=kind,
            modalities=[modality], spec={"sensors": [sensor]}, papers=[f"{slug} paper"],
            summary="Scored as `ap50` on *hidden* tiles; see [the paper](https://arxiv.org/abs/1). <script>alert(1)</script>",
            metrics=[{"key": "m", "direction": "max"}], primary_metric="m",
        )
    return ["aaa-segmentation-v1", "eurosat-classification-v1", "zzz-detection-v1"]


def order(body: str) -> list[str]:
    table = body[body.index('id="catalog"'):]
    return re.findall(r"<small><code>([a-z0-9-]+)</code></small>", table)


def test_home_is_a_compact_table_sortable_by_every_column(client, catalog):
    body = client.get("/").content.decode()
    assert 'id="catalog"' in body and "bench-card" not in body
    assert sorted(order(body)) == sorted(catalog)
    assert order(client.get("/?sort=kind").content.decode()) == [
        "eurosat-classification-v1", "zzz-detection-v1", "aaa-segmentation-v1"]
    assert order(client.get("/?sort=-kind").content.decode()) == [
        "aaa-segmentation-v1", "zzz-detection-v1", "eurosat-classification-v1"]
    by_modality = order(client.get("/?sort=modality").content.decode())
    assert by_modality[0] == "eurosat-classification-v1"  # multispectral < rgb < sar
    assert order(client.get("/?sort=sensor").content.decode())[0] == "aaa-segmentation-v1"
    # A sorted header links to the reverse order and keeps the filters.
    body = client.get("/?modality=rgb&sort=kind").content.decode()
    assert 'aria-sort="ascending"' in body and "modality=rgb&amp;sort=-kind" in body
    assert order(body) == ["zzz-detection-v1"]


def test_summaries_render_markdown_and_escape_html(client, catalog):
    for view in ("", "?view=cards"):
        body = client.get("/" + view).content.decode()
        assert "<code>ap50</code>" in body and "<em>hidden</em>" in body
        assert '<a rel="nofollow noopener" href="https://arxiv.org/abs/1">the paper</a>' in body
        assert "<script>alert(1)" not in body and "&lt;script&gt;" in body
        assert "`ap50`" not in body


def test_cards_view_on_request(client, catalog):
    body = client.get("/?view=cards&kind=detection").content.decode()
    assert body.count('class="bench-card"') == 1 and 'id="catalog"' not in body
    assert 'href="?kind=detection"' in body  # back to the table, filters kept
