"""Stable customer keys across two dbt runs: the second run has added data
that merges two customers and adds a new one."""

from __future__ import annotations

import hashlib
from datetime import datetime

import pytest

from dbt_helpers import HANDMADE_ROWS, create_raw_tables, run_dbt

pytestmark = pytest.mark.slow

# seeds and models only (their data tests run in the full builds elsewhere)
SELECT = ["--select", "+int_customers_resolved", "+int_customer_key_changes", "--exclude", "resource_type:test",
          "resource_type:unit_test"]


def _keys(warehouse) -> dict[str, str]:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return dict(con.execute("select anchor_node_id, customer_key from intermediate.int_customer_keys").fetchall())
    finally:
        con.close()


def _md5_key(value: str) -> str:
    return "c_" + hashlib.md5(value.encode()).hexdigest()


def test_customer_keys_stay_stable_and_a_merge_is_recorded(tmp_path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    create_raw_tables(warehouse, HANDMADE_ROWS, batch_id="run1")
    first = run_dbt("build", warehouse, tmp_path / "run1", extra=SELECT)
    assert first.ok, first.stdout[-3000:]
    before = _keys(warehouse)
    assert before["crm:CRM-0000001"] == _md5_key("CRM-0000001")
    ben, chris = before["crm:CRM-0000003"], before["crm:CRM-0000004"]
    assert ben != chris

    # new data: Chris orders with Ben's email (one person after all), and a new CRM record
    later = datetime(2026, 11, 26, 6, 0)
    create_raw_tables(warehouse, {
        "orders": [{"order_id": "O-9", "line_number": "1", "order_ts": "2026-11-24T10:00:00Z",
                    "crm_id": "CRM-0000004", "email": "Ben@Example.org", "status": "completed", "channel": "web",
                    "currency": "EUR", "product_id": "P1", "quantity": "1", "unit_price": "5.00",
                    "_file_name": "order_lines_2026-11-26_part0001.csv", "_loaded_at": later}],
        "crm": [{"crm_id": "CRM-0000020", "first_name": "Dora", "email": "dora@example.com",
                 "updated_at": "2026-11-25T00:00:00Z",
                 "_file_name": "crm_customers_2026-11-26_part0001.csv", "_loaded_at": later}],
    }, batch_id="run2")
    second = run_dbt("build", warehouse, tmp_path / "run2", extra=SELECT)
    assert second.ok, second.stdout[-3000:]
    after = _keys(warehouse)

    # every anchor of the first run keeps its key, except the merged one
    survivor, merged = sorted([ben, chris])  # same first_assigned_at: the smaller key survives
    for anchor, key in before.items():
        expected = survivor if key == merged else key
        assert after[anchor] == expected, anchor
    assert after["order:O-9"] == survivor
    assert after["crm:CRM-0000020"] == _md5_key("CRM-0000020")

    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        changes = con.execute("select from_customer_key, to_customer_key, change_type, anchors_moved "
                              "from intermediate.int_customer_key_changes").fetchall()
        resolved = con.execute("select count(*) from intermediate.int_customers_resolved "
                               "where customer_key = ?", [survivor]).fetchone()[0]
        gone = con.execute("select count(*) from intermediate.int_customers_resolved "
                           "where customer_key = ?", [merged]).fetchone()[0]
    finally:
        con.close()
    moved_anchors = sum(1 for key in before.values() if key == merged)
    assert changes == [(merged, survivor, "merge", moved_anchors)]
    assert (resolved, gone) == (1, 0)
