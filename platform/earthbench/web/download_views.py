"""/downloads/: the CLI and scorer wheels of this instance, with pip commands."""

from __future__ import annotations

from django.http import FileResponse, Http404
from django.shortcuts import render
from django.views.decorators.http import require_safe

from earthbench import downloads


def pip_commands(request) -> list[dict]:
    """One ``pip install <this instance>/downloads/<wheel>`` per available tool."""
    return [
        {
            "download": d,
            "url": request.build_absolute_uri(f"/downloads/{d.filename}"),
        }
        for d in downloads.available()
    ]


@require_safe
def downloads_index(request):
    return render(request, "web/downloads.html", {"tools": pip_commands(request)})


@require_safe
def download_file(request, filename):
    path = downloads.wheel_path(filename)
    if path is None:
        raise Http404("no such download")
    return FileResponse(
        open(path, "rb"), as_attachment=True, filename=path.name,
        content_type="application/zip",
    )
