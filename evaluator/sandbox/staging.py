"""The ``/input`` a container sees and the checks on the ``/output`` it leaves.

Input: only the hidden test *inputs* are copied (never linked: a hard link would
share the inode with platform storage) plus ``manifest.json``::

    {"format": "earthbench-input/1", "benchmark": "eurosat-classification-v1",
     "task_kind": "classification", "extra": {...},
     "samples": [{"id": "0001", "files": ["0001.npy"], "modality": {...},
                  "prompt": "..."}]}

``prompt`` appears only where the kind has a question/prompt text.

Output: untrusted. Walked with ``lstat`` (never following links); links, FIFOs,
devices, too many files or bytes are refused with a clear message; the files a
benchmark's prediction format needs must be present.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from evaluator.errors import ValidationError

MANIFEST_FORMAT = "earthbench-input/1"
META_MAX_BYTES = 64 * 1024


@dataclass(frozen=True)
class InputSample:
    """One test sample: its id and its files (path inside /input -> source)."""

    id: str
    files: Mapping[str, Path]
    modality: Mapping[str, Any] = field(default_factory=dict)
    prompt: str | None = None


def _safe_relpath(rel: str, sample_id: str) -> PurePosixPath:
    p = PurePosixPath(rel)
    if not rel or p.is_absolute() or ".." in p.parts or p.parts[0] == "manifest.json":
        raise ValueError(f"sample {sample_id!r}: unsafe input path {rel!r}")
    return p


def stage_input(
    dest: Path,
    samples: Sequence[InputSample],
    *,
    benchmark: str,
    task_kind: str,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Fill ``dest`` (created) with the inputs and ``manifest.json``; returns it."""
    dest.mkdir(parents=True, exist_ok=False)
    seen: set[str] = set()
    entries = []
    for s in samples:
        if s.id in seen:
            raise ValueError(f"duplicate sample id {s.id!r}")
        seen.add(s.id)
        rels = []
        for rel, src in s.files.items():
            target = dest / _safe_relpath(rel, s.id)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)  # copy, not link: see module docstring
            rels.append(str(PurePosixPath(rel)))
        entry: dict[str, Any] = {
            "id": s.id,
            "files": rels,
            "modality": dict(s.modality),
        }
        if s.prompt is not None:
            entry["prompt"] = s.prompt
        entries.append(entry)
    manifest = {
        "format": MANIFEST_FORMAT,
        "benchmark": benchmark,
        "task_kind": task_kind,
        "extra": dict(extra or {}),
        "samples": entries,
    }
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=1))
    _world_readable(dest)
    return dest


def _world_readable(root: Path) -> None:
    # The container runs under an unprivileged uid that owns nothing here.
    for dirpath, _dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)
        for fn in filenames:
            os.chmod(os.path.join(dirpath, fn), 0o644)


def make_output_dir(path: Path, uid: int, gid: int) -> Path:
    """An empty folder the container's uid may write (chown when we can)."""
    path.mkdir(parents=True, exist_ok=False)
    try:
        os.chown(path, uid, gid)
        os.chmod(path, 0o755)
    except PermissionError:
        os.chmod(path, 0o777)  # an unprivileged worker cannot chown
    return path


def _walk_output(root: Path, max_files: int, max_bytes: int) -> dict[str, int]:
    """``relative path -> size`` of every regular file, refusing anything else."""
    files: dict[str, int] = {}
    total = 0
    stack = [root]
    while stack:
        folder = stack.pop()
        with os.scandir(folder) as it:
            for entry in it:
                rel = Path(entry.path).relative_to(root).as_posix()
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISLNK(st.st_mode):
                    raise ValidationError(
                        f"output: {rel} is a symbolic link; links are not accepted"
                    )
                if stat.S_ISDIR(st.st_mode):
                    stack.append(Path(entry.path))
                    continue
                if not stat.S_ISREG(st.st_mode):
                    raise ValidationError(
                        f"output: {rel} is not a regular file (FIFO/device/socket)"
                    )
                files[rel] = st.st_size
                total += st.st_size
                if len(files) > max_files:
                    raise ValidationError(
                        f"output: more than {max_files} files; the limit is {max_files}"
                    )
                if total > max_bytes:
                    raise ValidationError(
                        f"output: more than {max_bytes} bytes written; "
                        f"the limit is {max_bytes}"
                    )
    return files


def read_meta(root: Path) -> dict[str, Any] | None:
    """The optional ``meta.json`` (a JSON object, at most 64 KiB)."""
    path = root / "meta.json"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(META_MAX_BYTES + 1)
    if len(data) > META_MAX_BYTES:
        raise ValidationError(f"output: meta.json is over {META_MAX_BYTES} bytes")
    try:
        meta = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(f"output: meta.json is not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise ValidationError("output: meta.json must hold a JSON object")
    return meta


def check_output(
    root: Path,
    *,
    expected: Iterable[str] = (),
    max_files: int = 100_000,
    max_bytes: int = 2 * 1024**3,
) -> dict[str, int]:
    """Validate an untrusted output folder; returns its files and sizes.

    ``expected`` lists files the benchmark's prediction format requires
    (e.g. ``predictions.csv``). The content is validated afterwards by the
    scorer, exactly like an uploaded predictions file.
    """
    files = _walk_output(root, max_files, max_bytes)
    missing = [e for e in expected if e not in files]
    if missing:
        found = ", ".join(sorted(files)[:5]) or "nothing"
        raise ValidationError(
            f"output: missing {', '.join(missing)}; the container wrote {found}"
        )
    if not any(f != "meta.json" for f in files):
        raise ValidationError("output: the container wrote no predictions")
    return files
