"""Helpers for loader reliability tests: tiny extracts and a throw-away deployment."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from segmentation.config import Settings
from segmentation.contracts import CRM, EVENTS, ORDERS, SOURCES
from segmentation.loading import LoadReport, load_new_files

RUN_NOW = datetime(2026, 11, 25, 23, 59, tzinfo=timezone.utc)

ORDER_COLS = ORDERS.column_names
CRM_COLS = CRM.column_names
EVENT_COLS = EVENTS.column_names


def order_row(order_id: str = "O-1", line: str = "1", **over: str) -> dict[str, str]:
    row = {"order_id": order_id, "line_number": line, "order_ts": "2026-11-20T14:03:11+01:00",
           "crm_id": "CRM-0000001", "email": "a@example.com", "status": "completed", "channel": "web",
           "currency": "EUR", "product_id": "P-1", "quantity": "2", "unit_price": "9.99", "discount_amount": "0"}
    row.update(over)
    return row


def crm_row(crm_id: str = "CRM-0000001", **over: str) -> dict[str, str]:
    row = {"crm_id": crm_id, "first_name": "Ann", "last_name": "Lee", "email": "ann@example.com",
           "phone": "+49 30 1234567", "birth_date": "1985-03-07", "street": "Main St 1", "city": "Berlin",
           "postal_code": "10115", "country": "DE", "signup_date": "2020-01-02", "email_opt_in": "yes",
           "sms_opt_in": "no", "updated_at": "2026-11-01T10:00:00+00:00"}
    row.update(over)
    return row


def event_row(event_id: str = "E-1", **over: str) -> dict[str, str]:
    row = {"event_id": event_id, "event_ts": "2026-11-20T14:03:11Z", "event_type": "page_view",
           "anonymous_id": "A-1", "user_id": "CRM-0000001", "session_id": "S-1", "page_url": "/home",
           "device_type": "mobile", "tracking_consent": "true"}
    row.update(over)
    return row


def csv_text(columns: list[str], rows: list[dict[str, str]], delimiter: str = ",") -> str:
    def cell(v: str) -> str:
        return f'"{v.replace(chr(34), chr(34) * 2)}"' if any(ch in v for ch in (delimiter, '"', "\n")) else v
    lines = [delimiter.join(columns)]
    lines += [delimiter.join(cell(r.get(c, "")) for c in columns) for r in rows]
    return "\n".join(lines) + "\n"


@dataclass
class Deployment:
    settings: Settings

    def write(self, source: str, name: str, content: bytes | str) -> Path:
        path = self.settings.landing / source / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path

    def load(self, **kw) -> LoadReport:
        kw.setdefault("now", RUN_NOW)
        kw.setdefault("settle_seconds", 0)
        return load_new_files(self.settings, **kw)

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        return self.query_many([(sql, params)])[0]

    def query_many(self, statements: list[tuple[str, list | None]]) -> list[list[tuple]]:
        """Several read-only queries over one connection (opening one costs ~30 ms)."""
        con = duckdb.connect(str(self.settings.warehouse), read_only=True)
        try:
            return [con.execute(sql, params or []).fetchall() for sql, params in statements]
        finally:
            con.close()

    def table_checksums(self) -> dict[str, tuple[int, str]]:
        """Row count and an order-independent content hash of every raw and meta table."""
        out: dict[str, tuple[int, str]] = {}
        tables = [f"raw.{s.table}" for s in SOURCES.values()] + ["meta.load_ledger", "meta.rejected_rows"]
        for t, rows in zip(tables, self.query_many([(f"select * from {t}", None) for t in tables])):
            digest = hashlib.sha256("\n".join(sorted(repr(r) for r in rows)).encode()).hexdigest()
            out[t] = (len(rows), digest)
        return out

    def rows_of(self, table: str, file_name: str) -> list[tuple]:
        return self.query(f"select * from raw.{table} where _file_name = ? order by _row_number", [file_name])

    def rejects_of(self, file_name: str) -> list[tuple[int, str | None, str]]:
        return self.query("select row_number, column_name, rule from meta.rejected_rows where file_name = ? "
                          "order by row_number, rule", [file_name])


def make_deployment(home: Path) -> Deployment:
    settings = Settings(home=home, landing=home / "landing", quarantine=home / "quarantine",
                        warehouse=home / "warehouse" / "warehouse.duckdb", serving=home / "serving" / "s.duckdb",
                        reports=home / "reports", dbt_project=home, expectations=home)
    settings.ensure_dirs()
    return Deployment(settings)
