"""The leaderboard table's HTML, built in Python.

The table of a big board is 200 rows of ≈ 45 template variables each; through the
Django template engine it cost ≈ 50–60 ms a render, most of a leaderboard page's
time whenever the board had changed. This module prints the same HTML by string
building, byte for byte (``tests/web/test_leaderboard_table.py`` compares it with
a frozen copy of the template it replaced, ``tests/web/leaderboard_table_oracle.html``),
and is the only way the table is rendered: the leaderboard page (through the
``web.fragments`` cache for visitors) and the host dashboard (through the
``{% leaderboard_table %}`` tag of ``templatetags/eb.py``).

What a template would print is printed by the functions the template used:
``{{ value }}`` goes through Django's ``render_value_in_context`` (local time,
localisation, autoescaping), the cells through the ``metric``/``dictget`` filters
of ``templatetags/eb.py`` and Django's ``floatformat`` and ``date``. The fast paths
below (a plain ``str`` escaped, an ``int`` printed, a number formatted by
``metric``) skip only steps that leave such values unchanged.
"""

from __future__ import annotations

from django.conf import settings
from django.template import Context, Variable, VariableDoesNotExist
from django.template.base import render_value_in_context
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils.html import conditional_escape, escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime

from earthbench.web.templatetags.eb import dictget, metric

CAPTION = (
    "Best entry per team; ties go to the earlier submission; # (a–b): rank and its 95% bootstrap "
    "interval; P(1st): share of resamples ranked first; ≈ marks entries whose paired difference to "
    "the leader is not significant."
)
DASH = "—"
_CONTEXT = Context(autoescape=True)  # use_tz and use_l10n None: the settings decide, as in a page
_CI = (Variable("ci.0"), Variable("ci.1"))
_MARK = 987654321  # a submission id, to cut the hide form's URL into a prefix and a suffix
_RANK_CI = ' <small class="muted rank-ci" title="95% bootstrap interval of the rank">('
_TIE = ' <span class="tie" title="paired difference to the leader not significant">≈</span>'


def render(
    *,
    bench,
    rows,
    split: str,
    sort: str | None = None,
    table_id: str | None = None,
    sortable: bool = False,
    host_actions: bool = False,
    primary_only: bool = False,
    caption: str | None = None,
    request=None,
    csrf_token=None,
) -> SafeString:
    """The table (``div.table-wrap``) of ``rows`` (``leaderboard_rows``' rows).

    ``sortable``: metric headers link to ``?split=…&sort=…`` and the sorted column
    (``sort``, else the primary metric) carries ``aria-sort``. ``host_actions``: a
    last column with a hide form per entry (baselines excepted), posting
    ``csrf_token`` and ``request``'s full path as ``next``. ``primary_only``: the
    primary metric's column only. ``caption``: instead of the default caption.
    """
    ints = _int_text()
    sp = _text(split)
    tid = _text(table_id) if table_id is not None else ""
    metrics = [
        m for m in bench.metrics if not primary_only or m["key"] == bench.primary_metric
    ]
    out = [
        '<div class="table-wrap"><table class="grid leaderboard" ',
        f'id="{tid}"' if table_id else "",
        '>\n<caption class="muted">',
        _text(caption) if caption else CAPTION,
        '</caption>\n<thead><tr><th scope="col">#</th><th scope="col" class="num" title="share of bootstrap '
        'resamples on which the entry ranks first">P(1st)</th><th scope="col">Team</th><th scope="col">'
        "Method</th>\n",
    ]
    out += [_header(m, bench=bench, split=sp, sort=sort, sortable=sortable) for m in metrics]
    out.append("\n")
    if bench.accepts_containers:
        out.append('<th scope="col" class="num">Latency ms ↓</th><th scope="col" class="num">Peak MB ↓</th>')
    out.append('\n<th scope="col" class="num">Entries</th><th scope="col">Submitted</th>')
    if host_actions:
        out.append('<th scope="col">Host</th>')
    out.append("</tr></thead>\n<tbody>\n")
    if rows:
        row_start = f'\n<tr id="entry-{sp}-'
        form = _HideForm(table_id=tid, request=request, csrf_token=csrf_token) if host_actions else None
        containers = bench.accepts_containers
        for r in rows:
            sid = ints(r.submission_id)
            out += [row_start, sid, '" class="', "baseline" if r.is_baseline else "", '"><td class="nowrap">']
            if r.rank:
                out.append(ints(r.rank))
                if r.rank_low:
                    out += [_RANK_CI, ints(r.rank_low)]
                    if r.rank_low != r.rank_high:
                        out += ["–", ints(r.rank_high)]
                    out.append(")</small>")
                if r.tied_with_leader:
                    out.append(_TIE)
            else:
                out.append(DASH)
            out.append('</td>\n<td class="num p-first">')
            out.append(DASH if r.p_first is None else _share(r.p_first))
            out += ["</td>\n<td>", _text(r.team)]
            if r.is_baseline:
                out.append(' <span class="tag">baseline</span>')
            out += ["</td><td>", _text(r.method_name) if r.method_name else DASH, "</td>\n"]
            for m in metrics:
                out.append(_metric_cell(r, m))
            out.append("\n")
            if containers:
                out += ['<td class="num">', _efficiency(r.efficiency, "latency_ms_per_sample"),
                        '</td><td class="num">', _efficiency(r.efficiency, "peak_memory_mb"), "</td>"]
            iso, shown = _dates(template_localtime(r.created_at))
            out += ['\n<td class="num">', ints(r.entries), '</td><td class="nowrap"><time datetime="',
                    iso, '">', shown, "</time></td>\n"]
            if form is not None:
                out += ["<td>", "" if r.is_baseline else form.html(r.submission_id, sid), "</td>"]
            out.append("\n</tr>\n")
    else:
        out.append(f'<tr><td colspan="{_colspan(bench.metrics)}">No scored submissions yet.</td></tr>')
    out.append("\n</tbody></table></div>\n")
    return mark_safe("".join(out))  # noqa: S308 (every value above is escaped)


