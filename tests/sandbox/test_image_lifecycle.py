"""Loaded images never outlive their job (issue 18): after a run, after a refusal
(ours or the engine's), and after the worker died mid-run (the reaper).

Each test compares the engine's full image list before and after.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import time

import pytest

from evaluator.errors import ValidationError
from evaluator.sandbox import (
    ImageLeases,
    Limits,
    Sandbox,
    SandboxConfig,
    load_image,
    loaded_image,
    reap_expired,
)
from tests.sandbox.conftest import REPO, script_sample
from tests.sandbox.imagebuild import (
    base_config,
    busybox_layer,
    layer_tar,
    make_image_tar,
)

pytestmark = pytest.mark.docker


def engine_images(engine) -> set[str]:
    return {i.id for i in engine.images.list(all=True)}


def fresh_image(tmp_path, name="img.tar", **kw):
    """A busybox image with a unique layer: never already on the engine."""
    stamp = layer_tar({"stamp": str(time.time_ns()).encode()})
    return make_image_tar(tmp_path / name, [busybox_layer(), stamp], **kw)


def test_image_removed_after_a_run(engine, busybox_image, tmp_path):
    before = engine_images(engine)
    root = tmp_path / "jobs"
    sandbox = Sandbox(SandboxConfig(work_root=root), client=engine)
    leases = ImageLeases(root)
    with loaded_image(engine, fresh_image(tmp_path), leases, "job-run") as info:
        assert info.image_id in engine_images(engine)
        assert leases.tracked() == [info.image_id]
        with sandbox.run(
            job_id="job-run",
            image_id=info.image_id,
            samples=[script_sample("echo 1 > /output/p.csv\n", tmp_path)],
            benchmark="t",
            task_kind="classification",
            limits=Limits(time_s=30, memory_mb=64, cpus=1, pids=16, tmpfs_mb=4),
            expected_outputs=("p.csv",),
        ) as result:
            assert result.ok, result.error
    assert engine_images(engine) == before
    assert leases.tracked() == []


def test_image_removed_when_the_run_raises(engine, busybox_image, tmp_path):
    before = engine_images(engine)
    leases = ImageLeases(tmp_path / "jobs")
    with pytest.raises(RuntimeError, match="boom"):
        with loaded_image(engine, fresh_image(tmp_path), leases, "job-x"):
            raise RuntimeError("boom")
    assert engine_images(engine) == before


@pytest.mark.parametrize("with_leases", [True, False])
def test_image_removed_after_the_engines_own_refusal(
    engine, busybox_image, tmp_path, with_leases
):
    # Python reads "User"; the engine reads JSON keys case-insensitively and
    # takes the last one, "user": "0" -> the re-check of its view refuses.
    tar = fresh_image(tmp_path, config=base_config(user="0"))
    before = engine_images(engine)
    kw = (
        {"leases": ImageLeases(tmp_path / "jobs"), "job_id": "j1"}
        if with_leases
        else {}
    )
    with pytest.raises(ValidationError, match="image USER is '0'"):
        load_image(engine, tar, **kw)
    assert engine_images(engine) == before


def test_engine_load_error_leaves_nothing(engine, busybox_image, tmp_path):
    # diff_ids that do not match the layers: the engine refuses during load.
    tar = fresh_image(tmp_path)
    bad = tmp_path / "bad.tar"

    with tarfile.open(tar) as tin, tarfile.open(bad, "w") as tout:
        for m in tin:
            data = tin.extractfile(m).read() if m.isreg() else None
            if m.name.endswith("layer.tar"):
                data = data[:-1024] + b"\1" * 1024  # same size, other content
            tout.addfile(m, io.BytesIO(data) if data is not None else None)
    before = engine_images(engine)
    leases = ImageLeases(tmp_path / "jobs")
    with pytest.raises(ValidationError, match="the engine refused the image"):
        load_image(engine, bad, leases=leases, job_id="j2")
    assert engine_images(engine) == before
    assert leases.tracked() == []


def test_an_image_already_on_the_engine_is_kept(engine, busybox_image, tmp_path):
    # Same content as an image the platform did not load (an operator's): kept.
    tar = fresh_image(tmp_path)
    operator = load_image(engine, tar).image_id
    try:
        with loaded_image(engine, tar, ImageLeases(tmp_path / "jobs"), "j3") as info:
            assert info.image_id == operator
        assert operator in engine_images(engine)
    finally:
        engine.images.remove(operator, force=True)


WORKER = """
import sys
from pathlib import Path
from evaluator.sandbox import (ImageLeases, InputSample, Limits, Sandbox, SandboxConfig,
                               docker_client, loaded_image)
root, tar, script = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
client = docker_client()
sb = Sandbox(SandboxConfig(work_root=root, deadline_grace_s=1), client=client)
with loaded_image(client, tar, ImageLeases(root), "crash") as info:
    sb.run(job_id="crash", image_id=info.image_id,
           samples=[InputSample("job", {"job.sh": script})],
           benchmark="t", task_kind="classification",
           limits=Limits(time_s=2, memory_mb=64, cpus=1, pids=16, tmpfs_mb=4))
"""


def test_reaper_removes_the_image_of_a_dead_worker(engine, busybox_image, tmp_path):
    script = tmp_path / "job.sh"
    script.write_text("sleep 1000\n")
    root = tmp_path / "jobs"
    tar = fresh_image(tmp_path)
    before = engine_images(engine)
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(root), str(tar), str(script)], cwd=REPO
    )
    try:
        for _ in range(200):
            if engine.containers.list(filters={"label": "earthbench.job=crash"}):
                break
            time.sleep(0.1)
        else:
            pytest.fail("the worker never started its container")
        worker.kill()  # SIGKILL: no finally block runs, the image stays
        worker.wait(10)
        assert len(engine_images(engine) - before) == 1
        grace = ImageLeases(root).grace_s
        # Deadline passed, lease still young: the container goes, the image stays
        # (a live worker may still be between load and create).
        assert reap_expired(engine, now=time.time() + 10, work_root=root) == ["crash"]
        assert len(engine_images(engine) - before) == 1
        reap_expired(engine, now=time.time() + grace + 10, work_root=root)
        assert engine_images(engine) == before
        assert ImageLeases(root).tracked() == []
    finally:
        worker.kill()
        for c in engine.containers.list(
            all=True, filters={"label": "earthbench.job=crash"}
        ):
            c.remove(force=True)


def test_a_load_longer_than_the_grace_keeps_its_lease(
    engine, busybox_image, tmp_path, monkeypatch
):
    # The reaper runs while the upload is still streaming to the engine and
    # drops the stale-looking lease (grace 0): the loading job re-creates it
    # after the load, and still removes the image at the end.
    import evaluator.sandbox.engine as engine_mod

    before = engine_images(engine)
    leases = ImageLeases(tmp_path / "jobs", grace_s=0)
    real_stream = engine_mod.load_stream

    def stream_then_reap(path):
        yield from real_stream(path)
        # The body is not finished yet: the engine has not created the image.
        leases.reap(engine, now=time.time() + 10)
        assert leases.tracked() == []

    monkeypatch.setattr(engine_mod, "load_stream", stream_then_reap)
    with loaded_image(engine, fresh_image(tmp_path), leases, "slow") as info:
        assert leases.tracked() == [info.image_id]
        assert info.image_id in engine_images(engine)
    assert engine_images(engine) == before
