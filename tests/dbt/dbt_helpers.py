"""Helpers for the dbt tests: a raw layer in a temporary DuckDB file and a dbt runner.

A module of its own (not conftest.py) so that test files import it by a name no other test
folder uses: `from dbt_helpers import ...` works whichever folders pytest is given.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from segmentation.contracts import LOAD_METADATA_COLUMNS, SOURCES
from segmentation.loading import ensure_tables

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT = REPO_ROOT / "dbt_project"
DBT_BIN = Path(sys.executable).parent / "dbt"
AS_OF = "2026-11-25"

Row = dict[str, str]


@dataclass(frozen=True)
class DbtRun:
    """Outcome of one dbt command."""

    returncode: int
    stdout: str
    warehouse: Path

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.warehouse), read_only=True)


def run_dbt(command: str, warehouse: Path, work_dir: Path, as_of: str = AS_OF,
            extra: list[str] | None = None) -> DbtRun:
    """Run `dbt <command>` on the repository's project against `warehouse`."""
    args = [
        str(DBT_BIN), command,
        "--project-dir", str(DBT_PROJECT),
        "--profiles-dir", str(DBT_PROJECT),
        "--target-path", str(work_dir / "target"),
        "--log-path", str(work_dir / "logs"),
        "--vars", f'{{as_of_date: "{as_of}"}}',
        *(extra or []),
    ]
    env = {**os.environ, "SEGMENTS_WAREHOUSE": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    # generous: a tiny build takes ~1 min alone, but several times that on a busy shared machine
    timeout = float(os.environ.get("SEGMENTS_TEST_DBT_TIMEOUT", "1200"))
    proc = subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    return DbtRun(proc.returncode, proc.stdout + proc.stderr, warehouse)


def create_raw_tables(warehouse: Path, rows_by_source: dict[str, list[Row]], batch_id: str = "test") -> None:
    """Create the raw layer with the loader's own DDL and insert rows as delivered.

    A row may carry `_file_name` and `_loaded_at` to simulate later deliveries;
    missing contract columns are delivered as ''.
    """
    con = duckdb.connect(str(warehouse))
    try:
        ensure_tables(con)
        for name, source in SOURCES.items():
            meta = [col for col, _, _ in LOAD_METADATA_COLUMNS]
            column_list = ", ".join(f'"{c}"' for c in source.column_names + meta)
            placeholders = ", ".join("?" for _ in source.column_names + meta)
            for number, row in enumerate(rows_by_source.get(name, []), start=1):
                unknown = set(row) - set(source.column_names) - {"_file_name", "_loaded_at"}
                if unknown:
                    raise ValueError(f"fixture row for {name} has unknown columns {sorted(unknown)}")
                values = [row.get(c, "") for c in source.column_names] + [
                    row.get("_file_name", f"{source.file_prefix}_2026-11-24_part0001.{source.default_format}"),
                    "0" * 64,
                    batch_id,
                    number,
                    row.get("_loaded_at", datetime(2026, 11, 24, 6, 0, tzinfo=timezone.utc).replace(tzinfo=None)),
                ]
                con.execute(f"insert into raw.{source.table} ({column_list}) values ({placeholders})", values)
    finally:
        con.close()


# --- the hand-made raw layer -------------------------------------------------
# Anna has two CRM records (shared email in different case/spacing and the
# same phone in two formats), the first one updated in a later extract.
# Ben logs in on a device that browsed anonymously. Six CRM records share the
# placeholder test@example.com. A guest buys twice with one email.

LATER = datetime(2026, 11, 25, 1, 0)

CRM_ROWS: list[Row] = [
    {"crm_id": "CRM-0000001", "first_name": "Anna", "last_name": "Schmidt", "email": " Anna.Schmidt@Example.com ",
     "phone": "030/1234567", "birth_date": "1985-03-07", "city": "Berlin", "country": "Germany",
     "signup_date": "01.02.2024", "email_opt_in": "yes", "sms_opt_in": "no", "updated_at": "2026-01-01T10:00:00+01:00"},
    {"crm_id": "CRM-0000001", "first_name": "Anna", "last_name": "Schmidt", "email": "anna.schmidt@example.com",
     "phone": "030/1234567", "birth_date": "1985-03-07", "city": "Hamburg", "country": "Germany",
     "signup_date": "01.02.2024", "email_opt_in": "no", "sms_opt_in": "no", "updated_at": "2026-06-01T10:00:00Z",
     "_file_name": "crm_customers_2026-11-25_part0001.csv", "_loaded_at": LATER},
    {"crm_id": "CRM-0000002", "first_name": "Ana", "last_name": "Schmidt", "email": "ANNA.SCHMIDT@example.com",
     "phone": "+49 30 1234567", "birth_date": "07 Mar 1985", "country": "DE", "signup_date": "2025-05-05",
     "email_opt_in": "y", "sms_opt_in": "", "updated_at": "2026-02-01T00:00:00+00:00"},
    {"crm_id": "CRM-0000003", "first_name": "Ben", "last_name": "Meyer", "email": "ben@example.org",
     "phone": "0049 40 555666", "birth_date": "03/04/1990", "country": "deutschland", "signup_date": "07 Mar 2023",
     "email_opt_in": "TRUE", "sms_opt_in": "1", "updated_at": "2026-03-01T12:00:00-05:00"},
    {"crm_id": "CRM-0000004", "first_name": "Chris", "email": "chris@example.net", "phone": "12345",
     "birth_date": "not a date", "country": "Atlantis", "email_opt_in": "maybe",
     "updated_at": "2026-04-01T08:00:00+02:00"},
] + [
    {"crm_id": f"CRM-00000{n}", "first_name": "Test", "email": "test@example.com", "phone": f"0171 55500{n}",
     "updated_at": "2026-05-01T00:00:00Z"}
    for n in range(10, 16)
]

EVENT_ROWS: list[Row] = [
    {"event_id": "e1", "event_ts": "2026-11-20T10:00:00+01:00", "event_type": "page_view", "anonymous_id": "a1",
     "session_id": "s1", "device_type": "mobile", "page_url": "/", "tracking_consent": "yes"},
    {"event_id": "e2", "event_ts": "2026-11-20T10:01:00+01:00", "event_type": "add_to_cart", "anonymous_id": "a1",
     "session_id": "s1", "device_type": "mobile", "product_id": "P1", "tracking_consent": "yes"},
    {"event_id": "e3", "event_ts": "2026-11-20T10:02:00+01:00", "event_type": "login", "anonymous_id": "a1",
     "user_id": "CRM-0000003", "session_id": "s1", "device_type": "mobile", "tracking_consent": "yes"},
    # a re-delivered event: one row per event_id
    {"event_id": "e3", "event_ts": "2026-11-20T10:02:00+01:00", "event_type": "login", "anonymous_id": "a1",
     "user_id": "CRM-0000003", "session_id": "s1", "device_type": "mobile", "tracking_consent": "yes",
     "_file_name": "web_events_2026-11-25_part0001.jsonl", "_loaded_at": LATER},
    {"event_id": "e4", "event_ts": "2026-11-21T09:00:00Z", "event_type": "page_view", "anonymous_id": "a9",
     "session_id": "s9", "device_type": "desktop", "tracking_consent": "1"},
    {"event_id": "e5", "event_ts": "2026-11-10T07:00:00Z", "event_type": "email_open",
     "email": " ANNA.schmidt@example.com"},
    {"event_id": "e6", "event_ts": "2026-11-10T07:05:00Z", "event_type": "email_click",
     "email": "anna.schmidt@example.com"},
    {"event_id": "e7", "event_ts": "2026-11-20T11:00:00Z", "event_type": "page_view", "anonymous_id": "a2",
     "user_id": "CRM-0000001", "session_id": "s2", "device_type": "desktop", "tracking_consent": "yes"},
    # Anna later withdraws tracking consent: none of her web/app events feed her profile any more
    {"event_id": "e8", "event_ts": "2026-11-21T11:00:00Z", "event_type": "page_view", "anonymous_id": "a2",
     "user_id": "CRM-0000001", "session_id": "s3", "device_type": "desktop", "tracking_consent": "no"},
]

ORDER_ROWS: list[Row] = [
    {"order_id": "O-1", "line_number": "1", "order_ts": "2026-11-20T12:00:00+01:00", "crm_id": "CRM-0000001",
     "email": "anna.schmidt@example.com", "status": "completed", "channel": "web", "currency": "EUR",
     "product_id": "P1", "quantity": "1", "unit_price": "10.00", "discount_amount": ""},
    {"order_id": "O-1", "line_number": "2", "order_ts": "2026-11-20T12:00:00+01:00", "crm_id": "CRM-0000001",
     "email": "anna.schmidt@example.com", "status": "completed", "channel": "web", "currency": "EUR",
     "product_id": "P2", "quantity": "2", "unit_price": "5.00", "discount_amount": "1.00"},
    # line 1 corrected in a later delivery: the latest load wins
    {"order_id": "O-1", "line_number": "1", "order_ts": "2026-11-20T12:00:00+01:00", "crm_id": "CRM-0000001",
     "email": "anna.schmidt@example.com", "status": "completed", "channel": "web", "currency": "EUR",
     "product_id": "P1", "quantity": "1", "unit_price": "12.00", "discount_amount": "0",
     "_file_name": "order_lines_2026-11-25_part0001.csv", "_loaded_at": LATER},
    {"order_id": "O-2", "line_number": "1", "order_ts": "2026-11-01T23:30:00-02:00", "crm_id": "CRM-0000002",
     "email": "anna.schmidt@example.com", "status": "completed", "channel": "app", "currency": "USD",
     "product_id": "P3", "quantity": "1", "unit_price": "100.00"},
    {"order_id": "O-3", "line_number": "1", "order_ts": "2026-11-22T10:00:00Z", "crm_id": "",
     "email": "Guest@Example.com", "status": "completed", "channel": "store", "currency": "GBP",
     "product_id": "P1", "quantity": "2", "unit_price": "10.00"},
    {"order_id": "O-4", "line_number": "1", "order_ts": "2026-10-22T10:00:00Z", "crm_id": "",
     "email": "guest@example.com", "status": "cancelled", "channel": "web", "currency": "EUR",
     "product_id": "P1", "quantity": "1", "unit_price": "10.00"},
    {"order_id": "O-5", "line_number": "1", "order_ts": "2026-07-01T10:00:00Z", "crm_id": "CRM-0000004",
     "email": "chris@example.net", "status": "completed", "channel": "web", "currency": "EUR",
     "product_id": "P1", "quantity": "1", "unit_price": "20.00"},
]

HANDMADE_ROWS: dict[str, list[Row]] = {"crm": CRM_ROWS, "events": EVENT_ROWS, "orders": ORDER_ROWS}


@dataclass(frozen=True)
class GeneratedBuild:
    """A dbt build on generated data, with the generator's ground truth beside it."""

    run: DbtRun
    ground_truth: Path