def _text(value) -> str:
    """What ``{{ value }}`` prints in an autoescaping template."""
    if type(value) is str:
        return escape(value)
    return render_value_in_context(value, _CONTEXT)


def _int_text():
    """``_text`` for ints: ``str(value)`` unless numbers are printed with thousand
    separators (``localize`` leaves an int alone otherwise)."""
    if settings.USE_THOUSAND_SEPARATOR:
        return _text

    def text(value) -> str:
        return str(value) if type(value) is int else _text(value)

    return text


def _dates(when) -> tuple[str, str]:
    """``{{ when|date:'c' }}`` and ``{{ when|date:"Y-m-d H:i" }}``."""
    return _text(date_filter(when, "c")), _text(date_filter(when, "Y-m-d H:i"))


def _share(p) -> str:
    """``{{ p|floatformat:2 }}``."""
    return _text(floatformat(p, 2))


def _header(m: dict, *, bench, split: str, sort, sortable: bool) -> str:
    key = m["key"]
    label = _text(m.get("label") or key)
    arrow = "↑" if m.get("direction") == "max" else "↓"
    if not sortable:
        return f'<th scope="col" class="num">{label} {arrow}</th>'
    sorted_ = sort == key or (not sort and key == bench.primary_metric)
    if sorted_:
        order = "descending" if m.get("direction") == "max" else "ascending"
        aria, css = f' aria-sort="{order}"', 'class="sorted"'
    else:
        aria = css = ""
    return (
        f'<th scope="col" class="num"{aria}><a href="?split={split}&amp;sort={_text(key)}" '
        f'{css} title="sort by {label}">{label} {arrow}</a></th>'
    )


def _metric_cell(r, m: dict) -> str:
    """``<td>`` of one metric: the value, and its interval when there is one."""
    key = m["key"]
    v = dictget(r.metrics, key)
    if v is None:
        return '<td class="num">—</td>'
    ci = dictget(r.ci, key)
    if not ci:
        return f'<td class="num">{_number(v, m)}</td>'
    return (
        f'<td class="num">{_number(v, m)}<br><small class="muted ci">'
        f"[{_number(_ci_part(ci, 0), m)}, {_number(_ci_part(ci, 1), m)}]</small></td>"
    )


def _number(v, m: dict) -> str:
    """``{{ v|metric:m }}``; a number's formatting (digits, ``.``, ``-``, ``%``,
    ``nan``, ``inf``) needs no escaping."""
    if type(v) is float or type(v) is int:
        return metric(v, m)
    return _text(metric(v, m))


def _ci_part(ci, i: int):
    """``{{ ci.0 }}``/``{{ ci.1 }}``: an index of the stored ``[low, high]``; other
    shapes through Django's own lookup ("" where it finds nothing)."""
    if type(ci) is list or type(ci) is tuple:
        return ci[i] if i < len(ci) else ""
    try:
        return _CI[i].resolve({"ci": ci})
    except VariableDoesNotExist:
        return ""


def _efficiency(efficiency, key: str) -> str:
    """``{{ r.efficiency|dictget:key|default_if_none:"—" }}``."""
    v = dictget(efficiency, key)
    return DASH if v is None else _text(v)


def _colspan(metrics) -> str:
    """``{{ bench.metrics|length|add:8 }}``."""
    try:
        return str(len(metrics) + 8)
    except (TypeError, ValueError):
        return "8"


class _HideForm:
    """A host's per-row form that hides the entry; the parts common to every row
    (URL pattern, CSRF input, ``next``) are made once per table."""

    def __init__(self, *, table_id: str, request, csrf_token) -> None:
        url = reverse("submission-hide", args=[_MARK])
        self.url_head, _, self.url_tail = url.rpartition(str(_MARK))
        if csrf_token:
            csrf = "" if csrf_token == "NOTPROVIDED" else format_html(
                '<input type="hidden" name="csrfmiddlewaretoken" value="{}">', csrf_token
            )
        else:  # as {% csrf_token %} without a token in the context
            csrf = ""
        full_path = getattr(request, "get_full_path", None)
        next_url = _text(full_path()) if full_path is not None else ""
        self.head = f'" class="inline hide-form">{csrf}<input type="hidden" name="next" value="{next_url}">' \
            '<input type="hidden" name="hidden" value="1"><label class="sr-only" for="reason-' + table_id + "-"
        self.reason_id = "reason-" + table_id + "-"

    def html(self, submission_id, sid: str) -> str:
        if type(submission_id) is int and submission_id >= 0:
            url = conditional_escape(self.url_head + str(submission_id) + self.url_tail)
        else:
            url = conditional_escape(reverse("submission-hide", args=[submission_id]))
        return (
            f'<form method="post" action="{url}{self.head}{sid}">Reason for hiding #{sid}</label>'
            f'<input id="{self.reason_id}{sid}" name="reason" placeholder="reason" required>'
            '<button type="submit" class="small">Hide</button></form>'
        )
