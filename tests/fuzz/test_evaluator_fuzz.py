"""Every evaluator kind, fed damaged or hostile predictions, answers with a
ValidationError (one line) or a valid JSON-safe result: never another exception.

Bounded: 50 examples per kind, no deadline (the first example of some kinds
imports torch / sklearn / starts a JVM).
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import evaluator
from evaluator.errors import ValidationError
from evaluator.registry import kind_names
from tests.fuzz.cases import BUILDERS, Case, build, encode, png_bytes
from tests.fuzz.mutations import CONTAINERS, materialise, mutations

EXAMPLES = int(os.environ.get("EARTHBENCH_FUZZ_EXAMPLES", 50))
# Captioning starts the PTB tokenizer JVM on every evaluation (~0.6 s).
SLOW_KINDS = {"captioning": max(EXAMPLES // 3, 5)}
FUZZ = settings(
    deadline=None,
    derandomize=True,  # reproducible in CI; a failure prints its example
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

_cases: dict[str, Case] = {}
_root = Path(tempfile.mkdtemp(prefix="earthbench-fuzz-"))


def case_for(kind: str) -> Case:
    if kind not in _cases:
        _cases[kind] = build(kind, _root / kind)
    return _cases[kind]


def run(kind: str, pred: Path, case: Case):
    """Evaluate as the platform does: evaluate, then compute subsets and samples."""
    ev = evaluator.evaluate(kind, pred, case.truth, case.options)
    n = len(ev.sample_ids)
    results = [ev.compute(None)]
    if n:
        results.append(ev.compute(np.arange(n)[: max(n // 2, 1)]))
        results.append(
            ev.compute(np.zeros(n, dtype=np.int64))
        )  # a bootstrap-like repeat
    # Score rows go into JSON columns: Postgres rejects NaN, so must we.
    json.dumps(results, allow_nan=False)
    json.dumps(ev.samples(), allow_nan=False)
    return results[0]


def assert_clean(
    kind: str, pred: Path, case: Case, *, must_fail: bool = False
) -> str | None:
    try:
        run(kind, pred, case)
    except ValidationError as exc:
        msg = str(exc)
        assert msg and "\n" not in msg, (
            f"{kind}: message must be one non-empty line: {msg!r}"
        )
        return msg
    assert not must_fail, f"{kind}: hostile input {pred.name} was accepted"
    return None


def test_every_kind_has_a_fuzz_case():
    assert sorted(BUILDERS) == kind_names()


@pytest.mark.parametrize("kind", kind_names())
def test_valid_case_scores(kind, tmp_path):
    case = case_for(kind)
    assert assert_clean(kind, materialise(case.pred, tmp_path, "zip"), case) is None


@pytest.mark.parametrize("kind", kind_names())
def test_damaged_predictions_give_validation_error_or_result(kind):
    case = case_for(kind)

    @settings(FUZZ, max_examples=SLOW_KINDS.get(kind, EXAMPLES))
    @given(muts=mutations(), container=CONTAINERS)
    def check(muts, container):
        members = dict(case.pred)
        for mutate in muts:
            members = mutate(members)
        with tempfile.TemporaryDirectory() as tmp:
            assert_clean(kind, materialise(members, Path(tmp), container), case)

    check()


# ---------------------------------------------------------------- hostile containers
# These must always be refused, whatever the kind.


def _zip_with(
    path: Path, case: Case, extra: list[tuple[zipfile.ZipInfo | str, bytes]]
) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, member in case.pred.items():
            zf.writestr(name, encode(name, member))
        for info, data in extra:
            zf.writestr(info, data)
    return path


def _symlink_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


HOSTILE = [
    "traversal",
    "absolute",
    "zip_symlink",
    "dir_symlink_to_truth",
    "path_is_symlink",
    "zip_bomb",
    "lying_header",
    "encrypted_entry",
    "unknown_compression",
]


def hostile(kind_case: Case, how: str, tmp: Path) -> Path:
    case = kind_case
    first = sorted(case.pred)[0]
    truth_file = (
        case.truth
        if case.truth.is_file()
        else next(p for p in case.truth.rglob("*") if p.is_file())
    )
    if how == "traversal":
        return _zip_with(tmp / "p.zip", case, [("../../" + first, b"x")])
    if how == "absolute":
        return _zip_with(tmp / "p.zip", case, [("/etc/" + first, b"x")])
    if how == "zip_symlink":
        return _zip_with(
            tmp / "p.zip",
            case,
            [(_symlink_info("link_" + first), str(truth_file).encode())],
        )
    if how == "dir_symlink_to_truth":
        # The classic leak: a prediction that is a link to the hidden truth.
        root = materialise(case.pred, tmp, "dir")
        target = root / first
        target.unlink()
        target.symlink_to(truth_file)
        return root
    if how == "path_is_symlink":
        real = materialise(case.pred, tmp, "zip")
        link = tmp / "link.zip"
        link.symlink_to(real)
        return link
    if how == "zip_bomb":
        # 64 MiB of zeros deflate to ~64 KiB: ratio ~1000, over the cap.
        return _zip_with(tmp / "p.zip", case, [("padding.bin", bytes(64 << 20))])
    if how == "lying_header":
        # A member read by every kind, padded with 2 MiB of zeros, whose headers
        # still declare the original size: the reader must notice (CRC/size).
        body = encode(first, case.pred[first])
        path = tmp / "p.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, member in case.pred.items():
                zf.writestr(
                    name,
                    body + bytes(2 << 20) if name == first else encode(name, member),
                )
        data = bytearray(path.read_bytes())
        _shrink_declared_size(data, first.encode(), len(body))
        path.write_bytes(bytes(data))
        return path
    if how in ("encrypted_entry", "unknown_compression"):
        # Flag bit 0 (encrypted) or compression method 99 (AES) on a member
        # every kind reads: zipfile refuses to open it.
        path = materialise(case.pred, tmp, "zip_stored")
        data = bytearray(path.read_bytes())
        if how == "encrypted_entry":
            _patch_entry(data, first.encode(), local=(6, 1), central=(8, 1))
        else:
            _patch_entry(data, first.encode(), local=(8, 99), central=(10, 99))
        path.write_bytes(bytes(data))
        return path
    raise AssertionError(how)


def _patch_entry(data: bytearray, name: bytes, *, local: tuple, central: tuple) -> None:
    """Overwrite one 2-byte field of ``name``'s local and central headers."""
    import struct

    for sig, name_len_at, name_at, (field, value) in (
        (b"PK\x03\x04", 26, 30, local),
        (b"PK\x01\x02", 28, 46, central),
    ):
        pos = data.find(sig)
        while pos != -1:
            n = struct.unpack_from("<H", data, pos + name_len_at)[0]
            if data[pos + name_at : pos + name_at + n] == name:
                struct.pack_into("<H", data, pos + field, value)
            pos = data.find(sig, pos + 4)


