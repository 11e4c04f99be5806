"""The same dbt project builds on PostgreSQL and gives the DuckDB build's segments.

A throwaway PostgreSQL server is started from the installed binaries
(/usr/lib/postgresql/*/bin, `make portability-deps` installs them), the tiny
sample's raw layer (as the project's loader wrote it into DuckDB) is copied
into raw.*, then `dbt build --target postgres` runs every seed, model, data
test and unit test. The macros of macros/cross_db must give the DuckDB
answers on the probe inputs (cross_db_probe.py). The server is stopped and
removed at the end.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from portability_helpers import (
    ThrowawayPostgres,
    assert_same_probe,
    assert_same_results,
    copy_raw_to_postgres,
    manifest_counts,
    query_postgres,
    run_dbt,
    run_probe,
    run_results_problems,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def postgres():
    server = ThrowawayPostgres().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def dbt_work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One target/ for both tests, so the second dbt invocation parses partially."""
    return tmp_path_factory.mktemp("postgres-dbt")


def test_tiny_sample_builds_on_postgres_with_the_duckdb_segments(postgres, duckdb_reference, dbt_work: Path):
    tmp_path = dbt_work
    started = time.monotonic()
    conn = postgres.connect()
    try:
        copied = copy_raw_to_postgres(duckdb_reference.raw_tables, conn)
        assert sum(copied.values()) > 1000, copied

        env = postgres.dbt_env()
        build = run_dbt("build", "postgres", tmp_path, env)
        counts, problems = run_results_problems(tmp_path / "target" / "run_results.json")
        assert build.returncode == 0 and not problems, "\n".join(problems) or build.output[-4000:]

        # every model, seed, data test and unit test of the project ran, and passed
        expected = manifest_counts(tmp_path / "target" / "manifest.json")
        assert counts == expected, f"ran {counts}, project has {expected}"

        assert_same_results(duckdb_reference.results, query_postgres(conn), "postgres")
    finally:
        conn.close()
    print(f"postgres: raw copy + dbt build in {time.monotonic() - started:.1f} s (build {build.seconds:.1f} s)")


def test_cross_db_macros_give_the_duckdb_answers_on_postgres(postgres, duckdb_reference, dbt_work: Path):
    probe = run_probe("postgres", dbt_work, postgres.dbt_env())
    assert_same_probe(duckdb_reference.probe, probe, "postgres")
