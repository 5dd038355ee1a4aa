"""Fixed public/private assignment of test samples.

Each id is assigned by a keyed hash of (seed, id), so the assignment does not
depend on file order and re-importing the same dataset gives the same split.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def assign_splits(
    ids: Iterable[str], *, public_fraction: float = 0.5, seed: int = 0
) -> dict[str, list[str]]:
    public, private = [], []
    for sid in ids:
        h = hashlib.sha256(f"{seed}:{sid}".encode()).digest()
        u = int.from_bytes(h[:8], "big") / 2**64
        (public if u < public_fraction else private).append(sid)
    if not public or not private:  # tiny sets: keep both splits non-empty
        allids = sorted(public + private)
        k = max(1, round(len(allids) * public_fraction))
        public, private = allids[:k], allids[k:]
    return {"public": sorted(public), "private": sorted(private)}
