"""Image archive validation: no engine needed, malicious archives built in tmp_path."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time

import pytest

from evaluator.errors import ValidationError
from evaluator.sandbox.imagetar import load_stream, validate_image_tar
from evaluator.sandbox.limits import ImageCaps
from tests.sandbox.imagebuild import base_config, layer_tar, make_image_tar


def reject(path, match, caps=None):
    with pytest.raises(ValidationError, match=match) as exc:
        validate_image_tar(path, caps)
    assert path.name in str(exc.value)
    assert "\n" not in str(exc.value)


def test_valid_legacy_archive_pinned_to_config_sha256(tmp_path):
    path = make_image_tar(tmp_path / "ok.tar", repo_tags=["me/model:1"])
    info = validate_image_tar(path)
    with tarfile.open(path) as tar:
        cfg = next(
            m for m in tar.getnames() if m.endswith(".json") and m != "manifest.json"
        )
        digest = hashlib.sha256(tar.extractfile(cfg).read()).hexdigest()
    assert info.image_id == f"sha256:{digest}" and cfg == f"{digest}.json"
    assert info.user == "10001:10001" and info.repo_tags == ["me/model:1"]
    assert len(info.layers) == 1


@pytest.mark.parametrize("layout", ["legacy", "oci"])
@pytest.mark.parametrize("compress", [False, True])
def test_layouts_and_gzip_accepted(tmp_path, layout, compress):
    path = make_image_tar(tmp_path / "ok.tar.gz", layout=layout, compress=compress)
    assert validate_image_tar(path).image_id.startswith("sha256:")


def test_in_archive_layer_symlink_accepted(tmp_path):
    # Older `docker save` links a duplicate layer.tar to the first copy.
    layer = layer_tar({"a": b"1"})
    lid = hashlib.sha256(layer).hexdigest()
    path = make_image_tar(tmp_path / "dup.tar", [layer, layer])
    # Re-point the second layer at the link, as docker does.
    with tarfile.open(path) as tar:
        members = {
            m.name: (m, tar.extractfile(m).read() if m.isreg() else b"") for m in tar
        }
    manifest = json.loads(members["manifest.json"][1])
    manifest[0]["Layers"][1] = "dup/layer.tar"
    path2 = make_image_tar(
        tmp_path / "dup2.tar",
        [layer, layer],
        manifest=manifest,
        extra=[
            (
                "dup/layer.tar",
                b"",
                {"type": tarfile.SYMTYPE, "linkname": f"../{lid}/layer.tar"},
            )
        ],
    )
    assert len(validate_image_tar(path2).layers) == 2


@pytest.mark.parametrize(
    "name,attrs,match",
    [
        ("../escape", {}, r"'\.\.' path"),
        ("a/../../escape", {}, r"'\.\.' path"),
        ("/etc/passwd", {}, "absolute path"),
        (
            "evil",
            {"type": tarfile.SYMTYPE, "linkname": "../../etc/shadow"},
            "outside the archive",
        ),
        ("evil", {"type": tarfile.SYMTYPE, "linkname": "/etc/shadow"}, "absolute path"),
        ("evil", {"type": tarfile.LNKTYPE, "linkname": "../x"}, "outside the archive"),
        (
            "dev",
            {"type": tarfile.CHRTYPE, "devmajor": 1, "devminor": 3},
            "not a regular file",
        ),
        ("fifo", {"type": tarfile.FIFOTYPE}, "not a regular file"),
    ],
)
def test_unsafe_members_rejected(tmp_path, name, attrs, match):
    path = make_image_tar(tmp_path / "bad.tar", extra=[(name, b"", attrs)])
    reject(path, match)


def test_size_and_count_caps(tmp_path):
    big = make_image_tar(tmp_path / "big.tar", [layer_tar({"blob": b"\0" * 50_000})])
    reject(big, "size limit", ImageCaps(max_total_bytes=40_000))
    reject(big, "per-file limit", ImageCaps(max_member_bytes=40_000))
    reject(big, "more than 2 entries", ImageCaps(max_members=2))
    assert validate_image_tar(big, ImageCaps(max_total_bytes=100_000))


def test_gzip_bomb_refused_by_header_before_reading(tmp_path):
    # The header's size alone refuses the member: its data is never inflated.
    path = tmp_path / "bomb.tar.gz"
    import gzip

    with (
        gzip.open(path, "wb", compresslevel=1) as gz,
        tarfile.open(fileobj=gz, mode="w|") as tar,
    ):
        info = tarfile.TarInfo("huge")
        info.size = 64 << 20

        class Zeros(io.RawIOBase):
            left = 64 << 20

            def readinto(self, b):
                n = min(len(b), self.left)
                b[:n] = bytes(n)
                self.left -= n
                return n

        tar.addfile(info, Zeros())
    reject(path, "per-file limit", ImageCaps(max_member_bytes=1 << 20))


def test_missing_manifest_and_not_a_tar(tmp_path):
    p = tmp_path / "nomanifest.tar"
    with tarfile.open(p, "w") as tar:
        tar.addfile(tarfile.TarInfo("x"), io.BytesIO(b""))
    reject(p, "no manifest.json")
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"this is not a tar archive at all" * 40)
    reject(junk, "not a tar archive|no manifest.json")


def test_more_than_one_image_rejected(tmp_path):
    reject(
        make_image_tar(tmp_path / "two.tar", images=2),
        "2 images found, expected exactly 1",
    )
    reject(
        make_image_tar(tmp_path / "two_oci.tar", layout="oci", images=2),
        "2 images found",
    )


def test_manifest_problems(tmp_path):
    reject(
        make_image_tar(tmp_path / "a.tar", manifest={"x": 1}),
        "expected a list of one image",
    )
    reject(
        make_image_tar(tmp_path / "b.tar", manifest=[{"Config": 3}]),
        "lacks Config or Layers",
    )
    reject(
        make_image_tar(
            tmp_path / "c.tar", manifest=[{"Config": "nope.json", "Layers": []}]
        ),
        "image config 'nope.json' is missing",
    )
    ok = make_image_tar(tmp_path / "d.tar")
    with tarfile.open(ok) as tar:
        cfg = next(
            n for n in tar.getnames() if n.endswith(".json") and n != "manifest.json"
        )
    reject(
        make_image_tar(
            tmp_path / "e.tar", manifest=[{"Config": cfg, "Layers": ["gone/layer.tar"]}]
        ),
        "missing from the archive",
    )


@pytest.mark.parametrize("user", ["", "root", "0", "0:0", "root:root", "00", "0:10001"])
def test_root_user_rejected(tmp_path, user):
    reject(
        make_image_tar(tmp_path / "u.tar", config=base_config(User=user)),
        "non-root USER",
    )


@pytest.mark.parametrize("user", ["10001:10001", "model", "1000", "app:app"])
def test_non_root_user_accepted(tmp_path, user):
    assert validate_image_tar(
        make_image_tar(tmp_path / "u.tar", config=base_config(User=user))
    )


@pytest.mark.parametrize(
    "config,match",
    [
        (base_config(Volumes={"/data": {}}), "VOLUME /data"),
        (base_config(Env=["PATH=/bin", "LD_PRELOAD=/x.so"]), "sets LD_PRELOAD"),
        (base_config(Env=["LD_AUDIT=/x.so"]), "sets LD_AUDIT"),
        (
            base_config(WorkingDir="/proc/self/root"),
            "WORKDIR '/proc/self/root' is under /proc",
        ),
        (base_config(WorkingDir="/proc"), "under /proc"),
        (base_config(Cmd=None, Entrypoint=None), "neither ENTRYPOINT nor CMD"),
        (
            {**base_config(), "architecture": "arm64"},
            "linux/arm64, expected linux/amd64",
        ),
        ({**base_config(), "os": "windows"}, "windows/amd64"),
    ],
)
def test_config_rules(tmp_path, config, match):
    reject(make_image_tar(tmp_path / "c.tar", config=config), match)


def test_env_without_preload_and_proc_like_names_accepted(tmp_path):
    cfg = base_config(Env=["MY_LD_PRELOAD_NOTE=1"], WorkingDir="/processing")
    assert validate_image_tar(make_image_tar(tmp_path / "c.tar", config=cfg))


def test_layer_count_must_match_config(tmp_path):
    ok = make_image_tar(tmp_path / "ok.tar", [layer_tar({"a": b"1"})])
    with tarfile.open(ok) as tar:
        names = tar.getnames()
    cfg = next(n for n in names if n.endswith(".json") and n != "manifest.json")
    layer = next(n for n in names if n.endswith("layer.tar"))
    bad = make_image_tar(
        tmp_path / "bad.tar",
        [layer_tar({"a": b"1"})],
        manifest=[{"Config": cfg, "Layers": [layer, layer]}],
    )
    reject(bad, "config lists 1 layers, manifest.json 2")


@pytest.mark.parametrize("layout", ["legacy", "oci"])
def test_load_stream_removes_tags_and_keeps_content(tmp_path, layout):
    src = make_image_tar(
        tmp_path / "t.tar",
        layout=layout,
        repo_tags=["python:3.11-slim"],
        extra=[("repositories", b'{"python": {"3.11-slim": "abc"}}', {})],
    )
    out = tmp_path / "out.tar"
    out.write_bytes(b"".join(load_stream(src, chunk=4096)))
    with tarfile.open(out) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert "repositories" not in names
    assert manifest[0]["RepoTags"] is None
    # Everything else is byte-identical, so the pinned id does not change.
    assert validate_image_tar(out).image_id == validate_image_tar(src).image_id


# -- layers are counted as the engine unpacks them (issue 18) -----------------
def _bomb_layer(kind: str, mib: int) -> bytes:
    """A layer tar of ``mib`` MiB of zeros, compressed; tiny on the wire.

    gzip is written as ``mib`` concatenated members (a multi-member stream,
    which the engine's reader inflates as one), so building it costs nothing.
    """
    import bz2
    import gzip
    import lzma

    body = layer_tar({"blob": b"\0" * (1 << 20)})
    if kind == "gzip":
        # A tar of mib MiB: header + first MiB, then raw MiB blocks of zeros.
        head = gzip.compress(body[: 512 + (1 << 20)], 9)
        block = gzip.compress(b"\0" * (1 << 20), 9)
        return head + block * mib
    comp = {"bzip2": bz2.compress, "xz": lzma.compress}[kind]
    return comp(layer_tar({"blob": b"\0" * (mib << 20)}))


@pytest.mark.parametrize("kind", ["gzip", "bzip2", "xz"])
@pytest.mark.parametrize("outer_gz", [False, True])
def test_compressed_layer_counted_inflated(tmp_path, kind, outer_gz):
    layer = _bomb_layer(kind, 8)
    assert len(layer) < 200_000  # small upload ...
    path = make_image_tar(tmp_path / "bomb.tar", [layer], compress=outer_gz)
    caps = ImageCaps(max_total_bytes=4 << 20)
    assert path.stat().st_size < caps.max_total_bytes
    reject(path, f"inflates \\({kind}\\) to more than", caps)  # ... 8 MiB unpacked
    assert validate_image_tar(path, ImageCaps(max_total_bytes=16 << 20))


def test_gzip_layer_bomb_refused_as_soon_as_the_cap_is_crossed(tmp_path):
    # 8 GiB once inflated, 8 MB on the wire: refused after ~1 MiB of inflation.
    layer = _bomb_layer("gzip", 8192)
    path = make_image_tar(tmp_path / "bomb8g.tar", [layer])
    t0 = time.monotonic()
    reject(path, "inflates", ImageCaps(max_total_bytes=len(layer) + (1 << 20)))
    assert time.monotonic() - t0 < 3  # inflating 8 GiB takes far longer


def test_gzip_layer_checked_against_the_per_file_cap(tmp_path):
    path = make_image_tar(tmp_path / "big.tar", [_bomb_layer("gzip", 4)])
    reject(path, "inflates", ImageCaps(max_member_bytes=2 << 20))


def test_files_inside_layers_counted(tmp_path):
    import gzip

    layer = layer_tar({f"f{i}": b"x" for i in range(50)})
    for data in (layer, gzip.compress(layer)):
        path = make_image_tar(tmp_path / "many.tar", [data])
        reject(
            path, "limit of files inside its layers", ImageCaps(max_layer_members=20)
        )
        assert validate_image_tar(path, ImageCaps(max_layer_members=60))


def test_zstd_layer_refused(tmp_path):
    path = make_image_tar(tmp_path / "z.tar", [b"\x28\xb5\x2f\xfd" + b"\0" * 64])
    reject(path, "zstd-compressed")


def test_corrupt_gzip_layer_refused(tmp_path):
    path = make_image_tar(tmp_path / "c.tar", [b"\x1f\x8b\x08\x00" + b"junk" * 100])
    reject(path, "is corrupt")


def test_small_upload_cannot_become_a_huge_image(tmp_path):
    # 2 GiB of zeros in a ~2 MB upload, refused with the default caps by the
    # inflation ratio (100x the upload) long before 2 GiB are inflated.
    path = make_image_tar(tmp_path / "bomb2g.tar", [_bomb_layer("gzip", 2048)])
    assert path.stat().st_size < 3 << 20
    t0 = time.monotonic()
    reject(path, "over 100 times the upload's size")
    assert time.monotonic() - t0 < 20
    # An honest compressible layer (10x) passes.
    import gzip
    import os

    layer = layer_tar({"w": os.urandom(1 << 20) + b"\0" * (9 << 20)})
    ok = make_image_tar(tmp_path / "ok.tar", [gzip.compress(layer, 6)])
    assert validate_image_tar(ok)
    reject(ok, "over 2 times the upload's size", ImageCaps(max_inflation_ratio=2))
