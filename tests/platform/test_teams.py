"""Teams per benchmark (issue 25): membership rules, join/leave/merge, limits,
leaderboards following merges, suites, and the API."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from earthbench.accounts.models import Membership, Team
from earthbench.accounts.services import token_create
from earthbench.accounts.teams import (
    TeamError,
    team_create,
    team_for,
    team_join,
    team_leave,
    team_merge,
    team_of,
    teams_of_user,
)
from earthbench.benchmarks.models import Benchmark
from earthbench.leaderboards.models import LeaderboardEntry
from earthbench.leaderboards.selectors import leaderboard_rows
from earthbench.leaderboards.suites import suite_rows
from earthbench.submissions import intake, quota, selection
from earthbench.submissions.models import Submission
from tests.platform.conftest import UserFactory, upload


def submit(user, bench, content):
    sub, _ = intake.submission_create(user=user, benchmark=bench, file=upload(content), filename="p.csv")
    sub.refresh_from_db()
    return sub


@pytest.fixture
def twin(eurosat):
    """A second benchmark sharing EuroSAT's installed data."""
    import shutil

    from earthbench import storage

    bench = Benchmark.objects.create(
        slug="eurosat-twin-v1", title="twin", task_kind="classification", primary_metric="oa",
        metrics=eurosat.metrics, options=eurosat.options, spec=eurosat.spec,
    )
    shutil.copytree(storage.benchmark_dir(eurosat.slug), storage.benchmark_dir(bench.slug), dirs_exist_ok=True)
    return bench


def client_for(user) -> APIClient:
    c = APIClient()
    _, key = token_create(user=user, name="t")
    c.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return c


def test_personal_team_is_made_on_first_submission_there(eurosat, twin, perfect_csv):
    a = UserFactory()
    assert team_of(user=a, benchmark=eurosat) is None and teams_of_user(user=a) == []
    # someone else already named a team after a on eurosat: a's personal team gets a suffix
    squatter = UserFactory()
    team_create(user=squatter, benchmark=eurosat, name=a.username)
    sub = submit(a, eurosat, perfect_csv)
    team = team_of(user=a, benchmark=eurosat)
    assert sub.team == team and team.is_personal and team.name == f"{a.username}-1"
    assert team.benchmark == eurosat and team_of(user=a, benchmark=twin) is None
    assert team_for(user=a, benchmark=eurosat) == team  # found, not made again
    long = UserFactory(username="x" * 150)
    assert team_for(user=long, benchmark=eurosat).name == "x" * 90


def test_one_team_per_user_and_benchmark_is_a_database_constraint(eurosat, twin, perfect_csv):
    a = UserFactory()
    submit(a, eurosat, perfect_csv)
    other = Team.objects.create(benchmark=eurosat, name="Other")
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(team=other, user=a, benchmark=eurosat)
    # ...while a team on another benchmark is fine
    there = Team.objects.create(benchmark=twin, name="Other")
    Membership.objects.create(team=there, user=a, benchmark=twin)
    assert [t.benchmark.slug for t in teams_of_user(user=a)] == [eurosat.slug, twin.slug]


def test_joining_on_one_benchmark_moves_nothing_elsewhere(eurosat, twin, perfect_csv, half_right_csv):
    a, b = UserFactory(), UserFactory()
    lab = team_create(user=a, benchmark=eurosat, name="Change Lab")
    submit(a, eurosat, perfect_csv)
    b_euro = submit(b, eurosat, half_right_csv)
    b_twin = submit(b, twin, half_right_csv)
    b_twin_team = b_twin.team
    joined = team_join(user=b, benchmark=eurosat, code=lab.join_code)
    assert joined == lab
    b_euro.refresh_from_db()
    b_twin.refresh_from_db()
    assert b_euro.team == lab  # b's personal eurosat team merged in
    assert b_twin.team == b_twin_team and b_twin_team.is_personal  # untouched
    assert not Team.objects.filter(benchmark=eurosat, is_personal=True, memberships__user=b).exists()
    assert [r.team for r in leaderboard_rows(benchmark=eurosat, split="public")] == ["Change Lab"]
    assert [r.team for r in leaderboard_rows(benchmark=twin, split="public")] == [b.username]
    # the code is only good on its own benchmark
    with pytest.raises(TeamError, match="no team on eurosat-twin-v1 has this join code"):
        team_join(user=a, benchmark=twin, code=lab.join_code)


