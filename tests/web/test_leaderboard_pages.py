"""The leaderboard page and the API leaderboard are built by the same code
(``leaderboards/pages.py``): the same rows in the same order for the same split and
sort; where the API refuses a request (unknown split, metric or page; the hidden
private split: 400/403) the page shows the public board in the primary order."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from earthbench.leaderboards import pages


def api_ids(client, slug, query="") -> tuple[int, list[int]]:
    r = client.get(f"/api/v1/benchmarks/{slug}/leaderboard/?limit=1000{query}")
    return r.status_code, [row["submission_id"] for row in r.json().get("results", [])]


def page(client, slug, query=""):
    r = client.get(f"/benchmarks/{slug}/leaderboard/?{query}")
    assert r.status_code == 200
    return r.context["split"], r.context["sort"], [row.submission_id for row in r.context["rows"]]


@pytest.fixture
def board(eurosat, many_teams):
    eurosat.deadline = timezone.now() + timedelta(days=3)  # private split hidden
    eurosat.save()
    return eurosat


def test_page_and_api_show_the_same_rows(client, board):
    other = next(m["key"] for m in board.metrics if m["key"] != board.primary_metric)
    for query in ("", f"&sort={other}"):
        code, ids = api_ids(client, board.slug, query)
        assert code == 200 and len(ids) == 30  # one row per team
        split, sort, rows = page(client, board.slug, query.lstrip("&"))
        assert (split, rows) == ("public", ids)
        assert sort == (other if query else None)


@pytest.mark.parametrize("query, api_code", [
    ("&split=private", 403), ("&split=secret", 400), ("&sort=nope", 400), ("&limit=x", 400),
])
def test_what_the_api_refuses_the_page_shows_as_the_public_board(client, board, query, api_code):
    assert api_ids(client, board.slug, query)[0] == api_code
    _, public = api_ids(client, board.slug)
    assert page(client, board.slug, query.lstrip("&")) == ("public", None, public)


def test_board_split_rules(board, user):
    assert pages.board_split(benchmark=board, requested=None, user=user) == "public"
    with pytest.raises(pages.SplitHidden):
        pages.board_split(benchmark=board, requested="private", user=user)
    with pytest.raises(pages.BoardRequestError) as err:
        pages.board_split(benchmark=board, requested="train", user=user)
    assert err.value.field == "split"
    assert pages.board_split(benchmark=board, requested="private", user=user, strict=False) == "public"
    assert pages.page_bounds({"offset": "-5", "limit": "5000"}) == (0, pages.MAX_LIMIT)
