"""Validate an uploaded ``docker save`` tarball before the daemon ever sees it.

Both layouts ``docker save`` writes are accepted: the legacy one (``<id>.json``
config, ``<layer>/layer.tar``) and the OCI one of Docker 25+ (``blobs/sha256/…``,
``index.json``); ``manifest.json`` is read in both. Rules (SANDBOX.md § Import):
exactly one image; no absolute or ``..`` paths and no link leaving the archive;
only files, folders and in-archive links; size and member-count caps;
architecture ``amd64`` on ``linux``; a non-root ``USER``; no ``VOLUME``; no
``LD_PRELOAD`` (or ``LD_AUDIT``) in the environment; no ``WORKDIR`` under
``/proc``, ``/sys`` or ``/dev``; an ``ENTRYPOINT`` or ``CMD`` to run.

The image id (``sha256:`` of the config document) is computed here, so the loaded
image can be checked against it and the submission pinned to it.

:func:`load_stream` re-streams the archive for ``docker load`` with every tag
removed, so an upload can never re-point a tag the platform or another
participant uses.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluator.errors import ValidationError
from evaluator.sandbox.layers import LayerBudget, inspect_member
from evaluator.sandbox.limits import ImageCaps

_FORBIDDEN_ENV = ("LD_PRELOAD", "LD_AUDIT")
_FORBIDDEN_WORKDIR = ("/proc", "/sys", "/dev")
_ROOT_USERS = ("", "root", "0")


@dataclass
class ImageInfo:
    """What validation learnt about the one image in the archive."""

    image_id: str  # "sha256:<hex>" of the config document: the pin
    config: dict[str, Any]
    layers: list[str]
    total_bytes: int
    repo_tags: list[str] = field(default_factory=list)

    @property
    def user(self) -> str:
        return str(self.config.get("config", {}).get("User", ""))


@dataclass
class _Member:
    kind: str  # "file" | "dir" | "link"
    size: int
    target: str | None = None  # archive path a link points to


def _normalise(name: str, archive: str) -> str:
    """The archive-relative POSIX path of a member, or a ValidationError."""
    if "\x00" in name or "\\" in name:
        raise ValidationError(f"{archive}: entry {name!r} has an unsafe name")
    if name.startswith("/"):
        raise ValidationError(f"{archive}: entry {name!r} has an absolute path")
    norm = posixpath.normpath(name)
    parts = name.split("/")
    if ".." in parts or norm == ".." or norm.startswith("../"):
        raise ValidationError(f"{archive}: entry {name!r} has a '..' path (traversal)")
    return "" if norm == "." else norm


def _link_target(info: tarfile.TarInfo, name: str, archive: str) -> str:
    """Archive path a symlink or hard link points to; rejects escapes."""
    target = info.linkname
    if target.startswith("/"):
        raise ValidationError(
            f"{archive}: link {name!r} points to the absolute path {target!r}"
        )
    # Symlinks resolve from the link's folder, hard links from the archive root.
    base = posixpath.dirname(name) if info.issym() else ""
    joined = posixpath.normpath(posixpath.join(base, target))
    if joined == ".." or joined.startswith("../"):
        raise ValidationError(
            f"{archive}: link {name!r} -> {target!r} points outside the archive"
        )
    return joined


def _open_stream(path: Path) -> tarfile.TarFile:
    try:
        # Stream mode: headers are checked before their data is read, so a huge
        # or compressed-bomb member is refused before it costs anything.
        return tarfile.open(path, mode="r|*")
    except (tarfile.TarError, OSError) as exc:
        raise ValidationError(f"{path.name}: not a tar archive ({exc})") from None


def _scan(
    path: Path, caps: ImageCaps, want: set[str] | None
) -> tuple[dict[str, _Member], dict[str, bytes], int]:
    """One pass over the archive: member table, kept small documents, total size.

    ``want`` names the members whose bytes to keep; None keeps ``manifest.json``,
    ``index.json`` and legacy ``*.json`` configs, and also streams every other
    member through :func:`inspect_member`, so the total is what the engine
    stores once it has inflated and unpacked the layers.
    """
    archive = path.name
    members: dict[str, _Member] = {}
    kept: dict[str, bytes] = {}
    total = 0
    budget = LayerBudget(caps.max_member_bytes, caps.max_layer_members)
    # A small upload may not become a huge image: the unpacked total is also
    # capped at max_inflation_ratio times the upload (at least 1 MiB of it).
    by_ratio = caps.max_inflation_ratio * max(path.stat().st_size, 1 << 20)
    unpacked_cap = min(caps.max_total_bytes, by_ratio)
    reason = (
        f"{caps.max_inflation_ratio} times the upload's size"
        if by_ratio < caps.max_total_bytes
        else "the image size limit"
    )
    tar = _open_stream(path)
    try:
        for info in tar:
            name = _normalise(info.name, archive)
            if len(members) >= caps.max_members:
                raise ValidationError(
                    f"{archive}: more than {caps.max_members} entries in the archive"
                )
            if info.isdir():
                members[name] = _Member("dir", 0)
                continue
            if info.issym() or info.islnk():
                members[name] = _Member("link", 0, _link_target(info, name, archive))
                continue
            if not info.isreg():
                raise ValidationError(
                    f"{archive}: entry {name!r} is not a regular file, folder or link "
                    "(devices, FIFOs and sparse files are not accepted)"
                )
            if info.size > caps.max_member_bytes:
                raise ValidationError(
                    f"{archive}: entry {name!r} is {info.size} bytes, over the "
                    f"per-file limit of {caps.max_member_bytes}"
                )
            before = total
            total += info.size
            if total > caps.max_total_bytes:
                raise ValidationError(
                    f"{archive}: image is over the size limit of "
                    f"{caps.max_total_bytes} bytes"
                )
            members[name] = _Member("file", info.size)
            keep = (
                name in want
                if want is not None
                else name in ("manifest.json", "index.json")
                or ("/" not in name and name.endswith(".json"))
            )
            if keep and info.size <= caps.max_json_bytes:
                fh = tar.extractfile(info)
                kept[name] = fh.read() if fh else b""
            elif want is None and info.size:
                limit = min(unpacked_cap - before, caps.max_member_bytes)
                cost = inspect_member(
                    tar.extractfile(info), name, archive, limit, budget, reason
                )
                total = before + max(info.size, cost)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ValidationError(f"{archive}: corrupt tar archive ({exc})") from None
    finally:
        tar.close()
    return members, kept, total


def _resolve(members: dict[str, _Member], name: str, archive: str, what: str) -> str:
    """Follow in-archive links to the regular file ``name`` refers to."""
    seen = 0
    cur = posixpath.normpath(name)
    while True:
        m = members.get(cur)
        if m is None:
            raise ValidationError(
                f"{archive}: {what} {name!r} is missing from the archive"
            )
        if m.kind == "file":
            return cur
        if m.kind != "link" or seen > 8:
            raise ValidationError(f"{archive}: {what} {name!r} is not a file")
        cur = m.target or ""
        seen += 1


def _json(data: bytes, archive: str, name: str) -> Any:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(f"{archive}:{name}: not valid JSON ({exc})") from None


def _manifest_entry(kept: dict[str, bytes], archive: str) -> dict[str, Any]:
    if "manifest.json" not in kept:
        raise ValidationError(
            f"{archive}: no manifest.json; expected the output of `docker save IMAGE`"
        )
    manifest = _json(kept["manifest.json"], archive, "manifest.json")
    if not isinstance(manifest, list) or not manifest:
        raise ValidationError(f"{archive}:manifest.json: expected a list of one image")
    if len(manifest) != 1:
        raise ValidationError(
            f"{archive}:manifest.json: {len(manifest)} images found, expected exactly 1 "
            "(save a single image)"
        )
    if "index.json" in kept:
        index = _json(kept["index.json"], archive, "index.json")
        n = len(index.get("manifests", [])) if isinstance(index, dict) else 0
        if n > 1:
            raise ValidationError(
                f"{archive}:index.json: {n} images found, expected exactly 1"
            )
    entry = manifest[0]
    if (
        not isinstance(entry, dict)
        or not isinstance(entry.get("Config"), str)
        or not isinstance(entry.get("Layers"), list)
    ):
        raise ValidationError(f"{archive}:manifest.json: entry lacks Config or Layers")
    return entry


def check_config(config: Any, caps: ImageCaps, where: str) -> None:
    """The image-config rules of SANDBOX.md; also used on the daemon's view."""
    if not isinstance(config, dict):
        raise ValidationError(f"{where}: image config is not a JSON object")
    arch, osname = config.get("architecture"), config.get("os")
    if arch != caps.architecture or osname != caps.os:
        raise ValidationError(
            f"{where}: image platform is {osname}/{arch}, expected "
            f"{caps.os}/{caps.architecture}"
        )
    cfg = config.get("config") or {}
    user = str(cfg.get("User") or "").strip()
    name = user.split(":", 1)[0]
    if name in _ROOT_USERS or (name.isdigit() and int(name) == 0):
        raise ValidationError(
            f"{where}: image USER is {user or 'unset'!r}; set a non-root USER "
            "(e.g. USER 10001:10001)"
        )
    if cfg.get("Volumes"):
        vols = ", ".join(sorted(cfg["Volumes"]))
        raise ValidationError(
            f"{where}: image declares VOLUME {vols}; volumes are not allowed "
            "(they would bypass the read-only root filesystem)"
        )
    for item in cfg.get("Env") or []:
        key = str(item).split("=", 1)[0]
        if key in _FORBIDDEN_ENV:
            raise ValidationError(
                f"{where}: image environment sets {key}; it is not allowed"
            )
    workdir = posixpath.normpath(str(cfg.get("WorkingDir") or "/"))
    for bad in _FORBIDDEN_WORKDIR:
        if workdir == bad or workdir.startswith(bad + "/"):
            raise ValidationError(
                f"{where}: image WORKDIR {workdir!r} is under {bad}; not allowed"
            )
    if not cfg.get("Entrypoint") and not cfg.get("Cmd"):
        raise ValidationError(
            f"{where}: image has neither ENTRYPOINT nor CMD; the platform runs it "
            "with no arguments"
        )


