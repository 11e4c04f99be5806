"""The erasure DAG is manual, single-writer, and the daily DAG exports audiences after publishing."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dagbag(dbt_manifest):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_gdpr_erasure_runs_only_on_demand_in_the_writer_pool(dagbag):
    assert dagbag.import_errors == {}
    dag = dagbag.dags["gdpr_erasure"]
    assert dag.schedule is None or str(dag.timetable.summary) in ("None", "")
    assert set(dag.params.keys()) == {"requests", "requests_file"}
    assert [t.pool for t in dag.tasks] == ["duckdb_writer"]


def test_audiences_are_exported_after_publishing_and_retention_follows(dagbag):
    dag = dagbag.dags["customer_segments"]
    assert "publish" in dag.get_task("export_audiences").get_flat_relative_ids(upstream=True)
    assert "export_audiences" in dag.get_task("enforce_raw_retention").upstream_task_ids
    assert dag.get_task("export_audiences").pool == dag.get_task("enforce_raw_retention").pool == "duckdb_writer"
