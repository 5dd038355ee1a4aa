"""Leaderboard rules: selection, private fallback, hiding, ordering, teams, exports, leaks."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from earthbench.accounts.services import token_create
from earthbench.accounts.teams import TeamError, team_create, team_join, team_leave
from earthbench.leaderboards.models import LeaderboardEntry
from earthbench.leaderboards.selectors import leaderboard_rows
from earthbench.submissions import errors, intake, selection
from earthbench.submissions.models import Score, Submission
from tests.platform.conftest import UserFactory, csv_bytes, upload


def submit(user, bench, content, name="p.csv"):
    sub, _ = intake.submission_create(user=user, benchmark=bench, file=upload(content), filename=name)
    sub.refresh_from_db()
    return sub


def private_scores(sub):
    return sub.scores.get(split="private").primary_value


def client_for(user):
    c = APIClient()
    _, key = token_create(user=user, name="t")
    c.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return c


def test_private_uses_selection_else_best_public(eurosat, user, truth_rows, perfect_csv, half_right_csv):
    eurosat.deadline = timezone.now() + timedelta(days=1)
    eurosat.save()
    worse = submit(user, eurosat, half_right_csv)
    best = submit(user, eurosat, perfect_csv)
    # No selection: best public represents the team on the private board.
    row = leaderboard_rows(benchmark=eurosat, split="private")[0]
    assert row.submission_id == best.pk
    # Selecting the worse one makes it count instead.
    selection.submission_select(submission=worse, user=user, selected=True)
    row = leaderboard_rows(benchmark=eurosat, split="private")[0]
    assert row.submission_id == worse.pk and row.primary_value == private_scores(worse)
    selection.submission_select(submission=worse, user=user, selected=False)
    assert leaderboard_rows(benchmark=eurosat, split="private")[0].submission_id == best.pk


def test_selection_limit_and_closes_at_deadline(eurosat, user, perfect_csv):
    eurosat.final_selection_count = 1
    eurosat.deadline = timezone.now() + timedelta(days=1)
    eurosat.save()
    a, b = submit(user, eurosat, perfect_csv), submit(user, eurosat, perfect_csv)
    selection.submission_select(submission=a, user=user, selected=True)
    with pytest.raises(errors.SubmissionRefused, match="at most 1"):
        selection.submission_select(submission=b, user=user, selected=True)
    with pytest.raises(errors.SubmissionRefused, match="closed at the deadline"):
        selection.submission_select(submission=b, user=user, selected=True, now=eurosat.deadline)


def test_only_team_members_select(eurosat, user, other_user, perfect_csv):
    a = submit(user, eurosat, perfect_csv)
    with pytest.raises(errors.SubmissionRefused):
        selection.submission_select(submission=a, user=other_user, selected=True)


def test_hidden_entry_leaves_board_with_reason(eurosat, user, other_user, perfect_csv, half_right_csv):
    host = UserFactory()
    eurosat.hosts.add(host)
    cheat = submit(user, eurosat, perfect_csv)
    submit(other_user, eurosat, half_right_csv)
    with pytest.raises(errors.SubmissionRefused):
        selection.submission_hide(submission=cheat, by=other_user, reason="x")
    with pytest.raises(errors.SubmissionRefused, match="reason"):
        selection.submission_hide(submission=cheat, by=host, reason=" ")
    selection.submission_hide(submission=cheat, by=host, reason="used test labels")
    teams = [r.team for r in leaderboard_rows(benchmark=eurosat, split="public")]
    assert teams == [other_user.username]
    cheat.refresh_from_db()
    assert cheat.hidden_reason == "used test labels"


def test_missing_value_ranks_last(eurosat, user, other_user, perfect_csv, half_right_csv):
    a = submit(user, eurosat, half_right_csv)
    b = submit(other_user, eurosat, perfect_csv)
    Score.objects.filter(submission=b).update(primary_value=None)
    from earthbench.leaderboards.services import leaderboard_refresh_benchmark

    leaderboard_refresh_benchmark(benchmark=eurosat)
    rows = leaderboard_rows(benchmark=eurosat, split="public")
    assert [r.submission_id for r in rows] == [a.pk, b.pk] and rows[1].rank == 2


def test_lower_is_better_direction(eurosat, user, other_user, perfect_csv, half_right_csv):
    eurosat.primary_direction = "min"
    eurosat.save()
    submit(user, eurosat, perfect_csv)
    worse = submit(other_user, eurosat, half_right_csv)
    assert leaderboard_rows(benchmark=eurosat, split="public")[0].submission_id == worse.pk


def test_sort_by_other_metric_and_unknown_metric(eurosat, user, perfect_csv):
    submit(user, eurosat, perfect_csv)
    assert leaderboard_rows(benchmark=eurosat, split="public", sort="kappa")
    with pytest.raises(ValueError):
        leaderboard_rows(benchmark=eurosat, split="public", sort="nope")


def test_statistical_tie_marked(eurosat, user, other_user, perfect_csv, truth_rows):
    submit(user, eurosat, perfect_csv)
    # One wrong label: the paired difference to the perfect entry includes 0.
    rows = list(truth_rows)
    rows[0] = (rows[0][0], "Forest" if rows[0][1] != "Forest" else "River")
    submit(other_user, eurosat, csv_bytes(rows))
    board = leaderboard_rows(benchmark=eurosat, split="public")
    assert board[0].tied_with_leader and board[1].tied_with_leader


def test_team_create_join_merge_limits_and_leave(eurosat, perfect_csv):
    a, b = UserFactory(), UserFactory()
    team = team_create(user=a, benchmark=eurosat, name="Geo Wizards")
    submit(a, eurosat, perfect_csv)
    submit(b, eurosat, perfect_csv)
    eurosat.daily_quota = 1  # 2 submissions > 1/day x 1 day: merge refused
    eurosat.save()
    with pytest.raises(TeamError, match="more than the daily limit of 1"):
        team_join(user=b, benchmark=eurosat, code=team.join_code)
    eurosat.daily_quota = 5
    eurosat.merge_deadline = timezone.now() - timedelta(minutes=1)
    eurosat.save()
    with pytest.raises(TeamError, match="closed at .* merge deadline"):
        team_join(user=b, benchmark=eurosat, code=team.join_code)
    eurosat.merge_deadline = None
    eurosat.save()
    joined = team_join(user=b, benchmark=eurosat, code=team.join_code)
    assert joined.pk == team.pk and Submission.objects.filter(team=team).count() == 2
    rows = leaderboard_rows(benchmark=eurosat, split="public")
    assert [r.team for r in rows] == ["Geo Wizards"] and rows[0].entries == 2
    assert LeaderboardEntry.objects.filter(benchmark=eurosat, split="public").count() == 1
    team_leave(user=b, benchmark=eurosat)
    assert Submission.objects.filter(team=team).count() == 2
    assert not team.memberships.filter(user=b).exists()


def test_team_shares_quota(eurosat, perfect_csv):
    a, b = UserFactory(), UserFactory()
    team = team_create(user=a, benchmark=eurosat, name="Shared")
    team_join(user=b, benchmark=eurosat, code=team.join_code)
    eurosat.daily_quota = 1
    eurosat.save()
    submit(a, eurosat, perfect_csv)
    with pytest.raises(errors.QuotaExceeded):
        submit(b, eurosat, perfect_csv)


def test_leaderboard_api_csv_etag_and_pagination(eurosat, user, other_user, perfect_csv, half_right_csv):
    submit(user, eurosat, perfect_csv)
    submit(other_user, eurosat, half_right_csv)
    c = APIClient()
    url = "/api/v1/benchmarks/eurosat-classification-v1/leaderboard/"
    r = c.get(url + "?limit=1")
    assert r.status_code == 200 and r.json()["count"] == 2 and len(r.json()["results"]) == 1
    r2 = c.get(url + "?limit=1", HTTP_IF_NONE_MATCH=r["ETag"])
    assert r2.status_code == 304
    csv_text = c.get(url + "?format=csv").content.decode()
    header = csv_text.splitlines()[0].split(",")
    assert header[:2] == ["rank", "team"] and "oa_ci_low" in header and len(csv_text.splitlines()) == 3


PRIVATE_MARKERS = ('"private"', "private")


def test_private_split_never_leaks_before_deadline(eurosat, user, perfect_csv, client):
    eurosat.deadline = timezone.now() + timedelta(days=2)
    eurosat.save()
    sub = submit(user, eurosat, perfect_csv)
    private_value = private_scores(sub)
    api = client_for(user)
    base = "/api/v1/benchmarks/eurosat-classification-v1"
    assert api.get(f"{base}/leaderboard/?split=private").status_code == 403
    assert api.get(f"{base}/leaderboard/?split=private&format=csv").status_code == 403
    assert api.get(f"{base}/results/").status_code == 404
    for url in (f"{base}/leaderboard/", f"{base}/leaderboard/?format=csv", f"/api/v1/submissions/{sub.pk}/",
                "/api/v1/submissions/", f"/api/v1/submissions/{sub.pk}/logs/"):
        body = api.get(url).content.decode()
        assert '"split":"private"' not in body.replace(" ", ""), url
        assert "private" not in body or url.endswith("logs/"), url
    client.force_login(user)
    for url in (f"/benchmarks/{eurosat.slug}/", f"/benchmarks/{eurosat.slug}/?split=private",
                f"/submissions/{sub.pk}/", f"/submissions/{sub.pk}/status.json"):
        body = client.get(url).content.decode()
        assert ">private<" not in body and '"split": "private"' not in body, url
    # hosts see it
    eurosat.hosts.add(user)
    assert api.get(f"{base}/leaderboard/?split=private").json()["results"][0]["oa"] == private_value
    assert api.get(f"{base}/results/?format=csv").status_code == 200


def test_deadline_reveals_private(eurosat, user, perfect_csv):
    eurosat.deadline = timezone.now() + timedelta(days=2)
    eurosat.save()
    submit(user, eurosat, perfect_csv)
    api = client_for(user)
    url = "/api/v1/benchmarks/eurosat-classification-v1/leaderboard/?split=private"
    assert api.get(url).status_code == 403
    eurosat.deadline = timezone.now() - timedelta(seconds=1)
    eurosat.save()
    assert api.get(url).status_code == 200


def test_team_and_token_api(eurosat, user):
    api = client_for(user)
    base = f"/api/v1/benchmarks/{eurosat.slug}/team/"
    r = api.post(base, {"name": "Orbiters"}, format="json")
    assert r.status_code == 201 and r.json()["team"]["join_code"]
    other = UserFactory()
    r2 = client_for(other).post(base + "join/", {"code": r.json()["team"]["join_code"]}, format="json")
    members = r2.json()["team"]["members"]
    assert r2.status_code == 200 and sorted(members) == sorted([user.username, other.username])
    bad = client_for(other).post(base + "join/", {"code": "nope"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["message"]
    # creating tokens through the API needs the `tokens` scope (issue 16)
    _, key = token_create(user=user, name="admin", scopes=["read", "submit", "tokens"])
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    t = api.post("/api/v1/tokens/", {"name": "ci", "scopes": ["read"]}, format="json").json()
    assert t["key"].startswith("eb_") and t["scopes"] == ["read"]
    listed = api.get("/api/v1/tokens/").json()
    assert all("key" not in x for x in listed)
    assert api.delete(f"/api/v1/tokens/{t['id']}/").status_code == 204


def test_lone_leader_not_marked_tied(eurosat, user, perfect_csv, half_right_csv, other_user):
    submit(user, eurosat, perfect_csv)
    assert not leaderboard_rows(benchmark=eurosat, split="public")[0].tied_with_leader
    submit(other_user, eurosat, half_right_csv)  # far apart: no overlap either
    assert not any(r.tied_with_leader for r in leaderboard_rows(benchmark=eurosat, split="public"))


def test_private_refusal_does_no_work_that_depends_on_private_data(eurosat, user, perfect_csv):
    """No timing side channel: refusing the private board touches no score or
    entry table, so its cost does not depend on what the private split holds."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    eurosat.deadline = timezone.now() + timedelta(days=2)
    eurosat.save()
    submit(user, eurosat, perfect_csv)
    api = client_for(user)
    with CaptureQueriesContext(connection) as ctx:
        r = api.get("/api/v1/benchmarks/eurosat-classification-v1/leaderboard/?split=private")
    assert r.status_code == 403
    touched = " ".join(q["sql"] for q in ctx.captured_queries).lower()
    assert "leaderboardentry" not in touched and "eb_submissions_score" not in touched
