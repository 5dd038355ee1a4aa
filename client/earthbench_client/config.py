"""Settings from the environment; a CI job configures the CLI with env vars only."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from earthbench_client.errors import UsageError

DEFAULT_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Config:
    url: str
    token: str | None
    retries: int


def _int_env(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(f"{name} must be an integer, got {raw!r}") from None
    if value < 0:
        raise UsageError(f"{name} must be >= 0, got {value}")
    return value


def load_config(
    env: Mapping[str, str] | None = None, *, url: str | None = None
) -> Config:
    """``EARTHBENCH_URL``, ``EARTHBENCH_TOKEN``, ``EARTHBENCH_RETRIES``."""
    env = os.environ if env is None else env
    base = (url or env.get("EARTHBENCH_URL") or DEFAULT_URL).strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise UsageError(
            f"EARTHBENCH_URL must start with http:// or https://, got {base!r}"
        )
    token = (env.get("EARTHBENCH_TOKEN") or "").strip() or None
    return Config(url=base, token=token, retries=_int_env(env, "EARTHBENCH_RETRIES", 5))
