"""The DAG imports cleanly and is wired as designed (parse time: bench/dag_parse.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dagbag(dbt_manifest):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


@pytest.fixture(scope="module")
def dag(dagbag):
    return dagbag.dags["customer_segments"]


def test_dag_files_import_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "customer_segments" in dagbag.dag_ids


def test_dag_runs_daily_without_catchup(dag):
    assert dag.schedule == "@daily" or str(dag.timetable.summary) == "@daily"
    assert dag.catchup is False
    assert dag.max_active_runs == 1


def test_pipeline_stages_run_in_order(dag):
    ids = set(dag.task_ids)
    for task_id in ("load_raw_extracts", "quality_gate_raw", "validate_segment_rules", "quality_gate_marts",
                    "publish", "summary"):
        assert task_id in ids
    dbt_tasks = [t for t in ids if t.startswith("dbt_build.")]
    assert dbt_tasks, "the cosmos task group rendered no dbt tasks"

    upstream_of_publish = dag.get_task("publish").get_flat_relative_ids(upstream=True)
    assert {"load_raw_extracts", "quality_gate_raw", "quality_gate_marts"} <= upstream_of_publish
    assert set(dbt_tasks) <= upstream_of_publish
    for dbt_task in dbt_tasks:
        upstream = dag.get_task(dbt_task).get_flat_relative_ids(upstream=True)
        assert {"quality_gate_raw", "validate_segment_rules"} <= upstream, dbt_task


def test_every_task_that_writes_the_warehouse_uses_the_single_writer_pool(dag):
    readers = {"summary", "validate_segment_rules"}
    writers = [t for t in dag.tasks if t.task_id not in readers]
    assert writers
    for task in writers:
        assert task.pool == "duckdb_writer", f"{task.task_id} runs in pool {task.pool!r}"


def test_tasks_retry_except_quality_gates(dag):
    for task in dag.tasks:
        if task.task_id.startswith("quality_gate_"):
            assert task.retries == 0, f"{task.task_id}: a failed gate is a finding, retrying cannot fix it"
        else:
            assert task.retries >= 1, task.task_id


def test_dbt_models_of_every_layer_are_rendered(dag):
    ids = " ".join(dag.task_ids)
    for model in ("customer_profile", "customer_segments", "segment_summary"):
        assert model in ids


def test_dbt_task_group_renders_from_the_manifest_not_by_running_dbt():
    """What keeps the DAG's parse time low: cosmos reads target/manifest.json
    (LoadMode.DBT_MANIFEST) instead of running `dbt ls` at every parse. The parse
    time itself is a benchmark (bench/dag_parse.py, figures in bench/RESULTS.md),
    not a timed test."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("customer_segments_dag", REPO / "dags" / "customer_segments.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.render_config.load_method.name == "DBT_MANIFEST"
    assert str(module.project_config.manifest_path) == str(REPO / "dbt_project" / "target" / "manifest.json")


def test_segment_validation_alerts_and_report_run_after_publish(dag):
    for task_id in ("validate_segments", "check_segment_alerts", "segment_report"):
        upstream = dag.get_task(task_id).get_flat_relative_ids(upstream=True)
        assert "publish" in upstream, task_id
    assert "validate_segments" in dag.get_task("check_segment_alerts").upstream_task_ids
    assert "check_segment_alerts" in dag.get_task("segment_report").upstream_task_ids


def test_dbt_tasks_freeze_the_task_process_heap_before_dbt_runs(dag):
    # cosmos collects garbage after every in-process dbt run; the callback keeps that
    # collection to what the run created (segmentation.inprocess, bench/RESULTS.md)
    from segmentation.inprocess import freeze_long_lived_objects

    dbt_tasks = [t for t in dag.tasks if t.task_id.startswith("dbt_build.")]
    assert dbt_tasks
    for task in dbt_tasks:
        callbacks = task.on_execute_callback
        callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
        assert freeze_long_lived_objects in callbacks, task.task_id
