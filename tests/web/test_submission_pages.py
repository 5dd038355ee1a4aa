"""The submission page ranks the submission and links its leaderboard row; the
per-class plot names its metric; the leaderboard plot stays readable for one
point; the submit form fits the benchmark (containers only: no "Predictions file")."""

from __future__ import annotations

from datetime import timedelta

from earthbench.leaderboards import plots
from tests.platform.conftest import UserFactory
from tests.web.conftest import make_scored

BASE = "/benchmarks/eurosat-classification-v1"


def test_submission_page_shows_rank_and_links_its_row(client, eurosat, eurosat_results):
    a, b = UserFactory(), UserFactory()
    make_scored(user=a, benchmark=eurosat, results=eurosat_results, primary=0.9)
    mine = make_scored(user=b, benchmark=eurosat, results=eurosat_results, primary=0.5)
    worse = make_scored(user=b, benchmark=eurosat, results=eurosat_results, primary=0.4)
    client.force_login(b)
    html = client.get(f"/submissions/{mine.pk}/").content.decode()
    assert "<strong>rank 2</strong> of 2" in html
    assert f'href="{BASE}/leaderboard/?split=public#entry-public-{mine.pk}"' in html
    board = client.get(f"{BASE}/leaderboard/").content.decode()
    assert f'id="entry-public-{mine.pk}"' in board
    # A submission that is not its team's row points at the one that is.
    html = client.get(f"/submissions/{worse.pk}/").content.decode()
    assert "not your team's row" in html and f'href="/submissions/{mine.pk}/"' in html


def test_per_class_plot_names_its_metric(eurosat_results):
    metrics = eurosat_results["public"]["metrics"]
    fig = plots.per_class_bars(metrics=metrics, split="public", kind="classification")
    assert fig["layout"]["title"]["text"] == "Per-class recall (per-class accuracy) (public)"
    assert fig["layout"]["yaxis"]["title"]["text"] == "recall (per-class accuracy)"
    seg = {"per_class": {"water": {"iou": 0.5, "f1": 0.6}, "road": {"iou": 0.7}}}
    assert plots.per_class_bars(metrics=seg, split="private")["layout"]["title"]["text"] == (
        "Per-class IOU (private)")


def test_one_point_plot_has_day_ticks_and_the_full_reference_label(eurosat, eurosat_results):
    make_scored(user=UserFactory(), benchmark=eurosat, results=eurosat_results, primary=0.69)
    fig = plots.score_over_time(benchmark=eurosat)
    x = fig["layout"]["xaxis"]
    assert x["type"] == "date" and "%L" not in x["tickformat"] and "%S" not in x["tickformat"]
    lo, hi = (plots_time(v) for v in x["range"])
    assert hi - lo >= timedelta(days=2)  # not a sub-second range
    assert fig["layout"]["yaxis"]["tickformat"] == ".0%"  # OA is a percent metric
    (ref,) = [t for t in fig["data"] if t.get("line", {}).get("dash") == "dot"]
    source = eurosat.reference_results[0]["source"]
    assert ref["name"].replace("<br>", " ") == f"{source} (97.23%)"


def plots_time(value: str):
    from datetime import datetime

    return datetime.fromisoformat(value.replace(" ", "T"))


def test_containers_only_submit_form_asks_for_a_container(client, user, eurosat):
    client.force_login(user)
    eurosat.accepts_predictions = False
    eurosat.save()
    html = client.get(f"{BASE}/submit/").content.decode()
    assert "Predictions file" not in html and "<strong>Model container</strong>" in html
    eurosat.accepts_predictions, eurosat.accepts_containers = True, False
    eurosat.save()
    assert "<strong>Predictions file</strong>" in client.get(f"{BASE}/submit/").content.decode()


def test_submit_tab_sign_up_link_keeps_next(client, eurosat):
    html = client.get(f"{BASE}/submit/").content.decode()
    assert f'href="/accounts/signup/?next={BASE}/submit/"' in html


def test_many_points_plot_as_lines_for_the_top_teams_only(eurosat, eurosat_results, many_teams):
    make_scored(user=many_teams[0], benchmark=eurosat, results=eurosat_results, primary=0.3)
    fig = plots.score_over_time(benchmark=eurosat)  # 61 submissions of 30 teams
    teams = [t for t in fig["data"] if t.get("line", {}).get("dash") != "dot"]
    assert len(teams) == 10 and all(t["mode"] == "lines" for t in teams)
    assert fig["layout"]["legend"]["orientation"] == "h"