def test_merge_moves_members_and_that_benchmarks_submissions(eurosat, twin, perfect_csv, half_right_csv):
    a, b, c = UserFactory(), UserFactory(), UserFactory()
    target = team_create(user=a, benchmark=eurosat, name="Target")
    source = team_create(user=b, benchmark=eurosat, name="Source")
    team_join(user=c, benchmark=eurosat, code=source.join_code)
    submit(a, eurosat, half_right_csv)
    best = submit(c, eurosat, perfect_csv)
    c_twin = submit(c, twin, perfect_csv)
    assert len(leaderboard_rows(benchmark=eurosat, split="public")) == 2
    with pytest.raises(TeamError, match="only the owner"):
        team_merge(user=c, benchmark=eurosat, code=target.join_code)
    merged = team_merge(user=b, benchmark=eurosat, code=target.join_code)
    assert merged == target and not Team.objects.filter(pk=source.pk).exists()
    assert sorted(m.user.username for m in target.memberships.all()) == sorted([a.username, b.username, c.username])
    assert set(Submission.objects.filter(benchmark=eurosat).values_list("team_id", flat=True)) == {target.pk}
    c_twin.refresh_from_db()
    assert c_twin.team.benchmark == twin and c_twin.team.is_personal
    rows = leaderboard_rows(benchmark=eurosat, split="public")
    assert [(r.team, r.submission_id, r.entries) for r in rows] == [("Target", best.pk, 2)]
    assert LeaderboardEntry.objects.filter(team_id=source.pk).count() == 0
    # the quota follows: the merged team has used both teams' submissions of today
    assert quota.quota_for(team=target, benchmark=eurosat).used == 2


def test_exports_and_host_dashboard_name_the_per_benchmark_team(client, eurosat, twin, perfect_csv):
    from earthbench.leaderboards.exports import full_results

    a, b, host = UserFactory(), UserFactory(), UserFactory()
    eurosat.hosts.add(host)
    twin.hosts.add(host)
    lab = team_create(user=a, benchmark=eurosat, name="Export Lab")
    team_join(user=b, benchmark=eurosat, code=lab.join_code)
    submit(b, eurosat, perfect_csv)
    submit(b, twin, perfect_csv)
    assert {r["team"] for r in full_results(eurosat)} == {"Export Lab"}
    assert {r["team"] for r in full_results(twin)} == {b.username}
    client.force_login(host)
    csv_text = client.get(f"/api/v1/benchmarks/{eurosat.slug}/results/?format=csv").content.decode()
    assert "Export Lab" in csv_text and f",{b.username}," in csv_text  # team, then the user
    assert "Export Lab" in client.get(f"/benchmarks/{eurosat.slug}/host/").content.decode()
    assert "Export Lab" not in client.get(f"/benchmarks/{twin.slug}/host/").content.decode()


def test_users_own_submissions_keep_counting_after_leaving(eurosat, perfect_csv):
    """Kaggle's rule: leave a team and join another, and the day's submissions
    you made come with you into the merge-limit count."""
    a, b, c = UserFactory(), UserFactory(), UserFactory()
    eurosat.daily_quota = 2
    eurosat.save()
    old = team_create(user=c, benchmark=eurosat, name="Old")
    team_join(user=b, benchmark=eurosat, code=old.join_code)
    submit(b, eurosat, perfect_csv)
    submit(b, eurosat, perfect_csv)
    team_leave(user=b, benchmark=eurosat)
    assert Submission.objects.filter(team=old).count() == 2  # past submissions stay
    assert team_of(user=b, benchmark=eurosat) is None
    new = team_create(user=a, benchmark=eurosat, name="New")
    submit(a, eurosat, perfect_csv)
    # "New" made 1 today, but b made 2: 3 > 2
    with pytest.raises(TeamError, match="made 3 submissions on eurosat-classification-v1 today"):
        team_join(user=b, benchmark=eurosat, code=new.join_code)
    eurosat.daily_quota = 3
    eurosat.save()
    assert team_join(user=b, benchmark=eurosat, code=new.join_code) == new
    assert Submission.objects.filter(team=old).count() == 2 and Submission.objects.filter(team=new).count() == 1


