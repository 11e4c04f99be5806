"""Reading ahead (loading_prefetch.py) and the key-list query change speed, never outcomes.

The key-list query counts records whose keys are exactly the contract's columns in
contract order under one flag instead of grouping every record's key list; it must
still return every other key list (drift, missing keys, other order, not an object).
The read-ahead thread computes the same checksum, line count and key lists the
loader would compute inline, and a load with it gives the same raw rows, rejects
and ledger as one without it.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from ingest_helpers import ORDER_COLS, csv_text, event_row, make_deployment, order_row
from segmentation.contracts import SOURCES
from segmentation.loading_fast import key_sets_of, key_sets_sql
from segmentation.loading_formats import FileKind, sha256_and_lines
from segmentation.loading_prefetch import PrefetchItem, Prefetcher, prepare

EVENTS = SOURCES["events"]
JSONL = FileKind("jsonl", False)


def _jsonl(records: list) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def _key_lists(path: Path) -> dict:
    rows = duckdb.connect().execute(key_sets_sql(path, JSONL, EVENTS)).fetchall()
    return {tuple(k) if k is not None else None: n for k, n in key_sets_of(rows, EVENTS)}


def test_key_lists_keep_every_list_that_is_not_the_contract_in_order(tmp_path: Path) -> None:
    full = {c: event_row("E-1").get(c) for c in EVENTS.column_names}  # every contract key, contract order
    reordered = dict(reversed(list(full.items())))
    drifted = {**full, "ab_test": "b"}
    missing = {k: v for k, v in full.items() if k != "device_type"}
    path = tmp_path / "web_events_2026-11-20.jsonl"
    path.write_text(_jsonl([full, full, reordered, drifted, missing, [1, 2]]), encoding="utf-8")

    lists = _key_lists(path)

    assert lists[tuple(EVENTS.column_names)] == 2
    assert lists[tuple(reordered)] == 1
    assert lists[tuple(drifted)] == 1
    assert lists[tuple(missing)] == 1
    assert sum(lists.values()) == 6  # the array line is counted too, under a key list that is not the contract


def test_read_ahead_gives_the_checksum_lines_and_key_lists_the_loader_computes_inline(tmp_path: Path) -> None:
    events = tmp_path / "web_events_2026-11-20.jsonl"
    events.write_text(_jsonl([event_row(f"E-{i}") for i in range(5)]), encoding="utf-8")
    orders = tmp_path / "order_lines_2026-11-20.csv"
    orders.write_text(csv_text(ORDER_COLS, [order_row("O-1"), order_row("O-2")]), encoding="utf-8")
    broken = tmp_path / "web_events_2026-11-21.jsonl"
    broken.write_text('{"event_id": "E-1", "event_ts": \n', encoding="utf-8")
    items = [PrefetchItem(events, key_sets_sql(events, JSONL, EVENTS)), PrefetchItem(orders),
             PrefetchItem(broken, key_sets_sql(broken, JSONL, EVENTS))]

    with Prefetcher(items, fast=True, enabled=True) as ahead:
        got = [ahead.get(i) for i in range(len(items))]

    assert [(p.sha, p.physical_lines) for p in got] == [sha256_and_lines(i.path) for i in items]
    assert got[0].key_sets == duckdb.connect().execute(items[0].key_sets_query).fetchall()
    assert got[1].key_sets is None            # CSV: nothing to list
    assert got[2].key_sets is None            # DuckDB cannot parse it: left to the loader, which judges it
    assert prepare(PrefetchItem(events), fast=True).key_sets is None  # inline: the loader runs the query itself


CASES = {
    "clean_jsonl": ("events", "web_events_2026-11-20.jsonl", _jsonl([event_row(f"E-{i}") for i in range(1, 6)])),
    "jsonl_extra_key_late": ("events", "web_events_2026-11-20.jsonl",
                             _jsonl([event_row("E-1"), {**event_row("E-2"), "ab_test": {"v": 2}}])),
    "jsonl_rule_broken": ("events", "web_events_2026-11-20.jsonl",
                          _jsonl([event_row("E-1"), event_row("E-2", event_type="teleport")])),
    "clean_csv": ("orders", "order_lines_2026-11-20.csv", csv_text(ORDER_COLS, [order_row("O-1"), order_row("O-2")])),
}


def _state(home: Path, source: str, file_name: str, content: str, monkeypatch, prefetch: str) -> list:
    monkeypatch.setenv("SEGMENTS_LOAD_PREFETCH", prefetch)
    dep = make_deployment(home)
    dep.write(source, file_name, content)
    dep.write("events", "web_events_2026-11-19.jsonl", _jsonl([event_row("E-100")]))  # a file before it
    report = dep.load(batch_id="b1")
    table = {"events": "web_events", "orders": "order_lines"}[source]
    return [[(f.path.rsplit("/", 1)[-1], f.status, f.rows_loaded, f.rows_rejected, f.schema_drift)
             for f in report.files]] + dep.query_many([
        (f"select * exclude (_loaded_at) from raw.{table} order by _file_name, _row_number", None),
        ("select * exclude (rejected_at) from meta.rejected_rows order by row_number, rule", None),
        ("select * exclude (file_path, started_at, finished_at, file_mtime_ns) from meta.load_ledger "
         "order by file_name", None)])


@pytest.mark.parametrize("case", sorted(CASES))
def test_loading_with_read_ahead_gives_the_same_warehouse(tmp_path: Path, monkeypatch, case: str) -> None:
    source, name, content = CASES[case]
    with_read_ahead = _state(tmp_path / "on", source, name, content, monkeypatch, "1")
    without = _state(tmp_path / "off", source, name, content, monkeypatch, "0")
    assert with_read_ahead == without
    assert with_read_ahead[1]  # something was loaded
