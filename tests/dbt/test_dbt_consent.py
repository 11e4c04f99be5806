"""Consent per customer and channel (issue 6): history from every CRM extract and event, current value, and
tracking data of customers without tracking consent kept out of their profile."""

from __future__ import annotations

from datetime import datetime

import pytest

from dbt_helpers import DbtRun

pytestmark = pytest.mark.slow


def _customer_of(build: DbtRun, identifier_type: str, value: str) -> str | None:
    con = build.connect()
    try:
        row = con.execute("select customer_key from restricted.customer_identifiers "
                          "where identifier_type = ? and identifier_value = ?", [identifier_type, value]).fetchone()
    finally:
        con.close()
    return row[0] if row else None


def _rows(build: DbtRun, sql: str, *params) -> list[tuple]:
    con = build.connect()
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def test_email_consent_history_has_one_row_per_change_across_extracts(handmade_build: DbtRun) -> None:
    anna = _customer_of(handmade_build, "crm", "CRM-0000001")
    history = _rows(handmade_build, "select granted, changed_at, source from marts.customer_consent_history "
                                    "where customer_key = ? and channel = 'email' order by changed_at", anna)
    # CRM-0000001 yes (Jan), CRM-0000002 y (Feb: no change), CRM-0000001 re-delivered with no (Jun)
    assert history == [(True, datetime(2026, 1, 1, 9, 0), "crm"), (False, datetime(2026, 6, 1, 10, 0), "crm")]
    current = _rows(handmade_build, "select channel, granted, granted_since from marts.customer_consent "
                                    "where customer_key = ? order by channel", anna)
    assert current == [("email", False, datetime(2026, 6, 1, 10, 0)),
                       ("sms", False, datetime(2026, 1, 1, 9, 0)),
                       ("tracking", False, datetime(2026, 11, 21, 11, 0))]


def test_every_customer_has_exactly_one_current_consent_per_channel(handmade_build: DbtRun) -> None:
    counts = _rows(handmade_build, "select count(*), count(distinct customer_key) * 3 from marts.customer_consent")
    customers = _rows(handmade_build, "select count(*) from marts.customer_profile")[0][0]
    assert counts == [(customers * 3, customers * 3)]
    ben = _customer_of(handmade_build, "crm", "CRM-0000003")
    assert _rows(handmade_build, "select channel, granted from marts.customer_consent where customer_key = ? "
                                 "order by channel", ben) == [("email", True), ("sms", True), ("tracking", True)]


def test_tracking_of_a_customer_who_withdrew_consent_is_not_used_for_the_profile(handmade_build: DbtRun) -> None:
    anna = _customer_of(handmade_build, "crm", "CRM-0000001")
    # s2 was browsed with consent, s3 after the withdrawal: neither counts any more
    assert _rows(handmade_build, "select sessions_30d, page_views_30d, preferred_device from marts.customer_profile "
                                 "where customer_key = ?", anna) == [(0, 0, None)]
    assert _rows(handmade_build, "select count(*) from intermediate.int_events_resolved "
                                 "where session_id in ('s2', 's3')") == [(0,)]
    # her email events (no session) still count: they fall under the email channel
    assert _rows(handmade_build, "select email_opens_90d, email_clicks_90d from marts.customer_profile "
                                 "where customer_key = ?", anna) == [(1, 1)]
