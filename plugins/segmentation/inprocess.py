"""Release DuckDB handles that an in-process dbt run left open.

cosmos runs dbt in-process (``InvocationMode.DBT_RUNNER``: no interpreter
start-up per model). In a real deployment every Airflow task is its own
process, so nothing outlives the task. Under ``dag.test()`` (``make run``, the
end-to-end tests) every task shares one process, and dbt-duckdb keeps its
DuckDB instance on the warehouse file open after the run returns. DuckDB then
refuses a second connection to that file with another configuration (the
quality gate's SQLAlchemy engine sets a user agent), so tasks that open the
warehouse call :func:`release_inprocess_dbt` first. Where dbt never ran in
this process it does nothing.

cosmos also runs a full ``gc.collect()`` after every in-process dbt run (to
release dbt's semaphores). A full collection walks every object the task
process holds (Airflow, the parsed DAG, great_expectations, dbt's own
imports): 0.7 s per dbt task under ``dag.test()``, about a third of a small
model's task. :func:`freeze_long_lived_objects` runs before every dbt task
and moves what is alive then out of the collector's reach (``gc.freeze()``),
so the collection after the run walks only what the run created.
"""

from __future__ import annotations

import gc
import logging
import sys

log = logging.getLogger(__name__)


def freeze_long_lived_objects(context: object = None) -> int:
    """``gc.freeze()``: objects alive now are never walked by the cyclic collector again.

    An Airflow ``on_execute_callback`` of the dbt tasks (``context`` unused). Frozen
    objects are still freed when nothing refers to them any more; only a reference
    cycle among them outlives its use, and the collection at the end of each dbt run
    leaves few such cycles to freeze. Returns how many objects are frozen in all.
    """
    gc.freeze()
    return gc.get_freeze_count()


def release_inprocess_dbt() -> int:
    """Close every dbt-duckdb environment alive in this process; returns how many were open."""
    connections = sys.modules.get("dbt.adapters.duckdb.connections")
    environments = sys.modules.get("dbt.adapters.duckdb.environments")
    if connections is None or environments is None:
        return 0
    # gc.get_objects() does not list frozen objects (freeze_long_lived_objects): an
    # environment left by an earlier dbt task may be among them.
    gc.unfreeze()
    manager = connections.DuckDBConnectionManager
    with manager._LOCK:
        manager._ENV = None
    closed = 0
    base = environments.Environment
    for obj in gc.get_objects():
        # type(obj).__mro__, not isinstance(): isinstance reads obj.__class__, which
        # lazy-import proxies alive in an Airflow process turn into imports.
        if base in type(obj).__mro__ and getattr(obj, "conn", None) is not None:
            obj.close()
            closed += 1
    gc.collect()
    if closed:
        log.info("closed %d DuckDB handle(s) left open by an in-process dbt run", closed)
    return closed
