"""The website in a real (headless) Chromium: the participant and host flows.

Screenshots of the key pages go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import base64
import re

import pytest
from playwright.sync_api import expect

from earthbench.accounts.models import ApiToken
from earthbench.submissions import attempt, intake
from earthbench.submissions.models import Submission
from tests.web.conftest import UserFactory, make_scored, shot, upload

pytestmark = [pytest.mark.browser, pytest.mark.slow(10)]

SLUG = "eurosat-classification-v1"
BASE = f"/benchmarks/{SLUG}"


def drop_file(page, selector: str, name: str, content: bytes) -> None:
    """Drag and drop a file onto the upload zone (a real DataTransfer drop event)."""
    page.evaluate(
        """([sel, name, b64]) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name, {type: "text/csv"}));
            const zone = document.querySelector(sel);
            zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: dt, bubbles: true, cancelable: true}));
            zone.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
        }""",
        [selector, name, base64.b64encode(content).decode()],
    )


def log_in(page, username: str, password: str = "pw-123456789") -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.locator("#id_password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name=re.compile("Log out"))).to_be_visible()


def test_participant_flow(page, eurosat, perfect_csv):
    # sign up
    page.goto("/accounts/signup/")
    expect(page).to_have_title("Sign up · EarthBench")
    page.get_by_label("Username").fill("ada")
    page.locator("#id_password1").fill("a-long-pass-123")
    page.locator("#id_password2").fill("a-long-pass-123")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("button", name=re.compile("Log out"))).to_contain_text(
        "ada"
    )
    expect(page.locator(".bench-row", has_text=SLUG)).to_be_visible()
    shot(page, "01-catalog")

    # catalog filters
    page.get_by_label("Search").fill("no such benchmark")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(".bench-row")).to_have_count(0)
    page.get_by_label("Search").fill("")
    page.get_by_label("Task kind").select_option("classification")
    page.get_by_label("Sensor").select_option("Sentinel-2")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(".bench-row")).to_have_count(1)

    # API token
    page.goto("/account/tokens/")
    page.get_by_label("Name").fill("ci")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token").inner_text().strip()
    assert token.startswith("eb_") and ApiToken.objects.get().prefix == token[:10]
    shot(page, "02-tokens")

    # a team on this benchmark (its Team tab), listed on the account page
    page.goto(BASE + "/")
    page.get_by_role("link", name="Team", exact=True).click()
    expect(page.locator("#team-none")).to_be_visible()
    page.get_by_label("Team name").fill("Pixel Pushers")
    page.get_by_role("button", name="Create team").click()
    expect(page.locator("#team-name")).to_have_text("Pixel Pushers")
    expect(page.locator("#join-code")).not_to_be_empty()
    shot(page, "02a-team-tab")
    page.goto("/account/")
    expect(page.locator("#my-teams")).to_contain_text(SLUG)
    expect(page.locator("#my-teams")).to_contain_text("Pixel Pushers")
    shot(page, "02b-account")
    page.get_by_role("link", name="Getting started").first.click()
    expect(page.locator("article.doc")).to_contain_text("GitLab")
    shot(page, "02c-getting-started", full_page=False)

    # benchmark tabs
    page.goto(BASE + "/")
    expect(page).to_have_title(f"Overview · {eurosat.title} · EarthBench")
    expect(page.locator("h1")).to_have_count(1)
    shot(page, "03-overview")
    page.get_by_role("link", name="Data", exact=True).click()
    expect(page.locator("pre.command")).to_contain_text("python -m evaluator score")
    expect(
        page.get_by_role("link", name="Download sample_submission.csv")
    ).to_be_visible()
    shot(page, "04-data")

    # upload by drag and drop; the progress bar shows; scoring runs
    page.get_by_role("link", name="Submit", exact=True).click()
    expect(page.locator("#quota")).to_contain_text("Remaining today: 10 of 10")
    drop_file(page, "[data-dropzone]", "predictions.csv", perfect_csv)
    expect(page.locator("[data-file-name]")).to_contain_text("predictions.csv")
    page.get_by_label("Method name").fill("browser-net")
    shot(page, "05-submit")
    page.get_by_role("button", name="Submit", exact=True).click()
    page.wait_for_url(re.compile(r"/submissions/\d+/$"))
    sub = Submission.objects.get()
    expect(page.locator("#status")).to_have_text("scored")
    expect(page.locator("#scores")).to_contain_text("95% CI")
    expect(page.locator("#plot-classes svg.main-svg").first).to_be_attached()
    assert sub.method_name == "browser-net"
    shot(page, "06-submission")

    # the leaderboard lists it, with its plot
    page.goto(BASE + "/leaderboard/")
    expect(page.locator("#leaderboard")).to_contain_text("Pixel Pushers")
    expect(page.locator("#leaderboard")).to_contain_text("browser-net")
    expect(page.locator("#plot-time svg.main-svg").first).to_be_attached()
    shot(page, "07-leaderboard")

    # a queued submission turns scored without a reload (polling status.json)
    queued, _ = intake.submission_create(
        user=sub.created_by,
        benchmark=eurosat,
        file=upload(perfect_csv),
        filename="p.csv",
        metadata={"method_name": "late"},
        enqueue=False,
    )
    page.goto(BASE + "/mine/")
    row = page.locator(f'tr[data-status-url="/submissions/{queued.pk}/status.json"]')
    expect(row.locator("[data-status]")).to_have_text("queued")
    expect(row.locator("[data-select]")).to_be_hidden()
    page.evaluate("window.__noReload = true")
    attempt.score_file_submission(submission_id=queued.pk)
    expect(row.locator("[data-status]")).to_have_text("scored", timeout=15000)
    expect(row.locator("[data-score]")).to_have_text("100.00%")
    expect(row.locator("[data-select]")).to_be_visible()
    assert page.evaluate("window.__noReload") is True

    # final selection toggle
    row.get_by_role("button", name=f"Select submission #{queued.pk} as final").click()
    expect(page.get_by_role("status")).to_contain_text("selected as final")
    expect(row.get_by_role("button", name=re.compile("Deselect"))).to_be_visible()
    queued.refresh_from_db()
    assert queued.is_selected
    shot(page, "08-my-submissions")

    # small screens: nothing overflows the page sideways
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(BASE + "/leaderboard/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 392, f"page is {width}px wide on a 390px screen"
    shot(page, "09-leaderboard-mobile")


def test_host_hides_an_entry_with_a_reason(page, eurosat, eurosat_results):
    participant = UserFactory()
    entry = make_scored(
        user=participant,
        benchmark=eurosat,
        results=eurosat_results,
        method_name="suspicious",
    )
    host = UserFactory()
    eurosat.hosts.add(host)
    log_in(page, host.username)
    page.goto(BASE + "/host/")
    expect(page).to_have_title(f"Host dashboard · {eurosat.title} · EarthBench")
    public = page.locator("#host-public")
    expect(public).to_contain_text("suspicious")
    expect(page.locator("#host-private")).to_contain_text("suspicious")
    shot(page, "10-host-dashboard")
    public.get_by_label(f"Reason for hiding #{entry.pk}").fill(
        "trained on the test set"
    )
    public.get_by_role("button", name="Hide").click()
    expect(page.get_by_role("status")).to_contain_text(f"Submission #{entry.pk} hidden")
    expect(page.locator("#hidden")).to_contain_text("trained on the test set")
    expect(page.locator("#host-public")).not_to_contain_text("suspicious")
    entry.refresh_from_db()
    assert entry.is_hidden and entry.hidden_reason == "trained on the test set"
    shot(page, "11-host-after-hide")
    page.goto(BASE + "/leaderboard/")
    expect(page.locator("#leaderboard")).not_to_contain_text("suspicious")


def test_team_tab_join_with_code_and_leave(page, eurosat, eurosat_results):
    from earthbench.accounts.teams import team_create, team_of

    owner, joiner = UserFactory(), UserFactory()
    lab = team_create(user=owner, benchmark=eurosat, name="Orbit Lab")
    mine = make_scored(user=joiner, benchmark=eurosat, results=eurosat_results, primary=0.9)
    log_in(page, joiner.username)
    page.goto(BASE + "/team/")
    expect(page.locator("#team-name")).to_have_text(joiner.username)  # personal, from the submission
    page.get_by_label("Join code", exact=True).fill(lab.join_code)
    page.get_by_role("button", name="Join team").click()
    expect(page.locator("#team-name")).to_have_text("Orbit Lab")
    expect(page.locator("#team-members")).to_contain_text(owner.username)
    expect(page.locator("#team-members")).to_contain_text(joiner.username)
    shot(page, "02d-team-joined")
    mine.refresh_from_db()
    assert mine.team == lab  # the personal team's submission moved with the merge
    page.goto(BASE + "/leaderboard/")
    expect(page.locator("table").first).to_contain_text("Orbit Lab")
    page.goto(BASE + "/team/")
    page.get_by_role("button", name="Leave team").click()
    expect(page.locator("#team-none")).to_be_visible()
    assert team_of(user=joiner, benchmark=eurosat) is None
    mine.refresh_from_db()
    assert mine.team == lab  # past submissions stay with the team
