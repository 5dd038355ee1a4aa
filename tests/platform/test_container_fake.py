"""The container path end to end without Docker: ``EARTHBENCH_SANDBOX_BACKEND=fake``.

A container submission goes through the API, intake, dispatch (by task name),
the one attempt skeleton and the fake backend, which stages the benchmark's
``public/test/`` inputs and is judged by the sandbox's own rules
(``evaluator.sandbox.judge``). The real engine is tested under the ``docker``
marker (test_container_submission.py, tests/sandbox/).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from earthbench.accounts.teams import team_for
from earthbench.benchmarks import layout
from earthbench.submissions import backends, containers, dispatch, intake
from earthbench.submissions.models import Submission, Upload
from earthbench.submissions.quota import quota_for

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake(eurosat, settings, tmp_path):
    settings.EARTHBENCH_SANDBOX_BACKEND = "fake"
    settings.EARTHBENCH_SANDBOX_DIR = tmp_path / "sandbox"
    settings.EARTHBENCH_WORKER_GPU_UUID = ""
    eurosat.accepts_containers = True
    eurosat.container_limits = {"time_s": 600}
    eurosat.daily_quota = 10
    eurosat.max_in_flight = 10
    eurosat.save()
    return eurosat


def push(api, bench, tmp_path, spec, outputs=None, name="model.tar"):
    """Submit a fake image through the API (eager: it runs before the answer)."""
    tar = backends.write_fake_image(tmp_path / name, spec, outputs)
    with open(tar, "rb") as fh:
        r = api.post("/api/v1/submissions/", {"benchmark": bench.slug, "file": fh, "kind": "container"},
                     format="multipart")
    assert r.status_code == 201, r.content
    return Submission.objects.get(pk=r.json()["id"])


def quota_of(user, bench):
    return quota_for(team=team_for(user=user, benchmark=bench), benchmark=bench)


def test_container_output_is_scored_with_efficiency(api, user, fake, tmp_path, perfect_csv):
    sub = push(api, fake, tmp_path, {"run_s": 12.5, "peak_memory_mb": 300},
               {"predictions.csv": perfect_csv})
    assert sub.status == "scored", sub.error
    assert {s.split: s.metrics["oa"] for s in sub.scores.all()} == {"public": 1.0, "private": 1.0}
    n = len(layout.require(fake).test_ids)
    assert sub.efficiency["n_samples"] == n and sub.efficiency["peak_memory_mb"] == 300.0
    assert sub.efficiency["latency_ms_per_sample"] == round(12.5 * 1000 / n, 3)
    assert sub.image_digest.startswith("sha256:") and sub.compute_seconds == 12.5
    assert sub.counts_against_quota and sub.container_started_at is not None
    q = quota_of(user, fake)
    assert q.used == 1 and q.compute_used_s == 12.5
    assert list((tmp_path / "sandbox").iterdir()) == []  # the job folder is removed


def test_the_fake_sees_every_staged_test_input(api, fake, tmp_path, truth_rows):
    """The deterministic rule writes one row per staged sample: every test id of
    ``public/test/`` reaches the container, and the score is the rule's exact accuracy."""
    sub = push(api, fake, tmp_path, {"predict": {"header": "id,label", "value": "Forest"}})
    assert sub.status == "scored", sub.error
    truth = dict(truth_rows)
    splits = layout.require(fake).splits
    for split, ids in splits.items():
        want = sum(truth[i] == "Forest" for i in ids) / len(ids)
        assert sub.scores.get(split=split).metrics["oa"] == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize(
    ("spec", "error", "seconds"),
    [
        ({"run_s": 30, "exit_code": 1, "log": "Traceback: boom"}, "the container exited with code 1", 30.0),
        ({"run_s": 900}, "timed out: stopped at the time limit of 600 s", 600.0),
        ({"run_s": 40, "oom": True}, "out of memory: a process was killed at the memory limit", 40.0),
        ({"run_s": 5}, "output: the container wrote no predictions", 5.0),
    ],
)
def test_a_container_that_ran_and_failed_counts(api, user, fake, tmp_path, spec, error, seconds):
    sub = push(api, fake, tmp_path, spec)
    assert sub.status == "failed" and sub.error.startswith(error), sub.error
    assert sub.counts_against_quota and sub.compute_seconds == seconds
    assert sub.log_tail == spec.get("log", "")
    q = quota_of(user, fake)
    assert q.used == 1 and q.compute_used_s == seconds


