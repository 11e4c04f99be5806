"""Build the dbt project on a local Spark session, in one process (one JVM).

    python tests/portability/spark_build.py --raw-from <warehouse.duckdb> --work <dir> --out <results.json>

1. `dbt seed --target spark`: dbt-spark (method: session) starts the
   SparkSession from profiles.yml (local[2], Derby metastore and warehouse
   under $SEGMENTS_SPARK_HOME, UTC session time zone).
2. The raw tables of the DuckDB warehouse (as the project's loader wrote
   them) are copied into raw.* of that session's catalog, types preserved.
3. `dbt build --target spark`: every model, data test and unit test.
   Its run_results.json is kept as <work>/build_run_results.json.
4. The compared results (portability_helpers.COMPARED_QUERIES), every
   model's content (canonical_rows), the cross_db macro probe
   (cross_db_probe.py) are collected.
5. `dbt run --target spark` one day later (NEXT_AS_OF): the incremental
   models take their incremental path (delete+insert through a staging
   table, macros/cross_db/spark_incremental.sql); every model's content
   again. Models only: the data tests ran in step 3.
Everything, with the timings, is written to --out as JSON.

Run by tests/portability/test_spark_build.py in a subprocess, so the JVM and
dbt's global state never live in the pytest process.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cross_db_probe import probe  # noqa: E402
from portability_helpers import (  # noqa: E402
    AS_OF,
    COMPARED_QUERIES,
    DBT_PROJECT,
    NEXT_AS_OF,
    canonical_rows,
    model_relations,
    read_raw_tables,
)

SPARK_TYPES = {"VARCHAR": "string", "BIGINT": "bigint", "INTEGER": "int", "TIMESTAMP": "timestamp",
               "BOOLEAN": "boolean", "DOUBLE": "double", "DATE": "date"}


def dbt(command: str, work: Path, as_of: str = AS_OF) -> float:
    from dbt.cli.main import dbtRunner

    started = time.monotonic()
    result = dbtRunner().invoke([
        command, "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT), "--target", "spark",
        "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
        "--vars", f'{{as_of_date: "{as_of}"}}',
    ])
    if not result.success:
        raise SystemExit(f"dbt {command} --target spark failed: {result.exception or 'see run_results.json'}")
    return time.monotonic() - started


def copy_raw(spark, warehouse: Path) -> dict[str, int]:
    from pyspark.sql.types import _parse_datatype_string

    counts = {}
    spark.sql("create database if not exists raw")
    for table in read_raw_tables(warehouse):
        schema = _parse_datatype_string(", ".join(f"`{c}`: {SPARK_TYPES[t]}" for c, t in table.columns))
        df = spark.createDataFrame(table.rows, schema)
        df.write.mode("overwrite").format("parquet").saveAsTable(f"raw.`{table.name}`")
        counts[table.name] = len(table.rows)
    return counts


def spark_tables(spark, relations: list[str]) -> dict[str, dict]:
    out = {}
    for relation in relations:
        frame = spark.sql(f"select * from {relation}")
        out[relation] = canonical_rows(frame.columns, [tuple(row) for row in frame.collect()])
    return out


def plain(value):
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--raw-from", type=Path, required=True, help="DuckDB warehouse with the raw schema")
    parser.add_argument("--work", type=Path, required=True, help="dbt target/ and logs/ go here")
    parser.add_argument("--out", type=Path, required=True, help="results JSON")
    args = parser.parse_args()

    # Python datetimes (raw._loaded_at) cross into Spark in the process's local zone.
    os.environ["TZ"] = "UTC"
    time.tzset()
    timings = {}
    started = time.monotonic()
    timings["seed"] = dbt("seed", args.work)

    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()  # the session dbt-spark started from profiles.yml
    t = time.monotonic()
    counts = copy_raw(spark, args.raw_from)
    timings["raw_copy"] = time.monotonic() - t
    timings["build"] = dbt("build", args.work)
    # the probe's `dbt show` below writes its own run_results.json: keep the build's
    shutil.copy(args.work / "target" / "run_results.json", args.work / "build_run_results.json")
    results = {key: [[plain(v) for v in row] for row in spark.sql(sql).collect()]
               for key, sql in COMPARED_QUERIES.items()}
    relations = model_relations(args.work / "target" / "manifest.json")
    t = time.monotonic()
    tables = spark_tables(spark, relations)
    timings["collect"] = time.monotonic() - t
    t = time.monotonic()
    probe_rows = probe("spark", args.work)
    timings["probe"] = time.monotonic() - t
    timings["next_day_run"] = dbt("run", args.work, as_of=NEXT_AS_OF)
    next_day_tables = spark_tables(spark, relations)
    timings["total"] = time.monotonic() - started
    args.out.write_text(json.dumps({"raw_rows": counts, "timings": timings, "results": results, "tables": tables,
                                    "next_day_tables": next_day_tables, "probe": probe_rows,
                                    "spark_version": spark.version}))
    spark.stop()


if __name__ == "__main__":
    main()
