"""Website pages through Django's test client: tabs, host tools, teams, docs."""

from __future__ import annotations

import re

import yaml
from django.contrib.auth import get_user_model

from earthbench.accounts.models import Team
from earthbench.benchmarks.models import Benchmark
from earthbench.submissions.models import Submission
from tests.web.conftest import make_scored, upload

SLUG = "eurosat-classification-v1"
BASE = f"/benchmarks/{SLUG}"


def test_catalog_filters_by_kind_modality_sensor_paper_and_text(client, eurosat):
    other = Benchmark.objects.create(
        slug="toy-segmentation-v1",
        title="Toy segmentation",
        task_kind="segmentation",
        papers=["A toy paper"],
        modalities=["rgb"],
        spec={"sensors": ["Drone"]},
        metrics=[{"key": "miou", "direction": "max"}],
        primary_metric="miou",
    )
    both = {SLUG, other.slug}

    def listed(query: str) -> set[str]:
        body = client.get("/" + query).content.decode()
        return {s for s in both if f"<code>{s}</code>" in body}

    assert listed("") == both
    assert listed("?kind=classification") == {SLUG}
    assert listed("?modality=rgb") == {other.slug}
    assert listed("?sensor=Sentinel-2") == {SLUG}
    assert listed("?paper=A+toy+paper") == {other.slug}
    assert listed("?q=toy") == {other.slug}
    assert listed("?q=torchgeo") == {SLUG}  # searches paper titles too
    body = client.get("/").content.decode()
    for facet in ("multispectral", "Sentinel-2", "Drone", "segmentation"):
        assert f'<option value="{facet}"' in body


def test_benchmark_tabs_render_with_titles(client, eurosat):
    for path, title in [
        ("/", "Overview"),
        ("/data/", "Data"),
        ("/leaderboard/", "Leaderboard (public)"),
        ("/submit/", "Submit"),
        ("/mine/", "My submissions"),
    ]:
        r = client.get(BASE + path)
        assert r.status_code == 200, path
        html = r.content.decode()
        assert f"<title>{title} · {eurosat.title} · EarthBench</title>" in html
        assert 'aria-current="page" class="active">' + title.split(" (")[0] in html


def test_overview_strips_the_cards_title_and_lists_reference_results(client, eurosat):
    html = client.get(BASE + "/").content.decode()
    assert html.count("<h1>") == 1
    # Formatted like the metric (OA is a percent), not the raw fraction 0.9723.
    assert '<td class="num">97.23%</td>' in html and "TorchGeo" in html
    assert "Cohen" in html  # metric table


def test_data_tab_offers_sample_file_and_exact_command(client, eurosat):
    html = client.get(BASE + "/data/").content.decode()
    assert "sample_submission.csv" in html
    assert "python -m evaluator score" in html and "--kind classification" in html
    assert "--options" in html and "AnnualCrop" in html
    assert "--primary oa" in html and "--bootstrap " in html and "--seed 0" in html and "--ids FILE" in html
    r = client.get(BASE + "/data/sample/")
    assert r.status_code == 200
    body = b"".join(r.streaming_content).decode()
    assert body.splitlines()[0] == "id,label"
    assert 'filename="sample_submission.csv"' in r["Content-Disposition"]


def test_submit_tab_shows_quota_and_container_option(client, user, eurosat):
    client.force_login(user)
    html = client.get(BASE + "/submit/").content.decode()
    assert "Remaining today: <strong>10</strong> of 10" in html
    assert '<option value="container"' in html  # EuroSAT accepts containers
    eurosat.accepts_containers = False
    eurosat.save()
    html = client.get(BASE + "/submit/").content.decode()
    assert '<option value="container"' not in html
    assert 'type="hidden" name="kind" value="predictions"' in html


def test_json_submit_answers_redirect_or_error(client, user, eurosat, perfect_csv):
    client.force_login(user)
    r = client.post(
        BASE + "/submit/",
        {"file": upload(perfect_csv), "kind": "predictions"},
        HTTP_ACCEPT="application/json",
    )
    sub = Submission.objects.get()
    assert r.json() == {"ok": True, "id": sub.pk, "redirect": f"/submissions/{sub.pk}/"}
    r = client.post(
        BASE + "/submit/",
        {"file": upload(perfect_csv), "kind": "predictions", "git_commit": "zz"},
        HTTP_ACCEPT="application/json",
    )
    assert r.status_code == 400 and "git_commit" in r.json()["error"]