def _shrink_declared_size(data: bytearray, name: bytes, size: int) -> None:
    """Rewrite the uncompressed size of ``name`` in its local and central headers."""
    import struct

    pos = data.find(b"PK\x03\x04")
    while pos != -1:
        n = struct.unpack_from("<H", data, pos + 26)[0]
        if data[pos + 30 : pos + 30 + n] == name:
            struct.pack_into("<I", data, pos + 22, size)
        pos = data.find(b"PK\x03\x04", pos + 4)
    pos = data.find(b"PK\x01\x02")
    while pos != -1:
        n = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46 : pos + 46 + n] == name:
            struct.pack_into("<I", data, pos + 24, size)
        pos = data.find(b"PK\x01\x02", pos + 4)


@pytest.mark.parametrize("how", HOSTILE)
@pytest.mark.parametrize("kind", kind_names())
def test_hostile_containers_refused(kind, how, tmp_path):
    case = case_for(kind)
    msg = assert_clean(kind, hostile(case, how, tmp_path), case, must_fail=True)
    # Never echo the hidden truth's location or content back.
    assert str(case.truth.parent) not in msg


def test_image_decompression_bomb_refused(tmp_path):
    """A PNG whose header claims 30000 x 30000 pixels (compresses to ~100 KiB)."""
    case = case_for("segmentation")
    from PIL import Image

    big = Image.new("1", (30000, 30000))
    path = tmp_path / "pred"
    path.mkdir()
    for name, member in case.pred.items():
        (path / name).write_bytes(encode(name, member))
    big.save(path / sorted(case.pred)[0], format="PNG")
    assert assert_clean("segmentation", path, case, must_fail=True)


@settings(FUZZ, max_examples=EXAMPLES)
@given(
    st.binary(max_size=2048),
    st.sampled_from([".zip", ".csv", ".json", ".npz", ".png", ".txt", ""]),
)
def test_random_bytes_any_name_every_kind(data, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        pred = Path(tmp) / f"upload{suffix}"
        pred.write_bytes(data)
        for kind in kind_names():
            if kind == "captioning":
                continue  # covered above; a JVM per example is too slow here
            assert_clean(kind, pred, case_for(kind))


def test_png_bytes_helper_roundtrip():
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
    from evaluator.images import decode

    assert (decode(png_bytes(arr), "x") == arr).all()
