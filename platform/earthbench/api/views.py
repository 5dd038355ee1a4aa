"""REST API v1: thin views over services and selectors."""

from __future__ import annotations

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
from earthbench.benchmarks.selectors import (
    CATALOG_FILTER_HELP,
    CatalogFilter,
    catalog_queryset,
    published_benchmark,
)
from earthbench.leaderboards import pages
from earthbench.leaderboards.exports import full_results, to_csv
from earthbench.leaderboards.selectors import is_host
from earthbench.leaderboards.suites import is_suite
from earthbench.submissions import intake, lifecycle, quota, selection, uploads
from earthbench.submissions.models import Score, Submission, Upload
from earthbench.submissions.selectors import (
    own_upload,
    submissions_of,
    visible_submission,
)


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


# A signed-in user (session or token) with the scope the method needs.
SIGNED_IN = [permissions.IsAuthenticated, HasScope]


class BenchmarkList(generics.ListAPIView):
    serializer_class = s.BenchmarkSerializer
    permission_classes = [HasScope]

    def get_queryset(self):
        return catalog_queryset(CatalogFilter.from_query(self.request.query_params))

    @extend_schema(parameters=[OpenApiParameter(k, str, description=d) for k, d in CATALOG_FILTER_HELP.items()])
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
        params = request.query_params
        try:
            split = pages.board_split(benchmark=bench, requested=params.get("split"), user=request.user)
            if is_suite(bench):
                return Response(pages.suite_body(pages.suite_board(benchmark=bench, split=split, user=request.user)))
            fmt = params.get("format", "json")
            if fmt not in ("json", "csv"):
                raise pages.BoardRequestError("format", "format must be json or csv")
            offset, limit = pages.page_bounds(params)
            if fmt == "csv":  # the export: every row
                board = pages.board(benchmark=bench, split=split, sort=params.get("sort"))
                resp = HttpResponse(to_csv(pages.board_records(board)), content_type="text/csv; charset=utf-8")
                resp["Content-Disposition"] = f'attachment; filename="{bench.slug}-{split}.csv"'
                return resp
            board = pages.board(benchmark=bench, split=split, sort=params.get("sort"), offset=offset, limit=limit)
        except pages.BoardRequestError as exc:
            raise ValidationError({exc.field: str(exc)}) from None
        except pages.SplitHidden as exc:
            raise PermissionDenied(str(exc)) from None
        body = pages.board_body(board)
        etag = pages.etag_of(body)
        resp = Response(status=304) if request.headers.get("If-None-Match") == etag else Response(body)
        resp["ETag"] = etag
        resp["Cache-Control"] = "private, must-revalidate"
        return resp


class BenchmarkResults(APIView):
    """Every score of every submission, for the benchmark's hosts."""

    permission_classes = SIGNED_IN

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


def submission_body(sub: Submission, user) -> dict:
    """A submission as the API shows it: its scores on the splits ``user`` may see."""
    return s.SubmissionSerializer(sub, context={"user": user}).data


