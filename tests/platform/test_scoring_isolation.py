"""Scoring runs in a forked child with a memory and a CPU-time limit (issue 18):
crossing either ends the submission as failed with one line, the worker lives on."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from earthbench.submissions import attempt, intake
from earthbench.submissions.isolation import (
    ScoringCrashed,
    ScoringLimitExceeded,
    run_limited,
)
from earthbench.submissions.models import Submission
from evaluator.errors import ValidationError
from tests.platform.conftest import upload

GB = 1 << 30


def _allocate(n_bytes: int) -> int:
    arr = np.ones(n_bytes, dtype=np.uint8)  # touched: really resident
    return int(arr[::4096].sum())


def _spin(seconds: float) -> int:
    end = time.process_time() + seconds
    n = 0
    while time.process_time() < end:
        n += 1
    return n


def _invalid():
    raise ValidationError("pred.csv line 3: empty id")


def _bug():
    return {}["missing"]


def test_result_comes_back_from_the_child():
    pid = os.getpid()
    assert run_limited(_allocate, 50 << 20, memory_mb=256, cpu_s=10) == (50 << 20) // 4096
    assert run_limited(os.getpid, memory_mb=256, cpu_s=10) != pid


def test_memory_limit_fails_cleanly_and_the_parent_lives_on():
    before = os.getpid()
    with pytest.raises(ScoringLimitExceeded) as info:
        run_limited(_allocate, 3 * GB, memory_mb=256, cpu_s=60)
    msg = str(info.value)
    assert msg.startswith("exceeded the scoring memory limit of 256 MB") and "\n" not in msg
    assert isinstance(info.value, ValidationError)  # the submission fails with it
    assert os.getpid() == before
    # The same process scores again right away.
    assert run_limited(_allocate, 10 << 20, memory_mb=256, cpu_s=60) > 0


def test_cpu_limit_fails_cleanly():
    t0 = time.monotonic()
    with pytest.raises(ScoringLimitExceeded, match=r"^exceeded the scoring CPU-time limit of 1 s"):
        run_limited(_spin, 30, memory_mb=256, cpu_s=1)
    assert time.monotonic() - t0 < 10


def test_a_child_blocked_without_cpu_use_is_killed_at_the_wall_clock_limit():
    t0 = time.monotonic()
    with pytest.raises(ScoringLimitExceeded, match=r"^exceeded the scoring time limit of 1 s"):
        run_limited(time.sleep, 60, memory_mb=256, cpu_s=60, wall_s=1)
    assert time.monotonic() - t0 < 10


def _matmul() -> float:
    import torch

    a = torch.ones(512, 512)
    return float((a @ a).sum())


def test_torch_in_the_child_after_the_parent_used_its_thread_pool():
    """libgomp's pool does not survive fork: without care the child's first
    parallel op waits forever (seen: a hang, not an error)."""
    torch = pytest.importorskip("torch")
    if torch.get_num_threads() < 2:
        torch.set_num_threads(2)
    expected = _matmul()  # the parent's OpenMP pool now exists
    assert run_limited(_matmul, memory_mb=1024, cpu_s=60, wall_s=30) == expected


def _sleep_after_writing_pid(path, seconds):
    path.write_text(str(os.getpid()))
    time.sleep(seconds)


def test_the_child_does_not_outlive_a_stopped_worker(tmp_path):
    """An exception in the waiting worker (warm shutdown, a signal) kills the child."""
    import signal

    def stop(*_):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(1)
    t0 = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_limited(
                _sleep_after_writing_pid, tmp_path / "pid", 30, memory_mb=256, cpu_s=60
            )
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert time.monotonic() - t0 < 10  # not the child's 30 s
    child = int((tmp_path / "pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)  # reaped, not a zombie either


def test_validation_error_in_the_child_keeps_its_message():
    with pytest.raises(ValidationError, match=r"^pred\.csv line 3: empty id$"):
        run_limited(_invalid, memory_mb=256, cpu_s=10)


def test_a_bug_in_the_child_is_not_blamed_on_the_file():
    with pytest.raises(ScoringCrashed, match="KeyError: 'missing'"):
        run_limited(_bug, memory_mb=256, cpu_s=10)


def test_limits_zero_run_in_process():
    assert run_limited(os.getpid, memory_mb=0, cpu_s=0) == os.getpid()


def _padded_csv(truth_rows, total_bytes: int) -> bytes:
    """A valid predictions CSV followed by lines of spaces (skipped by the reader
    as blank) so that parsing it needs a few times ``total_bytes`` of memory."""
    body = "id,label\n" + "".join(f"{a},{b}\n" for a, b in truth_rows)
    blank = " " * 100_000 + "\n"
    return (body + blank * (total_bytes // len(blank))).encode()


def test_submission_over_the_memory_limit_fails_then_the_worker_scores_the_next(
    user, eurosat, truth_rows, settings
):
    """Through attempt.score_file_submission (the Celery task's body), in this process:
    a 12 MB file (under the kind's size cap) under a 16 MB limit fails with the limit's message; the same
    file is scored at once under a 1 GB limit."""
    content = _padded_csv(truth_rows, 12 << 20)
    settings.EARTHBENCH_SCORING_MEMORY_MB = 16
    sub, _ = intake.submission_create(
        user=user, benchmark=eurosat, file=upload(content), filename="p.csv", enqueue=False
    )
    sub = attempt.score_file_submission(submission_id=sub.pk)
    assert sub.status == Submission.Status.FAILED
    assert sub.error.startswith("exceeded the scoring memory limit of 16 MB"), sub.error

    settings.EARTHBENCH_SCORING_MEMORY_MB = 1024
    again, _ = intake.submission_create(
        user=user, benchmark=eurosat, file=upload(content), filename="q.csv", enqueue=False
    )
    again = attempt.score_file_submission(submission_id=again.pk)
    assert again.status == Submission.Status.SCORED, again.error
    assert again.scores.get(split="public").primary_value == 1.0


@pytest.fixture
def real_broker():
    from earthbench.celery import app as celery_app

    old = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = old


@pytest.mark.slow
def test_real_solo_worker_survives_a_file_over_the_limit(
    user, eurosat, truth_rows, perfect_csv, real_broker, tmp_path
):
    """The embedded default (solo pool, SQLite broker): the attack file fails with
    the limit's message, and the same worker process then scores a good file."""
    from tests.platform.worker import celery_worker, wait_for

    with celery_worker(tmp_path / "worker.log", EARTHBENCH_SCORING_MEMORY_MB=16) as proc:
        bad, _ = intake.submission_create(
            user=user, benchmark=eurosat, file=upload(_padded_csv(truth_rows, 12 << 20)),
            filename="big.csv",
        )
        assert wait_for(lambda: Submission.objects.get(pk=bad.pk).is_finished, timeout=90)
        good, _ = intake.submission_create(
            user=user, benchmark=eurosat, file=upload(perfect_csv), filename="p.csv"
        )
        done = wait_for(lambda: Submission.objects.get(pk=good.pk).is_finished, timeout=90)
        alive = proc.poll() is None
    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert done and alive, log[-3000:]
    bad.refresh_from_db()
    good.refresh_from_db()
    assert bad.status == "failed"
    assert bad.error.startswith("exceeded the scoring memory limit of 16 MB"), bad.error
    assert good.status == "scored", good.error


def test_scoring_child_dies_with_a_sigkilled_worker(tmp_path):
    """A SIGKILLed worker must not leave its scoring child running (it did: the
    orphan kept its CPU and memory until its own limits ended it)."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    marker = tmp_path / "child.pid"
    code = (
        "import os, time\n"
        "from earthbench.submissions.isolation import run_limited\n"
        f"def work():\n    open({str(marker)!r}, 'w').write(str(os.getpid()))\n    time.sleep(120)\n"
        "run_limited(work, memory_mb=256, cpu_s=60)\n"
    )
    worker = subprocess.Popen([sys.executable, "-c", code],
                              env={**os.environ, "PYTHONPATH": f"{repo}:{repo / 'platform'}"})
    try:
        deadline = time.monotonic() + 30
        while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        child = int(marker.read_text())
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                break
            if Path(f"/proc/{child}/stat").exists() and Path(f"/proc/{child}/stat").read_text().split()[2] == "Z":
                break  # a zombie: dead, waiting for init to reap it
            time.sleep(0.05)
        else:
            os.kill(child, signal.SIGKILL)
            raise AssertionError(f"scoring child {child} outlived its SIGKILLed worker")
    finally:
        if worker.poll() is None:
            worker.kill()
