"""REST API v1: thin views over services and selectors."""

from __future__ import annotations

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, permissions, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from earthbench.accounts.services import team_for_user
from earthbench.api import serializers as s
from earthbench.benchmarks.models import Benchmark
from earthbench.leaderboards.selectors import is_host, leaderboard_rows, split_visible
from earthbench.submissions import services
from earthbench.submissions.models import Score, Submission


class HasScope(permissions.BasePermission):
    """Token scopes: ``read`` for GET, ``submit`` for writes. Sessions have all."""

    def has_permission(self, request, view):
        token = request.auth
        scopes = getattr(token, "scopes", None)
        if scopes is None:
            return True
        need = "read" if request.method in permissions.SAFE_METHODS else "submit"
        return need in scopes


class BenchmarkList(generics.ListAPIView):
    serializer_class = s.BenchmarkSerializer
    permission_classes = [HasScope]

    def get_queryset(self):
        qs = Benchmark.objects.filter(is_published=True)
        kind = self.request.query_params.get("kind")
        if kind:
            qs = qs.filter(task_kind=kind)
        return qs


class BenchmarkDetail(generics.RetrieveAPIView):
    serializer_class = s.BenchmarkDetailSerializer
    permission_classes = [HasScope]
    lookup_field = "slug"
    queryset = Benchmark.objects.filter(is_published=True)


class Leaderboard(APIView):
    permission_classes = [HasScope]

    @extend_schema(
        parameters=[OpenApiParameter("split", str, enum=["public", "private"])],
        responses=s.LeaderboardRowSerializer(many=True),
    )
    def get(self, request, slug):
        bench = get_object_or_404(Benchmark, slug=slug, is_published=True)
        split = request.query_params.get("split", "public")
        if split not in ("public", "private"):
            return Response(
                {"error": {"code": "invalid", "message": "split must be public or private", "field": "split"}},
                status=400,
            )
        if not split_visible(benchmark=bench, split=split, user=request.user):
            raise PermissionDenied("the private leaderboard is revealed at the deadline")
        rows = leaderboard_rows(benchmark=bench, split=split)
        data = s.LeaderboardRowSerializer(rows, many=True).data
        return Response({"benchmark": bench.slug, "split": split, "primary_metric": bench.primary_metric,
                         "direction": bench.primary_direction, "results": data})


def visible_splits(sub: Submission, user) -> set[str]:
    return {name for name in ("public", "private") if split_visible(benchmark=sub.benchmark, split=name, user=user)}


class SubmissionListCreate(generics.GenericAPIView):
    permission_classes = [permissions.IsAuthenticated, HasScope]
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = s.SubmissionSerializer

    def get_queryset(self):
        team = team_for_user(user=self.request.user)
        qs = Submission.objects.filter(team=team).select_related("benchmark", "team").prefetch_related(
            Prefetch("scores", queryset=Score.objects.filter(is_current=True))
        )
        bench = self.request.query_params.get("benchmark")
        if bench:
            qs = qs.filter(benchmark__slug=bench)
        return qs

    @extend_schema(operation_id="submissions_list", parameters=[OpenApiParameter("benchmark", str)])
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
        upload = d["file"]
        sub, created = services.submission_create(
            user=request.user,
            benchmark=d["benchmark"],
            file=upload,
            filename=upload.name,
            kind=d["kind"],
            metadata={k: d.get(k, "") for k in services.METADATA_FIELDS},
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
        sub = services.submission_cancel(submission=self._get(request, pk), user=request.user)
        return Response(s.SubmissionSerializer(sub, context={"visible_splits": visible_splits(sub, request.user)}).data)


class MyQuota(APIView):
    permission_classes = [permissions.IsAuthenticated, HasScope]

    @extend_schema(
        parameters=[OpenApiParameter("benchmark", str, required=True)], responses=s.QuotaSerializer
    )
    def get(self, request):
        slug = request.query_params.get("benchmark", "")
        bench = Benchmark.objects.filter(slug=slug, is_published=True).first()
        if bench is None:
            raise NotFound(f"no benchmark {slug!r}")
        q = services.quota_for(team=team_for_user(user=request.user), benchmark=bench)
        return Response(
            s.QuotaSerializer(
                {"benchmark": bench.slug, "limit": q.limit, "used": q.used, "remaining": q.remaining,
                 "in_flight": q.in_flight, "max_in_flight": q.max_in_flight, "resets_at": q.resets_at}
            ).data
        )
