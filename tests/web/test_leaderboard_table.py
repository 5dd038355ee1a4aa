"""The leaderboard table's HTML, byte for byte.

``leaderboard_table_oracle.html`` is a frozen copy of the Django template that
rendered the table before it was rendered in Python; every case below renders it
and the table as the site renders it now, and the two must be identical. The cases
cover the row shapes the selector produces (and a few it should not, such as a
one-sided interval), both benchmark kinds, and every switch of the table.
"""

from __future__ import annotations

import functools
import itertools
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from django.template import engines
from django.test import RequestFactory
from django.utils import timezone as tz_utils
from django.utils import translation
from django.utils.safestring import mark_safe

from earthbench.benchmarks.models import Benchmark
from earthbench.leaderboards.selectors import Row
from earthbench.web import fragments, leaderboard_table
from tests.platform.conftest import UserFactory
from tests.web.conftest import make_scored

ORACLE = Path(__file__).with_name("leaderboard_table_oracle.html")
WHEN = datetime(2026, 12, 5, 0, 44, 7, 123456, tzinfo=UTC)


@functools.cache
def _oracle():
    return engines["django"].from_string(ORACLE.read_text(encoding="utf-8"))


def _context(kw: dict) -> tuple[dict, object]:
    """The template context of ``kw`` (absent keys stay absent, as in an include
    that does not set them) and the request it is rendered with."""
    ctx = {k: v for k, v in kw.items() if k != "request"}
    return ctx, kw.get("request")


def render_oracle(kw: dict) -> str:
    ctx, request = _context(kw)
    return _oracle().render(ctx, request)


def render_site(kw: dict) -> str:
    return leaderboard_table.render(**kw)


def _bench(containers: bool) -> Benchmark:
    if containers:
        metrics = [
            {"key": "f1<macro>", "direction": "max", "label": "F1 & co"},
            {"key": "mae", "direction": "min"},
        ]
        return Benchmark(pk=7, slug="c", primary_metric="f1<macro>", metrics=metrics, accepts_containers=True)
    metrics = [
        {"key": "oa", "direction": "max", "label": "Overall <accuracy>"},
        {"key": "kappa", "direction": "max"},
        {"key": "err", "direction": "min", "format": "percent", "label": ""},
        {"key": "nodir", "label": None},
    ]
    return Benchmark(pk=3, slug="b", primary_metric="oa", metrics=metrics, accepts_containers=False)


def _rows(bench: Benchmark) -> list[Row]:
    keys = [m["key"] for m in bench.metrics]
    p, other = keys[0], keys[1]

    def row(**kw) -> Row:
        base = dict(
            rank=1, team="t", submission_id=1, method_name="m", created_at=WHEN, primary_value=0.9,
            metrics={p: 0.9, other: 0.8}, ci={p: [0.89, 0.91]}, is_baseline=False,
        )
        return Row(**{**base, **kw})

    return [
        row(rank=1, rank_low=1, rank_high=1, tied_with_leader=True, p_first=0.87345, submission_id=101,
            team='Team <b>&"\'</b>', method_name="ResNet-50 & <script>alert(1)</script>", entries=3,
            metrics={k: 0.912345 + i for i, k in enumerate(keys)}, ci={k: [0.9, 0.95] for k in keys},
            efficiency={"latency_ms_per_sample": 12.5, "peak_memory_mb": 300}),
        row(rank=2, rank_low=1, rank_high=4, tied_with_leader=True, p_first=0.1, submission_id=102,
            team="Équipe 東京 🚀", method_name="", metrics={p: 0.85}, ci={},
            efficiency={"latency_ms_per_sample": None, "peak_memory_mb": 1e-05},
            created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))),
        row(rank=None, is_baseline=True, team="Baseline", method_name="Baseline: majority class",
            submission_id=103, p_first=None, metrics={p: 0.5, other: 0.0}, ci={p: [0.49, 0.51]}, entries=1),
        row(rank=3, rank_low=None, rank_high=None, p_first=0.0, submission_id=104, method_name=None,
            metrics={p: None, other: 0.5}, ci={other: [0.4, 0.6], p: None}, efficiency={"peak_memory_mb": 0}),
        row(rank=4, rank_low=2, rank_high=9, p_first=1.0, submission_id=105, team="a" * 80,
            metrics={p: "n/a <x>", other: True}, ci={p: [0.1], other: (0.25, 0.75)}, entries=12345,
            created_at=datetime(2025, 6, 30, 23, 59, 59)),  # naive
        row(rank=5, rank_low=5, rank_high=5, p_first=0.004999, submission_id=106, metrics=None, ci=None,
            efficiency={"latency_ms_per_sample": 1234567.891, "peak_memory_mb": 2.5e20}),
        row(rank=6, rank_low=3, rank_high=8, p_first=0.5, submission_id=107, metrics={p: 1, other: -0.0},
            ci={p: [1, 1], other: []}, created_at=None, entries=0),
        row(rank=0, submission_id=108, team="zero rank", metrics={p: float("nan"), other: float("inf")}),
    ]


def _request():
    return RequestFactory().get("/benchmarks/b/leaderboard/", {"split": "public", "q": '<"&\'>', "é": "ü"})


