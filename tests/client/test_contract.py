"""Contract: every CLI command and output format, run as a subprocess against a
real server and worker, shows what the API has (no mocked responses, no stored
JSON). Benchmarks: several metrics with intervals (EuroSAT), a primary metric that
is not the task kind's default (DOTA ranks on ap50, the detection kind's default
is map), a lower-is-better primary (AGBD, rmse), and a suite."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from collections.abc import Iterator

import httpx
import pytest

from .conftest import REPO, EarthbenchServer, live_server

pytestmark = pytest.mark.slow(40)

EUROSAT = "eurosat-classification-v1"
DOTA = "dota-obb-detection-v1"
AGBD = "agbd-biomass-v1"
SUITE = "embedding-probe-suite-v1"
MEMBERS = [
    "eurosat-embedding-probe-v1", "resisc45-embedding-probe-v1",
    "ucmerced-embedding-probe-v1", "so2sat-embedding-probe-v1",
    "sat6-embedding-probe-v1",
]
SCORED = (EUROSAT, DOTA, AGBD)


@pytest.fixture(scope="module")
def server(tmp_path_factory, migrated_sqlite) -> Iterator[EarthbenchServer]:
    with live_server(tmp_path_factory.mktemp("contract"), [*SCORED, SUITE, *MEMBERS],
                     migrated_sqlite) as srv:
        yield srv


@pytest.fixture(scope="module")
def api(server) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Token {server.token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def submitted(server) -> dict[str, dict]:
    """One scored submission per benchmark: the installed baseline file, submitted
    by the demo user through ``earthbench submit --wait --json``."""
    out = {}
    for slug in (*SCORED, *MEMBERS):
        (baseline,) = server.storage.joinpath("benchmarks", slug, "private").glob(
            "baseline*"
        )
        r = server.cli(
            "submit", slug, str(baseline), "--wait", "--json",
            "--method-name", f"contract-{slug}",
        )
        assert r.returncode == 0, r.stderr
        out[slug] = json.loads(r.stdout)["submission"]
    return out


def ok(r) -> str:
    assert r.returncode == 0, r.stderr
    return r.stdout


def table(text: str) -> tuple[list[str], list[list[str]]]:
    """Split an aligned table by the spans of its dashes line."""
    lines = text.rstrip("\n").splitlines()
    i = next(n for n, line in enumerate(lines) if re.fullmatch(r"[-\s]+", line))
    spans = [m.span() for m in re.finditer(r"-+", lines[i])]

    def cells(line: str) -> list[str]:
        ends = [s for s, _ in spans[1:]] + [len(line) + 1]
        return [line[s:e].strip() for (s, _), e in zip(spans, ends, strict=True)]

    return cells(lines[i - 1]), [cells(line) for line in lines[i + 1 :]]


def f4(v) -> str:
    return "-" if v is None else f"{v:.4f}"


def rank_cell(r) -> str:
    """The table's rank: ``2 (1–4)`` with the API's rank interval (rank uncertainty)."""
    if r["rank"] is None:
        return "-"
    if r.get("rank_low") is None:
        return str(r["rank"])
    if r["rank_low"] == r["rank_high"]:
        return f"{r['rank']} ({r['rank_low']})"
    return f"{r['rank']} ({r['rank_low']}–{r['rank_high']})"


def p_first_cell(r) -> str:
    return "-" if r.get("p_first") is None else f"{r['p_first']:.2f}"


UNRANKED_COLUMNS = {"rank", "rank_low", "rank_high", "p_first"}  # a baseline is unranked


def csv_value(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v) if isinstance(v, float) else str(v)


# ------------------------------------------------------------------ benchmarks


def test_benchmarks_table_and_json(server, api):
    listed = []
    url = "/api/v1/benchmarks/"
    while url:
        body = api.get(url).json()
        listed += body["results"]
        url = body["next"]
    assert json.loads(ok(server.cli("benchmarks", "--json"))) == listed
    headers, rows = table(ok(server.cli("benchmarks")))
    assert headers == ["slug", "task", "primary", "title"]
    by_slug = {row[0]: row for row in rows}
    assert len(by_slug) == len(listed)
    for b in listed:
        row = by_slug[b["slug"]]
        assert row[1] == b["task_kind"]
        assert row[2] == f"{b['primary_metric']} ({b['primary_direction']})"
        assert row[3] == b["title"]


# ------------------------------------------------------------------ submit, status


@pytest.mark.parametrize("slug", SCORED)
def test_submit_json_is_the_apis_submission(server, api, submitted, slug):
    sub = submitted[slug]
    assert sub["status"] == "scored"
    assert sub == api.get(f"/api/v1/submissions/{sub['id']}/").json()
    bench = api.get(f"/api/v1/benchmarks/{slug}/").json()
    for score in sub["scores"]:
        assert score["primary_metric"] == bench["primary_metric"]
        assert score["primary_value"] == score["metrics"][bench["primary_metric"]]


@pytest.mark.parametrize("slug", SCORED)
def test_status_line_names_the_primary_metric_by_its_key(server, api, submitted, slug):
    sub = api.get(f"/api/v1/submissions/{submitted[slug]['id']}/").json()
    primary = api.get(f"/api/v1/benchmarks/{slug}/").json()["primary_metric"]
    (public,) = [s for s in sub["scores"] if s["split"] == "public"]
    lo, hi = public["ci"][primary]
    expected = (
        f"{primary}={f4(public['primary_value'])} [{lo:.4f}, {hi:.4f}] on public"
    )
    line = ok(server.cli("status", str(sub["id"])))
    assert line.startswith(f"#{sub['id']} {slug}: scored — {expected}")
    assert json.loads(ok(server.cli("status", str(sub["id"]), "--json"))) == {
        "submission": sub,
        "check": None,
        "exit_code": 0,
    }


def test_submit_fail_under_checks_and_names_the_primary(server, api, submitted):
    sub = submitted[DOTA]
    (baseline,) = server.storage.joinpath("benchmarks", DOTA, "private").glob(
        "baseline*"
    )
    r = server.cli(
        "submit", DOTA, str(baseline), "--fail-under", "1.01",
        "--method-name", f"contract-{DOTA}",
        "--idempotency-key", "contract-fail-under",
    )
    assert r.returncode == 1, r.stderr
    value = [s for s in sub["scores"] if s["split"] == "public"][0]["primary_value"]
    assert f"ap50={value:.4f}" in r.stdout and "map=" not in r.stdout
    assert f"fail-under: ap50 on public = {value:.6g}" in r.stdout


def test_status_list_table_and_json(server, api, submitted):
    listing = api.get("/api/v1/submissions/", params={"limit": 20}).json()["results"]
    assert json.loads(ok(server.cli("status", "--json"))) == listing
    headers, rows = table(ok(server.cli("status")))
    assert headers == ["id", "benchmark", "status", "metric", "public", "method", "created"]
    assert len(rows) == len(listing)
    for row, sub in zip(rows, listing, strict=True):
        (public,) = [s for s in sub["scores"] if s["split"] == "public"] or [None]
        assert row[:3] == [str(sub["id"]), sub["benchmark"], sub["status"]]
        assert row[3] == (public["primary_metric"] if public else "-")
        assert row[4] == f4(public and public["primary_value"])
        assert row[5:] == [sub["method_name"], sub["created_at"]]
    assert {row[3] for row in rows} >= {"oa", "ap50", "rmse"}


# ------------------------------------------------------------------ leaderboard


def board_of(api, slug: str, split: str) -> dict:
    return api.get(f"/api/v1/benchmarks/{slug}/leaderboard/", params={"split": split}).json()


@pytest.mark.parametrize("split", ["public", "private"])
@pytest.mark.parametrize("slug", SCORED)
def test_leaderboard_csv_has_every_api_value(server, api, submitted, slug, split):
    board = board_of(api, slug, split)
    keys = [m["key"] for m in board["metrics"]]
    rows = list(csv.DictReader(io.StringIO(ok(server.cli(
        "leaderboard", slug, "--split", split, "--format", "csv")))))
    assert len(rows) == len(board["results"]) >= 2  # the baseline and ours
    metric_cols = [c for k in keys for c in (k, f"{k}_ci_low", f"{k}_ci_high")]
    assert list(rows[0]) == [
        "rank", "rank_low", "rank_high", "p_first", "team", "submission_id", "method_name",
        "submitted_at", "is_baseline", "tied_with_leader", "entries", *metric_cols,
    ]
    for row, api_row in zip(rows, board["results"], strict=True):
        for col, cell in row.items():
            assert cell == csv_value(api_row[col]), (col, cell, api_row[col])
            # Every column is filled (a baseline is unranked by design).
            assert cell != "" or (col in UNRANKED_COLUMNS and api_row["is_baseline"]), col
    # The same values as the server's own CSV export.
    server_csv = api.get(f"/api/v1/benchmarks/{slug}/leaderboard/",
                         params={"split": split, "format": "csv"}).text
    for row, theirs in zip(rows, csv.DictReader(io.StringIO(server_csv)), strict=True):
        for col in set(row) & set(theirs):
            assert row[col].lower() == theirs[col].lower(), col


@pytest.mark.parametrize("slug", SCORED)
def test_leaderboard_table_has_every_api_value(server, api, submitted, slug):
    board = board_of(api, slug, "public")
    primary = board["primary_metric"]
    keys = [m["key"] for m in board["metrics"]]
    headers, rows = table(ok(server.cli("leaderboard", slug)))
    arrow = "↓" if board["direction"] == "min" else "↑"
    assert headers == [
        "rank", "P(1st)", "team", "method", "id",
        *[f"{k} {arrow}" if k == primary else k for k in keys],
        f"{primary} 95% CI", "entries", "submitted",
    ]
    for row, r in zip(rows, board["results"], strict=True):
        team = r["team"] + (" (baseline)" if r["is_baseline"] else "")
        team += " (tied)" if r["tied_with_leader"] else ""
        expected = [
            rank_cell(r), p_first_cell(r), team, r["method_name"],
            str(r["submission_id"]), *[f4(r[k]) for k in keys],
            f"{r[primary + '_ci_low']:.4f}–{r[primary + '_ci_high']:.4f}",
            str(r["entries"]), r["submitted_at"][:19].replace("T", " "),
        ]
        assert row == expected
        assert "-" not in row[3:], row  # nothing missing


@pytest.mark.parametrize("slug", [*SCORED, SUITE])
def test_leaderboard_json_is_the_apis(server, api, submitted, slug):
    for split in ("public", "private"):
        out = ok(server.cli("leaderboard", slug, "--split", split, "--format", "json"))
        assert json.loads(out) == board_of(api, slug, split)


def test_suite_leaderboard_table_and_csv(server, api, submitted):
    board = board_of(api, SUITE, "public")
    assert board["primary_metric"] == "iqm" and board["results"]
    rows = list(csv.DictReader(io.StringIO(ok(server.cli(
        "leaderboard", SUITE, "--format", "csv")))))
    assert list(rows[0]) == ["rank", "rank_low", "rank_high", "p_first", "team",
                             "tied_with_leader", "iqm", "iqm_ci_low", "iqm_ci_high"]
    for row, r in zip(rows, board["results"], strict=True):
        assert row == {k: csv_value(r[k]) for k in row}
        assert all(row.values())
    headers, trows = table(ok(server.cli("leaderboard", SUITE)))
    assert headers == ["rank", "P(1st)", "team", "iqm", "iqm 95% CI", "missing members"]
    assert all(r["iqm"] is not None for r in board["results"])
    for row, r in zip(trows, board["results"], strict=True):
        assert row == [
            rank_cell(r), p_first_cell(r), r["team"], f4(r["iqm"]),
            f"{r['iqm_ci_low']:.4f}–{r['iqm_ci_high']:.4f}",
            ", ".join(r["missing"]) or "-",
        ]


# ------------------------------------------------------------------ quota, cancel


@pytest.mark.parametrize("slug", SCORED)
def test_quota_table_and_json(server, api, submitted, slug):
    q = api.get("/api/v1/me/quota/", params={"benchmark": slug}).json()
    assert json.loads(ok(server.cli("quota", slug, "--json"))) == q
    compute = (
        f"container compute: {q['compute_remaining_s']:.0f} of {q['compute_limit_s']:.0f} s "
        f"left today (used {q['compute_used_s']:.0f} s)\n"
        if q.get("compute_limit_s") else ""
    )
    assert ok(server.cli("quota", slug)) == (
        f"{slug}: {q['remaining']} of {q['limit']} submissions left today "
        f"(used {q['used']}); in flight {q['in_flight']}/{q['max_in_flight']}; "
        f"resets at {q['resets_at']}\n" + compute
    )


def test_cancel_of_a_scored_submission_says_what_the_api_says(server, api, submitted):
    sid = submitted[EUROSAT]["id"]
    expected = api.post(f"/api/v1/submissions/{sid}/cancel/")
    assert 400 <= expected.status_code < 500
    error = expected.json()["error"]
    r = server.cli("cancel", str(sid), "--json")
    assert r.returncode == 2
    assert json.loads(r.stdout)["error"] == {"status": expected.status_code, **error}
    r = server.cli("cancel", str(sid))
    assert r.returncode == 2 and error["message"] in r.stderr


def test_a_suite_takes_no_submission_and_names_its_members(server, api, tmp_path):
    bench = api.get(f"/api/v1/benchmarks/{SUITE}/").json()
    assert bench["suite_members"] == MEMBERS and bench["data_url"] is None
    assert bench["accepts_predictions"] is False and bench["accepts_containers"] is False
    preds = tmp_path / "p.csv"
    preds.write_text("id,label\n")
    r = server.cli("submit", SUITE, str(preds))
    assert r.returncode == 2 and ", ".join(MEMBERS) in r.stderr
    # The server refuses it too (a client that skips the check).
    with preds.open("rb") as fh:
        resp = api.post("/api/v1/submissions/", data={"benchmark": SUITE},
                        files={"file": fh})
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["code"] == "suite_takes_no_submissions"
    assert error["field"] == "benchmark" and ", ".join(MEMBERS) in error["message"]


def test_a_wrong_slug_is_named_with_the_closest_ones(server):
    for argv in (("leaderboard", "eurosat-clasification-v1"),
                 ("quota", "eurosat-clasification-v1", "--json")):
        r = server.cli(*argv)
        assert r.returncode == 2
        assert "no benchmark 'eurosat-clasification-v1'" in r.stderr
        assert "did you mean eurosat-classification-v1" in r.stderr
    error = json.loads(r.stdout)["error"]
    assert error["status"] == 404 and error["code"] == "benchmark_not_found"


# ------------------------------------------------------------------ README's curl


def readme_curl() -> str:
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.S)
    (block,) = [b for b in blocks if "curl" in b]
    return "\n".join(line for line in block.splitlines() if not line.startswith("export"))


def test_the_readmes_curl_command_submits_and_its_key_makes_retries_safe(
    server, tmp_path
):
    sample = server.storage / "benchmarks" / EUROSAT / "public" / "sample_submission.csv"
    (tmp_path / "var").mkdir()
    target = tmp_path / "var" / "demo-predictions.csv"
    target.write_bytes(sample.read_bytes())
    env = {"PATH": "/usr/bin:/bin", "EARTHBENCH_URL": server.url,
           "EARTHBENCH_TOKEN": server.token}

    def run(command: str) -> dict:
        proc = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    command = readme_curl()
    first = run(command)
    assert first["benchmark"] == EUROSAT and first["method_name"] == "my first try"
    assert run(command)["id"] == first["id"]  # a retry returns the same submission
    conflict = run(command.replace("my first try", "my second try"))
    assert conflict["error"]["code"] == "idempotency_conflict"
    assert conflict["error"]["field"] == "method_name"
    target.write_bytes(sample.read_bytes() + b"\n")  # another file: another key
    assert run(command)["id"] != first["id"]
