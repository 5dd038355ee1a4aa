"""Composite fixtures for platform tests."""

from __future__ import annotations

import io

import factory
import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from benchmarks.catalog import CATALOG_DIR, load_spec
from earthbench import storage
from earthbench.accounts.services import token_create
from earthbench.benchmarks import services as bench_services
from earthbench.benchmarks.models import Benchmark


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "pw-123456789")

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        # Teams are per benchmark: a personal one comes with the first submission.
        if create:
            obj.save()


@pytest.fixture
def user(transactional_db):
    return UserFactory()


@pytest.fixture
def other_user(transactional_db):
    return UserFactory()


@pytest.fixture
def eurosat(transactional_db) -> Benchmark:
    """The demo EuroSAT benchmark with its generated data installed."""
    spec = load_spec(CATALOG_DIR / "eurosat-classification-v1" / "benchmark.yaml")
    bench = bench_services.benchmark_sync(spec=spec)
    bench_services.benchmark_prepare_demo(benchmark=bench)  # cached across tests
    return bench


@pytest.fixture
def truth_rows(eurosat) -> list[tuple[str, str]]:
    text = (storage.private_dir(eurosat.slug) / "truth.csv").read_text().splitlines()[1:]
    return [tuple(line.split(",")) for line in text]


def csv_bytes(rows) -> bytes:
    return ("id,label\n" + "".join(f"{a},{b}\n" for a, b in rows)).encode()


@pytest.fixture
def perfect_csv(truth_rows) -> bytes:
    return csv_bytes(truth_rows)


@pytest.fixture
def half_right_csv(truth_rows) -> bytes:
    rows = [(sid, lab if i % 2 == 0 else ("Forest" if lab != "Forest" else "River")) for i, (sid, lab) in enumerate(truth_rows)]
    return csv_bytes(rows)


def upload(content: bytes, name: str = "predictions.csv"):
    f = io.BytesIO(content)
    f.name = name
    return f


@pytest.fixture
def api(user):
    client = APIClient()
    _, key = token_create(user=user, name="test")
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    client.key = key
    return client


@pytest.fixture
def suite(eurosat):
    twin = Benchmark.objects.create(
        slug="eurosat-twin-v1", title="twin", task_kind="classification", primary_metric="oa",
        metrics=eurosat.metrics, options=eurosat.options, spec=eurosat.spec,
    )
    # the twin shares the installed demo data
    import shutil

    from earthbench import storage

    shutil.copytree(storage.benchmark_dir(eurosat.slug), storage.benchmark_dir(twin.slug), dirs_exist_ok=True)
    spec = {"suite": {"members": [eurosat.slug, twin.slug, "absent-v1"], "n_resamples": 200,
                      "reference": {eurosat.slug: {"metric": "oa", "min": 0.1, "max": 1.0},
                                    twin.slug: {"metric": "oa", "min": 0.0, "max": 2.0}}}}
    s = Benchmark.objects.create(slug="mini-suite-v1", title="suite", task_kind="suite", primary_metric="iqm",
                                 metrics=[{"key": "iqm", "direction": "max"}], spec=spec)
    return s, twin
