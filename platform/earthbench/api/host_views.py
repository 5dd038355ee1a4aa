"""REST API v1 for hosts: create or update a benchmark from a bundle, publish,
edit fields, re-score the previous version. Thin views over
``earthbench.benchmarks.host_services`` (rules) and ``hosting`` (who may)."""

from __future__ import annotations

import contextlib

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from earthbench.api.views import HasScope
from earthbench.benchmarks import host_services as hs
from earthbench.benchmarks.bundles import BundleError
from earthbench.benchmarks.hosting import HostingDenied, can_manage, hosted_benchmarks
from earthbench.benchmarks.layout import dataset_meta
from earthbench.benchmarks.models import Benchmark


def _error(status: int, code: str, message: str, field=None) -> Response:
    return Response({"error": {"code": code, "message": message, "field": field}}, status=status)


def _refusals(fn):
    """Map the host services' refusals onto the API's one error body."""

    def wrapper(self, request, *args, **kwargs):
        try:
            return fn(self, request, *args, **kwargs)
        except HostingDenied as exc:
            return _error(403, "permission_denied", str(exc))
        except hs.EditError as exc:
            return _error(400, "invalid", str(exc), exc.field)
        except BundleError as exc:
            return _error(400, "invalid_bundle", str(exc), "bundle")

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


@contextlib.contextmanager
def bundle_file(request):
    """The uploaded bundle as a path: a multipart ``bundle`` file or ``upload``, a
    completed chunked upload of the same user (consumed on success)."""
    upload_id = request.data.get("upload")
    if upload_id:
        with hs.completed_upload_path(user=request.user, upload_id=upload_id) as found:
            yield found
        return
    f = request.FILES.get("bundle")
    if f is None:
        raise BundleError("send the bundle ZIP as multipart field 'bundle' or a chunked 'upload'")
    with hs.uploaded_path(f) as path:
        yield path, f.name


def benchmark_body(bench: Benchmark) -> dict:
    meta = dataset_meta(bench) or {}
    body = {
        "slug": bench.slug,
        "version": bench.version,
        "title": bench.title,
        "summary": bench.summary,
        "card": bench.card,
        "task_kind": bench.task_kind,
        "is_published": bench.is_published,
        "previous_version": bench.previous_version.slug if bench.previous_version else None,
        "splits": {s.name: s.n_samples for s in bench.splits.all()},
        "report": meta.get("bundle_report"),
        "url": bench.get_absolute_url(),
    }
    for name in hs.editable_fields():
        value = getattr(bench, name)
        body[name] = value.isoformat() if hasattr(value, "isoformat") else value
    return body


def _managed(request, slug) -> Benchmark:
    bench = Benchmark.objects.filter(slug=slug).select_related("previous_version").first()
    # An unpublished benchmark is known only to its hosts: to anyone else it does
    # not exist (a 403 would confirm the slug of another host's draft).
    if bench is None or not (bench.is_published or can_manage(user=request.user, benchmark=bench)):
        raise NotFound(f"no benchmark {slug!r}")
    return bench


_BUNDLE_REQUEST = {
    "multipart/form-data": {
        "type": "object",
        "properties": {
            "bundle": {"type": "string", "format": "binary"},
            "upload": {"type": "string", "format": "uuid"},
        },
    }
}
_BODY = inline_serializer("HostBenchmark", {"slug": serializers.CharField()})


class HostBenchmarkList(APIView):
    permission_classes = [permissions.IsAuthenticated, HasScope]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(operation_id="host_benchmarks_list", responses=inline_serializer(
        "HostBenchmarkList", {"slug": serializers.CharField()}, many=True))
    def get(self, request):
        return Response([benchmark_body(b) for b in hosted_benchmarks(user=request.user)])

    @extend_schema(operation_id="host_benchmarks_create", request=_BUNDLE_REQUEST,
                   responses={201: _BODY, 400: OpenApiResponse(description="invalid bundle")})
    @_refusals
    def post(self, request):
        """Create a benchmark (unpublished) from a bundle; the body has the
        validation report (split counts, baseline and sample scores)."""
        from earthbench.benchmarks.hosting import require_host

        require_host(user=request.user)
        with bundle_file(request) as (path, name):
            bench, report = hs.bundle_create(user=request.user, path=path, display=name)
        return Response({**benchmark_body(bench), "report": report}, status=201)


class HostBenchmarkDetail(APIView):
    permission_classes = [permissions.IsAuthenticated, HasScope]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(operation_id="host_benchmark_get", responses=_BODY)
    @_refusals
    def get(self, request, slug):
        bench = _managed(request, slug)
        from earthbench.benchmarks.hosting import change_log, require_manage

        require_manage(user=request.user, benchmark=bench)
        changes = [
            {"at": c.created_at.isoformat(), "user": c.user.username if c.user else None,
             "action": c.action, "field": c.field, "old": c.old, "new": c.new, "note": c.note}
            for c in change_log(benchmark=bench)
        ]
        return Response({**benchmark_body(bench), "changes": changes})

    @extend_schema(operation_id="host_benchmark_edit",
                   request={"application/json": {"type": "object"}}, responses=_BODY)
    @_refusals
    def patch(self, request, slug):
        """Edit title, summary, card, deadlines, quotas, final selection, limits."""
        bench = _managed(request, slug)
        data = request.data if isinstance(request.data, dict) else {}
        changed = hs.benchmark_edit(user=request.user, benchmark=bench,
                                    changes={k: v for k, v in data.items()})
        return Response({**benchmark_body(bench), "changed": changed})


class HostBenchmarkBundle(APIView):
    permission_classes = [permissions.IsAuthenticated, HasScope]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(operation_id="host_benchmark_update", request=_BUNDLE_REQUEST,
                   responses={200: _BODY, 201: _BODY})
    @_refusals
    def post(self, request, slug):
        """Same truth, splits and metrics: updated in place (200). Otherwise a new
        unpublished version ``-vN+1`` (201); the old one keeps its numbers."""
        bench = _managed(request, slug)
        from earthbench.benchmarks.hosting import require_manage

        require_manage(user=request.user, benchmark=bench)
        with bundle_file(request) as (path, name):
            new, report = hs.bundle_update(user=request.user, slug=slug, path=path, display=name)
        code = 201 if report["action"] == "new_version" else 200
        return Response({**benchmark_body(new), "report": report}, status=code)


def _set_published(request, slug, published: bool) -> Response:
    bench = hs.benchmark_set_published(user=request.user, benchmark=_managed(request, slug), published=published)
    return Response(benchmark_body(bench))


class HostBenchmarkPublish(APIView):
    permission_classes = [permissions.IsAuthenticated, HasScope]

    @extend_schema(request=None, responses=_BODY)
    @_refusals
    def post(self, request, slug):
        return _set_published(request, slug, True)


class HostBenchmarkUnpublish(APIView):
    permission_classes = [permissions.IsAuthenticated, HasScope]

    @extend_schema(request=None, responses=_BODY)
    @_refusals
    def post(self, request, slug):
        return _set_published(request, slug, False)


class HostBenchmarkRescorePrevious(APIView):
    permission_classes = [permissions.IsAuthenticated, HasScope]

    @extend_schema(request=None, responses=inline_serializer(
        "RescoreQueued", {"queued": serializers.IntegerField()}))
    @_refusals
    def post(self, request, slug):
        """Queue the previous version's scored submissions on this version."""
        n = hs.rescore_into_new_version(user=request.user, new=_managed(request, slug))
        return Response({"queued": n})
