"""The private split cannot leak through any URL: the canary walk.

One team's submission gets private-split values that appear nowhere else (the
canaries); its public values are ordinary. Before the benchmark's deadline every
URL pattern of the URLconf (API, web, admin, docs; every query variant below;
the member benchmark and a suite containing it) is requested as anonymous, as a
participant of another team and as the owner, and no response body or header may
contain a canary in any rendering (full, 4 decimals, percent).

New endpoints are covered automatically: the URLconf is enumerated, each pattern's
parameters are filled from the fixture objects by kwarg name (then by converter),
and a pattern that cannot be filled, or whose filled URL does not resolve back to
it, FAILS the test. A positive control proves the walk can see a leak: after the
deadline the same canaries do appear.
"""

from __future__ import annotations

import io
import re
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from earthbench.accounts.services import token_create
from earthbench.accounts.teams import team_create
from earthbench.benchmarks.models import Benchmark
from earthbench.submissions import intake, lifecycle
from earthbench.submissions.models import Submission
from earthbench.submissions.uploads import upload_create
from tests.platform.conftest import UserFactory

# Distinct, unlikely values: private primary, its interval bounds, another metric.
CANARIES = (0.73915482, 0.72806193, 0.75024817, 0.61938274)
PUBLIC = 0.5


def renderings(value: float) -> list[str]:
    return [repr(value), f"{value:.6f}", f"{value:.4f}", f"{100 * value:.2f}%"]


CANARY_STRINGS = sorted({s for v in CANARIES for s in renderings(v)})
CANARY_BYTES = [(c, c.encode("ascii")) for c in CANARY_STRINGS]

QUERY_VARIANTS = (
    "",
    "?split=private",
    "?format=csv",
    "?format=json",
    "?split=private&format=csv",
    "?split=private&format=json",
    "?split=private&sort=kappa",
    "?benchmark={slug}",
    "?benchmark={slug}&split=private",
)


def _results(primary: float, low: float, high: float, other: float, metric_keys, pm) -> dict:
    metrics = {k: other for k in metric_keys}
    metrics[pm] = primary
    return {
        "metrics": metrics,
        "primary_value": primary,
        "ci": {k: [low, high] for k in metric_keys},
        "primary_draws": [primary] * 20,
        "samples": {},
    }


def scored(user, bench, private: tuple[float, float, float, float]) -> Submission:
    sub, _ = intake.submission_create(
        user=user, benchmark=bench, file=io.BytesIO(uuid.uuid4().bytes),
        filename="p.csv", metadata={"method_name": "m"}, enqueue=False,
    )
    lifecycle.submission_start(submission_id=sub.pk)
    keys = [m["key"] for m in bench.metrics]
    lifecycle.submission_record_scores(submission_id=sub.pk, results={
        "public": _results(PUBLIC, PUBLIC - 0.01, PUBLIC + 0.01, PUBLIC, keys, bench.primary_metric),
        "private": _results(*private, keys, bench.primary_metric),
    })
    return sub


@pytest.fixture
def world(eurosat):
    eurosat.deadline = timezone.now() + timedelta(days=7)
    eurosat.save()
    suite = Benchmark.objects.create(
        slug="canary-suite-v1", title="suite", task_kind="suite", primary_metric="iqm",
        metrics=[{"key": "iqm", "direction": "max"}],
        spec={"suite": {"members": [eurosat.slug], "n_resamples": 50,
                        "reference": {eurosat.slug: {"metric": "oa", "min": 0.0, "max": 1.0}}}},
    )
    owner, other = UserFactory(), UserFactory()
    team = team_create(user=owner, benchmark=eurosat, name="Canary team")
    sub = scored(owner, eurosat, CANARIES)
    other_sub = scored(other, eurosat, (0.31, 0.30, 0.32, 0.31))
    token, _ = token_create(user=owner, name="ci")
    up = upload_create(user=owner, filename="p.csv", size=10)
    return {
        "bench": eurosat, "suite": suite, "sub": sub, "other_sub": other_sub, "team": team,
        "users": {"anon": None, "other": other, "owner": owner}, "token": token, "upload": up,
    }


# ---------------------------------------------------------------- URLconf walk