def validate_image_tar(
    path: str | os.PathLike, caps: ImageCaps | None = None
) -> ImageInfo:
    """Check an uploaded image archive; raises ValidationError naming the problem."""
    path = Path(path)
    caps = caps or ImageCaps()
    archive = path.name
    members, kept, total = _scan(path, caps, None)
    entry = _manifest_entry(kept, archive)
    config_name = _resolve(members, entry["Config"], archive, "image config")
    if config_name not in kept:
        if members[config_name].size > caps.max_json_bytes:
            raise ValidationError(
                f"{archive}: image config {config_name!r} is over "
                f"{caps.max_json_bytes} bytes"
            )
        # OCI layout: the config is a blob; a second pass fetches just it.
        kept.update(_scan(path, caps, {config_name})[1])
    raw_config = kept[config_name]
    layers = [_resolve(members, str(x), archive, "layer") for x in entry["Layers"]]
    if not layers:
        raise ValidationError(f"{archive}:manifest.json: the image has no layers")
    config = _json(raw_config, archive, entry["Config"])
    check_config(config, caps, archive)
    diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
    if len(diff_ids) != len(layers):
        raise ValidationError(
            f"{archive}: config lists {len(diff_ids)} layers, manifest.json "
            f"{len(layers)}"
        )
    return ImageInfo(
        image_id="sha256:" + hashlib.sha256(raw_config).hexdigest(),
        config=config,
        layers=layers,
        total_bytes=total,
        repo_tags=list(entry.get("RepoTags") or []),
    )


