"""Uniform, safe access to a submission: a file, a directory, or a ZIP of one.

Every kind reads its inputs through a :class:`Source`, so path traversal,
symlinks and ZIP bombs are refused in one place with a clear message.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from evaluator.errors import ValidationError

# Caps for archives; generous for real submissions, fatal for bombs.
MAX_ZIP_ENTRIES = int(os.environ.get("EARTHBENCH_MAX_ZIP_ENTRIES", 200_000))
MAX_ZIP_TOTAL_BYTES = int(os.environ.get("EARTHBENCH_MAX_ZIP_BYTES", 16 * 1024**3))
MAX_ZIP_RATIO = 200  # uncompressed/compressed for one entry
_RATIO_MIN_SIZE = 1 << 20  # tiny entries (e.g. all-zero masks) may compress well


class Source:
    """A read-only collection of named files (relative POSIX paths)."""

    label: str  # how errors name it ("predictions", "truth")
    display: str  # file name shown in messages

    def files(self) -> list[str]:
        raise NotImplementedError

    def open(self, name: str) -> IO[bytes]:
        raise NotImplementedError

    def read_bytes(self, name: str) -> bytes:
        with self.open(name) as fh:
            return fh.read()

    def path(self) -> Path | None:
        """The on-disk path when the source is a plain file, else None."""
        return None

    def where(self, name: str) -> str:
        """How an error message names one member."""
        return name if self.display == name else f"{self.display}:{name}"

    def single(self, suffixes: tuple[str, ...]) -> str:
        """The one member with one of ``suffixes`` (for single-file formats)."""
        found = [f for f in self.files() if f.lower().endswith(suffixes)]
        if len(found) == 1:
            return found[0]
        want = "/".join(suffixes)
        if not found:
            raise ValidationError(f"{self.display}: expected a {want} file, found none")
        raise ValidationError(
            f"{self.display}: expected exactly one {want} file, found {len(found)} "
            f"({', '.join(sorted(found)[:5])})"
        )

    def by_stem(self, suffixes: tuple[str, ...]) -> dict[str, str]:
        """Map ``id -> member`` for members named ``<id><suffix>`` (any folder)."""
        out: dict[str, str] = {}
        for f in self.files():
            low = f.lower()
            for suf in suffixes:
                if low.endswith(suf):
                    stem = PurePosixPath(f).name[: -len(suf)]
                    if stem in out:
                        raise ValidationError(
                            f"{self.display}: two files for id {stem!r} "
                            f"({out[stem]}, {f})"
                        )
                    out[stem] = f
                    break
        return out


class FileSource(Source):
    def __init__(self, path: Path, label: str):
        self._path = path
        self.label = label
        self.display = path.name

    def files(self) -> list[str]:
        return [self._path.name]

    def open(self, name: str) -> IO[bytes]:
        if name != self._path.name:
            raise ValidationError(f"{self.display}: no member {name!r}")
        return open(self._path, "rb")

    def path(self) -> Path | None:
        return self._path


class DirSource(Source):
    def __init__(self, root: Path, label: str):
        self._root = root.resolve()
        self.label = label
        self.display = root.name
        self._files: list[str] | None = None

    def files(self) -> list[str]:
        if self._files is None:
            out = []
            for dirpath, dirnames, filenames in os.walk(self._root):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for fn in sorted(filenames):
                    full = Path(dirpath) / fn
                    if full.is_symlink():
                        raise ValidationError(
                            f"{self.display}: {full.relative_to(self._root)} is a "
                            "symbolic link; links are not accepted"
                        )
                    if not fn.startswith("."):
                        out.append(full.relative_to(self._root).as_posix())
            self._files = out
        return self._files

    def open(self, name: str) -> IO[bytes]:
        full = (self._root / name).resolve()
        if self._root not in full.parents:
            raise ValidationError(f"{self.display}: path {name!r} escapes the folder")
        return open(full, "rb")


class ZipSource(Source):
    """A ZIP archive, validated up front: no traversal, no links, no bombs."""

    def __init__(self, path: Path, label: str):
        self.label = label
        self.display = path.name
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ValidationError(
                f"{path.name}: not a valid ZIP archive ({exc})"
            ) from None
        self._members = check_zip_members(self._zip.infolist(), path.name)

    def files(self) -> list[str]:
        return sorted(self._members)

    def open(self, name: str) -> IO[bytes]:
        try:
            info = self._members[name]
        except KeyError:
            raise ValidationError(f"{self.display}: no member {name!r}") from None
        try:
            raw = self._zip.open(info)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as exc:
            # mismatched local header, unsupported compression, encrypted entry
            raise ValidationError(
                f"{self.where(name)}: unreadable ZIP entry ({exc})"
            ) from None
        # Read through a size-capped wrapper: the header's file_size can lie.
        return _CappedReader(raw, info.file_size, self.where(name))


def check_zip_members(
    infos: list[zipfile.ZipInfo], display: str
) -> dict[str, zipfile.ZipInfo]:
    """The ZIP guards, on the central directory only (nothing is inflated):
    entry count, total uncompressed size, per-entry ratio, unsafe paths, links.
    Returns ``{posix name: info}`` of the regular members (dot files and
    ``__MACOSX`` skipped). Also used for ``.npz`` files, which are ZIPs."""
    if len(infos) > MAX_ZIP_ENTRIES:
        raise ValidationError(
            f"{display}: {len(infos)} entries exceed the limit of {MAX_ZIP_ENTRIES}"
        )
    total = 0
    members: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = info.filename
        pure = PurePosixPath(name.replace("\\", "/"))
        if (
            pure.is_absolute()
            or ".." in pure.parts
            or ":" in (pure.parts or ("",))[0]
        ):
            raise ValidationError(
                f"{display}: entry {name!r} has an unsafe path (absolute or '..')"
            )
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise ValidationError(
                f"{display}: entry {name!r} is a symbolic link; links are not accepted"
            )
        if info.is_dir():
            continue
        total += info.file_size
        if total > MAX_ZIP_TOTAL_BYTES:
            raise ValidationError(
                f"{display}: uncompressed size exceeds the limit of "
                f"{MAX_ZIP_TOTAL_BYTES} bytes (possible ZIP bomb)"
            )
        if (
            info.file_size > _RATIO_MIN_SIZE
            and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1)
        ):
            raise ValidationError(
                f"{display}: entry {name!r} compresses {info.file_size} bytes "
                f"into {info.compress_size} (ratio over {MAX_ZIP_RATIO}; "
                "possible ZIP bomb)"
            )
        base = pure.name
        if base.startswith(".") or "__MACOSX" in pure.parts:
            continue
        members[pure.as_posix()] = info
    return members


class _CappedReader(io.RawIOBase):
    def __init__(self, raw: IO[bytes], limit: int, where: str):
        self._raw = raw
        self._left = limit
        self._where = where

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        try:
            n = self._raw.readinto(b)
        except (
            zipfile.BadZipFile,
            OSError,
            EOFError,
            NotImplementedError,
            RuntimeError,
        ) as exc:
            raise ValidationError(f"{self._where}: corrupt ZIP entry ({exc})") from None
        self._left -= n
        if self._left < 0:
            raise ValidationError(f"{self._where}: entry larger than its header says")
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_source(path: str | os.PathLike, label: str = "predictions") -> Source:
    p = Path(path)
    if p.is_symlink() and label == "predictions":
        raise ValidationError(f"{p.name}: symbolic links are not accepted")
    if p.is_dir():
        return DirSource(p, label)
    if not p.exists():
        raise ValidationError(f"{label} file {str(p)!r} does not exist")
    if p.suffix.lower() == ".zip":
        return ZipSource(p, label)
    return FileSource(p, label)


def read_text(source: Source, name: str) -> str:
    """UTF-8 text of one member (BOM tolerated), with a clear error otherwise."""
    data = source.read_bytes(name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValidationError(
            f"{source.where(name)} line {line}: not valid UTF-8 text "
            f"(byte {data[exc.start]:#04x} at offset {exc.start})"
        ) from None


def parse_json(text: str, where: str, **kwargs):
    """``json.loads`` for participant files: nesting too deep for the parser
    (e.g. 200,000 ``[``) is a ValidationError naming the file, not a
    RecursionError. ``json.JSONDecodeError`` is left to the caller's message."""
    try:
        return json.loads(text, **kwargs)
    except RecursionError:
        raise ValidationError(
            f"{where}: JSON nested deeper than about {sys.getrecursionlimit()} "
            "levels; no accepted format nests more than a few levels"
        ) from None


def iter_csv(
    source: Source, name: str, header: list[str] | None = None
) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """Header and ``(line_number, row)`` pairs of a CSV member.

    If ``header`` is given, the file's header must equal it (case-insensitive,
    surrounding spaces ignored). Rows with the wrong number of fields, and blank
    lines in the middle, are errors naming the line.
    """
    where = source.where(name)
    text = read_text(source, name)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        found = next(reader)
    except StopIteration:
        raise ValidationError(
            f"{where}: the file is empty (expected a header line)"
        ) from None
    except csv.Error as exc:
        raise ValidationError(f"{where} line 1: {exc}") from None
    found = [h.strip() for h in found]
    if header is not None and [h.lower() for h in found] != [h.lower() for h in header]:
        raise ValidationError(
            f"{where} line 1: header must be {','.join(header)!r}, "
            f"found {','.join(found)!r}"
        )

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for row in reader:
                lineno = reader.line_num
                if not row or all(not c.strip() for c in row):
                    continue
                if len(row) != len(found):
                    raise ValidationError(
                        f"{where} line {lineno}: expected {len(found)} fields, "
                        f"found {len(row)}"
                    )
                yield lineno, [c.strip() for c in row]
        except csv.Error as exc:
            raise ValidationError(f"{where} line {reader.line_num}: {exc}") from None

    return found, rows()


def preview(items, n: int = 5) -> str:
    """First ``n`` items for an error message, plus the count of the rest."""
    items = list(items)
    shown = ", ".join(repr(str(x)) for x in items[:n])
    return shown + (f" and {len(items) - n} more" if len(items) > n else "")


def align_ids(
    truth_ids: list[str],
    pred_ids: list[str],
    where: str,
    *,
    partial: bool = False,
    noun: str = "id",
):
    """Index into the predictions for each truth id (-1 where missing, if partial).

    Unknown prediction ids are always an error; missing ones are unless
    ``partial``. Messages name ``where`` and the first ids with the count.
    """
    import numpy as np

    pos = {sid: i for i, sid in enumerate(pred_ids)}
    known = set(truth_ids)  # built once: membership tests stay O(1)
    extra = [sid for sid in pred_ids if sid not in known]
    if extra:
        raise ValidationError(
            f"{where}: {len(extra)} {noun}(s) not in the test set: {preview(extra)}"
        )
    idx = np.array([pos.get(sid, -1) for sid in truth_ids], dtype=np.int64)
    missing = [truth_ids[i] for i in np.flatnonzero(idx < 0)]
    if missing and not partial:
        raise ValidationError(
            f"{where}: {len(missing)} test {noun}(s) missing: {preview(missing)}"
        )
    return idx
