"""What differs between a request and the one that first used its Idempotency-Key."""

from __future__ import annotations


def describe_conflict(existing, *, benchmark, kind, sha256, metadata, fields) -> tuple[str, str | None]:
    """The 409's message, naming each differing field with both values, and the
    first differing field."""
    first = {
        "benchmark": existing.benchmark.slug,
        "kind": existing.kind,
        "file": existing.file_sha256,
        **{f: getattr(existing, f) or "" for f in fields},
    }
    now = {
        "benchmark": benchmark.slug,
        "kind": kind,
        "file": sha256,
        **{f: metadata.get(f, "") for f in fields},
    }
    differ = [k for k in first if first[k] != now[k]]

    def show(k: str, v: str) -> str:
        return f"sha256 {v[:12]}…" if k == "file" else repr(v[:60])

    detail = "; ".join(f"{k}: {show(k, now[k])} here, {show(k, first[k])} then" for k in differ)
    message = (
        f"Idempotency-Key was already used for a different request (submission "
        f"#{existing.pk}): {detail or 'the request differs'}. Use a new key for a new "
        "submission, or repeat the first request exactly to get it back"
    )
    return message, differ[0] if differ else None
