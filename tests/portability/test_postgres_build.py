"""The same dbt project builds on PostgreSQL and gives the DuckDB build's segments.

A throwaway PostgreSQL server is started from the installed binaries
(/usr/lib/postgresql/*/bin, `make portability-deps` installs them), the tiny
sample's raw layer (as the project's loader wrote it into DuckDB) is copied
into raw.*, then `dbt build --target postgres` runs every seed, model, data
test and unit test, and every model must hold what the DuckDB build holds.
A second build one day later runs the incremental models incrementally
(segment_history and the customer key registry keep their history) and must
again equal DuckDB's second build. The macros of macros/cross_db must give the DuckDB
answers on the probe inputs (cross_db_probe.py). The server is stopped and
removed at the end.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from portability_helpers import (
    AS_OF,
    NEXT_AS_OF,
    DbtCommand,
    ThrowawayPostgres,
    assert_same_probe,
    assert_same_results,
    assert_same_tables,
    copy_raw_to_postgres,
    manifest_counts,
    postgres_tables,
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
    """One target/ for every dbt invocation of this module, so later ones parse partially."""
    return tmp_path_factory.mktemp("postgres-dbt")


@dataclass(frozen=True)
class FirstBuild:
    """The raw copy and the first `dbt build --target postgres`, as every test of this module starts from it."""

    copied: dict[str, int]
    build: DbtCommand
    counts: dict[str, int]      # what ran, by resource type
    problems: list[str]         # what did not pass
    expected: dict[str, int]    # what the project has, by resource type
    results: dict[str, list[tuple]]
    tables: dict[str, dict]
    seconds: float


@pytest.fixture(scope="module")
def first_build(postgres, duckdb_reference, dbt_work: Path) -> FirstBuild:
    """A fixture, not a test, so each test stands alone (order, pytest -k, xdist)."""
    started = time.monotonic()
    conn = postgres.connect()
    try:
        copied = copy_raw_to_postgres(duckdb_reference.raw_tables, conn)
        build = run_dbt("build", "postgres", dbt_work, postgres.dbt_env())
        counts, problems = run_results_problems(dbt_work / "target" / "run_results.json")
        expected = manifest_counts(dbt_work / "target" / "manifest.json")
        results = query_postgres(conn) if build.returncode == 0 else {}
        tables = postgres_tables(conn, list(duckdb_reference.tables)) if build.returncode == 0 else {}
    finally:
        conn.close()
    seconds = time.monotonic() - started
    print(f"postgres: raw copy + dbt build in {seconds:.1f} s (build {build.seconds:.1f} s)")
    return FirstBuild(copied, build, counts, problems, expected, results, tables, seconds)


def test_tiny_sample_builds_on_postgres_with_the_duckdb_segments(first_build: FirstBuild, duckdb_reference):
    assert sum(first_build.copied.values()) > 1000, first_build.copied
    assert first_build.build.returncode == 0 and not first_build.problems, (
        "\n".join(first_build.problems) or first_build.build.output[-4000:])
    # every model, seed, data test and unit test of the project ran, and passed
    assert first_build.counts == first_build.expected, f"ran {first_build.counts}, project has {first_build.expected}"
    assert_same_results(duckdb_reference.results, first_build.results, "postgres")
    assert_same_tables(duckdb_reference.tables, first_build.tables, "postgres")


def test_next_day_build_on_postgres_keeps_history_like_duckdb(first_build: FirstBuild, postgres, duckdb_reference,
                                                              dbt_work: Path):
    """The incremental models take their incremental path on top of the first build."""
    assert first_build.build.returncode == 0, "the first build failed (see the test above)"
    started = time.monotonic()
    build = run_dbt("build", "postgres", dbt_work, postgres.dbt_env(), as_of=NEXT_AS_OF)
    counts, problems = run_results_problems(dbt_work / "target" / "run_results.json")
    assert build.returncode == 0 and not problems, "\n".join(problems) or build.output[-4000:]
    conn = postgres.connect()
    try:
        actual = postgres_tables(conn, list(duckdb_reference.next_day_tables))
    finally:
        conn.close()
    history = actual["marts.segment_history"]
    as_of_dates = {row[history["columns"].index("as_of_date")] for row in history["rows"]}
    assert as_of_dates == {AS_OF, NEXT_AS_OF}, as_of_dates
    assert_same_tables(duckdb_reference.next_day_tables, actual, "postgres")
    print(f"postgres: next-day build in {time.monotonic() - started:.1f} s")


def test_cross_db_macros_give_the_duckdb_answers_on_postgres(first_build: FirstBuild, postgres, duckdb_reference,
                                                             dbt_work: Path):
    # the build's on-run-start created the similarity functions the probe calls
    probe = run_probe("postgres", dbt_work, postgres.dbt_env())
    assert_same_probe(duckdb_reference.probe, probe, "postgres")
