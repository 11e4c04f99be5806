"""Embedded Airflow for `make run` and the tests: metadata DB, pool, one DAG run.

Production uses docker-compose.yml (see docs/production.md); here Airflow runs
in-process on SQLite under $AIRFLOW_HOME (default <repo>/.airflow), which is
what `airflow dags test` does too.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from segmentation.config import REPO_ROOT

log = logging.getLogger(__name__)

WRITER_POOL = "duckdb_writer"
WRITER_POOL_DESCRIPTION = "DuckDB allows one writer: every task that writes the warehouse runs in this pool"


def airflow_env_defaults() -> dict[str, str]:
    """Environment an embedded Airflow needs; existing values win."""
    return {
        "AIRFLOW_HOME": str(REPO_ROOT / ".airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "DBT_PROFILES_DIR": str(REPO_ROOT / "dbt_project"),
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }


def apply_airflow_env() -> None:
    for key, value in airflow_env_defaults().items():
        os.environ.setdefault(key, value)


def init_airflow() -> None:
    """Create or upgrade the metadata DB and the single-writer pool. Safe to repeat."""
    apply_airflow_env()
    Path(os.environ["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    airflow = Path(sys.executable).with_name("airflow")
    log.info("migrating the Airflow metadata database in %s", os.environ["AIRFLOW_HOME"])
    subprocess.run([str(airflow), "db", "migrate"], check=True, stdout=subprocess.DEVNULL)
    ensure_pool()


def ensure_pool(slots: int = 1) -> None:
    from airflow.models.pool import Pool

    Pool.create_or_update_pool(WRITER_POOL, slots, WRITER_POOL_DESCRIPTION, include_deferred=False)
    log.info("pool %s has %d slot(s)", WRITER_POOL, slots)


def run_dag(dag_id: str, logical_date: str, run_conf: dict | None = None) -> int:
    """Run one DAG run in-process (like `airflow dags test`); 0 when it succeeded."""
    dag_run = test_dag_run(dag_id, logical_date, run_conf)
    state = str(dag_run.state)
    print(f"DAG {dag_id} run {dag_run.run_id}: {state}")
    return 0 if state.endswith("success") else 1


def test_dag_run(dag_id: str, logical_date: str, run_conf: dict | None = None):
    apply_airflow_env()
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    dag = bag.dags.get(dag_id)
    if dag is None:
        raise RuntimeError(f"no DAG {dag_id!r} in {os.environ['AIRFLOW__CORE__DAGS_FOLDER']}")
    when = datetime.fromisoformat(logical_date)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return dag.test(logical_date=when, run_conf=run_conf)
