"""The loader's fast path (loading_fast.py) changes speed, never outcomes.

Each file is loaded twice, into two deployments: with the fast path on (default)
and off (SEGMENTS_JSONL_FAST_PATH=0, general reader only). Raw rows, rejects and
ledger rows must be identical; the log says which path loaded the file, so each
case also pins whether the fast path was taken or fell back.
"""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import duckdb
import pytest

from ingest_helpers import CRM_COLS, ORDER_COLS, Deployment, crm_row, csv_text, event_row, make_deployment, order_row

FAST = "fast path)"
FELL_BACK = "general reader (fast path:"


def jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


CASES = [
    # (id, source, file name, content, fast path expected to load it)
    ("clean_jsonl", "events", "web_events_2026-11-20.jsonl",
     jsonl([event_row(f"E-{i}") for i in range(1, 6)]), True),
    ("jsonl_values_not_strings", "events", "web_events_2026-11-20.jsonl",
     jsonl([{**event_row("E-1"), "tracking_consent": True, "page_url": {"p": [1, 2.50]}, "user_id": 12},
            {**event_row("E-2"), "session_id": None, "page_url": "/caf\u00e9 \"quoted\" \\ back"}]), True),
    ("jsonl_optional_key_absent", "events", "web_events_2026-11-20.jsonl",
     jsonl([{k: v for k, v in event_row("E-1").items() if k != "device_type"}]), True),
    ("jsonl_no_trailing_newline", "events", "web_events_2026-11-20.jsonl",
     jsonl([event_row("E-1"), event_row("E-2")]).rstrip("\n"), True),
    ("clean_csv", "orders", "order_lines_2026-11-20.csv",
     csv_text(ORDER_COLS, [order_row(f"O-{i}") for i in range(1, 6)]), True),
    ("csv_extra_column", "orders", "order_lines_2026-11-20.csv",
     csv_text(ORDER_COLS + ["gift_note"], [order_row("O-1", gift_note="for mum")]), True),
    ("csv_bom_semicolon_crlf", "crm", "crm_customers_2026-11-20.csv",
     "\ufeff" + csv_text(CRM_COLS, [crm_row("CRM-1"), crm_row("CRM-2")], delimiter=";").replace("\n", "\r\n"), True),
    # Everything else falls back to the general reader, which decides the outcome.
    ("jsonl_broken_line", "events", "web_events_2026-11-20.jsonl",
     jsonl([event_row("E-1")]) + '{"event_id": "E-2", "event_ts": \n' + jsonl([event_row("E-3")]), False),
    ("jsonl_not_an_object", "events", "web_events_2026-11-20.jsonl", jsonl([event_row("E-1")]) + "[1, 2]\n", False),
    ("jsonl_rule_broken", "events", "web_events_2026-11-20.jsonl",
     jsonl([event_row("E-1"), event_row("E-2", event_type="teleport"), event_row("E-3")]), False),
    ("jsonl_extra_key_late", "events", "web_events_2026-11-20.jsonl",
     jsonl([event_row("E-1"), {**event_row("E-2"), "ab_test": {"v": 2}}]), False),
    ("jsonl_blank_line", "events", "web_events_2026-11-20.jsonl",
     json.dumps(event_row("E-1")) + "\n\n" + jsonl([event_row("E-2", event_type="teleport")]), False),
    ("jsonl_duplicate_key", "events", "web_events_2026-11-20.jsonl",
     jsonl([event_row("E-1"), event_row("E-1", event_type="login")]), False),
    ("jsonl_key_repeated_in_object", "events", "web_events_2026-11-20.jsonl",
     jsonl([event_row("E-1")]) + '{"event_id": "E-2", "event_id": "E-3", "event_ts": "2026-11-20T14:03:11Z", '
     '"event_type": "login"}\n', False),
    ("jsonl_latin1", "events", "web_events_2026-11-20.jsonl",
     jsonl([event_row("E-1", page_url="/k\u00f6ln")]).replace("\\u00f6", "\u00f6").encode("latin-1"), False),
    ("csv_rule_broken", "orders", "order_lines_2026-11-20.csv",
     csv_text(ORDER_COLS, [order_row("O-1"), order_row("O-2", quantity="two"), order_row("O-3")]), False),
    ("csv_ragged_row", "orders", "order_lines_2026-11-20.csv",
     csv_text(ORDER_COLS, [order_row("O-1")]) + "O-9,1,2026-11-20T10:00:00Z\n", False),
    ("csv_duplicate_key", "orders", "order_lines_2026-11-20.csv",
     csv_text(ORDER_COLS, [order_row("O-1"), order_row("O-1", quantity="5")]), False),
    ("csv_quoted_newline", "crm", "crm_customers_2026-11-20.csv",
     csv_text(CRM_COLS, [crm_row("CRM-1", street="Main St 1\n2nd floor"), crm_row("CRM-2")]), False),
    ("csv_header_only", "orders", "order_lines_2026-11-20.csv", ",".join(ORDER_COLS) + "\n", False),
]