def test_total_and_selection_limits_of_a_merge(eurosat, perfect_csv):
    a, b = UserFactory(), UserFactory()
    target = team_create(user=a, benchmark=eurosat, name="Tee")
    submit(a, eurosat, perfect_csv)
    s1 = submit(b, eurosat, perfect_csv)
    s2 = submit(b, eurosat, perfect_csv)
    t = submit(a, eurosat, perfect_csv)
    selection.submission_select(submission=t, user=a, selected=True)
    selection.submission_select(submission=s1, user=b, selected=True)
    eurosat.final_selection_count = 1
    eurosat.save()
    with pytest.raises(TeamError, match="2 final selections"):
        team_join(user=b, benchmark=eurosat, code=target.join_code)
    selection.submission_select(submission=s1, user=b, selected=False)
    # Total: 4 submissions (2 today) on a benchmark open for 1 day at 2 a day
    Submission.objects.filter(pk__in=[s1.pk, s2.pk]).update(created_at=timezone.now() - timedelta(days=3))
    eurosat.daily_quota = 2
    eurosat.save()
    with pytest.raises(TeamError, match="4 submissions .* more than the 2 allowed"):
        team_join(user=b, benchmark=eurosat, code=target.join_code)


def test_team_changes_close_at_the_merge_deadline(eurosat, perfect_csv):
    a, b, c = UserFactory(), UserFactory(), UserFactory()
    team = team_create(user=a, benchmark=eurosat, name="Closed")
    team_join(user=b, benchmark=eurosat, code=team.join_code)
    other = team_create(user=c, benchmark=eurosat, name="Late")
    eurosat.merge_deadline = timezone.now() - timedelta(seconds=1)
    eurosat.save()
    for action in (
        lambda: team_leave(user=b, benchmark=eurosat),
        lambda: team_merge(user=c, benchmark=eurosat, code=team.join_code),
        lambda: team_join(user=UserFactory(), benchmark=eurosat, code=team.join_code),
    ):
        with pytest.raises(TeamError, match="merge deadline"):
            action()
    assert other.memberships.count() == 1 and team.memberships.count() == 2


def test_suite_row_is_one_group_of_people_across_members(eurosat, twin, perfect_csv, half_right_csv):
    spec = {"suite": {"members": [eurosat.slug, twin.slug], "n_resamples": 50,
                      "reference": {eurosat.slug: {"metric": "oa", "min": 0.0, "max": 1.0},
                                    twin.slug: {"metric": "oa", "min": 0.0, "max": 1.0}}}}
    suite = Benchmark.objects.create(slug="pair-suite-v1", title="pair", task_kind="suite",
                                     primary_metric="iqm", metrics=[{"key": "iqm", "direction": "max"}], spec=spec)
    a, b, c = UserFactory(), UserFactory(), UserFactory()
    for bench, name in ((eurosat, "Lab"), (twin, "Lab on twin")):
        t = team_create(user=a, benchmark=bench, name=name)
        team_join(user=b, benchmark=bench, code=t.join_code)
        submit(b if bench == twin else a, bench, perfect_csv)
    # c's team on twin carries the name "Lab" too, but it is other people
    team_create(user=c, benchmark=twin, name="Lab")
    submit(c, twin, half_right_csv)
    rows = suite_rows(benchmark=suite)
    by_team = {r.team: r for r in rows}
    # one row per group of people; same-named groups are told apart by their members
    ab = "Lab (" + ", ".join(sorted([a.username, b.username])) + ")"
    assert set(by_team) == {ab, f"Lab ({c.username})"}
    assert by_team[ab].missing == [] and by_team[ab].rank == 1
    assert by_team[f"Lab ({c.username})"].missing == [eurosat.slug]


