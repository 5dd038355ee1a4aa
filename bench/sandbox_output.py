"""Figures for docs/reliability.md (issue 18, /output): attacks on /output with
the default Limits, on the local engine, and the engine's image list around
them. Needs .ci/docker.sh (engine + busybox-static).

    PYTHONPATH=. .venv/bin/python bench/sandbox_output.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluator.sandbox import (  # noqa: E402
    ImageLeases,
    InputSample,
    Limits,
    Sandbox,
    SandboxConfig,
    docker_client,
    loaded_image,
)
from tests.sandbox.imagebuild import busybox_layer, layer_tar, make_image_tar  # noqa: E402

ATTACKS = {
    "fallocate_4G": "fallocate -l 4G /output/f; echo @rc=$? >&2",
    "fallocate_3x900M": "for i in 1 2 3; do fallocate -l 900M /output/f$i; echo @rc$i=$? >&2; done",
    "dd_3GiB": "dd if=/dev/zero of=/output/d bs=1M count=3072 2>/dev/null; echo @rc=$? >&2",
    "sparse_10G": "dd if=/dev/zero of=/output/s bs=1 count=1 seek=10737418240 2>/dev/null;"
    " echo @rc=$? >&2",
    "files_120k": "cd /output && i=0; while [ $i -lt 120000 ]; do touch f$i 2>/dev/null || break;"
    " i=$((i+1)); done; echo @files=$i >&2",
}


def blocks(root: Path) -> int:
    return sum(
        os.lstat(os.path.join(d, f)).st_blocks * 512
        for d, _, fs in os.walk(root)
        for f in fs
    )


def main() -> None:
    client = docker_client()
    out: dict = {"output_mode": SandboxConfig(work_root=Path("/tmp")).output_mode}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        tar = make_image_tar(
            tmp / "bb.tar",
            [busybox_layer(), layer_tar({"s": str(time.time()).encode()})],
        )
        before = {i.id for i in client.images.list(all=True)}
        sb = Sandbox(SandboxConfig(work_root=tmp / "jobs"), client=client)
        with loaded_image(client, tar, ImageLeases(tmp / "jobs"), "figures") as info:
            for name, script in ATTACKS.items():
                (tmp / "job.sh").write_text(script + "\n")
                t0 = time.monotonic()
                with sb.run(
                    job_id=name.replace("_", "-"),
                    image_id=info.image_id,
                    samples=[InputSample("job", {"job.sh": tmp / "job.sh"})],
                    benchmark="figures",
                    task_kind="classification",
                    limits=Limits(time_s=300),
                ) as r:
                    out[name] = {
                        "in_container": [
                            x for x in r.log_tail.splitlines() if x.startswith("@")
                        ],
                        "host_bytes_allocated": blocks(r.output_dir),
                        "files": sum(len(f) for _, _, f in os.walk(r.output_dir)),
                        "verdict": r.error,
                        "seconds": round(time.monotonic() - t0, 2),
                        "peak_memory_mib": round((r.peak_memory_bytes or 0) / 2**20, 1),
                    }
        out["images_added"] = len({i.id for i in client.images.list(all=True)} - before)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
