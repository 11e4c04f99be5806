"""segmentation.inprocess: the heap freeze before dbt tasks and the release of dbt-duckdb's handles."""

from __future__ import annotations

import gc
import sys
import threading
import types

import pytest

from segmentation.inprocess import freeze_long_lived_objects, release_inprocess_dbt


@pytest.fixture(autouse=True)
def _unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


class _Holder:
    """A tracked object in a reference cycle, as dbt's and Airflow's objects are."""

    def __init__(self) -> None:
        self.me = self


def test_frozen_objects_are_left_out_of_collections_but_new_ones_are_not():
    before = _Holder()
    count = freeze_long_lived_objects({"ti": None})
    assert count >= 1 and count == gc.get_freeze_count()
    after = _Holder()
    tracked = {id(o) for o in gc.get_objects()}
    assert id(before) not in tracked  # a collection walks it no more
    assert id(after) in tracked


def _fake_dbt_duckdb(monkeypatch):
    """Stand-ins for dbt.adapters.duckdb.{connections,environments} with the attributes used."""
    environments = types.ModuleType("dbt.adapters.duckdb.environments")

    class Environment:
        def __init__(self) -> None:
            self.conn = object()
            self.closed = False
            self.cycle = self

        def close(self) -> None:
            self.closed = True
            self.conn = None

    environments.Environment = Environment
    connections = types.ModuleType("dbt.adapters.duckdb.connections")
    connections.DuckDBConnectionManager = type("DuckDBConnectionManager", (), {"_LOCK": threading.RLock(),
                                                                               "_ENV": None})
    monkeypatch.setitem(sys.modules, "dbt.adapters.duckdb.environments", environments)
    monkeypatch.setitem(sys.modules, "dbt.adapters.duckdb.connections", connections)
    return Environment, connections.DuckDBConnectionManager


def test_release_closes_a_handle_left_by_a_dbt_task_even_after_a_freeze(monkeypatch):
    # a dbt task left its environment open; the next dbt task froze the heap; the
    # quality gate after them must still find and close that handle
    environment_class, manager = _fake_dbt_duckdb(monkeypatch)
    left_open = environment_class()
    manager._ENV = left_open
    freeze_long_lived_objects()
    assert release_inprocess_dbt() == 1
    assert left_open.closed and manager._ENV is None


def test_release_does_nothing_where_dbt_never_ran(monkeypatch):
    monkeypatch.delitem(sys.modules, "dbt.adapters.duckdb.connections", raising=False)
    monkeypatch.delitem(sys.modules, "dbt.adapters.duckdb.environments", raising=False)
    assert release_inprocess_dbt() == 0
