"""The storage area: uploads, public inputs and hidden ground truth.

Layout under ``settings.EARTHBENCH_STORAGE_DIR`` (no URL serves any of it)::

    benchmarks/<slug>/public/        inputs participants may download
    benchmarks/<slug>/public.zip     the same, zipped
    benchmarks/<slug>/private/       hidden truth + splits.json
    submissions/<uuid>/<name>        uploaded files, written before the row commits
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import IO

from django.conf import settings


def root() -> Path:
    path = Path(settings.EARTHBENCH_STORAGE_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def benchmark_dir(slug: str) -> Path:
    if not re.fullmatch(r"[a-z0-9-]+", slug):
        raise ValueError(f"bad slug {slug!r}")
    return root() / "benchmarks" / slug


def public_dir(slug: str) -> Path:
    return benchmark_dir(slug) / "public"


def public_zip(slug: str) -> Path:
    return benchmark_dir(slug) / "public.zip"


def private_dir(slug: str) -> Path:
    return benchmark_dir(slug) / "private"


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def write_json_atomic(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def safe_filename(name: str) -> str:
    """A user-supplied file name reduced to a harmless base name."""
    base = os.path.basename(name.replace("\\", "/")).strip() or "upload"
    base = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".") or "upload"
    return base[:200]


def store_stream(chunks, *, rel_dir: str, filename: str, max_bytes: int) -> tuple[str, str, int]:
    """Write an iterable of byte chunks durably; returns (rel_path, sha256, size).

    The file is written to a temporary name, fsynced, then renamed, so a crash
    never leaves a half-written file under the final name.
    """
    dest_dir = root() / rel_dir
    dest_dir.mkdir(parents=True, exist_ok=True)
    name = safe_filename(filename)
    digest = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(dir=dest_dir, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise ValueError(f"file exceeds the upload limit of {max_bytes} bytes")
                digest.update(chunk)
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        final = dest_dir / name
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return f"{rel_dir}/{name}", digest.hexdigest(), size


def store_fileobj(fileobj: IO[bytes], **kw) -> tuple[str, str, int]:
    def chunks():
        while True:
            data = fileobj.read(1 << 20)
            if not data:
                return
            yield data

    if hasattr(fileobj, "chunks"):  # Django UploadedFile streams from its temp file
        return store_stream(fileobj.chunks(1 << 20), **kw)
    return store_stream(chunks(), **kw)


def absolute(rel_path: str) -> Path:
    """Resolve a stored relative path, refusing anything outside the storage root."""
    base = root().resolve()
    path = (base / rel_path).resolve()
    if base not in path.parents:
        raise ValueError(f"path {rel_path!r} is outside the storage area")
    return path


def remove_tree(rel_dir: str) -> None:
    shutil.rmtree(absolute(rel_dir), ignore_errors=True)
