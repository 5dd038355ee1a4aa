"""`make demo` serves the site before the baselines are scored: load_catalog
--no-baselines, then demo_background scores them and reports progress on the
catalog page."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from earthbench.benchmarks import demo_progress
from earthbench.submissions.models import Submission


@pytest.fixture
def var_dir(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    return tmp_path


def test_progress_file_round_trip_and_what_is_shown(var_dir):
    assert demo_progress.read() is None and demo_progress.pending(None) == []
    state = {"steps": [
        {"name": "downloads", "label": "wheels", "done": 1, "total": 1, "finished": True},
        {"name": "baselines", "label": "baselines", "done": 3, "total": 9, "finished": False, "failed": []},
    ]}
    demo_progress.write(state)
    assert [s["name"] for s in demo_progress.pending(demo_progress.read())] == ["baselines"]
    (var_dir / demo_progress.FILENAME).write_text("{not json")
    assert demo_progress.read() is None  # a torn or foreign file shows nothing


def test_catalog_page_shows_background_progress(client, eurosat, var_dir):
    assert "Demo set-up in the background" not in client.get("/").content.decode()
    demo_progress.write({"steps": [{"name": "baselines", "label": "baselines scored", "done": 12,
                                    "total": 75, "finished": False, "current": "eurosat-classification-v1"}]})
    html = client.get("/").content.decode()
    assert "baselines scored 12 of 75 (now eurosat-classification-v1)" in html
    demo_progress.write({"steps": [{"name": "baselines", "label": "baselines scored", "done": 75,
                                    "total": 75, "finished": True, "failed": ["x-v1"]}]})
    assert "failed: x-v1" in client.get("/").content.decode()
    demo_progress.write({"steps": [{"name": "baselines", "label": "baselines scored", "done": 75,
                                    "total": 75, "finished": True, "failed": []}]})
    assert "Demo set-up in the background" not in client.get("/").content.decode()


def test_load_catalog_without_baselines_then_background_scores_them(eurosat, var_dir):
    call_command("load_catalog", "--no-baselines", "--only", eurosat.slug)
    assert not Submission.objects.filter(benchmark=eurosat, is_baseline=True).exists()
    call_command("demo_background", "--no-downloads", "--only", eurosat.slug)
    base = Submission.objects.get(benchmark=eurosat, is_baseline=True)
    assert base.status == "scored" and base.scores.filter(split="public").exists()
    state = json.loads((var_dir / demo_progress.FILENAME).read_text())
    assert [s["name"] for s in state["steps"]] == ["data", "baselines"]
    for step in state["steps"]:
        assert step == {**step, "done": 1, "total": 1, "finished": True, "failed": []}
    assert demo_progress.pending(state) == []
    # Idempotent: a second run keeps the scored baseline.
    call_command("demo_background", "--no-downloads", "--only", eurosat.slug)
    assert Submission.objects.filter(benchmark=eurosat, is_baseline=True).count() == 1
