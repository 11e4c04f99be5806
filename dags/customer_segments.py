"""
### customer_segments

Daily: load new raw extracts -> quality gate on the raw batch -> dbt build
(profile, identity, features, segments) -> quality gate on the marts ->
publish the serving database -> print the segment summary; then validate the
segments statistically, check segment size jumps (alert), write the HTML
segment report.

A failed gate fails the run: nothing is published and the last good serving
database stays as it was. Every task that writes the DuckDB warehouse runs in
the `duckdb_writer` pool (one slot): DuckDB allows a single writer.

Trigger on demand with a config to override the as-of date:
`{"as_of_date": "2026-11-25"}` (default: the run's logical date), and
`{"full_refresh": true}` to rebuild the incremental dbt models from all raw
data (as `make full-refresh` does outside Airflow).
"""

from __future__ import annotations

import os
import sys
from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import Asset, Param, chain, dag, get_current_context, task
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import InvocationMode, LoadMode, TestBehavior
from segmentation.inprocess import freeze_long_lived_objects

REPO = Path(__file__).resolve().parents[1]
DBT_PROJECT = Path(os.environ.get("SEGMENTS_DBT_PROJECT", REPO / "dbt_project"))
DBT_TARGET = os.environ.get("SEGMENTS_DBT_TARGET", "dev")
WAREHOUSE = os.environ.get("SEGMENTS_WAREHOUSE", str(Path(os.environ.get("SEGMENTS_HOME", REPO / "data")) / "warehouse" / "warehouse.duckdb"))
WRITER_POOL = "duckdb_writer"
_dbt_next_to_python = Path(sys.executable).with_name("dbt")
DBT_EXECUTABLE = str(_dbt_next_to_python) if _dbt_next_to_python.exists() else "dbt"

RAW_ASSET = Asset(name="raw_extracts")
SERVING_ASSET = Asset(name="serving_segments")
AS_OF = "{{ params.as_of_date or ds }}"

project_config = ProjectConfig(
    dbt_project_path=DBT_PROJECT,
    manifest_path=DBT_PROJECT / "target" / "manifest.json",
)
profile_config = ProfileConfig(
    profile_name="segments",
    target_name=DBT_TARGET,
    profiles_yml_filepath=DBT_PROJECT / "profiles.yml",
)
render_config = RenderConfig(
    load_method=LoadMode.DBT_MANIFEST,
    test_behavior=TestBehavior.BUILD,  # one `dbt build` per model: model, its data tests and unit tests
)
# dbt runs in-process (dbtRunner): about 2 s per model instead of about 10 s
# for a fresh `dbt` process per model (tiny data, 23 models; docs/adr/0001).
# See segmentation.inprocess for the one consequence under dag.test().
execution_config = ExecutionConfig(
    dbt_executable_path=DBT_EXECUTABLE,
    invocation_mode=InvocationMode.DBT_RUNNER,
)


def _run_id() -> str:
    return get_current_context()["run_id"]