def test_invalid_predictions_from_a_container_count(api, user, fake, tmp_path):
    sub = push(api, fake, tmp_path, {"run_s": 3}, {"predictions.csv": b"id,label\nnot-an-id,Forest\n"})
    assert sub.status == "failed" and "not-an-id" in sub.error, sub.error
    assert sub.counts_against_quota and quota_of(user, fake).used == 1


def test_an_image_refused_before_the_start_is_free(api, user, fake, tmp_path):
    bogus = tmp_path / "model.tar"
    bogus.write_bytes(b"not a tar at all")
    with open(bogus, "rb") as fh:
        r = api.post("/api/v1/submissions/", {"benchmark": fake.slug, "file": fh, "kind": "container"},
                     format="multipart")
    sub = Submission.objects.get(pk=r.json()["id"])
    assert sub.status == "failed" and sub.error == "model.tar: not a tar archive (fake sandbox image)"
    assert not sub.counts_against_quota and sub.container_started_at is None and sub.compute_seconds == 0
    assert quota_of(user, fake).used == 0


def test_compute_budget_holds_the_time_limit_and_refuses_what_cannot_fit(api, user, fake, tmp_path, perfect_csv):
    fake.daily_compute_seconds = 1000  # a run may take 600 s: one fits, then 500 s are left
    fake.save()
    first = push(api, fake, tmp_path, {"run_s": 500}, {"predictions.csv": perfect_csv}, name="a.tar")
    assert first.status == "scored" and first.compute_seconds == 500
    second = push(api, fake, tmp_path, {"run_s": 1}, {"predictions.csv": perfect_csv}, name="b.tar")
    assert second.status == "failed" and "compute budget of 1000" in second.error
    assert "500 s left today, but a run may take up to 600 s" in second.error
    assert not second.counts_against_quota and second.container_started_at is None
    q = quota_of(user, fake)
    assert q.used == 1 and q.compute_used_s == 500 and q.compute_remaining_s == 500


def test_an_engine_failure_is_an_internal_error_and_free(api, user, fake, tmp_path):
    sub = push(api, fake, tmp_path, {"crash": True})
    assert sub.status == "failed"
    assert sub.error == "internal error while running the container; the operators have been notified"
    assert not sub.counts_against_quota and sub.compute_seconds == 0.0
    q = quota_of(user, fake)
    assert q.used == 0 and q.compute_used_s == 0


def test_no_gpu_for_a_gpu_benchmark_is_not_run_and_free(api, user, fake, tmp_path, perfect_csv):
    fake.container_limits = {"time_s": 600, "gpus": 1}
    fake.save()
    sub = push(api, fake, tmp_path, {"run_s": 1}, {"predictions.csv": perfect_csv})
    assert sub.status == "failed" and sub.error.startswith("not run: no GPU is free")
    assert "does not count against your quota" in sub.error
    assert not sub.counts_against_quota and sub.container_started_at is None and sub.compute_seconds == 0


def test_the_same_skeleton_runs_both_paths(fake, user, perfect_csv, tmp_path, monkeypatch):
    """A file and a container reach the scorer through one ``run_attempt``."""
    from earthbench.submissions import attempt

    seen = []
    real = attempt.run_attempt

    def spy(**kw):
        seen.append(kw["predictions"].__name__)
        return real(**kw)

    monkeypatch.setattr(attempt, "run_attempt", spy)
    monkeypatch.setattr(containers, "run_attempt", spy)
    import io

    f, _ = intake.submission_create(user=user, benchmark=fake, file=io.BytesIO(perfect_csv),
                                    filename="p.csv", enqueue=False)
    tar = backends.write_fake_image(tmp_path / "m.tar", {"run_s": 1}, {"predictions.csv": perfect_csv})
    with open(tar, "rb") as fh:
        c, _ = intake.submission_create(user=user, benchmark=fake, file=fh, filename="m.tar",
                                        kind="container", enqueue=False)
    assert attempt.score_file_submission(submission_id=f.pk).status == "scored"
    assert containers.submission_run_container(submission_id=c.pk).status == "scored"
    assert seen == ["uploaded_file", "container_output"]


