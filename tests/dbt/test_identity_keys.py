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


def test_a_split_is_recorded_when_the_larger_part_is_not_rewritten(tmp_path) -> None:
    """Two CRM records tied only by a shared email are one customer; four more
    records with that email make it a super-node (6 CRM ids > 5), so the two
    split. The first keeps the key and, unchanged, is not rewritten; the
    change log must still call it a split (the old key lives on), not a merge."""
    shared = [{"crm_id": "CRM-0000040", "first_name": "Paul", "last_name": "Klee", "email": "shared@example.com",
               "updated_at": "2026-05-01T00:00:00Z"},
              {"crm_id": "CRM-0000041", "first_name": "Eva", "last_name": "Roth", "email": "shared@example.com",
               "updated_at": "2026-05-01T00:00:00Z"}]
    warehouse = tmp_path / "warehouse.duckdb"
    create_raw_tables(warehouse, {**HANDMADE_ROWS, "crm": HANDMADE_ROWS["crm"] + shared}, batch_id="run1")
    first = run_dbt("build", warehouse, tmp_path / "run1", extra=SELECT)
    assert first.ok, first.stdout[-3000:]
    before = _keys(warehouse)
    kept_key = before["crm:CRM-0000040"]
    assert before["crm:CRM-0000041"] == kept_key

    later = datetime(2026, 11, 26, 6, 0)
    names = ["Ida", "Max", "Lea", "Tom"]
    create_raw_tables(warehouse, {"crm": [
        {"crm_id": f"CRM-000005{n}", "first_name": name, "last_name": "Vogel", "email": "shared@example.com",
         "updated_at": "2026-11-25T00:00:00Z", "_file_name": "crm_customers_2026-11-26_part0001.csv",
         "_loaded_at": later} for n, name in enumerate(names)]}, batch_id="run2")
    second = run_dbt("build", warehouse, tmp_path / "run2", extra=SELECT)
    assert second.ok, second.stdout[-3000:]
    after = _keys(warehouse)
    assert after["crm:CRM-0000040"] == kept_key  # tie (one anchor each): the smaller component keeps the key
    new_key = after["crm:CRM-0000041"]
    assert new_key != kept_key

    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        changes = con.execute("select from_customer_key, to_customer_key, change_type, anchors_moved "
                              "from intermediate.int_customer_key_changes").fetchall()
        runs = dict(con.execute("select anchor_node_id, dbt_invocation_id from intermediate.int_customer_keys "
                                "where anchor_node_id in ('crm:CRM-0000040', 'crm:CRM-0000041')").fetchall())
        first_runs = con.execute("select count(distinct dbt_invocation_id) from intermediate.int_customer_keys "
                                 "where anchor_node_id = 'crm:CRM-0000001'").fetchone()[0]
    finally:
        con.close()
    assert changes == [(kept_key, new_key, "split", 1)]
    # only the changed anchor was written in the second run
    assert runs["crm:CRM-0000040"] != runs["crm:CRM-0000041"]
    assert first_runs == 1
