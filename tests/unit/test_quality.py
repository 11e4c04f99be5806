"""Quality gates on tiny synthetic warehouses (one tmp DuckDB file per test)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import duckdb
import pytest

from segmentation.config import Settings
from segmentation.contracts import LOAD_METADATA_COLUMNS, SOURCES
from segmentation.errors import QualityGateFailed
from segmentation.quality import load_suites, run_gate, suite_parameters

GOOD_ORDER = {"order_id": "O-1", "line_number": "1", "order_ts": "2026-11-20T14:03:11+01:00", "crm_id": "CRM-0000042",
              "email": "a@example.com", "status": "completed", "channel": "web", "currency": "EUR",
              "product_id": "P-1", "quantity": "2", "unit_price": "19.99", "discount_amount": ""}
GOOD_EVENT = {"event_id": "E-1", "event_ts": "2026-11-20T14:03:11Z", "event_type": "page_view", "device_type": "mobile",
              "tracking_consent": "yes"}
GOOD_CRM = {"crm_id": "CRM-0000042", "email": "a@example.com", "updated_at": "2026-11-20T14:03:11+01:00", "email_opt_in": "Y", "sms_opt_in": ""}


def _settings(tmp_path: Path) -> Settings:
    return dataclasses.replace(Settings.from_env(), home=tmp_path, warehouse=tmp_path / "wh.duckdb",
                               reports=tmp_path / "reports")


def _create_raw(con: duckdb.DuckDBPyConnection, drop: str | None = None) -> None:
    con.execute("create schema if not exists raw")
    for source in SOURCES.values():
        cols = [f'"{c}" varchar' for c in source.column_names if c != drop]
        cols += [f"{name} {kind}" for name, kind, _ in LOAD_METADATA_COLUMNS]
        con.execute(f"create table raw.{source.table} ({', '.join(cols)})")


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict], batch: str, minute: int = 0) -> None:
    for i, row in enumerate(rows):
        row = {**row, "_batch_id": batch, "_row_number": i + 1, "_file_name": f"{table}.csv"}
        cols = ", ".join(f'"{c}"' for c in row)
        con.execute(f"insert into raw.{table} ({cols}, _loaded_at) values ({', '.join('?' * len(row))}, "
                    f"timestamp '2026-11-25 10:00:00' + interval {minute} minute)", list(row.values()))


def _good_batch(con: duckdb.DuckDBPyConnection, batch: str, minute: int = 0) -> None:
    _insert(con, "order_lines", [GOOD_ORDER, {**GOOD_ORDER, "line_number": "2", "channel": ""}], batch, minute)
    _insert(con, "web_events", [GOOD_EVENT, {**GOOD_EVENT, "event_id": "E-2", "event_type": "purchase"}], batch, minute)
    _insert(con, "crm_customers", [GOOD_CRM], batch, minute)


@pytest.fixture()
def warehouse(tmp_path: Path):
    settings = _settings(tmp_path)
    con = duckdb.connect(str(settings.warehouse))
    _create_raw(con)
    yield settings, con
    con.close()


def _gate(settings: Settings, con: duckdb.DuckDBPyConnection, gate: str, **kw):
    con.close()  # the gate opens the single-writer file itself
    return run_gate(settings, gate, run_id=kw.pop("run_id", "test-run"), **kw)


def test_clean_raw_batch_passes_and_writes_data_docs(warehouse):
    settings, con = warehouse
    _good_batch(con, "b1")
    result = _gate(settings, con, "raw", batch_id="b1")
    assert result.success, result.summary()
    assert {s.table_name for s in result.suites if s.expectations} == {"raw.order_lines", "raw.web_events",
                                                                       "raw.crm_customers"}
    assert (settings.reports / "data_docs" / "index.html").exists()
    assert result.data_docs_index == settings.reports / "data_docs" / "index.html"


def test_corrupted_batch_fails_naming_table_column_and_expectation(warehouse):
    settings, con = warehouse
    _insert(con, "order_lines", [
        GOOD_ORDER,
        {**GOOD_ORDER},                                      # duplicate key (O-1, 1)
        {**GOOD_ORDER, "order_id": None, "line_number": "3"},  # null key
        {**GOOD_ORDER, "line_number": "4", "status": "shipped"},
        {**GOOD_ORDER, "line_number": "5", "quantity": "-2"},
    ], "bad")
    result = _gate(settings, con, "raw", batch_id="bad")
    assert not result.success
    failed = {(f.table_name, f.column, f.expectation_type): f.unexpected_count for f in result.failures}
    assert failed == {
        ("raw.order_lines", "order_id", "expect_column_values_to_not_be_null"): 1,
        ("raw.order_lines", "order_id,line_number", "unexpected_rows_expectation"): 1,
        ("raw.order_lines", "status", "expect_column_values_to_be_in_set"): 1,
        ("raw.order_lines", "quantity", "expect_column_values_to_match_regex"): 1,
    }
    summary = result.summary()
    assert "raw.order_lines.status: expect_column_values_to_be_in_set" in summary
    assert "shipped" in summary
    assert "skipped raw.web_events: no rows in batch bad" in summary


def test_a_clean_batch_is_only_counted_and_a_failed_one_validated_again_with_examples(warehouse, monkeypatch):
    # Example values cost a scan per expectation even when there are none, so they
    # are fetched only in a second pass, after a failure (COUNTING_PASS, EXAMPLES_PASS).
    import great_expectations as gx

    passes: list[str] = []
    run = gx.Checkpoint.run

    def recording_run(self, *args, **kwargs):
        passes.append(self.result_format["result_format"])
        return run(self, *args, **kwargs)

    monkeypatch.setattr(gx.Checkpoint, "run", recording_run)
    settings, con = warehouse
    _good_batch(con, "b1")
    _insert(con, "order_lines", [{**GOOD_ORDER, "order_id": "O-9", "line_number": "4", "status": "shipped"}], "b2",
            minute=5)
    con.close()
    assert run_gate(settings, "raw", run_id="clean", batch_id="b1").success
    assert passes == ["BASIC"]
    passes.clear()
    failed = run_gate(settings, "raw", run_id="bad", batch_id="b2")
    assert not failed.success and passes == ["BASIC", "SUMMARY"]
    assert "shipped" in failed.summary()  # the example comes from the second pass


def test_an_event_twice_in_one_file_fails_and_in_two_files_passes(warehouse):
    # The duplicate-key query groups by a 64-bit hash first and by the strings
    # only for colliding hashes (raw_web_events.json); it must still find a
    # key twice in one file, and only that.
    settings, con = warehouse
    _insert(con, "web_events", [
        {**GOOD_EVENT, "_file_sha256": "a" * 64},
        {**GOOD_EVENT, "_file_sha256": "a" * 64},                      # E-1 twice in file a
        {**GOOD_EVENT, "event_id": "E-2", "_file_sha256": "a" * 64},
        {**GOOD_EVENT, "event_id": "E-2", "_file_sha256": "b" * 64},   # E-2 once in a, once in b
        {**GOOD_EVENT, "event_id": "E-3", "_file_sha256": "b" * 64},
    ], "dup")
    result = _gate(settings, con, "raw", batch_id="dup")
    failed = {(f.table_name, f.column, f.expectation_type): f.unexpected_count for f in result.failures}
    assert failed == {("raw.web_events", "event_id", "unexpected_rows_expectation"): 1}


def test_missing_column_fails_the_schema_expectation_and_raises_when_asked(tmp_path: Path):
    settings = _settings(tmp_path)
    con = duckdb.connect(str(settings.warehouse))
    _create_raw(con, drop="currency")
    row = {k: v for k, v in GOOD_ORDER.items() if k != "currency"}
    _insert(con, "order_lines", [row], "b1")
    con.close()
    with pytest.raises(QualityGateFailed) as err:
        run_gate(settings, "raw", run_id="r-missing", raise_on_failure=True)
    message = str(err.value)
    assert "raw.order_lines: expect_table_columns_to_match_set" in message
    assert '"currency"' in message
    assert "raw.order_lines.currency: expect_column_values_to_be_in_set" in message


def test_only_the_given_batch_is_validated_and_default_is_the_latest(warehouse):
    settings, con = warehouse
    _insert(con, "order_lines", [{**GOOD_ORDER, "status": "bogus"}], "old", minute=0)
    _good_batch(con, "new", minute=5)
    con.close()
    latest = run_gate(settings, "raw", run_id="r-latest")
    assert latest.batch_id == "new" and latest.success, latest.summary()
    old = run_gate(settings, "raw", run_id="r-old", batch_id="old")
    assert not old.success
    assert [f.column for f in old.failures] == ["status"]
    row_counts = [e.observed_value for e in old.expectations if e.expectation_type == "expect_table_row_count_to_be_between"]
    assert row_counts == ["1"]


def test_every_expectation_of_a_run_lands_in_meta_quality_results(warehouse):
    settings, con = warehouse
    _good_batch(con, "b1")
    _insert(con, "web_events", [{**GOOD_EVENT, "event_id": "E-9", "event_type": "teleport"}], "b1")
    result = _gate(settings, con, "raw", run_id="r-history", batch_id="b1")
    with duckdb.connect(str(settings.warehouse), read_only=True) as check:
        rows = check.execute("select gate, suite, table_name, expectation_type, column_name, success, observed_value, "
                             "unexpected_count, batch_id from meta.quality_results where run_id = 'r-history'").fetchall()
    assert len(rows) == len(result.expectations) > 20
    failed = [r for r in rows if not r[5]]
    assert failed == [("raw", "raw_web_events", "raw.web_events", "expect_column_values_to_be_in_set", "event_type",
                       False, "1 unexpected of 3 rows", 1, "b1")]


# ---------------------------------------------------------------- marts

def _marts(settings: Settings, segments: list[tuple[str, str]], shares: dict[str, float]) -> None:
    con = duckdb.connect(str(settings.warehouse))
    con.execute("create schema if not exists marts")
    keys = sorted({k for k, _ in segments})
    con.execute("create table marts.customer_profile as select unnest(?) as customer_key, 1 as orders_30d, "
                "10 as days_since_last_order, 0.5 as engagement_percentile, date '2026-11-25' as as_of_date", [keys])
    con.execute("create table marts.customer_segments (customer_key varchar, segment varchar, segment_priority int, "
                "tags varchar, rfm_segment varchar, lifecycle_stage varchar, churn_risk double, as_of_date date)")
    con.executemany("insert into marts.customer_segments values "
                    "(?, ?, 1, '', 'no_purchase', 'active', 0.5, date '2026-11-25')", segments)
    con.execute("create table marts.segment_summary (segment varchar, share double)")
    con.executemany("insert into marts.segment_summary values (?, ?)", list(shares.items()))
    con.close()


GOOD_SEGMENTS = [("c1", "vip"), ("c2", "active"), ("c3", "active"), ("c4", "prospect"), ("c5", "dormant"),
                 ("c6", "active"), ("c7", "new"), ("c8", "prospect"), ("c9", "at_risk"), ("c10", "dormant")]
GOOD_SHARES = {"vip": 0.1, "active": 0.3, "prospect": 0.2, "dormant": 0.2, "new": 0.1, "at_risk": 0.1}


def test_consistent_marts_pass(tmp_path: Path):
    settings = _settings(tmp_path)
    _marts(settings, GOOD_SEGMENTS, GOOD_SHARES)
    result = run_gate(settings, "marts", run_id="m-ok")
    assert result.success, result.summary()


def test_marts_gate_fails_on_a_customer_in_two_segments_and_a_share_out_of_bounds(tmp_path: Path):
    settings = _settings(tmp_path)
    _marts(settings, GOOD_SEGMENTS + [("c1", "active")], {**GOOD_SHARES, "vip": 0.25, "active": 0.15})
    result = run_gate(settings, "marts", run_id="m-bad")
    failed = {(f.table_name, f.column, f.expectation_type) for f in result.failures}
    assert failed == {
        ("marts.customer_segments", "customer_key", "expect_column_values_to_be_unique"),
        ("marts.customer_segments", None, "unexpected_rows_expectation"),  # row count differs from the profile
        ("marts.segment_summary", "share", "expect_column_values_to_be_between"),
    }
    share = next(f for f in result.failures if f.column == "share")
    assert "segment vip" in share.describe()


def test_marts_gate_fails_on_unknown_lifecycle_stage_and_churn_risk_out_of_range(tmp_path: Path):
    settings = _settings(tmp_path)
    _marts(settings, GOOD_SEGMENTS, GOOD_SHARES)
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("update marts.customer_segments set lifecycle_stage = 'zombie', churn_risk = 1.5 "
                    "where customer_key = 'c1'")
    result = run_gate(settings, "marts", run_id="m-lifecycle")
    assert {(f.column, f.expectation_type) for f in result.failures} == {
        ("lifecycle_stage", "expect_column_values_to_be_in_set"),
        ("churn_risk", "expect_column_values_to_be_between"),
    }


def test_missing_mart_fails_the_gate(tmp_path: Path):
    settings = _settings(tmp_path)
    _marts(settings, GOOD_SEGMENTS, GOOD_SHARES)
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("drop table marts.segment_summary")
    result = run_gate(settings, "marts", run_id="m-missing")
    assert [(f.table_name, f.expectation_type) for f in result.failures] == [
        ("marts.segment_summary", "expect_table_to_exist")]


# ---------------------------------------------------------------- suites

def test_raw_suites_check_every_required_column_and_enum_of_the_contracts(tmp_path: Path):
    settings = _settings(tmp_path)
    params = suite_parameters(settings, "raw")
    suites = {s.table: s for s in load_suites(settings.expectations, "raw")}
    for source in SOURCES.values():
        body = suites[f"raw.{source.table}"].body
        not_null = {e["kwargs"]["column"] for e in body["expectations"]
                    if e["type"] == "expect_column_values_to_not_be_null"}
        in_set = {e["kwargs"]["column"]: e["kwargs"]["value_set"]["$PARAMETER"] for e in body["expectations"]
                  if e["type"] == "expect_column_values_to_be_in_set"}
        assert set(source.required_columns) <= not_null, source.table
        for col in source.columns:
            if col.kind == "enum":
                assert params[in_set[col.name]] == list(col.accepted), (source.table, col.name)
