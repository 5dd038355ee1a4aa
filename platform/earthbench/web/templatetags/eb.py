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
    import html

    import markdown
    from django.utils.safestring import mark_safe
    from django.utils.text import Truncator

    source = str(text or "")
    if words:
        source = Truncator(source).words(int(words), truncate=" …")
    rendered = markdown.markdown(html.escape(source, quote=False))
    rendered = rendered.removeprefix("<p>").removesuffix("</p>")
    # Links open as plain links; nothing else beyond Markdown's own inline tags.
    return mark_safe(rendered.replace("<a href=", '<a rel="nofollow noopener" href='))
