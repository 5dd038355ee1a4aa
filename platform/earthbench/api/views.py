"""REST API v1: thin views over services and selectors."""

from __future__ import annotations

import hashlib
import json

from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, permissions, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from earthbench.accounts.models import ApiToken
from earthbench.accounts.services import TokenRefused, token_create, token_revoke
from earthbench.accounts.teams import team_of
from earthbench.api import serializers as s
from earthbench.api.idempotency import idempotent
from earthbench.api.pagination import NewestFirstCursor
from earthbench.benchmarks.models import Benchmark
from earthbench.benchmarks.selectors import published_benchmark
from earthbench.leaderboards.exports import (
    full_results,
    rank_uncertainty_fields,
    rows_as_dicts,
    to_csv,
)
from earthbench.leaderboards.selectors import (
    is_host,
    leaderboard_count,
    leaderboard_rows,
    split_visible,
)
from earthbench.leaderboards.selectors import visible_splits as _visible_splits
from earthbench.leaderboards.suites import is_suite, suite_hidden_members, suite_rows
from earthbench.submissions import intake, lifecycle, quota, selection, uploads
from earthbench.submissions.models import Score, Submission, Upload


class HasScope(permissions.BasePermission):
    """Token scopes: ``read`` for GET, ``submit`` for writes (``tokens`` for writes
    to the token endpoints: a view's ``write_scope``). Sessions have all."""

    message = "this token lacks the scope this request needs"

    def has_permission(self, request, view):
        token = request.auth
        scopes = getattr(token, "scopes", None)
        if scopes is None:
            return True
        if request.method in permissions.SAFE_METHODS:
            need = "read"
        else:
            need = getattr(view, "write_scope", "submit")
        return need in scopes


class BenchmarkList(generics.ListAPIView):
    serializer_class = s.BenchmarkSerializer
    permission_classes = [HasScope]

    def get_queryset(self):
        qs = Benchmark.objects.filter(is_published=True)
        params = self.request.query_params
        if params.get("kind"):
            qs = qs.filter(task_kind=params["kind"])
        # JSON list fields: filtered in Python, portable across SQLite and Postgres.
        modality, paper = params.get("modality"), params.get("paper", "").strip().lower()
        if modality or paper:
            keep = [
                b.pk
                for b in qs.only("pk", "modalities", "papers")
                if (not modality or modality in b.modalities)
                and (not paper or any(paper in p.lower() for p in b.papers))
            ]
            qs = qs.filter(pk__in=keep)
        return qs

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", str),
            OpenApiParameter("modality", str),
            OpenApiParameter("paper", str, description="substring of a paper title"),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class BenchmarkDetail(generics.RetrieveAPIView):
    serializer_class = s.BenchmarkDetailSerializer
    permission_classes = [HasScope]
    lookup_field = "slug"
    queryset = Benchmark.objects.filter(is_published=True)

    def get_object(self):
        return published_benchmark(self.kwargs["slug"])