def test_team_api_per_benchmark(eurosat, twin, perfect_csv):
    a, b, c = UserFactory(), UserFactory(), UserFactory()
    api_a, api_b, api_c = client_for(a), client_for(b), client_for(c)
    base = f"/api/v1/benchmarks/{eurosat.slug}/team/"
    assert api_a.get(base).json() == {"benchmark": eurosat.slug, "team": None}
    created = api_a.post(base, {"name": "API Team"}, format="json")
    assert created.status_code == 201
    team = created.json()["team"]
    assert team["benchmark"] == eurosat.slug and team["owner"] == a.username and not team["is_personal"]
    assert api_a.post(base, {"name": "Again"}, format="json").status_code == 400
    joined = api_b.post(base + "join/", {"code": team["join_code"]}, format="json")
    assert joined.status_code == 200 and sorted(joined.json()["team"]["members"]) == sorted([a.username, b.username])
    # c forms a team and merges it into a's
    api_c.post(base, {"name": "C Team"}, format="json")
    merged = api_c.post(base + "merge/", {"code": team["join_code"]}, format="json")
    assert merged.status_code == 200 and len(merged.json()["team"]["members"]) == 3
    left = api_b.post(base + "leave/", format="json")
    assert left.status_code == 200 and left.json() == {"benchmark": eurosat.slug, "team": None}
    # teams on other benchmarks are separate
    assert api_a.get(f"/api/v1/benchmarks/{twin.slug}/team/").json()["team"] is None
    submit(a, twin, perfect_csv)
    mine = api_a.get("/api/v1/me/teams/").json()
    assert [(t["benchmark"], t["name"]) for t in mine] == [(eurosat.slug, "API Team"), (twin.slug, a.username)]
    eurosat.merge_deadline = timezone.now() - timedelta(seconds=1)
    eurosat.save()
    late = api_b.post(base + "join/", {"code": team["join_code"]}, format="json")
    assert late.status_code == 400 and "merge deadline" in late.json()["error"]["message"]
    assert api_a.get("/api/v1/benchmarks/no-such-v1/team/").status_code == 404
    assert APIClient().get(base).status_code in (401, 403)


def test_baselines_get_a_team_per_benchmark_and_never_a_participants(eurosat, twin):
    from earthbench.submissions.baselines import baseline_team

    squatter = UserFactory()
    mine = team_create(user=squatter, benchmark=eurosat, name="Baselines")
    euro, other = baseline_team(benchmark=eurosat), baseline_team(benchmark=twin)
    assert euro != mine and euro.name == "Baselines (platform)" and other.name == "Baselines"
    assert euro.benchmark == eurosat and other.benchmark == twin
    assert baseline_team(benchmark=eurosat) == euro
    assert [m.user.username for m in mine.memberships.all()] == [squatter.username]


def test_team_copied_from_another_benchmark_moves_no_submission(eurosat, twin, perfect_csv):
    """The reusable-group convenience: a team on twin made from my team on eurosat."""
    from earthbench.accounts.teams import team_copy

    a, b, c = UserFactory(), UserFactory(), UserFactory()
    lab = team_create(user=a, benchmark=eurosat, name="Reusable Lab")
    for u in (b, c):
        team_join(user=u, benchmark=eurosat, code=lab.join_code)
    made_alone = submit(a, twin, perfect_csv)  # a's personal team on twin
    made_in_lab = submit(b, eurosat, perfect_csv)  # stays on eurosat with the lab
    other = team_create(user=c, benchmark=twin, name="C Elsewhere")
    with pytest.raises(TeamError, match="only the owner"):
        team_copy(user=b, benchmark=twin, source=lab)
    team, skipped = team_copy(user=a, benchmark=twin, source=lab)
    assert team.benchmark == twin and team.name == "Reusable Lab" and skipped == [c.username]
    assert sorted(m.user.username for m in team.memberships.all()) == sorted([a.username, b.username])
    assert team_of(user=c, benchmark=twin) == other
    made_alone.refresh_from_db()
    assert made_alone.team == team  # a's personal team was renamed, as team_create does
    made_in_lab.refresh_from_db()
    assert made_in_lab.team == lab and made_in_lab.benchmark == eurosat
    assert Submission.objects.filter(benchmark=eurosat, team=lab).count() == 1
    assert not Submission.objects.filter(benchmark=twin, team=lab).exists()
    with pytest.raises(TeamError, match="already your team"):
        team_copy(user=a, benchmark=eurosat, source=lab)