RAW = {"events": "web_events", "orders": "order_lines", "crm": "crm_customers"}


def _state(dep: Deployment, source: str) -> dict[str, list[tuple]]:
    table = RAW[source]
    return dict(zip(("raw", "rejects", "ledger"), dep.query_many([
        (f"select * exclude (_loaded_at) from raw.{table} order by _row_number", None),
        ("select * exclude (rejected_at) from meta.rejected_rows order by row_number, rule", None),
        ("select * exclude (file_path, started_at, finished_at, file_mtime_ns) from meta.load_ledger", None),
    ])))


def _load(tmp_path: Path, name: str, source: str, file_name: str, content, caplog) -> tuple[dict, str]:
    dep = make_deployment(tmp_path / name)
    dep.write(source, file_name, content)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="segmentation.loading"):
        report = dep.load(batch_id="b1")
    assert report.count("loaded") == 1, report.summary()
    return _state(dep, source), caplog.text


@pytest.mark.parametrize("case_id, source, file_name, content, fast", CASES, ids=[c[0] for c in CASES])
def test_fast_path_gives_the_general_readers_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog,
                                                     case_id, source, file_name, content, fast) -> None:
    with_fast, log_fast = _load(tmp_path, "fast", source, file_name, content, caplog)
    monkeypatch.setenv("SEGMENTS_JSONL_FAST_PATH", "0")
    general, log_general = _load(tmp_path, "general", source, file_name, content, caplog)

    assert with_fast == general
    assert FAST not in log_general and FELL_BACK not in log_general
    if fast:
        assert "rows, 0 rejected (fast path)" in log_fast
        assert FELL_BACK not in log_fast
        assert with_fast["raw"] and not with_fast["rejects"]
    else:
        assert "(fast path)" not in log_fast  # not loaded by it: tried and rolled back, or not tried
        if case_id != "jsonl_latin1":  # (its first lines are not UTF-8 JSON: not even tried)
            assert FELL_BACK in log_fast


def test_fast_path_rolls_back_everything_before_falling_back(deployment: Deployment) -> None:
    """A rule broken on the last line: the fast insert of the good lines is undone, no row is doubled."""
    rows = [event_row(f"E-{i}") for i in range(1, 1001)] + [event_row("E-1001", event_ts="soon")]
    deployment.write("events", "web_events_2026-11-20.jsonl", jsonl(rows))
    report = deployment.load()
    assert (report.rows_loaded, report.rows_rejected) == (1000, 1)
    assert deployment.query("select count(*), count(distinct _row_number), max(_row_number) from raw.web_events") \
        == [(1000, 1000, 1000)]
    assert deployment.rejects_of("web_events_2026-11-20.jsonl") == [(1001, "event_ts", "invalid_timestamp")]


@pytest.mark.slow
@pytest.mark.parametrize("fast_path", ["1", "0"])
def test_row_numbers_are_line_numbers_in_a_multi_row_group_jsonl(deployment: Deployment, monkeypatch, fast_path) -> None:
    """260k lines span several DuckDB row groups: both paths number rows by physical line.

    (The general reader used to number by the staging table's rowid, which a
    parallel insert does not keep in file order: rejects named the wrong line.)
    """
    monkeypatch.setenv("SEGMENTS_JSONL_FAST_PATH", fast_path)
    n, bad = 260_000, 250_001
    path = deployment.settings.landing / "events" / "web_events_2026-11-20.jsonl"
    path.parent.mkdir(parents=True)
    con = duckdb.connect()
    con.execute(f"""copy (select 'E-' || i as event_id,
                                 case when i = {bad} then 'never' else '2026-11-20T10:00:00Z' end as event_ts,
                                 'page_view' as event_type, 'A-' || i as anonymous_id
                          from range(1, {n + 1}) t(i) order by i) to '{path}' (format json)""")
    con.close()
    report = deployment.load()
    assert (report.rows_loaded, report.rows_rejected) == (n - 1, 1)
    assert deployment.query("select count(*) from raw.web_events "
                            "where _row_number <> substr(event_id, 3)::bigint") == [(0,)]
    assert deployment.rejects_of("web_events_2026-11-20.jsonl") == [(bad, "event_ts", "invalid_timestamp")]


def test_truncated_jsonl_gzip_is_still_quarantined_as_corrupt_gzip(deployment: Deployment) -> None:
    """The fast path's gzip error is the file's fault, not the environment's: the general reader judges it."""
    data = jsonl([event_row(f"E-{i}") for i in range(20_000)]).encode()
    deployment.write("events", "web_events_2026-11-20.jsonl.gz", gzip.compress(data)[:-300])
    report = deployment.load()
    assert [(f.status, f.rule) for f in report.files] == [("quarantined", "corrupt_gzip")]
    assert deployment.query("select count(*) from raw.web_events") == [(0,)]
