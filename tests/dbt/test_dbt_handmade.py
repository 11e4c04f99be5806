"""dbt build on a small hand-made raw layer: identity, normalisation, marts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from dbt_helpers import DBT_PROJECT, REPO_ROOT, DbtRun

pytestmark = pytest.mark.slow

DIRECT_IDENTIFIERS = {"email", "phone", "phone_e164", "first_name", "last_name", "street", "city",
                      "postal_code", "birth_date", "crm_id", "anonymous_id", "user_id"}


def _rows(run: DbtRun, sql: str, *params: object) -> list[tuple]:
    con = run.connect()
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def _customer_of(run: DbtRun, identifier_type: str, value: str) -> str | None:
    rows = _rows(run, "select customer_key from restricted.customer_identifiers "
                      "where identifier_type = ? and identifier_value = ?", identifier_type, value)
    return rows[0][0] if rows else None


def _segment_of(run: DbtRun, customer_key: str) -> str:
    return _rows(run, "select segment from marts.customer_segments where customer_key = ?", customer_key)[0][0]


def test_dbt_build_passes_with_all_tests_on_handmade_raw_tables(handmade_build: DbtRun) -> None:
    assert handmade_build.ok, handmade_build.stdout[-4000:]
    assert re.search(r"Done\. PASS=\d+ WARN=0 ERROR=0 SKIP=0", handmade_build.stdout), handmade_build.stdout[-2000:]


def test_duplicate_crm_records_sharing_email_and_phone_become_one_customer(handmade_build: DbtRun) -> None:
    anna_1 = _customer_of(handmade_build, "crm", "CRM-0000001")
    assert anna_1 is not None
    assert anna_1 == _customer_of(handmade_build, "crm", "CRM-0000002")
    assert anna_1 == _customer_of(handmade_build, "order", "O-2")
    profile = _rows(handmade_build, "select crm_record_count, lifetime_orders from marts.customer_profile "
                                    "where customer_key = ?", anna_1)
    assert profile == [(2, 2)]


def test_customer_key_is_c_plus_md5_of_smallest_crm_id(handmade_build: DbtRun) -> None:
    import hashlib

    expected = "c_" + hashlib.md5(b"CRM-0000001").hexdigest()
    assert _customer_of(handmade_build, "crm", "CRM-0000002") == expected


def test_placeholder_email_shared_by_six_crm_records_links_nobody(handmade_build: DbtRun) -> None:
    keys = {_customer_of(handmade_build, "crm", f"CRM-00000{n}") for n in range(10, 16)}
    assert len(keys) == 6 and None not in keys
    assert _rows(handmade_build, "select is_excluded from intermediate.int_identity_nodes "
                                 "where node_id = 'email:test@example.com'") == [(True,)]


def test_anonymous_browsing_is_attributed_after_login_and_pure_visitors_are_not_customers(
        handmade_build: DbtRun) -> None:
    ben = _customer_of(handmade_build, "crm", "CRM-0000003")
    assert _customer_of(handmade_build, "anon", "a1") == ben
    assert _customer_of(handmade_build, "anon", "a9") is None
    assert _rows(handmade_build, "select carts_abandoned_30d, preferred_device from marts.customer_profile "
                                 "where customer_key = ?", ben) == [(1, "mobile")]
    assert _segment_of(handmade_build, ben) == "cart_abandoner"


def test_guest_checkouts_with_one_email_in_any_case_are_one_guest_customer(handmade_build: DbtRun) -> None:
    guest = _customer_of(handmade_build, "order", "O-3")
    assert guest == _customer_of(handmade_build, "order", "O-4")
    row = _rows(handmade_build, "select is_guest, lifetime_orders, cancelled_orders_365d, revenue_30d "
                                "from marts.customer_profile where customer_key = ?", guest)[0]
    # 2 x 10.00 GBP at 1.17 EUR/GBP; the cancelled order is no purchase
    assert row[0] is True and row[1] == 1 and row[2] == 1 and float(row[3]) == pytest.approx(23.40)
    assert _segment_of(handmade_build, guest) == "new"


def test_latest_delivery_wins_for_crm_records_and_order_lines(handmade_build: DbtRun) -> None:
    assert _rows(handmade_build, "select city, email_opt_in, record_versions from staging.stg_crm__customers "
                                 "where crm_id = 'CRM-0000001'") == [("Hamburg", False, 2)]
    # O-1: corrected line 1 (12.00) + line 2 (2 x 5.00 - 1.00); O-2: 100 USD at 0.92
    anna = _customer_of(handmade_build, "crm", "CRM-0000001")
    revenue = _rows(handmade_build, "select lifetime_revenue from marts.customer_profile where customer_key = ?", anna)
    assert float(revenue[0][0]) == pytest.approx(12.0 + 9.0 + 92.0)
    assert _rows(handmade_build, "select count(*) from staging.stg_events__web_events where event_id = 'e3'") == [(1,)]


def test_unparseable_values_are_flagged_not_dropped(handmade_build: DbtRun) -> None:
    rows = _rows(handmade_build, "select phone_raw, phone_is_invalid, birth_date_raw, birth_date_is_invalid, "
                                 "country_raw, country_is_unknown, opt_in_is_invalid "
                                 "from staging.stg_crm__customers where crm_id = 'CRM-0000004'")
    assert rows == [("12345", True, "not a date", True, "Atlantis", True, True)]


def test_customer_profile_has_exactly_the_documented_columns(handmade_build: DbtRun) -> None:
    doc = (REPO_ROOT / "docs" / "warehouse.md").read_text()
    section = doc.split("`marts.customer_profile`")[1].split("`marts.customer_segments`")[0]
    documented: list[str] = []
    for line in section.splitlines():
        if line.startswith("| ") and not line.startswith("| column") and not line.startswith("|---"):
            documented += [c.strip() for c in line.split("|")[1].split(",")]
    actual = [r[0] for r in _rows(handmade_build, "select column_name from information_schema.columns "
                                                  "where table_schema = 'marts' and table_name = 'customer_profile' "
                                                  "order by ordinal_position")]
    assert sorted(actual) == sorted(documented)


def test_bi_marts_carry_no_direct_identifiers(handmade_build: DbtRun) -> None:
    columns = {r[0] for r in _rows(handmade_build, "select column_name from information_schema.columns "
                                                   "where table_schema = 'marts'")}
    assert columns and not (columns & DIRECT_IDENTIFIERS)
    tables = {r[0] for r in _rows(handmade_build, "select distinct table_schema from information_schema.tables")}
    assert {"staging", "intermediate", "restricted", "marts"} <= tables


def test_segment_summary_lists_every_configured_segment_in_priority_order(handmade_build: DbtRun) -> None:
    config = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text())
    rules = sorted(config["vars"]["segment_rules"], key=lambda r: r["priority"])
    summary = _rows(handmade_build, "select segment, segment_priority, customers from marts.segment_summary "
                                    "order by segment_priority")
    assert [(s, p) for s, p, _ in summary] == [(r["name"], r["priority"]) for r in rules]
    assert sum(c for _, _, c in summary) == _rows(handmade_build, "select count(*) from marts.customer_profile")[0][0]
    rule_text = dict(_rows(handmade_build, "select distinct segment, segment_rule from marts.customer_segments"))
    for rule in rules:
        if rule["name"] in rule_text:
            assert rule_text[rule["name"]] == rule["when"]


def test_features_are_computed_as_of_the_given_date(handmade_build: DbtRun) -> None:
    assert _rows(handmade_build, "select distinct as_of_date::varchar from marts.customer_profile") == [("2026-11-25",)]
    chris = _customer_of(handmade_build, "crm", "CRM-0000004")
    assert _rows(handmade_build, "select days_since_last_order from marts.customer_profile where customer_key = ?",
                 chris) == [(147,)]
    assert _segment_of(handmade_build, chris) == "at_risk"