def test_my_submissions_tab_lists_status_error_and_select_toggle(
    client, user, eurosat, truth_rows, perfect_csv
):
    client.force_login(user)
    client.post(BASE + "/submit/", {"file": upload(perfect_csv), "kind": "predictions"})
    bad = ("id,label\n" + "".join(f"{a},{b}\n" for a, b in truth_rows[:3])).encode()
    client.post(BASE + "/submit/", {"file": upload(bad), "kind": "predictions"})
    html = client.get(BASE + "/mine/").content.decode()
    good = Submission.objects.get(status="scored")
    assert "test id(s) missing" in html
    assert "100.00%" in html  # the perfect file's public OA
    assert f'action="/submissions/{good.pk}/select/"' in html
    r = client.post(
        f"/submissions/{good.pk}/select/", {"selected": "1", "next": BASE + "/mine/"}
    )
    assert r["Location"] == BASE + "/mine/"
    good.refresh_from_db()
    assert good.is_selected
    assert "★ Final" in client.get(BASE + "/mine/").content.decode()


def test_select_refuses_offsite_next(client, user, eurosat, eurosat_results):
    sub = make_scored(user=user, benchmark=eurosat, results=eurosat_results)
    client.force_login(user)
    r = client.post(
        f"/submissions/{sub.pk}/select/", {"selected": "1", "next": "//evil.example/"}
    )
    assert r["Location"] == f"/submissions/{sub.pk}/"


def test_host_dashboard_is_404_for_non_hosts(client, user, eurosat):
    assert client.get(BASE + "/host/").status_code == 302  # anonymous: log in first
    client.force_login(user)
    assert client.get(BASE + "/host/").status_code == 404
    assert client.post(BASE + "/host/rescore/").status_code == 404
    assert ">Host<" not in client.get(BASE + "/").content.decode()


def test_host_dashboard_queue_hide_restore_and_rescore(
    client, user, other_user, eurosat, eurosat_results
):
    entry = make_scored(
        user=other_user,
        benchmark=eurosat,
        results=eurosat_results,
        method_name="theirs",
    )
    failed = Submission.objects.create(
        benchmark=eurosat,
        team=entry.team,
        created_by=other_user,
        file_path="x",
        file_name="x.csv",
        file_sha256="0" * 64,
        file_size=1,
        status="failed",
        error="boom: line 3",
        attempts=2,
    )
    eurosat.hosts.add(user)
    client.force_login(user)
    html = client.get(BASE + "/host/").content.decode()
    assert ">Host<" in html and "boom: line 3" in html
    assert re.search(r'<span class="n bad">1</span> failed', html)
    assert f"/api/v1/benchmarks/{SLUG}/results/?format=csv" in html
    assert 'id="host-private"' in html and "theirs" in html
    # hide with a reason, then restore
    r = client.post(
        f"/submissions/{entry.pk}/hide/",
        {"reason": "leaked labels", "hidden": "1", "next": BASE + "/host/"},
    )
    assert r["Location"] == BASE + "/host/"
    html = client.get(BASE + "/host/").content.decode()
    assert "leaked labels" in html and f"Restore #{entry.pk}" in html
    entry.refresh_from_db()
    assert entry.is_hidden
    client.post(
        f"/submissions/{entry.pk}/hide/",
        {"hidden": "0", "reason": "ok", "next": BASE + "/host/"},
    )
    entry.refresh_from_db()
    assert not entry.is_hidden
    # re-score requeues scored and failed prediction submissions (eager Celery scores them)
    r = client.post(BASE + "/host/rescore/")
    assert r.status_code == 302
    assert "queued for re-scoring" in client.get(BASE + "/host/").content.decode()
    failed.refresh_from_db()
    assert failed.events.filter(note="re-score requested by host").exists()


def _yaml_text(slug: str, **changes) -> bytes:
    from benchmarks.catalog import CATALOG_DIR

    data = yaml.safe_load((CATALOG_DIR / SLUG / "benchmark.yaml").read_text())
    data["slug"] = slug
    data.update(changes)
    return yaml.safe_dump(data).encode()


def test_create_benchmark_from_yaml_is_staff_only(
    client, user, transactional_db, tmp_catalog
):
    client.force_login(user)
    # Not a host: a clear page naming the host role (issue 20), not a 404.
    r = client.get("/benchmarks/new/")
    assert r.status_code == 403 and "host role" in r.content.decode()


