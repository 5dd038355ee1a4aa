"""Intake: a request becomes a stored, queued submission, or is refused.

The only place that checks a submission request: metadata, kind, the
benchmark's state, the Idempotency-Key (a repeat returns the first submission),
the daily quota and compute budget (``quota.quota_for``, under the team lock)
and a chunked upload's single use (consumed in the transaction that creates the
row). The views call ``submission_create`` and nothing else.
"""

from __future__ import annotations

import hashlib
import json
import uuid as uuidlib
from contextlib import ExitStack
from datetime import datetime
from typing import IO

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from earthbench import storage
from earthbench.accounts.models import Team
from earthbench.accounts.teams import team_for
from earthbench.benchmarks.models import Benchmark
from earthbench.submissions import dispatch, uploads
from earthbench.submissions.conflicts import describe_conflict
from earthbench.submissions.errors import (
    IdempotencyConflict,
    QuotaExceeded,
    SubmissionRefused,
    SuiteRefused,
)
from earthbench.submissions.events import record_event
from earthbench.submissions.models import Submission, Upload
from earthbench.submissions.quota import quota_for

METADATA_FIELDS = ("method_name", "description", "paper_url", "code_url", "git_commit")


def submission_create(
    *,
    user,
    benchmark: Benchmark,
    file: IO[bytes] | None = None,
    filename: str = "",
    upload=None,
    kind: str = Submission.Kind.PREDICTIONS,
    metadata: dict[str, str] | None = None,
    idempotency_key: str = "",
    is_baseline: bool = False,
    enqueue: bool = True,
    now: datetime | None = None,
) -> tuple[Submission, bool]:
    """Store the file durably, then create and enqueue the submission.

    The bytes come from ``file`` (named ``filename``, else the file's own
    name) or from ``upload``, the
    uuid of a completed chunked upload of ``user``, which is consumed in the
    transaction that creates the submission (one upload, one submission,
    however many requests race for it). Returns ``(submission, created)``; a
    repeat with the same idempotency key and the same content returns the
    original with ``created=False``.
    """
    metadata = {k: str(v) for k, v in (metadata or {}).items() if v not in (None, "")}
    _check_request(benchmark=benchmark, kind=kind, metadata=metadata,
                   idempotency_key=idempotency_key, is_baseline=is_baseline, now=now)
    chunked = _upload_of(user, upload) if upload is not None else None
    if chunked is None and file is None:
        raise SubmissionRefused("send a file or an upload", field="file")
    team = team_for(user=user, benchmark=benchmark)
    if idempotency_key:
        existing = Submission.objects.filter(created_by=user, idempotency_key=idempotency_key).first()
        if existing is not None:
            # Compared before anything new is stored (or an upload consumed).
            sha = chunked.sha256 if chunked is not None else _sha256_of(file)
            return _repeat_of(existing, benchmark=benchmark, kind=kind, sha256=sha, metadata=metadata)
    with ExitStack() as stack:
        if chunked is not None:
            file = stack.enter_context(uploads.upload_open(upload=chunked))  # refuses a used one
            filename = chunked.filename
        return _store_and_create(
            user=user, team=team, benchmark=benchmark, file=file,
            filename=filename or getattr(file, "name", "") or "upload",
            kind=kind, metadata=metadata, idempotency_key=idempotency_key,
            is_baseline=is_baseline, enqueue=enqueue, now=now, chunked=chunked,
        )


def _check_request(*, benchmark, kind, metadata, idempotency_key, is_baseline, now) -> None:
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
        raise SubmissionRefused(f"{benchmark.slug} accepts model containers only", field="kind")
    if kind == Submission.Kind.CONTAINER and not benchmark.accepts_containers:
        raise SubmissionRefused(f"{benchmark.slug} does not accept model containers", field="kind")
    if not benchmark.is_published and not is_baseline:
        raise SubmissionRefused(f"{benchmark.slug} is not open for submissions")
    if benchmark.deadline and (now or timezone.now()) > benchmark.deadline and not is_baseline:
        raise SubmissionRefused(f"{benchmark.slug} closed at {benchmark.deadline.isoformat()}")


def _upload_of(user, upload_id) -> Upload:
    """A completed chunked upload of ``user``, by uuid."""
    try:
        up = Upload.objects.filter(uuid=uuidlib.UUID(str(upload_id)), user=user).first()
    except ValueError:
        up = None
    if up is None:
        raise SubmissionRefused("no such upload", field="upload")
    if up.status == Upload.Status.OPEN:
        raise SubmissionRefused(
            f"upload is incomplete ({up.offset} of {up.size} bytes)", field="upload"
        )
    return up


