"""Container submissions: the predictions step of a scoring attempt.

``attempt.run_attempt`` does start → predictions → compute → record-or-fail;
this module supplies only the predictions: load the image, hold the run's time
limit of the team's compute budget, run it in the sandbox backend
(``backends.py``) on the benchmark's ``public/test/`` inputs and hand over its
``/output``.

Runs on the ``gpu`` queue (one job per GPU: a worker per GPU with concurrency 1,
its GPU given by ``EARTHBENCH_WORKER_GPU_UUID``). Who pays (quota, compute):
a refusal before the container starts is free; a run that started counts,
whatever its outcome; an internal error or a missing GPU costs nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

import evaluator
from earthbench import storage
from earthbench.accounts.models import Team
from earthbench.benchmarks import layout
from earthbench.benchmarks.models import Benchmark
from earthbench.submissions.attempt import AttemptFailed, Predictions, run_attempt
from earthbench.submissions.backends import backend_class, get_backend
from earthbench.submissions.models import Submission
from earthbench.submissions.quota import quota_for

log = logging.getLogger(__name__)


def benchmark_input_samples(benchmark: Benchmark):
    """The test inputs as sandbox samples: files under ``public/test/`` named
    ``<id>.*`` or inside ``public/test/<id>/``, for every test id."""
    from evaluator.sandbox import InputSample

    data = layout.require(benchmark)
    test_dir = data.test_inputs_dir
    if not test_dir.is_dir():
        raise evaluator.ValidationError(
            f"{benchmark.slug} has no per-sample test inputs for containers"
        )
    files: dict[str, dict[str, Path]] = {}
    for path in sorted(test_dir.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(test_dir)
        sid = rel.parts[0] if len(rel.parts) > 1 else path.name.split(".")[0]
        files.setdefault(sid, {})[f"{layout.TEST_INPUTS}/{rel.as_posix()}"] = path
    spec_inputs = benchmark.spec.get("inputs", {})
    modality = {k: v for k, v in spec_inputs.items() if isinstance(v, str | int | float)}
    return [InputSample(id=sid, files=files.get(sid, {}), modality=modality) for sid in data.test_ids]


def _limits(benchmark: Benchmark):
    from evaluator.sandbox import Limits

    known = {f.name for f in dataclasses.fields(Limits)}
    return Limits(**{k: v for k, v in benchmark.container_limits.items() if k in known})


class BudgetExceeded(Exception):
    """The run could exceed the team's daily compute budget: refused before it starts."""


def container_reserve_compute(*, submission_id: int, time_limit_s: float, now=None) -> None:
    """Mark the container as started and hold ``time_limit_s`` seconds of the
    team's daily compute budget, under the team lock (two GPU workers cannot both
    take the last seconds). Raises ``BudgetExceeded`` when the worst case (the
    run's time limit) does not fit in what remains today."""
    with transaction.atomic():
        team_id = Submission.objects.values_list("team_id", flat=True).get(pk=submission_id)
        Team.objects.select_for_update().filter(pk=team_id).first()
        sub = Submission.objects.select_for_update().select_related("benchmark", "team").get(pk=submission_id)
        q = quota_for(team=sub.team, benchmark=sub.benchmark, now=now)
        left = q.compute_remaining_s
        if left is not None and time_limit_s > left:
            raise BudgetExceeded(
                f"daily compute budget of {q.compute_limit_s} container seconds for "
                f"{sub.benchmark.slug}: {left:.0f} s left today, but a run may take up to "
                f"{time_limit_s:.0f} s; it resets at {q.resets_at.isoformat()}"
            )
        sub.container_started_at = now or timezone.now()
        sub.compute_seconds = float(time_limit_s)
        sub.save(update_fields=["container_started_at", "compute_seconds", "updated_at"])


def _record_compute(sub: Submission, seconds: float) -> None:
    Submission.objects.filter(pk=sub.pk).update(compute_seconds=round(float(seconds), 3))


def _release_compute(sub: Submission) -> None:
    """Undo ``container_reserve_compute`` for a run that never started."""
    Submission.objects.filter(pk=sub.pk).update(container_started_at=None, compute_seconds=0.0)


@contextlib.contextmanager
def container_output(sub: Submission) -> Iterator[Predictions]:
    """The predictions step of a container submission: its run's ``/output``."""
    from evaluator.sandbox import GpuUnavailable

    bench = sub.benchmark
    job_id = f"sub{sub.pk}-a{sub.attempts}"
    started = False  # refusals before the container starts stay free
    try:
        backend = get_backend()
        with backend.image(storage.absolute(sub.file_path), job_id) as info:
            Submission.objects.filter(pk=sub.pk).update(image_digest=info.image_id)
            limits = _limits(bench)
            try:
                container_reserve_compute(submission_id=sub.pk, time_limit_s=limits.time_s)
            except BudgetExceeded as exc:
                raise AttemptFailed(str(exc), counts=False) from None
            started = True
            with backend.run(
                job_id=job_id,
                image_id=info.image_id,
                samples=benchmark_input_samples(bench),
                benchmark=bench.slug,
                task_kind=bench.task_kind,
                limits=limits,
                gpu_uuid=settings.EARTHBENCH_WORKER_GPU_UUID or None,
            ) as run:
                Submission.objects.filter(pk=sub.pk).update(log_tail=run.log_tail[-8000:])
                _record_compute(sub, run.run_s if run.run_s is not None else run.wall_s)
                if not run.ok:
                    # The container ran: it counts against the quota (a sleeper,
                    # a fork bomb or a memory bomb is not free).
                    raise AttemptFailed(run.error, counts=True)
                yield Predictions(path=run.output_dir, efficiency=_efficiency(run), counts=True)
    except AttemptFailed:
        raise
    except evaluator.ValidationError as exc:
        if not started:
            raise  # an invalid image: refused before the start, free
        raise AttemptFailed(str(exc), counts=True) from None  # the container ran
    except GpuUnavailable as exc:  # none free / none here: not the submitter's fault
        log.warning("container submission %s: %s", sub.pk, exc)
        if started:
            _release_compute(sub)  # the container never started
        raise AttemptFailed(
            f"not run: {exc}; it does not count against your quota, submit again", counts=False
        ) from None
    except Exception:
        if started:
            _record_compute(sub, 0.0)  # an internal error costs the team nothing
        raise  # run_attempt: "internal error while running the container", free


def _efficiency(run) -> dict:
    mib = 1024 * 1024
    return {
        "latency_ms_per_sample": round(run.latency_ms_per_sample or 0.0, 3),
        "wall_s": round(run.wall_s, 3),
        "peak_memory_mb": round(run.peak_memory_bytes / mib, 1) if run.peak_memory_bytes else None,
        "peak_gpu_memory_mb": (
            round(run.peak_gpu_memory_bytes / mib, 1) if run.peak_gpu_memory_bytes else None
        ),
        "n_samples": run.n_samples,
    }


def submission_run_container(*, submission_id: int) -> Submission | None:
    """Run a container submission end to end (the Celery task's body)."""
    return run_attempt(
        submission_id=submission_id, predictions=container_output, doing="running the container"
    )


def reap_containers() -> list[str]:
    """Remove sandbox containers past their deadline; their submissions go back
    to the queue (or fail) through the submission reaper's rules."""
    return backend_class().reap(Path(settings.EARTHBENCH_SANDBOX_DIR))
