"""Submission life cycle: create → queued → running → scored | failed (| cancelled).

Rules live here, not in models or views. Every transition is recorded as a
SubmissionEvent; every state has a way out (retry, reaper, cancel).
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid as uuidlib
from datetime import datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

import evaluator
from earthbench import storage
from earthbench.accounts.models import Team
from earthbench.accounts.teams import team_for
from earthbench.benchmarks.models import Benchmark
from earthbench.leaderboards.services import leaderboard_refresh_team
from earthbench.submissions.conflicts import describe_conflict
from earthbench.submissions.heartbeat import last_alive, retry_locked
from earthbench.submissions.models import Score, Submission, SubmissionEvent, Upload
from earthbench.submissions.quota import Quota, quota_for, utc_day_start  # noqa: F401  (the one quota rule)

log = logging.getLogger(__name__)

METADATA_FIELDS = ("method_name", "description", "paper_url", "code_url", "git_commit")


class SubmissionRefused(Exception):
    """The request cannot be accepted (quota, closed benchmark, wrong kind...)."""

    code = "refused"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


class QuotaExceeded(SubmissionRefused):
    code = "quota_exceeded"


class IdempotencyConflict(SubmissionRefused):
    code = "idempotency_conflict"


class SuiteRefused(SubmissionRefused):
    code = "suite_takes_no_submissions"


def _fingerprint(*, benchmark: Benchmark, kind: str, sha256: str, metadata: dict) -> str:
    payload = json.dumps(
        {"b": benchmark.slug, "k": kind, "f": sha256, "m": metadata}, sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _event(submission: Submission, status: str, note: str = "") -> None:
    SubmissionEvent.objects.create(submission=submission, status=status, note=note[:2000])


def _enqueue(submission: Submission) -> None:
    from earthbench.submissions import tasks

    task = (
        tasks.run_container_submission
        if submission.kind == Submission.Kind.CONTAINER
        else tasks.score_submission
    )
    sub_id = submission.pk

    def send() -> None:
        from kombu.exceptions import OperationalError

        try:
            task.apply_async(kwargs={"submission_id": sub_id})
        except OperationalError:
            # Broker unreachable. The row and its file are committed, so the
            # upload is kept and reported as queued; the reaper re-enqueues it
            # (queued longer than EARTHBENCH_SCORING_TIMEOUT_S) once the broker
            # is back. Raising here would turn a saved submission into a 500.
            log.exception("could not enqueue submission %s; the reaper will retry", sub_id)

    transaction.on_commit(send)


def submission_create(
    *,
    user,
    benchmark: Benchmark,
    file: IO[bytes],
    filename: str,
    kind: str = Submission.Kind.PREDICTIONS,
    metadata: dict[str, str] | None = None,
    idempotency_key: str = "",
    is_baseline: bool = False,
    enqueue: bool = True,
    now: datetime | None = None,
    consume_upload: Upload | None = None,
) -> tuple[Submission, bool]:
    """Store the file durably, then create and enqueue the submission.

    Returns ``(submission, created)``; a repeat with the same idempotency key and
    the same content returns the original with ``created=False``.
    ``consume_upload``: the completed chunked upload the file comes from; it is
    consumed in the transaction that creates the submission (one upload, one
    submission, however many requests race for it).
    """
    metadata = {k: str(v) for k, v in (metadata or {}).items() if v not in (None, "")}
    unknown = sorted(set(metadata) - set(METADATA_FIELDS))
    if unknown:
        raise SubmissionRefused(f"unknown metadata field {unknown[0]!r}", field=unknown[0])
    if len(idempotency_key) > 200:
        raise SubmissionRefused("Idempotency-Key is longer than 200 characters")
    if kind not in Submission.Kind.values:
        raise SubmissionRefused(f"unknown submission kind {kind!r}", field="kind")
    if benchmark.suite_members and not is_baseline:
        raise SuiteRefused(
            f"{benchmark.slug} is a suite: it ranks teams by their results on its "
            f"member benchmarks; submit to each member instead: "
            f"{', '.join(benchmark.suite_members)}",
            field="benchmark",
        )
    if kind == Submission.Kind.PREDICTIONS and not benchmark.accepts_predictions and not is_baseline:
        raise SubmissionRefused(
            f"{benchmark.slug} accepts model containers only", field="kind"
        )
    if kind == Submission.Kind.CONTAINER and not benchmark.accepts_containers:
        raise SubmissionRefused(
            f"{benchmark.slug} does not accept model containers", field="kind"
        )
    if not benchmark.is_published and not is_baseline:
        raise SubmissionRefused(f"{benchmark.slug} is not open for submissions")
    if benchmark.deadline and (now or timezone.now()) > benchmark.deadline and not is_baseline:
        raise SubmissionRefused(f"{benchmark.slug} closed at {benchmark.deadline.isoformat()}")
    team = team_for(user=user, benchmark=benchmark)

    if idempotency_key:
        existing = Submission.objects.filter(
            created_by=user, idempotency_key=idempotency_key
        ).first()
        if existing is not None:
            # Compare content before storing anything new.
            return _idempotent_repeat(existing, benchmark, kind, file, metadata)

    max_bytes = (
        settings.EARTHBENCH_MAX_CONTAINER_BYTES
        if kind == Submission.Kind.CONTAINER
        else settings.EARTHBENCH_MAX_UPLOAD_BYTES
    )
    sub_uuid = uuidlib.uuid4()
    try:
        rel, sha, size = storage.store_fileobj(
            file, rel_dir=f"submissions/{sub_uuid}", filename=filename, max_bytes=max_bytes
        )
    except ValueError as exc:
        raise SubmissionRefused(str(exc), field="file") from None
    fingerprint = _fingerprint(benchmark=benchmark, kind=kind, sha256=sha, metadata=metadata)
    try:
        with transaction.atomic():
            # Serialise submits of one team so quota checks cannot race.
            Team.objects.select_for_update().filter(pk=team.pk).first()
            if not is_baseline:
                q = quota_for(team=team, benchmark=benchmark, now=now)
                if q.remaining <= 0:
                    raise QuotaExceeded(
                        f"daily quota of {q.limit} submissions for {benchmark.slug} used; "
                        f"it resets at {q.resets_at.isoformat()}"
                    )
                left = q.compute_remaining_s
                if kind == Submission.Kind.CONTAINER and left is not None and left <= 0:
                    raise QuotaExceeded(
                        f"daily compute budget of {q.compute_limit_s} container seconds for "
                        f"{benchmark.slug} used; it resets at {q.resets_at.isoformat()}"
                    )
                if q.in_flight >= q.max_in_flight:
                    raise QuotaExceeded(
                        f"{q.in_flight} submissions are still being scored "
                        f"(limit {q.max_in_flight}); wait for one to finish"
                    )
            if consume_upload is not None and not Upload.objects.filter(
                pk=consume_upload.pk, status=Upload.Status.COMPLETE
            ).update(status=Upload.Status.CONSUMED):
                raise SubmissionRefused("this upload was already used by a submission", field="upload")
            sub = Submission.objects.create(
                uuid=sub_uuid,
                benchmark=benchmark,
                team=team,
                created_by=user,
                kind=kind,
                file_path=rel,
                file_name=storage.safe_filename(filename),
                file_sha256=sha,
                file_size=size,
                idempotency_key=idempotency_key,
                request_fingerprint=fingerprint,
                is_baseline=is_baseline,
                **metadata,
            )
            _event(sub, sub.status, "uploaded")
            if enqueue:
                _enqueue(sub)
    except IntegrityError:
        # A concurrent request with the same key won the race.
        storage.remove_tree(f"submissions/{sub_uuid}")
        existing = Submission.objects.filter(
            created_by=user, idempotency_key=idempotency_key
        ).first()
        if existing is None:
            raise
        if existing.request_fingerprint != fingerprint:
            raise _conflict(existing, benchmark, kind, sha, metadata) from None
        return existing, False
    except BaseException:
        storage.remove_tree(f"submissions/{sub_uuid}")
        raise
    return sub, True


def _idempotent_repeat(existing, benchmark, kind, file, metadata) -> tuple[Submission, bool]:
    digest = hashlib.sha256()
    chunks = file.chunks(1 << 20) if hasattr(file, "chunks") else iter(lambda: file.read(1 << 20), b"")
    for chunk in chunks:
        digest.update(chunk)
    fingerprint = _fingerprint(
        benchmark=benchmark, kind=kind, sha256=digest.hexdigest(), metadata=metadata
    )
    if fingerprint != existing.request_fingerprint:
        raise _conflict(existing, benchmark, kind, digest.hexdigest(), metadata)
    return existing, False


def _conflict(existing, benchmark, kind, sha256, metadata) -> IdempotencyConflict:
    message, field = describe_conflict(
        existing, benchmark=benchmark, kind=kind, sha256=sha256, metadata=metadata,
        fields=METADATA_FIELDS,
    )
    return IdempotencyConflict(message, field=field)


# ---------------------------------------------------------------- scoring


@retry_locked
def submission_start(*, submission_id: int) -> Submission | None:
    """Lock and move a submission to running; None if it is not ours to run.

    A submission found ``running`` is being retried after a lost worker (the
    task is ``acks_late``): it is taken again while attempts remain.
    """
    with transaction.atomic():
        sub = (
            Submission.objects.select_for_update()
            .select_related("benchmark")
            .filter(pk=submission_id)
            .first()
        )
        if sub is None or sub.status not in (
            Submission.Status.QUEUED,
            Submission.Status.RUNNING,
        ):
            return None
        alive = last_alive(sub)  # its heartbeat, else its start
        if sub.status == Submission.Status.RUNNING and alive and (
            timezone.now() - alive
        ).total_seconds() < settings.EARTHBENCH_RETAKE_AFTER_S:
            return None  # another worker is on it; a duplicate message
        if sub.attempts >= settings.EARTHBENCH_MAX_ATTEMPTS:
            _finish_failed(sub, f"gave up after {sub.attempts} attempts", counts=False)
            return None
        sub.status = Submission.Status.RUNNING
        sub.attempts += 1
        sub.started_at = sub.heartbeat_at = timezone.now()  # a previous attempt's beat is not ours
        sub.save(update_fields=["status", "attempts", "started_at", "heartbeat_at", "updated_at"])
        _event(sub, sub.status, f"attempt {sub.attempts}")
    return sub


def _finish_failed(sub: Submission, message: str, *, counts: bool) -> None:
    sub.status = Submission.Status.FAILED
    sub.error = message
    sub.counts_against_quota = counts
    sub.finished_at = timezone.now()
    sub.save(
        update_fields=["status", "error", "counts_against_quota", "finished_at", "updated_at"]
    )
    _event(sub, sub.status, message)


def compute_scores(
    *, benchmark: Benchmark, predictions_path
) -> dict[str, dict[str, Any]]:
    """Score a predictions path on every split in one pass (no database writes).

    The evaluator runs in a forked child under EARTHBENCH_SCORING_MEMORY_MB and
    EARTHBENCH_SCORING_CPU_S (``isolation.run_limited``); everything read from
    the database is read here, in the worker, before the fork.
    """
    from earthbench.benchmarks.services import dataset_meta, prediction_cap_of
    from earthbench.submissions.isolation import run_limited
    from evaluator.limits import check_prediction_size
    from evaluator.scoring import score_files

    meta = dataset_meta(benchmark)
    if meta is None:
        raise RuntimeError(f"no dataset installed for {benchmark.slug}")
    private = storage.private_dir(benchmark.slug)
    splits = storage.read_json(private / "splits.json")
    # Refused before anything parses it: size against the kind's per-sample cap.
    check_prediction_size(predictions_path, prediction_cap_of(benchmark, splits))
    # The evaluator's own composition (evaluator.scoring), in the limited child.
    return run_limited(
        score_files,
        benchmark.task_kind,
        predictions_path,
        private / meta["truth"],
        benchmark.options,
        splits,
        primary=benchmark.primary_metric,
        metrics=[m["key"] for m in benchmark.metrics],
        n_resamples=settings.EARTHBENCH_BOOTSTRAP_RESAMPLES,
        seed=0,
        blocks=meta.get("blocks"),
        memory_mb=settings.EARTHBENCH_SCORING_MEMORY_MB,
        cpu_s=settings.EARTHBENCH_SCORING_CPU_S,
        wall_s=settings.EARTHBENCH_SCORING_TIMEOUT_S,
    )


def submission_record_scores(
    *, submission_id: int, results: dict, efficiency=None, attempt: int | None = None
) -> bool:
    """Write Score rows and mark scored, atomically; False if the run was superseded
    (no longer running, or taken over by a later ``attempt`` after a lost heartbeat)."""
    with transaction.atomic():
        _lock_team_of(submission_id)
        sub = Submission.objects.select_for_update().get(pk=submission_id)
        if sub.status != Submission.Status.RUNNING or attempt not in (None, sub.attempts):
            return False
        Score.objects.filter(submission=sub, is_current=True).update(is_current=False)
        Score.objects.bulk_create(
            Score(
                submission=sub,
                split=name,
                metrics=r["metrics"],
                primary_value=r["primary_value"],
                ci=r["ci"],
                primary_draws=r.get("primary_draws", []),
                draws_key=r.get("draws_key", ""),
                samples=r["samples"],
                evaluator_version=evaluator.__version__,
            )
            for name, r in results.items()
        )
        sub.status = Submission.Status.SCORED
        sub.error = ""
        sub.finished_at = timezone.now()
        if efficiency:
            sub.efficiency = efficiency
        sub.save(update_fields=["status", "error", "finished_at", "efficiency", "updated_at"])
        _event(sub, sub.status)
        leaderboard_refresh_team(benchmark=sub.benchmark, team=sub.team)
    return True


def _lock_team_of(submission_id: int) -> None:
    """Serialise leaderboard refreshes of one team (team row, then submission:
    the order submission_create/select use). Without it, two workers finishing
    two submissions of a team at once each pick the team's best without seeing
    the other's uncommitted scores, and the last commit wins (seen on Postgres)."""
    team_id = Submission.objects.values_list("team_id", flat=True).get(pk=submission_id)
    Team.objects.select_for_update().filter(pk=team_id).first()


