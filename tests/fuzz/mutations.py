"""Hypothesis strategies that damage a valid prediction in the ways uploads go wrong.

A mutation is a function ``members -> members`` (see cases.Case.pred). Structural
mutations act on arrays and text tokens; byte mutations on the encoded files;
the container (single file, folder, ZIP) is drawn separately.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

from tests.fuzz.cases import Member, encode, write_dir

Mutation = Callable[[dict[str, Member]], dict[str, Member]]

SPECIAL_TOKENS = [
    "nan",
    "NaN",
    "-nan",
    "inf",
    "-inf",
    "Infinity",
    "1e999",
    "-1e999",
    "1e-320",
    "-0",
    "",
    "null",
    "true",
    "[]",
    "{}",
    "0x1F",
    "1_000",
    "١٢",
    "\x00",
    "é",
    "\u202e",
    "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
    "A" * 5000,
    "9" * 400,
    "-1",
    "4294967296",
    "../../etc/passwd",
    '"',
    ",",
    "\n",
]
TOKEN = re.compile(rb'[^\s,:\[\]{}"]+')
TEXT_SUFFIXES = (".csv", ".txt", ".json", ".jsonl", ".log", ".info")


def _is_text(name: str, member: Member) -> bool:
    return isinstance(member, bytes) and name.lower().endswith(TEXT_SUFFIXES)


def _pick(index: int, names: list[str]) -> str | None:
    # The member is chosen by a drawn index: which members exist is only known
    # when the mutation is applied, after hypothesis has finished drawing.
    return sorted(names)[index % len(names)] if names else None


PICK = st.integers(0, 1000)


# ---------------------------------------------------------------- text


@st.composite
def token_mutation(draw) -> Mutation:
    """Replace one token (number, id, label, key) with a hostile value."""
    pick = draw(PICK)
    value = draw(st.one_of(st.sampled_from(SPECIAL_TOKENS), st.text(max_size=30)))
    k = draw(st.integers(0, 10_000))

    def apply(m):
        name = _pick(pick, [n for n, v in m.items() if _is_text(n, v)])
        if name is None:
            return m
        tokens = list(TOKEN.finditer(m[name]))
        if not tokens:
            return m
        t = tokens[k % len(tokens)]
        data = m[name]
        return {
            **m,
            name: data[: t.start()]
            + value.encode("utf-8", "replace")
            + data[t.end() :],
        }

    return apply


@st.composite
def line_mutation(draw) -> Mutation:
    """Drop, repeat, swap or insert whole lines (missing/duplicate/extra ids)."""
    pick = draw(PICK)
    op = draw(st.sampled_from(["drop", "repeat", "swap", "insert", "header"]))
    k = draw(st.integers(0, 10_000))
    junk = draw(st.text(max_size=40)).encode("utf-8", "replace")

    def apply(m):
        name = _pick(pick, [n for n, v in m.items() if _is_text(n, v)])
        if name is None:
            return m
        lines = m[name].split(b"\n")
        i = k % len(lines)
        if op == "drop":
            del lines[i]
        elif op == "repeat":
            lines.insert(i, lines[i])
        elif op == "swap":
            lines[0], lines[i] = lines[i], lines[0]
        elif op == "insert":
            lines.insert(i, junk)
        else:
            lines[0] = junk
        return {**m, name: b"\n".join(lines)}

    return apply


@st.composite
def encoding_mutation(draw) -> Mutation:
    """The same text in another encoding, or with bytes that are not UTF-8."""
    pick = draw(PICK)
    codec = draw(
        st.sampled_from(
            ["utf-16", "utf-32", "utf-16-le", "cp1252", "latin-1+", "bom", "nul"]
        )
    )

    def apply(m):
        name = _pick(pick, [n for n, v in m.items() if _is_text(n, v)])
        if name is None:
            return m
        # An earlier mutation may already have broken the UTF-8.
        text = m[name].decode("utf-8", "replace")
        if codec == "latin-1+":
            data = text.replace("a", "\xe9", 1).encode("latin-1", "replace")
        elif codec == "cp1252":
            data = ("\u20ac" + text).encode("cp1252", "replace")
        elif codec == "bom":
            data = b"\xef\xbb\xbf\xef\xbb\xbf" + m[name]  # a doubled BOM
        elif codec == "nul":
            data = m[name].replace(b"\n", b"\x00\n", 1)
        else:
            data = text.encode(codec, "surrogatepass")
        return {**m, name: data}

    return apply


# ---------------------------------------------------------------- arrays

DTYPES = [
    "float16",
    "float32",
    "float64",
    "complex64",
    "bool",
    "int8",
    "int64",
    "uint16",
    "U3",
    "S2",
]


def _array_op(a: np.ndarray, op: str, dtype: str, k: int) -> np.ndarray:
    if op == "dtype":
        try:
            return a.astype(dtype)
        except (TypeError, ValueError):
            return a.astype("U8")
    if op == "nan":
        try:
            f = a.astype(np.float64)
        except (TypeError, ValueError):  # a string array (ids): NaN as text
            f = a.astype("U8")
        if f.size:
            f.flat[k % f.size] = np.nan if k % 2 else np.inf
        return f
    if op == "transpose":
        return np.ascontiguousarray(np.swapaxes(a, 0, -1)) if a.ndim >= 2 else a[None]
    if op == "add_axis":
        return a[..., None].repeat(2, axis=-1)
    if op == "crop":
        return a[: max(a.shape[0] - 1, 0)] if a.ndim else a
    if op == "empty":
        return np.zeros((0,) * max(a.ndim, 1), dtype=a.dtype)
    if op == "scalar":
        return np.asarray(a.flat[0] if a.size else 0)
    if op == "range":
        b = a.astype(np.int64) if a.dtype.kind in "biu" else a.copy()
        if b.size:
            b.flat[k % b.size] = [254, 7, -1, 10**12][k % 4]
        return b
    raise AssertionError(op)


ARRAY_OPS = [
    "dtype",
    "nan",
    "transpose",
    "add_axis",
    "crop",
    "empty",
    "scalar",
    "range",
]


@st.composite
def array_mutation(draw) -> Mutation:
    """Wrong dtype, NaN/inf, wrong shape or out-of-range values in one array."""
    pick = draw(PICK)
    op = draw(st.sampled_from(ARRAY_OPS))
    dtype = draw(st.sampled_from(DTYPES))
    k = draw(st.integers(0, 10_000))
    npz_op = draw(st.sampled_from(["array", "drop_key", "add_key", "rename_key"]))

    def apply(m):
        name = _pick(pick, [n for n, v in m.items() if not isinstance(v, bytes)])
        if name is None:
            return m
        v = m[name]
        if isinstance(v, dict):
            if not v:  # every key dropped by an earlier mutation
                return m
            key = sorted(v)[k % len(v)]
            if npz_op == "drop_key":
                return {**m, name: {x: a for x, a in v.items() if x != key}}
            if npz_op == "add_key":
                return {**m, name: {**v, "zz_extra": np.arange(3)}}
            if npz_op == "rename_key":
                return {
                    **m,
                    name: {(x + "_" if x == key else x): a for x, a in v.items()},
                }
            return {**m, name: {**v, key: _array_op(v[key], op, dtype, k)}}
        return {**m, name: _array_op(v, op, dtype, k)}

    return apply


# ---------------------------------------------------------------- members


@st.composite
def member_mutation(draw) -> Mutation:
    """A file missing, an extra file, or a file under the wrong name."""
    pick = draw(PICK)
    op = draw(st.sampled_from(["drop", "extra", "rename", "upper"]))
    extra_name = draw(
        st.sampled_from(
            ["notes.txt", "x.png", "README", "sub/dir/s00.png", "ünï.csv", "a b.json"]
        )
    )
    extra = draw(st.binary(max_size=64))

    def apply(m):
        name = _pick(pick, list(m))
        if op == "drop" and len(m) > 1:
            return {n: v for n, v in m.items() if n != name}
        if op == "extra":
            return {**m, extra_name: extra}
        rest = {n: v for n, v in m.items() if n != name}
        if op == "rename":
            return {**rest, name + ".bak": encode(name, m[name])}
        if op == "upper":
            return {**rest, name.upper(): encode(name, m[name])}
        return m

    return apply


# ---------------------------------------------------------------- bytes


@st.composite
def byte_mutation(draw) -> Mutation:
    """Random, empty, truncated, bit-flipped or oversized file contents."""
    pick = draw(PICK)
    op = draw(
        st.sampled_from(["random", "empty", "truncate", "flip", "repeat", "long_line"])
    )
    blob = draw(st.binary(min_size=1, max_size=512))
    frac = draw(st.floats(0, 1))
    flips = draw(
        st.lists(
            st.tuples(st.integers(0, 10**6), st.integers(1, 255)),
            min_size=1,
            max_size=8,
        )
    )
    times = draw(st.integers(2, 3000))

    def apply(m):
        name = _pick(pick, list(m))
        data = encode(name, m[name])
        if op == "random":
            data = blob
        elif op == "empty":
            data = b""
        elif op == "truncate":
            data = data[: int(len(data) * frac)]
        elif op == "flip":
            b = bytearray(data)
            for pos, x in flips:
                if b:
                    b[pos % len(b)] ^= x
            data = bytes(b)
        elif op == "repeat":
            data = data * min(times, max(1, (4 << 20) // max(len(data), 1)))
        else:
            data = data + b"a" * (3 << 20) + b"\n"
        return {**m, name: data}

    return apply


def mutations() -> st.SearchStrategy[list[Mutation]]:
    one = st.one_of(
        token_mutation(),
        line_mutation(),
        encoding_mutation(),
        array_mutation(),
        member_mutation(),
        byte_mutation(),
    )
    return st.lists(one, min_size=1, max_size=3)


# ---------------------------------------------------------------- containers


def materialise(members: dict[str, Member], dest: Path, container: str) -> Path:
    """Write members as one file (when there is one), a folder, or a ZIP."""
    files = {n: encode(n, v) for n, v in members.items()}
    if container == "file" and len(files) == 1:
        ((name, data),) = files.items()
        path = dest / Path(name).name
        path.write_bytes(data)
        return path
    if container.startswith("zip"):
        method = (
            zipfile.ZIP_STORED if container == "zip_stored" else zipfile.ZIP_DEFLATED
        )
        path = dest / "predictions.zip"
        with zipfile.ZipFile(path, "w", method) as zf:
            for name, data in files.items():
                zf.writestr(name, data)
        return path
    return write_dir(dest / "predictions", files)


CONTAINERS = st.sampled_from(["file", "dir", "zip", "zip_stored"])
