"""Shared fixtures for the whole suite."""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_root() -> Path:
    return Path(os.environ.get("EARTHBENCH_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def shared_data():
    """Folder of real dataset samples; the test is skipped when it is absent."""

    def get(*parts: str) -> Path:
        p = shared_data_root().joinpath(*parts)
        if not p.exists():
            pytest.skip(f"real sample data not available: {p}")
        return p

    return get


# ------------------------------------------------------------ parallel runs
# `make test` runs the suite on pytest-xdist workers with `--dist load` (tests handed
# out one by one, by index). Each worker is its own process: earthbench.settings.test
# makes a fresh temporary folder per process for storage, the SQLite test database and
# the embedded broker, and live servers pick free ports. (Not `loadgroup`/`loadscope`:
# under pytest 9 xdist cannot tag node ids with a group, and they key work by node id,
# so schemathesis' 41 cases that share one id would run once.)
# Slow tests are handed out first, longest first, so the longest ones do not start
# last (a worker that picks a 40 s test at the end keeps the run waiting for it):
# `@pytest.mark.slow(N)` estimates N seconds of wall time on the 2-core machine, a
# bare `slow` counts 5. pytest-django then orders the tests as Django does (tests
# using the database, then transactional ones, then the rest; stable, so slow ones
# stay first in each group). Tests that do not touch the test database cannot be
# affected by that order: the slow ones among them (the catalog chunks, the live
# stacks, which run on their own SQLite files) are moved to the very front.

_DB_FIXTURES = {"db", "transactional_db", "live_server", "django_db_reset_sequences",
                "django_db_serialized_rollback"}


def expected_seconds(item: pytest.Item) -> float:
    marker = item.get_closest_marker("slow")
    if marker is None:
        return 0.0
    return float(marker.args[0]) if marker.args else 5.0


def uses_test_database(item: pytest.Item) -> bool:
    from django.test import TransactionTestCase

    cls = getattr(item, "cls", None)
    return bool(
        (cls is not None and issubclass(cls, TransactionTestCase))
        or item.get_closest_marker("django_db") is not None
        or _DB_FIXTURES & set(getattr(item, "fixturenames", ()))
    )


def _front(item: pytest.Item) -> bool:
    return expected_seconds(item) > 0 and not uses_test_database(item)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda it: -expected_seconds(it))  # stable


class _SlowWithoutDatabaseFirst:
    """Runs after pytest-django's reordering (a second hook of the same name)."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        if os.environ.get("PYTEST_XDIST_WORKER"):
            items.sort(key=lambda it: not _front(it))  # stable: longest first among them


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_SlowWithoutDatabaseFirst(), "earthbench-slow-first")


# Tests are handed out one at a time (`--maxschedchunk 1`, Makefile), so a module's
# tests would land on every worker, and a module-scoped fixture (a live server and
# worker, a browser) would be built once per worker that runs any of them. The
# modules whose tests share a module-, class- or package-scoped fixture of this suite
# are therefore handed out whole: the first worker to get one of their tests gets
# them all. The first worker writes that set of modules when it has collected; the
# controller's scheduler (below) reads it when it starts handing tests out.


def _group_file(run: str) -> Path:
    return Path(tempfile.gettempdir()) / f"earthbench-xdist-groups-{run}.json"


def shares_a_module_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    for name in info.names_closure:
        defs = info.name2fixturedefs.get(name) or ()
        if defs and defs[-1].scope in ("module", "class", "package") and defs[-1].baseid.startswith("tests"):
            return True
    return False


def pytest_sessionfinish(session: pytest.Session) -> None:
    # The controller read the file before the first test ran.
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run and os.environ.get("PYTEST_XDIST_WORKER") == "gw0":
        _group_file(run).unlink(missing_ok=True)


# tryfirst: before xdist's own hook sends this worker's collection to the controller,
# which starts handing tests out once every worker's collection is in. Otherwise the
# controller could find no file and hand out the grouped modules test by test (it
# happened: one run built test_contract.py's live stack on all three workers).
@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if not run or os.environ.get("PYTEST_XDIST_WORKER") != "gw0":
        return
    import json

    modules = sorted({it.nodeid.split("::")[0] for it in session.items if shares_a_module_fixture(it)})
    tmp = _group_file(run).with_suffix(".tmp")
    tmp.write_text(json.dumps(modules))
    tmp.replace(_group_file(run))


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    if config.getoption("dist") != "load":
        return None
    return modules_whole_scheduler(config, log)


def modules_whole_scheduler(config: pytest.Config, log):
    return modules_whole_class()(config, log)


def modules_whole_class():
    from xdist.scheduler import LoadScheduling

    class ModulesWhole(LoadScheduling):
        """``--dist load`` that sends a module sharing a module fixture in one piece."""

        groups: set[str] | None = None

        def _send_tests(self, node, num: int) -> None:
            if self.groups is None:
                import json

                f = _group_file(node.workerinput["testrunuid"])
                self.groups = set(json.loads(f.read_text())) if f.exists() else set()
            take = self.pending[:num]
            modules = {self.collection[i].split("::")[0] for i in take} & self.groups
            if modules:
                taken = set(take)
                take += [i for i in self.pending[num:]
                         if i not in taken and self.collection[i].split("::")[0] in modules]
            if take:
                chosen = set(take)
                self.pending[:] = [i for i in self.pending if i not in chosen]
                self.node2pending[node].extend(take)
                node.send_runtest_some(take)

    return ModulesWhole


# Docker tests share one engine: several compare the engine's whole image list before
# and after a run, and an image another worker loads meanwhile would fail them. Under
# xdist each docker-marked or engine-using test (its fixtures' set-up and tear-down included) holds one
# lock shared by the run's workers, so they run one at a time; the rest stay parallel.
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem):
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    uses_engine = item.get_closest_marker("docker") is not None or "engine" in getattr(item, "fixturenames", ())
    if not run or not uses_engine:
        yield
        return
    with open(Path(tempfile.gettempdir()) / f"earthbench-docker-{run}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


# ------------------------------------------------------------ shared demo data
# Every demo dataset is generated once per `pytest` run, not once per test that loads
# it: earthbench.settings.test makes a demo-data cache folder in the first process
# (the xdist controller, or the only process) and exports it; the workers and the
# `manage.py` subprocesses inherit it (EARTHBENCH_DEMO_CACHE_DIR,
# benchmarks/generators/cache.py). The generator tests call generate() directly and
# still compare two fresh runs byte for byte.


def pytest_unconfigure(config: pytest.Config) -> None:
    from django.conf import settings

    if settings.configured and getattr(settings, "EARTHBENCH_DEMO_CACHE_OWNED", False):
        shutil.rmtree(settings.EARTHBENCH_DEMO_CACHE_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def demo_cache_dir() -> Path:
    from django.conf import settings

    return Path(settings.EARTHBENCH_DEMO_CACHE_DIR)


# ------------------------------------------------------------ migrated database
# Tests that start `manage.py` stacks (live servers, the catalog loads) each need a
# migrated SQLite file; migrating costs ~2.5 s of CPU a time. One is made per process
# and copied (with its -wal/-shm files, if any) wherever a fresh database is needed.


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A folder holding ``db.sqlite3``, migrated by ``manage.py migrate`` under the
    settings the stacks run with (earthbench.settings.dev)."""
    import subprocess
    import sys

    var = tmp_path_factory.mktemp("migrated-db")
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.update(
        DJANGO_SETTINGS_MODULE="earthbench.settings.dev",
        EARTHBENCH_VAR_DIR=str(var),
        DATABASE_URL=f"sqlite:///{var / 'db.sqlite3'}",
        CELERY_BROKER_URL=f"sqla+sqlite:///{var / 'broker.sqlite3'}",
        PYTHONPATH=f"{REPO}:{REPO / 'platform'}",
    )
    r = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return var


def copy_migrated_db(template: Path, dest_db: Path) -> None:
    """The migrated database (and its WAL files) copied to ``dest_db``."""
    dest_db.parent.mkdir(parents=True, exist_ok=True)
    for f in template.glob("db.sqlite3*"):
        shutil.copy2(f, dest_db.with_name(dest_db.name + f.name[len("db.sqlite3"):]))