@retry_locked
def submission_fail(
    *, submission_id: int, message: str, counts: bool = False, attempt: int | None = None
) -> None:
    with transaction.atomic():
        sub = Submission.objects.select_for_update().get(pk=submission_id)
        if sub.is_finished or attempt not in (None, sub.attempts):
            return
        _finish_failed(sub, message, counts=counts)


def submission_score(*, submission_id: int) -> Submission | None:
    """Score a prediction-file submission end to end (the Celery task's body)."""
    sub = submission_start(submission_id=submission_id)
    if sub is None:
        return None
    try:
        results = compute_scores(
            benchmark=sub.benchmark, predictions_path=storage.absolute(sub.file_path)
        )
    except evaluator.ValidationError as exc:
        submission_fail(submission_id=sub.pk, message=str(exc), attempt=sub.attempts)
    except Exception:
        log.exception("scoring submission %s failed", sub.pk)
        submission_fail(
            submission_id=sub.pk,
            message="internal error while scoring; the operators have been notified",
            attempt=sub.attempts,
        )
    else:
        submission_record_scores(submission_id=sub.pk, results=results, attempt=sub.attempts)
    sub.refresh_from_db()
    return sub


def submission_cancel(*, submission: Submission, user) -> Submission:
    with transaction.atomic():
        sub = Submission.objects.select_for_update().get(pk=submission.pk)
        if sub.status != Submission.Status.QUEUED:
            raise SubmissionRefused(f"only queued submissions can be cancelled (this one is {sub.status})")
        sub.status = Submission.Status.CANCELLED
        sub.finished_at = timezone.now()
        sub.save(update_fields=["status", "finished_at", "updated_at"])
        _event(sub, sub.status, f"cancelled by {user}")
    return sub


