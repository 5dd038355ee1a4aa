"""The scheduler of `make test` (tests/conftest.py): tests one at a time, except
modules sharing a module-scoped fixture, which go to one worker whole."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import pytest

from tests import conftest


class FakeNode:
    def __init__(self, name: str, run: str):
        self.gateway = SimpleNamespace(id=name)
        self.workerinput = {"testrunuid": run}
        self.shutting_down = False
        self.sent: list[int] = []

    def send_runtest_some(self, indices):
        self.sent += indices


def test_a_grouped_module_goes_whole_to_the_first_worker_that_gets_one(tmp_path, monkeypatch):
    monkeypatch.setattr(conftest, "_group_file", lambda run: tmp_path / f"{run}.json")
    (tmp_path / "r1.json").write_text(json.dumps(["tests/a/test_live.py"]))
    sched = object.__new__(conftest.modules_whole_class())  # no workers to start here
    sched.pending = []
    sched.collection = [
        "tests/a/test_live.py::test_1", "tests/b/test_x.py::test_1", "tests/a/test_live.py::test_2",
        "tests/b/test_x.py::test_2", "tests/a/test_live.py::test_3",
    ]
    sched.pending[:] = range(len(sched.collection))
    a, b = FakeNode("gw0", "r1"), FakeNode("gw1", "r1")
    sched.node2pending = {a: [], b: []}
    sched._send_tests(a, 1)
    assert a.sent == [0, 2, 4]  # the whole module, in its order
    sched._send_tests(b, 1)
    assert b.sent == [1]  # an ungrouped test alone
    assert sched.pending == [3]


def test_the_live_modules_are_grouped_and_plain_ones_are_not(request):
    items = {it.nodeid.split("::")[0]: it for it in request.session.items}
    if "tests/client/test_contract.py" not in items:
        pytest.skip("run with the client tests collected")
    assert conftest.shares_a_module_fixture(items["tests/client/test_contract.py"])
    assert not conftest.shares_a_module_fixture(request.node)


class _Marked:
    def __init__(self, mark):
        self.mark = mark

    def get_closest_marker(self, name):
        return self.mark if name == "slow" else None


def test_slow_tests_are_handed_out_longest_first(request):
    assert conftest.expected_seconds(_Marked(pytest.mark.slow(40).mark)) == 40
    assert conftest.expected_seconds(_Marked(pytest.mark.slow.mark)) == 5
    assert conftest.expected_seconds(_Marked(None)) == 0
    assert conftest.expected_seconds(request.node) == 0
    items = request.session.items
    if os.environ.get("PYTEST_XDIST_WORKER"):  # the workers' collection order is the hand-out order
        # slow tests that do not touch the test database first, longest first
        front = [it for it in items if conftest._front(it)]
        assert items[: len(front)] == front
        est = [conftest.expected_seconds(it) for it in front]
        assert est == sorted(est, reverse=True)
        # then pytest-django's order (database, transactional, the rest), slow first in each
        rest = [(_django_group(it), -conftest.expected_seconds(it)) for it in items[len(front):]]
        assert rest == sorted(rest)
        assert len({g for g, _ in rest}) > 1 and any(e < 0 for g, e in rest if g < 2)


def _django_group(item) -> int:
    """pytest-django's order: 0 database, 1 transactional, 2 neither."""
    fixtures = set(getattr(item, "fixturenames", ()))
    marker = item.get_closest_marker("django_db")
    transactional = bool({"transactional_db", "live_server"} & fixtures) or bool(
        marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")))
    if transactional:
        return 1
    return 0 if conftest.uses_test_database(item) else 2


def test_the_group_file_is_written_before_the_collection_reaches_the_controller(request):
    """pluggy calls the hook implementations from the end of this list."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.skip("only a worker sends its collection")
    impls = request.config.pluginmanager.hook.pytest_collection_finish.get_hookimpls()
    order = [type(i.plugin).__name__ if not hasattr(i.plugin, "__file__") else i.plugin.__name__
             for i in reversed(impls)]
    assert order.index("tests.conftest") < order.index("WorkerInteractor"), order
