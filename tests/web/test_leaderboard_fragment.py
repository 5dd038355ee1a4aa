"""The leaderboard table's HTML is reused only while its rows are unchanged."""

from __future__ import annotations

from earthbench.leaderboards.selectors import leaderboard_rows
from earthbench.web import fragments, leaderboard_table
from tests.platform.conftest import UserFactory
from tests.web.conftest import make_scored

URL = "/benchmarks/eurosat-classification-v1/leaderboard/"


def test_cached_table_equals_the_rendered_one_and_follows_changes(client, eurosat, eurosat_results):
    fragments.clear()
    make_scored(user=UserFactory(), benchmark=eurosat, results=eurosat_results, primary=0.61)
    rows = leaderboard_rows(benchmark=eurosat, split="public")
    direct = leaderboard_table.render(
        bench=eurosat, rows=rows, split="public", sort=None, table_id="leaderboard", sortable=True,
    )
    assert fragments.leaderboard_table(bench=eurosat, rows=rows, split="public", sort=None) == direct
    first = client.get(URL).content.decode()
    assert client.get(URL).content.decode() == first  # served from the cache, same bytes
    # A new entry is a new key: the page shows it at once.
    new = make_scored(user=UserFactory(), benchmark=eurosat, results=eurosat_results, primary=0.93)
    page = client.get(URL).content.decode()
    assert f'id="entry-public-{new.pk}"' in page and f'id="entry-public-{new.pk}"' not in first
    # Sorting by another metric is another table.
    assert client.get(URL + "?sort=kappa").content.decode() != page


def test_hosts_get_their_row_forms(client, eurosat, eurosat_results):
    fragments.clear()
    make_scored(user=UserFactory(), benchmark=eurosat, results=eurosat_results, primary=0.61)
    assert "hide-form" not in client.get(URL).content.decode()  # cached for visitors
    host = UserFactory()
    eurosat.hosts.add(host)
    client.force_login(host)
    assert "hide-form" in client.get(URL).content.decode()
