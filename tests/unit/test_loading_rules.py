"""Row rules and file-name conventions of the loader, evaluated in an in-memory DuckDB."""

from __future__ import annotations

import gzip
import itertools
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest

from segmentation.contracts import CRM, EVENTS, ORDERS, Source
from segmentation.errors import ExtractError
from segmentation.loading_formats import (
    FileKind,
    check_content,
    is_in_progress_name,
    kind_from_name,
    read_csv_header,
)
from segmentation.loading_sql import bad_row_expr, fast_good_expr, violations_expr

NOW = datetime(2026, 11, 25, 23, 59, tzinfo=timezone.utc)

GOOD = {
    "int": ["1", "42", " 7 ", "+3"],
    "decimal": ["9.99", "0", "-1.5", ".5", "10."],
    "date": ["1985-03-07", "07.03.1985", "03/07/1985", "07 Mar 1985", " 1985-03-07"],
    "timestamp": ["2026-11-20T14:03:11+01:00", "2026-11-20T14:03:11Z", "2026-11-20 14:03:11+0100",
                  "2026-11-20T14:03:11.123456-05:00", "2026-11-20T14:03Z", "2026-11-26T12:00:00Z"],
    "bool": ["true", "FALSE", "Yes", "no", "y", "N", "1", "0", ""],
}
BAD = {
    "int": ["two", "1.5", "1e3", "--1"],
    "decimal": ["9,99", "1.2.3", "abc", "€5"],
    "date": ["1985-02-30", "32.01.1990", "13/45/2000", "yesterday", "1985/03/07"],
    "timestamp": ["2026-11-20 14:03:11", "2026-11-20", "2026-13-01T00:00:00Z", "20.11.2026 10:00+01:00",
                  "2026-11-28T00:00:00Z", "2099-01-01T00:00:00+00:00"],
    "bool": ["maybe", "t", "2"],
}


