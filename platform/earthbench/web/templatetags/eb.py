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