class SubmissionListCreate(generics.GenericAPIView):
    permission_classes = SIGNED_IN
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = s.SubmissionSerializer
    pagination_class = NewestFirstCursor

    def get_queryset(self):
        qs = submissions_of(user=self.request.user).select_related("benchmark", "team").prefetch_related(
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
        data = [submission_body(sub, request.user) for sub in page]
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
        body = submission_body(sub, request.user)
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class SubmissionDetail(APIView):
    """A submission of one of my teams, or of a benchmark I host (404 otherwise)."""

    permission_classes = SIGNED_IN

    @extend_schema(responses=s.SubmissionSerializer)
    def get(self, request, pk):
        return Response(submission_body(visible_submission(pk=pk, user=request.user), request.user))


class SubmissionCancel(APIView):
    permission_classes = SIGNED_IN

    @extend_schema(request=None, responses=s.SubmissionSerializer)
    def post(self, request, pk):
        sub = lifecycle.submission_cancel(submission=visible_submission(pk=pk, user=request.user), user=request.user)
        return Response(submission_body(sub, request.user))


class MyQuota(APIView):
    permission_classes = SIGNED_IN

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


class SubmissionSelect(APIView):
    """Select (POST) or deselect (DELETE) as one of the team's final submissions."""

    permission_classes = SIGNED_IN

    @extend_schema(request=None, responses=s.SubmissionSerializer)
    def post(self, request, pk):
        return _select(request, pk, selected=True)

    @extend_schema(request=None, responses=s.SubmissionSerializer)
    def delete(self, request, pk):
        return _select(request, pk, selected=False)


def _select(request, pk, *, selected: bool) -> Response:
    sub = visible_submission(pk=pk, user=request.user)
    sub = selection.submission_select(submission=sub, user=request.user, selected=selected)
    return Response(submission_body(sub, request.user))


class SubmissionHide(APIView):
    """Hosts hide (POST, with a reason) or restore (DELETE) an entry."""

    permission_classes = SIGNED_IN

    @extend_schema(request=s.HideSerializer, responses=s.SubmissionSerializer)
    def post(self, request, pk):
        ser = s.HideSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        sub = visible_submission(pk=pk, user=request.user)
        sub = selection.submission_hide(submission=sub, by=request.user, reason=ser.validated_data["reason"])
        return Response(submission_body(sub, request.user))

    @extend_schema(request=None, responses=s.SubmissionSerializer)
    def delete(self, request, pk):
        sub = visible_submission(pk=pk, user=request.user)
        sub = selection.submission_hide(submission=sub, by=request.user, reason="", hidden=False)
        return Response(submission_body(sub, request.user))


class SubmissionLogs(APIView):
    permission_classes = SIGNED_IN

    @extend_schema(responses=s.LogsSerializer)
    def get(self, request, pk):
        sub = visible_submission(pk=pk, user=request.user)
        return Response({"id": sub.pk, "log_tail": sub.log_tail,
                         "events": [{"status": e.status, "note": e.note, "at": e.at} for e in sub.events.all()]})


class TokenListCreate(APIView):
    permission_classes = SIGNED_IN
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
    permission_classes = SIGNED_IN
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

    permission_classes = SIGNED_IN

    @extend_schema(request=s.UploadCreateSerializer, responses={201: s.UploadSerializer})
    @idempotent
    def post(self, request):
        ser = s.UploadCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        up = uploads.upload_create(user=request.user, **ser.validated_data)
        return Response(s.UploadSerializer(up).data, status=201)


def _own_upload(request, uuid) -> Upload:
    up = own_upload(uuid=uuid, user=request.user)
    if up is None:
        raise NotFound("no such upload")
    return up


class UploadDetail(APIView):
    """GET the received offset; PUT raw bytes at ``Upload-Offset``."""

    permission_classes = SIGNED_IN

    @extend_schema(responses=s.UploadSerializer)
    def get(self, request, uuid):
        return Response(s.UploadSerializer(_own_upload(request, uuid)).data)

    @extend_schema(
        request={"application/octet-stream": {"type": "string", "format": "binary"}},
        parameters=[OpenApiParameter("Upload-Offset", int, location=OpenApiParameter.HEADER, required=True)],
        responses=s.UploadSerializer,
    )
    def put(self, request, uuid):
        up = _own_upload(request, uuid)
        try:
            offset = int(request.headers.get("Upload-Offset", ""))
        except ValueError:
            raise ValidationError({"Upload-Offset": "header Upload-Offset (an integer) is required"}) from None
        raw = request._request  # stream the body: never request.body for chunks
        chunks = iter(lambda: raw.read(1 << 20), b"")
        up = uploads.upload_append(upload=up, offset=offset, chunks=chunks)
        return Response(s.UploadSerializer(up).data)


class UploadComplete(APIView):
    """POST the whole file's sha256 once every byte is in."""

    permission_classes = SIGNED_IN

    @extend_schema(request=s.UploadCompleteSerializer, responses=s.UploadSerializer)
    def post(self, request, uuid):
        ser = s.UploadCompleteSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        up = uploads.upload_complete(upload=_own_upload(request, uuid), sha256=ser.validated_data["sha256"])
        return Response(s.UploadSerializer(up).data)