class Leaderboard(APIView):
    permission_classes = [HasScope]

    @extend_schema(
        parameters=[
            OpenApiParameter("split", str, enum=["public", "private"]),
            OpenApiParameter("sort", str, description="metric key to sort by (default: primary)"),
            OpenApiParameter("format", str, enum=["json", "csv"]),
            OpenApiParameter("limit", int),
            OpenApiParameter("offset", int),
        ],
        responses=s.LeaderboardSerializer,
    )
    def get(self, request, slug):
        bench = published_benchmark(slug)
        split = request.query_params.get("split", "public")
        if split not in ("public", "private"):
            raise ValidationError({"split": "split must be public or private"})
        if not split_visible(benchmark=bench, split=split, user=request.user):
            raise PermissionDenied("the private leaderboard is revealed at the deadline")
        if is_suite(bench):
            rows = suite_rows(benchmark=bench, split=split, user=request.user)
            return Response({
                "benchmark": bench.slug, "split": split, "primary_metric": "iqm", "direction": "max",
                # The rows' metric, whatever the suite's YAML declares for itself.
                "metrics": [{"key": "iqm", "label": "IQM of normalised scores", "direction": "max"}],
                "count": len(rows),
                # members whose split is hidden from this viewer: they count as missing
                "hidden_members": suite_hidden_members(benchmark=bench, split=split, user=request.user),
                "results": [
                    {"rank": r.rank, "team": r.team, "iqm": r.iqm, "primary_value": r.iqm,
                     "iqm_ci_low": r.ci[0] if r.ci else None, "iqm_ci_high": r.ci[1] if r.ci else None,
                     "normalised": r.normalised, "scores": r.raw, "missing": r.missing,
                     "tied_with_leader": r.tied_with_leader, **rank_uncertainty_fields(r)}
                    for r in rows
                ],
            })
        fmt = request.query_params.get("format", "json")
        try:
            offset = max(0, int(request.query_params.get("offset", 0)))
            limit = min(1000, max(1, int(request.query_params.get("limit", 100))))
        except ValueError:
            raise ValidationError({"limit": "limit and offset must be integers"}) from None
        page = {} if fmt == "csv" else {"offset": offset, "limit": limit}
        try:
            rows = leaderboard_rows(
                benchmark=bench, split=split, sort=request.query_params.get("sort"), **page
            )
        except ValueError as exc:
            raise ValidationError({"sort": str(exc)}) from None
        records = rows_as_dicts(bench, rows)
        if fmt == "csv":
            resp = HttpResponse(to_csv(records), content_type="text/csv; charset=utf-8")
            resp["Content-Disposition"] = f'attachment; filename="{bench.slug}-{split}.csv"'
            return resp
        if fmt != "json":
            raise ValidationError({"format": "format must be json or csv"})
        body = {
            "benchmark": bench.slug,
            "split": split,
            "primary_metric": bench.primary_metric,
            "direction": bench.primary_direction,
            "metrics": bench.metrics,
            "count": leaderboard_count(benchmark=bench, split=split),
            "offset": offset,
            "results": records,
        }
        etag = '"' + hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:32] + '"'
        if request.headers.get("If-None-Match") == etag:
            resp = Response(status=304)
        else:
            resp = Response(body)
        resp["ETag"] = etag
        resp["Cache-Control"] = "private, must-revalidate"
        return resp


class BenchmarkResults(APIView):
    """Every score of every submission, for the benchmark's hosts."""

    permission_classes = [permissions.IsAuthenticated, HasScope]

    @extend_schema(parameters=[OpenApiParameter("format", str, enum=["json", "csv"])], responses=None)
    def get(self, request, slug):
        bench = get_object_or_404(Benchmark, slug=slug)
        if not is_host(benchmark=bench, user=request.user):
            raise NotFound("no such benchmark export")
        records = full_results(bench)
        if request.query_params.get("format") == "csv":
            resp = HttpResponse(to_csv(records), content_type="text/csv; charset=utf-8")
            resp["Content-Disposition"] = f'attachment; filename="{bench.slug}-results.csv"'
            return resp
        return Response({"benchmark": bench.slug, "results": records})


def visible_splits(sub: Submission, user) -> set[str]:
    return _visible_splits(benchmark=sub.benchmark, user=user)


