"""Build ``docker save``-style archives in Python, good or malicious, for tests."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any


def _add(tar: tarfile.TarFile, name: str, data: bytes = b"", **attrs: Any) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    for k, v in attrs.items():
        setattr(info, k, v)
    tar.addfile(info, io.BytesIO(data) if info.isreg() else None)


def layer_tar(files: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    """An image layer: ``files`` (path -> content, mode 0755) plus symlinks."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        dirs = sorted({str(Path(p).parent) for p in [*files, *(links or {})]} - {"."})
        for d in dirs:
            _add(tar, d, type=tarfile.DIRTYPE, mode=0o755)
        for path, data in files.items():
            _add(tar, path, data, mode=0o755)
        for path, target in (links or {}).items():
            _add(tar, path, type=tarfile.SYMTYPE, linkname=target, mode=0o777)
    return buf.getvalue()


def busybox_layer(busybox: Path = Path("/bin/busybox")) -> bytes:
    """A tiny root filesystem: static busybox, its applets, mount points."""
    applets = subprocess.run(
        [str(busybox), "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    files = {
        "bin/busybox": busybox.read_bytes(),
        "etc/passwd": b"root:x:0:0::/:/bin/sh\nmodel:x:10001:10001::/tmp:/bin/sh\n",
        "etc/group": b"root:x:0:\nmodel:x:10001:\n",
    }
    links = {f"bin/{a}": "busybox" for a in applets if a != "busybox"}
    return layer_tar(files, links)


def base_config(**config: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "User": "10001:10001",
        "Env": ["PATH=/bin:/usr/bin"],
        "Cmd": ["/bin/sh", "/input/job.sh"],
        "WorkingDir": "/",
    }
    cfg.update(config)
    return {"architecture": "amd64", "os": "linux", "config": cfg}


def make_image_tar(
    path: Path,
    layers: list[bytes] | None = None,
    *,
    config: dict[str, Any] | None = None,
    repo_tags: list[str] | None = None,
    layout: str = "legacy",
    compress: bool = False,
    images: int = 1,
    extra: list[tuple[str, bytes, dict[str, Any]]] = (),
    manifest: Any = None,
) -> Path:
    """Write an image archive like ``docker save`` does (legacy or OCI layout).

    ``extra`` adds raw members (name, data, TarInfo attributes) to build
    malicious archives; ``manifest`` replaces manifest.json verbatim.
    """
    layers = layers if layers is not None else [layer_tar({"bin/true": b"x"})]
    config = dict(config or base_config())
    config["rootfs"] = {
        "type": "layers",
        "diff_ids": ["sha256:" + hashlib.sha256(x).hexdigest() for x in layers],
    }
    cfg_bytes = json.dumps(config).encode()
    cfg_hex = hashlib.sha256(cfg_bytes).hexdigest()
    members: list[tuple[str, bytes]] = []
    if layout == "oci":
        cfg_name = f"blobs/sha256/{cfg_hex}"
        layer_names = [f"blobs/sha256/{hashlib.sha256(x).hexdigest()}" for x in layers]
        members.append(("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'))
        index = {"schemaVersion": 2, "manifests": [{"digest": "sha256:0"}] * images}
        members.append(("index.json", json.dumps(index).encode()))
    else:
        cfg_name = f"{cfg_hex}.json"
        layer_names = [f"{hashlib.sha256(x).hexdigest()}/layer.tar" for x in layers]
    members.append((cfg_name, cfg_bytes))
    members += list(zip(layer_names, layers, strict=True))
    entry = {"Config": cfg_name, "RepoTags": repo_tags, "Layers": layer_names}
    doc = manifest if manifest is not None else [entry] * images
    members.append(("manifest.json", json.dumps(doc).encode()))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members:
            _add(tar, name, data)
        for name, data, attrs in extra:
            _add(tar, name, data, **attrs)
    raw = buf.getvalue()
    path.write_bytes(gzip.compress(raw, 1) if compress else raw)
    return path


def have_busybox() -> bool:
    return Path("/bin/busybox").exists() and shutil.which("busybox") is not None