def cases():
    """(id, keyword arguments): every switch combined with every other on both
    benchmark kinds, with the optional arguments varying case by case."""
    request = _request()
    out = []
    product = itertools.product(
        (False, True),  # containers
        ("mixed", "empty", "none"),  # rows
        (None, "primary", "other", "", "unknown"),  # sort
        (None, False, True),  # sortable (None: not given)
        (None, False, True),  # host_actions
        (None, False, True),  # primary_only
    )
    for i, (containers, rows, sort, sortable, host, primary_only) in enumerate(product):
        if rows != "mixed" and i % 5:  # the empty board needs fewer combinations
            continue
        bench = _bench(containers)
        kw = {"bench": bench, "split": ("public", "private", "a&b<c>")[i % 3]}
        kw["rows"] = {"mixed": _rows(bench), "empty": [], "none": None}[rows]
        if sort is not None:
            keys = [m["key"] for m in bench.metrics]
            kw["sort"] = {"primary": keys[0], "other": keys[1], "": "", "unknown": "zzz"}[sort]
        for name, value in (("sortable", sortable), ("host_actions", host), ("primary_only", primary_only)):
            if value is not None:
                kw[name] = value
        table_id = (None, "leaderboard", "host-public", 'x"<y>', "")[i % 5]
        if table_id is not None:
            kw["table_id"] = table_id
        caption = (None, "Private split: each team's selected submissions.", "", "<i>caption</i> & more")[i % 4]
        if caption is not None:
            kw["caption"] = caption
        # The CSRF token is given (a request would bring a random one), except
        # without a request, where an include would find none.
        token = ("tok<&\">en", "NOTPROVIDED", None, "")[i % 4] if i % 11 else "fixed-token"
        if i % 7 != 3:
            kw["request"] = request
            token = "tok<&\">en" if token is None else token
        if token is not None:
            kw["csrf_token"] = token
        out.append(pytest.param(kw, id=f"{i}-{'c' if containers else 'b'}-{rows}-{sort}-{sortable}-{host}-{primary_only}"))
    return out


@pytest.mark.parametrize("kw", cases())
def test_the_table_is_the_oracles_html(kw):
    assert render_site(kw) == render_oracle(kw)


def test_the_oracle_is_the_old_template_and_the_cases_cover_it():
    html = render_oracle({
        "bench": _bench(True), "rows": _rows(_bench(True)), "split": "public", "sortable": True,
        "host_actions": True, "table_id": "t", "csrf_token": "tok", "request": _request(),
    })
    for part in ("&lt;script&gt;", "Équipe 東京 🚀", "(1)", "(1–4)", "≈", "<span class=\"tag\">baseline</span>",
                 "—", "[0.9000, 0.9500]", "Latency ms ↓", "12.5", "0.00001", "[0.1000, ]", 'name="csrfmiddlewaretoken" value="tok"',
                 "/submissions/101/hide/", "2026-01-02T01:04:05+00:00", "2025-06-30 23:59", "aria-sort"):
        assert part in html, part
    assert "/submissions/103/hide/" not in html  # no form on a baseline row


@pytest.mark.parametrize("zone, language", [("UTC", "en-us"), ("Europe/Paris", "de"), ("America/New_York", "fr"),
                                             ("UTC", "en-us")])
def test_the_time_zone_and_language_of_the_request_are_followed(zone, language):
    """Dates in the current time zone and P(1st) with the language's decimal
    separator, as the template printed them, whatever was rendered before."""
    kw = {"bench": _bench(False), "rows": _rows(_bench(False)), "split": "public", "sortable": True}
    with tz_utils.override(zone), translation.override(language):
        assert render_site(kw) == render_oracle(kw)


TABLE = re.compile(r'<div class="table-wrap"><table class="grid leaderboard".*?</tbody></table></div>\n', re.S)
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def test_the_pages_tables_are_the_oracles(client, eurosat, eurosat_results):
    """Through the views: the cached visitors' table, the host's table on the
    leaderboard page and both tables of the host dashboard, each with the page's
    own request and CSRF token."""
    fragments.clear()
    for primary in (0.61, 0.93):
        make_scored(user=UserFactory(), benchmark=eurosat, results=eurosat_results, primary=primary,
                    method_name="<Method> & co")
    lb = f"/benchmarks/{eurosat.slug}/leaderboard/"

    def tables(url: str) -> tuple[list[str], object]:
        r = client.get(url)
        assert r.status_code == 200
        return TABLE.findall(r.content.decode()), r

    def oracle(r, **kw) -> str:
        token = TOKEN.search(r.content.decode())
        kw = {"bench": eurosat, **kw, "request": r.wsgi_request}
        if token:
            kw["csrf_token"] = token.group(1)
        return render_oracle(kw)

    for url, sort in ((lb, None), (lb + "?sort=kappa", "kappa")):
        (html,), r = tables(url)
        assert "hide-form" not in html and "&lt;Method&gt; &amp; co" in html
        assert html == oracle(r, rows=r.context["rows"], split="public", sort=sort,
                              table_id="leaderboard", sortable=True, host_actions=False)
    host = UserFactory()
    eurosat.hosts.add(host)
    client.force_login(host)
    (html,), r = tables(lb + "?sort=kappa")
    assert "hide-form" in html
    assert html == oracle(r, rows=r.context["rows"], split="public", sort="kappa",
                          table_id="leaderboard", sortable=True, host_actions=True)
    (public, private), r = tables(f"/benchmarks/{eurosat.slug}/host/")
    assert public == oracle(r, rows=r.context["public_rows"], split="public", table_id="host-public",
                            host_actions=True, sortable=False, primary_only=True)
    assert private == oracle(r, rows=r.context["private_rows"], split="private", table_id="host-private",
                             host_actions=False, sortable=False,
                             caption=mark_safe("Private split: each team's selected submissions (or its best public one)."))