def submission_requeue(*, submission: Submission, note: str) -> None:
    with transaction.atomic():
        sub = Submission.objects.select_for_update().get(pk=submission.pk)
        sub.status = Submission.Status.QUEUED
        sub.save(update_fields=["status", "updated_at"])
        _event(sub, sub.status, note)
        _enqueue(sub)


def reap_stuck_submissions(*, now: datetime | None = None) -> dict[str, int]:
    """Requeue or fail anything overdue: running past the timeout (worker died or
    hung), or queued for longer than the timeout (message lost)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.EARTHBENCH_SCORING_TIMEOUT_S)
    stuck = Submission.objects.filter(
        Q(status=Submission.Status.RUNNING, started_at__lt=cutoff)
        | Q(status=Submission.Status.QUEUED, updated_at__lt=cutoff)
    )
    counts = {"requeued": 0, "failed": 0}
    for sub in stuck:
        if sub.attempts >= settings.EARTHBENCH_MAX_ATTEMPTS:
            submission_fail(
                submission_id=sub.pk,
                message=(
                    f"timed out: no result after {sub.attempts} attempts of up to "
                    f"{settings.EARTHBENCH_SCORING_TIMEOUT_S} s"
                ),
                # a container that started (e.g. a sleeper that hung its worker) counts
                counts=sub.container_started_at is not None,
            )
            counts["failed"] += 1
        else:
            submission_requeue(submission=sub, note="reaper: overdue, requeued")
            counts["requeued"] += 1
    return counts


def benchmark_rescore(*, benchmark: Benchmark) -> int:
    """Re-run every scored or failed submission (e.g. after an evaluator fix)."""
    n = 0
    for sub in Submission.objects.filter(
        benchmark=benchmark,
        status__in=[Submission.Status.SCORED, Submission.Status.FAILED],
        kind=Submission.Kind.PREDICTIONS,
    ):
        with transaction.atomic():
            Submission.objects.filter(pk=sub.pk).update(attempts=0)
        submission_requeue(submission=sub, note="re-score requested by host")
        n += 1
    return n


def submission_select(*, submission: Submission, user, selected: bool, now: datetime | None = None) -> Submission:
    """Mark a scored submission as (not) one of its team's final selections."""
    bench = submission.benchmark
    if not submission.team.memberships.filter(user=user).exists():
        raise SubmissionRefused("only members of the submitting team can select it")
    if bench.deadline and (now or timezone.now()) >= bench.deadline:
        raise SubmissionRefused("final selection closed at the deadline")
    with transaction.atomic():
        Team.objects.select_for_update().filter(pk=submission.team_id).first()
        sub = Submission.objects.select_for_update().get(pk=submission.pk)
        if selected and not sub.is_selected:
            if sub.status != Submission.Status.SCORED:
                raise SubmissionRefused("only scored submissions can be selected")
            n = Submission.objects.filter(benchmark=bench, team=sub.team, is_selected=True).count()
            if n >= bench.final_selection_count:
                raise SubmissionRefused(
                    f"at most {bench.final_selection_count} submissions can be selected; "
                    "deselect one first"
                )
        sub.is_selected = selected
        sub.save(update_fields=["is_selected", "updated_at"])
        _event(sub, sub.status, "selected as final" if selected else "deselected")
        leaderboard_refresh_team(benchmark=bench, team=sub.team)
    return sub


def submission_hide(*, submission: Submission, by, reason: str, hidden: bool = True) -> Submission:
    """Disqualify (hide) or restore an entry; hosts only, with a reason."""
    from earthbench.leaderboards.selectors import is_host

    if not is_host(benchmark=submission.benchmark, user=by):
        raise SubmissionRefused("only the benchmark's hosts can hide entries")
    if hidden and not reason.strip():
        raise SubmissionRefused("a reason is required", field="reason")
    with transaction.atomic():
        _lock_team_of(submission.pk)
        sub = Submission.objects.select_for_update().get(pk=submission.pk)
        sub.is_hidden = hidden
        sub.hidden_reason = reason.strip() if hidden else ""
        sub.save(update_fields=["is_hidden", "hidden_reason", "updated_at"])
        _event(sub, sub.status, f"{'hidden' if hidden else 'restored'} by {by}: {reason}".strip())
        leaderboard_refresh_team(benchmark=sub.benchmark, team=sub.team)
    return sub