@dag(
    dag_id="customer_segments",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
    params={"as_of_date": Param(None, type=["null", "string"], format="date",
                                description="Compute features as of this date (default: the logical date)"),
            "full_refresh": Param(False, type="boolean",
                                  description="Rebuild the incremental dbt models from all raw data")},
    tags=["segments", "dbt", "duckdb"],
    doc_md=__doc__,
)
def customer_segments():
    @task(pool=WRITER_POOL, outlets=[RAW_ASSET])
    def load_raw_extracts() -> dict:
        """Load every landed file not loaded before; bad files go to quarantine with a reason."""
        from segmentation.config import Settings
        from segmentation.loading import load_new_files

        report = load_new_files(Settings.from_env(), batch_id=_run_id())
        print(report.summary())
        return {"batch_id": _run_id(), "rows_loaded": report.rows_loaded, "rows_rejected": report.rows_rejected}

    # A failed gate is a finding about the data, not a transient error: no retries.
    @task(pool=WRITER_POOL, retries=0)
    def quality_gate_raw(load: dict) -> dict:
        """Great Expectations on the new raw batch; a failure stops the run."""
        from segmentation.config import Settings
        from segmentation.quality import run_gate

        result = run_gate(Settings.from_env(), "raw", run_id=_run_id(), batch_id=load["batch_id"],
                          raise_on_failure=True)
        print(result.summary())
        return {"success": result.success}

    @task
    def validate_segment_rules() -> list:
        """Refuse unsafe or broken segment rules before dbt runs (names the rule and line)."""
        from segmentation.config import Settings
        from segmentation.rules import check_rules

        return [rule.name for rule in check_rules(Settings.from_env().dbt_project)]

    dbt_build = DbtTaskGroup(
        group_id="dbt_build",
        project_config=project_config,
        profile_config=profile_config,
        render_config=render_config,
        execution_config=execution_config,
        operator_args={
            "pool": WRITER_POOL,
            "vars": {"as_of_date": AS_OF},
            # incremental models process only rows loaded since their last build, unless
            # the run is triggered with {"full_refresh": true} (same as `make full-refresh`)
            "full_refresh": "{{ params.full_refresh }}",
            "env": {"SEGMENTS_WAREHOUSE": WAREHOUSE},
            "append_env": True,
            "install_deps": False,
            # Per-node builds: run a test that spans several models only once all its parents
            # are built (the default, eager, would run it with the first parent and fail).
            # --no-write-json: dbt would rewrite manifest.json (1.6 MB) twice and run_results.json
            # in every task: 2.37 -> 1.59 s median for a small model at large
            # (bench/dbt_task_overhead.py, bench/RESULTS.md); nothing reads them (cosmos renders from dbt_project/target,
            # written by `dbt parse`). Without run_results there is no per-model lineage, so no
            # datasets either: Airflow 3 rejects cosmos' OpenLineage URIs anyway (cosmos warns).
            "dbt_cmd_flags": ["--indirect-selection", "buildable", "--no-write-json"],
            "emit_datasets": False,
            # cosmos runs gc.collect() after each in-process dbt run; freezing what the task
            # process already holds keeps that collection to what dbt created (segmentation.inprocess).
            "on_execute_callback": freeze_long_lived_objects,
        },
    )

    @task(pool=WRITER_POOL, retries=0)
    def quality_gate_marts() -> dict:
        """Great Expectations on the marts: one row and one segment per customer, shares in bounds."""
        from segmentation.config import Settings
        from segmentation.quality import run_gate

        result = run_gate(Settings.from_env(), "marts", run_id=_run_id(), raise_on_failure=True)
        print(result.summary())
        return {"success": result.success}

    @task(pool=WRITER_POOL, outlets=[SERVING_ASSET])
    def publish() -> dict:
        """Swap in a new serving database for BI tools, atomically."""
        from segmentation.config import Settings
        from segmentation.publishing import publish as publish_serving

        pub = publish_serving(Settings.from_env(), run_id=_run_id())
        return {"path": str(pub.path), "sha256": pub.sha256, "rows": pub.row_counts}

    @task
    def summary(publication: dict) -> list:
        """Print the published segments (name, customers, share, average spend) and chart them."""
        from segmentation.config import Settings
        from segmentation.publishing import format_summary, read_summary
        from segmentation.report import segment_size_chart

        serving = Path(publication["path"])
        rows, pub = read_summary(serving)
        print(format_summary(rows, pub, serving))
        print(f"Chart: {segment_size_chart(serving, Settings.from_env().reports)}")
        return [list(map(str, r)) for r in rows]

    # After publishing: findings about the published run, never a reason to unpublish it.
    @task(pool=WRITER_POOL)
    def validate_segments(publication: dict) -> dict:
        """Do segments differ on spend, orders, engagement, conversion? Results in meta.segment_validation."""
        from segmentation.config import Settings
        from segmentation.validation import validate_segments as run_validation

        result = run_validation(Settings.from_env(), run_id=_run_id())
        print(result.summary())
        return {"tests": len(result.tests), "failed": [f"{t.grouping}/{t.kpi}" for t in result.failed],
                "too_small": [f"{s.grouping}/{s.segment}" for s in result.too_small]}

    @task(pool=WRITER_POOL)
    def check_segment_alerts(validation: dict) -> list:
        """Alert (log; webhook / email when configured) when a segment's size jumped since the last run."""
        from segmentation.alerts import check_segment_alerts as run_check
        from segmentation.config import Settings

        check = run_check(Settings.from_env(), run_id=_run_id())
        print(check.summary())
        return [a.message for a in check.alerts]

    @task(pool=WRITER_POOL)
    def segment_report(alerts: list) -> str:
        """Write the self-contained HTML segment report (reports/segments_<as_of>.html, latest.html)."""
        from segmentation.config import Settings
        from segmentation.segment_report import build_report

        path = build_report(Settings.from_env(), run_id=_run_id())
        print(f"Segment report: {path}")
        return str(path)
    @task(pool=WRITER_POOL)
    def export_audiences(publication: dict) -> dict:
        """Consent-aware audiences per segment and channel (CSV + Parquet, manifest, delta, holdout)."""
        from segmentation.audiences import export_audiences as export
        from segmentation.config import Settings

        result = export(Settings.from_env(), run_id=_run_id())
        print(result.summary())
        return {"folder": str(result.folder), "rule_version": result.manifest["rule_version"]}

    @task(pool=WRITER_POOL)
    def enforce_raw_retention() -> dict:
        """Delete raw rows and landed files older than SEGMENTS_RAW_RETENTION_DAYS (ledger kept)."""
        from segmentation.config import Settings
        from segmentation.privacy import enforce_retention

        # the run's logical date, not the wall clock: a re-run deletes the same
        report = enforce_retention(Settings.from_env(), now=get_current_context().get("logical_date"))
        print(report.summary())
        return {"rows_deleted": report.rows_deleted, "files_deleted": len(report.files_deleted)}

    loaded = load_raw_extracts()
    raw_ok = quality_gate_raw(loaded)
    marts_ok = quality_gate_marts()
    published = publish()
    chain([raw_ok, validate_segment_rules()], dbt_build, marts_ok, published)
    summary(published)
    segment_report(check_segment_alerts(validate_segments(published)))
    # privacy (docs/privacy.md): audiences after a good publication; retention after the export
    export_audiences(published) >> enforce_raw_retention()


customer_segments()