class SubmissionListCreate(generics.GenericAPIView):
    permission_classes = [permissions.IsAuthenticated, HasScope]
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = s.SubmissionSerializer
    pagination_class = NewestFirstCursor

    def get_queryset(self):
        # Every submission of every team of mine (teams are per benchmark).
        qs = Submission.objects.filter(team__memberships__user=self.request.user).select_related("benchmark", "team").prefetch_related(
            Prefetch("scores", queryset=Score.objects.filter(is_current=True))
        )
        bench = self.request.query_params.get("benchmark")
        if bench:
            qs = qs.filter(benchmark__slug=bench)
        return qs

    @extend_schema(
        operation_id="submissions_list",
        parameters=[OpenApiParameter("benchmark", str), OpenApiParameter("cursor", str), OpenApiParameter("limit", int)],
        responses=s.SubmissionPageSerializer,
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        data = [
            s.SubmissionSerializer(sub, context={"visible_splits": visible_splits(sub, request.user)}).data
            for sub in page
        ]
        return self.get_paginated_response(data)

    @extend_schema(request=s.SubmissionCreateSerializer, responses={201: s.SubmissionSerializer})
    def post(self, request):
        ser = s.SubmissionCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        d = ser.validated_data
        sub, created = intake.submission_create(
            user=request.user,
            benchmark=d["benchmark"],
            file=d.get("file"),
            upload=d.get("upload"),
            kind=d["kind"],
            metadata={k: d.get(k, "") for k in intake.METADATA_FIELDS},
            idempotency_key=request.headers.get("Idempotency-Key", "").strip(),
        )
        sub = Submission.objects.select_related("benchmark", "team").get(pk=sub.pk)
        body = s.SubmissionSerializer(sub, context={"visible_splits": visible_splits(sub, request.user)}).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class SubmissionDetail(APIView):
    permission_classes = [permissions.IsAuthenticated, HasScope]

    def _get(self, request, pk) -> Submission:
        sub = Submission.objects.select_related("benchmark", "team").filter(pk=pk).first()
        # Someone else's submission is indistinguishable from a missing one.
        if sub is None or not (
            sub.team.memberships.filter(user=request.user).exists()
            or is_host(benchmark=sub.benchmark, user=request.user)
        ):
            raise NotFound("no such submission")
        return sub

    @extend_schema(responses=s.SubmissionSerializer)
    def get(self, request, pk):
        sub = self._get(request, pk)
        return Response(s.SubmissionSerializer(sub, context={"visible_splits": visible_splits(sub, request.user)}).data)


class SubmissionCancel(SubmissionDetail):
    @extend_schema(request=None, responses=s.SubmissionSerializer)
    def post(self, request, pk):
        sub = lifecycle.submission_cancel(submission=self._get(request, pk), user=request.user)
        return Response(s.SubmissionSerializer(sub, context={"visible_splits": visible_splits(sub, request.user)}).data)


class MyQuota(APIView):
    permission_classes = [permissions.IsAuthenticated, HasScope]

    @extend_schema(
        parameters=[OpenApiParameter("benchmark", str, required=True)], responses=s.QuotaSerializer
    )
    def get(self, request):
        slug = request.query_params.get("benchmark", "")
        bench = published_benchmark(slug)
        q = quota.quota_for(team=team_of(user=request.user, benchmark=bench), benchmark=bench)
        return Response(
            s.QuotaSerializer(
                {"benchmark": bench.slug, "limit": q.limit, "used": q.used, "remaining": q.remaining,
                 "in_flight": q.in_flight, "max_in_flight": q.max_in_flight, "resets_at": q.resets_at,
                 "compute_limit_s": q.compute_limit_s, "compute_used_s": q.compute_used_s,
                 "compute_remaining_s": q.compute_remaining_s}
            ).data
        )


class SubmissionSelect(SubmissionDetail):
    """Select (POST) or deselect (DELETE) as one of the team's final submissions."""

    @extend_schema(request=None, responses=s.SubmissionSerializer)
    def post(self, request, pk):
        return self._set(request, pk, True)

    @extend_schema(request=None, responses=s.SubmissionSerializer)
    def delete(self, request, pk):
        return self._set(request, pk, False)

    def _set(self, request, pk, selected):
        sub = selection.submission_select(submission=self._get(request, pk), user=request.user, selected=selected)
        return Response(s.SubmissionSerializer(sub, context={"visible_splits": visible_splits(sub, request.user)}).data)


class SubmissionHide(SubmissionDetail):
    """Hosts hide (POST, with a reason) or restore (DELETE) an entry."""

    @extend_schema(request=s.HideSerializer, responses=s.SubmissionSerializer)
    def post(self, request, pk):
        ser = s.HideSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        sub = selection.submission_hide(submission=self._get(request, pk), by=request.user, reason=ser.validated_data["reason"])
        return Response(s.SubmissionSerializer(sub, context={"visible_splits": visible_splits(sub, request.user)}).data)

    @extend_schema(request=None, responses=s.SubmissionSerializer)
    def delete(self, request, pk):
        sub = selection.submission_hide(submission=self._get(request, pk), by=request.user, reason="", hidden=False)
        return Response(s.SubmissionSerializer(sub, context={"visible_splits": visible_splits(sub, request.user)}).data)


class SubmissionLogs(SubmissionDetail):
    @extend_schema(responses=s.LogsSerializer)
    def get(self, request, pk):
        sub = self._get(request, pk)
        return Response({"id": sub.pk, "log_tail": sub.log_tail,
                         "events": [{"status": e.status, "note": e.note, "at": e.at} for e in sub.events.all()]})


class TokenListCreate(APIView):
    permission_classes = [permissions.IsAuthenticated, HasScope]
    write_scope = "tokens"

    @extend_schema(responses=s.TokenSerializer(many=True))
    def get(self, request):
        return Response(s.TokenSerializer(ApiToken.objects.filter(user=request.user), many=True).data)

    # Not idempotent on purpose: replaying would mean storing the plain key.
    @extend_schema(request=s.TokenCreateSerializer, responses=s.TokenCreatedSerializer)
    def post(self, request):
        ser = s.TokenCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        d = ser.validated_data
        parent = request.auth if isinstance(request.auth, ApiToken) else None
        try:
            token, key = token_create(user=request.user, name=d["name"], scopes=sorted(d.get("scopes") or []) or None,
                                      expires_at=d.get("expires_at"), parent=parent)
        except TokenRefused as exc:
            raise PermissionDenied(str(exc)) from None
        return Response({**s.TokenSerializer(token).data, "key": key}, status=201)


class TokenDetail(APIView):
    permission_classes = [permissions.IsAuthenticated, HasScope]
    write_scope = "tokens"

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, pk):
        token = ApiToken.objects.filter(pk=pk, user=request.user).first()
        if token is None:
            raise NotFound("no such token")
        token_revoke(token=token)
        return Response(status=204)


