"""The data tab's file list: what the public ZIP holds, with sizes."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from earthbench import storage


@dataclass
class Folder:
    name: str  # "" for files at the top level
    n_files: int = 0
    bytes: int = 0
    files: list[tuple[str, int]] = field(default_factory=list)  # the first few


@dataclass
class Listing:
    folders: list[Folder]
    n_files: int
    bytes: int
    zip_bytes: int | None


def public_files(slug: str, *, per_folder: int = 8) -> Listing | None:
    """Files of the public data, grouped by top-level folder (the first
    ``per_folder`` of each listed by name), with counts and sizes.

    Walking a large dataset on every page view is slow: the listing is kept per
    process until the dataset is installed again (a new ``public.zip``)."""
    root = storage.public_dir(slug)
    if not root.is_dir():
        return None
    zip_path = Path(storage.public_zip(slug))
    stamp = zip_path.stat().st_mtime_ns if zip_path.is_file() else None
    return _listing(slug, stamp, per_folder)


@functools.lru_cache(maxsize=256)
def _listing(slug: str, stamp: int | None, per_folder: int) -> Listing:
    root = storage.public_dir(slug)
    folders: dict[str, Folder] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root)
        top = rel.parts[0] if len(rel.parts) > 1 else ""
        folder = folders.setdefault(top, Folder(top))
        size = path.stat().st_size
        folder.n_files += 1
        folder.bytes += size
        if len(folder.files) < per_folder:
            folder.files.append((rel.as_posix(), size))
    zip_path = storage.public_zip(slug)
    ordered = sorted(folders.values(), key=lambda f: (f.name != "", f.name))
    return Listing(
        folders=ordered,
        n_files=sum(f.n_files for f in ordered),
        bytes=sum(f.bytes for f in ordered),
        zip_bytes=zip_path.stat().st_size if Path(zip_path).is_file() else None,
    )