def _rows(source: Source, column: str, values: list[str]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    cols = ", ".join(f'"{c}" varchar' for c in source.column_names)
    con.execute(f"create table t ({cols})")
    base = {"order_id": "O-1", "line_number": "1", "order_ts": "2026-11-20T10:00:00Z", "status": "completed",
            "currency": "EUR", "product_id": "P", "quantity": "1", "unit_price": "1.0", "crm_id": "CRM-1",
            "updated_at": "2026-11-20T10:00:00Z", "event_id": "E", "event_ts": "2026-11-20T10:00:00Z",
            "event_type": "login"}
    for v in values:
        row = {c: base.get(c) for c in source.column_names}
        row[column] = v
        con.execute(f"insert into t values ({', '.join('?' for _ in row)})", list(row.values()))
    return con


def _judge(source: Source, column: str, values: list[str]) -> list[tuple[str, bool, bool, list[str]]]:
    con = _rows(source, column, values)
    return con.execute(
        f'select "{column}", {bad_row_expr(source, NOW)}, {fast_good_expr(source, NOW)}, '
        f"[v.rule for v in {violations_expr(source, NOW)}] from t").fetchall()


CASES = [(ORDERS, "quantity", "int"), (ORDERS, "unit_price", "decimal"), (CRM, "birth_date", "date"),
         (ORDERS, "order_ts", "timestamp"), (EVENTS, "event_ts", "timestamp"), (CRM, "email_opt_in", "bool")]


@pytest.mark.parametrize(("source", "column", "kind"), CASES, ids=[c[1] + "-" + c[2] for c in CASES])
def test_every_format_the_contract_allows_is_accepted(source: Source, column: str, kind: str) -> None:
    values = GOOD[kind] if not (source is ORDERS and column == "quantity") else ["1", "42", " 7 ", "+3"]
    for value, bad, _fast, rules in _judge(source, column, values):
        assert (bad, rules) == (False, []), value


@pytest.mark.parametrize(("source", "column", "kind"), CASES, ids=[c[1] + "-" + c[2] for c in CASES])
def test_values_outside_the_contract_are_flagged_with_a_rule(source: Source, column: str, kind: str) -> None:
    for value, bad, fast, rules in _judge(source, column, BAD[kind]):
        assert bad and not fast and rules, value


def test_fast_path_never_accepts_a_row_the_full_rules_reject() -> None:
    pool = ["", " ", "1", "0", "-1", "x", "9.99", "9,99", "EUR", "eur", "completed", "Completed", "web",
            "2026-11-20T10:00:00Z", "2099-11-20T10:00:00Z", "2026-11-20 10:00:00", "true", "1985-02-30"]
    for column in ("quantity", "line_number", "status", "channel", "currency", "order_ts", "discount_amount"):
        for value, bad, fast, rules in _judge(ORDERS, column, pool):
            assert bad == bool(rules), (column, value)
            assert not (fast and rules), (column, value)


def test_quantity_below_one_is_rejected_with_the_minimum_rule() -> None:
    judged = {v: rules for v, _, _, rules in _judge(ORDERS, "quantity", ["0", "-3", "1"])}
    assert judged == {"0": ["below_minimum"], "-3": ["below_minimum"], "1": []}


def test_required_empty_value_is_one_clear_rule() -> None:
    [(_, bad, _, rules)] = _judge(ORDERS, "order_id", ["  "])
    assert bad and rules == ["required_value_missing"]


@pytest.mark.parametrize(("name", "kind"), [
    ("a.csv", FileKind("csv", False)), ("a.CSV.GZ", FileKind("csv", True)), ("a.tsv", FileKind("csv", False)),
    ("a.jsonl", FileKind("jsonl", False)), ("a.ndjson.gz", FileKind("jsonl", True)),
    ("a.parquet", FileKind("parquet", False)), ("a_2026-11-20_part0001.parquet.gz", FileKind("parquet", True)),
])
def test_format_comes_from_the_file_name(name: str, kind: FileKind) -> None:
    assert kind_from_name(Path(name)) == kind


def test_unknown_extension_is_an_unsupported_file_type() -> None:
    with pytest.raises(ExtractError, match=r"a\.xlsx: .*\[rule: unsupported_file_type\]"):
        kind_from_name(Path("a.xlsx"))


@pytest.mark.parametrize("name", ["x.csv.tmp", "x.csv.part", ".x.csv", "~x.csv", "x.csv.crdownload", "_x.csv",
                                  "x.csv.filepart"])
def test_names_of_files_being_written_are_recognised(name: str) -> None:
    assert is_in_progress_name(name)


def test_final_names_are_not_in_progress() -> None:
    assert not any(is_in_progress_name(n) for n in ["order_lines_2026-11-20_part0001.csv", "x.jsonl.gz"])


@pytest.mark.parametrize(("text", "delimiter"), [("a,b,c\n1,2,3\n", ","), ("a;b;c\n", ";"), ("a\tb\tc\n", "\t"),
                                                 ('"x,y";b;c\n', ";"), ("a|b|c\r\n", "|")])
def test_delimiter_is_read_from_the_header_line(tmp_path: Path, text: str, delimiter: str) -> None:
    path = tmp_path / "f.csv"
    path.write_text(text)
    header = read_csv_header(path, FileKind("csv", False))
    assert header.delimiter == delimiter and len(header.columns) == 3


def test_header_of_gzip_csv_with_bom_and_duplicate_names(tmp_path: Path) -> None:
    path = tmp_path / "f.csv.gz"
    path.write_bytes(gzip.compress("\ufeffEmail,email, ,x\n1,2,3,4\n".encode()))
    assert read_csv_header(path, FileKind("csv", True)).columns == ["Email", "email", "column3", "x"]


@pytest.mark.parametrize(("name", "content", "rule"), [
    ("a.csv", b"", "empty_file"),
    ("a.csv", b"PAR1....", "content_does_not_match_name"),
    ("a.csv", b"\x1f\x8b\x08\x00", "content_does_not_match_name"),
    ("a.jsonl", b"a,b\n1,2\n", "content_does_not_match_name"),
    ("a.csv", b'{"a": 1}\n', "content_does_not_match_name"),
    ("a.parquet", b"a,b\n", "content_does_not_match_name"),
    ("a.csv.gz", b"a,b\n", "content_does_not_match_name"),
])
def test_content_must_be_what_the_name_says(tmp_path: Path, name: str, content: bytes, rule: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ExtractError) as exc:
        check_content(path, kind_from_name(path), len(content))
    assert exc.value.rule == rule and exc.value.file == name


def test_rules_cover_every_combination_of_two_bad_cells() -> None:
    values = ["x", "-1", "1"]
    con = _rows(ORDERS, "quantity", [])
    for q, lnum in itertools.product(values, values):
        con.execute("insert into t (order_id, line_number, order_ts, status, currency, product_id, quantity, "
                    "unit_price) values ('O', ?, '2026-11-20T10:00:00Z', 'completed', 'EUR', 'P', ?, '1')", [lnum, q])
    rows = con.execute(f"select quantity, line_number, [v.column for v in {violations_expr(ORDERS, NOW)}] "
                       f"from t").fetchall()
    for q, lnum, columns in rows:
        assert sorted(columns) == sorted(c for c, v in (("quantity", q), ("line_number", lnum)) if v != "1")
