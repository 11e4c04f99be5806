"""Fixtures for the portability tests: the tiny sample's raw layer and the DuckDB reference build."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from portability_helpers import (
    NEXT_AS_OF,
    RawTable,
    duckdb_tables,
    load_tiny_into_duckdb,
    model_relations,
    query_duckdb,
    read_raw_tables,
    run_dbt,
    run_probe,
)


@dataclass(frozen=True)
class Reference:
    """The tiny sample loaded by the project's loader into DuckDB and built there with dbt."""

    warehouse: Path
    raw_tables: list[RawTable]
    results: dict[str, list[tuple]]
    tables: dict[str, dict]            # every model after the first build (portability_helpers.canonical_rows)
    next_day_tables: dict[str, dict]   # every model after a second build one day later (incremental runs)
    probe: list[list]                  # cross_db_probe.py on DuckDB


@pytest.fixture(scope="session")
def duckdb_reference(tmp_path_factory: pytest.TempPathFactory, tiny_sample: Path) -> Reference:
    work = tmp_path_factory.mktemp("portability-duckdb")
    warehouse = load_tiny_into_duckdb(tiny_sample, work / "home")
    raw_tables = read_raw_tables(warehouse)  # before dbt adds its schemas
    env = {"SEGMENTS_WAREHOUSE": str(warehouse)}
    # models and seeds only: tests/dbt runs the data tests on DuckDB
    models_and_seeds = ["--resource-type", "model", "--resource-type", "seed"]
    build = run_dbt("build", "dev", work, env, extra=models_and_seeds)
    assert build.returncode == 0, build.output[-4000:]
    relations = model_relations(work / "target" / "manifest.json")
    results = query_duckdb(warehouse)
    tables = duckdb_tables(warehouse, relations)
    probe = run_probe("dev", work, env)
    next_day = run_dbt("build", "dev", work, env, extra=models_and_seeds, as_of=NEXT_AS_OF)
    assert next_day.returncode == 0, next_day.output[-4000:]
    next_day_tables = duckdb_tables(warehouse, relations)
    return Reference(warehouse, raw_tables, results, tables, next_day_tables, probe)
