"""REST API v1: teams per benchmark (rules in ``earthbench.accounts.teams``)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import permissions
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from earthbench.accounts import teams
from earthbench.api import serializers as s
from earthbench.api.idempotency import idempotent
from earthbench.api.views import HasScope
from earthbench.benchmarks.models import Benchmark
from earthbench.benchmarks.selectors import published_benchmark


def _bench(slug: str) -> Benchmark:
    return published_benchmark(slug)  # a wrong slug: 404 with the closest slugs


def _body(bench: Benchmark, team) -> dict:
    return {"benchmark": bench.slug, "team": s.TeamSerializer(team).data if team else None}


class BenchmarkTeam(APIView):
    """GET: my team on this benchmark (``team`` is null before my first
    submission there). POST ``{"name"}``: create a team (or name my personal one)."""

    permission_classes = [permissions.IsAuthenticated, HasScope]

    @extend_schema(responses=s.BenchmarkTeamSerializer)
    def get(self, request, slug):
        bench = _bench(slug)
        return Response(_body(bench, teams.team_of(user=request.user, benchmark=bench)))

    @extend_schema(request=s.TeamCreateSerializer, responses={201: s.BenchmarkTeamSerializer})
    @idempotent
    def post(self, request, slug):
        bench = _bench(slug)
        ser = s.TeamCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        team = teams.team_create(user=request.user, benchmark=bench, name=ser.validated_data["name"])
        return Response(_body(bench, team), status=201)


def _by_code(request, slug, action) -> Response:
    """Join or merge into the team with ``{"code"}`` on this benchmark."""
    bench = _bench(slug)
    ser = s.TeamJoinSerializer(data=request.data)
    ser.is_valid(raise_exception=True)
    team = action(user=request.user, benchmark=bench, code=ser.validated_data["code"])
    return Response(_body(bench, team))


class BenchmarkTeamJoin(APIView):
    permission_classes = [permissions.IsAuthenticated, HasScope]

    @extend_schema(request=s.TeamJoinSerializer, responses=s.BenchmarkTeamSerializer)
    def post(self, request, slug):
        return _by_code(request, slug, teams.team_join)


class BenchmarkTeamMerge(APIView):
    """Merge my whole team (I must own it) into the team with the code."""

    permission_classes = [permissions.IsAuthenticated, HasScope]

    @extend_schema(request=s.TeamJoinSerializer, responses=s.BenchmarkTeamSerializer)
    def post(self, request, slug):
        return _by_code(request, slug, teams.team_merge)


class BenchmarkTeamCopy(APIView):
    """Make my team here from my team on ``from_benchmark`` (same name; its
    members who have no team here yet). No submission changes team."""

    permission_classes = [permissions.IsAuthenticated, HasScope]

    @extend_schema(request=s.TeamCopySerializer, responses={201: s.TeamCopiedSerializer})
    @idempotent
    def post(self, request, slug):
        bench = _bench(slug)
        ser = s.TeamCopySerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        other = _bench(ser.validated_data["from_benchmark"])
        source = teams.team_of(user=request.user, benchmark=other)
        if source is None:
            raise NotFound(f"you have no team on {other.slug}")
        team, skipped = teams.team_copy(user=request.user, benchmark=bench, source=source)
        return Response({**_body(bench, team), "skipped": skipped}, status=201)


class BenchmarkTeamLeave(APIView):
    """Leave my team on this benchmark; ``team`` is then null."""

    permission_classes = [permissions.IsAuthenticated, HasScope]

    @extend_schema(request=None, responses=s.BenchmarkTeamSerializer)
    def post(self, request, slug):
        bench = _bench(slug)
        teams.team_leave(user=request.user, benchmark=bench)
        return Response(_body(bench, None))


class MyTeams(APIView):
    """Every team of mine, one per benchmark."""

    permission_classes = [permissions.IsAuthenticated, HasScope]

    @extend_schema(responses=s.TeamSerializer(many=True))
    def get(self, request):
        return Response(s.TeamSerializer(teams.teams_of_user(user=request.user), many=True).data)
