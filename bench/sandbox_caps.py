"""Figures for docs/reliability.md (issue 18, images): what the layer counting
costs and how early it refuses. No engine needed.

    PYTHONPATH=. .venv/bin/python bench/sandbox_caps.py
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluator.errors import ValidationError  # noqa: E402
from evaluator.sandbox.imagetar import validate_image_tar  # noqa: E402
from evaluator.sandbox.limits import ImageCaps  # noqa: E402
from tests.sandbox.imagebuild import layer_tar, make_image_tar  # noqa: E402

MIB = 1 << 20


def timed(path, caps):
    t0 = time.perf_counter()
    try:
        validate_image_tar(path, caps)
        verdict = "accepted"
    except ValidationError as exc:
        verdict = str(exc).split(": ", 1)[1]
    return round(time.perf_counter() - t0, 3), verdict


def main() -> None:
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # 1. gzip bomb: 8 GiB of zeros once inflated, as multi-member gzip.
        head = gzip.compress(layer_tar({"blob": b"\0" * MIB})[: 512 + MIB], 9)
        block = gzip.compress(b"\0" * MIB, 9)
        bomb = make_image_tar(tmp / "bomb.tar", [head + block * 8192])
        s, verdict = timed(bomb, ImageCaps(max_total_bytes=20 * 1024 * MIB))
        out["bomb_8GiB"] = {
            "upload_bytes": bomb.stat().st_size,
            "default_caps_verdict": False if verdict == "accepted" else verdict,
            "seconds": s,
        }
        s, verdict = timed(bomb, ImageCaps(max_total_bytes=64 * MIB))
        out["bomb_8GiB_cap_64MiB"] = {"seconds": s, "verdict": verdict}
        # 2. cost on an honest image: 256 MiB layer of mixed data, gzip level 6.
        data = os.urandom(64 * MIB) + b"\0" * (192 * MIB)
        layer = layer_tar({"weights.bin": data})
        plain = make_image_tar(tmp / "plain.tar", [layer])
        gz = make_image_tar(tmp / "gz.tar", [gzip.compress(layer, 6)])
        for name, path in (
            ("honest_256MiB_plain_tar", plain),
            ("honest_256MiB_gzip_layer", gz),
        ):
            seconds, verdict = timed(path, None)
            out[name] = {"seconds": seconds, "verdict": verdict}
        out["gzip_layer_upload_bytes"] = gz.stat().st_size
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