def iter_patterns(patterns=None, prefix=()):
    """(tuple of pattern objects from the root, URLPattern) for every leaf."""
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            yield from iter_patterns(p.url_patterns, prefix + (p.pattern,))
        elif isinstance(p, URLPattern):
            yield prefix + (p.pattern,), p


_ROUTE_PARAM = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>\w+)>")
_REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>(?:[^()]|\([^()]*\))*)\)")


def candidates(world, name: str, converter: str | None, body: str | None = None) -> list[str]:
    """Values for one URL parameter: by kwarg name (the explicit table), then by
    converter. An empty list means the walk cannot fill it (the test fails)."""
    subs = [world["sub"].pk, world["other_sub"].pk]
    by_name = {
        "slug": [world["bench"].slug, world["suite"].slug],
        "benchmark": [world["bench"].slug, world["suite"].slug],
        "benchmark_slug": [world["bench"].slug, world["suite"].slug],
        "pk": subs + [world["token"].pk],
        "submission_id": subs,
        "token_id": [world["token"].pk],
        "team_id": [world["team"].pk],
        "uuid": [world["upload"].uuid, world["sub"].uuid],
        "code": [world["team"].join_code],
        "join_code": [world["team"].join_code],
        "name": ["suites", "github-actions.yml"],  # docs pages and examples
        "app_label": ["eb_submissions", "eb_benchmarks", "auth"],
        "object_id": subs,
        "content_type_id": [ContentType.objects.get_for_model(Submission).pk],
        "url": ["no-such-admin-page/"],  # the admin's catch-all
        "id": [world["users"]["owner"].pk, world["users"]["other"].pk],  # admin user pages
        "username": [world["users"]["owner"].username],
        # /downloads/<filename>: a wheel name and one that is not served
        "filename": ["earthbench_client-0.1.0-py3-none-any.whl", "no-such-file.whl"],
        # password reset confirmation: the owner's real uid and token, and a bogus pair
        "uidb64": [urlsafe_base64_encode(force_bytes(world["users"]["owner"].pk)), "MA"],
        "token": [default_token_generator.make_token(world["users"]["owner"]), "set-password"],
    }
    if name in by_name:
        values = by_name[name]
    elif converter in ("int", None) and name.endswith("id"):
        values = subs
    elif converter == "uuid":
        values = [world["upload"].uuid]
    elif converter == "slug":
        values = [world["bench"].slug, world["suite"].slug]
    else:
        return []
    values = [str(v) for v in values]
    if body:  # a regex group: keep values it accepts
        values = [v for v in values if re.fullmatch(body, v)]
    return values


def fill(world, parts) -> list[str] | str:
    """All URLs for one pattern chain, or a message saying why it cannot be filled."""
    urls = [""]
    for part in parts:
        route = getattr(part, "_route", None)
        if route is not None:
            pieces, pos, template = [], 0, []
            for m in _ROUTE_PARAM.finditer(route):
                template.append(route[pos:m.start()])
                vals = candidates(world, m["name"], m["conv"] or "str")
                if not vals:
                    return f"cannot fill <{m['conv'] or 'str'}:{m['name']}> in {route!r}"
                pieces.append(vals)
                pos = m.end()
            tail = route[pos:]
        else:
            regex = str(part._regex).lstrip("^").rstrip("$").replace("\\Z", "")
            pieces, pos, template = [], 0, []
            for m in _REGEX_GROUP.finditer(regex):
                template.append(regex[pos:m.start()])
                vals = candidates(world, m["name"], None, m["body"])
                if not vals:
                    return f"cannot fill (?P<{m['name']}>…) in {regex!r}"
                pieces.append(vals)
                pos = m.end()
            tail = regex[pos:]
            if re.search(r"[\\()\[\]*+?|]", "".join(template) + tail):
                return f"cannot fill regex {regex!r}"
        expanded = []
        for url in urls:
            combos = [""]
            for i, vals in enumerate(pieces):
                combos = [c + template[i] + v for c in combos for v in vals]
            expanded += [url + c + tail for c in combos]
        urls = expanded
    return ["/" + u for u in urls]


