import os
import tempfile
from pathlib import Path

from earthbench.settings.base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast tests
_tmp = Path(tempfile.mkdtemp(prefix="earthbench-test-"))
EARTHBENCH_STORAGE_DIR = Path(os.environ.get("EARTHBENCH_STORAGE_DIR", _tmp / "storage"))
FILE_UPLOAD_TEMP_DIR = upload_temp_dir(EARTHBENCH_STORAGE_DIR)  # noqa: F405
CELERY_TASK_ALWAYS_EAGER = os.environ.get("CELERY_TASK_ALWAYS_EAGER", "1") == "1"
# One demo-data cache per test run, not per process: the first process makes it and
# exports it, so the xdist workers and the manage.py subprocesses share it (removed by
# tests/conftest.py at the end of the run).
EARTHBENCH_DEMO_CACHE_OWNED = not os.environ.get("EARTHBENCH_DEMO_CACHE_DIR")
if EARTHBENCH_DEMO_CACHE_OWNED:  # made on first use (benchmarks/generators/cache.py)
    os.environ["EARTHBENCH_DEMO_CACHE_DIR"] = str(_tmp / "demo-cache")
    # METEOR's answers by exact input (evaluator/text/meteor.py), shared the same way:
    # the catalog test's CLI reproduction sends the jar what load_catalog sent it.
    os.environ.setdefault("EARTHBENCH_METEOR_CACHE_DIR", str(_tmp / "demo-cache" / "meteor"))
EARTHBENCH_DEMO_CACHE_DIR = os.environ["EARTHBENCH_DEMO_CACHE_DIR"]
EARTHBENCH_BOOTSTRAP_RESAMPLES = 50
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # A file, not :memory:, so a real worker process can share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(_tmp / "test.sqlite3")}  # noqa: F405
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", f"sqla+sqlite:///{_tmp / 'broker.sqlite3'}")

REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "100000/min", "submit": "100000/min"}}  # noqa: F405
