"""Idempotency keys: a retried CI job must not submit twice.

The server returns the original submission when a key is reused with the same
request, and 409 when the key comes back with a different one.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from pathlib import Path

# The commit variables of the CI systems we document, in order of preference.
CI_SHA_VARIABLES = ("GITHUB_SHA", "CI_COMMIT_SHA")


def ci_commit(env: Mapping[str, str]) -> str | None:
    """The commit the CI job runs for, or None outside CI."""
    for name in CI_SHA_VARIABLES:
        value = (env.get(name) or "").strip()
        if value:
            return value
    return None


def file_sha256(path: Path, *, chunk_size: int = 1 << 20) -> str:
    """Hash a file in chunks (multi-GB container tarballs stay out of memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def derive_key(*, commit: str, benchmark: str, sha256: str, kind: str) -> str:
    """Same commit + same file + same benchmark (+ kind) → same key, every run."""
    payload = f"earthbench/v1\n{commit}\n{benchmark}\n{kind}\n{sha256}"
    return "ci-" + hashlib.sha256(payload.encode()).hexdigest()


def default_key(
    *, env: Mapping[str, str], benchmark: str, sha256: str, kind: str
) -> str | None:
    """The derived key when running in CI, else None (no cross-run dedup)."""
    commit = ci_commit(env)
    if commit is None:
        return None
    return derive_key(commit=commit, benchmark=benchmark, sha256=sha256, kind=kind)


def invocation_key() -> str:
    """A one-off key so this process's own retries of the POST stay safe.

    Without any key, a POST retried after a 502 that the server had in fact
    processed would create a second submission.
    """
    return f"cli-{uuid.uuid4().hex}"