def pattern_urls(world) -> tuple[list[tuple[tuple, URLPattern, list[str]]], list[str]]:
    """(pattern chain, leaf, its filled URLs) for every URL pattern, and the
    patterns that cannot be filled. Shared with the allowed-methods test."""
    found, unfilled = [], []
    for parts, leaf in iter_patterns():
        got = fill(world, parts)
        if isinstance(got, str):
            unfilled.append(f"{leaf.name or leaf.lookup_str}: {got}")
            continue
        # Several candidates per parameter: keep those that resolve back to this
        # pattern; none doing so means the pattern was not reached.
        mine = []
        for url in got:
            try:
                match = resolve(url)
            except Resolver404:
                continue
            shadowed = match.route == "".join(str(p) for p in parts)  # e.g. the guarded admin log-in
            if match.func is leaf.callback or (leaf.name and match.url_name == leaf.name) or shadowed:
                mine.append(url)
        if not mine:
            unfilled.append(f"{leaf.name or leaf.lookup_str}: none of {got[:4]} resolves to it")
            continue
        found.append((parts, leaf, mine))
    return found, unfilled


def all_urls(world) -> tuple[list[str], list[str]]:
    found, unfilled = pattern_urls(world)
    return sorted({u for _, _, urls in found for u in urls}), unfilled


def body_of(resp) -> bytes:
    """The body and headers as bytes. Every canary rendering is ASCII, and UTF-8
    keeps ASCII bytes as they are, so searching the bytes finds exactly what
    searching the decoded text would (without decoding megabytes per response)."""
    raw = b"".join(resp.streaming_content) if resp.streaming else resp.content
    headers = "\n".join(f"{k}: {v}" for k, v in resp.headers.items())
    return raw + b"\n" + headers.encode("utf-8", "replace")


def walk(world, roles, slugs=None):
    urls, unfilled = all_urls(world)
    assert not unfilled, "URL patterns the canary walk cannot fill:\n" + "\n".join(unfilled)
    hits, seen = [], 0
    for role in roles:
        client = Client()
        if world["users"][role] is not None:
            client.force_login(world["users"][role])
        for url in urls:
            for variant in QUERY_VARIANTS:
                for slug in slugs or (world["bench"].slug, world["suite"].slug):
                    full = url + variant.format(slug=slug)
                    resp = client.get(full)
                    seen += 1
                    text = body_of(resp)
                    found = [c for c, b in CANARY_BYTES if b in text]
                    if found:
                        hits.append(f"{role} GET {full} -> {resp.status_code}: {found}")
                    if "{slug}" not in variant:
                        break
    return urls, hits, seen


def test_every_url_pattern_is_filled(world):
    urls, unfilled = all_urls(world)
    assert not unfilled, unfilled
    names = {resolve(u).url_name for u in urls}
    # the walk reaches the API, the web pages, suites and the admin
    for must in ("api-leaderboard", "api-submission", "benchmark-leaderboard", "submission-status"):
        assert must in names
    assert f"/api/v1/benchmarks/{world['suite'].slug}/leaderboard/" in urls
    assert any(u.startswith("/admin/") for u in urls)


def test_unfillable_pattern_fails_the_walk(world):
    from django.urls import path

    parts = (path("x/<str:mystery>/", lambda r: None).pattern,)
    assert isinstance(fill(world, parts), str)


@pytest.mark.slow(20)
def test_private_canary_appears_in_no_response_before_the_deadline(world):
    urls, hits, seen = walk(world, ("anon", "other", "owner"))
    assert seen > len(urls)
    assert not hits, "private-split canary leaked:\n" + "\n".join(hits[:40])


@pytest.mark.slow
def test_positive_control_canary_is_visible_after_the_deadline(world):
    """The walk can see a leak: once the deadline passed, the private board shows it."""
    bench = world["bench"]
    bench.deadline = timezone.now() - timedelta(minutes=1)
    bench.save()
    client = Client()
    for url in (f"/api/v1/benchmarks/{bench.slug}/leaderboard/?split=private",
                f"/api/v1/benchmarks/{world['suite'].slug}/leaderboard/?split=private",
                f"/benchmarks/{world['suite'].slug}/leaderboard/?split=private"):
        text = body_of(client.get(url))
        assert any(b in text for _, b in CANARY_BYTES), url