class UploadCreate(APIView):
    """Start a resumable upload; then PUT chunks and POST complete."""

    permission_classes = [permissions.IsAuthenticated, HasScope]

    @extend_schema(request=s.UploadCreateSerializer, responses={201: s.UploadSerializer})
    @idempotent
    def post(self, request):
        ser = s.UploadCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        up = uploads.upload_create(user=request.user, **ser.validated_data)
        return Response(s.UploadSerializer(up).data, status=201)


class UploadDetail(APIView):
    """GET the received offset; PUT raw bytes at ``Upload-Offset``."""

    permission_classes = [permissions.IsAuthenticated, HasScope]

    def _get(self, request, uuid) -> Upload:
        up = Upload.objects.filter(uuid=uuid, user=request.user).first()
        if up is None:
            raise NotFound("no such upload")
        return up

    @extend_schema(responses=s.UploadSerializer)
    def get(self, request, uuid):
        return Response(s.UploadSerializer(self._get(request, uuid)).data)

    @extend_schema(
        request={"application/octet-stream": {"type": "string", "format": "binary"}},
        parameters=[OpenApiParameter("Upload-Offset", int, location=OpenApiParameter.HEADER, required=True)],
        responses=s.UploadSerializer,
    )
    def put(self, request, uuid):
        up = self._get(request, uuid)
        try:
            offset = int(request.headers.get("Upload-Offset", ""))
        except ValueError:
            raise ValidationError({"Upload-Offset": "header Upload-Offset (an integer) is required"}) from None
        raw = request._request  # stream the body: never request.body for chunks
        chunks = iter(lambda: raw.read(1 << 20), b"")
        up = uploads.upload_append(upload=up, offset=offset, chunks=chunks)
        return Response(s.UploadSerializer(up).data)


class UploadComplete(UploadDetail):
    @extend_schema(request=s.UploadCompleteSerializer, responses=s.UploadSerializer)
    def post(self, request, uuid):
        ser = s.UploadCompleteSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        up = uploads.upload_complete(upload=self._get(request, uuid), sha256=ser.validated_data["sha256"])
        return Response(s.UploadSerializer(up).data)