def _check_quota(*, team, benchmark, kind, now) -> None:
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


def _store_and_create(
    *, user, team, benchmark, file, filename, kind, metadata, idempotency_key,
    is_baseline, enqueue, now, chunked,
) -> tuple[Submission, bool]:
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
            team = _locked_team(user=user, team=team, benchmark=benchmark)
            if not is_baseline:
                _check_quota(team=team, benchmark=benchmark, kind=kind, now=now)
            if chunked is not None and not uploads.upload_claim(upload=chunked):
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
            record_event(sub, sub.status, "uploaded")
            if enqueue:
                dispatch.enqueue(sub)
    except IntegrityError:
        # A concurrent request with the same key won the race (the claim of an
        # upload rolled back with it).
        storage.remove_tree(f"submissions/{sub_uuid}")
        existing = Submission.objects.filter(created_by=user, idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return _repeat_of(existing, benchmark=benchmark, kind=kind, sha256=sha, metadata=metadata)
    except BaseException:
        storage.remove_tree(f"submissions/{sub_uuid}")
        raise
    return sub, True


def _locked_team(*, user, team: Team, benchmark: Benchmark) -> Team:
    """Lock the submitting team's row (serialising one team's submits so quota
    checks cannot race). The team was looked up before the file was stored; if
    it was merged away or the user left it meanwhile, the user's team now is
    the one that submits (before: a foreign-key error, a 500)."""
    for _ in range(3):
        locked = (
            Team.objects.select_for_update(of=("self",))
            .filter(pk=team.pk, memberships__user=user, memberships__benchmark=benchmark)
            .first()
        )
        if locked is not None:
            return locked
        team = team_for(user=user, benchmark=benchmark)
    raise SubmissionRefused("your team changed while this submission was being stored; submit again")


def _fingerprint(*, benchmark: Benchmark, kind: str, sha256: str, metadata: dict) -> str:
    payload = json.dumps({"b": benchmark.slug, "k": kind, "f": sha256, "m": metadata}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _sha256_of(file) -> str:
    digest = hashlib.sha256()
    chunks = file.chunks(1 << 20) if hasattr(file, "chunks") else iter(lambda: file.read(1 << 20), b"")
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def _repeat_of(existing, *, benchmark, kind, sha256, metadata) -> tuple[Submission, bool]:
    """The first submission made with this key, if this request repeats it
    exactly; otherwise 409, naming what differs."""
    fingerprint = _fingerprint(benchmark=benchmark, kind=kind, sha256=sha256, metadata=metadata)
    if fingerprint != existing.request_fingerprint:
        message, field = describe_conflict(
            existing, benchmark=benchmark, kind=kind, sha256=sha256, metadata=metadata,
            fields=METADATA_FIELDS,
        )
        raise IdempotencyConflict(message, field=field)
    return existing, False


def submission_copy(
    *, source: Submission, benchmark: Benchmark, idempotency_key: str, note: str
) -> Submission | None:
    """Queue ``source`` again on ``benchmark`` (a new version of its own): same
    team, author, file and metadata; free of quota. None when a copy made with
    ``idempotency_key`` exists already (the caller's idempotency)."""
    if Submission.objects.filter(created_by=source.created_by, idempotency_key=idempotency_key).exists():
        return None
    new_uuid = uuidlib.uuid4()
    with storage.absolute(source.file_path).open("rb") as fh:
        rel, sha, size = storage.store_fileobj(
            fh, rel_dir=f"submissions/{new_uuid}", filename=source.file_name,
            max_bytes=max(source.file_size, 1),
        )
    try:
        with transaction.atomic():
            copy = Submission.objects.create(
                uuid=new_uuid, benchmark=benchmark, team=source.team, created_by=source.created_by,
                kind=source.kind, file_path=rel, file_name=source.file_name, file_sha256=sha,
                file_size=size, idempotency_key=idempotency_key, counts_against_quota=False,
                **{f: getattr(source, f) for f in METADATA_FIELDS},
            )
            record_event(copy, copy.status, note)
            dispatch.enqueue(copy)
    except BaseException:
        storage.remove_tree(f"submissions/{new_uuid}")
        raise
    return copy
