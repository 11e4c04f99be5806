"""A corpus of malformed (and merely unusual) extracts, each with its defined outcome.

Every case first loads a good baseline into the warehouse, then delivers one
input and asserts (a) the outcome: accepted, row rejects with their rule, or
file quarantined with its rule and a reason file, and (b) that nothing loaded
before changed.
"""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from ingest_helpers import (
    CRM_COLS,
    EVENT_COLS,
    ORDER_COLS,
    Deployment,
    crm_row,
    csv_text,
    event_row,
    make_deployment,
    order_row,
)

TABLE = {"orders": "order_lines", "crm": "crm_customers", "events": "web_events"}


def jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def parquet_bytes(rows: list[dict[str, str]], tmp: Path) -> bytes:
    con = duckdb.connect()
    cols = list(rows[0])
    values = ", ".join("(" + ", ".join("'" + r[c].replace("'", "''") + "'" for c in cols) + ")" for r in rows)
    out = tmp / "x.parquet"
    con.execute(f"copy (select * from (values {values}) t({', '.join(cols)})) to '{out}' (format parquet)")
    con.close()
    return out.read_bytes()


def good_orders(n: int = 2) -> str:
    return csv_text(ORDER_COLS, [order_row(f"O-{i}") for i in range(1, n + 1)])


@dataclass
class Case:
    id: str
    source: str
    name: str
    build: Callable[[Path], bytes | str]
    status: str                                   # loaded | quarantined | pending | duplicate
    rule: str | None = None                       # file-level rule (quarantined)
    rows_loaded: int | None = None
    rejects: list[tuple[int, str | None, str]] = field(default_factory=list)  # (row, column, rule)


