"""Rendered fragments reused while what they show is unchanged.

The leaderboard table of a big board (200 rows) is a large part of its page's
time: ≈ 60 ms through the Django template it once was, a few ms now that
``web/leaderboard_table.py`` builds it in Python, which is still worth saving on
every view of an unchanged board. Its HTML depends only on the rows and a few
benchmark fields, so it is kept per process, keyed by a hash of exactly those
inputs: a change to any row (a new score, a rank refresh, a hidden entry) is a
new key, never a stale page. Host views (a CSRF token and the page's own URL in
every row) are rendered each time.
"""

from __future__ import annotations

import hashlib
import pickle
import threading
from collections import OrderedDict

from django.utils.safestring import SafeString, mark_safe

from earthbench.web import leaderboard_table as table

MAX_ENTRIES = 64
_cache: OrderedDict[bytes, str] = OrderedDict()
_lock = threading.Lock()


def _key(*parts) -> bytes:
    return hashlib.blake2b(pickle.dumps(parts, protocol=pickle.HIGHEST_PROTOCOL), digest_size=20).digest()


def leaderboard_table(*, bench, rows, split: str, sort: str | None, table_id: str = "leaderboard") -> SafeString:
    """The leaderboard table for a participant or visitor (sortable, no host
    actions), from the cache when the same inputs were rendered before."""
    key = _key(
        "leaderboard_table", bench.pk, bench.metrics, bench.primary_metric,
        bench.accepts_containers, split, sort, table_id, rows,
    )
    with _lock:
        html = _cache.get(key)
        if html is not None:
            _cache.move_to_end(key)
            return mark_safe(html)  # noqa: S308 (rendered by table.render below)
    html = str(table.render(bench=bench, rows=rows, split=split, sort=sort, table_id=table_id, sortable=True))
    with _lock:
        _cache[key] = html
        while len(_cache) > MAX_ENTRIES:
            _cache.popitem(last=False)
    return mark_safe(html)  # noqa: S308


def clear() -> None:
    with _lock:
        _cache.clear()