def test_create_benchmark_from_yaml_validates_and_syncs(
    client, user, transactional_db, tmp_catalog
):
    user.is_staff = True
    user.save()
    client.force_login(user)
    r = client.post(
        "/benchmarks/new/",
        {
            "file": upload(
                _yaml_text("mini-eurosat-v1", primary_metric="nope"), "benchmark.yaml"
            )
        },
    )
    html = r.content.decode()
    assert r.status_code == 200 and "field &#x27;primary_metric&#x27;" in html
    assert "/tmp" not in html and not (tmp_catalog / "mini-eurosat-v1").exists()
    r = client.post(
        "/benchmarks/new/",
        {"file": upload(_yaml_text("mini-eurosat-v1"), "benchmark.yaml")},
    )
    assert r.status_code == 302 and r["Location"] == "/benchmarks/mini-eurosat-v1/"
    assert (tmp_catalog / "mini-eurosat-v1" / "benchmark.yaml").exists()
    bench = Benchmark.objects.get(slug="mini-eurosat-v1")
    assert bench.task_kind == "classification"
    assert (
        client.get("/benchmarks/mini-eurosat-v1/data/sample/").status_code == 200
    )  # demo data made
    # an existing slug is never overwritten
    r = client.post(
        "/benchmarks/new/",
        {
            "file": upload(
                _yaml_text("mini-eurosat-v1", title="Changed title"), "benchmark.yaml"
            )
        },
    )
    assert "already exists" in r.content.decode()
    bench.refresh_from_db()
    assert bench.title != "Changed title"


def test_team_tab_create_join_merge_leave_and_account_lists_teams(client, user, other_user, eurosat):
    from earthbench.accounts.teams import team_of

    html = client.get(BASE + "/team/").content.decode()
    assert "Log in" in html and 'href="/benchmarks/eurosat-classification-v1/team/"' in html
    client.force_login(user)
    assert 'id="team-none"' in client.get(BASE + "/team/").content.decode()
    client.post(BASE + "/team/create/", {"name": "Pixel Pushers"})
    team = Team.objects.get(name="Pixel Pushers")
    assert team.benchmark == eurosat
    html = client.get(BASE + "/team/").content.decode()
    assert team.join_code and team.join_code in html and 'id="team-merge-form"' in html
    html = client.get("/account/").content.decode()
    assert 'id="my-teams"' in html and "Pixel Pushers" in html and f"{BASE}/team/" in html
    client.force_login(other_user)
    r = client.post(BASE + "/team/join/", {"code": "wrong"})
    assert "no team on eurosat-classification-v1 has this join code" in client.get(r["Location"]).content.decode()
    client.post(BASE + "/team/join/", {"code": team.join_code})
    assert team_of(user=other_user, benchmark=eurosat) == team
    html = client.get(BASE + "/team/").content.decode()
    assert "Leave team" in html and user.username in html and 'id="team-merge-form"' not in html
    client.post(BASE + "/team/leave/")
    assert team_of(user=other_user, benchmark=eurosat) is None
    # a third user merges a team of their own into it
    third = get_user_model().objects.create_user("third", password="pw-123456789")
    client.force_login(third)
    client.post(BASE + "/team/create/", {"name": "Merging In"})
    client.post(BASE + "/team/merge/", {"code": team.join_code})
    assert team_of(user=third, benchmark=eurosat) == team and not Team.objects.filter(name="Merging In").exists()
    eurosat.merge_deadline = eurosat.created_at
    eurosat.save()
    assert 'id="team-closed"' in client.get(BASE + "/team/").content.decode()


def test_getting_started_renders_ci_recipes_and_examples(client, transactional_db):
    html = client.get("/getting-started/").content.decode()
    assert "<title>Getting started · EarthBench</title>" in html
    assert "GitHub Actions" in html and "GitLab" in html
    assert 'href="/docs/examples/github-actions.yml"' in html
    r = client.get("/docs/examples/gitlab-ci.yml")
    assert r.status_code == 200 and b"earthbench submit" in b"".join(
        r.streaming_content
    )
    assert client.get("/docs/cli/").status_code == 200
    assert client.get("/docs/examples/..%2Fci.md").status_code == 404


def test_header_has_no_emoji_and_no_external_assets(client, eurosat):
    html = client.get(BASE + "/leaderboard/").content.decode()
    assert "🌍" not in html and "<svg" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_team_tab_forms_a_team_owned_on_another_benchmark(client, user, other_user, eurosat):
    from earthbench.accounts.teams import team_create, team_join, team_of

    twin = Benchmark.objects.create(
        slug="eurosat-twin-v1", title="twin", task_kind="classification", primary_metric="oa",
        metrics=eurosat.metrics, spec=eurosat.spec,
    )
    lab = team_create(user=user, benchmark=eurosat, name="Travelling Lab")
    team_join(user=other_user, benchmark=eurosat, code=lab.join_code)
    client.force_login(user)
    html = client.get(f"/benchmarks/{twin.slug}/team/").content.decode()
    assert 'id="team-copy-form"' in html and "Travelling Lab (eurosat-classification-v1)" in html
    client.post(f"/benchmarks/{twin.slug}/team/copy/", {"from_benchmark": eurosat.slug})
    copied = team_of(user=other_user, benchmark=twin)
    assert copied.name == "Travelling Lab" and copied != lab
    assert 'id="team-copy-form"' not in client.get(BASE + "/team/").content.decode()  # already in a named team there
