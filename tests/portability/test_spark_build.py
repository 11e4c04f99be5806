"""The same dbt project builds on Spark and gives the DuckDB build's segments.

dbt-spark with method: session runs a local SparkSession (local[2], 1 GiB
driver, Derby metastore and warehouse in a temporary directory) inside one
helper process (spark_build.py): dbt seed, the tiny sample's raw layer copied
into raw.*, dbt build, every model's content, the macros of macros/cross_db
on the probe inputs (cross_db_probe.py), then a `dbt run` one day later (the
incremental path; segment_history and the key registry keep their history).
Every model must equal the DuckDB build's, after both runs, and the probe
must give the DuckDB answers. Skipped only when no Java
runtime is installed (pyspark needs one; `make portability-deps` installs
Java 17 on Debian).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from portability_helpers import (
    AS_OF,
    NEXT_AS_OF,
    assert_same_probe,
    assert_same_results,
    assert_same_tables,
    java_version,
    manifest_counts,
    run_results_problems,
)

pytestmark = [pytest.mark.slow, pytest.mark.spark]

HERE = Path(__file__).resolve().parent


def test_tiny_sample_builds_on_spark_with_the_duckdb_segments(duckdb_reference, tmp_path: Path):
    java = java_version()
    if java is None:
        pytest.skip("no Java runtime (java on PATH or JAVA_HOME): pyspark cannot start; "
                    "`make portability-deps` installs openjdk-17-jre-headless")
    started = time.monotonic()
    out = tmp_path / "results.json"
    env = {**os.environ, "SEGMENTS_SPARK_HOME": str(tmp_path / "spark"), "SEGMENTS_SPARK_DRIVER_MEMORY": "1g",
           "SEGMENTS_SPARK_MASTER": "local[2]", "SPARK_LOCAL_IP": "127.0.0.1",
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    proc = subprocess.run(
        [sys.executable, str(HERE / "spark_build.py"), "--raw-from", str(duckdb_reference.warehouse),
         "--work", str(tmp_path), "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=3000)
    assert proc.returncode == 0, f"{java}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"

    counts, problems = run_results_problems(tmp_path / "build_run_results.json")
    assert not problems, "\n".join(problems)
    expected = manifest_counts(tmp_path / "target" / "manifest.json")
    expected.pop("seed", None)  # seeds ran in their own `dbt seed` before the raw copy
    counts.pop("seed", None)
    assert counts == expected, f"ran {counts}, project has {expected}"

    data = json.loads(out.read_text())
    assert sum(data["raw_rows"].values()) > 1000, data["raw_rows"]
    actual = {key: [tuple(row) for row in rows] for key, rows in data["results"].items()}
    assert_same_results(duckdb_reference.results, actual, "spark")
    assert_same_tables(duckdb_reference.tables, data["tables"], "spark")
    assert_same_probe(duckdb_reference.probe, data["probe"], "spark")
    history = data["next_day_tables"]["marts.segment_history"]
    as_of_dates = {row[history["columns"].index("as_of_date")] for row in history["rows"]}
    assert as_of_dates == {AS_OF, NEXT_AS_OF}, as_of_dates
    assert_same_tables(duckdb_reference.next_day_tables, data["next_day_tables"], "spark")
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in data["timings"].items())
    print(f"spark {data['spark_version']} ({java}): {time.monotonic() - started:.1f} s wall ({timings})")
