"""Loading several files at once (SEGMENTS_LOAD_WORKERS) changes speed, never outcomes.

Two workers load files side by side, each in its own transaction on its own
cursor. The warehouse must end up as it does when files load one by one: the
same rows, rejects, quarantines and ledger; a file whose content another file
of the same run already carries is recorded as the duplicate of the earlier one;
``_loaded_at`` increases in landing order; and a worker that fails stops the
load without leaving part of a file behind.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from pathlib import Path

import pytest

import segmentation.loading as loading
from ingest_helpers import CRM_COLS, ORDER_COLS, crm_row, csv_text, event_row, make_deployment, order_row

TABLES = ("web_events", "order_lines", "crm_customers")


def _jsonl(records: list) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def _landing(dep) -> list[str]:
    """A day's worth of files with every kind of outcome; returns the names in landing order."""
    events = _jsonl([event_row(f"E-{i}") for i in range(1, 40)])
    dep.write("events", "web_events_2026-11-20_part1.jsonl", events)
    dep.write("events", "web_events_2026-11-20_part2.jsonl", events)           # same content, next name
    dep.write("events", "web_events_2026-11-20_part3.jsonl",
              _jsonl([event_row("E-50"), {**event_row("E-51"), "ab_test": "b"}]))  # drift
    dep.write("events", "web_events_2026-11-20_part4.jsonl",
              _jsonl([event_row("E-60"), event_row("E-61", event_type="teleport")]))  # a row reject
    dep.write("events", "web_events_2026-11-20_part5.jsonl.gz",
              gzip.compress(events.encode(), mtime=0)[:-30])                               # truncated gzip
    dep.write("events", "web_events_2026-11-20_part6.jsonl", "")                # empty
    dep.write("orders", "order_lines_2026-11-20_a.csv",
              csv_text(ORDER_COLS, [order_row(f"O-{i}") for i in range(1, 30)]))
    dep.write("orders", "order_lines_2026-11-20_b.csv",
              csv_text(ORDER_COLS, [order_row("O-90"), order_row("O-91", quantity="-1"), order_row("O-90")]))
    # two versions of one CRM record with the same updated_at: the later load wins (_loaded_at)
    dep.write("crm", "crm_customers_2026-11-20_1.csv", csv_text(CRM_COLS, [crm_row(email="first@example.com")]))
    dep.write("crm", "crm_customers_2026-11-20_2.csv", csv_text(CRM_COLS, [crm_row(email="second@example.com")]))
    same = csv_text(CRM_COLS, [crm_row("CRM-0000002")])
    dep.write("crm", "crm_customers_2026-11-20_3.csv", same)
    dep.write("crm", "crm_customers_2026-11-20_4.csv", same)                   # same content, next name
    return [c.path.name for c in loading.discover(dep.settings)[0]]


def _state(dep, report) -> list[str]:
    """Outcomes, raw rows, rejects and ledger (paths under the deployment's home left out)."""
    state = [[(Path(f.path).name, f.status, f.rows_loaded, f.rows_rejected, f.schema_drift, f.rule)
             for f in report.files]] + dep.query_many(
        [(f"select * exclude (_loaded_at, _batch_id) from raw.{t} order by _file_name, _row_number", None)
         for t in TABLES] + [
        ("select * exclude (rejected_at, batch_id) from meta.rejected_rows "
         "order by file_name, row_number, rule", None),
        ("select * exclude (file_path, batch_id, started_at, finished_at, file_mtime_ns) from meta.load_ledger "
         "order by file_name", None)])
    return [repr(part).replace(str(dep.settings.home), "<home>") for part in state]


def _load(home: Path, monkeypatch, workers: str):
    monkeypatch.setenv("SEGMENTS_LOAD_WORKERS", workers)
    dep = make_deployment(home)
    names = _landing(dep)
    return dep, names, dep.load(batch_id="b1")


def test_two_workers_load_the_same_warehouse_as_one(tmp_path: Path, monkeypatch) -> None:
    # Proof the files really load side by side: the first two files wait for each other.
    both_in_flight = threading.Barrier(2, timeout=30)
    calls: list[str] = []
    process = loading._process

    def side_by_side(con, settings, c, *args, **kw):
        calls.append(threading.current_thread().name)
        if len(calls) <= 2:
            both_in_flight.wait()
        if c.path.name in ("crm_customers_2026-11-20_1.csv", "crm_customers_2026-11-20_3.csv"):
            time.sleep(0.3)  # _2 inserts first; _4 (same content as _3) is taken meanwhile
        return process(con, settings, c, *args, **kw)

    monkeypatch.setattr(loading, "_process", side_by_side)
    dep2, names, report2 = _load(tmp_path / "two", monkeypatch, "2")
    assert len(set(calls)) == 2
    monkeypatch.setattr(loading, "_process", process)
    dep1, _, report1 = _load(tmp_path / "one", monkeypatch, "1")

    assert _state(dep2, report2) == _state(dep1, report1)
    by_name = {Path(f.path).name: f.status for f in report2.files}
    assert by_name["web_events_2026-11-20_part1.jsonl"] == "loaded"
    assert by_name["web_events_2026-11-20_part2.jsonl"] == "duplicate"   # the later name, as one by one
    assert by_name["crm_customers_2026-11-20_4.csv"] == "duplicate"
    assert by_name["web_events_2026-11-20_part5.jsonl.gz"] == "quarantined"
    assert [Path(f.path).name for f in report2.files] == names            # reported in landing order

    # _loaded_at increases in landing order, file by file
    stamps = dep2.query("select _file_name, min(_loaded_at), max(_loaded_at) from ("
                        + " union all ".join(f"select _file_name, _loaded_at from raw.{t}" for t in TABLES)
                        + ") group by all order by 2")
    assert [s[0] for s in stamps] == [n for n in names if n in {s[0] for s in stamps}]
    assert all(a[1] == a[2] for a in stamps)                                # one stamp per file
    assert all(a[2] < b[1] for a, b in zip(stamps, stamps[1:]))


