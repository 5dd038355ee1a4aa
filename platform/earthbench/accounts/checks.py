"""Deploy check: lockout and throttle counters must be shared across processes."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def shared_counter_cache(app_configs, **kwargs):
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend.endswith(("LocMemCache", "DummyCache")):
        return [
            Warning(
                "the default cache is per process: each gunicorn worker keeps its own "
                "log-in/token lockout and rate-limit counters, multiplying an attacker's tries",
                hint="set CACHE_URL to a shared Redis (the compose file does)",
                id="earthbench.W001",
            )
        ]
    return []