def test_team_copy_api(eurosat, twin):
    a, b = UserFactory(), UserFactory()
    lab = team_create(user=a, benchmark=eurosat, name="Copy Lab")
    team_join(user=b, benchmark=eurosat, code=lab.join_code)
    api = client_for(a)
    r = api.post(f"/api/v1/benchmarks/{twin.slug}/team/copy/", {"from_benchmark": eurosat.slug}, format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["benchmark"] == twin.slug and body["skipped"] == []
    assert body["team"]["name"] == "Copy Lab" and sorted(body["team"]["members"]) == sorted([a.username, b.username])
    again = api.post(f"/api/v1/benchmarks/{twin.slug}/team/copy/", {"from_benchmark": eurosat.slug}, format="json")
    assert again.status_code == 400 and "already in team" in again.json()["error"]["message"]
    none = client_for(UserFactory()).post(
        f"/api/v1/benchmarks/{twin.slug}/team/copy/", {"from_benchmark": eurosat.slug}, format="json"
    )
    assert none.status_code == 404


def test_admin_adds_a_member_with_the_teams_benchmark(client, eurosat, twin):
    staff = UserFactory(is_staff=True, is_superuser=True)
    newcomer = UserFactory()
    owner = UserFactory()
    team = team_create(user=owner, benchmark=eurosat, name="Admin Made")
    (m,) = team.memberships.all()
    client.force_login(staff)
    r = client.post(f"/admin/accounts/team/{team.pk}/change/", {
        "benchmark": twin.pk, "name": team.name, "join_code": team.join_code,  # ignored: read-only
        "memberships-TOTAL_FORMS": "2", "memberships-INITIAL_FORMS": "1",
        "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-id": m.pk, "memberships-0-team": team.pk, "memberships-0-user": owner.pk,
        "memberships-0-role": "owner",
        "memberships-1-team": team.pk, "memberships-1-user": newcomer.pk, "memberships-1-role": "member",
    })
    assert r.status_code == 302, r.content.decode()[:2000]
    assert team_of(user=newcomer, benchmark=eurosat) == team
    assert Membership.objects.get(user=newcomer).benchmark == eurosat
    team.refresh_from_db()
    assert team.benchmark == eurosat


def test_a_team_merged_away_while_a_file_is_stored_submits_as_the_new_team(eurosat, perfect_csv, monkeypatch):
    """The team is looked up before the upload is stored; a merge in between
    used to leave the submission pointing at a deleted team (a 500)."""
    from earthbench import storage

    a, b = UserFactory(), UserFactory()
    target = team_create(user=a, benchmark=eurosat, name="Target")
    source = team_create(user=b, benchmark=eurosat, name="Source")
    real_store = storage.store_fileobj

    def store_then_merge(*args, **kwargs):
        stored = real_store(*args, **kwargs)
        team_merge(user=b, benchmark=eurosat, code=target.join_code)
        return stored

    monkeypatch.setattr(storage, "store_fileobj", store_then_merge)
    sub = submit(b, eurosat, perfect_csv)
    assert not Team.objects.filter(pk=source.pk).exists()
    assert sub.team == target and Submission.objects.get(pk=sub.pk).team_id == target.pk
