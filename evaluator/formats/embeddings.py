"""Embeddings NPZ (``ids`` + ``embeddings`` arrays): headers checked before any
array is read (shape, dtype, size limits), then ids and finite float64 vectors;
a repeated id names its row (:func:`evaluator.ids.unique_id_rows`)."""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePosixPath
from typing import IO

import numpy as np

from evaluator.errors import ValidationError
from evaluator.ids import unique_id_rows
from evaluator.io import Source, check_zip_members, preview

MAX_DIM = 16_384
MAX_VALUES = 200_000_000  # N × D


def _npy_header(fh: IO[bytes], where: str) -> tuple[tuple[int, ...], np.dtype]:
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
    except (ValueError, OSError, SyntaxError) as exc:
        raise ValidationError(f"{where}: not a valid .npy array ({exc})") from None
    return shape, dtype


def _open_npz(source: Source) -> tuple[zipfile.ZipFile, str]:
    name = source.single((".npz",))
    where = source.where(name)
    fh = source.open(name)
    if not fh.seekable():  # a member of an uploaded ZIP
        fh = io.BytesIO(fh.read())
    try:
        npz = zipfile.ZipFile(fh)
    except zipfile.BadZipFile:
        raise ValidationError(f"{where}: not a valid NPZ (numpy zip) file") from None
    check_zip_members(npz.infolist(), where)  # count, inflated size, ratio
    return npz, where


def _check_headers(npz: zipfile.ZipFile, where: str) -> None:
    """Validate names, dtypes, shapes and size caps before loading any data."""
    members = {PurePosixPath(n).name: n for n in npz.namelist()}
    info: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    for key in ("ids", "embeddings"):
        if f"{key}.npy" not in members:
            raise ValidationError(
                f"{where}: array {key!r} missing (found {sorted(members)}); "
                "save with np.savez(path, ids=..., embeddings=...)"
            )
        try:
            with npz.open(members[f"{key}.npy"]) as fh:
                info[key] = _npy_header(fh, f"{where}:{key}")
        except (zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError) as exc:
            # corrupt/mismatched entry, bad CRC, unsupported or encrypted member
            raise ValidationError(
                f"{where}:{key}: unreadable NPZ member ({exc})"
            ) from None
    (ids_shape, ids_dtype), (emb_shape, emb_dtype) = info["ids"], info["embeddings"]
    if ids_dtype.kind not in "US" or len(ids_shape) != 1:
        raise ValidationError(
            f"{where}: 'ids' must be a 1-D string array (dtype=str), found "
            f"{ids_dtype} with shape {ids_shape}"
        )
    if emb_dtype.kind != "f" or len(emb_shape) != 2:
        raise ValidationError(
            f"{where}: 'embeddings' must be a 2-D float array (N x D, float32), "
            f"found {emb_dtype} with shape {emb_shape}"
        )
    n, d = emb_shape
    if n != ids_shape[0]:
        raise ValidationError(
            f"{where}: 'embeddings' has {n} rows but 'ids' has {ids_shape[0]} entries"
        )
    if d == 0 or d > MAX_DIM:
        raise ValidationError(f"{where}: embedding dimension {d} not in 1..{MAX_DIM}")
    if n * d > MAX_VALUES:
        raise ValidationError(
            f"{where}: {n} x {d} = {n * d} values exceed the limit of {MAX_VALUES:.0e}"
        )


def read_embeddings(source: Source) -> tuple[list[str], np.ndarray, str]:
    """Ids and float64 embeddings from the submitted NPZ, fully validated."""
    npz, where = _open_npz(source)
    with npz:
        _check_headers(npz, where)
        members = {PurePosixPath(n).name: n for n in npz.namelist()}
        try:
            with npz.open(members["ids.npy"]) as fh:
                ids_arr = np.lib.format.read_array(fh, allow_pickle=False)
            with npz.open(members["embeddings.npy"]) as fh:
                emb = np.lib.format.read_array(fh, allow_pickle=False)
        except (
            ValueError,
            OSError,
            zipfile.BadZipFile,
            EOFError,
            NotImplementedError,
            RuntimeError,
        ) as exc:
            raise ValidationError(f"{where}: cannot read the arrays ({exc})") from None
    if ids_arr.dtype.kind == "S":
        try:
            ids = [b.decode("utf-8") for b in ids_arr.tolist()]
        except UnicodeDecodeError:
            raise ValidationError(f"{where}: 'ids' are not valid UTF-8") from None
    else:
        ids = [str(x) for x in ids_arr.tolist()]
    bad = ~np.isfinite(emb).all(axis=1)
    if bad.any():
        first = [ids[i] for i in np.flatnonzero(bad)]
        raise ValidationError(
            f"{where}: {len(first)} embedding(s) contain NaN or infinity, e.g. id "
            f"{preview(first, 3)}"
        )
    for _ in unique_id_rows(enumerate(ids), f"{where} 'ids'", unit="row", id_of=str):
        pass
    return ids, emb.astype(np.float64), where
