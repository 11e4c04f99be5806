"""Segment history accumulates across runs, re-running a day is idempotent, --full-refresh keeps it.

dbt runs on the hand-made raw layer for two as_of_dates (the session's build
as of 2026-11-25, then a backfill as of 2026-11-01); then the 2026-11-01 slice
is rebuilt, then the history models are fully refreshed. Between the two dates Anna's first orders arrive (she becomes
`new`) and the guest's first completed order (2026-11-22).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dbt_helpers import DbtRun, run_dbt

pytestmark = pytest.mark.slow

FIRST, SECOND = "2026-11-01", "2026-11-25"
HISTORY = ("select as_of_date::varchar, customer_key, segment, rfm_segment, lifecycle_stage "
           "from marts.segment_history order by all")


def _rows(run: DbtRun, sql: str, *params: object) -> list[tuple]:
    con = run.connect()
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory, handmade_build: DbtRun) -> tuple[Path, Path, DbtRun]:
    """The session's hand-made build (as of 2026-11-25) copied, then run again as of 2026-11-01.

    The earlier date runs second on purpose: a backfill must slot in by date.
    """
    assert handmade_build.ok, handmade_build.stdout[-3000:]
    work = tmp_path_factory.mktemp("dbt_history")
    warehouse = work / "warehouse.duckdb"
    shutil.copy(handmade_build.warehouse, warehouse)
    first = run_dbt("run", warehouse, work, as_of=FIRST)
    assert first.ok, first.stdout[-3000:]
    # the data tests of the history marts, now with two dates present
    tested = run_dbt("test", warehouse, work, as_of=FIRST, extra=["--select", "segment_history+"])
    assert tested.ok, tested.stdout[-4000:]
    return warehouse, work, first


def test_history_keeps_one_slice_per_as_of_date(two_runs) -> None:
    _, _, run = two_runs
    per_date = _rows(run, "select as_of_date::varchar, count(*) from marts.segment_history group by 1 order by 1")
    customers = _rows(run, "select count(*) from marts.customer_segments")[0][0]
    assert per_date == [(FIRST, customers), (SECOND, customers)]
    latest = _rows(run, "select customer_key, segment, rfm_segment, lifecycle_stage from marts.segment_history "
                        "where as_of_date = ? order by all", FIRST)
    assert latest == _rows(run, "select customer_key, segment, rfm_segment, lifecycle_stage "
                                "from marts.customer_segments order by all")


def test_transitions_and_events_describe_the_change_between_the_two_runs(two_runs) -> None:
    _, _, run = two_runs
    expected = _rows(run, """
        select before.segment, after.segment, count(*)
        from marts.segment_history as before
        join marts.segment_history as after
          on after.customer_key = before.customer_key and after.as_of_date = ?
        where before.as_of_date = ?
        group by all order by all""", SECOND, FIRST)
    transitions = _rows(run, "select from_as_of_date::varchar, to_as_of_date::varchar, from_segment, to_segment, "
                             "customers from marts.segment_transitions order by all")
    assert {(f, t) for f, t, *_ in transitions} == {(FIRST, SECOND)}
    assert sorted((a, b, n) for *_, a, b, n in transitions) == expected
    anna = _rows(run, "select customer_key, segment from marts.segment_history "
                      "where as_of_date = ? and segment = 'new' order by 1", SECOND)
    assert anna, "someone becomes new between the two dates"
    moved = {key for key, _ in anna}
    events = _rows(run, "select customer_key, segment, event from marts.segment_membership_events "
                        "where as_of_date = ? and segment = 'new' and event = 'entered'", SECOND)
    assert {key for key, *_ in events} == moved
    exits = _rows(run, "select count(*) from marts.segment_membership_events where event = 'exited'")[0][0]
    changed = sum(n for a, b, n in expected if a != b)
    assert exits == changed


def test_size_history_has_every_configured_segment_on_both_dates(two_runs) -> None:
    _, _, run = two_runs
    rows = _rows(run, "select as_of_date::varchar, sum(customers), sum(share), count(*) "
                      "from marts.segment_size_history group by 1 order by 1")
    customers = _rows(run, "select count(*) from marts.customer_segments")[0][0]
    assert [(d, n, c) for d, n, _, c in rows] == [(FIRST, customers, 7), (SECOND, customers, 7)]
    assert all(s == pytest.approx(1.0) for _, _, s, _ in rows)


def test_rerunning_a_day_replaces_its_slice_and_full_refresh_keeps_history(two_runs) -> None:
    warehouse, work, run = two_runs
    before = _rows(run, HISTORY)
    again = run_dbt("run", warehouse, work, as_of=FIRST, extra=["--select", "segment_history+"])
    assert again.ok, again.stdout[-3000:]
    assert _rows(run, HISTORY) == before
    refreshed = run_dbt("run", warehouse, work, as_of=FIRST, extra=["--full-refresh", "--select", "segment_history+"])
    assert refreshed.ok, refreshed.stdout[-3000:]
    assert _rows(run, HISTORY) == before
    assert _rows(run, "select count(*) from marts.segment_transitions")[0][0] > 0