def test_a_failing_worker_stops_the_load_and_the_next_run_completes_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SEGMENTS_LOAD_WORKERS", "2")
    dep = make_deployment(tmp_path / "crash")
    names = _landing(dep)
    process = loading._process

    def failing(con, settings, c, *args, **kw):
        if c.path.name == "order_lines_2026-11-20_a.csv":
            con.execute("begin transaction")  # fail half-way through a file's transaction
            con.execute("insert into raw.order_lines (order_id) values ('half-written')")
            raise OSError("disk went away")
        return process(con, settings, c, *args, **kw)

    monkeypatch.setattr(loading, "_process", failing)
    with pytest.raises(OSError, match="disk went away"):
        dep.load(batch_id="b1")
    assert dep.query("select count(*) from raw.order_lines where order_id = 'half-written'") == [(0,)]
    loaded_first = {n for (n,) in dep.query("select file_name from meta.load_ledger")}
    assert "order_lines_2026-11-20_a.csv" not in loaded_first
    assert len(loaded_first) < len(names)  # the other worker took no more files after the failure

    monkeypatch.setattr(loading, "_process", process)
    report = dep.load(batch_id="b2")
    assert {Path(f.path).name for f in report.files if f.status != "already_loaded"} == set(names) - loaded_first

    clean_dep, _, clean_report = _load(tmp_path / "clean", monkeypatch, "1")
    # same rows, rejects and outcomes as one clean run (the report differs: two runs)
    assert _state(dep, report)[1:] == _state(clean_dep, clean_report)[1:]


def test_workers_setting_must_be_a_number(monkeypatch) -> None:
    monkeypatch.setenv("SEGMENTS_LOAD_WORKERS", "two")
    with pytest.raises(ValueError, match="SEGMENTS_LOAD_WORKERS='two'"):
        loading.load_workers()
    monkeypatch.setenv("SEGMENTS_LOAD_WORKERS", "0")
    assert loading.load_workers() == 1


def test_a_file_waits_while_an_earlier_one_with_the_same_content_loads(tmp_path: Path) -> None:
    dep = make_deployment(tmp_path)
    dep.write("orders", "order_lines_2026-11-20_a.csv", csv_text(ORDER_COLS, [order_row("O-1")]))
    dep.write("orders", "order_lines_2026-11-20_b.csv", csv_text(ORDER_COLS, [order_row("O-1")]))
    ready = loading.discover(dep.settings)[0]
    dispatch = loading._Dispatch(ready, fast=True)
    i, first, stamp_a = dispatch.take()
    assert i == 0
    second: list = []
    waiter = threading.Thread(target=lambda: second.append(dispatch.take()))
    waiter.start()
    waiter.join(0.5)
    assert waiter.is_alive() and not second   # same content as file 0, which is still loading
    dispatch.done(first.sha)
    waiter.join(10)
    (j, again, stamp_b), = second
    assert j == 1 and again.sha == first.sha
    assert stamp_b > stamp_a
    dispatch.done(again.sha)
    assert dispatch.take() is None


def test_two_files_of_one_name_quarantined_at_once_are_both_kept(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SEGMENTS_LOAD_WORKERS", "2")
    dep = make_deployment(tmp_path)
    events = _jsonl([event_row(f"E-{i}") for i in range(1, 40)]).encode()
    # same name in two folders, different content, both truncated: both are quarantined
    dep.write("events", "a/web_events_2026-11-20.jsonl.gz", gzip.compress(events, mtime=0)[:-30])
    dep.write("events", "b/web_events_2026-11-20.jsonl.gz", gzip.compress(events + events, mtime=0)[:-30])
    move = loading._move

    def slow_move(src, dst):  # both workers are inside the quarantine step at the same time
        time.sleep(0.3)
        move(src, dst)

    monkeypatch.setattr(loading, "_move", slow_move)
    report = dep.load(batch_id="b1")

    assert [f.status for f in report.files] == ["quarantined", "quarantined"]
    kept = sorted(p.name for p in (dep.settings.quarantine / "events").iterdir())
    assert len([n for n in kept if not n.endswith(".reason.txt")]) == 2, kept   # neither overwrote the other
    assert len([n for n in kept if n.endswith(".reason.txt")]) == 2, kept
