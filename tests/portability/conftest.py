"""Fixtures for the portability tests: the tiny sample's raw layer and the DuckDB reference build."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from portability_helpers import RawTable, load_tiny_into_duckdb, query_duckdb, read_raw_tables, run_dbt, run_probe


@dataclass(frozen=True)
class Reference:
    """The tiny sample loaded by the project's loader into DuckDB and built there with dbt."""

    warehouse: Path
    raw_tables: list[RawTable]
    results: dict[str, list[tuple]]
    probe: list[list]   # cross_db_probe.py on DuckDB


@pytest.fixture(scope="session")
def duckdb_reference(tmp_path_factory: pytest.TempPathFactory, tiny_sample: Path) -> Reference:
    work = tmp_path_factory.mktemp("portability-duckdb")
    warehouse = load_tiny_into_duckdb(tiny_sample, work / "home")
    raw_tables = read_raw_tables(warehouse)  # before dbt adds its schemas
    env = {"SEGMENTS_WAREHOUSE": str(warehouse)}
    # models and seeds only: tests/dbt runs the data tests on DuckDB
    build = run_dbt("build", "dev", work, env, extra=["--resource-type", "model", "--resource-type", "seed"])
    assert build.returncode == 0, build.output[-4000:]
    results = query_duckdb(warehouse)
    probe = run_probe("dev", work, env)
    return Reference(warehouse, raw_tables, results, probe)