CASES = [
    Case("empty_file", "orders", "order_lines_2026-11-20.csv", lambda t: b"", "quarantined", "empty_file"),
    Case("whitespace_only", "orders", "order_lines_2026-11-20.csv", lambda t: "\n \n", "quarantined", "empty_file"),
    Case("header_only", "orders", "order_lines_2026-11-20.csv", lambda t: ",".join(ORDER_COLS) + "\n",
         "loaded", rows_loaded=0),
    Case("missing_required_column", "orders", "order_lines_2026-11-20.csv",
         lambda t: csv_text([c for c in ORDER_COLS if c != "quantity"], [order_row()]),
         "quarantined", "missing_required_column"),
    Case("unknown_extra_column_kept", "orders", "order_lines_2026-11-20.csv",
         lambda t: csv_text(ORDER_COLS + ["gift_note"], [order_row(gift_note="for mum")]), "loaded", rows_loaded=1),
    Case("wrong_type_in_cell", "orders", "order_lines_2026-11-20.csv",
         lambda t: csv_text(ORDER_COLS, [order_row("O-1"), order_row("O-2", quantity="two")]),
         "loaded", rows_loaded=1, rejects=[(2, "quantity", "not_an_integer")]),
    Case("decimal_comma", "orders", "order_lines_2026-11-20.csv",
         lambda t: csv_text(ORDER_COLS, [order_row("O-1", unit_price="9,99")]),
         "loaded", rows_loaded=0, rejects=[(1, "unit_price", "not_a_decimal")]),
    Case("unparseable_date", "crm", "crm_customers_2026-11-20.csv",
         lambda t: csv_text(CRM_COLS, [crm_row("CRM-1", birth_date="1985-02-30"), crm_row("CRM-2")]),
         "loaded", rows_loaded=1, rejects=[(1, "birth_date", "unparseable_date")]),
    Case("negative_quantity", "orders", "order_lines_2026-11-20.csv",
         lambda t: csv_text(ORDER_COLS, [order_row("O-1", quantity="-3"), order_row("O-2")]),
         "loaded", rows_loaded=1, rejects=[(1, "quantity", "below_minimum")]),
    Case("future_timestamp", "events", "web_events_2026-11-20.jsonl",
         lambda t: jsonl([event_row("E-1", event_ts="2031-01-01T00:00:00Z"), event_row("E-2")]),
         "loaded", rows_loaded=1, rejects=[(1, "event_ts", "future_timestamp")]),
    Case("timestamp_without_offset", "orders", "order_lines_2026-11-20.csv",
         lambda t: csv_text(ORDER_COLS, [order_row("O-1", order_ts="2026-11-20 14:03:11")]),
         "loaded", rows_loaded=0, rejects=[(1, "order_ts", "invalid_timestamp")]),
    Case("duplicate_key_in_file", "orders", "order_lines_2026-11-20.csv",
         lambda t: csv_text(ORDER_COLS, [order_row("O-1"), order_row("O-2"), order_row("O-1", quantity="5")]),
         "loaded", rows_loaded=2, rejects=[(3, "order_id, line_number", "duplicate_key")]),
    Case("duplicate_key_in_jsonl", "events", "web_events_2026-11-20.jsonl",
         lambda t: jsonl([event_row("E-1"), event_row("E-1", event_type="login")]),
         "loaded", rows_loaded=1, rejects=[(2, "event_id", "duplicate_key")]),
    Case("required_value_empty", "crm", "crm_customers_2026-11-20.csv",
         lambda t: csv_text(CRM_COLS, [crm_row("")]),
         "loaded", rows_loaded=0, rejects=[(1, "crm_id", "required_value_missing")]),
    Case("enum_and_boolean_invalid", "orders", "order_lines_2026-11-20.csv",
         lambda t: csv_text(ORDER_COLS, [order_row("O-1", status="shipped")]),
         "loaded", rows_loaded=0, rejects=[(1, "status", "invalid_enum_value")]),
    Case("boolean_invalid", "crm", "crm_customers_2026-11-20.csv",
         lambda t: csv_text(CRM_COLS, [crm_row("CRM-1", email_opt_in="maybe")]),
         "loaded", rows_loaded=0, rejects=[(1, "email_opt_in", "invalid_boolean")]),
    Case("ragged_csv_row", "orders", "order_lines_2026-11-20.csv",
         lambda t: good_orders(1) + "O-9,1,2026-11-20T10:00:00Z\n" + csv_text(ORDER_COLS, [order_row("O-3")]).split("\n", 1)[1],
         "loaded", rows_loaded=2, rejects=[(2, None, "malformed_row")]),
    Case("malformed_json_line", "events", "web_events_2026-11-20.jsonl",
         lambda t: jsonl([event_row("E-1")]) + '{"event_id": "E-2", "event_ts": \n' + jsonl([event_row("E-3")]),
         "loaded", rows_loaded=2, rejects=[(2, None, "malformed_json")]),
    Case("json_line_not_object", "events", "web_events_2026-11-20.jsonl",
         lambda t: jsonl([event_row("E-1")]) + "[1, 2]\n",
         "loaded", rows_loaded=1, rejects=[(2, None, "not_a_json_object")]),
    Case("truncated_gzip", "orders", "order_lines_2026-11-20.csv.gz",
         lambda t: gzip.compress(good_orders(3000).encode())[:-200], "quarantined", "corrupt_gzip"),
    Case("gz_name_plain_content", "orders", "order_lines_2026-11-20.csv.gz",
         lambda t: good_orders(), "quarantined", "content_does_not_match_name"),
    Case("parquet_named_csv", "orders", "order_lines_2026-11-20.csv",
         lambda t: parquet_bytes([order_row()], t), "quarantined", "content_does_not_match_name"),
    Case("csv_named_jsonl", "events", "web_events_2026-11-20.jsonl",
         lambda t: csv_text(EVENT_COLS, [event_row()]), "quarantined", "content_does_not_match_name"),
    Case("binary_named_csv", "orders", "order_lines_2026-11-20.csv",
         lambda t: bytes(range(256)) * 4, "quarantined", "content_does_not_match_name"),
    Case("corrupt_parquet", "orders", "order_lines_2026-11-20.parquet",
         lambda t: b"PAR1" + b"\x00garbage" * 50, "quarantined", "unreadable_parquet"),
    Case("unsupported_extension", "orders", "order_lines_2026-11-20.xlsx",
         lambda t: b"PK\x03\x04 not really", "quarantined", "unsupported_file_type"),
    Case("latin1_csv", "crm", "crm_customers_2026-11-20.csv",
         lambda t: csv_text(CRM_COLS, [crm_row("CRM-1", first_name="José", city="Köln")]).encode("latin-1"),
         "loaded", rows_loaded=1),
    Case("bom_semicolon_crlf", "crm", "crm_customers_2026-11-20.csv",
         lambda t: b"\xef\xbb\xbf" + csv_text(CRM_COLS, [crm_row("CRM-1")], delimiter=";").replace("\n", "\r\n").encode(),
         "loaded", rows_loaded=1),
    Case("quoted_delimiter_and_newline", "crm", "crm_customers_2026-11-20.csv",
         lambda t: csv_text(CRM_COLS, [crm_row("CRM-1", street='Main St 1, "Hinterhaus"\n2nd floor'), crm_row("CRM-2")]),
         "loaded", rows_loaded=2),
    Case("tab_separated_gz", "orders", "order_lines_2026-11-20.tsv.gz",
         lambda t: gzip.compress(csv_text(ORDER_COLS, [order_row("O-1")], delimiter="\t").encode()),
         "loaded", rows_loaded=1),
    Case("jsonl_gz_with_numbers_and_extra_key", "events", "web_events_2026-11-20.jsonl.gz",
         lambda t: gzip.compress((json.dumps({**event_row("E-1"), "tracking_consent": True, "ab_test": {"v": 2}})
                                  + "\n").encode()), "loaded", rows_loaded=1),
    Case("parquet_gz", "orders", "order_lines_2026-11-20.parquet.gz",
         lambda t: gzip.compress(parquet_bytes([order_row("O-1"), order_row("O-2", quantity="0")], t)),
         "loaded", rows_loaded=1, rejects=[(2, "quantity", "below_minimum")]),
    Case("in_progress_temp_name", "orders", "order_lines_2026-11-20.csv.part",
         lambda t: good_orders(), "pending"),
    Case("hidden_name", "orders", ".order_lines_2026-11-20.csv",
         lambda t: good_orders(), "pending"),
]


