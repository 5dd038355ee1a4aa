"""The getting-started page and the repository's docs/ rendered as pages."""

from __future__ import annotations

import re
from pathlib import Path

import markdown
from django.conf import settings
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.views.decorators.http import require_safe

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_EXAMPLE = re.compile(r"^[a-z0-9][a-z0-9-]*\.(ya?ml|sh|txt)$")


def _docs_dir() -> Path:
    return Path(settings.REPO_DIR) / "docs"


def _links_to_site(html: str) -> str:
    """Point relative links of docs/*.md at their pages on this site."""
    html = re.sub(r'href="examples/([^"/]+)"', r'href="/docs/examples/\1"', html)
    return re.sub(r'href="([a-z0-9-]+)\.md(#[^"]*)?"', r'href="/docs/\1/\2"', html)


def _render(name: str) -> tuple[str, str]:
    path = _docs_dir() / f"{name}.md"
    if not _NAME.match(name) or not path.is_file():
        raise Http404("no such page")
    text = path.read_text(encoding="utf-8")
    match = re.match(r"\A#\s+(.+)\n", text)
    title = match.group(1).strip() if match else name
    body = text[match.end() :] if match else text
    html = markdown.markdown(body, extensions=["fenced_code", "tables", "toc"])
    return title, _links_to_site(html)


@require_safe
def getting_started(request):
    try:
        _, ci_html = _render("ci")
    except Http404:
        ci_html = ""
    from earthbench.web.download_views import pip_commands

    return render(
        request,
        "web/getting_started.html",
        {"ci_html": ci_html, "tools": pip_commands(request)},
    )


@require_safe
def doc_page(request, name):
    title, html = _render(name)
    return render(request, "web/doc_page.html", {"title": title, "html": html})


@require_safe
def doc_example(request, name):
    path = _docs_dir() / "examples" / name
    if not _EXAMPLE.match(name) or not path.is_file():
        raise Http404("no such example")
    return FileResponse(open(path, "rb"), content_type="text/plain; charset=utf-8")