def test_backend_setting(settings):
    settings.EARTHBENCH_SANDBOX_BACKEND = "podman"
    with pytest.raises(ImproperlyConfigured, match="expected one of docker, fake"):
        backends.get_backend()
    settings.EARTHBENCH_SANDBOX_BACKEND = "fake"
    assert backends.backend_class() is backends.FakeBackend
    assert containers.reap_containers() == []


def test_production_refuses_the_fake_backend(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "EARTHBENCH_"))}
    env.update(DJANGO_SETTINGS_MODULE="earthbench.settings.production", DJANGO_SECRET_KEY="k" * 60,
               EARTHBENCH_VAR_DIR=str(tmp_path), EARTHBENCH_SANDBOX_BACKEND="fake",
               PYTHONPATH=f"{REPO}:{REPO / 'platform'}")
    r = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=REPO, env=env,
                       capture_output=True, text=True)
    assert r.returncode != 0 and "EARTHBENCH_SANDBOX_BACKEND must be 'docker'" in r.stderr


def test_dispatch_names_are_registered_tasks_with_routes(settings):
    from celery import current_app

    current_app.loader.import_default_modules()
    for name in (dispatch.SCORE_TASK, dispatch.CONTAINER_TASK):
        assert name in current_app.tasks and name in settings.CELERY_TASK_ROUTES


# ------------------------------------------------------------ intake and uploads


def _completed_upload(api, content: bytes) -> str:
    import hashlib

    uid = api.post("/api/v1/uploads/", {"filename": "p.csv", "size": len(content)}, format="json").json()["id"]
    api.generic("PUT", f"/api/v1/uploads/{uid}/", content, content_type="application/octet-stream",
                HTTP_UPLOAD_OFFSET="0")
    api.post(f"/api/v1/uploads/{uid}/complete/", {"sha256": hashlib.sha256(content).hexdigest()}, format="json")
    return uid


def test_a_refused_submission_leaves_its_upload_unused(api, eurosat, perfect_csv):
    """The upload is consumed in the transaction that creates the row: a quota
    refusal rolls the claim back, and the upload can be used once it resets."""
    uid = _completed_upload(api, perfect_csv)
    eurosat.daily_quota = 0
    eurosat.save()
    r = api.post("/api/v1/submissions/", {"benchmark": eurosat.slug, "upload": uid}, format="multipart")
    assert r.status_code == 429
    assert Upload.objects.get(uuid=uid).status == Upload.Status.COMPLETE
    eurosat.daily_quota = 5
    eurosat.save()
    r = api.post("/api/v1/submissions/", {"benchmark": eurosat.slug, "upload": uid}, format="multipart")
    assert r.status_code == 201 and Upload.objects.get(uuid=uid).status == Upload.Status.CONSUMED


def test_an_idempotent_repeat_of_an_upload_is_answered_from_its_hash(api, eurosat, perfect_csv):
    from earthbench import storage

    uid = _completed_upload(api, perfect_csv)
    first = api.post("/api/v1/submissions/", {"benchmark": eurosat.slug, "upload": uid},
                     format="multipart", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201
    storage.absolute(Upload.objects.get(uuid=uid).rel_path).unlink()  # nothing left to read
    again = api.post("/api/v1/submissions/", {"benchmark": eurosat.slug, "upload": uid},
                     format="multipart", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    other = api.post("/api/v1/submissions/", {"benchmark": eurosat.slug, "upload": uid, "method_name": "x"},
                     format="multipart", HTTP_IDEMPOTENCY_KEY="k-1")
    assert other.status_code == 409 and other.json()["error"]["field"] == "method_name"
    missing = api.post("/api/v1/submissions/", {"benchmark": eurosat.slug,
                                                "upload": "00000000-0000-4000-8000-000000000000"},
                       format="multipart")
    assert missing.status_code == 400 and missing.json()["error"] == {
        "code": "refused", "message": "no such upload", "field": "upload"}
    assert Submission.objects.count() == 1