@pytest.fixture(scope="module")
def baseline_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse holding a good baseline load, built once and copied per test."""
    home = tmp_path_factory.mktemp("baseline") / "home"
    dep = make_deployment(home)
    _baseline(dep)
    for p in dep.settings.landing.rglob("*.*"):  # loaded files need not stay in landing
        p.unlink()
    return home


@pytest.fixture
def loaded(baseline_home: Path, tmp_path: Path) -> tuple[Deployment, dict[str, list[tuple]]]:
    home = tmp_path / "home"
    shutil.copytree(baseline_home, home)
    dep = make_deployment(home)
    return dep, _baseline_state(dep)


def _baseline(dep: Deployment) -> dict[str, list[tuple]]:
    dep.write("orders", "order_lines_2026-11-19_part0001.csv", csv_text(ORDER_COLS, [order_row("B-1"), order_row("B-2")]))
    dep.write("crm", "crm_customers_2026-11-19.csv", csv_text(CRM_COLS, [crm_row("CRM-B1")]))
    dep.write("events", "web_events_2026-11-19.jsonl", jsonl([event_row("E-B1")]))
    report = dep.load(batch_id="baseline")
    assert report.count("loaded") == 3 and report.rows_loaded == 4
    return _baseline_state(dep)


def _baseline_state(dep: Deployment) -> dict[str, list[tuple]]:
    names = list(TABLE.values()) + ["ledger", "rejects"]
    results = dep.query_many(
        [(f"select * from raw.{t} where _batch_id = 'baseline' order by _file_name, _row_number", None)
         for t in TABLE.values()]
        + [("select * from meta.load_ledger where batch_id = 'baseline' order by file_name", None),
           ("select * from meta.rejected_rows where batch_id = 'baseline'", None)])
    return dict(zip(names, results))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_input_has_defined_outcome_and_leaves_earlier_loads_untouched(
        loaded: tuple[Deployment, dict[str, list[tuple]]], case: Case, tmp_path: Path) -> None:
    deployment, before = loaded
    assert before["order_lines"] and before["ledger"]
    path = deployment.write(case.source, case.name, case.build(tmp_path))

    report = deployment.load(batch_id="case")

    [outcome] = [f for f in report.files if Path(f.path).name == case.name]
    assert outcome.status == case.status, outcome
    table = TABLE[case.source]
    if case.status == "quarantined":
        assert outcome.rule == case.rule, outcome.error
        assert case.name in outcome.error and f"[rule: {case.rule}]" in outcome.error
        moved = deployment.settings.quarantine / case.source / case.name
        assert moved.exists() and not path.exists()
        reason = moved.with_name(case.name + ".reason.txt").read_text()
        assert f"rule: {case.rule}" in reason and "segments requeue" in reason
        assert deployment.rows_of(table, case.name) == []
        assert deployment.rejects_of(case.name) == []
        [(status, rule)] = deployment.query("select status, error_rule from meta.load_ledger where file_name = ?",
                                            [case.name])
        assert (status, rule) == ("quarantined", case.rule)
    elif case.status == "pending":
        assert path.exists()
        assert deployment.query("select count(*) from meta.load_ledger where file_name = ?", [case.name]) == [(0,)]
    else:
        assert outcome.rows_loaded == case.rows_loaded
        assert len(deployment.rows_of(table, case.name)) == case.rows_loaded
        assert deployment.rejects_of(case.name) == sorted(case.rejects)
        assert outcome.rows_rejected == len({r[0] for r in case.rejects})
        if case.rejects:
            reasons = deployment.query("select reason, record from meta.rejected_rows where file_name = ?", [case.name])
            assert all(reason and record for reason, record in reasons)
    assert _baseline_state(deployment) == before


def test_extra_column_is_kept_in_extra_json_and_recorded_as_drift(deployment: Deployment) -> None:
    deployment.write("orders", "order_lines_2026-11-20.csv",
                     csv_text(ORDER_COLS + ["gift_note"], [order_row(gift_note="for mum")]))
    deployment.load()
    [(extra,)] = deployment.query("select _extra from raw.order_lines")
    assert json.loads(extra) == {"gift_note": "for mum"}
    [(drift,)] = deployment.query("select schema_drift from meta.load_ledger")
    assert "gift_note" in drift


def test_values_are_kept_exactly_as_delivered(deployment: Deployment) -> None:
    deployment.write("crm", "crm_customers_2026-11-20.csv",
                     csv_text(CRM_COLS, [crm_row("CRM-1", first_name="  José ", birth_date="07 Mar 1985",
                                                 signup_date="03/15/2020", email_opt_in="Y",
                                                 updated_at="2026-11-01T10:00:00.123+0130")]).encode("latin-1"))
    report = deployment.load()
    assert report.rows_rejected == 0
    [(first, birth, signup, opt, updated)] = deployment.query(
        "select first_name, birth_date, signup_date, email_opt_in, updated_at from raw.crm_customers")
    assert (first, birth, signup, opt, updated) == ("  José ", "07 Mar 1985", "03/15/2020", "Y",
                                                    "2026-11-01T10:00:00.123+0130")


def test_row_numbers_follow_the_file_across_rejected_rows(deployment: Deployment) -> None:
    rows = [order_row(f"O-{i}") for i in range(1, 8)]
    text = csv_text(ORDER_COLS, rows).splitlines()
    text.insert(3, "broken,row")  # becomes data row 3
    deployment.write("orders", "order_lines_2026-11-20.csv", "\n".join(text) + "\n")
    deployment.load()
    got = deployment.query("select order_id, _row_number from raw.order_lines order by _row_number")
    assert got == [("O-1", 1), ("O-2", 2), ("O-3", 4), ("O-4", 5), ("O-5", 6), ("O-6", 7), ("O-7", 8)]
    assert deployment.rejects_of("order_lines_2026-11-20.csv") == [(3, None, "malformed_row")]


def test_rejected_json_row_keeps_the_whole_delivered_line(deployment: Deployment) -> None:
    line = '{"event_id": "E-1", "event_ts": "yesterday", "event_type": "login"}'
    deployment.write("events", "web_events_2026-11-20.jsonl", line + "\n")
    deployment.load()
    [(rule, value, record, reason)] = deployment.query("select rule, value, record, reason from meta.rejected_rows")
    assert (rule, value, record) == ("invalid_timestamp", "yesterday", line)
    assert "'yesterday'" in reason and "ISO 8601" in reason


def test_quarantine_message_names_file_and_missing_column(deployment: Deployment) -> None:
    deployment.write("orders", "order_lines_2026-11-20.csv", csv_text(["order_id", "line_number"], []))
    [outcome] = deployment.load().files
    assert outcome.error.startswith("order_lines_2026-11-20.csv, column 'order_ts':")
    assert "nothing was loaded" in outcome.error


def test_wrong_source_folder_file_is_quarantined_for_missing_columns(deployment: Deployment) -> None:
    deployment.write("crm", "order_lines_2026-11-20.csv", good_orders())
    [outcome] = deployment.load().files
    assert (outcome.status, outcome.rule) == ("quarantined", "missing_required_column")


def test_csv_reader_accepts_every_contract_format(deployment: Deployment) -> None:
    rows = [crm_row(f"CRM-{i}", birth_date=d, email_opt_in=b, updated_at=ts)
            for i, (d, b, ts) in enumerate([
                ("1985-03-07", "true", "2026-11-01T10:00:00Z"),
                ("07.03.1985", "FALSE", "2026-11-01T10:00:00+01:00"),
                ("03/07/1985", "yes", "2026-11-01T10:00:00-0500"),
                ("07 Mar 1985", "n", "2026-11-01T10:00:00.5+05:30"),
                ("", "1", "2026-11-01 10:00:00+00"),
                ("", "", "2026-11-01T10:00Z"),
            ])]
    deployment.write("crm", "crm_customers_2026-11-20.csv", csv_text(CRM_COLS, rows))
    report = deployment.load()
    assert deployment.rejects_of("crm_customers_2026-11-20.csv") == []
    assert report.rows_loaded == 6


def test_jsonl_row_numbers_are_physical_line_numbers_across_blank_lines(deployment: Deployment) -> None:
    lines = [json.dumps(event_row("E-1")), "", json.dumps(event_row("E-2")), "   ",
             json.dumps(event_row("E-3", event_type="teleport"))]
    deployment.write("events", "web_events_2026-11-20.jsonl", "\n".join(lines) + "\n")
    report = deployment.load()
    assert deployment.query("select event_id, _row_number from raw.web_events order by 2") == [("E-1", 1), ("E-2", 3)]
    assert deployment.rejects_of("web_events_2026-11-20.jsonl") == [(5, "event_type", "invalid_enum_value")]
    assert (report.rows_loaded, report.rows_rejected) == (2, 1)


def test_file_larger_than_the_memory_limit_is_loaded_by_spilling(deployment: Deployment,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGMENTS_DUCKDB_MEMORY_LIMIT", "64MB")
    path = deployment.settings.landing / "orders" / "order_lines_2026-11-20.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"""copy (select 'O-' || i as order_id, '1' as line_number, '2026-11-20T10:00:00Z' as order_ts,
                    '' as crm_id, repeat('x', 120) || i || '@example.com' as email, 'completed' as status, 'web' as channel,
                    'EUR' as currency, 'P' as product_id, '1' as quantity, '1.00' as unit_price, '0' as discount_amount
                    from range(250000) t(i)) to '{path}' (header)""")
    con.close()
    assert path.stat().st_size > 40_000_000
    report = deployment.load()
    assert report.rows_loaded == 250_000 and report.rows_rejected == 0
