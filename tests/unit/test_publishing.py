"""Publishing swaps a complete serving file in atomically and never half-way."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from segmentation.config import Settings
from segmentation.errors import PublishError
from segmentation.publishing import format_summary, publish, read_summary


def _settings(tmp_path: Path) -> Settings:
    base = Settings.from_env()
    return replace(base, home=tmp_path, warehouse=tmp_path / "wh.duckdb", serving=tmp_path / "serving" / "segments.duckdb")


def _build_marts(warehouse: Path, vip_customers: int) -> None:
    con = duckdb.connect(str(warehouse))
    con.execute("create schema if not exists marts")
    con.execute(
        f"""create or replace table marts.customer_segments as
            select 'c_' || i as customer_key, case when i < {vip_customers} then 'vip' else 'active' end as segment,
                   case when i < {vip_customers} then 1 else 4 end as segment_priority,
                   'rule' as segment_rule, date '2026-11-25' as as_of_date
            from range(10) t(i)"""
    )
    con.execute("create or replace table marts.customer_profile as select customer_key, as_of_date from marts.customer_segments")
    con.execute(
        """create or replace table marts.segment_summary as
           select segment, min(segment_priority) as segment_priority, count(*) as customers,
                  count(*) / 10.0 as share, 100.0 as avg_revenue_365d, 2.0 as avg_orders_365d,
                  max(as_of_date) as as_of_date
           from marts.customer_segments group by segment"""
    )
    con.close()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_publish_copies_marts_and_records_the_publication(tmp_path):
    settings = _settings(tmp_path)
    _build_marts(settings.warehouse, vip_customers=3)

    pub = publish(settings, run_id="run-1")

    assert pub.path == settings.serving and pub.sha256 == _sha(settings.serving)
    assert pub.row_counts["customer_segments"] == 10
    rows, meta = read_summary(settings.serving)
    assert {r[0]: r[1] for r in rows} == {"vip": 3, "active": 7}
    assert meta["run_id"] == "run-1"
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    assert con.execute("select run_id, customers, sha256 from meta.publications").fetchall() == [("run-1", 10, pub.sha256)]
    con.close()
    assert not list(settings.serving.parent.glob(".*.tmp")), "temporary file left behind"


def test_reader_holding_the_old_file_keeps_a_consistent_view_during_a_new_publish(tmp_path):
    settings = _settings(tmp_path)
    _build_marts(settings.warehouse, vip_customers=3)
    publish(settings, run_id="run-1")
    reader = duckdb.connect(str(settings.serving), read_only=True)

    _build_marts(settings.warehouse, vip_customers=5)
    publish(settings, run_id="run-2")

    # The open reader still sees run 1 in full; a new reader sees run 2 in full.
    assert reader.execute("select count(*) from customer_segments where segment = 'vip'").fetchone()[0] == 3
    assert reader.execute("select run_id from publication").fetchone()[0] == "run-1"
    reader.close()
    rows, meta = read_summary(settings.serving)
    assert meta["run_id"] == "run-2" and dict((r[0], r[1]) for r in rows)["vip"] == 5


def test_failed_publish_leaves_previous_serving_file_byte_for_byte(tmp_path):
    settings = _settings(tmp_path)
    _build_marts(settings.warehouse, vip_customers=3)
    publish(settings, run_id="run-1")
    before = _sha(settings.serving)

    con = duckdb.connect(str(settings.warehouse))
    con.execute("drop table marts.segment_summary")
    con.close()
    with pytest.raises(PublishError, match="marts.segment_summary"):
        publish(settings, run_id="run-2")

    assert _sha(settings.serving) == before
    assert not list(settings.serving.parent.glob(".*.tmp"))


def test_summary_text_names_segments_shares_and_the_serving_path(tmp_path):
    settings = _settings(tmp_path)
    _build_marts(settings.warehouse, vip_customers=3)
    publish(settings, run_id="run-1")
    rows, meta = read_summary(settings.serving)

    text = format_summary(rows, meta, settings.serving)

    assert "vip" in text and "30.0%" in text and "70.0%" in text
    assert str(settings.serving) in text


def test_summary_of_nothing_published_says_what_to_do(tmp_path):
    with pytest.raises(PublishError, match="make run"):
        read_summary(tmp_path / "missing.duckdb")


def test_segment_size_chart_is_written_as_a_png_named_for_the_as_of_date(tmp_path):
    from segmentation.report import segment_size_chart

    settings = _settings(tmp_path)
    _build_marts(settings.warehouse, vip_customers=3)
    publish(settings, run_id="run-1")

    png = segment_size_chart(settings.serving, tmp_path / "reports")

    assert png.name == "segments_2026-11-25.png"
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
