"""A baseline model container submitted through the API, run in the real
sandbox, scored, with latency and peak memory on the leaderboard."""

import pytest
from rest_framework.test import APIClient

from earthbench.submissions.models import Submission
from tests.sandbox.conftest import baseline_tar, engine  # noqa: F401  (fixtures)


@pytest.mark.docker
@pytest.mark.slow
def test_container_submission_scored_with_efficiency(api, eurosat, baseline_tar, settings, tmp_path, engine):  # noqa: F811
    settings.EARTHBENCH_SANDBOX_DIR = tmp_path / "sandbox"
    before = {i.id for i in engine.images.list(all=True)}
    with open(baseline_tar, "rb") as fh:
        r = api.post(
            "/api/v1/submissions/",
            {"benchmark": eurosat.slug, "file": fh, "kind": "container", "method_name": "baseline image"},
            format="multipart",
        )
    assert r.status_code == 201, r.content
    sub = Submission.objects.get(pk=r.json()["id"])
    assert sub.status == "scored", (sub.error, sub.log_tail)
    assert sub.image_digest.startswith("sha256:")
    assert {i.id for i in engine.images.list(all=True)} == before  # removed after the run
    assert sub.efficiency["latency_ms_per_sample"] > 0 and sub.efficiency["peak_memory_mb"] > 1
    lb = APIClient().get(f"/api/v1/benchmarks/{eurosat.slug}/leaderboard/").json()["results"]
    row = next(x for x in lb if x["submission_id"] == sub.pk)
    assert row["latency_ms_per_sample"] > 0 and row["oa"] > 0.3
    page = api.get(f"/benchmarks/{eurosat.slug}/")
    assert page.status_code == 200


@pytest.mark.docker
def test_container_that_is_not_an_image_fails_cleanly(api, eurosat, tmp_path, settings, engine):  # noqa: F811
    # The docker backend asks the engine first: without one it is the fake backend's
    # test (tests/platform/test_container_fake.py) that covers a non-image upload.
    settings.EARTHBENCH_SANDBOX_DIR = tmp_path / "sandbox"
    bogus = tmp_path / "model.tar"
    bogus.write_bytes(b"not a tar at all")
    with open(bogus, "rb") as fh:
        r = api.post("/api/v1/submissions/", {"benchmark": eurosat.slug, "file": fh, "kind": "container"}, format="multipart")
    sub = Submission.objects.get(pk=r.json()["id"])
    assert sub.status == "failed" and "model.tar" in sub.error and not sub.scores.exists()


@pytest.mark.docker
def test_gpu_benchmark_without_a_free_gpu_fails_cleanly_and_leaves_no_image(
    api, eurosat, tmp_path, settings, engine  # noqa: F811
):
    from tests.sandbox.imagebuild import busybox_layer, layer_tar, make_image_tar

    settings.EARTHBENCH_SANDBOX_DIR = tmp_path / "sandbox"
    settings.EARTHBENCH_WORKER_GPU_UUID = ""  # this worker owns no GPU (and NVML sees none)
    eurosat.container_limits = {"gpus": 1, "time_s": 30, "memory_mb": 64}
    eurosat.save(update_fields=["container_limits"])
    tar = make_image_tar(
        tmp_path / "model.tar",
        [busybox_layer(), layer_tar({"stamp": str(tmp_path).encode()})],
    )
    before = {i.id for i in engine.images.list(all=True)}
    with open(tar, "rb") as fh:
        r = api.post("/api/v1/submissions/", {"benchmark": eurosat.slug, "file": fh, "kind": "container"}, format="multipart")
    sub = Submission.objects.get(pk=r.json()["id"])
    assert sub.status == "failed" and "no GPU" in sub.error, sub.error
    assert {i.id for i in engine.images.list(all=True)} == before
