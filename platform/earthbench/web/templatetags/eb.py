import functools

from django import template

register = template.Library()


@register.filter
def dictget(d, key):
    return d.get(key) if isinstance(d, dict) else None


@register.filter
def metric(value, spec):
    """Display a stored fraction; rounding is display-only."""
    if not isinstance(value, int | float):
        return value
    if isinstance(spec, dict) and spec.get("format") == "percent":
        return f"{100 * value:.2f}%"
    return f"{value:.4f}"


@register.filter
def inline_markdown(text, words: int = 0):
    """A catalog summary's Markdown (code, emphasis, links) as HTML. The text is
    HTML-escaped first, so a summary can format but not inject markup."""
    from django.utils.safestring import mark_safe

    return mark_safe(_inline_markdown(str(text or ""), int(words or 0)))


@functools.lru_cache(maxsize=2048)
def _inline_markdown(source: str, words: int) -> str:
    """Pure function of the text: the catalog page renders ~80 summaries, and a
    Markdown conversion (a new parser each) costs ≈ 0.3 ms; kept per process."""
    import html

    import markdown
    from django.utils.text import Truncator

    if words:
        source = Truncator(source).words(words, truncate=" …")
    rendered = markdown.markdown(html.escape(source, quote=False))
    rendered = rendered.removeprefix("<p>").removesuffix("</p>")
    # Links open as plain links; nothing else beyond Markdown's own inline tags.
    return rendered.replace("<a href=", '<a rel="nofollow noopener" href=')


@register.filter
def truncchars(value, length):
    """``truncatechars``, kept per process: the catalog page truncates ~140 paper
    titles (a Unicode-normalising truncation, ≈ 0.1 ms each)."""
    return _truncchars(str(value), int(length))


@functools.lru_cache(maxsize=4096)
def _truncchars(value: str, length: int) -> str:
    from django.template.defaultfilters import truncatechars

    return truncatechars(value, length)


@register.simple_tag(takes_context=True)
def leaderboard_table(context, *, bench, rows, split, sort=None, table_id=None, sortable=False,
                      host_actions=False, primary_only=False, caption=None):
    """The leaderboard table (``web/leaderboard_table.py``), with the page's
    request and CSRF token for the hosts' hide forms."""
    from earthbench.web import leaderboard_table as table

    return table.render(
        bench=bench, rows=rows, split=split, sort=sort, table_id=table_id, sortable=sortable,
        host_actions=host_actions, primary_only=primary_only, caption=caption,
        request=context.get("request"), csrf_token=context.get("csrf_token"),
    )