def _untag(name: str, data: bytes) -> bytes:
    """manifest.json without RepoTags; index.json without image-name annotations."""
    doc = json.loads(data)
    if name == "manifest.json":
        for entry in doc:
            entry["RepoTags"] = None
    else:
        for m in doc.get("manifests", []):
            ann = m.get("annotations") or {}
            ann.pop("io.containerd.image.name", None)
            ann.pop("org.opencontainers.image.ref.name", None)
    return json.dumps(doc).encode()


def _rewrite(src: Path, sink) -> None:
    import io

    with (
        tarfile.open(src, mode="r|*") as tin,
        tarfile.open(fileobj=sink, mode="w|") as tout,
    ):
        for info in tin:
            if info.name in ("repositories", "./repositories"):
                continue  # the legacy tag file
            name = posixpath.normpath(info.name)
            if name in ("manifest.json", "index.json") and info.isreg():
                fh = tin.extractfile(info)
                data = _untag(name, fh.read() if fh else b"[]")
                info.size = len(data)
                tout.addfile(info, io.BytesIO(data))
            elif info.isreg():
                tout.addfile(info, tin.extractfile(info))
            else:
                tout.addfile(info)


def load_stream(path: str | os.PathLike, chunk: int = 1 << 20) -> Iterator[bytes]:
    """The archive, tags removed, as chunks for ``docker load`` (no temp copy).

    A writer thread re-tars into a pipe; closing the generator early closes the
    pipe so the writer stops.
    """
    rfd, wfd = os.pipe()
    error: list[BaseException] = []

    def writer() -> None:
        try:
            with os.fdopen(wfd, "wb") as sink:
                _rewrite(Path(path), sink)
        except BrokenPipeError:
            pass
        except BaseException as exc:  # re-raised in the reader below
            error.append(exc)

    thread = threading.Thread(target=writer, name="image-load-writer", daemon=True)
    thread.start()
    with os.fdopen(rfd, "rb") as source:
        while data := source.read(chunk):
            yield data
    thread.join()
    if error:
        raise ValidationError(f"{Path(path).name}: could not re-stream ({error[0]})")
