"""No main page scrolls sideways, on a desktop and on a 390×844 phone, suites
included (a real headless Chromium)."""

from __future__ import annotations

import pytest

from earthbench.benchmarks.models import Benchmark
from tests.web.conftest import UserFactory, make_scored

pytestmark = pytest.mark.browser

SLUG = "eurosat-classification-v1"
SUITE = "mini-suite-v1"


@pytest.fixture
def site(eurosat, eurosat_results, live_server):
    """A benchmark with entries (long method names), a suite over it, a user."""
    user = UserFactory(username="participant-with-a-rather-long-name")
    user.set_password("pw-123456789")
    user.save()
    subs = [
        make_scored(user=UserFactory(), benchmark=eurosat, results=eurosat_results,
                    primary=0.5 + i / 100,
                    method_name=f"ResNet-152 + multi-scale test-time augmentation v{i}")
        for i in range(5)
    ]
    mine = make_scored(user=user, benchmark=eurosat, results=eurosat_results, primary=0.7,
                       method_name="a-very-long-unbroken-method-name-without-any-spaces-at-all")
    Benchmark.objects.create(
        slug=SUITE, title="A suite of one member", task_kind="suite", primary_metric="iqm",
        metrics=[{"key": "iqm", "label": "IQM", "direction": "max"}],
        spec={"suite": {"members": [SLUG, "absent-v1"],
                        "reference": {SLUG: {"metric": "oa", "min": 0.1, "max": 1.0}}}},
    )
    return {"user": user, "mine": mine, "subs": subs}


# The deepest elements sticking out on the right (for the failure message).
WIDEST = """(w) => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > w + 1 && ![...e.children].some(
      c => c.getBoundingClientRect().right > w + 1))
  .slice(0, 3).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
      + ' ' + Math.round(e.getBoundingClientRect().right))"""

PUBLIC = [
    "/", "/getting-started/", "/downloads/", "/accounts/login/", "/accounts/signup/",
    "/accounts/password-reset/",
    *[f"/benchmarks/{SLUG}/{tab}" for tab in ("", "data/", "leaderboard/", "submit/")],
    *[f"/benchmarks/{SUITE}/{tab}" for tab in ("", "data/", "leaderboard/")],
    "/docs/cli/", "/docs/api/",
]
SIGNED_IN = ["/submissions/", "/account/", "/account/tokens/", f"/benchmarks/{SLUG}/mine/",
             f"/benchmarks/{SLUG}/submit/"]


@pytest.mark.parametrize("width,height", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_no_main_page_scrolls_sideways(chromium, live_server, site, width, height):
    context = chromium.new_context(viewport={"width": width, "height": height},
                                   base_url=live_server.url)
    context.set_default_timeout(15000)
    page = context.new_page()
    too_wide = {}

    def check(path: str) -> None:
        response = page.goto(path)
        assert response.status == 200, path
        page.wait_for_load_state("load")
        scroll = page.evaluate("document.documentElement.scrollWidth")
        if scroll > width + 1:
            too_wide[path] = (scroll, page.evaluate(WIDEST, width))

    try:
        for path in PUBLIC:
            check(path)
        page.goto("/accounts/login/")
        page.locator("#id_username").fill(site["user"].username)
        page.locator("#id_password").fill("pw-123456789")
        page.locator("form.stack button[type=submit]").click()
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        for path in [*SIGNED_IN, f"/submissions/{site['mine'].pk}/"]:
            check(path)
    finally:
        context.close()
    assert not too_wide, f"wider than {width}px: {too_wide}"
